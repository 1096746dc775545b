//! Orthogonal decompositions on `faer`: Householder QR, the SVD and the symmetric eigenvalue
//! decomposition, batched like `linalg.rs`. Each writes its factors packed into one row per
//! batch element (`[Q | R]`, `[U | S | Vh]`, `[L | V]`, each factor row-major), which the
//! tensor layer splits into views (one autograd node for all factors).

use super::linalg::{for_each_matrix, view, write, Real};
use faer::Side;

/// The SVD or eigensolver did not converge for this batch element (or was not run, because
/// the matrix holds NaN or infinity).
pub struct NoConvergence {
    pub batch: usize,
    pub non_finite: bool,
}

fn check_finite<T: Real>(x: &[T], batch: usize) -> Result<(), NoConvergence> {
    match x.iter().all(|v| v.to_f64().is_finite()) {
        true => Ok(()),
        false => Err(NoConvergence { batch, non_finite: true }),
    }
}

fn failed(batch: usize) -> NoConvergence {
    NoConvergence { batch, non_finite: false }
}

/// `Q [m, q]` and `R [q, n]` of each `m x n` matrix, with `q = min(m, n)` (reduced) or `m`
/// (complete). `R` has the signs LAPACK's `geqrf` gives (its diagonal may be negative).
pub fn qr<T: Real>(a: &[T], batch: usize, m: usize, n: usize, complete: bool) -> Vec<T> {
    let q = if complete { m } else { m.min(n) };
    let block = m * q + q * n;
    let mut out = vec![T::default(); batch * block];
    if m * n == 0 {
        // Empty factors, except the identity Q of complete mode for an `m x 0` matrix.
        for o in out.chunks_mut(block.max(1)) {
            for i in 0..q.min(m) {
                o[i * q + i] = T::from_f64(1.0);
            }
        }
        return out;
    }
    let _ = for_each_matrix::<T, ()>(a, m * n, &mut out, block, m.max(n), |_, x, o| {
        let f = view(x, m, n).qr();
        let (qm, r) =
            if complete { (f.compute_Q(), f.R().to_owned()) } else { (f.compute_thin_Q(), f.thin_R().to_owned()) };
        write(&mut o[..m * q], qm.as_ref());
        // faer leaves the strictly lower part of R unspecified: keep the upper triangle only.
        let r_out = &mut o[m * q..];
        for i in 0..q {
            for j in 0..n {
                r_out[i * n + j] = if j >= i { r[(i, j)] } else { T::default() };
            }
        }
        Ok(())
    });
    out
}

/// `U [m, p]`, `S [k]`, `Vh [p', n]` of each `m x n` matrix (`k = min(m, n)`; `p = k` and
/// `p' = k` when reduced, `m` and `n` when `full`), singular values in descending order.
/// `uv == false` writes only `S`.
pub fn svd<T: Real>(a: &[T], batch: usize, m: usize, n: usize, full: bool, uv: bool) -> Result<Vec<T>, NoConvergence> {
    let k = m.min(n);
    let (p, pv) = if full { (m, n) } else { (k, k) };
    let block = if uv { m * p + k + pv * n } else { k };
    let mut out = vec![T::default(); batch * block];
    if m * n == 0 {
        if uv && full {
            // The factors of an empty matrix: identities of the non-empty side.
            for o in out.chunks_mut(block.max(1)) {
                for i in 0..m {
                    o[i * m + i] = T::from_f64(1.0);
                }
                for i in 0..n {
                    o[m * m + i * n + i] = T::from_f64(1.0);
                }
            }
        }
        return Ok(out);
    }
    for_each_matrix(a, m * n, &mut out, block, m.max(n), |b, x, o| {
        check_finite(x, b)?;
        let x = view(x, m, n);
        if !uv {
            let s = x.singular_values().map_err(|_| failed(b))?;
            o.copy_from_slice(&s);
            return Ok(());
        }
        let f = if full { x.svd() } else { x.thin_svd() }.map_err(|_| failed(b))?;
        write(&mut o[..m * p], f.U());
        let s = f.S().column_vector();
        for i in 0..k {
            o[m * p + i] = s[i];
        }
        // Vh = V^T.
        write(&mut o[m * p + k..], f.V().transpose());
        Ok(())
    })?;
    Ok(out)
}

/// Eigenvalues `L [n]` (ascending) and, with `vectors`, eigenvectors `V [n, n]` (columns) of
/// each symmetric `n x n` matrix, reading its `lower` (or upper) triangle as PyTorch's `UPLO`.
pub fn eigh<T: Real>(a: &[T], batch: usize, n: usize, lower: bool, vectors: bool) -> Result<Vec<T>, NoConvergence> {
    let block = if vectors { n + n * n } else { n };
    let mut out = vec![T::default(); batch * block];
    if n == 0 {
        return Ok(out);
    }
    let side = if lower { Side::Lower } else { Side::Upper };
    for_each_matrix(a, n * n, &mut out, block, n, |b, x, o| {
        check_finite(x, b)?;
        let x = view(x, n, n);
        if !vectors {
            let l = x.self_adjoint_eigenvalues(side).map_err(|_| failed(b))?;
            o.copy_from_slice(&l);
            return Ok(());
        }
        let e = x.self_adjoint_eigen(side).map_err(|_| failed(b))?;
        let l = e.S().column_vector();
        for i in 0..n {
            o[i] = l[i];
        }
        write(&mut o[n..], e.U());
        Ok(())
    })?;
    Ok(out)
}
