//! Tensor methods with PyTorch's signatures (positional order, keyword names, defaults):
//! reductions, shape ops, indexing ops, linear algebra and in-place updates. The elementwise
//! table ops come from `operators.rs`; `ember/__init__.py` also makes a module function of
//! each method (`ember.sum(x, dim=1)` is `x.sum(dim=1)`).

use crate::args::{int_list, maybe_detach, opt_dims, sizes_or_keyword, to_usizes, varargs_sizes};
use crate::convert::{operand, required_operand, to_tensor};
use crate::dtype::opt_dtype;
use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

type R = PyResult<PyTensor>;

fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

/// A `(values, indices)` named tuple (`torch.return_types.max`, ...).
pub fn return_type(py: Python<'_>, name: &str, a: Tensor, b: Tensor) -> PyResult<Py<PyAny>> {
    static MODULE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || py.import("ember.return_types").map(|m| m.into_any().unbind()))?;
    Ok(m.bind(py).getattr(name)?.call1((PyTensor::new(a), PyTensor::new(b)))?.unbind())
}

/// Normalised, sorted, de-duplicated dims of `t` (an empty list means all dims).
fn reduce_dims(t: &Tensor, dims: Option<Vec<isize>>) -> Vec<isize> {
    match dims {
        None => (0..t.dim() as isize).collect(),
        Some(d) if d.is_empty() => (0..t.dim() as isize).collect(),
        Some(d) => d,
    }
}

/// `x` converted for a reduction's `dtype=` argument.
fn with_dtype(t: &Tensor, dtype: Option<DType>) -> ember::Result<Tensor> {
    match dtype {
        Some(d) => t.to_dtype(d),
        None => Ok(t.clone()),
    }
}

/// Sum of squared deviations over `dims` divided by `n - correction`.
fn variance(t: &Tensor, dims: &[isize], correction: f64, keepdim: bool) -> ember::Result<Tensor> {
    let n: usize = if t.dim() == 0 {
        1
    } else {
        dims.iter().map(|&d| t.size(d)).collect::<ember::Result<Vec<_>>>()?.iter().product()
    };
    let mean = t.sum_dims_keep(dims, true)?.div_scalar(n as f64)?;
    let dev = t.sub(&mean)?.square()?.sum_dims_keep(dims, keepdim)?;
    dev.div_scalar((n as f64 - correction).max(0.0))
}

fn correction_of(unbiased: Option<&Bound<'_, PyAny>>, correction: Option<f64>) -> PyResult<f64> {
    if let Some(c) = correction {
        return Ok(c);
    }
    match unbiased {
        Some(u) if !u.is_none() => Ok(if u.is_truthy()? { 1.0 } else { 0.0 }),
        _ => Ok(1.0),
    }
}

/// `var(dim, unbiased)` positional forms: the first positional may be `unbiased` (a bool).
fn split_dim_unbiased<'py>(
    dim: Option<&Bound<'py, PyAny>>,
    unbiased: Option<&Bound<'py, PyAny>>,
) -> (Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>) {
    match dim {
        Some(d) if d.is_instance_of::<pyo3::types::PyBool>() => (None, Some(d.clone())),
        _ => (dim.cloned(), unbiased.cloned()),
    }
}

#[pymethods]
impl PyTensor {
    // ---- reductions

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let (t, d) = (self.t.clone(), opt_dtype(dtype)?);
        wrap(maybe_detach(py, t.numel(), || with_dtype(&t, d)?.sum_dims_keep(&dims, keepdim)))
    }

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn nansum(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let (t, d) = (self.t.clone(), opt_dtype(dtype)?);
        wrap(maybe_detach(py, t.numel(), || {
            let t = with_dtype(&t, d)?;
            t.masked_fill(&t.isnan()?, 0.0)?.sum_dims_keep(&dims, keepdim)
        }))
    }

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn mean(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let (t, d) = (self.t.clone(), opt_dtype(dtype)?);
        if d.is_none() && !t.dtype().is_float() {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err(format!(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {}",
                crate::dtype::PyDType::scalar_type_name(t.dtype())
            )));
        }
        wrap(maybe_detach(py, t.numel(), || {
            let t = with_dtype(&t, d)?;
            let n: usize = if t.dim() == 0 {
                1
            } else {
                dims.iter().map(|&x| t.size(x)).collect::<ember::Result<Vec<_>>>()?.iter().product()
            };
            t.sum_dims_keep(&dims, keepdim)?.div_scalar(n as f64)
        }))
    }

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn prod(&self, dim: Option<isize>, keepdim: bool, dtype: Option<&Bound<'_, PyAny>>) -> R {
        let t = with_dtype(&self.t, opt_dtype(dtype)?).py()?;
        match dim {
            Some(d) => wrap(t.prod_dim(d, keepdim)),
            None => wrap(t.reshape(&[-1]).and_then(|f| f.prod_dim(0, false))),
        }
    }

    /// `max()`, `max(dim, keepdim)` (values, indices) or `max(other)` (elementwise).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn max(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<Py<PyAny>> {
        self.extreme(py, dim, keepdim, true)
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn min(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<Py<PyAny>> {
        self.extreme(py, dim, keepdim, false)
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amax(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R {
        self.extreme_dims(dim, keepdim, true)
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amin(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R {
        self.extreme_dims(dim, keepdim, false)
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmax(&self, dim: Option<isize>, keepdim: bool) -> R {
        match dim {
            Some(d) => wrap(self.t.argmax(d, keepdim)),
            None => wrap(self.t.reshape(&[-1]).and_then(|f| f.argmax(0, false))),
        }
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmin(&self, dim: Option<isize>, keepdim: bool) -> R {
        match dim {
            Some(d) => wrap(self.t.argmin(d, keepdim)),
            None => wrap(self.t.reshape(&[-1]).and_then(|f| f.argmin(0, false))),
        }
    }

    /// `var(dim=None, *, correction=1, keepdim=False)` (and the older `unbiased=`).
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn var(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> R {
        let (dim, unbiased) = split_dim_unbiased(dim, unbiased);
        let dims = reduce_dims(&self.t, opt_dims(dim.as_ref(), "dim")?);
        let c = correction_of(unbiased.as_ref(), correction)?;
        wrap(variance(&self.t, &dims, c, keepdim))
    }

    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn std(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> R {
        let (dim, unbiased) = split_dim_unbiased(dim, unbiased);
        let dims = reduce_dims(&self.t, opt_dims(dim.as_ref(), "dim")?);
        let c = correction_of(unbiased.as_ref(), correction)?;
        wrap(variance(&self.t, &dims, c, keepdim).and_then(|v| v.sqrt()))
    }

    #[pyo3(signature = (dim, keepdim=false))]
    fn logsumexp(&self, dim: &Bound<'_, PyAny>, keepdim: bool) -> R {
        let dims = int_list(dim, "dim")?;
        let mut out = self.t.clone();
        // One dim at a time, from the last, keeping dims so indices stay valid.
        let mut sorted: Vec<usize> =
            dims.iter().map(|&d| if d < 0 { (d + self.t.dim() as isize) as usize } else { d as usize }).collect();
        sorted.sort_unstable();
        for &d in sorted.iter().rev() {
            out = out.logsumexp(d as isize, true).py()?;
        }
        if !keepdim {
            for &d in sorted.iter().rev() {
                out = out.squeeze_dim(d as isize).py()?;
            }
        }
        Ok(PyTensor::new(out))
    }

    #[pyo3(signature = (dim=None, _stacklevel=3, dtype=None))]
    fn softmax(&self, py: Python<'_>, dim: Option<isize>, _stacklevel: i64, dtype: Option<&Bound<'_, PyAny>>) -> R {
        let d = dim.ok_or_else(|| type_error("softmax() missing required argument 'dim'"))?;
        let t = with_dtype(&self.t, opt_dtype(dtype)?).py()?;
        wrap(maybe_detach(py, t.numel(), || t.softmax(d)))
    }

    #[pyo3(signature = (dim=None, _stacklevel=3, dtype=None))]
    fn log_softmax(&self, py: Python<'_>, dim: Option<isize>, _stacklevel: i64, dtype: Option<&Bound<'_, PyAny>>) -> R {
        let d = dim.ok_or_else(|| type_error("log_softmax() missing required argument 'dim'"))?;
        let t = with_dtype(&self.t, opt_dtype(dtype)?).py()?;
        wrap(maybe_detach(py, t.numel(), || t.log_softmax(d)))
    }

    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumsum(&self, dim: isize, dtype: Option<&Bound<'_, PyAny>>) -> R {
        wrap(with_dtype(&self.t, opt_dtype(dtype)?).and_then(|t| t.cumsum(dim)))
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn all(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let zeros = self.t.eq_scalar(0.0).py()?.to_dtype(DType::I64).py()?;
        wrap(zeros.sum_dims_keep(&dims, keepdim).and_then(|s| s.eq_scalar(0.0)))
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn any(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let nz = self.t.ne_scalar(0.0).py()?.to_dtype(DType::I64).py()?;
        wrap(nz.sum_dims_keep(&dims, keepdim).and_then(|s| s.ne_scalar(0.0)))
    }

    fn logical_and(&self, other: &Bound<'_, PyAny>) -> R {
        wrap(self.t.logical_and(&required_operand(&self.t, other, "logical_and")?))
    }

    fn logical_or(&self, other: &Bound<'_, PyAny>) -> R {
        wrap(self.t.logical_or(&required_operand(&self.t, other, "logical_or")?))
    }

    fn logical_xor(&self, other: &Bound<'_, PyAny>) -> R {
        let o = required_operand(&self.t, other, "logical_xor")?;
        wrap(self.t.ne_scalar(0.0).and_then(|a| a.ne(&o.ne_scalar(0.0)?)))
    }

    fn logical_not(&self) -> R {
        wrap(self.t.logical_not())
    }

    fn isnan(&self) -> R {
        wrap(self.t.isnan())
    }

    fn isinf(&self) -> R {
        wrap(self.t.isinf())
    }

    fn isfinite(&self) -> R {
        wrap(self.t.isfinite())
    }

    // ---- shape

    #[pyo3(signature = (*sizes, shape=None))]
    fn reshape(&self, sizes: &Bound<'_, PyTuple>, shape: Option<&Bound<'_, PyAny>>) -> R {
        let shape = sizes_or_keyword(sizes, shape, "shape")?;
        wrap(self.t.reshape(shape))
    }

    #[pyo3(signature = (*shape, size=None))]
    fn view(&self, shape: &Bound<'_, PyTuple>, size: Option<&Bound<'_, PyAny>>) -> R {
        if shape.len() == 1 {
            if let Ok(d) = crate::dtype::to_dtype(&shape.get_item(0)?) {
                if d == self.t.dtype() {
                    return Ok(PyTensor::new(self.t.clone()));
                }
                return Err(pyo3::exceptions::PyNotImplementedError::new_err(
                    "view(dtype) reinterpreting the bytes is not supported",
                ));
            }
        }
        wrap(self.t.view(sizes_or_keyword(shape, size, "size")?))
    }

    fn view_as(&self, other: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.view(other.t.shape()))
    }

    fn reshape_as(&self, other: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.reshape(other.t.shape()))
    }

    #[pyo3(signature = (start_dim=0, end_dim=-1))]
    fn flatten(&self, start_dim: isize, end_dim: isize) -> R {
        wrap(self.t.flatten(start_dim, end_dim))
    }

    fn unflatten(&self, dim: isize, sizes: &Bound<'_, PyAny>) -> R {
        let sizes = int_list(sizes, "sizes")?;
        let d = if dim < 0 { dim + self.t.dim() as isize } else { dim };
        if d < 0 || d as usize >= self.t.dim() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!("unflatten(): dim {dim} out of range")));
        }
        let mut shape: Vec<isize> = self.t.shape()[..d as usize].iter().map(|&x| x as isize).collect();
        shape.extend(sizes);
        shape.extend(self.t.shape()[d as usize + 1..].iter().map(|&x| x as isize));
        wrap(self.t.reshape(shape))
    }

    #[pyo3(signature = (*sizes, dims=None))]
    fn permute(&self, sizes: &Bound<'_, PyTuple>, dims: Option<&Bound<'_, PyAny>>) -> R {
        let dims = sizes_or_keyword(sizes, dims, "dims")?;
        wrap(self.t.permute(dims))
    }

    fn transpose(&self, dim0: isize, dim1: isize) -> R {
        wrap(self.t.transpose(dim0, dim1))
    }

    fn swapaxes(&self, axis0: isize, axis1: isize) -> R {
        wrap(self.t.transpose(axis0, axis1))
    }

    fn swapdims(&self, dim0: isize, dim1: isize) -> R {
        wrap(self.t.transpose(dim0, dim1))
    }

    fn t(&self) -> R {
        wrap(self.t.t())
    }

    fn unsqueeze(&self, dim: isize) -> R {
        wrap(self.t.unsqueeze(dim))
    }

    #[pyo3(signature = (dim=None))]
    fn squeeze(&self, dim: Option<&Bound<'_, PyAny>>) -> R {
        match opt_dims(dim, "dim")? {
            None => wrap(self.t.squeeze()),
            Some(dims) => {
                let n = self.t.dim() as isize;
                let mut ds: Vec<isize> = dims.iter().map(|&d| if d < 0 { d + n.max(1) } else { d }).collect();
                ds.sort_unstable();
                let mut out = self.t.clone();
                for &d in ds.iter().rev() {
                    out = out.squeeze_dim(d).py()?;
                }
                Ok(PyTensor::new(out))
            }
        }
    }

    #[pyo3(signature = (*sizes, size=None))]
    fn expand(&self, sizes: &Bound<'_, PyTuple>, size: Option<&Bound<'_, PyAny>>) -> R {
        let sizes = sizes_or_keyword(sizes, size, "size")?;
        wrap(self.t.expand(sizes))
    }

    fn expand_as(&self, other: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.broadcast_to(other.t.shape()))
    }

    fn broadcast_to(&self, size: &Bound<'_, PyAny>) -> R {
        wrap(self.t.expand(int_list(size, "size")?))
    }

    fn narrow(&self, dim: isize, start: isize, length: usize) -> R {
        let size = self.t.size(dim).py()? as isize;
        let s = if start < 0 { start + size } else { start };
        if s < 0 {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "start ({start}) out of range for dimension of size {size}"
            )));
        }
        wrap(self.t.narrow(dim, s as usize, length))
    }

    fn select(&self, dim: isize, index: isize) -> R {
        wrap(self.t.select(dim, index))
    }

    /// `split(split_size)` into equal parts, or `split([sizes])`.
    #[pyo3(signature = (split_size_or_sections, dim=0))]
    fn split(&self, py: Python<'_>, split_size_or_sections: &Bound<'_, PyAny>, dim: isize) -> PyResult<Py<PyAny>> {
        let parts = if let Ok(n) = split_size_or_sections.extract::<usize>() {
            self.t.split(n, dim).py()?
        } else {
            let sizes = int_list(split_size_or_sections, "split_size_or_sections")?;
            let total = self.t.size(dim).py()? as isize;
            if sizes.iter().sum::<isize>() != total || sizes.iter().any(|&s| s < 0) {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "split_with_sizes expects split_sizes to sum exactly to {total} (input tensor's size at dimension {dim}), but got split_sizes={sizes:?}"
                )));
            }
            let mut start = 0usize;
            let mut out = Vec::new();
            for s in sizes {
                out.push(self.t.narrow(dim, start, s as usize).py()?);
                start += s as usize;
            }
            out
        };
        tensors_tuple(py, parts)
    }

    #[pyo3(signature = (chunks, dim=0))]
    fn chunk(&self, py: Python<'_>, chunks: usize, dim: isize) -> PyResult<Py<PyAny>> {
        tensors_tuple(py, self.t.chunk(chunks, dim).py()?)
    }

    #[pyo3(signature = (dim=0))]
    fn unbind(&self, py: Python<'_>, dim: isize) -> PyResult<Py<PyAny>> {
        let n = self.t.size(dim).py()?;
        let parts = (0..n as isize).map(|i| self.t.select(dim, i)).collect::<ember::Result<Vec<_>>>().py()?;
        tensors_tuple(py, parts)
    }

    #[pyo3(signature = (*sizes, repeats=None))]
    fn repeat(&self, sizes: &Bound<'_, PyTuple>, repeats: Option<&Bound<'_, PyAny>>) -> R {
        let sizes = sizes_or_keyword(sizes, repeats, "repeats")?;
        wrap(self.t.repeat(&to_usizes(&sizes, "repeat")?))
    }

    #[pyo3(signature = (diagonal=0))]
    fn tril(&self, diagonal: isize) -> R {
        wrap(self.t.tril(diagonal))
    }

    #[pyo3(signature = (diagonal=0))]
    fn triu(&self, diagonal: isize) -> R {
        wrap(self.t.triu(diagonal))
    }

    /// Reverses the order along `dims`.
    #[pyo3(signature = (*dims))]
    fn flip(&self, dims: &Bound<'_, PyTuple>) -> R {
        wrap(self.t.flip(&varargs_sizes(dims, "dims")?))
    }

    // ---- indexing ops

    fn index_select(&self, dim: isize, index: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.index_select(dim, &index.t))
    }

    #[pyo3(signature = (dim, index, *, sparse_grad=false))]
    fn gather(&self, dim: isize, index: PyRef<'_, PyTensor>, sparse_grad: bool) -> R {
        let _ = sparse_grad;
        wrap(self.t.gather(dim, &index.t))
    }

    fn scatter_add(&self, dim: isize, index: PyRef<'_, PyTensor>, src: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.scatter_add(dim, &index.t, &src.t))
    }

    #[pyo3(signature = (dim, index, source, *, alpha=1.0))]
    fn index_add(&self, dim: isize, index: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>, alpha: f64) -> R {
        let src = if alpha == 1.0 { source.t.clone() } else { source.t.mul_scalar(alpha).py()? };
        wrap(self.t.index_add(dim, &index.t, &src))
    }

    #[pyo3(signature = (dim, index, source, *, alpha=1.0))]
    fn index_add_(
        slf: &Bound<'_, Self>,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
        alpha: f64,
    ) -> PyResult<Py<PyTensor>> {
        let src = if alpha == 1.0 { source.t.clone() } else { source.t.mul_scalar(alpha).py()? };
        let (t, idx) = (slf.borrow().t.clone(), index.t.clone());
        maybe_detach(slf.py(), src.numel(), || t.index_add_(dim, &idx, &src)).py()?;
        Ok(slf.clone().unbind())
    }

    fn scatter_add_(
        slf: &Bound<'_, Self>,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        src: PyRef<'_, PyTensor>,
    ) -> PyResult<Py<PyTensor>> {
        let (t, idx, src) = (slf.borrow().t.clone(), index.t.clone(), src.t.clone());
        maybe_detach(slf.py(), src.numel(), || t.scatter_add_(dim, &idx, &src)).py()?;
        Ok(slf.clone().unbind())
    }

    fn masked_fill(&self, mask: PyRef<'_, PyTensor>, value: &Bound<'_, PyAny>) -> R {
        let v: f64 = match value.extract::<PyRef<'_, PyTensor>>() {
            Ok(t) => t.t.to_f64_vec().py()?.first().copied().unwrap_or(0.0),
            Err(_) => value.extract()?,
        };
        wrap(self.t.masked_fill(&mask.t, v))
    }

    fn masked_select(&self, mask: PyRef<'_, PyTensor>) -> R {
        let m = mask.t.broadcast_to(self.t.shape()).py()?;
        wrap(self.t.index(&[ember::TensorIndex::from(&m)]))
    }

    /// `x.where(condition, y)`: `x` where `condition`, else `y`.
    #[pyo3(name = "where")]
    fn where_(&self, condition: PyRef<'_, PyTensor>, other: &Bound<'_, PyAny>) -> R {
        let o = required_operand(&self.t, other, "where")?;
        wrap(Tensor::where_cond(&condition.t, &self.t, &o))
    }

    #[pyo3(signature = (min=None, max=None))]
    fn clamp(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> R {
        clamp_impl(&self.t, min, max)
    }

    #[pyo3(signature = (min=None, max=None))]
    fn clip(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> R {
        clamp_impl(&self.t, min, max)
    }

    #[pyo3(signature = (*, as_tuple=false))]
    fn nonzero(&self, py: Python<'_>, as_tuple: bool) -> PyResult<Py<PyAny>> {
        let nz = self.t.nonzero().py()?;
        if as_tuple {
            let cols =
                (0..nz.shape()[1].max(1) as isize).map(|j| nz.select(1, j)).collect::<ember::Result<Vec<_>>>().py()?;
            return tensors_tuple(py, cols);
        }
        Ok(PyTensor::new(nz).into_pyobject(py)?.into_any().unbind())
    }

    // ---- linear algebra

    fn matmul(&self, py: Python<'_>, other: PyRef<'_, PyTensor>) -> R {
        let (a, b) = (self.t.clone(), other.t.clone());
        wrap(maybe_detach(py, a.numel().max(b.numel()), || a.matmul(&b)))
    }

    fn mm(&self, py: Python<'_>, mat2: PyRef<'_, PyTensor>) -> R {
        let (a, b) = (self.t.clone(), mat2.t.clone());
        wrap(maybe_detach(py, a.numel().max(b.numel()), || a.mm(&b)))
    }

    fn bmm(&self, py: Python<'_>, mat2: PyRef<'_, PyTensor>) -> R {
        if self.t.dim() != 3 || mat2.t.dim() != 3 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("batch1 and batch2 must be 3D tensors"));
        }
        let (a, b) = (self.t.clone(), mat2.t.clone());
        wrap(maybe_detach(py, a.numel().max(b.numel()), || a.matmul(&b)))
    }

    fn mv(&self, vec: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.matmul(&vec.t))
    }

    fn dot(&self, other: PyRef<'_, PyTensor>) -> R {
        if self.t.dim() != 1 || other.t.dim() != 1 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("1D tensors expected, but got other shapes"));
        }
        wrap(self.t.matmul(&other.t))
    }

    fn outer(&self, vec2: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.outer(&vec2.t))
    }

    // ---- arithmetic with PyTorch's extra arguments

    #[pyo3(signature = (other, *, alpha=None))]
    fn add(&self, py: Python<'_>, other: &Bound<'_, PyAny>, alpha: Option<f64>) -> R {
        let o = scaled(&self.t, other, alpha, "add")?;
        let a = self.t.clone();
        wrap(maybe_detach(py, a.numel(), || a.add(&o)))
    }

    #[pyo3(signature = (other, *, alpha=None))]
    fn sub(&self, py: Python<'_>, other: &Bound<'_, PyAny>, alpha: Option<f64>) -> R {
        let o = scaled(&self.t, other, alpha, "sub")?;
        let a = self.t.clone();
        wrap(maybe_detach(py, a.numel(), || a.sub(&o)))
    }

    /// `div(other, rounding_mode=None | "trunc" | "floor")`.
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn div(&self, other: &Bound<'_, PyAny>, rounding_mode: Option<&str>) -> R {
        let o = required_operand(&self.t, other, "div")?;
        match rounding_mode {
            None => wrap(self.t.div(&o)),
            Some("floor") => wrap(self.t.floor_divide(&o)),
            Some("trunc") => {
                if self.t.dtype().is_float() || o.dtype().is_float() {
                    wrap(self.t.div(&o).and_then(|q| q.trunc()))
                } else {
                    let q = self.t.to_dtype(DType::F64).py()?.div(&o.to_dtype(DType::F64).py()?).py()?;
                    wrap(q.trunc().and_then(|q| q.to_dtype(ember::result_type(&self.t, &o))))
                }
            }
            Some(m) => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{m}'"
            ))),
        }
    }

    /// `pow(exponent)`: a tensor or a number.
    fn pow(&self, py: Python<'_>, exponent: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__pow__(py, exponent, None)
    }

    // ---- in place

    fn fill_(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let v: f64 = match value.extract::<PyRef<'_, PyTensor>>() {
            Ok(t) => t.t.to_f64_vec().py()?.first().copied().unwrap_or(0.0),
            Err(_) => value.extract()?,
        };
        slf.borrow().t.fill_(v).py()?;
        Ok(slf.clone().unbind())
    }

    fn zero_(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        slf.borrow().t.zero_().py()?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (src, non_blocking=false))]
    fn copy_(slf: &Bound<'_, Self>, src: &Bound<'_, PyAny>, non_blocking: bool) -> PyResult<Py<PyTensor>> {
        let _ = non_blocking;
        let s = to_tensor(src, "copy_(): src")?;
        slf.borrow().t.copy_(&s).py()?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (other, *, alpha=None))]
    fn add_(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, alpha: Option<f64>) -> PyResult<Py<PyTensor>> {
        let t = slf.borrow().t.clone();
        let o = required_operand(&t, other, "add_")?;
        maybe_detach(slf.py(), t.numel(), || t.add_scaled_(&o, alpha.unwrap_or(1.0))).py()?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (other, *, alpha=None))]
    fn sub_(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, alpha: Option<f64>) -> PyResult<Py<PyTensor>> {
        let t = slf.borrow().t.clone();
        let o = required_operand(&t, other, "sub_")?;
        maybe_detach(slf.py(), t.numel(), || t.add_scaled_(&o, -alpha.unwrap_or(1.0))).py()?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (min=None, max=None))]
    fn clamp_(
        slf: &Bound<'_, Self>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let t = slf.borrow().t.clone();
        let r = clamp_impl(&t, min, max)?.t;
        t.update_("clamp_", &[&r], |_| Ok(r.clone())).py()?;
        Ok(slf.clone().unbind())
    }

    fn masked_fill_(slf: &Bound<'_, Self>, mask: PyRef<'_, PyTensor>, value: f64) -> PyResult<Py<PyTensor>> {
        let t = slf.borrow().t.clone();
        t.update_overwriting_("masked_fill_", &[], |s| s.masked_fill(&mask.t, value)).py()?;
        Ok(slf.clone().unbind())
    }
}

impl PyTensor {
    fn extreme(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool, max: bool) -> PyResult<Py<PyAny>> {
        let Some(dim) = dim.filter(|d| !d.is_none()) else {
            let r = if max { self.t.max() } else { self.t.min() };
            return Ok(PyTensor::new(r.py()?).into_pyobject(py)?.into_any().unbind());
        };
        if let Ok(other) = dim.extract::<PyRef<'_, PyTensor>>() {
            let r = if max { self.t.maximum(&other.t) } else { self.t.minimum(&other.t) };
            return Ok(PyTensor::new(r.py()?).into_pyobject(py)?.into_any().unbind());
        }
        let d: isize = dim.extract()?;
        let (v, i) = if max { self.t.max_dim(d, keepdim) } else { self.t.min_dim(d, keepdim) }.py()?;
        return_type(py, if max { "max" } else { "min" }, v, i)
    }

    fn extreme_dims(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool, max: bool) -> R {
        let dims = reduce_dims(&self.t, opt_dims(dim, "dim")?);
        let n = self.t.dim() as isize;
        let mut ds: Vec<isize> = dims.iter().map(|&d| if d < 0 { d + n.max(1) } else { d }).collect();
        ds.sort_unstable();
        ds.dedup();
        let mut out = self.t.clone();
        for &d in ds.iter().rev() {
            out = if max { out.max_dim(d, true) } else { out.min_dim(d, true) }.py()?.0;
        }
        if !keepdim {
            for &d in ds.iter().rev() {
                out = out.squeeze_dim(d).py()?;
            }
        }
        Ok(PyTensor::new(out))
    }
}

/// `other * alpha` as an operand of `add`/`sub`.
fn scaled(t: &Tensor, other: &Bound<'_, PyAny>, alpha: Option<f64>, op: &str) -> PyResult<Tensor> {
    let o = required_operand(t, other, op)?;
    match alpha {
        None => Ok(o),
        Some(1.0) => Ok(o),
        Some(a) => o.mul_scalar(a).py(),
    }
}

/// `clamp` with number or tensor bounds.
pub fn clamp_impl(t: &Tensor, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> R {
    let lo = min.filter(|x| !x.is_none()).cloned();
    let hi = max.filter(|x| !x.is_none()).cloned();
    if lo.is_none() && hi.is_none() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "torch.clamp: At least one of 'min' or 'max' must not be None",
        ));
    }
    let tensor_bound =
        |b: &Option<Bound<'_, PyAny>>| b.as_ref().is_some_and(|x| x.extract::<PyRef<'_, PyTensor>>().is_ok());
    if tensor_bound(&lo) || tensor_bound(&hi) {
        let mut out = t.clone();
        if let Some(l) = &lo {
            out = out
                .maximum(&operand(t, l)?.ok_or_else(|| type_error("clamp(): min must be a number or tensor"))?)
                .py()?;
        }
        if let Some(h) = &hi {
            out = out
                .minimum(&operand(t, h)?.ok_or_else(|| type_error("clamp(): max must be a number or tensor"))?)
                .py()?;
        }
        return Ok(PyTensor::new(out));
    }
    let num =
        |b: &Option<Bound<'_, PyAny>>| -> PyResult<Option<f64>> { b.as_ref().map(|x| x.extract::<f64>()).transpose() };
    wrap(t.clamp(num(&lo)?, num(&hi)?))
}

/// A tuple of tensors.
pub fn tensors_tuple(py: Python<'_>, ts: Vec<Tensor>) -> PyResult<Py<PyAny>> {
    let items: Vec<PyTensor> = ts.into_iter().map(PyTensor::new).collect();
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// A list of tensors from a Python sequence of tensors.
pub fn tensor_list(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Tensor>> {
    let seq = obj.try_iter().map_err(|_| type_error(format!("{what} must be a tuple or list of Tensors")))?;
    seq.map(|x| {
        let x = x?;
        x.extract::<PyRef<'_, PyTensor>>().map(|t| t.t.clone()).map_err(|_| {
            type_error(format!("{what}: expected a sequence of Tensors, but found {}", crate::dtype::type_name(&x)))
        })
    })
    .collect()
}
