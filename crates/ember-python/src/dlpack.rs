//! DLPack, the array-exchange protocol of NumPy, PyTorch, JAX and CuPy: `tensor.__dlpack__()`
//! hands out a capsule describing the tensor's memory (kept alive until the consumer calls the
//! deleter), `tensor.__dlpack_device__()` says it is on the CPU, and `ember.from_dlpack(x)`
//! adopts another library's memory without a copy.
//!
//! The C structs are DLPack's ABI, declared here because it is a handful of `repr(C)` structs:
//! DLPack 1.0's versioned form (`"dltensor_versioned"`, with flags; NumPy marks arrays from
//! unversioned capsules read-only) when the consumer asks with `max_version >= (1, 0)`, the
//! legacy form (`"dltensor"`) otherwise. A consumed capsule is renamed `"used_..."`, as the
//! protocol says. Bool data is copied on import (another library may hold
//! bytes other than 0 and 1, which Rust's `bool` may never see).

#![allow(unsafe_code)]

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use pyo3::exceptions::{PyBufferError, PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{c_void, CStr};
use std::ptr::NonNull;

const NAME: &CStr = c"dltensor";
const USED: &CStr = c"used_dltensor";
const NAME_V: &CStr = c"dltensor_versioned";
const USED_V: &CStr = c"used_dltensor_versioned";
/// DLPack 1.0's flag for memory the consumer must not write.
const READ_ONLY: u64 = 1;
const CPU: i32 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

// DLPack's type codes.
const INT: u8 = 0;
const UINT: u8 = 1;
const FLOAT: u8 = 2;
const BFLOAT: u8 = 4;
const BOOL: u8 = 6;

fn dl_dtype(d: DType) -> DLDataType {
    let (code, bits) = match d {
        DType::F32 => (FLOAT, 32),
        DType::F64 => (FLOAT, 64),
        DType::F16 => (FLOAT, 16),
        DType::BF16 => (BFLOAT, 16),
        DType::I64 => (INT, 64),
        DType::I32 => (INT, 32),
        DType::U8 => (UINT, 8),
        DType::I8 => (INT, 8),
        DType::I16 => (INT, 16),
        DType::Bool => (BOOL, 8),
    };
    DLDataType { code, bits, lanes: 1 }
}

fn ember_dtype(t: DLDataType) -> Option<DType> {
    Some(match (t.code, t.bits, t.lanes) {
        (FLOAT, 32, 1) => DType::F32,
        (FLOAT, 64, 1) => DType::F64,
        (FLOAT, 16, 1) => DType::F16,
        (BFLOAT, 16, 1) => DType::BF16,
        (INT, 64, 1) => DType::I64,
        (INT, 32, 1) => DType::I32,
        (UINT, 8, 1) => DType::U8,
        (INT, 8, 1) => DType::I8,
        (INT, 16, 1) => DType::I16,
        (BOOL, 8, 1) => DType::Bool,
        _ => return None,
    })
}

/// What an exported capsule owns: the struct the consumer sees (first, so a pointer to the
/// context is a pointer to it), the tensor keeping the memory alive, and the shape arrays.
#[repr(C)]
struct Export<M> {
    managed: M,
    _tensor: Tensor,
    _shape: Vec<i64>,
    _strides: Vec<i64>,
}

unsafe extern "C" fn delete_export<M>(m: *mut M) {
    // SAFETY: `m` came from `Box::into_raw` of an `Export<M>` (its first field, `repr(C)`),
    // and the protocol calls the deleter once.
    drop(unsafe { Box::from_raw(m as *mut Export<M>) });
}

unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython with a live capsule. Only an unconsumed capsule (still named
    // "dltensor"/"dltensor_versioned") owns its tensor; a consumer renamed it and took over
    // the deleter.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(capsule, NAME.as_ptr()) as *mut DLManagedTensor;
            if let Some(del) = (*m).deleter {
                del(m);
            }
        } else if ffi::PyCapsule_IsValid(capsule, NAME_V.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(capsule, NAME_V.as_ptr()) as *mut DLManagedTensorVersioned;
            if let Some(del) = (*m).deleter {
                del(m);
            }
        }
    }
}

/// `tensor.__dlpack__()`: a capsule over this tensor's memory, versioned when asked.
fn export(py: Python<'_>, t: &Tensor, versioned: bool) -> PyResult<Py<PyAny>> {
    if t.requires_grad() {
        return Err(PyRuntimeError::new_err("Can't export tensors that require gradient, use tensor.detach()"));
    }
    let mut shape: Vec<i64> = t.shape().iter().map(|&n| n as i64).collect();
    let mut strides: Vec<i64> = t.strides().iter().map(|&s| s as i64).collect();
    let dl_tensor = DLTensor {
        data: t.data_ptr() as *mut c_void,
        device: DLDevice { device_type: CPU, device_id: 0 },
        ndim: t.dim() as i32,
        dtype: dl_dtype(t.dtype()),
        shape: shape.as_mut_ptr(),
        strides: strides.as_mut_ptr(),
        byte_offset: 0,
    };
    let (tensor, name) = (t.clone(), if versioned { NAME_V } else { NAME });
    // The context pointer is the box's address, which is also the managed struct's (first
    // field); it is filled in once the box exists.
    let ctx: *mut c_void = if versioned {
        let managed = DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 0 },
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(delete_export::<DLManagedTensorVersioned>),
            flags: 0,
            dl_tensor,
        };
        let b = Box::into_raw(Box::new(Export { managed, _tensor: tensor, _shape: shape, _strides: strides }));
        // SAFETY: `b` is a live box just leaked; nothing else references it yet.
        unsafe { (*b).managed.manager_ctx = b as *mut c_void };
        b as *mut c_void
    } else {
        let managed = DLManagedTensor {
            dl_tensor,
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(delete_export::<DLManagedTensor>),
        };
        let b = Box::into_raw(Box::new(Export { managed, _tensor: tensor, _shape: shape, _strides: strides }));
        // SAFETY: as above.
        unsafe { (*b).managed.manager_ctx = b as *mut c_void };
        b as *mut c_void
    };
    // SAFETY: `ctx` is a live, uniquely owned `Export`. Its shape and stride pointers point into
    // vectors it owns (moving a `Vec` keeps its heap buffer), its data pointer into the storage
    // its tensor keeps alive; all are freed together by `delete_export`, called by the
    // consumer or by the capsule's destructor (which checks the name), never both.
    unsafe {
        let cap = ffi::PyCapsule_New(ctx, name.as_ptr(), Some(capsule_destructor));
        if cap.is_null() {
            if versioned {
                delete_export(ctx as *mut DLManagedTensorVersioned);
            } else {
                delete_export(ctx as *mut DLManagedTensor);
            }
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, cap).unbind())
    }
}

/// Calls the producer's deleter when the storage over its memory is dropped.
enum Imported {
    Legacy(NonNull<DLManagedTensor>),
    Versioned(NonNull<DLManagedTensorVersioned>),
}

// SAFETY: the pointer is only used to call the producer's deleter once, from whichever thread
// drops the storage; DLPack deleters are thread-safe (NumPy's and PyTorch's take the GIL).
unsafe impl Send for Imported {}
// SAFETY: shared references never touch the pointer.
unsafe impl Sync for Imported {}

impl Drop for Imported {
    fn drop(&mut self) {
        // SAFETY: the consumer (us) owns the managed tensor since it renamed the capsule, and
        // calls its deleter exactly once, here.
        unsafe {
            match self {
                Imported::Legacy(m) => {
                    if let Some(del) = (*m.as_ptr()).deleter {
                        del(m.as_ptr());
                    }
                }
                Imported::Versioned(m) => {
                    if let Some(del) = (*m.as_ptr()).deleter {
                        del(m.as_ptr());
                    }
                }
            }
        }
    }
}

/// A tensor over the memory a DLPack capsule describes; takes ownership of it.
fn import(capsule: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let cap = capsule.as_ptr();
    // SAFETY: `PyCapsule_IsValid` accepts any object; it checks the type and name. A valid
    // capsule of either name holds the matching managed-tensor pointer (the protocol), which
    // the producer keeps valid until its deleter is called.
    let (owner, dl, read_only, used) = unsafe {
        if ffi::PyCapsule_IsValid(cap, NAME_V.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME_V.as_ptr()) as *mut DLManagedTensorVersioned;
            let Some(m) = NonNull::new(m) else { return Err(PyErr::fetch(capsule.py())) };
            if (*m.as_ptr()).version.major > 1 {
                return Err(PyBufferError::new_err("from_dlpack: DLPack major version above 1 is not supported"));
            }
            let read_only = (*m.as_ptr()).flags & READ_ONLY != 0;
            (Imported::Versioned(m), &(*m.as_ptr()).dl_tensor, read_only, USED_V)
        } else if ffi::PyCapsule_IsValid(cap, NAME.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME.as_ptr()) as *mut DLManagedTensor;
            let Some(m) = NonNull::new(m) else { return Err(PyErr::fetch(capsule.py())) };
            (Imported::Legacy(m), &(*m.as_ptr()).dl_tensor, false, USED)
        } else {
            return Err(PyTypeError::new_err(
                "from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only once, so you might have already constructed a tensor from it once.",
            ));
        }
    };
    // From here on we own the managed tensor: rename the capsule so its destructor leaves it
    // alone; `owner` calls the deleter when the storage (or this function, on error) drops it.
    // SAFETY: `cap` is a live capsule; renaming is how the protocol marks it consumed.
    if unsafe { ffi::PyCapsule_SetName(cap, used.as_ptr()) } != 0 {
        std::mem::forget(owner);
        return Err(PyErr::fetch(capsule.py()));
    }
    if dl.device.device_type != CPU {
        return Err(PyRuntimeError::new_err(format!(
            "from_dlpack: Ember tensors live on the CPU, the given tensor is on DLPack device type {}",
            dl.device.device_type
        )));
    }
    let dtype = ember_dtype(dl.dtype).ok_or_else(|| {
        PyBufferError::new_err(format!(
            "from_dlpack: unsupported DLPack dtype (code {}, bits {}, lanes {})",
            dl.dtype.code, dl.dtype.bits, dl.dtype.lanes
        ))
    })?;
    let ndim = usize::try_from(dl.ndim).map_err(|_| PyBufferError::new_err("from_dlpack: negative ndim"))?;
    // SAFETY: `shape` holds `ndim` sizes, `strides` `ndim` strides or is null (contiguous).
    let shape: Vec<i64> =
        if ndim == 0 { vec![] } else { unsafe { std::slice::from_raw_parts(dl.shape, ndim) }.to_vec() };
    let strides: Option<Vec<i64>> =
        (!dl.strides.is_null() && ndim > 0).then(|| unsafe { std::slice::from_raw_parts(dl.strides, ndim) }.to_vec());
    if shape.iter().any(|&n| n < 0) || strides.as_ref().is_some_and(|s| s.iter().any(|&x| x < 0)) {
        return Err(PyBufferError::new_err("from_dlpack: negative sizes or strides are not supported"));
    }
    let shape: Vec<usize> = shape.iter().map(|&n| n as usize).collect();
    let strides: Vec<usize> = match strides {
        Some(s) => s.iter().map(|&x| x as usize).collect(),
        None => ember::layout::contiguous_strides(&shape),
    };
    let data = (dl.data as usize).wrapping_add(dl.byte_offset as usize);
    let numel = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
    if numel == Some(0) || data == 0 {
        return Tensor::zeros(&shape, dtype).py();
    }
    let copy_after = read_only;
    let span = 1 + shape.iter().zip(&strides).map(|(&n, &s)| (n - 1) * s).sum::<usize>();
    macro_rules! adopt {
        ($t:ty) => {{
            if !data.is_multiple_of(std::mem::align_of::<$t>()) {
                return Err(PyBufferError::new_err("from_dlpack: data is not aligned for its dtype"));
            }
            // SAFETY: the producer guarantees `span` elements of `$t` reachable through its
            // shape and strides from `data` (aligned, checked above), valid until its deleter
            // runs, which only `owner` (dropped with the storage) does.
            let buf = unsafe { ember::Buf::foreign(NonNull::new_unchecked(data as *mut $t), span, Box::new(owner)) };
            Tensor::from_buf(buf, &shape, &strides, 0).py()
        }};
    }
    let t = match dtype {
        DType::F32 => adopt!(f32),
        DType::F64 => adopt!(f64),
        DType::F16 => adopt!(half::f16),
        DType::BF16 => adopt!(half::bf16),
        DType::I64 => adopt!(i64),
        DType::I32 => adopt!(i32),
        DType::U8 => adopt!(u8),
        DType::I8 => adopt!(i8),
        DType::I16 => adopt!(i16),
        DType::Bool => return adopt!(u8)?.to_dtype(DType::Bool).py(),
    }?;
    // Memory the producer marked read-only is copied: Ember's tensors are writable.
    if copy_after {
        return t.deep_clone().py();
    }
    Ok(t)
}

#[pymethods]
impl PyTensor {
    /// DLPack export: a capsule over this tensor's memory (CPU; no copy).
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<&Bound<'_, PyAny>>,
        dl_device: Option<&Bound<'_, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let _ = (stream, dl_device);
        let versioned = match max_version {
            Some(v) if !v.is_none() => v.extract::<(u32, u32)>().map(|(major, _)| major >= 1).unwrap_or(false),
            _ => false,
        };
        if copy == Some(true) {
            return export(py, &self.t.deep_clone().py()?, versioned);
        }
        export(py, &self.t, versioned)
    }

    /// `(device_type, device_id)`: `(1, 0)`, DLPack's CPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (CPU, 0)
    }
}

/// `ember.from_dlpack(x)`: a tensor sharing the memory of `x` (any object with `__dlpack__`,
/// or a `"dltensor"` capsule).
#[pyfunction]
pub fn from_dlpack(ext: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if let Ok(t) = ext.extract::<PyRef<'_, PyTensor>>() {
        return Ok(PyTensor::new(t.t.detach()));
    }
    let capsule = if ext.hasattr("__dlpack__")? {
        // Ask for DLPack 1.0; producers that predate it do not take the keyword.
        let kw = pyo3::types::PyDict::new(ext.py());
        kw.set_item("max_version", (1, 0))?;
        match ext.call_method("__dlpack__", (), Some(&kw)) {
            Ok(c) => c,
            Err(e) if e.is_instance_of::<PyTypeError>(ext.py()) => ext.call_method0("__dlpack__")?,
            Err(e) => return Err(e),
        }
    } else {
        ext.clone()
    };
    Ok(PyTensor::new(import(&capsule)?))
}
