//! `ember._C._nn`: the Rust side of `ember.nn.functional` (as `torch._C._nn` is torch's). The
//! Python layer (`python/ember/nn/functional/`) parses torch's argument forms and defaults;
//! these functions call Ember's Rust functionals (`ember::nn::functional`), which hold the
//! formulas, gradients and shape checks.

mod conv;
mod layers;
mod loss;

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;

pub(crate) type R = PyResult<PyTensor>;

pub(crate) fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

/// An optional tensor argument as an owned handle.
pub(crate) fn opt(t: Option<PyRef<'_, PyTensor>>) -> Option<Tensor> {
    t.map(|t| t.t.clone())
}

/// The `_C._nn` submodule.
pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "_nn")?;
    conv::register(&m)?;
    layers::register(&m)?;
    loss::register(&m)?;
    Ok(m)
}
