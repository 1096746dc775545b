//! Dense decompositions on `faer` (not hand-written): LU with partial pivoting for `inv`,
//! `solve` and `det`, and Cholesky. Inputs are batches of square row-major f64 matrices
//! (`[batch, n, n]` flattened); the tensor layer converts dtypes and checks shapes first.
//! A singular matrix (an exactly zero pivot) or a non-positive-definite one is reported with
//! its batch index, as PyTorch's messages do.

use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, MatRef, Side};

/// Why a batch element failed: its index, and the 1-based position of the failing pivot.
pub struct Failed {
    pub batch: usize,
    pub pivot: usize,
}

fn view(a: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(a, rows, cols)
}

fn push_row_major(out: &mut Vec<f64>, m: MatRef<'_, f64>) {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
}

/// The first zero pivot of an LU factorisation, 1-based.
fn zero_pivot(u: MatRef<'_, f64>) -> Option<usize> {
    (0..u.nrows()).find(|&i| u[(i, i)] == 0.0 || !u[(i, i)].is_finite()).map(|i| i + 1)
}

/// Inverses of each `n x n` matrix.
pub fn inv(a: &[f64], n: usize) -> Result<Vec<f64>, Failed> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(a.len());
    for (b, m) in a.chunks(n * n).enumerate() {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: b, pivot: p });
        }
        push_row_major(&mut out, lu.inverse().as_ref());
    }
    Ok(out)
}

/// `X` with `A X = B` for each `n x n` A and `n x k` B.
pub fn solve(a: &[f64], b: &[f64], n: usize, k: usize) -> Result<Vec<f64>, Failed> {
    if n == 0 || k == 0 {
        return Ok(vec![0.0; b.len()]);
    }
    let mut out = Vec::with_capacity(b.len());
    for (i, (m, r)) in a.chunks(n * n).zip(b.chunks(n * k)).enumerate() {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: i, pivot: p });
        }
        let x: Mat<f64> = lu.solve(view(r, n, k));
        push_row_major(&mut out, x.as_ref());
    }
    Ok(out)
}

/// Determinants of each `n x n` matrix (`n > 0`).
pub fn det(a: &[f64], n: usize) -> Vec<f64> {
    a.chunks(n * n).map(|m| view(m, n, n).determinant()).collect()
}

/// Lower Cholesky factors of each symmetric positive-definite `n x n` matrix (the lower
/// triangle is read, as PyTorch's).
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, Failed> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(a.len());
    for (b, m) in a.chunks(n * n).enumerate() {
        let llt = view(m, n, n).llt(Side::Lower).map_err(|e| Failed {
            batch: b,
            pivot: match e {
                faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => index + 1,
            },
        })?;
        let l = llt.L();
        for i in 0..n {
            for j in 0..n {
                out.push(if j <= i { l[(i, j)] } else { 0.0 });
            }
        }
    }
    Ok(out)
}
