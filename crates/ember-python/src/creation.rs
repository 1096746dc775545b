//! Module-level functions that make tensors (`ember.tensor`, `zeros`, `arange`, `rand`, ...),
//! join them (`cat`, `stack`), and set global state (seed, threads), with PyTorch's
//! signatures. `device=` accepts only the CPU; `requires_grad=` marks the new leaf.

use crate::args::{int_list, to_usizes, varargs_sizes};
use crate::convert::{from_numpy_copy, tensor_from_py};
use crate::dtype::{check_device, default_dtype, opt_dtype};
use crate::errors::IntoPyResult;
use crate::methods::tensor_list;
use crate::random::with_gen;
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

type R = PyResult<PyTensor>;

fn finish(t: ember::Result<Tensor>, requires_grad: bool) -> R {
    let t = t.py()?;
    Ok(PyTensor::new(if requires_grad { t.set_requires_grad(true).py()? } else { t }))
}

/// Sizes from `f(2, 3)`, `f((2, 3))` or `f(size=(2, 3))`.
fn sizes(args: &Bound<'_, PyTuple>, kwargs_size: Option<&Bound<'_, PyAny>>, op: &str) -> PyResult<Vec<usize>> {
    let v = match kwargs_size {
        Some(s) => int_list(s, "size")?,
        None => varargs_sizes(args, "size")?,
    };
    to_usizes(&v, op)
}

#[pyfunction]
#[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false, pin_memory=false))]
pub fn tensor(
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> R {
    let _ = pin_memory;
    check_device(device)?;
    finish(Ok(tensor_from_py(data, opt_dtype(dtype)?)?), requires_grad)
}

/// `as_tensor(data, dtype=None)`: a tensor is returned as is when no conversion is needed.
#[pyfunction]
#[pyo3(signature = (data, dtype=None, device=None))]
pub fn as_tensor(
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    check_device(device)?;
    let d = opt_dtype(dtype)?;
    if let Ok(t) = data.extract::<PyRef<'_, PyTensor>>() {
        if d.is_none_or(|d| d == t.t.dtype()) {
            return Ok(data.clone().unbind());
        }
        return Ok(Py::new(data.py(), PyTensor::new(t.t.to_dtype(d.unwrap_or(t.t.dtype())).py()?))?.into_any());
    }
    if let Ok(a) = data.cast::<PyUntypedArray>() {
        let t = crate::numpy::from_numpy(a)?;
        let t = match d {
            Some(d) if d != t.t.dtype() => PyTensor::new(t.t.to_dtype(d).py()?),
            _ => t,
        };
        return Ok(Py::new(data.py(), t)?.into_any());
    }
    Ok(Py::new(data.py(), PyTensor::new(tensor_from_py(data, d)?))?.into_any())
}

macro_rules! filled {
    ($($name:ident => $value:expr, $doc:literal);* $(;)?) => {$(
        #[doc = $doc]
        #[pyfunction]
        #[pyo3(signature = (*size, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, memory_format=None, **kwargs))]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            size: &Bound<'_, PyTuple>,
            out: Option<&Bound<'_, PyAny>>,
            dtype: Option<&Bound<'_, PyAny>>,
            layout: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
            pin_memory: bool,
            memory_format: Option<&Bound<'_, PyAny>>,
            kwargs: Option<&Bound<'_, PyDict>>,
        ) -> R {
            let _ = (layout, pin_memory, memory_format);
            if out.is_some_and(|o| !o.is_none()) {
                return Err(pyo3::exceptions::PyNotImplementedError::new_err(concat!(stringify!($name), "(out=...) is not supported yet")));
            }
            check_device(device)?;
            let kw_size = kwargs.map(|k| k.get_item("size")).transpose()?.flatten();
            let shape = sizes(size, kw_size.as_ref(), stringify!($name))?;
            let d = opt_dtype(dtype)?.unwrap_or_else(default_dtype);
            finish(Tensor::full(&shape, $value, d), requires_grad)
        }
    )*};
}

filled! {
    zeros => 0.0, "Zeros of the given size (`torch.zeros`).";
    ones => 1.0, "Ones of the given size.";
    empty => 0.0, "A tensor of the given size (zero-filled: Ember never hands out uninitialised memory).";
}

#[pyfunction]
#[pyo3(signature = (size, fill_value, *, dtype=None, device=None, requires_grad=false))]
pub fn full(
    size: &Bound<'_, PyAny>,
    fill_value: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let shape = to_usizes(&int_list(size, "size")?, "full")?;
    // PyTorch infers the dtype from the fill value: bool, int64 or the default float.
    let d = match opt_dtype(dtype)? {
        Some(d) => d,
        None if fill_value.is_instance_of::<pyo3::types::PyBool>() => DType::Bool,
        None if fill_value.is_instance_of::<pyo3::types::PyInt>() => DType::I64,
        None => default_dtype(),
    };
    finish(Tensor::full(&shape, fill_value.extract::<f64>()?, d), requires_grad)
}

macro_rules! like {
    ($($name:ident => $value:expr);* $(;)?) => {$(
        #[pyfunction]
        #[pyo3(signature = (input, *, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
        pub fn $name(
            input: PyRef<'_, PyTensor>,
            dtype: Option<&Bound<'_, PyAny>>,
            layout: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
            memory_format: Option<&Bound<'_, PyAny>>,
        ) -> R {
            let _ = (layout, memory_format);
            check_device(device)?;
            let d = opt_dtype(dtype)?.unwrap_or(input.t.dtype());
            finish(Tensor::full(input.t.shape(), $value, d), requires_grad)
        }
    )*};
}

like! {
    zeros_like => 0.0;
    ones_like => 1.0;
    empty_like => 0.0;
}

#[pyfunction]
#[pyo3(signature = (input, fill_value, *, dtype=None, device=None, requires_grad=false))]
pub fn full_like(
    input: PyRef<'_, PyTensor>,
    fill_value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let d = opt_dtype(dtype)?.unwrap_or(input.t.dtype());
    finish(Tensor::full(input.t.shape(), fill_value, d), requires_grad)
}

#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn rand_like(
    input: PyRef<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let d = opt_dtype(dtype)?.unwrap_or(input.t.dtype());
    finish(Tensor::rand(input.t.shape(), d), requires_grad)
}

#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn randn_like(
    input: PyRef<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let d = opt_dtype(dtype)?.unwrap_or(input.t.dtype());
    finish(Tensor::randn(input.t.shape(), d), requires_grad)
}

/// `arange(end)`, `arange(start, end)`, `arange(start, end, step)`; integer arguments give
/// int64, as PyTorch.
#[pyfunction]
#[pyo3(signature = (start, end=None, step=None, *, dtype=None, device=None, requires_grad=false))]
pub fn arange(
    start: &Bound<'_, PyAny>,
    end: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let is_int = |o: &Bound<'_, PyAny>| o.is_instance_of::<pyo3::types::PyInt>();
    let all_int = is_int(start) && end.is_none_or(is_int) && step.is_none_or(is_int);
    let (s, e) = match end.filter(|e| !e.is_none()) {
        Some(e) => (start.extract::<f64>()?, e.extract::<f64>()?),
        None => (0.0, start.extract::<f64>()?),
    };
    let st = step.map(|x| x.extract::<f64>()).transpose()?.unwrap_or(1.0);
    let d = opt_dtype(dtype)?.unwrap_or(if all_int { DType::I64 } else { default_dtype() });
    finish(Tensor::arange(s, e, st, d), requires_grad)
}

#[pyfunction]
#[pyo3(signature = (start, end, steps, *, dtype=None, device=None, requires_grad=false))]
pub fn linspace(
    start: f64,
    end: f64,
    steps: usize,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    finish(Tensor::linspace(start, end, steps, opt_dtype(dtype)?.unwrap_or_else(default_dtype)), requires_grad)
}

#[pyfunction]
#[pyo3(signature = (n, m=None, *, dtype=None, device=None, requires_grad=false))]
pub fn eye(
    n: usize,
    m: Option<usize>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let d = opt_dtype(dtype)?.unwrap_or_else(default_dtype);
    let m = m.unwrap_or(n);
    let sq = Tensor::eye(n.max(m), d).py()?;
    finish(sq.narrow(0, 0, n).and_then(|t| t.narrow(1, 0, m)).and_then(|t| t.contiguous()), requires_grad)
}

macro_rules! random {
    ($($name:ident => $f:ident);* $(;)?) => {$(
        #[pyfunction]
        #[pyo3(signature = (*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, **kwargs))]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            size: &Bound<'_, PyTuple>,
            generator: Option<&Bound<'_, PyAny>>,
            out: Option<&Bound<'_, PyAny>>,
            dtype: Option<&Bound<'_, PyAny>>,
            layout: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
            pin_memory: bool,
            kwargs: Option<&Bound<'_, PyDict>>,
        ) -> R {
            let _ = (out, layout, pin_memory);
            check_device(device)?;
            let kw_size = kwargs.map(|k| k.get_item("size")).transpose()?.flatten();
            let shape = sizes(size, kw_size.as_ref(), stringify!($name))?;
            let d = opt_dtype(dtype)?.unwrap_or_else(default_dtype);
            finish(with_gen(generator, || Tensor::$f(&shape, d))?, requires_grad)
        }
    )*};
}

random! {
    rand => rand;
    randn => randn;
}

/// `randint(high, size)` or `randint(low, high, size)`.
#[pyfunction]
#[pyo3(signature = (*args, generator=None, dtype=None, device=None, requires_grad=false, size=None))]
pub fn randint(
    args: &Bound<'_, PyTuple>,
    generator: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    size: Option<&Bound<'_, PyAny>>,
) -> R {
    check_device(device)?;
    let n = args.len();
    let (low, high, shape) = match (n, size) {
        (1, Some(s)) => (0, args.get_item(0)?.extract::<i64>()?, int_list(s, "size")?),
        (2, Some(s)) => {
            (args.get_item(0)?.extract::<i64>()?, args.get_item(1)?.extract::<i64>()?, int_list(s, "size")?)
        }
        (2, None) => (0, args.get_item(0)?.extract::<i64>()?, int_list(&args.get_item(1)?, "size")?),
        (3, None) => (
            args.get_item(0)?.extract::<i64>()?,
            args.get_item(1)?.extract::<i64>()?,
            int_list(&args.get_item(2)?, "size")?,
        ),
        _ => return Err(crate::errors::type_error("randint() expects (high, size) or (low, high, size)")),
    };
    let shape = to_usizes(&shape, "randint")?;
    let d = opt_dtype(dtype)?.unwrap_or(DType::I64);
    finish(with_gen(generator, || Tensor::randint(low, high, &shape, d))?, requires_grad)
}

/// A random permutation of `0..n` (from the global generator).
#[pyfunction]
#[pyo3(signature = (n, *, generator=None, dtype=None, device=None, requires_grad=false))]
pub fn randperm(
    n: usize,
    generator: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    // The stable argsort of n uniforms: a uniformly random permutation.
    let perm = with_gen(generator, || Tensor::rand(&[n], DType::F64)?.argsort(0, false))?;
    let d = opt_dtype(dtype)?.unwrap_or(DType::I64);
    finish(perm.and_then(|t| t.to_dtype(d)), requires_grad)
}

/// `normal(mean, std, size)` with numbers (tensor means and stds broadcast too).
#[pyfunction]
#[pyo3(signature = (mean, std=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=false))]
#[allow(clippy::too_many_arguments)]
pub fn normal(
    mean: &Bound<'_, PyAny>,
    std: Option<&Bound<'_, PyAny>>,
    size: Option<&Bound<'_, PyAny>>,
    generator: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> R {
    check_device(device)?;
    let std = std.cloned().unwrap_or_else(|| 1.0f64.into_pyobject(mean.py()).unwrap().into_any());
    if let (Ok(m), Ok(s)) = (mean.extract::<f64>(), std.extract::<f64>()) {
        let shape = to_usizes(&size.map(|s| int_list(s, "size")).transpose()?.unwrap_or_default(), "normal")?;
        let d = opt_dtype(dtype)?.unwrap_or_else(default_dtype);
        return finish(with_gen(generator, || Tensor::normal(&shape, m, s, d))?, requires_grad);
    }
    let m = crate::convert::to_tensor(mean, "mean")?;
    let s = crate::convert::to_tensor(&std, "std")?;
    let shape = ember::result_type(&m, &s);
    let d = if shape.is_float() { shape } else { default_dtype() };
    let z = with_gen(generator, || Tensor::randn(m.add(&s)?.shape(), d))?.py()?;
    finish(z.mul(&s).and_then(|x| x.add(&m)), requires_grad)
}

#[pyfunction]
#[pyo3(signature = (tensors, dim=0, *, out=None))]
pub fn cat(tensors: &Bound<'_, PyAny>, dim: isize, out: Option<&Bound<'_, PyAny>>) -> R {
    let _ = out;
    let ts = tensor_list(tensors, "cat(): tensors")?;
    let refs: Vec<&Tensor> = ts.iter().collect();
    finish(Tensor::cat(&refs, dim), false)
}

#[pyfunction]
#[pyo3(signature = (tensors, dim=0, *, out=None))]
pub fn stack(tensors: &Bound<'_, PyAny>, dim: isize, out: Option<&Bound<'_, PyAny>>) -> R {
    let _ = out;
    let ts = tensor_list(tensors, "stack(): tensors")?;
    let refs: Vec<&Tensor> = ts.iter().collect();
    finish(Tensor::stack(&refs, dim), false)
}

/// `where(condition, input, other)`; `where(condition)` is `nonzero(as_tuple=True)`.
#[pyfunction]
#[pyo3(name = "where", signature = (condition, input=None, other=None))]
pub fn where_(
    py: Python<'_>,
    condition: PyRef<'_, PyTensor>,
    input: Option<&Bound<'_, PyAny>>,
    other: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    match (input, other) {
        (Some(a), Some(b)) => {
            let (x, y) = match (a.extract::<PyRef<'_, PyTensor>>(), b.extract::<PyRef<'_, PyTensor>>()) {
                (Ok(x), _) => {
                    let y = crate::convert::required_operand(&x.t, b, "where")?;
                    (x.t.clone(), y)
                }
                (_, Ok(y)) => (crate::convert::required_operand(&y.t, a, "where")?, y.t.clone()),
                _ => {
                    let x = crate::convert::to_tensor(a, "where(): input")?;
                    let y = crate::convert::required_operand(&x, b, "where")?;
                    (x, y)
                }
            };
            Ok(PyTensor::new(Tensor::where_cond(&condition.t, &x, &y).py()?).into_pyobject(py)?.into_any().unbind())
        }
        (None, None) => {
            let nz = condition.t.nonzero().py()?;
            let cols = (0..nz.shape()[1] as isize).map(|j| nz.select(1, j)).collect::<ember::Result<Vec<_>>>().py()?;
            crate::methods::tensors_tuple(py, cols)
        }
        _ => Err(crate::errors::type_error("where() expects (condition) or (condition, input, other)")),
    }
}

/// A copy of a NumPy array's data as a tensor.
#[pyfunction]
pub fn _from_numpy_copy(a: &Bound<'_, PyUntypedArray>) -> R {
    Ok(PyTensor::new(from_numpy_copy(a)?))
}

#[pyfunction]
pub fn manual_seed(seed: &Bound<'_, PyAny>) -> PyResult<()> {
    let s: i128 = seed.extract()?;
    ember::manual_seed(s as u64);
    Ok(())
}

#[pyfunction]
pub fn set_num_threads(n: usize) -> PyResult<()> {
    if n == 0 {
        return Err(pyo3::exceptions::PyRuntimeError::new_err("set_num_threads expects a positive integer"));
    }
    ember::set_num_threads(n);
    Ok(())
}

#[pyfunction]
pub fn get_num_threads() -> usize {
    ember::get_num_threads()
}

#[pyfunction]
pub fn is_tensor(obj: &Bound<'_, PyAny>) -> bool {
    obj.extract::<PyRef<'_, PyTensor>>().is_ok()
}

#[pyfunction]
pub fn is_floating_point(t: PyRef<'_, PyTensor>) -> bool {
    t.t.dtype().is_float()
}

#[pyfunction]
pub fn numel(t: PyRef<'_, PyTensor>) -> usize {
    t.t.numel()
}

#[pyfunction]
pub fn result_type(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<Py<crate::dtype::PyDType>> {
    let x = crate::convert::to_tensor(a, "result_type(): tensor1")?;
    let y = crate::convert::operand(&x, b)?
        .ok_or_else(|| crate::errors::type_error("result_type(): tensor2 must be a Tensor or Number"))?;
    crate::dtype::PyDType::object(a.py(), ember::result_type(&x, &y))
}
