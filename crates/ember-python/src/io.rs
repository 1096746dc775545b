//! `ember._C._io`: safetensors through Ember's Rust reader and writer (`ember::io`: the header
//! is validated and fuzzed, saves are atomic), for `ember.safetensors`.

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::collections::BTreeMap;

fn tensors_of(d: &Bound<'_, PyDict>) -> PyResult<BTreeMap<String, Tensor>> {
    let mut out = BTreeMap::new();
    for (k, v) in d.iter() {
        let name: String = k.extract()?;
        let t = v
            .extract::<PyRef<'_, PyTensor>>()
            .map_err(|_| crate::errors::type_error(format!("save_file: the value of '{name}' is not a Tensor")))?;
        out.insert(name, t.t.clone());
    }
    Ok(out)
}

fn to_dict<'py>(py: Python<'py>, tensors: BTreeMap<String, Tensor>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, t) in tensors {
        d.set_item(k, PyTensor::new(t))?;
    }
    Ok(d)
}

/// `(tensors, metadata)` from safetensors bytes.
#[pyfunction]
pub fn load_safetensors<'py>(py: Python<'py>, data: &[u8]) -> PyResult<(Bound<'py, PyDict>, BTreeMap<String, String>)> {
    let (tensors, meta) = ember::io::safetensors::load_safetensors_bytes(data).py()?;
    Ok((to_dict(py, tensors)?, meta))
}

/// Safetensors bytes of a dict of tensors and string metadata.
#[pyfunction]
#[pyo3(signature = (tensors, metadata=None))]
pub fn save_safetensors<'py>(
    py: Python<'py>,
    tensors: &Bound<'py, PyDict>,
    metadata: Option<BTreeMap<String, String>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes =
        ember::io::safetensors::to_safetensors_bytes(&tensors_of(tensors)?, &metadata.unwrap_or_default()).py()?;
    Ok(PyBytes::new(py, &bytes))
}

/// Writes safetensors to `path` atomically.
#[pyfunction]
#[pyo3(signature = (tensors, path, metadata=None))]
pub fn save_safetensors_file(
    tensors: &Bound<'_, PyDict>,
    path: std::path::PathBuf,
    metadata: Option<BTreeMap<String, String>>,
) -> PyResult<()> {
    ember::io::safetensors::save_safetensors_with_metadata(&tensors_of(tensors)?, &metadata.unwrap_or_default(), path)
        .py()
}

/// `(tensors, metadata)` from a safetensors file.
#[pyfunction]
pub fn load_safetensors_file(
    py: Python<'_>,
    path: std::path::PathBuf,
) -> PyResult<(Bound<'_, PyDict>, BTreeMap<String, String>)> {
    let (tensors, meta) = ember::io::safetensors::load_safetensors_with_metadata(path).py()?;
    Ok((to_dict(py, tensors)?, meta))
}

/// The `_C._io` submodule.
pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "_io")?;
    m.add_function(wrap_pyfunction!(load_safetensors, &m)?)?;
    m.add_function(wrap_pyfunction!(save_safetensors, &m)?)?;
    m.add_function(wrap_pyfunction!(save_safetensors_file, &m)?)?;
    m.add_function(wrap_pyfunction!(load_safetensors_file, &m)?)?;
    Ok(m)
}
