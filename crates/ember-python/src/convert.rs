//! Python values to tensors and back: nested lists and tuples of numbers (dtype inferred as
//! PyTorch does: bool, else int64, else the default float dtype), NumPy arrays, tensors;
//! Python scalars as operands (PyTorch's "wrapped number" rule: a scalar never raises a
//! tensor's dtype within its category); and tensors to Python lists and scalars.

use crate::dtype::{default_dtype, type_name};
use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyTuple};

/// A Python number's kind (the category that decides the inferred dtype).
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Kind {
    Bool,
    Int,
    Float,
}

/// Values gathered from nested sequences, row-major, with the deepest kind seen.
struct Gathered {
    values: Vec<f64>,
    ints: Vec<i64>,
    kind: Kind,
}

fn scalar_kind(obj: &Bound<'_, PyAny>) -> Option<(Kind, f64, i64)> {
    if obj.is_instance_of::<PyBool>() {
        let b: bool = obj.extract().ok()?;
        return Some((Kind::Bool, b as u8 as f64, b as i64));
    }
    if obj.is_instance_of::<PyInt>() {
        let i: i64 = obj.extract().ok()?;
        return Some((Kind::Int, i as f64, i));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract().ok()?;
        return Some((Kind::Float, f, f as i64));
    }
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        if t.t.numel() == 1 {
            let f = t.t.to_dtype(DType::F64).ok()?.reshape_to_scalar()?;
            let kind = if t.t.dtype().is_float() {
                Kind::Float
            } else if t.t.dtype() == DType::Bool {
                Kind::Bool
            } else {
                Kind::Int
            };
            return Some((kind, f, f as i64));
        }
    }
    // NumPy scalars and other numbers: ints through __index__, floats through __float__.
    if obj.hasattr("__index__").unwrap_or(false) {
        let i: i64 = obj.extract().ok()?;
        return Some((Kind::Int, i as f64, i));
    }
    if obj.hasattr("__float__").unwrap_or(false) && !obj.is_instance_of::<PySequence>() {
        let f: f64 = obj.call_method0("__float__").ok()?.extract().ok()?;
        return Some((Kind::Float, f, f as i64));
    }
    None
}

trait ScalarOf {
    fn reshape_to_scalar(&self) -> Option<f64>;
}

impl ScalarOf for Tensor {
    fn reshape_to_scalar(&self) -> Option<f64> {
        self.to_f64_vec().ok()?.first().copied()
    }
}

fn is_list_like(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()
}

/// The shape of nested sequences, read down their first elements (arrays and tensors inside
/// contribute their own shape).
fn infer_shape(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let mut shape = Vec::new();
    let mut cur = obj.clone();
    loop {
        if let Ok(t) = obj_as_tensor_inner(&cur) {
            shape.extend_from_slice(t.shape());
            return Ok(shape);
        }
        if !is_list_like(&cur) {
            return Ok(shape);
        }
        let seq = cur.cast::<PySequence>()?.clone();
        let n = seq.len()?;
        shape.push(n);
        if n == 0 {
            return Ok(shape);
        }
        cur = seq.get_item(0)?;
    }
}

/// Row-major values of `obj`, checked against `shape[depth..]`.
fn gather(obj: &Bound<'_, PyAny>, shape: &[usize], depth: usize, out: &mut Gathered) -> PyResult<()> {
    // Plain Python numbers first: the common case, and the checks below would cost an error
    // object per element.
    if depth == shape.len()
        && (obj.is_exact_instance_of::<PyFloat>()
            || obj.is_exact_instance_of::<PyInt>()
            || obj.is_instance_of::<PyBool>())
    {
        if let Some((k, f, i)) = scalar_kind(obj) {
            if k > out.kind {
                out.kind = k;
            }
            out.values.push(f);
            out.ints.push(i);
            return Ok(());
        }
    }
    if let Ok(t) = obj_as_tensor_inner(obj) {
        if t.shape() != &shape[depth..] {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "expected sequence of shape {:?} at dim {depth} (got {:?})",
                &shape[depth..],
                t.shape()
            )));
        }
        let k = if t.dtype().is_float() {
            Kind::Float
        } else if t.dtype() == DType::Bool {
            Kind::Bool
        } else {
            Kind::Int
        };
        if k > out.kind {
            out.kind = k;
        }
        if k == Kind::Float {
            let v = t.to_f64_vec().py()?;
            out.ints.extend(v.iter().map(|&x| x as i64));
            out.values.extend(v);
        } else {
            let v = t.to_dtype(DType::I64).py()?.to_vec::<i64>().py()?;
            out.values.extend(v.iter().map(|&x| x as f64));
            out.ints.extend(v);
        }
        return Ok(());
    }
    if depth == shape.len() {
        let Some((k, f, i)) = scalar_kind(obj) else {
            return Err(type_error(format!(
                "tensor(): could not infer the dtype of {}: expected numbers, sequences, arrays or tensors",
                type_name(obj)
            )));
        };
        if k > out.kind {
            out.kind = k;
        }
        out.values.push(f);
        out.ints.push(i);
        return Ok(());
    }
    if !is_list_like(obj) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "expected a sequence of length {} at dim {depth}, got {}",
            shape[depth],
            type_name(obj)
        )));
    }
    let seq = obj.cast::<PySequence>()?;
    let n = seq.len()?;
    if n != shape[depth] {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "expected sequence of length {} at dim {depth} (got {n})",
            shape[depth]
        )));
    }
    for item in seq.try_iter()? {
        gather(&item?, shape, depth + 1, out)?;
    }
    Ok(())
}

/// A tensor or NumPy array as a tensor (a copy of an array's data).
fn obj_as_tensor_inner(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(t.borrow().t.clone());
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return from_numpy_copy(a);
    }
    Err(type_error("not a tensor or array"))
}

macro_rules! numpy_copy {
    ($arr:expr, $($t:ty),*) => {{
        $(
            if let Ok(a) = $arr.cast::<PyArrayDyn<$t>>() {
                let ro = a.readonly();
                let view = ro.as_array();
                let shape = view.shape().to_vec();
                let data: Vec<$t> = view.iter().copied().collect();
                return Tensor::from_vec(data, &shape).py();
            }
        )*
    }};
}

/// A copy of a NumPy array's data (f64, f32, f16, i64, i32, i16, i8, u8, bool; other integer
/// types are widened to int64).
pub fn from_numpy_copy(a: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    numpy_copy!(a, f32, f64, half::f16, i64, i32, i16, i8, u8, bool);
    macro_rules! widen {
        ($($t:ty),*) => {$(
            if let Ok(x) = a.cast::<PyArrayDyn<$t>>() {
                let ro = x.readonly();
                let view = ro.as_array();
                let shape = view.shape().to_vec();
                let data: Vec<i64> = view.iter().map(|&v| v as i64).collect();
                return Tensor::from_vec(data, &shape).py();
            }
        )*};
    }
    widen!(u16, u32);
    Err(type_error(format!(
        "can't convert np.ndarray of type {} to a tensor: the supported types are float64, float32, float16, int64, int32, int16, int8, uint8 and bool",
        a.dtype().str().map(|s| s.to_string()).unwrap_or_default()
    )))
}

/// `ember.tensor(data)`: nested sequences, scalars, arrays or tensors as a new tensor.
pub fn tensor_from_py(obj: &Bound<'_, PyAny>, dtype: Option<DType>) -> PyResult<Tensor> {
    if let Ok(t) = obj_as_tensor_inner(obj) {
        let t = t.detach().deep_clone().py()?;
        return match dtype {
            Some(d) => t.to_dtype(d).py(),
            None => Ok(t),
        };
    }
    let shape = infer_shape(obj)?;
    let mut g = Gathered { values: Vec::new(), ints: Vec::new(), kind: Kind::Bool };
    gather(obj, &shape, 0, &mut g)?;
    let inferred = match g.kind {
        _ if g.values.is_empty() => default_dtype(),
        Kind::Bool => DType::Bool,
        Kind::Int => DType::I64,
        Kind::Float => default_dtype(),
    };
    let want = dtype.unwrap_or(inferred);
    // Integers keep their exact values (beyond 2^53) on the way to int64.
    let t = if g.kind != Kind::Float && want == DType::I64 {
        Tensor::from_vec(g.ints, &shape).py()?
    } else {
        Tensor::from_vec(g.values, &shape).py()?.to_dtype(want).py()?
    };
    Ok(t)
}

/// A Python scalar as a 0-d operand for `t op scalar`: in `t`'s dtype unless the scalar's
/// category is higher (an int with a bool tensor: int64; a float with an integer tensor: the
/// default float dtype), as PyTorch's wrapped numbers.
pub fn scalar_operand(t: &Tensor, obj: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    let Some((kind, f, i)) = scalar_kind(obj) else { return Ok(None) };
    if obj.extract::<PyRef<'_, PyTensor>>().is_ok() {
        return Ok(None);
    }
    let d = t.dtype();
    let dtype = match kind {
        Kind::Bool => d,
        Kind::Int if d == DType::Bool => DType::I64,
        Kind::Int => d,
        Kind::Float if d.is_float() => d,
        Kind::Float => default_dtype(),
    };
    let s = if dtype == DType::I64 && kind != Kind::Float {
        Tensor::scalar(i)
    } else {
        Tensor::full(&[], f, dtype).py()?
    };
    Ok(Some(s))
}

/// The other operand of a binary op: a tensor, or a Python scalar (see [`scalar_operand`]);
/// `None` for anything else (the operator then returns `NotImplemented`).
pub fn operand(t: &Tensor, obj: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    if let Ok(o) = obj.extract::<PyRef<'_, PyTensor>>() {
        return Ok(Some(o.t.clone()));
    }
    scalar_operand(t, obj)
}

/// Like [`operand`] but an error for unsupported types (for named methods such as `add`).
pub fn required_operand(t: &Tensor, obj: &Bound<'_, PyAny>, op: &str) -> PyResult<Tensor> {
    operand(t, obj)?
        .ok_or_else(|| type_error(format!("{op}(): argument 'other' must be Tensor or Number, not {}", type_name(obj))))
}

/// A tensor argument: a tensor, or (as PyTorch converts them) a number or nested sequence.
pub fn to_tensor(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Tensor> {
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        return Ok(t.t.clone());
    }
    if scalar_kind(obj).is_some() || obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return tensor_from_py(obj, None);
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return from_numpy_copy(a);
    }
    Err(type_error(format!("{what} must be a Tensor, not {}", type_name(obj))))
}

/// A tensor's values as nested Python lists (`tolist()`) or a Python scalar for 0-d.
pub fn to_list(py: Python<'_>, t: &Tensor) -> PyResult<Py<PyAny>> {
    fn build<T: Copy>(
        py: Python<'_>,
        data: &[T],
        shape: &[usize],
        conv: &dyn Fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        if shape.is_empty() {
            return conv(py, data[0]);
        }
        let step = data.len().checked_div(shape[0]).unwrap_or(0);
        let items: Vec<Py<PyAny>> = (0..shape[0])
            .map(|i| build(py, &data[i * step..(i + 1) * step], &shape[1..], conv))
            .collect::<PyResult<_>>()?;
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
    let shape = t.shape().to_vec();
    match t.dtype() {
        DType::Bool => {
            let v = t.to_vec::<bool>().py()?;
            build(py, &v, &shape, &|py, x| Ok(PyBool::new(py, x).to_owned().into_any().unbind()))
        }
        d if d.is_float() => {
            let v = t.to_f64_vec().py()?;
            build(py, &v, &shape, &|py, x| Ok(PyFloat::new(py, x).into_any().unbind()))
        }
        _ => {
            let v = t.to_dtype(DType::I64).py()?.to_vec::<i64>().py()?;
            build(py, &v, &shape, &|py, x| Ok(x.into_pyobject(py)?.into_any().unbind()))
        }
    }
}
