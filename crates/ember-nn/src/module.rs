//! The `Module` trait: a visitor over a layer's named tensors (parameters and buffers) plus the
//! training flag. Everything else (`parameters`, `state_dict`, `load_state_dict`, ...) is
//! written once here on top of the visitor; `#[derive(Module)]` writes the visitor.

use ember_core::{no_grad, Error, Result, Tensor};
use std::collections::BTreeMap;

/// Whether a tensor is trained (a parameter) or only saved (a buffer such as running stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Trained by optimisers; returned by `parameters()`.
    Parameter,
    /// Saved in the state dict but not trained.
    Buffer,
}

/// `prefix.name`, or `name` at the top level (PyTorch's state-dict keys).
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A layer or model: named parameters and buffers, state dicts, train/eval mode.
pub trait Module {
    /// Calls `visitor(full_name, tensor, kind)` for every tensor, in declaration order.
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind));

    /// Sets training mode on this module and every submodule.
    fn set_training(&mut self, training: bool);

    /// `(name, parameter)` pairs with PyTorch's key names (`fc1.weight`, `layers.0.bias`).
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_tensors("", &mut |n, t, k| {
            if k == TensorKind::Parameter {
                out.push((n.to_string(), t.clone()));
            }
        });
        out
    }

    /// The parameters, for an optimiser.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }

    /// `(name, buffer)` pairs.
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_tensors("", &mut |n, t, k| {
            if k == TensorKind::Buffer {
                out.push((n.to_string(), t.clone()));
            }
        });
        out
    }

    /// Parameters and buffers by name (the tensors themselves, not copies).
    fn state_dict(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        self.visit_tensors("", &mut |n, t, _| {
            out.insert(n.to_string(), t.detach());
        });
        out
    }

    /// Copies values from `map` into this module's tensors (in place, so optimisers holding
    /// the parameters see them). With `strict`, missing and unexpected keys are errors; shape
    /// mismatches always are. The error lists every offending key.
    fn load_state_dict(&mut self, map: &BTreeMap<String, Tensor>, strict: bool) -> Result<()> {
        let mut missing = Vec::new();
        let mut mismatched = Vec::new();
        let mut targets = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        self.visit_tensors("", &mut |n, t, _| {
            seen.insert(n.to_string());
            match map.get(n) {
                None => missing.push(n.to_string()),
                Some(v) if v.shape() != t.shape() => {
                    mismatched.push(format!("{n}: checkpoint {:?} vs model {:?}", v.shape(), t.shape()))
                }
                Some(v) => targets.push((t.clone(), v.clone())),
            }
        });
        let unexpected: Vec<&String> = map.keys().filter(|k| !seen.contains(*k)).collect();
        let mut problems = Vec::new();
        if strict && !missing.is_empty() {
            problems.push(format!("missing keys: {missing:?}"));
        }
        if strict && !unexpected.is_empty() {
            problems.push(format!("unexpected keys: {unexpected:?}"));
        }
        if !mismatched.is_empty() {
            problems.push(format!("size mismatches: {mismatched:?}"));
        }
        if !problems.is_empty() {
            return Err(Error::format("load_state_dict", problems.join("; ")));
        }
        no_grad(|| targets.iter().try_for_each(|(t, v)| t.copy_(v)))
    }

    /// Training mode (dropout active, batch norm uses batch statistics).
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode.
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// Clears every parameter's gradient.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Number of parameter elements.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }
}

/// A module's computation: `forward(x)` (PyTorch's `module(x)`). Written by hand per model.
pub trait Forward {
    /// Applies the module.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
}

impl<M: Module> Module for Vec<M> {
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_tensors(&join_name(prefix, &i.to_string()), visitor);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self.iter_mut() {
            m.set_training(training);
        }
    }
}

impl<M: Module> Module for Option<M> {
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        if let Some(m) = self {
            m.visit_tensors(prefix, visitor);
        }
    }
    fn set_training(&mut self, training: bool) {
        if let Some(m) = self {
            m.set_training(training);
        }
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        (**self).visit_tensors(prefix, visitor);
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
}

/// A parameter: a leaf that requires grad.
pub(crate) fn param(t: Tensor) -> Result<Tensor> {
    t.set_requires_grad(true)
}
