//! `ember.dtype` objects (`ember.float32`, ... with PyTorch's aliases), the default dtype, and
//! `ember.device`. Dtypes print as PyTorch's (`torch.float32`), so printed output matches.

use crate::errors::type_error;
use ember::DType;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};
use std::sync::atomic::{AtomicU8, Ordering};

/// A tensor element type (`torch.dtype`).
#[pyclass(name = "dtype", module = "ember", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDType(pub DType);

fn torch_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::U8 => "uint8",
        DType::I8 => "int8",
        DType::I16 => "int16",
        DType::Bool => "bool",
    }
}

const ALL: [DType; 10] = ember::dtype::ALL_DTYPES;

static OBJECTS: pyo3::sync::PyOnceLock<Vec<Py<PyDType>>> = pyo3::sync::PyOnceLock::new();

impl PyDType {
    /// The one Python object of a dtype, so `x.dtype is ember.float32` holds as in PyTorch.
    pub fn object(py: Python<'_>, d: DType) -> PyResult<Py<PyDType>> {
        let all = OBJECTS.get_or_try_init(py, || ALL.iter().map(|&d| Py::new(py, PyDType(d))).collect())?;
        let i = ALL.iter().position(|&x| x == d).unwrap_or(0);
        Ok(all[i].clone_ref(py))
    }

    /// PyTorch's scalar-type name in messages (`Float`, `Long`, ...).
    pub fn scalar_type_name(d: DType) -> &'static str {
        match d {
            DType::F32 => "Float",
            DType::F64 => "Double",
            DType::F16 => "Half",
            DType::BF16 => "BFloat16",
            DType::I64 => "Long",
            DType::I32 => "Int",
            DType::U8 => "Byte",
            DType::I8 => "Char",
            DType::I16 => "Short",
            DType::Bool => "Bool",
        }
    }
}

#[pymethods]
impl PyDType {
    pub fn __repr__(&self) -> String {
        format!("torch.{}", torch_name(self.0))
    }

    /// Whether the dtype is a floating-point type.
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.0.is_float()
    }

    /// Whether the dtype is complex (Ember has no complex dtypes).
    #[getter]
    fn is_complex(&self) -> bool {
        false
    }

    /// Whether the dtype is signed.
    #[getter]
    fn is_signed(&self) -> bool {
        !matches!(self.0, DType::U8 | DType::Bool)
    }

    /// Bytes per element.
    #[getter]
    fn itemsize(&self) -> usize {
        self.0.size_in_bytes()
    }

    fn __reduce__(&self) -> (String,) {
        (torch_name(self.0).to_string(),)
    }
}

/// Every dtype with its module attribute names (PyTorch's aliases included).
pub const NAMES: &[(&str, DType)] = &[
    ("float32", DType::F32),
    ("float", DType::F32),
    ("float64", DType::F64),
    ("double", DType::F64),
    ("float16", DType::F16),
    ("half", DType::F16),
    ("bfloat16", DType::BF16),
    ("int64", DType::I64),
    ("long", DType::I64),
    ("int32", DType::I32),
    ("int", DType::I32),
    ("int16", DType::I16),
    ("short", DType::I16),
    ("int8", DType::I8),
    ("uint8", DType::U8),
    ("bool", DType::Bool),
];

static DEFAULT: AtomicU8 = AtomicU8::new(0); // 0: f32, 1: f64, 2: f16, 3: bf16

/// The default floating-point dtype (`torch.get_default_dtype()`).
pub fn default_dtype() -> DType {
    match DEFAULT.load(Ordering::Relaxed) {
        1 => DType::F64,
        2 => DType::F16,
        3 => DType::BF16,
        _ => DType::F32,
    }
}

#[pyfunction]
pub fn get_default_dtype(py: Python<'_>) -> PyResult<Py<PyDType>> {
    PyDType::object(py, default_dtype())
}

#[pyfunction]
pub fn set_default_dtype(d: PyDType) -> PyResult<()> {
    let code = match d.0 {
        DType::F32 => 0,
        DType::F64 => 1,
        DType::F16 => 2,
        DType::BF16 => 3,
        other => {
            return Err(type_error(format!(
                "only floating-point types are supported as the default type, got {}",
                PyDType(other).__repr__()
            )))
        }
    };
    DEFAULT.store(code, Ordering::Relaxed);
    Ok(())
}

/// A dtype argument: an `ember.dtype`, or Python's `float`/`int`/`bool` (as PyTorch accepts).
pub fn to_dtype(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    if let Ok(d) = obj.extract::<PyDType>() {
        return Ok(d.0);
    }
    if let Ok(t) = obj.cast::<PyType>() {
        if t.is(obj.py().get_type::<PyFloat>()) {
            return Ok(DType::F64);
        }
        if t.is(obj.py().get_type::<PyBool>()) {
            return Ok(DType::Bool);
        }
        if t.is(obj.py().get_type::<PyInt>()) {
            return Ok(DType::I64);
        }
    }
    Err(type_error(format!("expected a dtype, got {}", type_name(obj))))
}

/// `Option<dtype>` from an optional argument.
pub fn opt_dtype(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => to_dtype(o).map(Some),
    }
}

/// The Python type name of an object, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// A device (`torch.device`): only the CPU exists.
#[pyclass(name = "device", module = "ember", frozen, eq, hash, from_py_object)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyDevice {
    #[pyo3(get)]
    pub r#type: String,
    #[pyo3(get)]
    pub index: Option<i64>,
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (device, index=None))]
    fn new(device: &Bound<'_, PyAny>, index: Option<i64>) -> PyResult<PyDevice> {
        let s: String = if let Ok(d) = device.extract::<PyDevice>() {
            return Ok(d);
        } else if let Ok(s) = device.cast::<PyString>() {
            s.to_string()
        } else {
            return Err(type_error(format!("device() expects a string, got {}", type_name(device))));
        };
        parse_device(&s, index)
    }

    fn __repr__(&self) -> String {
        match self.index {
            Some(i) => format!("device(type='{}', index={i})", self.r#type),
            None => format!("device(type='{}')", self.r#type),
        }
    }

    fn __str__(&self) -> String {
        match self.index {
            Some(i) => format!("{}:{i}", self.r#type),
            None => self.r#type.clone(),
        }
    }
}

/// `"cpu"`, `"cpu:0"`; other device types are a clear error (there is no GPU backend).
pub fn parse_device(s: &str, index: Option<i64>) -> PyResult<PyDevice> {
    let (kind, idx) = match s.split_once(':') {
        Some((k, i)) => (k, Some(i.parse::<i64>().map_err(|_| type_error(format!("invalid device string: '{s}'")))?)),
        None => (s, index),
    };
    match kind {
        "cpu" => Ok(PyDevice { r#type: "cpu".into(), index: idx }),
        "cuda" | "mps" | "xpu" | "meta" => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Ember has no {kind} backend yet: only device='cpu' is available"
        ))),
        _ => Err(pyo3::exceptions::PyRuntimeError::new_err(format!("invalid device string: '{s}'"))),
    }
}

/// Checks a `device=` argument (a string, an `ember.device`, or None).
pub fn check_device(obj: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    match obj {
        None => Ok(()),
        Some(o) if o.is_none() => Ok(()),
        Some(o) => PyDevice::new(o, None).map(|_| ()),
    }
}

/// PyTorch's scalar-type name of a dtype (`Float`, `Long`), for messages written in Python.
#[pyfunction]
pub fn _scalar_type_name(d: PyDType) -> &'static str {
    PyDType::scalar_type_name(d.0)
}
