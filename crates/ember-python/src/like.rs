//! Tensors made like another one (`type_as`, `new_zeros`, `new_ones`, `new_empty`, `new_full`,
//! `new_tensor`): the source's dtype unless one is given.

use crate::args::{to_usizes, varargs_sizes};
use crate::dtype::opt_dtype;
use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

type R = PyResult<PyTensor>;

fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

#[pymethods]
impl PyTensor {
    fn type_as(&self, other: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.to_dtype(other.t.dtype()))
    }

    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_zeros(
        &self,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        self.new_filled(size, 0.0, dtype, device, requires_grad)
    }

    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_ones(
        &self,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        self.new_filled(size, 1.0, dtype, device, requires_grad)
    }

    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_empty(
        &self,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        self.new_filled(size, 0.0, dtype, device, requires_grad)
    }

    #[pyo3(signature = (size, fill_value, *, dtype=None, device=None, requires_grad=false))]
    fn new_full(
        &self,
        size: &Bound<'_, PyAny>,
        fill_value: f64,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        let t = PyTuple::new(size.py(), [size])?;
        self.new_filled(&t, fill_value, dtype, device, requires_grad)
    }

    #[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false))]
    fn new_tensor(
        &self,
        data: &Bound<'_, PyAny>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        crate::dtype::check_device(device)?;
        let d = opt_dtype(dtype)?.unwrap_or(self.t.dtype());
        let t = crate::convert::tensor_from_py(data, Some(d))?;
        wrap(t.set_requires_grad(requires_grad))
    }
}

impl PyTensor {
    fn new_filled(
        &self,
        size: &Bound<'_, PyTuple>,
        value: f64,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> R {
        crate::dtype::check_device(device)?;
        let shape = to_usizes(&varargs_sizes(size, "size")?, "new_full")?;
        let d = opt_dtype(dtype)?.unwrap_or(self.t.dtype());
        wrap(Tensor::full(&shape, value, d).and_then(|t| t.set_requires_grad(requires_grad)))
    }
}
