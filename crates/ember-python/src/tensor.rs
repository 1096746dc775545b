//! `ember.Tensor`: the Rust `Tensor` as a Python class with PyTorch's attributes, conversions
//! (`item`, `tolist`, `to`, `float()`, ...), Python protocols (`len`, iteration, `bool`,
//! `float`, `int`, `index`, `repr` as PyTorch prints) and autograd entry points. Ops are in
//! `methods.rs`, operators in `operators.rs`, indexing in `indexing.rs`.

use crate::args::maybe_detach;
use crate::convert::{tensor_from_py, to_list};
use crate::dtype::{parse_device, to_dtype, type_name, PyDType, PyDevice};
use crate::errors::{stash, type_error, IntoPyResult};
use ember::{DType, Tensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A tensor (`torch.Tensor`). Subclassable (`nn.Parameter` is a subclass written in Python).
#[pyclass(name = "Tensor", module = "ember", subclass, dict, weakref)]
pub struct PyTensor {
    pub t: Tensor,
}

impl PyTensor {
    pub fn new(t: Tensor) -> PyTensor {
        PyTensor { t }
    }
}

/// `ember.Size` (a tuple subclass, defined in Python), for `.shape` and `.size()`.
fn size_of(py: Python<'_>, shape: &[usize]) -> PyResult<Py<PyAny>> {
    static SIZE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let cls = SIZE.get_or_try_init(py, || py.import("ember")?.getattr("Size").map(|c| c.unbind()))?;
    let t = PyTuple::new(py, shape)?;
    Ok(cls.bind(py).call1((t,))?.unbind())
}

/// The node that produced a tensor (`grad_fn`).
#[pyclass(name = "Node", module = "ember.autograd.graph", frozen)]
pub struct PyNode {
    name: String,
}

#[pymethods]
impl PyNode {
    /// The node's name (`MulBackward0`).
    fn name(&self) -> String {
        self.name.clone()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!("<{} object at {:#x}>", slf.get().name, slf.as_ptr() as usize)
    }
}

/// The dtype and whether the call also asked for a copy, from `to(...)`'s arguments.
fn parse_to(args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<(Option<DType>, bool)> {
    let mut dtype = None;
    let mut copy = false;
    for a in args.iter() {
        if let Ok(s) = a.cast::<PyString>() {
            parse_device(&s.to_string(), None)?;
        } else if let Ok(d) = a.extract::<PyDevice>() {
            let _ = d;
        } else if let Ok(t) = a.extract::<PyRef<'_, PyTensor>>() {
            dtype = Some(t.t.dtype()); // to(other): other's dtype (and device)
        } else if a.is_none() {
        } else {
            dtype = Some(to_dtype(&a)?);
        }
    }
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            match k.extract::<String>()?.as_str() {
                "dtype" if !v.is_none() => dtype = Some(to_dtype(&v)?),
                "device" if !v.is_none() => {
                    if let Ok(s) = v.cast::<PyString>() {
                        parse_device(&s.to_string(), None)?;
                    }
                }
                "copy" => copy = v.is_truthy()?,
                "non_blocking" | "memory_format" | "dtype" | "device" => {}
                other => return Err(type_error(format!("to() got an unexpected keyword argument '{other}'"))),
            }
        }
    }
    Ok((dtype, copy))
}

#[pymethods]
impl PyTensor {
    /// `ember.Tensor(data)`, `ember.Tensor(*sizes)` (uninitialised in PyTorch; zeros here) or
    /// `ember.Tensor(tensor)` (the same data, for subclasses such as `nn.Parameter`).
    #[new]
    #[pyo3(signature = (*args))]
    fn py_new(args: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        if args.is_empty() {
            return Ok(PyTensor::new(Tensor::zeros(&[0], crate::dtype::default_dtype()).py()?));
        }
        let first = args.get_item(0)?;
        if args.len() == 1 {
            if let Ok(t) = first.extract::<PyRef<'_, PyTensor>>() {
                return Ok(PyTensor::new(t.t.clone()));
            }
            if !first.is_instance_of::<pyo3::types::PyInt>() {
                let t = tensor_from_py(&first, None)?;
                let t = if t.dtype().is_float() { t } else { t.to_dtype(crate::dtype::default_dtype()).py()? };
                return Ok(PyTensor::new(t));
            }
        }
        let sizes = crate::args::to_usizes(&crate::args::varargs_sizes(args, "size")?, "Tensor")?;
        Ok(PyTensor::new(Tensor::zeros(&sizes, crate::dtype::default_dtype()).py()?))
    }

    fn __repr__(&self) -> String {
        self.t.to_string()
    }

    fn __str__(&self) -> String {
        self.t.to_string()
    }

    fn __len__(&self) -> PyResult<usize> {
        if self.t.dim() == 0 {
            return Err(PyTypeError::new_err("len() of a 0-d tensor"));
        }
        Ok(self.t.shape()[0])
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let t = slf.borrow().t.clone();
        if t.dim() == 0 {
            return Err(PyTypeError::new_err("iteration over a 0-d tensor"));
        }
        let items: Vec<PyTensor> =
            (0..t.shape()[0] as isize).map(|i| t.select(0, i).map(PyTensor::new)).collect::<ember::Result<_>>().py()?;
        let list = pyo3::types::PyList::new(slf.py(), items)?;
        Ok(list.try_iter()?.into_any().unbind())
    }

    fn __bool__(&self) -> PyResult<bool> {
        if self.t.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!(
                "Boolean value of Tensor with {} values is ambiguous",
                if self.t.numel() == 0 { "no".to_string() } else { "more than one".to_string() }
            )));
        }
        Ok(self.t.to_f64_vec().py()?[0] != 0.0)
    }

    fn __float__(&self) -> PyResult<f64> {
        self.scalar_f64("float")
    }

    fn __int__(&self) -> PyResult<i64> {
        if self.t.dtype().is_float() {
            return Ok(self.scalar_f64("int")?.trunc() as i64);
        }
        self.scalar_i64("int")
    }

    fn __index__(&self) -> PyResult<i64> {
        if self.t.dtype().is_float() {
            return Err(PyTypeError::new_err("only integer tensors of a single element can be converted to an index"));
        }
        self.scalar_i64("index")
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    /// The value of a one-element tensor as a Python number.
    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.t.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!(
                "a Tensor with {} elements cannot be converted to Scalar",
                self.t.numel()
            )));
        }
        to_list(py, &self.t.reshape_to_scalar().py()?)
    }

    /// The values as nested Python lists (a number for 0-d tensors).
    fn tolist(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_list(py, &self.t)
    }

    // ---- attributes

    #[getter]
    fn shape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        size_of(py, self.t.shape())
    }

    /// `size()` (an `ember.Size`) or `size(dim)` (an int).
    #[pyo3(signature = (dim=None))]
    fn size(&self, py: Python<'_>, dim: Option<isize>) -> PyResult<Py<PyAny>> {
        match dim {
            None => size_of(py, self.t.shape()),
            Some(d) => Ok(self.t.size(d).py()?.into_pyobject(py)?.into_any().unbind()),
        }
    }

    fn dim(&self) -> usize {
        self.t.dim()
    }

    fn ndimension(&self) -> usize {
        self.t.dim()
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.t.dim()
    }

    fn numel(&self) -> usize {
        self.t.numel()
    }

    fn nelement(&self) -> usize {
        self.t.numel()
    }

    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyDType>> {
        PyDType::object(py, self.t.dtype())
    }

    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice { r#type: "cpu".into(), index: None }
    }

    #[getter]
    fn is_cuda(&self) -> bool {
        false
    }

    #[getter]
    fn is_leaf(&self) -> bool {
        self.t.is_leaf()
    }

    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.t.requires_grad()
    }

    #[setter(requires_grad)]
    fn set_requires_grad(&self, on: bool) -> PyResult<()> {
        self.t.set_requires_grad(on).py().map(|_| ())
    }

    /// Sets `requires_grad` in place and returns the tensor.
    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_(slf: &Bound<'_, Self>, requires_grad: bool) -> PyResult<Py<PyTensor>> {
        slf.borrow().t.set_requires_grad(requires_grad).py()?;
        Ok(slf.clone().unbind())
    }

    #[getter]
    fn get_grad(&self) -> Option<PyTensor> {
        self.t.grad().map(PyTensor::new)
    }

    #[setter(grad)]
    fn set_grad(&self, g: Option<PyRef<'_, PyTensor>>) -> PyResult<()> {
        if let Some(g) = &g {
            if g.t.shape() != self.t.shape() {
                return Err(PyRuntimeError::new_err(format!(
                    "assigned grad has data of a different size ({:?} vs {:?})",
                    g.t.shape(),
                    self.t.shape()
                )));
            }
        }
        self.t.set_grad(g.map(|g| g.t.clone()));
        Ok(())
    }

    #[getter]
    fn grad_fn(&self) -> Option<PyNode> {
        self.t.grad_fn_name().map(|name| PyNode { name })
    }

    /// The data without history, sharing storage (`.data`).
    #[getter]
    fn get_data(&self) -> PyTensor {
        PyTensor::new(self.t.detach())
    }

    /// `x.data = y`: this tensor now holds `y`'s data (its history and `requires_grad` kept).
    #[setter(data)]
    fn set_data(&mut self, data: PyRef<'_, PyTensor>) -> PyResult<()> {
        let rg = self.t.requires_grad() && self.t.is_leaf();
        let grad = self.t.grad();
        self.t = data.t.detach();
        if rg && self.t.dtype().is_float() {
            self.t = self.t.set_requires_grad(true).py()?;
        }
        self.t.set_grad(grad);
        Ok(())
    }

    #[getter(T)]
    fn transposed(&self) -> PyResult<PyTensor> {
        let perm: Vec<isize> = (0..self.t.dim() as isize).rev().collect();
        Ok(PyTensor::new(self.t.permute(&perm).py()?))
    }

    #[getter(mT)]
    fn matrix_transposed(&self) -> PyResult<PyTensor> {
        if self.t.dim() < 2 {
            return Err(PyRuntimeError::new_err("tensor.mT is only supported on matrices or batches of matrices"));
        }
        Ok(PyTensor::new(self.t.transpose(-2, -1).py()?))
    }

    fn is_floating_point(&self) -> bool {
        self.t.dtype().is_float()
    }

    fn is_complex(&self) -> bool {
        false
    }

    fn element_size(&self) -> usize {
        self.t.dtype().size_in_bytes()
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.t.dtype().size_in_bytes()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.t.numel() * self.t.dtype().size_in_bytes()
    }

    #[pyo3(signature = (memory_format=None))]
    fn is_contiguous(&self, memory_format: Option<&Bound<'_, PyAny>>) -> bool {
        let _ = memory_format;
        self.t.is_contiguous()
    }

    /// Strides in elements: all of them, or of one dim.
    #[pyo3(signature = (dim=None))]
    fn stride(&self, py: Python<'_>, dim: Option<isize>) -> PyResult<Py<PyAny>> {
        match dim {
            None => Ok(PyTuple::new(py, self.t.strides())?.into_any().unbind()),
            Some(d) => {
                let n = self.t.dim() as isize;
                let i = if d < 0 { d + n } else { d };
                if i < 0 || i >= n {
                    return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                        "Dimension out of range (expected to be in range of [{}, {}], but got {d})",
                        -n,
                        n - 1
                    )));
                }
                Ok(self.t.strides()[i as usize].into_pyobject(py)?.into_any().unbind())
            }
        }
    }

    fn storage_offset(&self) -> usize {
        self.t.storage_offset()
    }

    fn data_ptr(&self) -> usize {
        self.t.data_ptr()
    }

    /// Elements in the whole storage behind this view (`Tensor.untyped_storage()` reads it).
    fn _storage_len(&self) -> usize {
        self.t.storage_len()
    }

    // ---- conversions

    /// `to(dtype)`, `to("cpu")`, `to(other)`, `to(device, dtype)`, with `copy=`.
    #[pyo3(signature = (*args, **kwargs))]
    fn to(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyTensor>> {
        let (dtype, copy) = parse_to(args, kwargs)?;
        let t = slf.borrow().t.clone();
        let out = match dtype {
            Some(d) if d != t.dtype() => t.to_dtype(d).py()?,
            _ if copy => t.deep_clone().py()?,
            _ => return Ok(slf.clone().unbind()),
        };
        Py::new(slf.py(), PyTensor::new(out))
    }

    /// `type(dtype)`, or the type name (`'torch.FloatTensor'`) without an argument.
    #[pyo3(signature = (dtype=None))]
    fn r#type(slf: &Bound<'_, Self>, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let t = slf.borrow().t.clone();
        match dtype {
            None => {
                let n = crate::dtype::PyDType::scalar_type_name(t.dtype());
                Ok(PyString::new(slf.py(), &format!("torch.{n}Tensor")).into_any().unbind())
            }
            Some(d) => Ok(Py::new(slf.py(), PyTensor::new(t.to_dtype(to_dtype(d)?).py()?))?.into_any()),
        }
    }

    /// The same tensor (there is only the CPU).
    #[pyo3(signature = (*args, **kwargs))]
    fn cpu(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> Py<PyTensor> {
        let _ = (args, kwargs);
        slf.clone().unbind()
    }

    /// Refused: Ember has no CUDA backend.
    #[pyo3(signature = (*args, **kwargs))]
    fn cuda(&self, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyTensor> {
        let _ = (args, kwargs);
        Err(PyRuntimeError::new_err("Ember has no CUDA backend yet: tensors live on the CPU"))
    }

    /// A copy of the data (`clone()`): gradients flow back to this tensor.
    #[pyo3(signature = (*, memory_format=None))]
    fn clone(&self, py: Python<'_>, memory_format: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let _ = memory_format;
        let t = self.t.clone();
        Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.deep_clone()).py()?))
    }

    #[pyo3(signature = (memory_format=None))]
    fn contiguous(slf: &Bound<'_, Self>, memory_format: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyTensor>> {
        let _ = memory_format;
        let t = slf.borrow().t.clone();
        if t.is_contiguous() {
            return Ok(slf.clone().unbind());
        }
        Py::new(slf.py(), PyTensor::new(t.contiguous().py()?))
    }

    /// The data cut from the graph (shares storage).
    fn detach(&self) -> PyTensor {
        PyTensor::new(self.t.detach())
    }

    /// Cuts this tensor from the graph in place.
    fn detach_(slf: &Bound<'_, Self>) -> Py<PyTensor> {
        let d = slf.borrow().t.detach();
        slf.borrow_mut().t = d;
        slf.clone().unbind()
    }

    fn retain_grad(&self) {
        self.t.retain_grad();
    }

    /// Backpropagates (`gradient` is required for non-scalar outputs).
    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false, inputs=None))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<PyRef<'_, PyTensor>>,
        retain_graph: Option<bool>,
        create_graph: bool,
        inputs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if inputs.is_some_and(|i| !i.is_none()) {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err("backward(inputs=...) is not supported yet"));
        }
        let g = match gradient {
            Some(g) => g.t.clone(),
            None => {
                if self.t.numel() != 1 {
                    return Err(PyRuntimeError::new_err("grad can be implicitly created only for scalar outputs"));
                }
                Tensor::ones_like(&self.t).py()?
            }
        };
        let t = self.t.clone();
        let retain = retain_graph.unwrap_or(create_graph);
        py.detach(|| t.backward_opts(&g, retain, create_graph)).py()
    }

    /// Registers `hook(grad)`, called during backward; it may return a replacement gradient.
    /// Returns a handle whose `remove()` unregisters it.
    fn register_hook(&self, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        let removed = Arc::new(AtomicBool::new(false));
        let gone = removed.clone();
        if !self.t.requires_grad() {
            return Err(PyRuntimeError::new_err("cannot register a hook on a tensor that doesn't require gradient"));
        }
        self.t.register_hook(move |g: &Tensor| {
            if gone.load(Ordering::Relaxed) {
                return Ok(None);
            }
            Python::attach(|py| {
                let r = hook.call1(py, (PyTensor::new(g.clone()),)).map_err(stash)?;
                if r.is_none(py) {
                    return Ok(None);
                }
                let b = r.bind(py);
                match b.extract::<PyRef<'_, PyTensor>>() {
                    Ok(t) => Ok(Some(t.t.clone())),
                    Err(_) => {
                        Err(stash(type_error(format!("hook returned {}, expected a Tensor or None", type_name(b)))))
                    }
                }
            })
        });
        Ok(RemovableHandle { removed })
    }

    /// Registers `hook(param)`, called after backward has accumulated this leaf's gradient
    /// into `.grad` (torch's `register_post_accumulate_grad_hook`); its result is ignored.
    fn register_post_accumulate_grad_hook(&self, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        let removed = Arc::new(AtomicBool::new(false));
        let gone = removed.clone();
        // The hook gets a handle on the same tensor (same data and `.grad`); holding the
        // Python object itself here would be a reference cycle Python cannot collect.
        self.t
            .register_post_accumulate_grad_hook(move |p| {
                if gone.load(Ordering::Relaxed) {
                    return Ok(());
                }
                Python::attach(|py| hook.call1(py, (PyTensor::new(p.clone()),)).map(drop).map_err(stash))
            })
            .py()?;
        Ok(RemovableHandle { removed })
    }

    #[getter]
    fn retains_grad(&self) -> bool {
        !self.t.is_leaf() && self.t.grad().is_some()
    }

    fn __getstate__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("pickling ember tensors is not supported; use ember.save"))
    }

    /// The dims as a list (`dim_order` helpers use this; also `x.size()` unpacking).
    fn __dims__(&self) -> Vec<usize> {
        self.t.shape().to_vec()
    }
}

macro_rules! dtype_casts {
    ($($name:ident => $d:expr),*) => {
        #[pymethods]
        impl PyTensor {
            $(
                #[doc = concat!("This tensor as `", stringify!($d), "` (itself when already).")]
                #[pyo3(signature = (memory_format=None))]
                fn $name(slf: &Bound<'_, Self>, memory_format: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyTensor>> {
                    let _ = memory_format;
                    let t = slf.borrow().t.clone();
                    if t.dtype() == $d {
                        return Ok(slf.clone().unbind());
                    }
                    Py::new(slf.py(), PyTensor::new(t.to_dtype($d).py()?))
                }
            )*
        }
    };
}
dtype_casts!(float => DType::F32, double => DType::F64, half => DType::F16, bfloat16 => DType::BF16,
             long => DType::I64, int => DType::I32, short => DType::I16, char => DType::I8, byte => DType::U8,
             bool => DType::Bool);

impl PyTensor {
    fn scalar_f64(&self, what: &str) -> PyResult<f64> {
        if self.t.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "only one element tensors can be converted to Python scalars ({what})"
            )));
        }
        Ok(self.t.to_f64_vec().py()?[0])
    }

    fn scalar_i64(&self, what: &str) -> PyResult<i64> {
        if self.t.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "only one element tensors can be converted to Python scalars ({what})"
            )));
        }
        Ok(self.t.to_dtype(DType::I64).py()?.to_vec::<i64>().py()?[0])
    }
}

/// A one-element tensor as 0-d.
pub trait ToScalarShape {
    fn reshape_to_scalar(&self) -> ember::Result<Tensor>;
}

impl ToScalarShape for Tensor {
    fn reshape_to_scalar(&self) -> ember::Result<Tensor> {
        self.reshape([0usize; 0])
    }
}

/// What `register_hook` returns (`torch.utils.hooks.RemovableHandle`): `remove()` turns the
/// hook off; usable as a context manager.
#[pyclass(name = "RemovableHandle", module = "ember.utils.hooks")]
pub struct RemovableHandle {
    removed: Arc<AtomicBool>,
}

#[pymethods]
impl RemovableHandle {
    /// Unregisters the hook.
    fn remove(&self) {
        self.removed.store(true, Ordering::Relaxed);
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(&self, _t: &Bound<'_, PyAny>, _v: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) {
        self.remove();
    }
}
