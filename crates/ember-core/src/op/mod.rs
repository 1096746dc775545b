//! THE op tables: the closed set of differentiable primitives that autograd records, one
//! declaration per op (in the spirit of PyTorch's `derivatives.yaml`). An entry holds the op's
//! fields, what its gradient saves, the gradient formula per input and the fixture cases that
//! test it; `op_table!` (`macros.rs`) generates the `Op` enum, `name`, `kind`, `all_kinds`, the
//! saved-data rules and the gradient dispatch from it, so nothing about an op is written twice.
//! The elementwise ops live in their own tables, `unary.rs` and `binary.rs`, which also hold
//! their scalar definitions and generate their `Tensor` methods.
//!
//! Gradient formulas use ordinary tensor ops, so they are differentiable themselves when the
//! engine runs them with grad mode on (`create_graph`). Ops built from these (mean, var,
//! logsumexp, layer_norm, cross_entropy, ...) have no entry: their gradients come from the
//! primitives they are made of. `max_dim` sends the gradient to the returned index.

#[macro_use]
mod macros;
mod binary;
mod polynomial;
mod unary;

pub use binary::BinaryOp;
pub use unary::UnaryOp;

use crate::error::Result;
use crate::Tensor;
use std::fmt;
use std::sync::Arc;

/// The backward of a custom op (`autograd::custom`, Python's `autograd.Function`): the input
/// gradients (one per input, `None` where there is none) from the output's gradient.
pub type CustomBackward = dyn Fn(&Tensor) -> crate::Result<Vec<Option<Tensor>>> + Send + Sync;

/// A function re-run by activation checkpointing: maps the segment's inputs to its output.
pub type CheckpointFn = dyn Fn(&[Tensor]) -> crate::Result<Tensor> + Send + Sync;

/// Geometry of a 2-D sliding window (conv, pooling): kernel, stride, padding, dilation, and
/// the input's spatial size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub input: (usize, usize),
}

impl ConvGeom {
    /// Output spatial size of a geometry that [`ConvGeom::checked_output`] accepted.
    pub fn output(&self) -> (usize, usize) {
        self.checked_output().unwrap_or((0, 0))
    }

    /// Output spatial size, or `None` when the window does not fit the padded input (or the
    /// geometry has a zero kernel, stride or dilation, or overflows).
    pub fn checked_output(&self) -> Option<(usize, usize)> {
        let o = |i: usize, k: usize, s: usize, p: usize, d: usize| -> Option<usize> {
            let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
            let padded = i.checked_add(p.checked_mul(2)?)?;
            (s > 0 && padded >= span).then(|| (padded - span) / s + 1)
        };
        Some((
            o(self.input.0, self.kernel.0, self.stride.0, self.padding.0, self.dilation.0)?,
            o(self.input.1, self.kernel.1, self.stride.1, self.padding.1, self.dilation.1)?,
        ))
    }
}

/// `Some(f()?)` when `cond`, else `None` (a gradient computed only when an input needs it).
pub(crate) fn when(cond: bool, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    cond.then(f).transpose()
}

/// The error of a rule for an op without a derivative (PyTorch's message).
#[track_caller]
pub(crate) fn no_derivative(op: &str) -> crate::Error {
    crate::Error::autograd("backward", format!("derivative for {op} is not implemented"))
}

/// The error of a rule whose derivative for one input PyTorch leaves unimplemented (its
/// `not_implemented(...)` in `derivatives.yaml`; a `NotImplementedError` in Python).
#[track_caller]
pub(crate) fn not_implemented(what: &str) -> crate::Error {
    crate::Error::unsupported("backward", format!("the derivative for '{what}' is not implemented."))
}

/// `shape` with each of `dims` set to 1.
fn keep_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    for &d in dims {
        s[d] = 1;
    }
    s
}

/// Whether the last two dims of `t` are laid out column-major (a transposed contiguous matrix).
fn is_transposed(t: &Tensor) -> bool {
    let (n, s) = (t.dim(), t.strides());
    if n < 2 {
        return false;
    }
    let (rows, cols) = (t.shape()[n - 2], t.shape()[n - 1]);
    rows > 1 && cols > 1 && s[n - 2] == 1 && s[n - 1] == rows
}

op_table! {
    /// `where(cond, a, b)`; inputs are `a` and `b`.
    Where(cond: Tensor) {
        saves: [],
        backward: |st, g, need| {
            let z = Tensor::zeros(&[], g.dtype())?;
            Ok(vec![
                when(need(0), || Tensor::where_cond(cond, g, &z))?,
                when(need(1), || Tensor::where_cond(cond, &z, g))?,
            ])
        },
        tests: ["where", "masked_fill", "tril", "triu1"],
    }
    /// Sum over `dims`.
    Sum(dims: Vec<usize>, keepdim: bool) {
        saves: [],
        backward: |st, g, need| {
            let in_shape = st.input_shape(0);
            let g = if *keepdim { g.clone() } else { g.reshape_to(&keep_shape(in_shape, dims))? };
            Ok(vec![Some(g.expand_to(in_shape)?)])
        },
        tests: ["sum", "sum_dim1", "sum_dim0_keep", "sum_3d_dims", "sum_empty"],
    }
    /// `max_dim`/`min_dim` values; the gradient flows to the chosen `indices`.
    SelectDim(dim: usize, keepdim: bool, indices: Tensor) {
        saves: [],
        backward: |st, g, need| {
            let in_shape = st.input_shape(0);
            let (g, idx) = if *keepdim {
                (g.clone(), indices.clone())
            } else {
                let ks = keep_shape(in_shape, &[*dim]);
                (g.reshape_to(&ks)?, indices.reshape_to(&ks)?)
            };
            Ok(vec![Some(Tensor::zeros_scatter_add(in_shape, *dim, &idx, &g)?)])
        },
        tests: ["max_dim1", "min_dim0_keep"],
    }
    /// Product over `dim`.
    Prod(dim: usize, keepdim: bool) {
        saves: [a = input(0), out = output],
        backward: |st, g, need| {
            let in_shape = st.input_shape(0);
            let ks = keep_shape(in_shape, &[*dim]);
            let (g, out) = if *keepdim { (g.clone(), out) } else { (g.reshape_to(&ks)?, out.reshape_to(&ks)?) };
            // Product of the other elements, exact when the slice holds zeros: out / a where
            // a != 0; the product of the non-zeros where a is the only zero; 0 otherwise.
            let zero = a.eq_scalar(0.0)?;
            let nz = zero.to_dtype(a.dtype())?.sum_dims(&[*dim], true)?;
            let safe = Tensor::where_cond(&zero, &Tensor::ones_like(&a)?, &a)?;
            let prod_nonzero = safe.prod_u(*dim, true)?;
            let only_zero = nz.eq_scalar(1.0)?.to_dtype(a.dtype())?;
            let others =
                Tensor::where_cond(&zero, &prod_nonzero.mul(&only_zero)?.expand_to(in_shape)?, &out.div(&safe)?)?;
            Ok(vec![Some(g.mul(&others)?)])
        },
        tests: ["prod_dim1", "prod_with_zero"],
    }
    /// Cumulative sum over `dim`.
    Cumsum(dim: usize) {
        saves: [],
        backward: |st, g, need| {
            // Reverse cumulative sum: sum_{j >= i} g_j = total - cumsum(g)_i + g_i.
            let total = g.sum_dims(&[*dim], true)?;
            Ok(vec![Some(total.sub(&g.cumsum_u(*dim)?)?.add(g)?)])
        },
        tests: ["cumsum1", "cumsum0"],
    }
    /// Softmax over `dim`.
    Softmax(dim: usize) {
        saves: [y = output],
        backward: |st, g, need| {
            if let Some(dx) = crate::fused::softmax_backward_last(&y, g, *dim, false)? {
                return Ok(vec![Some(dx)]);
            }
            let gy = g.mul(&y)?;
            Ok(vec![Some(gy.sub(&y.mul(&gy.sum_dims(&[*dim], true)?)?)?)])
        },
        tests: ["softmax1", "softmax0", "softmax_scalar"],
    }
    /// Log-softmax over `dim`.
    LogSoftmax(dim: usize) {
        saves: [y = output],
        backward: |st, g, need| {
            if let Some(dx) = crate::fused::softmax_backward_last(&y, g, *dim, true)? {
                return Ok(vec![Some(dx)]);
            }
            Ok(vec![Some(g.sub(&y.exp()?.mul(&g.sum_dims(&[*dim], true)?)?)?)])
        },
        tests: ["log_softmax_last"],
    }
    /// A view with a new shape.
    Reshape {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.reshape_to(st.input_shape(0))?)]),
        tests: ["reshape", "flatten", "unsqueeze_squeeze", "select"],
    }
    /// A view with dims reordered.
    Permute(perm: Vec<usize>) {
        saves: [],
        backward: |st, g, need| {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            Ok(vec![Some(g.permute_u(&inv)?)])
        },
        tests: ["permute", "transpose", "t"],
    }
    /// A broadcast view.
    Expand {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.sum_to_shape(st.input_shape(0))?)]),
        tests: ["expand", "add_empty"],
    }
    /// A view of every `step`-th element from `start` along `dim`.
    Slice(dim: usize, start: usize, step: usize) {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.slice_backward(st.input_shape(0), *dim, *start, *step)?)]),
        tests: ["narrow", "slice_step", "select", "split", "chunk"],
    }
    /// Zeros of the input's parent shape with the input written at a slice (adjoint of
    /// `Slice`); `full` is the parent shape.
    SliceBackward(dim: usize, start: usize, step: usize, full: Vec<usize>) {
        saves: [],
        backward: |st, g, need| {
            let len = st.input_shape(0)[*dim];
            Ok(vec![Some(g.slice_u(*dim, *start, len, *step)?)])
        },
        tests: ["slice_step", "narrow"],
    }
    /// A view of the diagonal of the `d1` x `d2` planes from `(r0, c0)`, as a new last dim.
    Diagonal(d1: usize, d2: usize, r0: usize, c0: usize) {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.diagonal_backward(st.input_shape(0), *d1, *d2, *r0, *c0)?)]),
        tests: ["diagonal", "diagonal_3d", "diagonal_exp", "trace"],
    }
    /// Zeros of the parent shape `full` with the input written on a diagonal (adjoint of
    /// `Diagonal`).
    DiagonalBackward(d1: usize, d2: usize, r0: usize, c0: usize, full: Vec<usize>) {
        saves: [],
        backward: |st, g, need| {
            let len = *st.input_shape(0).last().unwrap_or(&0);
            Ok(vec![Some(g.diagonal_u(*d1, *d2, *r0, *c0, len))])
        },
        tests: ["diagonal_exp"],
    }
    /// A view of `size`-long windows every `step` along `dim`, as a new last dim
    /// (`Tensor.unfold`); overlapping windows sum their gradients.
    Unfold(dim: usize, size: usize, step: usize) {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.unfold_backward(st.input_shape(0), *dim, *size, *step)?)]),
        tests: ["unfold_overlap", "unfold_gaps"],
    }
    /// A contiguous copy.
    Contiguous {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.clone())]),
        tests: ["contiguous"],
    }
    /// A dtype conversion.
    ToDtype {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.to_dtype(st.input_dtype(0))?)]),
        tests: ["to_dtype"],
    }
    /// Concatenation along `dim`.
    Cat(dim: usize) {
        saves: [],
        backward: |st, g, need| {
            let mut start = 0;
            let mut out = Vec::with_capacity(st.num_inputs());
            for i in 0..st.num_inputs() {
                let len = st.input_shape(i)[*dim];
                out.push(when(need(i), || g.slice_u(*dim, start, len, 1))?);
                start += len;
            }
            Ok(out)
        },
        tests: ["cat", "stack", "split", "chunk"],
    }
    /// Rows `index` along `dim`.
    IndexSelect(dim: usize, index: Tensor) {
        saves: [],
        backward: |st, g, need| {
            Ok(vec![Some(Tensor::zeros(st.input_shape(0), g.dtype())?.index_add_u(*dim, index, g)?)])
        },
        tests: ["index_select", "take"],
    }
    /// `base.index_add(dim, index, src)`; inputs are base and src.
    IndexAdd(dim: usize, index: Tensor) {
        saves: [],
        backward: |st, g, need| Ok(vec![need(0).then(|| g.clone()), when(need(1), || g.index_select_u(*dim, index))?]),
        tests: ["index_add"],
    }
    /// `gather(dim, index)`.
    Gather(dim: usize, index: Tensor) {
        saves: [],
        backward: |st, g, need| {
            Ok(vec![Some(Tensor::zeros_scatter_add(st.input_shape(0), *dim, index, g)?)])
        },
        tests: ["gather", "sort_dim1", "topk3", "kthvalue2", "median_dim1", "cummax1", "take_along_dim", "median_all"],
    }
    /// `base.scatter_add(dim, index, src)`; inputs are base and src.
    ScatterAdd(dim: usize, index: Tensor) {
        saves: [],
        backward: |st, g, need| Ok(vec![need(0).then(|| g.clone()), when(need(1), || g.gather_u(*dim, index))?]),
        tests: ["scatter_add"],
    }
    /// `base` (1-D) with `values` written at `index` (`put_u`); inputs are base and values.
    IndexPut(index: Tensor) {
        saves: [],
        backward: |st, g, need| {
            let zeros = Tensor::zeros(&[], g.dtype())?.expand_to(&[index.numel()])?;
            Ok(vec![when(need(0), || g.put_u(index, &zeros))?, when(need(1), || g.index_select_u(0, index))?])
        },
        tests: ["index_put"],
    }
    /// Batched matrix product of same-batch operands.
    Matmul {
        saves: [a = input(0), b = input(1)],
        backward: |st, g, need| {
            // Each gradient is computed in its input's memory order: for a transposed operand
            // (a Linear weight used as `w.t()`), `dB = (G^T A)^T` is the same product written
            // column-major, so the transpose's backward hands the parameter a contiguous
            // gradient instead of a strided one that `.grad` would have to copy.
            Ok(vec![
                when(need(0), || match is_transposed(&a) {
                    true => b.matmul_prim(&g.transpose_last()?)?.transpose_last(),
                    false => g.matmul_prim(&b.transpose_last()?),
                })?,
                when(need(1), || match is_transposed(&b) {
                    true => g.transpose_last()?.matmul_prim(&a)?.transpose_last(),
                    false => a.transpose_last()?.matmul_prim(g),
                })?,
            ])
        },
        tests: ["mm", "mv", "vm", "dot", "bmm", "matmul_broadcast", "matmul_fold", "matmul_transposed"],
    }
    /// `x Wᵀ + b` over the last dim (`nn.Linear`; PyTorch's `addmm`, the bias folded into the
    /// product); inputs `x [.., K]`, `weight [N, K]`, `bias [N]`. `dx = G W`, `dW = Gᵀ x` (rows
    /// of `x` and `G` flattened: contiguous like the weight), `db = Σ_rows G`.
    Linear {
        saves: [x = input(0), w = input(1)],
        backward: |st, g, need| {
            let (n, k) = (w.shape()[0], w.shape()[1]);
            let m: usize = x.shape()[..x.dim() - 1].iter().product();
            let g2 = g.reshape_to(&[m, n])?;
            Ok(vec![
                when(need(0), || g.matmul(&w))?,
                when(need(1), || g2.transpose_last()?.matmul(&x.reshape_to(&[m, k])?))?,
                when(need(2), || g2.sum_dims(&[0], false))?,
            ])
        },
        tests: ["linear", "linear_3d", "linear_1d"],
    }
    /// The inverse of a batch of matrices: `dA = -Y^T G Y^T`.
    Inv {
        saves: [y = output],
        backward: |st, g, need| {
            let yt = y.transpose_last()?;
            Ok(vec![Some(yt.matmul(g)?.matmul(&yt)?.neg()?)])
        },
        tests: ["inv"],
    }
    /// `X` with `A X = B` (same batch shape): `dB = A^-T G`, `dA = -dB X^T`.
    Solve {
        saves: [a = input(0), x = output],
        backward: |st, g, need| {
            let gb = a.transpose_last()?.linalg_solve(g)?;
            let ga = when(need(0), || gb.matmul(&x.transpose_last()?)?.neg())?;
            Ok(vec![ga, Some(gb)])
        },
        tests: ["solve", "solve_vector"],
    }
    /// Determinants: `dA = g det A^-T` (an error for singular A, where PyTorch switches to an SVD).
    Det {
        saves: [a = input(0), d = output],
        backward: |st, g, need| {
            let s = g.mul(&d)?.unsqueeze(-1)?.unsqueeze(-1)?;
            Ok(vec![Some(s.mul(&a.inv()?.transpose_last()?)?)])
        },
        tests: ["det"],
    }
    /// `log |det A|` (slogdet's second output): `dA = g A^-T`.
    LogAbsDet {
        saves: [a = input(0)],
        backward: |st, g, need| {
            let s = g.unsqueeze(-1)?.unsqueeze(-1)?;
            Ok(vec![Some(s.mul(&a.inv()?.transpose_last()?)?)])
        },
        tests: ["slogdet"],
    }
    /// Lower Cholesky factors: `S = L^-T Phi(L^T G) L^-1`, `dA = (S + S^T) / 2`, where `Phi`
    /// keeps the lower triangle and halves the diagonal.
    Cholesky {
        saves: [l = output],
        backward: |st, g, need| {
            let lt = l.transpose_last()?;
            let p = lt.matmul(g)?.tril(0)?;
            let n = p.shape()[p.dim() - 1];
            let half = Tensor::eye(n, p.dtype())?.mul_scalar(-0.5)?.add_scalar(1.0)?;
            let phi = p.mul(&half)?;
            let li = l.inv()?;
            let s = li.transpose_last()?.matmul(&phi)?.matmul(&li)?;
            Ok(vec![Some(s.add(&s.transpose_last()?)?.mul_scalar(0.5)?)])
        },
        tests: ["cholesky"],
    }
    /// `X` with `A X = B` for triangular A: `dB = A^-T G` (the other triangle), `dA = -dB X^T`
    /// restricted to A's triangle (strictly, when the diagonal is taken as ones).
    SolveTriangular(upper: bool, unit: bool) {
        saves: [a = input(0), x = output],
        backward: |st, g, need| {
            let gb = a.transpose_last()?.solve_triangular(g, !*upper, true, *unit)?;
            let ga = when(need(0), || {
                let ga = gb.matmul(&x.transpose_last()?)?.neg()?;
                match *upper {
                    true => ga.triu(*unit as isize),
                    false => ga.tril(-(*unit as isize)),
                }
            })?;
            Ok(vec![ga, Some(gb)])
        },
        tests: ["solve_triangular_upper", "solve_triangular_lower_unit", "solve_triangular_right"],
    }
    /// LU with partial pivoting, packed, with its LAPACK row swaps (`tensor/lu.rs`):
    /// PyTorch's `linalg_lu_backward`.
    LuFactor(m: usize, n: usize, pivots: Tensor) {
        saves: [lu = output],
        backward: |st, g, need| Ok(vec![Some(Tensor::lu_factor_backward(&lu, pivots, g, *m, *n)?)]),
        tests: ["lu_factor_square", "lu_factor_wide", "lu_factor_tall", "lu_solve", "lu_solve_adjoint_right"],
    }
    /// QR, packed `[Q | R]` (`tensor/spectral.rs`): PyTorch's `linalg_qr_backward`.
    Qr(m: usize, n: usize, complete: bool) {
        saves: [p = output],
        backward: |st, g, need| Ok(vec![Some(Tensor::qr_backward(&p, g, *m, *n, *complete)?)]),
        tests: ["qr_tall", "qr_wide", "lstsq_tall"],
    }
    /// SVD, packed `[U | S | Vh]`: PyTorch's `svd_backward` (distinct singular values).
    Svd(m: usize, n: usize, full: bool) {
        saves: [p = output],
        backward: |st, g, need| Ok(vec![Some(Tensor::svd_backward(&p, g, *m, *n, *full)?)]),
        tests: ["svdvals", "svd_uvh_tall", "svd_u_wide", "svd_full"],
    }
    /// Symmetric eigendecomposition, packed `[L | V]`: PyTorch's `linalg_eig_backward`
    /// (Hermitian case; distinct eigenvalues).
    Eigh(n: usize) {
        saves: [p = output],
        backward: |st, g, need| Ok(vec![Some(Tensor::eigh_backward(&p, g, *n)?)]),
        tests: ["eigvalsh", "eigh_vectors"],
    }
    /// `S @ D` for a sparse COO matrix (`crate::sparse`): inputs the values and `D`.
    SparseMm(pattern: Arc<crate::sparse::Pattern>) {
        saves: [v = input(0), d = input(1)],
        backward: |st, g, need| Tensor::sparse_mm_backward(pattern, &v, &d, g, [need(0), need(1)]),
        tests: ["sparse_mm", "sparse_mm_vector"],
    }
    /// Sliding-window patches of a `[N, C, H, W]` image (conv2d as a matmul).
    Im2col(geom: ConvGeom) {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.col2im(*geom)?)]),
        tests: ["unfold2d"],
    }
    /// The adjoint of `Im2col`: patches summed back into an image.
    Col2im(geom: ConvGeom) {
        saves: [],
        backward: |st, g, need| Ok(vec![Some(g.im2col(*geom)?)]),
        tests: ["fold2d"],
    }
    /// An op whose backward is a user function (`autograd::custom`); `name` prints as its
    /// `grad_fn`. What the function needs, it saved itself.
    Custom(name: &'static str, f: Arc<CustomBackward>) {
        name: name,
        saves: [],
        backward: |st, g, need| {
            let grads = f(g)?;
            if grads.len() != st.num_inputs() {
                return Err(crate::Error::autograd(
                    "backward",
                    format!("function {name}Backward returned {} gradients, expected {}", grads.len(), st.num_inputs()),
                ));
            }
            Ok(grads.into_iter().enumerate().map(|(i, gi)| gi.filter(|_| need(i))).collect())
        },
        tests: ["custom_function"],
    }
    /// A checkpointed segment: activations are recomputed in backward.
    Checkpoint(f: Arc<CheckpointFn>) {
        saves: [xs = inputs],
        backward: |st, g, need| {
            let needs: Vec<bool> = (0..xs.len()).map(need).collect();
            crate::autograd::checkpoint::backward(f, &xs, g, &needs)
        },
        tests: ["checkpoint"],
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
