//! The `Module` trait: visitors over a layer's named tensors (parameters and buffers) and its
//! submodules, plus the training flag. Everything else (`parameters` without duplicates,
//! `state_dict`, `load_state_dict`, the module tree, `apply`, `to_dtype`, ...) is written once
//! here on top of the visitors; `#[derive(Module)]` writes the visitors.

use ember_core::{no_grad, DType, Error, Result, Tensor};
use std::collections::{BTreeMap, HashMap, HashSet};

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

/// A layer or model: named parameters and buffers, submodules, state dicts, train/eval mode.
/// `#[derive(Module)]` writes the visitors; everything else is written once here.
pub trait Module {
    /// Calls `visitor(full_name, tensor, kind)` for every tensor of this module and its
    /// submodules, in declaration order (tied tensors once per name).
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind));

    /// [`Module::visit_tensors`] with the tensors themselves replaceable (`to_dtype`).
    fn visit_tensors_mut(&mut self, prefix: &str, visitor: &mut dyn FnMut(&str, &mut Tensor, TensorKind));

    /// Calls `visitor(name, child)` for each direct submodule.
    fn visit_children<'a>(&'a self, visitor: &mut dyn FnMut(&str, &'a dyn Module));

    /// [`Module::visit_children`] with mutable access.
    fn visit_children_mut(&mut self, visitor: &mut dyn FnMut(&str, &mut dyn Module));

    /// Sets training mode on this module and every submodule.
    fn set_training(&mut self, training: bool);

    /// The module's type name (`"Linear"`), as PyTorch's `type(m).__name__`.
    fn type_name(&self) -> &'static str;

    /// `(name, parameter)` pairs with PyTorch's key names (`fc1.weight`, `layers.0.bias`); a
    /// tensor reachable under several names (tied weights) is listed once, under its first
    /// name, as PyTorch does, so an optimiser updates it once per step.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        named_of_kind(self, TensorKind::Parameter)
    }

    /// The parameters, for an optimiser (each tensor once).
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }

    /// `(name, buffer)` pairs (each tensor once).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        named_of_kind(self, TensorKind::Buffer)
    }

    /// The buffers.
    fn buffers(&self) -> Vec<Tensor> {
        self.named_buffers().into_iter().map(|(_, t)| t).collect()
    }

    /// Parameters and buffers by name (the tensors themselves, not copies). Tied tensors
    /// appear under every name, as in PyTorch's `state_dict()`.
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

    /// `(name, child)` for each direct submodule.
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        let mut out = Vec::new();
        self.visit_children(&mut |n, m| out.push((n.to_string(), m)));
        out
    }

    /// The direct submodules.
    fn children(&self) -> Vec<&dyn Module> {
        self.named_children().into_iter().map(|(_, m)| m).collect()
    }

    /// `(name, module)` for this module (named `""`) and every submodule, depth first, as
    /// PyTorch's `named_modules()`.
    fn named_modules(&self) -> Vec<(String, &dyn Module)>
    where
        Self: Sized,
    {
        let mut out = vec![(String::new(), self as &dyn Module)];
        collect_modules(self, "", &mut out);
        out
    }

    /// This module and every submodule, depth first.
    fn modules(&self) -> Vec<&dyn Module>
    where
        Self: Sized,
    {
        self.named_modules().into_iter().map(|(_, m)| m).collect()
    }

    /// Calls `f` on every submodule and then on this module (post-order, as PyTorch's
    /// `apply`), e.g. to initialise weights by `type_name()`.
    fn apply(&mut self, f: &mut dyn FnMut(&mut dyn Module))
    where
        Self: Sized,
    {
        apply_dyn(self, f)
    }

    /// Converts every floating-point parameter and buffer to `dtype` (integer buffers such as
    /// `num_batches_tracked` stay), keeping `requires_grad` and keeping tied tensors tied.
    #[track_caller]
    fn to_dtype(&mut self, dtype: DType) -> Result<()> {
        if !dtype.is_float() {
            return Err(Error::dtype("Module::to_dtype", format!("expected a floating point dtype, got {dtype}")));
        }
        let mut converted: HashMap<usize, Tensor> = HashMap::new();
        let mut err = None;
        self.visit_tensors_mut("", &mut |_, t, _| {
            if err.is_some() || !t.dtype().is_float() || t.dtype() == dtype {
                return;
            }
            if let Some(new) = converted.get(&t.handle_id()) {
                *t = new.clone();
                return;
            }
            let was = t.requires_grad();
            match no_grad(|| t.to_dtype(dtype)).and_then(|n| n.set_requires_grad(was)) {
                Ok(n) => {
                    converted.insert(t.handle_id(), n.clone());
                    *t = n;
                }
                Err(e) => err = Some(e),
            }
        });
        err.map_or(Ok(()), Err)
    }

    /// Sets `requires_grad` on every parameter (`requires_grad_(False)` freezes a module).
    fn requires_grad_(&self, requires_grad: bool) -> Result<()> {
        self.parameters().iter().try_for_each(|p| p.set_requires_grad(requires_grad).map(|_| ()))
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

    /// Number of parameter elements (tied tensors counted once).
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }
}

/// Named tensors of one kind, each tensor once (first name wins).
fn named_of_kind<M: Module + ?Sized>(m: &M, kind: TensorKind) -> Vec<(String, Tensor)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    m.visit_tensors("", &mut |n, t, k| {
        if k == kind && seen.insert(t.handle_id()) {
            out.push((n.to_string(), t.clone()));
        }
    });
    out
}

fn collect_modules<'a>(m: &'a dyn Module, prefix: &str, out: &mut Vec<(String, &'a dyn Module)>) {
    let mut kids: Vec<(String, &'a dyn Module)> = Vec::new();
    m.visit_children(&mut |n, c| kids.push((join_name(prefix, n), c)));
    for (name, c) in kids {
        out.push((name.clone(), c));
        collect_modules(c, &name, out);
    }
}

/// Post-order `apply` on a trait object (children first).
pub fn apply_dyn(m: &mut dyn Module, f: &mut dyn FnMut(&mut dyn Module)) {
    m.visit_children_mut(&mut |_, c| apply_dyn(c, f));
    f(m);
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
    fn visit_tensors_mut(&mut self, prefix: &str, visitor: &mut dyn FnMut(&str, &mut Tensor, TensorKind)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_tensors_mut(&join_name(prefix, &i.to_string()), visitor);
        }
    }
    fn visit_children<'a>(&'a self, visitor: &mut dyn FnMut(&str, &'a dyn Module)) {
        for (i, m) in self.iter().enumerate() {
            visitor(&i.to_string(), m);
        }
    }
    fn visit_children_mut(&mut self, visitor: &mut dyn FnMut(&str, &mut dyn Module)) {
        for (i, m) in self.iter_mut().enumerate() {
            visitor(&i.to_string(), m);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self.iter_mut() {
            m.set_training(training);
        }
    }
    /// A `Vec` of modules is PyTorch's `ModuleList`.
    fn type_name(&self) -> &'static str {
        "ModuleList"
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        (**self).visit_tensors(prefix, visitor);
    }
    fn visit_tensors_mut(&mut self, prefix: &str, visitor: &mut dyn FnMut(&str, &mut Tensor, TensorKind)) {
        (**self).visit_tensors_mut(prefix, visitor);
    }
    fn visit_children<'a>(&'a self, visitor: &mut dyn FnMut(&str, &'a dyn Module)) {
        (**self).visit_children(visitor);
    }
    fn visit_children_mut(&mut self, visitor: &mut dyn FnMut(&str, &mut dyn Module)) {
        (**self).visit_children_mut(visitor);
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
    fn type_name(&self) -> &'static str {
        (**self).type_name()
    }
}

/// A parameter: a leaf that requires grad.
pub(crate) fn param(t: Tensor) -> Result<Tensor> {
    t.set_requires_grad(true)
}
