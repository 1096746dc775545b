//! NumPy interop: `tensor.numpy()` returns an array over the tensor's own buffer (writes show in
//! both, as in PyTorch), kept alive by the tensor; `__array__` follows NumPy 2's `copy=`
//! protocol; `ember.from_numpy` copies the array's data (Ember's storage owns its buffers, so
//! it cannot yet adopt NumPy's; PyTorch shares).

#![allow(unsafe_code)]

use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use ndarray::{ArrayView, IxDyn, ShapeBuilder};
use numpy::{Element, PyArray, PyUntypedArray};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;

/// An array viewing `t`'s elements in place, with `owner` (the Python tensor) as its base.
fn view_of<'py, T: Element>(t: &Tensor, owner: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let shape: Vec<usize> = t.shape().to_vec();
    let strides: Vec<usize> = t.strides().to_vec();
    let ptr = t.data_ptr() as *const T;
    // SAFETY: `ptr` is the address of the view's first element in the tensor's storage buffer,
    // which holds `t.storage_len()` elements of `T` (the dtype matches `T`, checked by the
    // caller), never moves or reallocates while the storage lives, and every offset the shape
    // and strides reach lies inside it (Layout invariant: views are checked when made). The
    // array's base object is `owner`, the Python tensor holding the storage, so the buffer
    // outlives the array. Aliasing matches PyTorch's `numpy()`: both sides may write.
    let view = unsafe { ArrayView::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&strides)), ptr) };
    // SAFETY: as above, `view` is valid for as long as `owner` lives, which the array ensures.
    let arr = unsafe { PyArray::<T, IxDyn>::borrow_from_array(&view, owner) };
    Ok(arr.into_any())
}

/// `tensor.numpy()`: an array sharing the tensor's memory.
pub fn to_numpy<'py>(slf: &Bound<'py, PyTensor>, force: bool) -> PyResult<Bound<'py, PyAny>> {
    let t = slf.borrow().t.clone();
    if t.requires_grad() && !force {
        return Err(PyRuntimeError::new_err(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
        ));
    }
    let owner = slf.clone().into_any();
    match t.dtype() {
        DType::F32 => view_of::<f32>(&t, owner),
        DType::F64 => view_of::<f64>(&t, owner),
        DType::F16 => view_of::<half::f16>(&t, owner),
        DType::I64 => view_of::<i64>(&t, owner),
        DType::I32 => view_of::<i32>(&t, owner),
        DType::U8 => view_of::<u8>(&t, owner),
        DType::Bool => view_of::<bool>(&t, owner),
        DType::BF16 => Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16")),
    }
}

#[pymethods]
impl PyTensor {
    /// An array sharing this tensor's memory (`force=True` also for tensors that require grad).
    #[pyo3(signature = (*, force=false))]
    fn numpy<'py>(slf: &Bound<'py, Self>, force: bool) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(slf, force)
    }

    /// NumPy's array protocol: `np.asarray(t)` shares memory; `copy=True` copies.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut arr = to_numpy(slf, false)?;
        if let Some(d) = dtype.filter(|d| !d.is_none()) {
            arr = arr.call_method1("astype", (d,))?;
        } else if copy == Some(true) {
            arr = arr.call_method0("copy")?;
        }
        Ok(arr)
    }
}

/// `ember.from_numpy(array)`: a tensor with a copy of the array's data.
#[pyfunction]
pub fn from_numpy(a: &Bound<'_, PyUntypedArray>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(crate::convert::from_numpy_copy(a)?))
}
