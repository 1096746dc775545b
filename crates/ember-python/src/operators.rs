//! Python operators on tensors (`+ - * / // % ** @`, reflected and in-place forms,
//! comparisons, `& | ^ ~`, unary `-`/`+`, `abs()`), with PyTorch's promotion of Python
//! scalars. An operand of another type gives `NotImplemented`, so Python tries the other side.
//!
//! The elementwise ops of Ember's op tables reach Python through `_unary` / `_binary` and the
//! name lists `unary_ops()` / `binary_ops()`: `ember/__init__.py` makes a method and a function
//! of each, so an op added to the Rust table exists in Python with no binding code.

use crate::args::maybe_detach;
use crate::convert::{operand, required_operand};
use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::op::{BinaryOp, UnaryOp};
use ember::{DType, Tensor};
use pyo3::prelude::*;

fn run_binary(py: Python<'_>, a: &Tensor, b: &Tensor, op: BinaryOp) -> PyResult<PyTensor> {
    let work = a.numel().max(b.numel());
    Ok(PyTensor::new(maybe_detach(py, work, || a.binary_op(b, op)).py()?))
}

/// `a ** b`: a float tensor and a Python number use the scalar power (`x ** 2` is `x * x`).
fn power(py: Python<'_>, a: &Tensor, b: &Tensor, scalar: Option<f64>) -> PyResult<PyTensor> {
    if let (Some(p), true) = (scalar, a.dtype().is_float()) {
        let t = a.clone();
        return Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.pow(p)).py()?));
    }
    run_binary(py, a, b, BinaryOp::Pow)
}

fn python_number(obj: &Bound<'_, PyAny>) -> Option<f64> {
    if obj.extract::<PyRef<'_, PyTensor>>().is_ok() {
        return None;
    }
    obj.extract::<f64>().ok()
}

macro_rules! binary_operator {
    ($($dunder:ident, $rdunder:ident => $op:expr);* $(;)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $dunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                    match operand(&self.t, other)? {
                        Some(o) => Ok(run_binary(py, &self.t, &o, $op)?.into_pyobject(py)?.into_any().unbind()),
                        None => Ok(py.NotImplemented()),
                    }
                }
                fn $rdunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                    match operand(&self.t, other)? {
                        Some(o) => Ok(run_binary(py, &o, &self.t, $op)?.into_pyobject(py)?.into_any().unbind()),
                        None => Ok(py.NotImplemented()),
                    }
                }
            )*
        }
    };
}

binary_operator! {
    __add__, __radd__ => BinaryOp::Add;
    __sub__, __rsub__ => BinaryOp::Sub;
    __mul__, __rmul__ => BinaryOp::Mul;
    __truediv__, __rtruediv__ => BinaryOp::Div;
    __floordiv__, __rfloordiv__ => BinaryOp::FloorDivide;
    __mod__, __rmod__ => BinaryOp::Remainder;
}

/// `&`, `|`, `^` (bools: logical; integers: bitwise).
macro_rules! bitwise_operator {
    ($($dunder:ident, $rdunder:ident, $idunder:ident => $op:expr);* $(;)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $dunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                    match operand(&self.t, other)? {
                        Some(o) => Ok(run_binary(py, &self.t, &o, $op)?.into_pyobject(py)?.into_any().unbind()),
                        None => Ok(py.NotImplemented()),
                    }
                }
                fn $rdunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                    match operand(&self.t, other)? {
                        Some(o) => Ok(run_binary(py, &o, &self.t, $op)?.into_pyobject(py)?.into_any().unbind()),
                        None => Ok(py.NotImplemented()),
                    }
                }
                fn $idunder(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
                    let t = self.t.clone();
                    let o = required_operand(&t, other, stringify!($idunder))?;
                    let f = |s: &Tensor| s.binary_op(&o, $op);
                    if $op.reads_lhs() {
                        t.update_(stringify!($idunder), &[&o], f).py()
                    } else {
                        t.update_overwriting_(stringify!($idunder), &[&o], f).py()
                    }
                }
            )*
        }
    };
}

bitwise_operator! {
    __and__, __rand__, __iand__ => BinaryOp::BitwiseAnd;
    __or__, __ror__, __ior__ => BinaryOp::BitwiseOr;
    __xor__, __rxor__, __ixor__ => BinaryOp::BitwiseXor;
    __lshift__, __rlshift__, __ilshift__ => BinaryOp::BitwiseLeftShift;
    __rshift__, __rrshift__, __irshift__ => BinaryOp::BitwiseRightShift;
}

/// In-place arithmetic (`x += y`): the result is written into `x` (an error when it would
/// change `x`'s dtype category, as PyTorch's "result type Float can't be cast to Long").
macro_rules! inplace_operator {
    ($($dunder:ident => $op:expr);* $(;)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $dunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<()> {
                    let t = self.t.clone();
                    let o = required_operand(&t, other, stringify!($dunder))?;
                    maybe_detach(py, t.numel(), || t.binary_op_(&o, $op)).py()
                }
            )*
        }
    };
}

inplace_operator! {
    __iadd__ => BinaryOp::Add;
    __isub__ => BinaryOp::Sub;
    __imul__ => BinaryOp::Mul;
    __itruediv__ => BinaryOp::Div;
    __ifloordiv__ => BinaryOp::FloorDivide;
    __imod__ => BinaryOp::Remainder;
}

macro_rules! comparison {
    ($($dunder:ident => $method:ident);* $(;)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $dunder(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                    match operand(&self.t, other)? {
                        Some(o) => Ok(PyTensor::new(self.t.$method(&o).py()?).into_pyobject(py)?.into_any().unbind()),
                        None => Ok(py.NotImplemented()),
                    }
                }
            )*
        }
    };
}

comparison! {
    __eq__ => eq;
    __ne__ => ne;
    __lt__ => lt;
    __le__ => le;
    __gt__ => gt;
    __ge__ => ge;
}

#[pymethods]
impl PyTensor {
    pub fn __pow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        match operand(&self.t, other)? {
            Some(o) => Ok(power(py, &self.t, &o, python_number(other))?.into_pyobject(py)?.into_any().unbind()),
            None => Ok(py.NotImplemented()),
        }
    }

    fn __rpow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        match operand(&self.t, other)? {
            Some(o) => Ok(run_binary(py, &o, &self.t, BinaryOp::Pow)?.into_pyobject(py)?.into_any().unbind()),
            None => Ok(py.NotImplemented()),
        }
    }

    fn __ipow__(&self, other: &Bound<'_, PyAny>, modulo: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let _ = modulo;
        let t = self.t.clone();
        let o = required_operand(&t, other, "__ipow__")?;
        let p = python_number(other);
        t.update_("__ipow__", &[&o], |s| match (p, s.dtype().is_float()) {
            (Some(p), true) => s.pow(p),
            _ => s.binary_op(&o, BinaryOp::Pow),
        })
        .py()
    }

    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(o) = other.extract::<PyRef<'_, PyTensor>>() else { return Ok(py.NotImplemented()) };
        let (a, b) = (self.t.clone(), o.t.clone());
        let work = a.numel().max(b.numel());
        Ok(PyTensor::new(maybe_detach(py, work, || a.matmul(&b)).py()?).into_pyobject(py)?.into_any().unbind())
    }

    fn __rmatmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(o) = other.extract::<PyRef<'_, PyTensor>>() else { return Ok(py.NotImplemented()) };
        Ok(PyTensor::new(o.t.matmul(&self.t).py()?).into_pyobject(py)?.into_any().unbind())
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let t = self.t.clone();
        if t.dtype() == DType::Bool {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.",
            ));
        }
        Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.neg()).py()?))
    }

    fn __pos__(slf: &Bound<'_, Self>) -> Py<PyTensor> {
        slf.clone().unbind()
    }

    fn __abs__(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.abs().py()?))
    }

    fn __invert__(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.bitwise_not().py()?))
    }
}

/// `(method name, code)` of every unary op in Ember's table that has a method.
#[pyfunction]
pub fn unary_ops() -> Vec<(&'static str, usize)> {
    UnaryOp::ALL.iter().enumerate().filter_map(|(i, u)| u.method().map(|m| (m, i))).collect()
}

/// `(method name, code)` of every binary op in Ember's table.
#[pyfunction]
pub fn binary_ops() -> Vec<(&'static str, usize)> {
    BinaryOp::ALL.iter().enumerate().filter_map(|(i, b)| b.method().map(|m| (m, i))).collect()
}

fn unary_at(code: usize) -> PyResult<UnaryOp> {
    UnaryOp::ALL.get(code).copied().ok_or_else(|| pyo3::exceptions::PyValueError::new_err("unknown unary op"))
}

fn binary_at(code: usize) -> PyResult<BinaryOp> {
    BinaryOp::ALL.get(code).copied().ok_or_else(|| pyo3::exceptions::PyValueError::new_err("unknown binary op"))
}

/// Applies unary op `code` (from `unary_ops()`).
#[pyfunction]
pub fn _unary(py: Python<'_>, x: PyRef<'_, PyTensor>, code: usize) -> PyResult<PyTensor> {
    let (op, t) = (unary_at(code)?, x.t.clone());
    Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.unary_op(op)).py()?))
}

/// Applies unary op `code` in place (`x.exp_()`).
#[pyfunction]
pub fn _unary_(x: &Bound<'_, PyTensor>, code: usize) -> PyResult<Py<PyTensor>> {
    let (op, t) = (unary_at(code)?, x.borrow().t.clone());
    // Ops whose gradient reads only the output (relu, exp, tanh, ...) need no copy of the old value.
    let f = |s: &Tensor| s.unary_op(op);
    maybe_detach(x.py(), t.numel(), || {
        if op.reads_input() {
            t.update_("unary_", &[], f)
        } else {
            t.update_overwriting_("unary_", &[], f)
        }
    })
    .py()?;
    Ok(x.clone().unbind())
}

/// Applies binary op `code` (from `binary_ops()`); `other` may be a Python number.
#[pyfunction]
pub fn _binary(py: Python<'_>, x: PyRef<'_, PyTensor>, other: &Bound<'_, PyAny>, code: usize) -> PyResult<PyTensor> {
    let op = binary_at(code)?;
    let o = required_operand(&x.t, other, op.method().unwrap_or("binary"))?;
    run_binary(py, &x.t, &o, op)
}

/// Applies binary op `code` in place.
#[pyfunction]
pub fn _binary_(x: &Bound<'_, PyTensor>, other: &Bound<'_, PyAny>, code: usize) -> PyResult<Py<PyTensor>> {
    let op = binary_at(code)?;
    let t = x.borrow().t.clone();
    let o = required_operand(&t, other, op.method().unwrap_or("binary"))?;
    maybe_detach(x.py(), t.numel(), || t.binary_op_(&o, op)).py()?;
    Ok(x.clone().unbind())
}

/// Method names of in-place ops made in Python, kept for the life of the process (the core's
/// error messages name an op with a `&'static str`; the set is the finite list of methods).
fn interned(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(&n) = set.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// `x.op_(...)` for any out-of-place `op` written in Python: `fn(old)` computes the new value
/// from the old one (a recorded copy when `keep_old` and recording), which is written into
/// `x` with the core's in-place rules (version bump, history rewritten, leaf check, shape and
/// dtype checks). `others` are the op's other tensor inputs.
#[pyfunction]
#[pyo3(signature = (x, name, others, f, keep_old=true))]
pub fn _update_(
    x: &Bound<'_, PyTensor>,
    name: &str,
    others: Vec<PyRef<'_, PyTensor>>,
    f: &Bound<'_, PyAny>,
    keep_old: bool,
) -> PyResult<Py<PyTensor>> {
    let t = x.borrow().t.clone();
    let others: Vec<Tensor> = others.iter().map(|o| o.t.clone()).collect();
    let refs: Vec<&Tensor> = others.iter().collect();
    let name = interned(name);
    let mut py_err = None;
    let compute = |old: &Tensor| -> ember::Result<Tensor> {
        let r = f.call1((PyTensor::new(old.clone()),)).and_then(|r| Ok(r.extract::<PyRef<'_, PyTensor>>()?.t.clone()));
        r.map_err(|e| {
            py_err = Some(e);
            ember::Error::value(name, "the Python computation raised")
        })
    };
    let done = if keep_old { t.update_(name, &refs, compute) } else { t.update_overwriting_(name, &refs, compute) };
    if let Some(e) = py_err {
        return Err(e);
    }
    done.py()?;
    Ok(x.clone().unbind())
}
