//! Sorting and selection methods with PyTorch's signatures: `sort`, `argsort`, `msort`, `topk`,
//! `kthvalue`, `median`, `nanmedian`, `mode`, `cummax`, `cummin`, `unique`,
//! `unique_consecutive`, `take`, `take_along_dim`, `count_nonzero`, `aminmax`, `argwhere`, and
//! the functions `searchsorted` and `bucketize`. Several-result ops return
//! `torch.return_types` named tuples.

use crate::args::{maybe_detach, opt_dims};
use crate::errors::{type_error, IntoPyResult};
use crate::methods::{return_type, tensors_tuple};
use crate::tensor::PyTensor;
use ember::{DType, Tensor};
use pyo3::prelude::*;

type Obj = PyResult<Py<PyAny>>;

fn obj(py: Python<'_>, t: Tensor) -> Obj {
    Ok(PyTensor::new(t).into_pyobject(py)?.into_any().unbind())
}

/// `unique`'s result: the values alone, or a tuple with the inverse and/or the counts.
fn unique_result(py: Python<'_>, (v, inv, counts): (Tensor, Tensor, Tensor), inverse: bool, with_counts: bool) -> Obj {
    match (inverse, with_counts) {
        (false, false) => obj(py, v),
        (true, false) => tensors_tuple(py, vec![v, inv]),
        (false, true) => tensors_tuple(py, vec![v, counts]),
        (true, true) => tensors_tuple(py, vec![v, inv, counts]),
    }
}

/// `dim=` of `unique`/`unique_consecutive`: None, or an int.
fn unique_dim(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Option<isize>> {
    match dim {
        Some(d) if !d.is_none() => {
            Ok(Some(d.extract::<isize>().map_err(|_| type_error("unique(): argument 'dim' must be int"))?))
        }
        _ => Ok(None),
    }
}

/// `searchsorted`'s and `bucketize`'s `out_int32`, `right` and `side` arguments.
fn positions(t: Tensor, out_int32: bool) -> PyResult<PyTensor> {
    Ok(PyTensor::new(if out_int32 { t.to_dtype(DType::I32).py()? } else { t }))
}

fn side_is_right(right: bool, side: Option<&str>) -> PyResult<bool> {
    match side {
        None => Ok(right),
        Some("right") => Ok(true),
        Some("left") if !right => Ok(false),
        Some("left") => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True",
        )),
        Some(s) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "torch.searchsorted(): side can only be 'left' or 'right' but got {s}"
        ))),
    }
}

/// `torch.searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
/// sorter=None)`.
#[pyfunction]
#[pyo3(signature = (sorted_sequence, input, *, out_int32=false, right=false, side=None, sorter=None))]
pub fn searchsorted(
    sorted_sequence: PyRef<'_, PyTensor>,
    input: &Bound<'_, PyAny>,
    out_int32: bool,
    right: bool,
    side: Option<&str>,
    sorter: Option<PyRef<'_, PyTensor>>,
) -> PyResult<PyTensor> {
    let right = side_is_right(right, side)?;
    let seq = match sorter {
        Some(s) => sorted_sequence.t.gather(-1, &s.t).py()?,
        None => sorted_sequence.t.clone(),
    };
    let values = match input.extract::<PyRef<'_, PyTensor>>() {
        Ok(t) => t.t.clone(),
        Err(_) => {
            let v: f64 =
                input.extract().map_err(|_| type_error("searchsorted(): input must be a Tensor or a number"))?;
            Tensor::full(&[], v, seq.dtype()).py()?
        }
    };
    positions(seq.searchsorted(&values, right).py()?, out_int32)
}

/// `torch.bucketize(input, boundaries, *, out_int32=False, right=False)`.
#[pyfunction]
#[pyo3(signature = (input, boundaries, *, out_int32=false, right=false))]
pub fn bucketize(
    input: PyRef<'_, PyTensor>,
    boundaries: PyRef<'_, PyTensor>,
    out_int32: bool,
    right: bool,
) -> PyResult<PyTensor> {
    positions(input.t.bucketize(&boundaries.t, right).py()?, out_int32)
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn sort(&self, py: Python<'_>, dim: isize, descending: bool, stable: bool) -> Obj {
        let _ = stable; // Ember's sort is always stable.
        let t = self.t.clone();
        let (v, i) = maybe_detach(py, t.numel(), || t.sort(dim, descending)).py()?;
        return_type(py, "sort", v, i)
    }

    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn argsort(&self, py: Python<'_>, dim: isize, descending: bool, stable: bool) -> PyResult<PyTensor> {
        let _ = stable;
        let t = self.t.clone();
        Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.argsort(dim, descending)).py()?))
    }

    fn msort(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.msort().py()?))
    }

    #[pyo3(signature = (k, dim=-1, largest=true, sorted=true))]
    fn topk(&self, py: Python<'_>, k: i64, dim: isize, largest: bool, sorted: bool) -> Obj {
        let _ = sorted; // results always come sorted, which `sorted=False` allows.
        let k = usize::try_from(k)
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("selected index k out of range"))?;
        let t = self.t.clone();
        let (v, i) = maybe_detach(py, t.numel(), || t.topk(k, dim, largest)).py()?;
        return_type(py, "topk", v, i)
    }

    #[pyo3(signature = (k, dim=-1, keepdim=false))]
    fn kthvalue(&self, py: Python<'_>, k: i64, dim: isize, keepdim: bool) -> Obj {
        let k = usize::try_from(k).unwrap_or(0);
        let (v, i) = self.t.kthvalue(k, dim, keepdim).py()?;
        return_type(py, "kthvalue", v, i)
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn median(&self, py: Python<'_>, dim: Option<isize>, keepdim: bool) -> Obj {
        match dim {
            None => obj(py, self.t.median().py()?),
            Some(d) => {
                let (v, i) = self.t.median_dim(d, keepdim).py()?;
                return_type(py, "median", v, i)
            }
        }
    }

    #[pyo3(signature = (dim=None, keepdim=false))]
    fn nanmedian(&self, py: Python<'_>, dim: Option<isize>, keepdim: bool) -> Obj {
        match dim {
            None => obj(py, self.t.nanmedian().py()?),
            Some(d) => {
                let (v, i) = self.t.nanmedian_dim(d, keepdim).py()?;
                return_type(py, "nanmedian", v, i)
            }
        }
    }

    #[pyo3(signature = (dim=-1, keepdim=false))]
    fn mode(&self, py: Python<'_>, dim: isize, keepdim: bool) -> Obj {
        let (v, i) = self.t.mode(dim, keepdim).py()?;
        return_type(py, "mode", v, i)
    }

    fn cummax(&self, py: Python<'_>, dim: isize) -> Obj {
        let (v, i) = self.t.cummax(dim).py()?;
        return_type(py, "cummax", v, i)
    }

    fn cummin(&self, py: Python<'_>, dim: isize) -> Obj {
        let (v, i) = self.t.cummin(dim).py()?;
        return_type(py, "cummin", v, i)
    }

    #[pyo3(signature = (sorted=true, return_inverse=false, return_counts=false, dim=None))]
    fn unique(
        &self,
        py: Python<'_>,
        sorted: bool,
        return_inverse: bool,
        return_counts: bool,
        dim: Option<&Bound<'_, PyAny>>,
    ) -> Obj {
        let _ = sorted; // PyTorch's CPU unique sorts regardless.
        let r = match unique_dim(dim)? {
            Some(d) => self.t.unique_dim(d, false),
            None => self.t.unique(),
        };
        unique_result(py, r.py()?, return_inverse, return_counts)
    }

    #[pyo3(signature = (return_inverse=false, return_counts=false, dim=None))]
    fn unique_consecutive(
        &self,
        py: Python<'_>,
        return_inverse: bool,
        return_counts: bool,
        dim: Option<&Bound<'_, PyAny>>,
    ) -> Obj {
        let r = match unique_dim(dim)? {
            Some(d) => self.t.unique_dim(d, true),
            None => self.t.unique_consecutive(),
        };
        unique_result(py, r.py()?, return_inverse, return_counts)
    }

    fn take(&self, index: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.take(&index.t).py()?))
    }

    #[pyo3(signature = (indices, dim=None))]
    fn take_along_dim(&self, indices: PyRef<'_, PyTensor>, dim: Option<isize>) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.take_along_dim(&indices.t, dim).py()?))
    }

    #[pyo3(signature = (dim=None))]
    fn count_nonzero(&self, dim: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let dims = opt_dims(dim, "dim")?.unwrap_or_default();
        Ok(PyTensor::new(self.t.count_nonzero(&dims).py()?))
    }

    #[pyo3(signature = (*, dim=None, keepdim=false))]
    fn aminmax(&self, py: Python<'_>, dim: Option<isize>, keepdim: bool) -> Obj {
        let (lo, hi) = match dim {
            Some(d) => (self.t.min_dim(d, keepdim).py()?.0, self.t.max_dim(d, keepdim).py()?.0),
            None if self.t.numel() == 0 => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity.",
                ))
            }
            None => (self.t.min().py()?, self.t.max().py()?),
        };
        return_type(py, "aminmax", lo, hi)
    }

    fn argwhere(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.nonzero().py()?))
    }
}
