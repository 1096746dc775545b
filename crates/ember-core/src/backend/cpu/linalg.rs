//! Dense factorisations on `faer` (not hand-written): LU with partial pivoting for `inv`,
//! `solve` and `det`, Cholesky, and triangular solves. Inputs are batches of row-major
//! matrices (`[batch, n, n]` flattened) in f32 or f64 (the tensor layer computes half types in
//! f32, as PyTorch's CPU path does); the tensor layer checks shapes first. A singular matrix (an
//! exactly zero pivot) or a non-positive-definite one is reported with its batch index, as
//! PyTorch's messages do.
//!
//! Parallelism: many small matrices run one per thread; one matrix runs on one thread (faer's
//! parallel kernels measured slower, see `for_each_matrix`).

use crate::dtype::Element;
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{MatMut, MatRef, Par, Side};
use rayon::prelude::*;

/// The element types faer factorises here.
pub trait Real: faer::traits::RealField + Element {}
impl Real for f32 {}
impl Real for f64 {}

/// Why a batch element failed: its index, and the 1-based position of the failing pivot.
pub struct Failed {
    pub batch: usize,
    pub pivot: usize,
}

pub(super) fn view<T: Real>(a: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(a, rows, cols)
}

pub(super) fn view_mut<T: Real>(a: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::from_row_major_slice_mut(a, rows, cols)
}

/// Copies `m` into `out` (row-major, `m.nrows() * m.ncols()` elements).
pub(super) fn write<T: Real>(out: &mut [T], m: MatRef<'_, T>) {
    let c = m.ncols();
    for i in 0..m.nrows() {
        for j in 0..c {
            out[i * c + j] = m[(i, j)];
        }
    }
}

/// Runs `f(batch_index, input_block, output_block)` over a batch: one matrix per thread when
/// the matrices are small and many, else in order.
pub(super) fn for_each_matrix<T: Real, E: Send>(
    a: &[T],
    in_block: usize,
    out: &mut [T],
    out_block: usize,
    n: usize,
    f: impl Fn(usize, &[T], &mut [T]) -> Result<(), E> + Sync + Send,
) -> Result<(), E> {
    let threads = ember_kernels::num_threads();
    let batch = a.len().checked_div(in_block).unwrap_or(0);
    let small = n < 96 && batch > 1;
    // faer's own parallel kernels were slower than its sequential ones at every size measured
    // (256-1024, 2 cores: solve 1.5-2.8x, svd 1.2x slower), so one matrix runs sequentially.
    faer::set_global_parallelism(Par::Seq);
    if in_block == 0 || out_block == 0 {
        return Ok(());
    }
    if small && threads > 1 {
        a.par_chunks(in_block).zip(out.par_chunks_mut(out_block)).enumerate().try_for_each(|(b, (m, o))| f(b, m, o))
    } else {
        a.chunks(in_block).zip(out.chunks_mut(out_block)).enumerate().try_for_each(|(b, (m, o))| f(b, m, o))
    }
}

/// The first zero pivot of an LU factorisation, 1-based.
fn zero_pivot<T: Real>(u: MatRef<'_, T>) -> Option<usize> {
    (0..u.nrows()).find(|&i| u[(i, i)].to_f64() == 0.0 || !u[(i, i)].to_f64().is_finite()).map(|i| i + 1)
}

/// Inverses of each `n x n` matrix.
pub fn inv<T: Real>(a: &[T], n: usize) -> Result<Vec<T>, Failed> {
    let mut out = vec![T::default(); a.len()];
    for_each_matrix(a, n * n, &mut out, n * n, n, |b, m, o| {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: b, pivot: p });
        }
        write(o, lu.inverse().as_ref());
        Ok(())
    })?;
    Ok(out)
}

/// `X` with `A X = B` for each `n x n` A and `n x k` B.
pub fn solve<T: Real>(a: &[T], b: &[T], n: usize, k: usize) -> Result<Vec<T>, Failed> {
    let mut out = b.to_vec();
    if n == 0 || k == 0 {
        return Ok(out);
    }
    // Pair each A with its B through the batch index (the closure gets A's block).
    for_each_matrix(a, n * n, &mut out, n * k, n, |i, m, o| {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: i, pivot: p });
        }
        lu.solve_in_place(view_mut(o, n, k));
        Ok(())
    })?;
    Ok(out)
}

/// Determinants of each `n x n` matrix (`n > 0`).
pub fn det<T: Real>(a: &[T], n: usize) -> Vec<T> {
    let mut out = vec![T::default(); a.len() / (n * n)];
    let _ = for_each_matrix::<T, ()>(a, n * n, &mut out, 1, n, |_, m, o| {
        o[0] = view(m, n, n).determinant();
        Ok(())
    });
    out
}

/// Lower Cholesky factors of each symmetric positive-definite `n x n` matrix (the lower
/// triangle is read, as PyTorch's).
pub fn cholesky<T: Real>(a: &[T], n: usize) -> Result<Vec<T>, Failed> {
    let mut out = vec![T::default(); a.len()];
    for_each_matrix(a, n * n, &mut out, n * n, n, |b, m, o| {
        let llt = view(m, n, n).llt(Side::Lower).map_err(|e| Failed {
            batch: b,
            pivot: match e {
                faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => index + 1,
            },
        })?;
        let l = llt.L();
        for i in 0..n {
            for j in 0..=i {
                o[i * n + j] = l[(i, j)];
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// `X` with `A X = B` for triangular `n x n` A (`upper`, or lower; `unit`: the diagonal is
/// taken as ones) and `n x k` B. Only A's triangle is read. A zero on the diagonal gives
/// inf/NaN, as LAPACK's `trtrs` without its check (PyTorch's `solve_triangular` does the same).
pub fn solve_triangular<T: Real>(a: &[T], b: &[T], n: usize, k: usize, upper: bool, unit: bool) -> Vec<T> {
    let mut out = b.to_vec();
    if n == 0 || k == 0 {
        return out;
    }
    let _ = for_each_matrix::<T, ()>(a, n * n, &mut out, n * k, n, |_, m, o| {
        let (tri, rhs) = (view(m, n, n), view_mut(o, n, k));
        let par = faer::get_global_parallelism();
        use faer::linalg::triangular_solve as ts;
        match (upper, unit) {
            (true, false) => ts::solve_upper_triangular_in_place(tri, rhs, par),
            (true, true) => ts::solve_unit_upper_triangular_in_place(tri, rhs, par),
            (false, false) => ts::solve_lower_triangular_in_place(tri, rhs, par),
            (false, true) => ts::solve_unit_lower_triangular_in_place(tri, rhs, par),
        }
        Ok(())
    });
    out
}
