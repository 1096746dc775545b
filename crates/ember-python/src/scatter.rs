//! The scatter family and composed math with PyTorch's signatures: `scatter`/`scatter_`,
//! `scatter_reduce`/`scatter_reduce_`, `index_fill`/`index_fill_`, `index_copy`/`index_copy_`,
//! `masked_scatter`/`masked_scatter_`, `hypot`, `fmod`, `copysign`, `heaviside`, `nan_to_num`,
//! `sinc`, `cumprod`, `logcumsumexp`, `diff`, `nanmean`, `histc`.

use crate::args::opt_dims;
use crate::convert::required_operand;
use crate::dtype::opt_dtype;
use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;

type R = PyResult<PyTensor>;
type Slf = PyResult<Py<PyTensor>>;

fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

/// Writes `f(self)` into `slf` (the in-place `_` forms) and returns it; `keep_old` when the
/// op's gradient needs the old value of `self` (see `Tensor::update_`).
fn write_back(
    slf: &Bound<'_, PyTensor>,
    name: &'static str,
    others: &[&Tensor],
    keep_old: bool,
    f: impl FnOnce(&Tensor) -> ember::Result<Tensor>,
) -> Slf {
    let t = slf.borrow().t.clone();
    if keep_old { t.update_(name, others, f) } else { t.update_overwriting_(name, others, f) }.py()?;
    Ok(slf.clone().unbind())
}

/// `scatter`'s source: `src` (a tensor, or a number as torch accepts) or `value`.
fn scatter_of(
    t: &Tensor,
    dim: isize,
    index: &Tensor,
    src: Option<&Bound<'_, PyAny>>,
    value: Option<f64>,
    reduce: Option<&str>,
) -> ember::Result<Tensor> {
    let src_t = src.and_then(|s| s.extract::<PyRef<'_, PyTensor>>().ok().map(|s| s.t.clone()));
    let num = value.or_else(|| src.and_then(|s| s.extract::<f64>().ok()));
    match (reduce, src_t, num) {
        (None, Some(s), _) => t.scatter(dim, index, &s),
        (None, None, Some(v)) => t.scatter_value(dim, index, v),
        (Some(r @ ("add" | "multiply")), src, num) => {
            let how = if r == "add" { "sum" } else { "prod" };
            match (src, num) {
                (Some(s), _) => t.scatter_reduce(dim, index, &s, how, true),
                (None, Some(v)) => {
                    t.scatter_reduce(dim, index, &Tensor::full(&[], v, t.dtype())?.expand(index.shape())?, how, true)
                }
                _ => Err(ember::Error::value("scatter", "scatter() expects a src tensor or a value")),
            }
        }
        (Some(r), _, _) => {
            Err(ember::Error::value("scatter", format!("reduce argument must be either add or multiply, got {r}")))
        }
        _ => Err(ember::Error::value("scatter", "scatter() expects a src tensor or a value")),
    }
}

fn two<'py>(other: &Bound<'py, PyAny>, t: &Tensor, op: &str) -> PyResult<Tensor> {
    required_operand(t, other, op)
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (dim, index, src=None, *, value=None, reduce=None))]
    fn scatter(
        &self,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        src: Option<&Bound<'_, PyAny>>,
        value: Option<f64>,
        reduce: Option<&str>,
    ) -> R {
        wrap(scatter_of(&self.t, dim, &index.t, src, value, reduce))
    }

    #[pyo3(signature = (dim, index, src=None, *, value=None, reduce=None))]
    fn scatter_(
        slf: &Bound<'_, Self>,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        src: Option<&Bound<'_, PyAny>>,
        value: Option<f64>,
        reduce: Option<&str>,
    ) -> Slf {
        let idx = index.t.clone();
        let src_t = src.and_then(|s| s.extract::<PyRef<'_, PyTensor>>().ok().map(|s| s.t.clone()));
        let others: Vec<&Tensor> = src_t.iter().collect();
        if reduce.is_some() {
            return write_back(slf, "scatter_", &others, true, |t| scatter_of(t, dim, &idx, src, value, reduce));
        }
        write_back(slf, "scatter_", &others, false, |t| scatter_of(t, dim, &idx, src, value, reduce))
    }

    #[pyo3(signature = (dim, index, src, reduce, *, include_self=true))]
    fn scatter_reduce(
        &self,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        src: PyRef<'_, PyTensor>,
        reduce: &str,
        include_self: bool,
    ) -> R {
        wrap(self.t.scatter_reduce(dim, &index.t, &src.t, reduce, include_self))
    }

    #[pyo3(signature = (dim, index, src, reduce, *, include_self=true))]
    fn scatter_reduce_(
        slf: &Bound<'_, Self>,
        dim: isize,
        index: PyRef<'_, PyTensor>,
        src: PyRef<'_, PyTensor>,
        reduce: &str,
        include_self: bool,
    ) -> Slf {
        let (i, s) = (index.t.clone(), src.t.clone());
        write_back(slf, "scatter_reduce_", &[&s], true, |t| t.scatter_reduce(dim, &i, &s, reduce, include_self))
    }

    fn index_fill(&self, dim: isize, index: PyRef<'_, PyTensor>, value: f64) -> R {
        wrap(self.t.index_fill(dim, &index.t, value))
    }

    fn index_fill_(slf: &Bound<'_, Self>, dim: isize, index: PyRef<'_, PyTensor>, value: f64) -> Slf {
        let i = index.t.clone();
        write_back(slf, "index_fill_", &[], false, |t| t.index_fill(dim, &i, value))
    }

    fn index_copy(&self, dim: isize, index: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.index_copy(dim, &index.t, &source.t))
    }

    fn index_copy_(slf: &Bound<'_, Self>, dim: isize, index: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>) -> Slf {
        let (i, s) = (index.t.clone(), source.t.clone());
        write_back(slf, "index_copy_", &[&s], false, |t| t.index_copy(dim, &i, &s))
    }

    fn masked_scatter(&self, mask: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.masked_scatter(&mask.t, &source.t))
    }

    fn masked_scatter_(slf: &Bound<'_, Self>, mask: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>) -> Slf {
        let (m, s) = (mask.t.clone(), source.t.clone());
        write_back(slf, "masked_scatter_", &[&s], false, |t| t.masked_scatter(&m, &s))
    }

    fn hypot(&self, other: &Bound<'_, PyAny>) -> R {
        wrap(self.t.hypot(&two(other, &self.t, "hypot")?))
    }

    fn fmod(&self, other: &Bound<'_, PyAny>) -> R {
        wrap(self.t.fmod(&two(other, &self.t, "fmod")?))
    }

    fn copysign(&self, other: &Bound<'_, PyAny>) -> R {
        wrap(self.t.copysign(&two(other, &self.t, "copysign")?))
    }

    fn heaviside(&self, values: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.heaviside(&values.t))
    }

    #[pyo3(signature = (nan=0.0, posinf=None, neginf=None))]
    fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> R {
        wrap(self.t.nan_to_num(nan, posinf, neginf))
    }

    fn sinc(&self) -> R {
        wrap(self.t.sinc())
    }

    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumprod(&self, dim: isize, dtype: Option<&Bound<'_, PyAny>>) -> R {
        let t = match opt_dtype(dtype)? {
            Some(d) => self.t.to_dtype(d).py()?,
            None => self.t.clone(),
        };
        wrap(t.cumprod(dim))
    }

    fn logcumsumexp(&self, dim: isize) -> R {
        wrap(self.t.logcumsumexp(dim))
    }

    #[pyo3(signature = (n=1, dim=-1, prepend=None, append=None))]
    fn diff(&self, n: i64, dim: isize, prepend: Option<PyRef<'_, PyTensor>>, append: Option<PyRef<'_, PyTensor>>) -> R {
        let n = usize::try_from(n).map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err(format!("order must be non-negative but got {n}"))
        })?;
        wrap(self.t.diff(n, dim, prepend.as_ref().map(|p| &p.t), append.as_ref().map(|a| &a.t)))
    }

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn nanmean(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool, dtype: Option<&Bound<'_, PyAny>>) -> R {
        let t = match opt_dtype(dtype)? {
            Some(d) => self.t.to_dtype(d).py()?,
            None => self.t.clone(),
        };
        wrap(t.nanmean(&opt_dims(dim, "dim")?.unwrap_or_default(), keepdim))
    }

    #[pyo3(signature = (bins=100, min=0.0, max=0.0))]
    fn histc(&self, bins: i64, min: f64, max: f64) -> R {
        let bins = usize::try_from(bins).map_err(|_| type_error("histc(): bins must be > 0"))?;
        wrap(self.t.histc(bins, min, max))
    }
}
