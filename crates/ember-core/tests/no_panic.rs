//! No op panics on any input: every public tensor op is driven with random shapes (0-d, empty,
//! size-1 and ordinary dims), every dtype, contiguous, transposed, strided and broadcast
//! (stride-0) layouts, negative and out-of-range dims, out-of-range indices and shape
//! arguments whose element count overflows `usize` or exceeds the machine's memory. Each call
//! must return `Ok` or `Err`; a panic (or an abort, which kills the test binary) fails. Where
//! a result records gradients, backward runs through it too.

use ember_core::op::{BinaryOp, UnaryOp};
use ember_core::{Conv2dArgs, DType, Error, Result, Tensor, TensorIndex};
use proptest::prelude::*;

#[path = "support/inputs.rs"]
mod inputs;
use inputs::*;

/// Everything one round of calls draws from.
#[derive(Debug)]
struct Ctx {
    a: Tensor,
    b: Tensor,
    c: Tensor,
    idx: Tensor,
    d0: isize,
    d1: isize,
    n: usize,
    shape: Vec<usize>,
    ishape: Vec<isize>,
    s: f64,
}

type OpFn = fn(&Ctx) -> Result<Vec<Tensor>>;

macro_rules! ops {
    ($($name:literal => |$c:ident| $body:expr),* $(,)?) => {
        vec![$(($name, (|$c: &Ctx| -> Result<Vec<Tensor>> { $body }) as OpFn)),*]
    };
}

fn one(t: Result<Tensor>) -> Result<Vec<Tensor>> {
    t.map(|t| vec![t])
}

fn all_ops() -> Vec<(&'static str, OpFn)> {
    ops![
        // creation (shape arguments may overflow or exceed memory)
        "zeros" => |c| one(Tensor::zeros(&c.shape, c.a.dtype())),
        "ones" => |c| one(Tensor::ones(&c.shape, c.a.dtype())),
        "full" => |c| one(Tensor::full(&c.shape, c.s, c.a.dtype())),
        "rand" => |c| one(Tensor::rand(&c.shape, c.a.dtype())),
        "randn" => |c| one(Tensor::randn(&c.shape, c.a.dtype())),
        "randint" => |c| one(Tensor::randint(c.d0 as i64, c.d1 as i64, &c.shape, c.a.dtype())),
        "randint_wide" => |c| one(Tensor::randint(i64::MIN, i64::MAX, &[2], c.idx.dtype())),
        "arange" => |c| one(Tensor::arange(c.d0 as f64, c.s * 1e30, c.d1 as f64, c.a.dtype())),
        "linspace" => |c| one(Tensor::linspace(0.0, c.s, c.n, c.a.dtype())),
        "eye" => |c| one(Tensor::eye(c.n, c.a.dtype())),
        "zeros_like" => |c| one(Tensor::zeros_like(&c.a)),
        "from_vec" => |c| one(Tensor::from_vec(vec![1.0f32; 3], &c.shape)),
        // elementwise
        "add_scalar" => |c| one(c.a.add_scalar(c.s)),
        "div_scalar" => |c| one(c.a.div_scalar(c.s)),
        "pow" => |c| one(c.a.pow(c.s)),
        "clamp" => |c| one(c.a.clamp(Some(-1.0), Some(c.s))),
        "eq" => |c| one(c.a.eq(&c.b)),
        "lt_scalar" => |c| one(c.a.lt_scalar(c.s)),
        "logical_and" => |c| one(c.a.logical_and(&c.b)),
        "logical_not" => |c| one(c.a.logical_not()),
        "where_cond" => |c| one(Tensor::where_cond(&c.c, &c.a, &c.b)),
        "masked_fill" => |c| one(c.a.masked_fill(&c.c, c.s)),
        "isnan" => |c| one(c.a.isnan()),
        // reductions
        "sum" => |c| one(c.a.sum()),
        "sum_dim" => |c| one(c.a.sum_dim(c.d0, true)),
        "sum_dims_keep" => |c| one(c.a.sum_dims_keep(&[c.d0, c.d1], false)),
        "mean" => |c| one(c.a.mean()),
        "mean_dim" => |c| one(c.a.mean_dim(c.d0, false)),
        "max" => |c| one(c.a.max()),
        "min" => |c| one(c.a.min()),
        "max_dim" => |c| c.a.max_dim(c.d0, false).map(|(v, i)| vec![v, i]),
        "min_dim" => |c| c.a.min_dim(c.d0, true).map(|(v, i)| vec![v, i]),
        "argmax" => |c| one(c.a.argmax(c.d0, false)),
        "argmin" => |c| one(c.a.argmin(c.d0, true)),
        "prod_dim" => |c| one(c.a.prod_dim(c.d0, false)),
        "var_dim" => |c| one(c.a.var_dim(c.d0, true, false)),
        "std_dim" => |c| one(c.a.std_dim(c.d0, false, true)),
        "var" => |c| one(c.a.var(true)),
        "logsumexp" => |c| one(c.a.logsumexp(c.d0, false)),
        "softmax" => |c| one(c.a.softmax(c.d0)),
        "log_softmax" => |c| one(c.a.log_softmax(c.d0)),
        "cumsum" => |c| one(c.a.cumsum(c.d0)),
        // sorting and selection
        "sort" => |c| c.a.sort(c.d0, c.n.is_multiple_of(2)).map(|(v, i)| vec![v, i]),
        "argsort" => |c| one(c.a.argsort(c.d0, true)),
        "msort" => |c| one(c.a.msort()),
        "topk" => |c| c.a.topk(c.n, c.d0, c.d1 > 0).map(|(v, i)| vec![v, i]),
        "kthvalue" => |c| c.a.kthvalue(c.n, c.d0, c.d1 > 0).map(|(v, i)| vec![v, i]),
        "median" => |c| one(c.a.median()),
        "nanmedian" => |c| one(c.a.nanmedian()),
        "median_dim" => |c| c.a.median_dim(c.d0, true).map(|(v, i)| vec![v, i]),
        "nanmedian_dim" => |c| c.a.nanmedian_dim(c.d0, false).map(|(v, i)| vec![v, i]),
        "mode" => |c| c.a.mode(c.d0, false).map(|(v, i)| vec![v, i]),
        "cummax" => |c| c.a.cummax(c.d0).map(|(v, i)| vec![v, i]),
        "cummin" => |c| c.a.cummin(c.d0).map(|(v, i)| vec![v, i]),
        "unique" => |c| c.a.unique().map(|(v, i, n)| vec![v, i, n]),
        "unique_consecutive" => |c| c.a.unique_consecutive().map(|(v, i, n)| vec![v, i, n]),
        "searchsorted" => |c| one(c.a.searchsorted(&c.b, c.d1 > 0)),
        "bucketize" => |c| one(c.a.bucketize(&c.b, false)),
        "take" => |c| one(c.a.take(&c.idx)),
        "take_along_dim" => |c| one(c.a.take_along_dim(&c.idx, Some(c.d0))),
        "take_along_dim_flat" => |c| one(c.a.take_along_dim(&c.idx, None)),
        "count_nonzero" => |c| one(c.a.count_nonzero(&[c.d0])),
        // sampling
        "multinomial" => |c| one(c.a.multinomial(c.n, c.d1 > 0)),
        "bernoulli" => |c| one(c.a.bernoulli()),
        "poisson" => |c| one(c.a.poisson()),
        "uniform_" => |c| c.a.uniform_(c.s, c.d1 as f64).map(|_| vec![]),
        "normal_" => |c| c.a.normal_(c.s, c.d1 as f64).map(|_| vec![]),
        "exponential_" => |c| c.a.exponential_(c.s).map(|_| vec![]),
        "geometric_" => |c| c.a.geometric_(c.s).map(|_| vec![]),
        "cauchy_" => |c| c.a.cauchy_(c.s, c.d1 as f64).map(|_| vec![]),
        "log_normal_" => |c| c.a.log_normal_(c.s, c.d1 as f64).map(|_| vec![]),
        "random_" => |c| c.a.random_(c.d0 as i64, Some(c.d1 as i64)).map(|_| vec![]),
        "random_full" => |c| c.a.random_(0, None).map(|_| vec![]),
        "bernoulli_" => |c| c.a.bernoulli_(c.s).map(|_| vec![]),
        // einsum and compositions
        "einsum_pair" => |c| one(Tensor::einsum(["ij,jk->ik", "...i,...i", "ii->i", "i,j", "bij,bjk", "ab,ba->", "a...,...a->...", "i,i,i->i", "ij->jii", "..."][c.n % 10], &[&c.a, &c.b])),
        "einsum_one" => |c| one(Tensor::einsum(["ii", "ijk->kji", "...->...", "i->", "aa->a", "ab->", "a,b", "->"][c.n % 8], &[&c.a])),
        "tensordot" => |c| one(c.a.tensordot(&c.b, &[c.d0], &[c.d1])),
        "kron" => |c| one(c.a.kron(&c.b)),
        "outer" => |c| one(c.a.outer(&c.b)),
        "addmm" => |c| one(c.a.addmm(&c.b, &c.c, c.s, 2.0)),
        "addcmul" => |c| one(c.a.addcmul(&c.b, &c.a, c.s)),
        "lerp" => |c| one(c.a.lerp(&c.b, &c.a)),
        "cdist" => |c| one(c.a.cdist(&c.b, c.s)),
        "diagonal" => |c| one(c.a.diagonal(c.d0.saturating_mul(3), c.d0, c.d1)),
        "diag" => |c| one(c.a.diag(c.d1)),
        "diag_embed" => |c| one(c.a.diag_embed(c.d1, c.d0, -1)),
        "diagflat" => |c| one(c.a.diagflat(c.d0)),
        "trace" => |c| one(c.a.trace()),
        "flip" => |c| one(c.a.flip(&[c.d0, c.d1])),
        "roll" => |c| one(c.a.roll(&[c.d1.saturating_mul(1000)], &[c.d0])),
        "roll_flat" => |c| one(c.a.roll(&[c.d1], &[])),
        "rot90" => |c| one(c.a.rot90(c.d1, [c.d0, c.d1])),
        "movedim" => |c| one(c.a.movedim(&[c.d0], &[c.d1])),
        "repeat_interleave" => |c| one(c.a.repeat_interleave(&[c.n], Some(c.d0))),
        "repeat_interleave_huge" => |c| one(c.a.repeat_interleave(&[usize::MAX / 2, 3], None)),
        "tile" => |c| one(c.a.tile(&c.shape)),
        // scatter family and composed math
        "scatter" => |c| one(c.a.scatter(c.d0, &c.idx, &c.b)),
        "scatter_value" => |c| one(c.a.scatter_value(c.d0, &c.idx, c.s)),
        "scatter_reduce" => |c| one(c.a.scatter_reduce(c.d0, &c.idx, &c.b, ["sum", "mean", "amax"][c.n % 3], c.d1 > 0)),
        "index_fill" => |c| one(c.a.index_fill(c.d0, &c.idx, c.s)),
        "index_copy" => |c| one(c.a.index_copy(c.d0, &c.idx, &c.b)),
        "masked_scatter" => |c| one(c.a.masked_scatter(&c.c, &c.b)),
        "hypot" => |c| one(c.a.hypot(&c.b)),
        "fmod" => |c| one(c.a.fmod(&c.b)),
        "copysign" => |c| one(c.a.copysign(&c.b)),
        "heaviside" => |c| one(c.a.heaviside(&c.b)),
        "nan_to_num" => |c| one(c.a.nan_to_num(c.s, None, Some(c.s))),
        "sinc" => |c| one(c.a.sinc()),
        "cumprod" => |c| one(c.a.cumprod(c.d0)),
        "logcumsumexp" => |c| one(c.a.logcumsumexp(c.d0)),
        "diff" => |c| one(c.a.diff(c.n, c.d0, Some(&c.b), None)),
        "nanmean" => |c| one(c.a.nanmean(&[c.d0], c.d1 > 0)),
        "histc" => |c| one(c.a.histc(c.n, c.s, c.d1 as f64)),
        // norms
        "vector_norm" => |c| one(c.a.vector_norm(c.s, &[c.d0], c.d1 > 0)),
        "vector_norm_inf" => |c| one(c.a.vector_norm(f64::INFINITY, &[c.d0, c.d1], false)),
        "matrix_norm" => |c| one(c.a.matrix_norm(["fro", "1", "-1", "inf", "-inf", "nuc", "2", "-2", "x"][c.n % 9], [c.d0, c.d1], c.n % 2 == 1)),
        "cross" => |c| one(c.a.cross(&c.b, c.d0)),
        "matrix_power" => |c| one(c.a.matrix_power(c.d1 as i64)),
        // decompositions
        "inv" => |c| one(c.a.inv()),
        "linalg_solve" => |c| one(c.a.linalg_solve(&c.b)),
        "det" => |c| one(c.a.det()),
        "slogdet" => |c| c.a.slogdet().map(|(s, l)| vec![s, l]),
        "cholesky" => |c| one(c.a.cholesky(c.d1 > 0)),
        "cholesky_ex" => |c| c.a.cholesky_ex(c.d1 > 0).map(|(l, i)| vec![l, i]),
        "lu_factor_ex" => |c| c.a.linalg_lu_factor_ex(c.d1 > 0).map(|(l, p, i)| vec![l, p, i]),
        "lu" => |c| c.a.linalg_lu(true).map(|(p, l, u)| vec![p, l, u]),
        "lu_unpack" => |c| Tensor::lu_unpack(&c.a, &c.b.to_dtype(DType::I32)?).map(|(p, l, u)| vec![p, l, u]),
        "lu_solve" => |c| one(c.a.linalg_lu_factor_ex(true).and_then(|(lu, p, _)| Tensor::lu_solve(&lu, &p, &c.b, c.d0 > 0, c.d1 > 0))),
        "solve_triangular" => |c| one(c.a.solve_triangular(&c.b, c.d0 > 0, c.d1 > 0, c.n.is_multiple_of(2))),
        "qr" => |c| c.a.linalg_qr(["reduced", "complete", "r", "x"][c.n % 4]).map(|(q, r)| vec![q, r]),
        "svd" => |c| c.a.linalg_svd(c.d0 > 0).map(|(u, s, v)| vec![u, s, v]),
        "svdvals" => |c| one(c.a.svdvals()),
        "eigh" => |c| c.a.linalg_eigh(["L", "U", "x"][c.n % 3]).map(|(l, v)| vec![l, v]),
        "eigvalsh" => |c| one(c.a.eigvalsh("L")),
        "lstsq" => |c| one(c.a.lstsq(&c.b)),
        "pinv" => |c| one(c.a.pinv(None, Some(c.s))),
        "matrix_rank" => |c| one(c.a.matrix_rank(Some(c.s), None)),
        "unique_dim" => |c| c.a.unique_dim(c.d0, c.n % 2 == 1).map(|(v, i, n)| vec![v, i, n]),
        "polygamma" => |c| one(c.a.polygamma(c.n as u32)),
        "renorm" => |c| one(c.a.renorm(c.s, c.d0, c.d1 as f64)),
        // sparse COO: `a` as indices (any dtype, shape), `b` as values
        "sparse_coo_tensor" => |c| ember_core::sparse::SparseCoo::new(&c.a, &c.b, &c.shape).and_then(|s| Ok(vec![s.to_dense()?, s.coalesce()?.values().clone()])),
        "sparse_mm" => |c| c.a.to_sparse().and_then(|s| s.mm(&c.b)).map(|t| vec![t]),
        "sparse_t" => |c| c.a.to_sparse().and_then(|s| s.t()?.to_dense()).map(|t| vec![t]),
        "to_sparse" => |c| c.a.to_sparse().map(|s| vec![s.indices().clone(), s.values().clone()]),
        // shape and views
        "size" => |c| c.a.size(c.d0).map(|_| vec![]),
        "reshape" => |c| one(c.a.reshape(&c.ishape)),
        "view" => |c| one(c.a.view(&c.ishape)),
        "expand" => |c| one(c.a.expand(&c.ishape)),
        "broadcast_to" => |c| one(c.a.broadcast_to(&c.shape)),
        "as_strided" => |c| one(c.a.detach().as_strided(&c.shape, &c.shape, c.n)),
        "flatten" => |c| one(c.a.flatten(c.d0, c.d1)),
        "permute" => |c| one(c.a.permute(&c.ishape)),
        "transpose" => |c| one(c.a.transpose(c.d0, c.d1)),
        "t" => |c| one(c.a.t()),
        "unsqueeze" => |c| one(c.a.unsqueeze(c.d0)),
        "squeeze" => |c| one(c.a.squeeze()),
        "squeeze_dim" => |c| one(c.a.squeeze_dim(c.d0)),
        "narrow" => |c| one(c.a.narrow(c.d0, c.n, c.d1.unsigned_abs())),
        "slice" => |c| one(c.a.slice(c.d0, c.d1, c.n as isize, c.d1.unsigned_abs())),
        "select" => |c| one(c.a.select(c.d0, c.d1)),
        "split" => |c| c.a.split(c.n, c.d0),
        "chunk" => |c| c.a.chunk(c.n, c.d0),
        "repeat" => |c| one(c.a.repeat(&c.shape)),
        "tril" => |c| one(c.a.tril(c.d0)),
        "triu" => |c| one(c.a.triu(c.d1)),
        "contiguous" => |c| one(c.a.contiguous()),
        "to_dtype" => |c| one(c.a.to_dtype(c.b.dtype())),
        "to_vec" => |c| c.a.to_f64_vec().map(|_| vec![]),
        "item" => |c| c.a.item::<f32>().map(|_| vec![]),
        // indexing
        "index_select" => |c| one(c.a.index_select(c.d0, &c.idx)),
        "index_add" => |c| one(c.a.index_add(c.d0, &c.idx, &c.b)),
        "gather" => |c| one(c.a.gather(c.d0, &c.idx)),
        "scatter_add" => |c| one(c.a.scatter_add(c.d0, &c.idx, &c.b)),
        "cat" => |c| one(Tensor::cat(&[&c.a, &c.b], c.d0)),
        "index_tensor" => |c| one(c.a.index(&[TensorIndex::from(..), TensorIndex::from(&c.idx)])),
        "index_mask" => |c| one(c.a.index(&[TensorIndex::from(&c.c), TensorIndex::from(c.d0)])),
        "index_mixed" => |c| one(c.a.index(&[TensorIndex::from(c.d1), TensorIndex::NewAxis, TensorIndex::from(&c.idx)])),
        "index_put" => |c| one(c.a.index_put(&[TensorIndex::from(&c.idx)], &c.b)),
        "index_put_" => |c| c.a.index_put_(&[TensorIndex::from(&c.c)], &c.b).map(|_| vec![]),
        "nonzero" => |c| one(c.a.nonzero()),
        "stack" => |c| one(Tensor::stack(&[&c.a, &c.b], c.d0)),
        // linear algebra and windows
        "matmul" => |c| one(c.a.matmul(&c.b)),
        "mm" => |c| one(c.a.mm(&c.b)),
        "unfold2d" => |c| {
            let k = (c.n.max(1), c.d1.unsigned_abs().max(1));
            one(c.a.unfold2d(Conv2dArgs { kernel: k, stride: (c.n, 1), padding: (c.n, c.n), dilation: (1, c.n) }))
        },
        "fold2d" => |c| one(c.a.fold2d((c.n, c.n), Conv2dArgs::new((c.n, 1)))),
        // in place
        "add_" => |c| c.a.add_(&c.b).map(|_| vec![]),
        "mul_" => |c| c.a.mul_(&c.b).map(|_| vec![]),
        "copy_" => |c| c.a.copy_(&c.b).map(|_| vec![]),
        "fill_" => |c| c.a.fill_(c.s).map(|_| vec![]),
        "zero_" => |c| c.a.zero_().map(|_| vec![]),
        "add_scalar_" => |c| c.a.add_scalar_(c.s).map(|_| vec![]),
        // autograd entry points
        "backward" => |c| c.a.backward().map(|_| vec![]),
        "backward_with" => |c| c.a.backward_with(&c.b).map(|_| vec![]),
        "set_requires_grad" => |c| one(c.a.detach().set_requires_grad(true)),
    ]
}

fn arg_size() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 0usize..4, 1 => Just(7usize), 1 => (0..HUGE.len()).prop_map(|i| HUGE[i])]
}

fn arg_isize() -> impl Strategy<Value = isize> {
    prop_oneof![8 => -5isize..5, 1 => Just(isize::MIN), 1 => Just(isize::MAX)]
}

fn ctx() -> impl Strategy<Value = Ctx> {
    (
        spec(),
        spec(),
        spec(),
        proptest::collection::vec(-3i64..6, 0..6),
        (arg_isize(), arg_isize(), arg_size()),
        (proptest::collection::vec(arg_size(), 0..5), proptest::collection::vec(arg_isize(), 0..5)),
        prop_oneof![Just(0.0), Just(0.5), Just(-2.0), Just(f64::NAN), Just(f64::INFINITY), Just(1e300)],
        any::<bool>(),
    )
        .prop_map(|(sa, sb, sc, iv, (d0, d1, n), (shape, ishape), s, same)| {
            let a = build(&sa);
            // Half the time `b` has `a`'s shape, so binary ops get past broadcasting.
            let b = if same { build(&Spec { shape: sa.shape.clone(), ..sb }) } else { build(&sb) };
            let c = build(&Spec { dtype: DType::Bool, grad: false, ..sc });
            let idx = Tensor::from_vec(iv.clone(), &[iv.len()]).unwrap();
            Ctx { a, b, c, idx, d0, d1, n, shape, ishape, s }
        })
}

/// Runs one op (and backward through its float results) and returns the panic message, if any.
fn panics(f: OpFn, c: &Ctx) -> Option<String> {
    panic_message(|| drive_all(f(c)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_op_panics_on_any_input(c in ctx()) {
        // Quiet while ops run (each panic is collected), loud again for the verdict.
        std::panic::set_hook(Box::new(|_| {}));
        let mut failed: Vec<String> = all_ops()
            .into_iter()
            .filter_map(|(name, f)| {
                if std::env::var_os("EMBER_TRACE").is_some() {
                    eprintln!("{name} {c:?}");
                }
                panics(f, &c).map(|m| format!("{name}: {m}"))
            })
            .collect();
        // Every op of the elementwise tables, so a new table entry is covered without a line here.
        for &op in UnaryOp::ALL {
            if let Some(m) = panic_message(|| drive(c.a.unary_op(op))) {
                failed.push(format!("{op:?}: {m}"));
            }
        }
        for &op in BinaryOp::ALL {
            if let Some(m) = panic_message(|| drive(c.a.binary_op(&c.b, op))) {
                failed.push(format!("{op:?}: {m}"));
            }
        }
        let _ = std::panic::take_hook();
        prop_assert!(failed.is_empty(), "panicked:\n{}\nwith {:?}", failed.join("\n"), c);
    }
}

#[test]
fn sizes_beyond_memory_are_alloc_errors_naming_the_bytes() {
    let e = Tensor::zeros(&[1 << 40, 1 << 10], DType::F32).unwrap_err();
    assert!(matches!(e, Error::Alloc { op: "zeros", .. }), "{e}");
    assert!(e.to_string().contains("needs 4.0 PiB"), "{e}");
    let e = Tensor::ones(&[usize::MAX, 2], DType::F64).unwrap_err();
    assert!(matches!(e, Error::Alloc { .. }), "{e}");
    // A view may not describe more than memory either: broadcasting and matmul outputs.
    let x = Tensor::zeros(&[1 << 20, 1], DType::F32).unwrap();
    let y = Tensor::zeros(&[1, 1 << 20], DType::F32).unwrap();
    assert!(matches!(x.add(&y).unwrap_err(), Error::Alloc { .. }));
    assert!(matches!(x.matmul(&y).unwrap_err(), Error::Alloc { op: "matmul", .. }));
    assert!(matches!(x.expand(&[1 << 20, 1 << 30]).unwrap_err(), Error::Alloc { op: "expand", .. }));
    // Empty tensors whose other sizes would not fit are refused too: kernels loop over them.
    assert!(Tensor::zeros(&[0, usize::MAX, 3], DType::F32).is_err());
    assert!(matches!(Tensor::zeros(&[0, 1 << 40], DType::F32).unwrap_err(), Error::Alloc { .. }));
    assert_eq!(Tensor::zeros(&[0, 1 << 20], DType::F32).unwrap().numel(), 0);
}
