//! `ember._C._optim.step`: one optimiser step over one parameter group, run by Ember's Rust
//! update rules (`ember::optim`, the same code as the Rust optimisers) with the GIL released.
//!
//! The Python optimiser (`ember/optim/optimizer.py`) owns `param_groups` (a list of dicts that
//! user code may change between steps, as torch's) and `state` (a dict per parameter, in
//! torch's layout: `step` as a 0-d float tensor, then the buffers by torch's names). Each call
//! reads the group's hyper-parameters from its dict, moves every parameter's state into the Rust
//! rule, updates the parameters in place and writes the state back.

use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, AsgdConfig, NAdamConfig, ParamGroup,
    ParamState, RAdamConfig, RmsPropConfig, RpropConfig, SgdConfig, UpdateRule,
};
use ember::{DType, Tensor};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A group's hyper-parameter dict, read with torch's key names.
struct Hyper<'a, 'py>(&'a Bound<'py, PyDict>);

impl Hyper<'_, '_> {
    fn f(&self, key: &str) -> PyResult<f64> {
        let v = self.0.get_item(key)?.ok_or_else(|| type_error(format!("param group has no '{key}'")))?;
        // A tensor learning rate (torch allows one) reads as its value.
        if let Ok(t) = v.extract::<PyRef<'_, PyTensor>>() {
            return t.t.to_dtype(DType::F64).and_then(|t| t.item::<f64>()).py();
        }
        v.extract::<f64>().map_err(|_| type_error(format!("param group '{key}' must be a number")))
    }

    fn b(&self, key: &str) -> PyResult<bool> {
        match self.0.get_item(key)? {
            Some(v) if !v.is_none() => v.is_truthy(),
            _ => Ok(false),
        }
    }

    fn pair(&self, key: &str) -> PyResult<(f64, f64)> {
        let v = self.0.get_item(key)?.ok_or_else(|| type_error(format!("param group has no '{key}'")))?;
        v.extract::<(f64, f64)>().map_err(|_| type_error(format!("param group '{key}' must be a pair of numbers")))
    }
}

/// The update rule named by torch's class name, configured from a group's dict. `maximize`
/// is applied by negating the gradient (what every torch optimiser does first).
/// `$body` with `$c` bound to the rule's config, whichever optimiser it is.
macro_rules! rule_dispatch {
    ($rule:expr, $c:ident => $body:expr) => {
        match $rule {
            Rule::Sgd($c) => $body,
            Rule::Adam($c) => $body,
            Rule::AdamW($c) => $body,
            Rule::RmsProp($c) => $body,
            Rule::Adagrad($c) => $body,
            Rule::Adamax($c) => $body,
            Rule::NAdam($c) => $body,
            Rule::RAdam($c) => $body,
            Rule::Adadelta($c) => $body,
            Rule::Rprop($c) => $body,
            Rule::Asgd($c) => $body,
        }
    };
}

enum Rule {
    Sgd(SgdConfig),
    Adam(AdamConfig),
    AdamW(AdamWConfig),
    RmsProp(RmsPropConfig),
    Adagrad(AdagradConfig),
    Adamax(AdamaxConfig),
    NAdam(NAdamConfig),
    RAdam(RAdamConfig),
    Adadelta(AdadeltaConfig),
    Rprop(RpropConfig),
    Asgd(AsgdConfig),
}

impl Rule {
    fn parse(name: &str, h: &Hyper<'_, '_>) -> PyResult<Rule> {
        let (lr, wd) = (h.f("lr")?, if h.0.contains("weight_decay")? { h.f("weight_decay")? } else { 0.0 });
        Ok(match name {
            "SGD" => Rule::Sgd(SgdConfig {
                lr,
                momentum: h.f("momentum")?,
                dampening: h.f("dampening")?,
                nesterov: h.b("nesterov")?,
                weight_decay: wd,
                maximize: false,
            }),
            "Adam" | "AdamW" => {
                let (betas, eps, amsgrad) = (h.pair("betas")?, h.f("eps")?, h.b("amsgrad")?);
                if name == "Adam" && !h.b("decoupled_weight_decay")? {
                    Rule::Adam(AdamConfig { lr, betas, eps, weight_decay: wd, amsgrad, maximize: false })
                } else {
                    Rule::AdamW(AdamWConfig { lr, betas, eps, weight_decay: wd, amsgrad, maximize: false })
                }
            }
            "RMSprop" => Rule::RmsProp(RmsPropConfig {
                lr,
                alpha: h.f("alpha")?,
                eps: h.f("eps")?,
                weight_decay: wd,
                momentum: h.f("momentum")?,
                centered: h.b("centered")?,
            }),
            "Adagrad" => Rule::Adagrad(AdagradConfig {
                lr,
                lr_decay: h.f("lr_decay")?,
                weight_decay: wd,
                initial_accumulator_value: h.f("initial_accumulator_value")?,
                eps: h.f("eps")?,
            }),
            "Adamax" => Rule::Adamax(AdamaxConfig { lr, betas: h.pair("betas")?, eps: h.f("eps")?, weight_decay: wd }),
            "NAdam" => Rule::NAdam(NAdamConfig {
                lr,
                betas: h.pair("betas")?,
                eps: h.f("eps")?,
                weight_decay: wd,
                momentum_decay: h.f("momentum_decay")?,
                decoupled_weight_decay: h.b("decoupled_weight_decay")?,
            }),
            "RAdam" => Rule::RAdam(RAdamConfig {
                lr,
                betas: h.pair("betas")?,
                eps: h.f("eps")?,
                weight_decay: wd,
                decoupled_weight_decay: h.b("decoupled_weight_decay")?,
            }),
            "Adadelta" => Rule::Adadelta(AdadeltaConfig { lr, rho: h.f("rho")?, eps: h.f("eps")?, weight_decay: wd }),
            "Rprop" => Rule::Rprop(RpropConfig { lr, etas: h.pair("etas")?, step_sizes: h.pair("step_sizes")? }),
            "ASGD" => Rule::Asgd(AsgdConfig {
                lr,
                lambd: h.f("lambd")?,
                alpha: h.f("alpha")?,
                t0: h.f("t0")?,
                weight_decay: wd,
            }),
            other => return Err(PyValueError::new_err(format!("no Rust update rule for optimizer {other}"))),
        })
    }

    fn validate(&self) -> ember::Result<()> {
        rule_dispatch!(self, c => c.validate())
    }

    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> ember::Result<()> {
        rule_dispatch!(self, c => c.update(g, p, grad, st))
    }
}

/// A parameter's state dict (torch's layout) as the Rust rule's state.
fn read_state(d: &Bound<'_, PyDict>) -> PyResult<ParamState> {
    let mut st = ParamState::default();
    for (k, v) in d.iter() {
        let k: String = k.extract()?;
        if k == "step" {
            st.step = match v.extract::<PyRef<'_, PyTensor>>() {
                Ok(t) => t.t.to_dtype(DType::F64).and_then(|t| t.item::<f64>()).py()? as u64,
                Err(_) => v.extract::<f64>()? as u64,
            };
        } else if let Ok(t) = v.extract::<PyRef<'_, PyTensor>>() {
            st.buffers.insert(k, t.t.clone());
        }
    }
    Ok(st)
}

/// `step(name, group, params, grads, states)`: `params`, `grads` and `states` (one dict per
/// parameter) are parallel lists of the group's parameters that have a gradient.
#[pyfunction]
pub fn step(
    py: Python<'_>,
    name: &str,
    group: &Bound<'_, PyDict>,
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    states: &Bound<'_, PyList>,
) -> PyResult<()> {
    let h = Hyper(group);
    let rule = Rule::parse(name, &h)?;
    rule.validate().py()?;
    let maximize = h.b("maximize")?;
    let lr = h.f("lr")?;
    let wd = if group.contains("weight_decay")? { h.f("weight_decay")? } else { 0.0 };
    let mut work = Vec::with_capacity(params.len());
    for ((p, g), s) in params.iter().zip(grads.iter()).zip(states.iter()) {
        let p = p.extract::<PyRef<'_, PyTensor>>()?.t.clone();
        let g = g.extract::<PyRef<'_, PyTensor>>()?.t.clone();
        let s = s.cast_into::<PyDict>()?;
        work.push((p, g, read_state(&s)?, s));
    }
    let pg = ParamGroup::new(Vec::new(), lr, wd);
    let mut jobs: Vec<(Tensor, Tensor, ParamState)> =
        work.iter().map(|(p, g, st, _)| (p.clone(), g.clone(), st.clone())).collect();
    let numel: usize = jobs.iter().map(|(p, _, _)| p.numel()).sum();
    let run = || {
        ember::no_grad(|| {
            for (p, g, st) in jobs.iter_mut() {
                let g = if maximize { g.neg()? } else { g.clone() };
                rule.update(&pg, p, g, st)?;
            }
            Ok(())
        })
    };
    crate::args::maybe_detach(py, numel, run).py()?;
    let with_step = name != "SGD";
    for ((_, _, old, dict), (_, _, st)) in work.iter().zip(jobs) {
        if with_step {
            dict.set_item("step", PyTensor::new(Tensor::scalar(st.step as f64).to_dtype(DType::F32).py()?))?;
        }
        for (k, t) in st.buffers {
            // Buffers updated in place keep their Python objects; new ones are stored.
            if old.buffers.get(&k).is_some_and(|o| o.shares_storage(&t) && o.data_ptr() == t.data_ptr()) {
                continue;
            }
            dict.set_item(k, PyTensor::new(t))?;
        }
    }
    Ok(())
}

/// The `_C._optim` submodule.
pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "_optim")?;
    m.add_function(wrap_pyfunction!(step, &m)?)?;
    Ok(m)
}
