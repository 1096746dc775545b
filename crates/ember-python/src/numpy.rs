//! NumPy interop: `tensor.numpy()` returns an array over the tensor's own buffer (writes show in
//! both, as in PyTorch), kept alive by the tensor; `__array__` follows NumPy 2's `copy=`
//! protocol; `ember.from_numpy` shares the array's memory (the array is kept alive by the
//! tensor's storage), as PyTorch's does.
//!
//! Where sharing would be unsafe, `from_numpy` copies instead of trusting the array: read-only
//! arrays (PyTorch shares them with a warning, and a write then crashes the interpreter),
//! misaligned ones, and bool arrays (NumPy can hold bytes other than 0 and 1 under a bool
//! view, which Rust's `bool` may never see).

#![allow(unsafe_code)]

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use ndarray::{ArrayView, IxDyn, ShapeBuilder};
use numpy::{Element, PyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
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
        DType::I8 => view_of::<i8>(&t, owner),
        DType::I16 => view_of::<i16>(&t, owner),
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

/// A tensor over the array's own memory, or `None` when it cannot be shared safely.
fn share<T: Element + ember::Element>(a: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Tensor>> {
    let Ok(x) = a.cast::<PyArrayDyn<T>>() else { return Ok(None) };
    let item = std::mem::size_of::<T>() as isize;
    if x.strides().iter().any(|&s| s < 0) {
        return Err(PyValueError::new_err(
            "At least one stride in the given numpy array is negative, and tensors with negative strides are not currently supported. (You can probably work around this by making a copy of your array  with array.copy().) ",
        ));
    }
    if x.strides().iter().any(|&s| s % item != 0) {
        return Err(PyValueError::new_err(
            "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.",
        ));
    }
    let ptr = x.data();
    // A read-write borrow succeeds only for writeable arrays (it is released at once).
    if x.try_readwrite().is_err() || x.len() == 0 || !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Ok(None);
    }
    let Some(ptr) = std::ptr::NonNull::new(ptr) else { return Ok(None) };
    let shape = x.shape().to_vec();
    let strides: Vec<usize> = x.strides().iter().map(|&s| (s / item) as usize).collect();
    // Elements from the first to the last one the array reaches.
    let span = 1 + shape.iter().zip(&strides).map(|(&n, &s)| (n - 1) * s).sum::<usize>();
    let owner: ember::storage::buf::Owner = Box::new(x.clone().into_any().unbind());
    // SAFETY: `ptr` is the array's first element, aligned for `T` (checked above); the array
    // is writeable, holds initialised `T`s (its dtype is `T`, checked by the cast) at every
    // offset its shape and non-negative strides reach, the furthest being `span - 1`; the
    // memory stays allocated while the array object lives, which `owner` (a strong reference)
    // guarantees until the storage drops it. Concurrent writes from Python race as with
    // PyTorch's `from_numpy`, whose contract this is.
    let buf = unsafe { ember::Buf::foreign(ptr, span, owner) };
    Ok(Some(Tensor::from_buf(buf, &shape, &strides, 0).py()?))
}

/// `ember.from_numpy(array)`: a tensor sharing the array's memory (see the module notes for
/// the arrays that are copied instead).
#[pyfunction]
pub fn from_numpy(a: &Bound<'_, PyUntypedArray>) -> PyResult<PyTensor> {
    macro_rules! try_share {
        ($($t:ty),*) => {$(
            if let Some(t) = share::<$t>(a)? {
                return Ok(PyTensor::new(t));
            }
        )*};
    }
    try_share!(f32, f64, half::f16, i64, i32, i16, i8, u8);
    Ok(PyTensor::new(crate::convert::from_numpy_copy(a)?))
}

/// A 1-D tensor of `dtype` over the bytes of a writable, contiguous uint8 NumPy array, with no
/// copy: what `frombuffer` and `share_memory_` (an array over a shared `mmap`) build on. The
/// array (and so the memory under it) lives as long as the storage. A bool tensor is only
/// built over bytes that are all 0 or 1.
#[pyfunction]
pub fn _adopt_bytes(a: &Bound<'_, numpy::PyArray1<u8>>, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let Some(dtype) = crate::dtype::opt_dtype(Some(dtype))? else {
        return Err(PyTypeError::new_err("_adopt_bytes: a dtype is required"));
    };
    let item = dtype.size_in_bytes();
    let bytes = a.len();
    if a.strides()[0] != 1 || a.try_readwrite().is_err() {
        return Err(PyValueError::new_err("_adopt_bytes: the array must be contiguous and writeable"));
    }
    if bytes % item != 0 {
        return Err(PyValueError::new_err(format!(
            "buffer length ({bytes} bytes) is not a multiple of the element size ({item} bytes)"
        )));
    }
    let n = bytes / item;
    let ptr = a.data() as usize;
    if n == 0 {
        return Ok(PyTensor::new(Tensor::zeros(&[0], dtype).py()?));
    }
    // Every Ember element type is aligned to its size.
    if !ptr.is_multiple_of(item) {
        return Err(PyValueError::new_err("_adopt_bytes: the memory is not aligned for the dtype"));
    }
    if dtype == DType::Bool {
        // SAFETY: the array's `bytes` initialised bytes start at `ptr` (it is contiguous) and are
        // only read here, while `a` keeps them alive.
        let raw = unsafe { std::slice::from_raw_parts(ptr as *const u8, bytes) };
        if raw.iter().any(|&b| b > 1) {
            return Err(PyValueError::new_err("_adopt_bytes: bool memory must hold only 0 and 1"));
        }
    }
    macro_rules! adopt {
        ($t:ty) => {{
            let owner: ember::storage::buf::Owner = Box::new(a.clone().into_any().unbind());
            // SAFETY: `ptr` is the first of the array's `bytes` contiguous, writeable, initialised
            // bytes, aligned for `$t` (checked above), so it holds `n` valid `$t`s (bools checked
            // to be 0 or 1); the array object, held by `owner` until the storage drops it, keeps
            // the memory mapped. Other processes writing shared memory race as under PyTorch.
            let buf = unsafe { ember::Buf::foreign(std::ptr::NonNull::new_unchecked(ptr as *mut $t), n, owner) };
            Tensor::from_buf(buf, &[n], &[1], 0).py()?
        }};
    }
    let t = match dtype {
        DType::Bool => adopt!(bool),
        DType::U8 => adopt!(u8),
        DType::I8 => adopt!(i8),
        DType::I16 => adopt!(i16),
        DType::I32 => adopt!(i32),
        DType::I64 => adopt!(i64),
        DType::F16 => adopt!(half::f16),
        DType::BF16 => adopt!(half::bf16),
        DType::F32 => adopt!(f32),
        DType::F64 => adopt!(f64),
    };
    Ok(PyTensor::new(t))
}

/// `_move_storage(t, into)`: `t`'s elements moved into `into`'s memory, which becomes `t`'s
/// storage for every view of it (`Tensor::move_storage_into_`).
#[pyfunction]
pub fn _move_storage(t: PyRef<'_, PyTensor>, into: PyRef<'_, PyTensor>) -> PyResult<()> {
    t.t.move_storage_into_(&into.t).py()
}
