//! The backward engine: topological order over the recorded graph, one call into the gradient
//! table per node, accumulation of gradients (the rules never accumulate), hooks, and freeing
//! of saved tensors as it goes unless the graph is retained.

use super::{profile, with_grad_mode};
use crate::error::{Error, Result};
use crate::Tensor;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

/// A function to run once the current backward pass has finished.
type Callback = Box<dyn FnOnce() -> Result<()>>;

thread_local! {
    /// Backward passes running on this thread (a hook or checkpoint may start a nested one).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Callbacks queued during the outermost backward pass on this thread.
    static CALLBACKS: RefCell<Vec<Callback>> = const { RefCell::new(Vec::new()) };
}

/// Queues `f` to run when the backward pass now running on this thread has finished (after
/// every gradient has been accumulated), as PyTorch's `Variable._execution_engine.queue_callback`:
/// data-parallel training waits there for its last gradient reductions. An error outside a
/// backward pass. Callbacks run in the order queued; the first error is the pass's result. If
/// the pass itself fails, its callbacks are dropped without running.
pub fn queue_callback(f: impl FnOnce() -> Result<()> + 'static) -> Result<()> {
    if DEPTH.with(|d| d.get()) == 0 {
        return Err(Error::autograd("queue_callback", "Final callbacks can only be installed during backward pass."));
    }
    CALLBACKS.with(|c| c.borrow_mut().push(Box::new(f)));
    Ok(())
}

/// Marks a backward pass as running on this thread for as long as it lives.
struct Pass;

impl Pass {
    fn enter() -> Pass {
        DEPTH.with(|d| d.set(d.get() + 1));
        Pass
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let depth = DEPTH.with(|d| {
            d.set(d.get() - 1);
            d.get()
        });
        if depth == 0 {
            // Whatever was not run (the pass failed) is dropped, never carried to the next pass.
            CALLBACKS.with(|c| c.borrow_mut().clear());
        }
    }
}

/// Runs the callbacks queued during the outermost pass (a nested pass leaves them queued).
fn run_callbacks() -> Result<()> {
    if DEPTH.with(|d| d.get()) != 1 {
        return Ok(());
    }
    loop {
        // A callback may queue another; take them one at a time.
        let next = CALLBACKS.with(|c| {
            let mut c = c.borrow_mut();
            (!c.is_empty()).then(|| c.remove(0))
        });
        match next {
            Some(f) => f()?,
            None => return Ok(()),
        }
    }
}

/// Options of [`grad_with`] (PyTorch's `torch.autograd.grad` keywords).
#[derive(Clone, Debug, Default)]
pub struct GradOptions {
    /// Record the backward pass so the result can be differentiated again.
    pub create_graph: bool,
    /// Keep the graph for another backward (implied by `create_graph`).
    pub retain_graph: bool,
    /// Return zeros instead of an error for inputs the outputs do not depend on.
    pub allow_unused: bool,
    /// Gradients of the outputs (default: ones, for scalar outputs).
    pub grad_outputs: Option<Vec<Tensor>>,
}

/// `torch.autograd.grad(outputs, inputs, create_graph=...)`: the gradients of the sum of
/// `outputs` with respect to each of `inputs`, without touching any `.grad`.
#[track_caller]
pub fn grad(outputs: &[&Tensor], inputs: &[&Tensor], create_graph: bool) -> Result<Vec<Tensor>> {
    grad_with(outputs, inputs, GradOptions { create_graph, ..Default::default() })
}

/// [`grad`] with all of PyTorch's options.
#[track_caller]
pub fn grad_with(outputs: &[&Tensor], inputs: &[&Tensor], opts: GradOptions) -> Result<Vec<Tensor>> {
    let allow_unused = opts.allow_unused;
    grad_with_opt(outputs, inputs, opts)?
        .into_iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (g, t))| match g {
            Some(g) => Ok(g),
            None if allow_unused => Tensor::zeros_like(t),
            None => Err(Error::autograd(
                "grad",
                format!("input {i} appears to not have been used in the graph; set allow_unused"),
            )),
        })
        .collect()
}

/// [`grad_with`] returning `None` for inputs the outputs do not depend on (PyTorch's
/// `allow_unused=True` result).
#[track_caller]
pub fn grad_with_opt(outputs: &[&Tensor], inputs: &[&Tensor], opts: GradOptions) -> Result<Vec<Option<Tensor>>> {
    let mut roots = Vec::with_capacity(outputs.len());
    for (i, o) in outputs.iter().enumerate() {
        if !o.requires_grad() {
            return Err(Error::autograd(
                "grad",
                format!("element {i} of outputs does not require grad and does not have a grad_fn"),
            ));
        }
        let g = match &opts.grad_outputs {
            Some(gs) => {
                let g = gs.get(i).ok_or_else(|| Error::value("grad", "grad_outputs has fewer entries than outputs"))?;
                if g.shape() != o.shape() {
                    return Err(Error::shape(
                        "grad",
                        format!("grad_outputs[{i}] has shape {:?} but output has shape {:?}", g.shape(), o.shape()),
                    ));
                }
                g.clone()
            }
            None => {
                if o.numel() != 1 {
                    return Err(Error::shape(
                        "grad",
                        format!("grad can be implicitly created only for scalar outputs, got shape {:?}", o.shape()),
                    ));
                }
                Tensor::ones_like(o)?
            }
        };
        roots.push(((*o).clone(), g));
    }
    for (i, t) in inputs.iter().enumerate() {
        if !t.requires_grad() {
            return Err(Error::autograd("grad", format!("input {i} does not require grad")));
        }
    }
    let inputs: Vec<Tensor> = inputs.iter().map(|t| (*t).clone()).collect();
    let found = crate::error::at_caller(run(
        &roots,
        Some(&inputs),
        opts.retain_graph || opts.create_graph,
        opts.create_graph,
        true,
    ))?;
    found.ok_or_else(|| Error::autograd("grad", "the engine returned no input gradients"))
}

/// Post-order DFS over tensors that require grad, iterative so deep graphs cannot overflow the
/// stack. Reversed, it is a topological order (outputs before inputs).
fn topo_order(roots: &[(Tensor, Tensor)]) -> Result<Vec<Tensor>> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = roots.iter().map(|(t, _)| (t.clone(), false)).collect();
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.graph_key()) {
            continue;
        }
        let node = t.node();
        stack.push((t, true));
        if let Some(node) = node {
            for inp in node.inputs()? {
                if inp.requires_grad() && !seen.contains(&inp.graph_key()) {
                    stack.push((inp, false));
                }
            }
        }
    }
    order.reverse();
    Ok(order)
}

/// Anomaly mode: the first input gradient of `node` that holds a NaN is an error naming it.
fn check_nan(node: &super::Node, grads: &[Option<Tensor>]) -> Result<()> {
    for (i, g) in grads.iter().enumerate() {
        let Some(g) = g else { continue };
        if g.dtype().is_float() && crate::autograd::no_grad(|| g.isnan()?.to_vec::<bool>())?.contains(&true) {
            return Err(Error::autograd(
                "backward",
                format!("Function '{}' returned nan values in its {i}th output.", node.torch_name()),
            ));
        }
    }
    Ok(())
}

fn accumulate(map: &mut HashMap<usize, Tensor>, id: usize, g: Tensor) -> Result<()> {
    let sum = match map.remove(&id) {
        Some(prev) => prev.add(&g)?,
        None => g,
    };
    map.insert(id, sum);
    Ok(())
}

/// Runs backward from `roots` (tensor, gradient). With `inputs`, returns their gradients
/// instead of accumulating into leaves' `.grad` (`only_inputs`).
pub(crate) fn run(
    roots: &[(Tensor, Tensor)],
    inputs: Option<&[Tensor]>,
    retain_graph: bool,
    create_graph: bool,
    only_inputs: bool,
) -> Result<Option<Vec<Option<Tensor>>>> {
    let _pass = Pass::enter();
    let found = with_grad_mode(create_graph, || -> Result<Option<Vec<Option<Tensor>>>> {
        let order = topo_order(roots)?;
        let mut grads: HashMap<usize, Tensor> = HashMap::new();
        for (t, g) in roots {
            let g = if create_graph { g.clone() } else { g.detach() };
            accumulate(&mut grads, t.graph_key(), g.to_dtype(t.dtype())?)?;
        }
        let wanted: HashMap<usize, usize> =
            inputs.unwrap_or(&[]).iter().enumerate().map(|(i, t)| (t.graph_key(), i)).collect();
        let mut found: Vec<Option<Tensor>> = vec![None; wanted.len()];

        for t in &order {
            let Some(mut g) = grads.remove(&t.graph_key()) else { continue };
            let node = t.node();
            // The graph may hold a data-less proxy of a non-leaf; hooks and retain_grad live on
            // the tensor the user holds (if it is still alive).
            let owner = match &node {
                Some(n) => n.output(),
                None => Some(t.clone()),
            };
            if let Some(owner) = &owner {
                let hooks = owner.0.hooks.lock().unwrap_or_else(|e| e.into_inner());
                for h in hooks.iter() {
                    if let Some(new) = h(&g)? {
                        g = new;
                    }
                }
            }
            if let Some(&i) = wanted.get(&t.graph_key()) {
                found[i] = Some(g.clone());
            }
            let retains = owner.as_ref().is_some_and(|o| o.0.retains_grad.load(std::sync::atomic::Ordering::Relaxed));
            if let (false, true, Some(target)) = (only_inputs, node.is_none() || retains, &owner) {
                // A leaf (or a non-leaf that asked to retain its grad): accumulate into .grad.
                let span = if node.is_none() { profile::start() } else { None };
                let g = if create_graph { g.clone() } else { g.detach() };
                let new = match target.grad() {
                    Some(prev) => prev.add(&g)?,
                    None => g.contiguous()?,
                };
                target.set_grad(Some(new));
                if node.is_none() {
                    let hooks = target.0.post_accumulate_hooks.lock().unwrap_or_else(|e| e.into_inner());
                    for h in hooks.iter() {
                        h(target)?;
                    }
                }
                profile::finish(span, || "autograd::engine::evaluate_function: torch::autograd::AccumulateGrad".into());
            }
            let Some(node) = node else { continue };
            let state = node.take_state(retain_graph)?;
            let needs: Vec<bool> = state.graph_inputs().iter().map(|i| i.requires_grad()).collect();
            let span = profile::start();
            let in_grads = state.op.backward(&state, &g, &needs)?;
            profile::finish(span, || format!("autograd::engine::evaluate_function: {}", node.torch_name()));
            if super::anomaly_mode() == (true, true) {
                check_nan(&node, &in_grads)?;
            }
            for ((inp, need), gi) in state.graph_inputs().iter().zip(&needs).zip(in_grads) {
                if let (true, Some(gi)) = (need, gi) {
                    if gi.shape() != inp.shape() {
                        return Err(Error::autograd(
                            "backward",
                            format!(
                                "{}Backward returned a gradient of shape {:?} for an input of shape {:?}",
                                node.name,
                                gi.shape(),
                                inp.shape()
                            ),
                        ));
                    }
                    accumulate(&mut grads, inp.graph_key(), gi)?;
                }
            }
        }
        Ok(inputs.map(|_| found))
    })?;
    run_callbacks()?;
    Ok(found)
}
