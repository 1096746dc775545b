//! The Rust side of `ember.sparse`: a handle on a core `SparseCoo` (`ember/sparse.py` wraps it
//! in the torch-like `SparseTensor` with `layout`, `is_sparse`, operators and `repr`).

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::sparse::SparseCoo;
use pyo3::prelude::*;

#[pyclass(name = "_SparseCoo", module = "ember._C", frozen)]
pub struct PySparse {
    s: SparseCoo,
}

fn wrap(r: ember::Result<SparseCoo>) -> PyResult<PySparse> {
    r.py().map(|s| PySparse { s })
}

/// `_sparse_coo(indices, values, size)`: the checked COO tensor.
#[pyfunction]
pub fn _sparse_coo(indices: PyRef<'_, PyTensor>, values: PyRef<'_, PyTensor>, size: Vec<usize>) -> PyResult<PySparse> {
    wrap(SparseCoo::new(&indices.t, &values.t, &size))
}

/// `Tensor.to_sparse()`'s core.
#[pyfunction]
pub fn _to_sparse(x: PyRef<'_, PyTensor>) -> PyResult<PySparse> {
    wrap(x.t.to_sparse())
}

#[pymethods]
impl PySparse {
    fn indices(&self) -> PyTensor {
        PyTensor::new(self.s.indices().clone())
    }
    fn values(&self) -> PyTensor {
        PyTensor::new(self.s.values().clone())
    }
    fn shape(&self) -> Vec<usize> {
        self.s.shape().to_vec()
    }
    fn is_coalesced(&self) -> bool {
        self.s.is_coalesced()
    }
    fn to_dense(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let s = self.s.clone();
        py.detach(move || s.to_dense()).py().map(PyTensor::new)
    }
    fn coalesce(&self) -> PyResult<PySparse> {
        wrap(self.s.coalesce())
    }
    fn t(&self) -> PyResult<PySparse> {
        wrap(self.s.t())
    }
    fn mul_scalar(&self, v: f64) -> PyResult<PySparse> {
        wrap(self.s.mul_scalar(v))
    }
    fn with_values(&self, values: PyRef<'_, PyTensor>) -> PyResult<PySparse> {
        wrap(SparseCoo::new(self.s.indices(), &values.t, self.s.shape()))
    }
    fn mm(&self, py: Python<'_>, dense: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        let (s, d) = (self.s.clone(), dense.t.clone());
        py.detach(move || s.mm(&d)).py().map(PyTensor::new)
    }
}
