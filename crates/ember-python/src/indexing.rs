//! `t[index]` and `t[index] = value` as PyTorch's: ints, slices with steps, `None`, `...`,
//! bools, integer lists and tensors, bool masks, and tuples mixing them. The index becomes
//! Ember's `TensorIndex` list; reading is `Tensor::index` (views for basic indices), writing
//! `Tensor::index_put_` (in place; history rewritten when recording).

use crate::args::maybe_detach;
use crate::convert::{scalar_operand, tensor_from_py};
use crate::dtype::type_name;
use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::TensorIndex;
use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyInt, PyList, PySlice, PyTuple};

fn slice_bound(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<isize>> {
    let v = obj.getattr(name)?;
    if v.is_none() {
        return Ok(None);
    }
    v.extract::<isize>()
        .map(Some)
        .map_err(|_| type_error("slice indices must be integers or None or have an __index__ method"))
}

fn entry(obj: &Bound<'_, PyAny>) -> PyResult<TensorIndex> {
    if obj.is_none() {
        return Ok(TensorIndex::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(TensorIndex::Ellipsis);
    }
    if obj.is_instance_of::<PyBool>() {
        // x[True] adds a dim of size 1, as `None` does.
        if obj.extract::<bool>()? {
            return Ok(TensorIndex::NewAxis);
        }
        return Err(pyo3::exceptions::PyNotImplementedError::new_err("indexing with False is not supported"));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(TensorIndex::Select(obj.extract::<isize>()?));
    }
    if obj.is_instance_of::<PySlice>() {
        let step = slice_bound(obj, "step")?.unwrap_or(1);
        if step <= 0 {
            return Err(pyo3::exceptions::PyValueError::new_err("step must be greater than zero"));
        }
        return Ok(TensorIndex::Slice { start: slice_bound(obj, "start")?, stop: slice_bound(obj, "stop")?, step });
    }
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        return Ok(TensorIndex::Tensor(t.t.clone()));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyUntypedArray>() {
        return Ok(TensorIndex::Tensor(tensor_from_py(obj, None)?));
    }
    if let Ok(i) = obj.extract::<isize>() {
        return Ok(TensorIndex::Select(i));
    }
    if obj.is_instance_of::<pyo3::types::PyString>() {
        return Err(crate::errors::type_error(format!(
            "tensor indices must be integers, slices or tensors, not {}",
            type_name(obj)
        )));
    }
    Err(pyo3::exceptions::PyIndexError::new_err(format!(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})",
        type_name(obj)
    )))
}

/// The index entries of a Python index expression.
pub fn parse_index(obj: &Bound<'_, PyAny>) -> PyResult<Vec<TensorIndex>> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|x| entry(&x)).collect();
    }
    Ok(vec![entry(obj)?])
}

#[pymethods]
impl PyTensor {
    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let idx = parse_index(index)?;
        let t = self.t.clone();
        Ok(PyTensor::new(maybe_detach(py, t.numel(), || t.index(&idx)).py()?))
    }

    fn __setitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let idx = parse_index(index)?;
        let v = match value.extract::<PyRef<'_, PyTensor>>() {
            Ok(v) => v.t.clone(),
            Err(_) => match scalar_operand(&self.t, value)? {
                Some(s) => s,
                None => tensor_from_py(value, Some(self.t.dtype()))?,
            },
        };
        let t = self.t.clone();
        maybe_detach(py, t.numel(), || t.index_put_(&idx, &v)).py()
    }

    /// `index_put_(indices, values, accumulate=False)` with a tuple of index tensors.
    #[pyo3(signature = (indices, values, accumulate=false))]
    fn index_put_(
        slf: &Bound<'_, Self>,
        indices: &Bound<'_, PyAny>,
        values: PyRef<'_, PyTensor>,
        accumulate: bool,
    ) -> PyResult<Py<PyTensor>> {
        let idx = parse_index(indices)?;
        if accumulate {
            // d/dself of a sum is the identity: no copy of the old value is needed.
            let t = slf.borrow().t.clone();
            t.update_overwriting_("index_put_", &[&values.t], |s| s.index_put_accumulate(&idx, &values.t)).py()?;
            return Ok(slf.clone().unbind());
        }
        slf.borrow().t.index_put_(&idx, &values.t).py()?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (indices, values, accumulate=false))]
    fn index_put(
        &self,
        indices: &Bound<'_, PyAny>,
        values: PyRef<'_, PyTensor>,
        accumulate: bool,
    ) -> PyResult<PyTensor> {
        let idx = parse_index(indices)?;
        if accumulate {
            return Ok(PyTensor::new(self.t.index_put_accumulate(&idx, &values.t).py()?));
        }
        Ok(PyTensor::new(self.t.index_put(&idx, &values.t).py()?))
    }
}
