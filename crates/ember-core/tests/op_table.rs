//! The op table (OpInfo-style): one entry per op, named like the PyTorch fixture case it is
//! checked against (`tools/gen_fixtures.py` -> `fixtures/ops.json`). Every entry runs through
//! the same checks: forward vs PyTorch in f64, f32 and the half types; gradients of `<v, f>` vs
//! PyTorch; finite-difference gradcheck; non-contiguous inputs; and a coverage test that fails
//! when an `Op` kind has no fixture case declared in its table entry (`ember_core::op`), or a
//! declared case does not exercise it.
//!
//! A fixture case named like an elementwise table op's method (`exp`, `mul`) needs no entry
//! here: it runs that method (`Tensor::unary_op` / `binary_op`).

use ember_core::autograd::{self, gradcheck, gradgradcheck, GradcheckOptions};
use ember_core::op::{BinaryOp, Op, UnaryOp};
use ember_core::{Conv2dArgs, DType, Result, Tensor, TensorIndex};
use serde_json::Value;
use std::collections::BTreeSet;

#[path = "support/case_helpers.rs"]
mod case_helpers;
use case_helpers::*;

type OpFn = Box<dyn Fn(&[Tensor]) -> Result<Tensor>>;

fn arange(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::arange(0.0, n as f64, 1.0, DType::F64)
        .unwrap()
        .reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
        .unwrap()
}

/// Scales a tensor by an arange of its shape (in its dtype), so every element's gradient differs.
fn weighted(t: Tensor) -> Result<Tensor> {
    let w = arange(t.shape()).to_dtype(t.dtype())?;
    t.mul(&w)
}

fn table() -> Vec<(&'static str, OpFn)> {
    let mut t = explicit_table();
    for &u in UnaryOp::ALL {
        if let Some(m) = u.method() {
            t.push((m, Box::new(move |x: &[Tensor]| x[0].unary_op(u))));
        }
    }
    for &b in BinaryOp::ALL {
        if let Some(m) = b.method() {
            t.push((m, Box::new(move |x: &[Tensor]| x[0].binary_op(&x[1], b))));
        }
    }
    t
}

fn explicit_table() -> Vec<(&'static str, OpFn)> {
    macro_rules! e {
        ($name:expr, |$x:ident| $body:expr) => {
            ($name, Box::new(|$x: &[Tensor]| -> Result<Tensor> { $body }) as OpFn)
        };
    }
    vec![
        e!("add_scalar", |x| &x[0] + 2.5),
        e!("sub_scalar", |x| &x[0] - 1.25),
        e!("mul_scalar", |x| &x[0] * -1.5),
        e!("div_scalar", |x| &x[0] / 4.0),
        e!("rsub_scalar", |x| 2.0 - &x[0]),
        e!("pow3", |x| x[0].pow(3.0)),
        e!("pow_half", |x| x[0].pow(0.5)),
        e!("pow_neg2", |x| x[0].pow(-2.0)),
        e!("clamp", |x| x[0].clamp(Some(-0.3), Some(0.55))),
        e!("clamp_at_kink", |x| x[0].clamp(Some(-0.3), Some(0.6))),
        e!("relu_at_kink", |x| x[0].relu()),
        e!("xlog1py_at_kink", |x| x[0].xlog1py(&x[1])),
        e!("abs_at_kink", |x| x[0].abs()),
        e!("round_ties_at_kink", |x| x[0].round()),
        e!("clamp_min", |x| x[0].clamp(Some(0.2), None)),
        e!("where", |x| Tensor::where_cond(&x[0], &x[1], &x[2])),
        e!("masked_fill", |x| x[0].masked_fill(&x[1], -2.0)),
        e!("gt", |x| x[0].gt(&x[1])),
        e!("eq_scalar", |x| x[0].eq_scalar(1.0)),
        e!("sum", |x| x[0].sum()),
        e!("sum_dim1", |x| x[0].sum_dim(1, false)),
        e!("sum_dim0_keep", |x| x[0].sum_dim(0, true)),
        e!("sum_3d_dims", |x| x[0].sum_dims_keep(&[0, 2], false)),
        e!("mean", |x| x[0].mean()),
        e!("mean_dim_last", |x| x[0].mean_dim(-1, false)),
        e!("max", |x| x[0].max()),
        e!("min", |x| x[0].min()),
        e!("max_ties", |x| x[0].max()),
        e!("max_dim1", |x| Ok(x[0].max_dim(1, false)?.0)),
        e!("min_dim0_keep", |x| Ok(x[0].min_dim(0, true)?.0)),
        e!("argmax1", |x| x[0].argmax(1, false)),
        e!("prod_dim1", |x| x[0].prod_dim(1, false)),
        e!("prod_with_zero", |x| x[0].prod_dim(1, false)),
        e!("var_dim1", |x| x[0].var_dim(1, true, false)),
        e!("var_dim0_biased_keep", |x| x[0].var_dim(0, false, true)),
        e!("std_dim1", |x| x[0].std_dim(1, true, false)),
        e!("logsumexp1", |x| x[0].logsumexp(1, false)),
        e!("softmax1", |x| x[0].softmax(1)),
        e!("softmax0", |x| x[0].softmax(0)),
        e!("log_softmax_last", |x| x[0].log_softmax(-1)),
        e!("cumsum1", |x| x[0].cumsum(1)),
        e!("cumsum0", |x| x[0].cumsum(0)),
        e!("reshape", |x| weighted(x[0].reshape(&[4, 3])?)),
        e!("flatten", |x| weighted(x[0].flatten(1, 2)?)),
        e!("permute", |x| weighted(x[0].permute(&[2, 0, 1])?)),
        e!("transpose", |x| x[0].transpose(0, 1)?.sin()),
        e!("t", |x| x[0].t()?.exp()),
        e!("unsqueeze_squeeze", |x| x[0].unsqueeze(1)?.exp()?.squeeze()),
        e!("expand", |x| weighted(x[0].expand(&[3, 4])?)),
        e!("narrow", |x| x[0].narrow(1, 1, 2)?.exp()),
        e!("slice_step", |x| x[0].slice(1, 1, 6, 2)?.exp()),
        e!("select", |x| x[0].select(1, -1)?.exp()),
        e!("split", |x| {
            let parts: Vec<Tensor> = x[0]
                .split(2, 1)?
                .iter()
                .enumerate()
                .map(|(i, p)| p.mul_scalar(i as f64 + 1.0))
                .collect::<Result<_>>()?;
            Tensor::cat(&parts.iter().collect::<Vec<_>>(), 1)
        }),
        e!("chunk", |x| {
            let parts: Vec<Tensor> = x[0]
                .chunk(3, 0)?
                .iter()
                .enumerate()
                .map(|(i, p)| p.exp()?.mul_scalar(i as f64 + 1.0))
                .collect::<Result<_>>()?;
            Tensor::cat(&parts.iter().collect::<Vec<_>>(), 0)
        }),
        e!("repeat", |x| weighted(x[0].repeat(&[2, 1, 2])?)),
        e!("tril", |x| x[0].tril(0)?.exp()),
        e!("triu1", |x| x[0].triu(1)?.exp()),
        e!("cat", |x| Tensor::cat(&[&x[0], &x[1].exp()?], 1)),
        e!("stack", |x| Tensor::stack(&[&x[0], &x[1].mul_scalar(2.0)?], 0)),
        e!("contiguous", |x| x[0].t()?.contiguous()?.exp()),
        e!("to_dtype", |x| x[0].to_dtype(DType::F32)?.mul_scalar(2.0)?.to_dtype(x[0].dtype())),
        e!("index_select", |x| x[0].index_select(0, &x[1])),
        e!("index_tensor", |x| x[0].index(&[TensorIndex::from(&x[1]), TensorIndex::from(1..)])),
        e!("index_nonadjacent", |x| x[0].index(&[
            TensorIndex::from(&x[1]),
            TensorIndex::from(..),
            TensorIndex::from(&x[2])
        ])),
        e!("index_adjacent_int", |x| x[0].index(&[
            TensorIndex::from(..),
            TensorIndex::from(1),
            TensorIndex::from(&x[1])
        ])),
        e!("index_mask", |x| x[0].index(&[TensorIndex::from(&x[1])])),
        e!("index_put", |x| x[0].index_put(&[TensorIndex::from(&x[1])], &x[2])),
        e!("index_put_broadcast", |x| x[0].index_put(&[TensorIndex::from(&x[1])], &x[2])),
        e!("gather", |x| x[0].gather(1, &x[1])),
        e!("scatter_add", |x| x[0].scatter_add(0, &x[1], &x[2])),
        e!("index_add", |x| x[0].index_add(0, &x[1], &x[2])),
        e!("mm", |x| x[0].matmul(&x[1])),
        e!("mv", |x| x[0].matmul(&x[1])),
        e!("vm", |x| x[0].matmul(&x[1])),
        e!("dot", |x| x[0].matmul(&x[1])),
        e!("bmm", |x| x[0].matmul(&x[1])),
        e!("matmul_broadcast", |x| x[0].matmul(&x[1])),
        e!("matmul_fold", |x| x[0].matmul(&x[1])),
        e!("matmul_transposed", |x| x[0].t()?.matmul(&x[1].t()?)),
        e!("linear", |x| x[0].linear(&x[1], Some(&x[2]))),
        e!("linear_3d", |x| x[0].linear(&x[1], Some(&x[2]))),
        e!("linear_1d", |x| x[0].linear(&x[1], Some(&x[2]))),
        e!("unfold2d", |x| x[0].unfold2d(Conv2dArgs {
            kernel: (3, 2),
            stride: (2, 1),
            padding: (1, 0),
            dilation: (1, 1)
        })),
        e!("fold2d", |x| x[0].fold2d((4, 3), Conv2dArgs::new((2, 2)))),
        e!("custom_function", |x| {
            // exp as a custom op: forward without recording, backward g * exp(x) from saved x.
            let saved = x[0].clone();
            let y = ember_core::no_grad(|| x[0].exp())?;
            let back: std::sync::Arc<ember_core::op::CustomBackward> =
                std::sync::Arc::new(move |g: &Tensor| Ok(vec![Some(g.mul(&saved.exp()?)?)]));
            Ok(autograd::custom(x, y, "MyExp", back))
        }),
        e!("checkpoint", |x| autograd::checkpoint(|xs| xs[0].exp()?.mul_scalar(2.0), x)),
        e!("sort_dim1", |x| Ok(x[0].sort(1, false)?.0)),
        e!("sort_desc_dim0", |x| Ok(x[0].sort(0, true)?.0)),
        e!("sort_stable_indices", |x| Ok(x[0].sort(1, false)?.1)),
        e!("sort_stable_desc_indices", |x| Ok(x[0].sort(1, true)?.1)),
        e!("sort_int", |x| Ok(x[0].sort(1, false)?.0)),
        e!("argsort_dim0", |x| x[0].argsort(0, false)),
        e!("msort", |x| x[0].msort()),
        e!("topk3", |x| Ok(x[0].topk(3, 1, true)?.0)),
        e!("topk_smallest_dim0", |x| Ok(x[0].topk(2, 0, false)?.0)),
        e!("topk_indices", |x| Ok(x[0].topk(4, 1, true)?.1)),
        e!("kthvalue2", |x| Ok(x[0].kthvalue(2, 1, false)?.0)),
        e!("kthvalue_keep_indices", |x| Ok(x[0].kthvalue(3, 0, true)?.1)),
        e!("median_dim1", |x| Ok(x[0].median_dim(1, false)?.0)),
        e!("median_dim0_indices", |x| Ok(x[0].median_dim(0, false)?.1)),
        e!("median_all", |x| x[0].median()),
        e!("mode_values", |x| Ok(x[0].mode(1, false)?.0)),
        e!("mode_indices", |x| Ok(x[0].mode(1, false)?.1)),
        e!("cummax1", |x| Ok(x[0].cummax(1)?.0)),
        e!("cummin0", |x| Ok(x[0].cummin(0)?.0)),
        e!("cummax_ties_indices", |x| Ok(x[0].cummax(1)?.1)),
        e!("cummin_ties_indices", |x| Ok(x[0].cummin(1)?.1)),
        e!("unique_values", |x| Ok(x[0].unique()?.0)),
        e!("unique_inverse", |x| Ok(x[0].unique()?.1)),
        e!("unique_counts", |x| Ok(x[0].unique()?.2)),
        e!("unique_consecutive_counts", |x| Ok(x[0].unique_consecutive()?.2)),
        e!("unique_consecutive_values", |x| Ok(x[0].unique_consecutive()?.0)),
        e!("searchsorted", |x| x[0].searchsorted(&x[1], false)),
        e!("searchsorted_right", |x| x[0].searchsorted(&x[1], true)),
        e!("searchsorted_rows", |x| x[0].searchsorted(&x[1], false)),
        e!("bucketize", |x| x[0].bucketize(&x[1], false)),
        e!("take", |x| x[0].take(&x[1])),
        e!("take_along_dim", |x| x[0].take_along_dim(&x[1], Some(1))),
        e!("take_along_dim_broadcast", |x| x[0].take_along_dim(&x[1], Some(0))),
        e!("count_nonzero", |x| x[0].count_nonzero(&[1])),
        e!("einsum_mm", |x| Tensor::einsum("ij,jk->ik", &[&x[0], &x[1]])),
        e!("einsum_batch_attention", |x| Tensor::einsum("bqd,bkd->bqk", &[&x[0], &x[1]])),
        e!("einsum_implicit", |x| Tensor::einsum("ij,jk", &[&x[0], &x[1]])),
        e!("einsum_trace", |x| Tensor::einsum("ii", &[&x[0]])),
        e!("einsum_diag", |x| Tensor::einsum("ii->i", &[&x[0]])),
        e!("einsum_outer", |x| Tensor::einsum("i,j->ij", &[&x[0], &x[1]])),
        e!("einsum_sum_transpose", |x| Tensor::einsum("ijk->kj", &[&x[0]])),
        e!("einsum_ellipsis", |x| Tensor::einsum("...ij,jk->...ik", &[&x[0], &x[1]])),
        e!("einsum_broadcast_ellipsis", |x| Tensor::einsum("...ij,...jk->...ik", &[&x[0], &x[1]])),
        e!("einsum_three", |x| Tensor::einsum("ij,jk,kl->il", &[&x[0], &x[1], &x[2]])),
        e!("einsum_bilinear", |x| Tensor::einsum("bi,oij,bj->bo", &[&x[0], &x[1], &x[2]])),
        e!("tensordot", |x| x[0].tensordot(&x[1], &[1, 2], &[1, 0])),
        e!("kron", |x| x[0].kron(&x[1])),
        e!("outer", |x| x[0].outer(&x[1])),
        e!("addmm", |x| x[0].addmm(&x[1], &x[2], 0.5, 2.0)),
        e!("addcmul", |x| x[0].addcmul(&x[1], &x[2], 0.5)),
        e!("addcdiv", |x| x[0].addcdiv(&x[1], &x[2], -2.0)),
        e!("lerp", |x| x[0].lerp(&x[1], &x[2])),
        e!("cdist2", |x| x[0].cdist(&x[1], 2.0)),
        e!("cdist1", |x| x[0].cdist(&x[1], 1.0)),
        e!("diagonal", |x| x[0].diagonal(1, 0, 1)),
        e!("diagonal_3d", |x| x[0].diagonal(-1, 0, 2)),
        e!("diagonal_exp", |x| x[0].diagonal(-1, 0, 1)?.exp()),
        e!("unfold_overlap", |x| x[0].unfold(1, 3, 2)?.exp()),
        e!("unfold_gaps", |x| weighted(x[0].unfold(0, 2, 3)?)),
        e!("diag_vector", |x| x[0].diag(-1)),
        e!("diag_embed", |x| x[0].diag_embed(1, 0, 2)),
        e!("diagflat", |x| x[0].diagflat(0)),
        e!("trace", |x| x[0].trace()),
        e!("flip", |x| weighted(x[0].flip(&[0, 2])?)),
        e!("roll", |x| weighted(x[0].roll(&[1, -3], &[0, 1])?)),
        e!("roll_flat", |x| weighted(x[0].roll(&[5], &[])?)),
        e!("rot90", |x| weighted(x[0].rot90(1, [0, 1])?)),
        e!("rot90_neg", |x| x[0].rot90(-1, [2, 1])),
        e!("movedim", |x| weighted(x[0].movedim(&[0, 2], &[2, 0])?)),
        e!("repeat_interleave", |x| weighted(x[0].repeat_interleave(&[2], Some(1))?)),
        e!("repeat_interleave_counts", |x| weighted(x[0].repeat_interleave(&[1, 0, 3], Some(0))?)),
        e!("tile", |x| weighted(x[0].tile(&[2])?)),
        e!("scatter", |x| x[0].scatter(0, &x[1], &x[2])),
        e!("scatter_value", |x| x[0].scatter_value(1, &x[1], -1.5)),
        e!("scatter_reduce_sum", |x| x[0].scatter_reduce(0, &x[1], &x[2], "sum", true)),
        e!("scatter_reduce_mean", |x| x[0].scatter_reduce(0, &x[1], &x[2], "mean", false)),
        e!("index_fill", |x| x[0].index_fill(1, &x[1], 0.5)),
        e!("index_copy", |x| x[0].index_copy(1, &x[1], &x[2])),
        e!("masked_scatter", |x| x[0].masked_scatter(&x[1], &x[2])),
        e!("hypot", |x| x[0].hypot(&x[1])),
        e!("fmod", |x| x[0].fmod(&x[1])),
        e!("copysign", |x| x[0].copysign(&x[1])),
        e!("copysign_signed_zero", |x| x[0].copysign(&x[1])),
        e!("heaviside", |x| x[0].heaviside(&x[1])),
        e!("sinc", |x| x[0].sinc()),
        e!("cumprod", |x| x[0].cumprod(1)),
        e!("logcumsumexp", |x| x[0].logcumsumexp(1)),
        e!("diff", |x| x[0].diff(2, 1, None, None)),
        e!("diff_prepend", |x| x[0].diff(1, 1, Some(&x[1]), None)),
        e!("histc", |x| x[0].histc(5, -1.0, 1.0)),
        e!("vector_norm2", |x| x[0].vector_norm(2.0, &[1], false)),
        e!("vector_norm1_all", |x| x[0].vector_norm(1.0, &[], false)),
        e!("vector_norm3_keep", |x| x[0].vector_norm(3.0, &[0], true)),
        e!("vector_norm_inf", |x| x[0].vector_norm(f64::INFINITY, &[0, 1], false)),
        e!("vector_norm_neginf", |x| x[0].vector_norm(f64::NEG_INFINITY, &[1], false)),
        e!("matrix_norm_fro", |x| x[0].matrix_norm("fro", [-2, -1], false)),
        e!("matrix_norm_1", |x| x[0].matrix_norm("1", [-2, -1], false)),
        e!("matrix_norm_inf", |x| x[0].matrix_norm("inf", [-2, -1], false)),
        e!("cross", |x| x[0].cross(&x[1], -1)),
        e!("matrix_power3", |x| x[0].matrix_power(3)),
        e!("matrix_power0", |x| &x[0].matrix_power(0)? + &x[0]),
        e!("inv", |x| x[0].add(&eye3(x[0].dtype())?)?.inv()),
        e!("solve", |x| x[0].add(&eye3(x[0].dtype())?)?.linalg_solve(&x[1])),
        e!("solve_vector", |x| x[0].add(&eye3(x[0].dtype())?)?.linalg_solve(&x[1])),
        e!("det", |x| x[0].add(&eye3(x[0].dtype())?)?.det()),
        e!("slogdet", |x| Ok(x[0].sub(&eye3(x[0].dtype())?)?.slogdet()?.1)),
        e!("cholesky", |x| {
            let spd = x[0].matmul(&x[0].transpose(-2, -1)?)?.add(&eye3(x[0].dtype())?.mul_scalar(1.0 / 3.0)?)?;
            spd.cholesky(false)
        }),
        e!("solve_triangular_upper", |x| x[0].add(&eye3(x[0].dtype())?)?.solve_triangular(&x[1], true, true, false)),
        e!("solve_triangular_lower_unit", |x| x[0].solve_triangular(&x[1], false, true, true)),
        e!("solve_triangular_right", |x| x[0].add(&eye3(x[0].dtype())?)?.solve_triangular(&x[1], true, false, false)),
        e!("lu_factor_square", |x| Ok(x[0].linalg_lu_factor(true)?.0)),
        e!("lu_factor_wide", |x| Ok(x[0].linalg_lu_factor(true)?.0)),
        e!("lu_factor_tall", |x| Ok(x[0].linalg_lu_factor(true)?.0)),
        e!("lu_unpacked", |x| {
            let (p, l, u) = x[0].linalg_lu(true)?;
            Tensor::cat(&[&l.flatten(0, -1)?, &u.flatten(0, -1)?, &p.flatten(0, -1)?], 0)
        }),
        e!("lu_solve", |x| lu_solve(&x[0].add(&eye3(x[0].dtype())?)?, &x[1], true, false)),
        e!("lu_solve_adjoint_right", |x| lu_solve(&x[0], &x[1], false, true)),
        e!("lu_solve_adjoint_left", |x| lu_solve(&x[0], &x[1], true, true)),
        e!("lu_solve_right", |x| lu_solve(&x[0], &x[1], false, false)),
        e!("qr_tall", |x| qr_normal(&x[0])),
        e!("qr_wide", |x| qr_normal(&x[0])),
        e!("qr_r", |x| x[0].linalg_qr("r")?.1.abs()),
        e!("qr_complete", |x| {
            let (q, r) = x[0].linalg_qr("complete")?;
            Tensor::cat(&[&q.matmul(&q.transpose(-2, -1)?)?.flatten(0, -1)?, &q.matmul(&r)?.flatten(0, -1)?], 0)
        }),
        e!("svdvals", |x| x[0].svdvals()),
        e!("svd_uvh_tall", |x| svd_normal(&x[0], false, "usv")),
        e!("svd_u_wide", |x| svd_normal(&x[0], false, "u")),
        e!("svd_v_wide", |x| svd_normal(&x[0], false, "vs")),
        e!("svd_full", |x| svd_normal(&x[0], true, "us")),
        e!("eigvalsh", |x| x[0].add(&x[0].transpose(-2, -1)?)?.eigvalsh("L")),
        e!("eigh_vectors", |x| {
            let (l, v) = x[0].add(&x[0].transpose(-2, -1)?)?.linalg_eigh("L")?;
            let sg = v.select(-2, 0)?.detach().sign()?;
            Tensor::cat(&[&l.flatten(0, -1)?, &v.mul(&sg.unsqueeze(-2)?)?.flatten(0, -1)?], 0)
        }),
        e!("lstsq_tall", |x| x[0].lstsq(&x[1])),
        e!("lstsq_wide_vector", |x| x[0].lstsq(&x[1])),
        e!("pinv", |x| x[0].pinv(None, None)),
        e!("matrix_rank", |x| x[0].matrix_rank(None, None)),
        e!("matrix_norm_nuc", |x| x[0].matrix_norm("nuc", [-2, -1], false)),
        e!("matrix_norm_2", |x| x[0].matrix_norm("2", [-2, -1], false)),
        e!("matrix_norm_neg2", |x| x[0].matrix_norm("-2", [-2, -1], false)),
        e!("sparse_mm", |x| sp(&x[0])?.mm(&x[1])),
        e!("sparse_mm_vector", |x| sp(&x[0])?.mm(&x[1])),
        e!("sparse_t_mm", |x| sp(&x[0])?.t()?.mm(&x[1])),
        e!("sparse_to_dense", |x| sp(&x[0])?.to_dense()),
        e!("sparse_coalesce", |x| sp(&x[0])?.coalesce()?.values().mul_scalar(2.0)),
        e!("sparse_sum_scaled", |x| sp(&x[0])?.mul_scalar(3.0)?.sum()),
        e!("to_sparse_values", |x| Ok(x[0].relu()?.to_sparse()?.values().clone())),
        e!("trigamma_grad", |x| x[0].trigamma()),
        e!("i0_large", |x| x[0].i0()),
        e!("i1_large", |x| x[0].i1()),
        e!("polygamma2", |x| x[0].polygamma(2)),
        e!("polygamma3", |x| x[0].polygamma(3)),
        e!("renorm", |x| x[0].mul_scalar(2.0)?.renorm(2.0, 0, 1.5)),
        e!("dist_normal", |x| {
            use ember_core::distributions::{Distribution, Normal};
            let d = Normal::new(&x[0], &x[1])?;
            let q = Normal::new(&Tensor::full(&[], 0.5, x[0].dtype())?, &Tensor::full(&[], 2.0, x[0].dtype())?)?;
            d.log_prob(&x[2])?.add(&d.entropy()?)?.add(&d.kl(&q)?)
        }),
        e!("dist_categorical", |x| {
            use ember_core::distributions::{Categorical, Distribution};
            let d = Categorical::from_logits(&x[0])?;
            let q = Categorical::from_logits(&x[0].flip(&[-1])?)?;
            d.log_prob(&Tensor::from_vec(vec![1i64, 3], &[2])?)?.add(&d.entropy()?)?.add(&d.kl(&q)?)
        }),
        e!("dist_mvn", |x| {
            use ember_core::distributions::{Distribution, MultivariateNormal};
            let l = x[1].tril(-1)?.add(&x[2].exp()?.diag_embed(0, -2, -1)?)?;
            let p = MultivariateNormal::from_scale_tril(&x[0], &l)?;
            let q = MultivariateNormal::from_scale_tril(
                &Tensor::zeros(&[2], x[0].dtype())?,
                &Tensor::eye(2, x[0].dtype())?.mul_scalar(1.5)?,
            )?;
            p.log_prob(&x[3])?.add(&p.entropy()?)?.add(&p.kl(&q)?)
        }),
        e!("dist_uniform_exponential_bernoulli", |x| {
            use ember_core::distributions::{Bernoulli, Distribution, Exponential, Uniform};
            let u = Uniform::new(&x[0], &x[0].add(&x[1])?)?;
            let e = Exponential::new(&x[2])?;
            let b = Bernoulli::new(&x[3])?;
            let ones = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3])?.to_dtype(x[0].dtype())?;
            let lp = u.log_prob(&x[0].add(&x[1].mul_scalar(0.5)?)?)?.add(&u.entropy()?)?;
            lp.add(&e.log_prob(&x[1])?)?.add(&e.entropy()?)?.add(&b.log_prob(&ones)?)?.add(&b.entropy()?)
        }),
        e!("scatter_reduce_amax", |x| x[0].scatter_reduce(0, &sr_index()?, &x[1], "amax", true)),
        e!("scatter_reduce_amin_noself", |x| x[0].scatter_reduce(0, &sr_index()?, &x[1], "amin", false)),
        e!("scatter_reduce_prod", |x| x[0].scatter_reduce(0, &sr_index()?, &x[1], "prod", true)),
        e!("scatter_reduce_prod_noself", |x| x[0].scatter_reduce(0, &sr_index()?, &x[1], "prod", false)),
        e!("add_empty", |x| &x[0] + &x[1]),
        e!("sum_empty", |x| x[0].sum_dim(0, false)),
        e!("exp_scalar", |x| x[0].exp()),
        e!("mul_scalar_tensor", |x| &x[0] * &x[1]),
        e!("softmax_scalar", |x| x[0].softmax(0)),
    ]
}

/// Must match `projection` in tools/gen_fixtures.py.
fn projection(n: usize) -> Vec<f64> {
    (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * (0.5 + ((i * 7) % 11) as f64 / 10.0)).collect()
}

fn shape_of(v: &Value) -> Vec<usize> {
    v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

fn data_of(v: &Value) -> Vec<f64> {
    v["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap()).collect()
}

struct Case {
    name: String,
    inputs: Vec<(Tensor, bool)>, // (f64/i64/bool tensor, requires grad)
    out_shape: Vec<usize>,
    out_dtype: String,
    out: Vec<f64>,
    grads: Option<Vec<Option<Vec<f64>>>>,
}

fn load_cases() -> Vec<Case> {
    let text = include_str!("fixtures/ops.json");
    let root: Value = serde_json::from_str(text).unwrap();
    let mut cases = Vec::new();
    for (name, c) in root["cases"].as_object().unwrap() {
        let inputs = c["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let shape = shape_of(i);
                let data = data_of(i);
                let t = match i["dtype"].as_str().unwrap() {
                    "f64" => Tensor::from_vec(data, &shape).unwrap(),
                    "i64" => Tensor::from_vec(data.iter().map(|&v| v as i64).collect(), &shape).unwrap(),
                    "bool" => Tensor::from_vec(data.iter().map(|&v| v != 0.0).collect(), &shape).unwrap(),
                    d => panic!("unknown dtype {d}"),
                };
                (t, i["requires_grad"].as_bool().unwrap())
            })
            .collect();
        let grads = c.get("grads").map(|g| {
            g.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap()).collect()))
                .collect()
        });
        cases.push(Case {
            name: name.clone(),
            inputs,
            out_shape: shape_of(&c["output"]),
            out_dtype: c["output"]["dtype"].as_str().unwrap().to_string(),
            out: data_of(&c["output"]),
            grads,
        });
    }
    cases
}

fn assert_close(name: &str, what: &str, got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: {what}: length {} vs {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * w.abs();
        assert!(ok, "{name}: {what}[{i}] = {g} but PyTorch gives {w}");
    }
}

/// Inputs converted to `dtype` (floats only), marked as requiring grad where the fixture says.
fn prepare(case: &Case, dtype: DType, grad: bool) -> Vec<Tensor> {
    case.inputs
        .iter()
        .map(|(t, rg)| {
            let t = if t.dtype().is_float() { t.to_dtype(dtype).unwrap() } else { t.clone() };
            if grad && *rg {
                t.set_requires_grad(true).unwrap()
            } else {
                t
            }
        })
        .collect()
}

/// The same values in a non-contiguous layout: every other element of a wider buffer.
fn non_contiguous(t: &Tensor) -> Tensor {
    if t.dim() == 0 || t.numel() == 0 {
        return t.clone();
    }
    let mut wide = t.shape().to_vec();
    let last = wide.len() - 1;
    wide[last] *= 2;
    let buf = Tensor::zeros(&wide, t.dtype()).unwrap();
    let view = buf.slice(-1, 0, wide[last] as isize, 2).unwrap();
    view.copy_(t).unwrap();
    assert!(!view.is_contiguous() || t.numel() == 1);
    view
}

fn run_with_grad(f: &OpFn, inputs: &[Tensor]) -> (Tensor, Vec<Option<Tensor>>) {
    let out = f(inputs).unwrap();
    let mut grads = vec![None; inputs.len()];
    if out.requires_grad() {
        let v = Tensor::from_vec(projection(out.numel()), out.shape()).unwrap().to_dtype(out.dtype()).unwrap();
        out.backward_with(&v).unwrap();
        for (g, t) in grads.iter_mut().zip(inputs) {
            *g = t.grad();
        }
    }
    (out, grads)
}

#[test]
fn every_table_entry_has_a_fixture_and_back() {
    let names: BTreeSet<&str> = table().iter().map(|(n, _)| *n).collect();
    let cases: BTreeSet<String> = load_cases().into_iter().map(|c| c.name).collect();
    let fixtures: BTreeSet<&str> = cases.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, fixtures, "op table and tools/gen_fixtures.py must list the same cases");
}

#[test]
fn forward_and_gradients_match_pytorch_in_f64() {
    let table = table();
    for case in load_cases() {
        let f = &table.iter().find(|(n, _)| *n == case.name).unwrap().1;
        let inputs = prepare(&case, DType::F64, true);
        let (out, grads) = run_with_grad(f, &inputs);
        assert_eq!(out.shape(), case.out_shape.as_slice(), "{}: output shape", case.name);
        let want_dtype = match case.out_dtype.as_str() {
            "f64" => DType::F64,
            "i64" => DType::I64,
            _ => DType::Bool,
        };
        assert_eq!(out.dtype(), want_dtype, "{}: output dtype", case.name);
        assert_close(&case.name, "output", &out.to_f64_vec().unwrap(), &case.out, 1e-9, 1e-12);
        if let Some(want) = &case.grads {
            for (i, (g, w)) in grads.iter().zip(want).enumerate() {
                match (g, w) {
                    (Some(g), Some(w)) => {
                        assert_eq!(g.shape(), inputs[i].shape(), "{}: grad {i} shape", case.name);
                        assert_close(&case.name, &format!("grad[{i}]"), &g.to_f64_vec().unwrap(), w, 1e-9, 1e-12);
                    }
                    (None, Some(w)) => {
                        assert!(w.iter().all(|&v| v == 0.0), "{}: missing gradient for input {i}", case.name)
                    }
                    (_, None) => {}
                }
            }
        }
    }
}

#[test]
fn gradcheck_every_differentiable_entry() {
    let table = table();
    // Cases at a kink check PyTorch's subgradient convention instead (vs the fixture), and
    // `to_dtype` rounds through f32, where a 1e-6 step is below the precision; both are still
    // checked against PyTorch's gradients above.
    let skip = |name: &str| name.ends_with("_at_kink") || name == "to_dtype";
    for case in load_cases().iter().filter(|c| c.grads.is_some() && !skip(&c.name)) {
        let f = &table.iter().find(|(n, _)| *n == case.name).unwrap().1;
        let inputs = prepare(case, DType::F64, true);
        if !inputs.iter().any(|t| t.requires_grad()) {
            continue;
        }
        if let Err(e) = gradcheck(|x| f(x), &inputs, GradcheckOptions::default()) {
            panic!("{}: {e}", case.name);
        }
    }
}

#[test]
fn non_contiguous_inputs_give_the_same_results() {
    let table = table();
    for case in load_cases() {
        let f = &table.iter().find(|(n, _)| *n == case.name).unwrap().1;
        let base = prepare(&case, DType::F64, false);
        let strided: Vec<Tensor> = base
            .iter()
            .zip(&case.inputs)
            .map(|(t, (_, rg))| {
                let s = non_contiguous(t);
                if *rg && case.grads.is_some() {
                    s.detach().set_requires_grad(true).unwrap()
                } else {
                    s
                }
            })
            .collect();
        let (out, grads) = run_with_grad(f, &strided);
        assert_close(&case.name, "strided output", &out.to_f64_vec().unwrap(), &case.out, 1e-9, 1e-12);
        if let Some(want) = &case.grads {
            for (i, (g, w)) in grads.iter().zip(want).enumerate() {
                if let (Some(g), Some(w)) = (g, w) {
                    assert_close(&case.name, &format!("strided grad[{i}]"), &g.to_f64_vec().unwrap(), w, 1e-9, 1e-12);
                }
            }
        }
    }
}

#[test]
fn low_precision_dtypes_match_pytorch_within_their_precision() {
    let table = table();
    for (dtype, rtol, atol) in [(DType::F32, 1e-5, 1e-5), (DType::F16, 2e-2, 2e-2), (DType::BF16, 6e-2, 6e-2)] {
        for case in load_cases() {
            if case.out_dtype != "f64" || case.name == "to_dtype" {
                continue;
            }
            let f = &table.iter().find(|(n, _)| *n == case.name).unwrap().1;
            let inputs = prepare(&case, dtype, false);
            let out = f(&inputs).unwrap_or_else(|e| panic!("{} in {dtype}: {e}", case.name));
            assert_eq!(out.dtype(), dtype, "{}: output dtype", case.name);
            // Tolerance relative to the output's scale: reductions of a few elements round once
            // per element in half precision. Outputs beyond a type's range are infinite
            // there (f32 and bf16 share a range), as in PyTorch, and are not compared.
            let scale = case.out.iter().fold(1.0f64, |a, b| a.max(b.abs()));
            let max = match dtype {
                DType::F16 => 65504.0,
                _ => f32::MAX as f64,
            };
            if scale > max {
                continue;
            }
            assert_close(
                &format!("{} ({dtype})", case.name),
                "output",
                &out.to_f64_vec().unwrap(),
                &case.out,
                rtol,
                atol * scale,
            );
        }
    }
}

#[test]
fn second_derivatives_are_checked_by_gradgradcheck() {
    let table = table();
    let set = [
        "exp",
        "log",
        "tanh",
        "sigmoid",
        "gelu",
        "gelu_tanh",
        "silu",
        "erf",
        "sqrt",
        "pow3",
        "mul",
        "div",
        "sum_dim1",
        "mean",
        "max_dim1",
        "prod_dim1",
        "var_dim1",
        "logsumexp1",
        "softmax1",
        "log_softmax_last",
        "cumsum1",
        "mm",
        "bmm",
        "matmul_broadcast",
        "gather",
        "index_select",
        "scatter_add",
        "slice_step",
        "permute",
        "cat",
        "unfold2d",
        "where",
        "inv",
        "solve",
        "det",
        "cholesky",
        "solve_triangular_upper",
        "qr_tall",
        "qr_wide",
        "lu_factor_wide",
        "lu_solve",
        "svdvals",
        "svd_uvh_tall",
        "svd_v_wide",
        "eigh_vectors",
        "lstsq_tall",
        "pinv",
        "sparse_mm",
        "sparse_coalesce",
        "trigamma_grad",
        "i0",
        "renorm",
        "cumprod",
        "logcumsumexp",
        "vector_norm2",
    ];
    let cases = load_cases();
    for name in set {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        let f = &table.iter().find(|(n, _)| *n == name).unwrap().1;
        let inputs = prepare(case, DType::F64, true);
        if let Err(e) = gradgradcheck(|x| f(x), &inputs, GradcheckOptions::default()) {
            panic!("{name}: {e}");
        }
    }
}

/// The op kinds in the graph of a case's output and, with `create_graph`, of its gradients
/// (which exercise the adjoint-only primitives).
fn kinds_of_case(f: &OpFn, case: &Case) -> BTreeSet<String> {
    let inputs = prepare(case, DType::F64, true);
    let out = f(&inputs).unwrap();
    let mut seen = BTreeSet::new();
    if !out.requires_grad() {
        return seen;
    }
    seen.extend(autograd::graph_op_kinds(&out).unwrap());
    let wanted: Vec<&Tensor> = inputs.iter().filter(|t| t.requires_grad()).collect();
    let v = Tensor::from_vec(projection(out.numel()), out.shape()).unwrap();
    let opts = autograd::GradOptions {
        create_graph: true,
        allow_unused: true,
        grad_outputs: Some(vec![v]),
        ..Default::default()
    };
    for g in autograd::grad_with(&[&out], &wanted, opts).unwrap() {
        seen.extend(autograd::graph_op_kinds(&g).unwrap());
    }
    seen
}

#[test]
fn every_op_kind_declares_cases_that_exercise_it() {
    let table = table();
    let cases = load_cases();
    let mut problems = Vec::new();
    for (kind, declared) in Op::all_kinds() {
        // Kinds no fixture case can record: the fused first-order GELU backwards run only with
        // recording off (their rules are gradchecked in `fused_gelu_backward_rules` below and in
        // `op/unary.rs`); bitwise ops, gcd and lcm take integers only, which are never recorded; floor_divide
        // has no derivative, as in PyTorch (`ops_without_a_derivative_refuse_backward`).
        let unrecordable = [
            "Unary::GeluGrad",
            "Unary::GeluTanhGrad",
            "Unary::BitwiseNot",
            "Binary::FloorDivide",
            "Binary::Gcd",
            "Binary::Lcm",
        ];
        // PyTorch's non_differentiable ops (Airy, the polynomials, ...) never record a node.
        let never_recorded = UnaryOp::ALL.iter().any(|u| !u.differentiable() && kind == format!("Unary::{}", u.name()))
            || BinaryOp::ALL.iter().any(|b| !b.differentiable() && kind == format!("Binary::{}", b.name()));
        if declared.is_empty()
            && !never_recorded
            && !unrecordable.contains(&kind.as_str())
            && !kind.starts_with("Binary::Bitwise")
        {
            problems.push(format!("{kind}: no fixture case declared in its table entry"));
        }
        for name in declared {
            let Some(case) = cases.iter().find(|c| c.name == *name) else {
                problems.push(format!("{kind}: declared case {name:?} is not in fixtures/ops.json"));
                continue;
            };
            let f = &table.iter().find(|(n, _)| n == name).unwrap().1;
            if !kinds_of_case(f, case).contains(&kind) {
                problems.push(format!("{kind}: declared case {name:?} does not record it"));
            }
        }
    }
    assert!(problems.is_empty(), "op table coverage:\n{}", problems.join("\n"));
}

#[test]
fn ops_without_a_derivative_refuse_backward() {
    let a = Tensor::from_vec(vec![3.5f64, -2.0], &[2]).unwrap().set_requires_grad(true).unwrap();
    let b = Tensor::from_vec(vec![2.0f64, 3.0], &[2]).unwrap();
    let y = a.floor_divide(&b).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), [1.0, -1.0]);
    let e = y.sum().unwrap().backward().unwrap_err().to_string();
    assert!(e.contains("derivative for floor_divide is not implemented"), "{e}");
}

#[test]
fn fused_gelu_backward_rules() {
    // The fused derivatives (used when no double backward is needed) equal the composite ones
    // used under create_graph; their own rules are gradchecked in derivatives.rs's unit tests.
    let x = Tensor::from_vec(vec![-3.0f64, -0.7, 0.0, 0.4, 1.3, 2.5], &[6]).unwrap().set_requires_grad(true).unwrap();
    for (fused, composite) in [("gelu", false), ("gelu_tanh", true)] {
        let y = if composite { x.gelu_tanh().unwrap() } else { x.gelu().unwrap() };
        let create = autograd::grad(&[&y.sum().unwrap()], &[&x], true).unwrap().remove(0);
        let plain = autograd::grad(&[&y.sum().unwrap()], &[&x], false).unwrap().remove(0);
        let (a, b) = (create.to_f64_vec().unwrap(), plain.to_f64_vec().unwrap());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-12, "{fused}: fused {q} vs composite {p}");
        }
    }
    ember_core::no_grad(|| ());
}
