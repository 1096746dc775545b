//! Autograd from Python: `ember.autograd.grad`, the thread-local grad mode behind `no_grad` /
//! `enable_grad` / `set_grad_enabled` / `inference_mode` (context managers in Python), and the
//! custom-op hook behind `ember.autograd.Function` (its backward is a Python callable).

use crate::errors::{stash, type_error, IntoPyResult};
use crate::methods::tensor_list;
use crate::tensor::PyTensor;
use ember::autograd::GradOptions;
use ember::op::CustomBackward;
use ember::Tensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[pyfunction]
pub fn is_grad_enabled() -> bool {
    ember::autograd::is_grad_enabled()
}

/// Sets grad mode on this thread; returns the previous mode.
#[pyfunction]
pub fn _set_grad_enabled(mode: bool) -> bool {
    ember::autograd::set_grad_enabled(mode)
}

/// Turns anomaly detection (NaN checks of every backward function's gradients) on or off.
#[pyfunction]
pub fn _set_anomaly_mode(enabled: bool, check_nan: bool) {
    ember::autograd::set_anomaly_mode(enabled, check_nan)
}

/// `(enabled, check_nan)` of anomaly detection.
#[pyfunction]
pub fn _anomaly_mode() -> (bool, bool) {
    ember::autograd::anomaly_mode()
}

fn tensors_or_one(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Tensor>> {
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        return Ok(vec![t.t.clone()]);
    }
    tensor_list(obj, what)
}

/// Whether `t`'s graph reaches a leaf requiring grad besides `excluded` (forward-mode AD's
/// question: does a tangent need a graph of its own).
#[pyfunction]
pub fn _reaches_leaf_other_than(t: PyRef<'_, PyTensor>, excluded: Vec<PyRef<'_, PyTensor>>) -> PyResult<bool> {
    let excluded: Vec<&Tensor> = excluded.iter().map(|e| &e.t).collect();
    ember::autograd::reaches_leaf_other_than(&t.t, &excluded).py()
}

/// `torch.autograd.grad(outputs, inputs, grad_outputs=None, retain_graph=None,
/// create_graph=False, allow_unused=None)`.
#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=false, only_inputs=true, allow_unused=None, is_grads_batched=false, materialize_grads=false))]
#[allow(clippy::too_many_arguments)]
pub fn grad(
    py: Python<'_>,
    outputs: &Bound<'_, PyAny>,
    inputs: &Bound<'_, PyAny>,
    grad_outputs: Option<&Bound<'_, PyAny>>,
    retain_graph: Option<bool>,
    create_graph: bool,
    only_inputs: bool,
    allow_unused: Option<bool>,
    is_grads_batched: bool,
    materialize_grads: bool,
) -> PyResult<Py<PyAny>> {
    let _ = only_inputs;
    if is_grads_batched {
        return Err(pyo3::exceptions::PyNotImplementedError::new_err("grad(is_grads_batched=True) is not supported"));
    }
    let outs = tensors_or_one(outputs, "grad(): outputs")?;
    let ins = tensors_or_one(inputs, "grad(): inputs")?;
    let gos = match grad_outputs.filter(|g| !g.is_none()) {
        None => None,
        Some(g) => {
            let list: Vec<Option<Tensor>> = if let Ok(t) = g.extract::<PyRef<'_, PyTensor>>() {
                vec![Some(t.t.clone())]
            } else {
                g.try_iter()?
                    .map(|x| {
                        let x = x?;
                        if x.is_none() {
                            Ok(None)
                        } else {
                            x.extract::<PyRef<'_, PyTensor>>()
                                .map(|t| Some(t.t.clone()))
                                .map_err(|_| type_error("grad_outputs must be Tensors or None"))
                        }
                    })
                    .collect::<PyResult<_>>()?
            };
            let filled: Vec<Tensor> = list
                .into_iter()
                .zip(&outs)
                .map(|(g, o)| g.map_or_else(|| Tensor::ones_like(o), Ok))
                .collect::<ember::Result<_>>()
                .py()?;
            Some(filled)
        }
    };
    let allow = allow_unused.unwrap_or(materialize_grads);
    let opts = GradOptions {
        create_graph,
        retain_graph: retain_graph.unwrap_or(create_graph),
        allow_unused: true,
        grad_outputs: gos,
    };
    let o_refs: Vec<&Tensor> = outs.iter().collect();
    let i_refs: Vec<&Tensor> = ins.iter().collect();
    let grads = py.detach(|| ember::autograd::grad_with_opt(&o_refs, &i_refs, opts)).py()?;
    let items: Vec<Py<PyAny>> = grads
        .into_iter()
        .zip(&ins)
        .map(|(g, i)| -> PyResult<Py<PyAny>> {
            match g {
                Some(g) => Ok(PyTensor::new(g).into_pyobject(py)?.into_any().unbind()),
                None if materialize_grads => Ok(PyTensor::new(Tensor::zeros_like(i).py()?).into_pyobject(py)?.into_any().unbind()),
                None if allow => Ok(py.None()),
                None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.",
                )),
            }
        })
        .collect::<PyResult<_>>()?;
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// Interned `grad_fn` names of custom Functions (one allocation per Function class).
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut map = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = map.get(name) {
        return s;
    }
    let s: &'static str = Box::leak(name.to_string().into_boxed_str());
    map.insert(name.to_string(), s);
    s
}

/// Records `output` as made from `inputs` by a custom op whose backward is
/// `backward(grad) -> sequence of (Tensor or None), one per input` (Python's
/// `autograd.Function.apply` calls this).
#[pyfunction]
pub fn _custom_op(
    inputs: &Bound<'_, PyAny>,
    output: PyRef<'_, PyTensor>,
    name: &str,
    backward: Py<PyAny>,
) -> PyResult<PyTensor> {
    let ins = tensor_list(inputs, "_custom_op(): inputs")?;
    let n = ins.len();
    let name = intern(name);
    let f: Arc<CustomBackward> = Arc::new(move |g: &Tensor| {
        Python::attach(|py| {
            let r = backward.call1(py, (PyTensor::new(g.clone()),)).map_err(stash)?;
            let r = r.bind(py);
            let items: Vec<Bound<'_, PyAny>> = if r.extract::<PyRef<'_, PyTensor>>().is_ok() || r.is_none() {
                vec![r.clone()]
            } else {
                r.try_iter().map_err(stash)?.collect::<PyResult<_>>().map_err(stash)?
            };
            if items.len() != n {
                return Err(stash(pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "function {name}Backward returned an incorrect number of gradients (expected {n}, got {})",
                    items.len()
                ))));
            }
            items
                .iter()
                .map(|x| {
                    if x.is_none() {
                        return Ok(None);
                    }
                    x.extract::<PyRef<'_, PyTensor>>()
                        .map(|t| Some(t.t.clone()))
                        .map_err(|_| stash(type_error("backward must return Tensors or None")))
                })
                .collect()
        })
    });
    Ok(PyTensor::new(ember::autograd::custom(&ins, output.t.clone(), name, f)))
}

/// `torch.utils.checkpoint`'s core: runs `function(tensors) -> Tensor` without keeping its
/// activations and records one node whose backward calls `function` again (with the same
/// random numbers) to recompute them (`ember::autograd::checkpoint`).
#[pyfunction]
pub fn _checkpoint(function: Py<PyAny>, inputs: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let ins = tensor_list(inputs, "checkpoint(): inputs")?;
    let run = move |xs: &[Tensor]| {
        Python::attach(|py| {
            let args: Vec<PyTensor> = xs.iter().cloned().map(PyTensor::new).collect();
            let out = function.call1(py, (args,)).map_err(stash)?;
            out.extract::<PyRef<'_, PyTensor>>(py)
                .map(|t| t.t.clone())
                .map_err(|_| stash(type_error("checkpoint: the function must return a Tensor")))
        })
    };
    ember::autograd::checkpoint_capturing(run, &ins).py().map(PyTensor::new)
}

/// Turns the timing of backward nodes on or off (`ember.profiler`).
#[pyfunction]
pub fn _profiler_set(on: bool) {
    ember::autograd::profile::set_profiling(on)
}

/// The profiler's clock: nanoseconds since the first reading in this process.
#[pyfunction]
pub fn _profiler_now_ns() -> u64 {
    ember::autograd::profile::now_ns()
}

/// The profiler's number for the calling thread.
#[pyfunction]
pub fn _profiler_thread_id() -> u64 {
    ember::autograd::profile::thread_id()
}

/// The backward-node events recorded so far, as `(name, start_ns, end_ns, thread)`; the buffer
/// is emptied.
#[pyfunction]
pub fn _profiler_take() -> Vec<(String, u64, u64, u64)> {
    ember::autograd::profile::take_profile_events()
        .into_iter()
        .map(|e| (e.name, e.start_ns, e.end_ns, e.thread))
        .collect()
}
