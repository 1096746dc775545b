//! `ember.linalg`'s decompositions (`inv`, `solve`, `det`, `slogdet`, `cholesky`,
//! `solve_triangular`, `qr`, `svd`, `svdvals`, `eigh`, `eigvalsh`, `lstsq`, `pinv`,
//! `matrix_rank`); the Python module `ember/linalg.py` gives them torch's signatures and
//! return types. Large factorisations release the GIL.

use crate::args::maybe_detach;
use crate::errors::IntoPyResult;
use crate::methods::tensors_tuple;
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;

type R = PyResult<PyTensor>;

fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

/// Work estimate of a cubic factorisation, for `maybe_detach`.
fn cubic(t: &Tensor) -> usize {
    let n = t.shape().last().copied().unwrap_or(1);
    t.numel().saturating_mul(n)
}

/// `ember.linalg.inv(A)`.
#[pyfunction]
pub fn _inv(py: Python<'_>, a: PyRef<'_, PyTensor>) -> R {
    let t = a.t.clone();
    wrap(maybe_detach(py, cubic(&t), || t.inv()))
}

/// `ember.linalg.solve(A, B)`.
#[pyfunction]
pub fn _solve(py: Python<'_>, a: PyRef<'_, PyTensor>, b: PyRef<'_, PyTensor>) -> R {
    let (a, b) = (a.t.clone(), b.t.clone());
    wrap(maybe_detach(py, cubic(&a), || a.linalg_solve(&b)))
}

/// `ember.linalg.det(A)`.
#[pyfunction]
pub fn _det(a: PyRef<'_, PyTensor>) -> R {
    wrap(a.t.det())
}

/// `ember.linalg.slogdet(A)` as `(sign, logabsdet)`.
#[pyfunction]
pub fn _slogdet(py: Python<'_>, a: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let (s, l) = a.t.slogdet().py()?;
    tensors_tuple(py, vec![s, l])
}

/// `ember.linalg.cholesky(A, upper=False)`.
#[pyfunction]
#[pyo3(signature = (a, upper=false))]
pub fn _cholesky(a: PyRef<'_, PyTensor>, upper: bool) -> R {
    wrap(a.t.cholesky(upper))
}

/// `ember.linalg.solve_triangular(A, B, *, upper, left=True, unitriangular=False)`.
#[pyfunction]
#[pyo3(signature = (a, b, *, upper, left=true, unitriangular=false))]
pub fn _solve_triangular(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
    upper: bool,
    left: bool,
    unitriangular: bool,
) -> R {
    let (a, b) = (a.t.clone(), b.t.clone());
    wrap(maybe_detach(py, cubic(&a), || a.solve_triangular(&b, upper, left, unitriangular)))
}

/// `ember.linalg.qr(A, mode)` as `(Q, R)`.
#[pyfunction]
pub fn _qr(py: Python<'_>, a: PyRef<'_, PyTensor>, mode: &str) -> PyResult<Py<PyAny>> {
    let a = a.t.clone();
    let (q, r) = maybe_detach(py, cubic(&a), || a.linalg_qr(mode)).py()?;
    tensors_tuple(py, vec![q, r])
}

/// `ember.linalg.svd(A, full_matrices)` as `(U, S, Vh)`.
#[pyfunction]
pub fn _svd(py: Python<'_>, a: PyRef<'_, PyTensor>, full_matrices: bool) -> PyResult<Py<PyAny>> {
    let a = a.t.clone();
    let (u, s, vh) = maybe_detach(py, cubic(&a), || a.linalg_svd(full_matrices)).py()?;
    tensors_tuple(py, vec![u, s, vh])
}

/// `ember.linalg.svdvals(A)`.
#[pyfunction]
pub fn _svdvals(py: Python<'_>, a: PyRef<'_, PyTensor>) -> R {
    let a = a.t.clone();
    wrap(maybe_detach(py, cubic(&a), || a.svdvals()))
}

/// `ember.linalg.eigh(A, UPLO)` as `(L, Q)`.
#[pyfunction]
pub fn _eigh(py: Python<'_>, a: PyRef<'_, PyTensor>, uplo: &str) -> PyResult<Py<PyAny>> {
    let a = a.t.clone();
    let (l, v) = maybe_detach(py, cubic(&a), || a.linalg_eigh(uplo)).py()?;
    tensors_tuple(py, vec![l, v])
}

/// `ember.linalg.eigvalsh(A, UPLO)`.
#[pyfunction]
pub fn _eigvalsh(py: Python<'_>, a: PyRef<'_, PyTensor>, uplo: &str) -> R {
    let a = a.t.clone();
    wrap(maybe_detach(py, cubic(&a), || a.eigvalsh(uplo)))
}

/// The solution of `ember.linalg.lstsq(A, B)`.
#[pyfunction]
pub fn _lstsq(py: Python<'_>, a: PyRef<'_, PyTensor>, b: PyRef<'_, PyTensor>) -> R {
    let (a, b) = (a.t.clone(), b.t.clone());
    wrap(maybe_detach(py, cubic(&a), || a.lstsq(&b)))
}

/// `ember.linalg.pinv(A, atol=, rtol=)` (non-Hermitian path).
#[pyfunction]
#[pyo3(signature = (a, atol=None, rtol=None))]
pub fn _pinv(py: Python<'_>, a: PyRef<'_, PyTensor>, atol: Option<f64>, rtol: Option<f64>) -> R {
    let a = a.t.clone();
    wrap(maybe_detach(py, cubic(&a), || a.pinv(atol, rtol)))
}

/// `ember.linalg.matrix_rank(A, atol=, rtol=)`.
#[pyfunction]
#[pyo3(signature = (a, atol=None, rtol=None))]
pub fn _matrix_rank(py: Python<'_>, a: PyRef<'_, PyTensor>, atol: Option<f64>, rtol: Option<f64>) -> R {
    let a = a.t.clone();
    wrap(maybe_detach(py, cubic(&a), || a.matrix_rank(atol, rtol)))
}

/// `ember.linalg.lu_factor_ex(A, pivot=True)` as `(LU, pivots, info)`.
#[pyfunction]
pub fn _lu_factor_ex(py: Python<'_>, a: PyRef<'_, PyTensor>, pivot: bool) -> PyResult<Py<PyAny>> {
    let a = a.t.clone();
    let (lu, pivots, info) = maybe_detach(py, cubic(&a), || a.linalg_lu_factor_ex(pivot)).py()?;
    tensors_tuple(py, vec![lu, pivots, info])
}

/// `ember.lu_unpack(LU, pivots)` as `(P, L, U)`.
#[pyfunction]
pub fn _lu_unpack(py: Python<'_>, lu: PyRef<'_, PyTensor>, pivots: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let (p, l, u) = Tensor::lu_unpack(&lu.t, &pivots.t).py()?;
    tensors_tuple(py, vec![p, l, u])
}

/// `ember.linalg.lu_solve(LU, pivots, B, *, left=True, adjoint=False)`.
#[pyfunction]
#[pyo3(signature = (lu, pivots, b, *, left=true, adjoint=false))]
pub fn _lu_solve(
    py: Python<'_>,
    lu: PyRef<'_, PyTensor>,
    pivots: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
    left: bool,
    adjoint: bool,
) -> R {
    let (lu, pivots, b) = (lu.t.clone(), pivots.t.clone(), b.t.clone());
    wrap(maybe_detach(py, cubic(&lu), || Tensor::lu_solve(&lu, &pivots, &b, left, adjoint)))
}

/// `ember.linalg.cholesky_ex(A, upper=False)` as `(L, info)`.
#[pyfunction]
pub fn _cholesky_ex(a: PyRef<'_, PyTensor>, upper: bool) -> PyResult<Py<PyAny>> {
    let (l, info) = a.t.cholesky_ex(upper).py()?;
    tensors_tuple(a.py(), vec![l, info])
}
