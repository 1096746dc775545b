//! Whole-tensor comparisons and counting with PyTorch's signatures: `isclose`, `allclose`,
//! `equal`, `bincount`.

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::prelude::*;

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (other, rtol=1e-05, atol=1e-08, equal_nan=false))]
    fn isclose(&self, other: PyRef<'_, PyTensor>, rtol: f64, atol: f64, equal_nan: bool) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.isclose(&other.t, rtol, atol, equal_nan).py()?))
    }

    #[pyo3(signature = (other, rtol=1e-05, atol=1e-08, equal_nan=false))]
    fn allclose(&self, other: PyRef<'_, PyTensor>, rtol: f64, atol: f64, equal_nan: bool) -> PyResult<bool> {
        self.t.allclose(&other.t, rtol, atol, equal_nan).py()
    }

    fn equal(&self, other: PyRef<'_, PyTensor>) -> PyResult<bool> {
        self.t.equal(&other.t).py()
    }

    #[pyo3(signature = (weights=None, minlength=0))]
    fn bincount(&self, weights: Option<PyRef<'_, PyTensor>>, minlength: i64) -> PyResult<PyTensor> {
        let minlength = usize::try_from(minlength)
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("minlength should be >= 0"))?;
        Ok(PyTensor::new(self.t.bincount(weights.as_ref().map(|w| &w.t), minlength).py()?))
    }
}
