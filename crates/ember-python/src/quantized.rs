//! `_C._PackedWeight`: a weight matrix held in int8 (per-row scales) for inference
//! products `x Wᵀ` (`ember_core::fused::PackedWeight`), behind `ember.ao.quantization`'s
//! dynamically quantised `Linear`. Products of more than a few thousand multiply-adds release
//! the GIL.

use crate::args::maybe_detach;
use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::fused::PackedWeight;
use pyo3::prelude::*;

#[pyclass(name = "_PackedWeight", module = "ember._C", frozen)]
pub struct PyPackedWeight {
    w: PackedWeight,
}

#[pymethods]
impl PyPackedWeight {
    /// `w [out, in]` quantised to int8 with one scale per output row (max |w| / 127).
    #[staticmethod]
    fn int8(py: Python<'_>, w: PyRef<'_, PyTensor>) -> PyResult<Self> {
        let t = w.t.clone();
        Ok(PyPackedWeight { w: maybe_detach(py, t.numel(), || PackedWeight::int8(&t)).py()? })
    }

    /// `x Wᵀ` for `x [..., in]`: `[..., out]` (f32). Inference only: an input that requires
    /// grad while grad mode is on is an error.
    fn matmul_t(&self, py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        let x = x.t.clone();
        let [n, _] = self.w.shape();
        let work = x.numel().saturating_mul(n);
        Ok(PyTensor::new(maybe_detach(py, work, || self.w.matmul_t(&x, None)).py()?))
    }

    /// The weight as stored, back in f32 `[out, in]`.
    fn to_tensor(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.w.to_tensor().py()?))
    }

    /// `(out, in)`.
    #[getter]
    fn shape(&self) -> (usize, usize) {
        let [n, k] = self.w.shape();
        (n, k)
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.w.nbytes()
    }
}
