//! Activation checkpointing (`torch.utils.checkpoint`): run a segment without recording, keep
//! only its inputs, and recompute it (with the same random numbers) during backward.

use super::{engine, is_grad_enabled, no_grad, with_grad_mode};
use crate::error::Result;
use crate::op::{CheckpointFn, Op};
use crate::rng;
use crate::Tensor;
use std::sync::Arc;

/// Runs `f(inputs)` without storing its intermediate activations; backward recomputes them.
/// The global random state is replayed, so dropout inside the segment draws the same mask.
pub fn checkpoint(
    f: impl Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
    inputs: &[Tensor],
) -> Result<Tensor> {
    let before = rng::global_state();
    let out = no_grad(|| f(inputs))?;
    Ok(record(f, inputs, out, before))
}

/// [`checkpoint`] for a function that also uses tensors it captured (a module's parameters,
/// as Python's `torch.utils.checkpoint` is called): the forward runs once with recording on,
/// the leaves that require grad it reached become inputs of the node too (so they get their
/// gradients), and then its graph and activations are dropped. The function is called with
/// `inputs` only; it reaches the captured leaves itself, in backward as in forward.
pub fn checkpoint_capturing(
    f: impl Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
    inputs: &[Tensor],
) -> Result<Tensor> {
    let before = rng::global_state();
    let out = with_grad_mode(true, || f(inputs))?;
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let mut all = inputs.to_vec();
    all.extend(super::leaves_other_than(&out, &refs)?);
    let n = inputs.len();
    let g = move |xs: &[Tensor]| f(&xs[..n]);
    Ok(record(g, &all, out.detach(), before))
}

/// Records `out`, which `f(inputs)` computed from the random state `before`, as one node whose
/// backward replays `f` from that state.
fn record(
    f: impl Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
    inputs: &[Tensor],
    out: Tensor,
    before: rng::Generator,
) -> Tensor {
    let replay: Arc<CheckpointFn> = Arc::new(move |xs: &[Tensor]| {
        let now = rng::global_state();
        rng::set_global_state(before);
        let r = f(xs);
        rng::set_global_state(now);
        r
    });
    let refs: Vec<&Tensor> = inputs.iter().collect();
    out.record(&refs, || Op::Checkpoint { f: replay })
}

/// Gradients of a checkpointed segment: recompute with recording on, then backpropagate `g`.
pub(crate) fn backward(
    f: &Arc<CheckpointFn>,
    inputs: &[Tensor],
    g: &Tensor,
    needs: &[bool],
) -> Result<Vec<Option<Tensor>>> {
    let create_graph = is_grad_enabled();
    let leaves: Vec<Tensor> = inputs
        .iter()
        .zip(needs)
        // A non-leaf input is cut from the graph behind it, so the gradient stops there; a leaf
        // (a captured parameter) is used as it is, because `f` reaches it by itself.
        .map(|(t, &n)| match n && !create_graph && !t.is_leaf() {
            true => t.detach().set_requires_grad(true),
            false => Ok(t.clone()),
        })
        .collect::<Result<_>>()?;
    let out = with_grad_mode(true, || f(&leaves))?;
    let wanted: Vec<&Tensor> = leaves.iter().zip(needs).filter(|(_, &n)| n).map(|(t, _)| t).collect();
    if wanted.is_empty() || !out.requires_grad() {
        return Ok(needs.iter().map(|_| None).collect());
    }
    let grads = engine::grad_with(
        &[&out],
        &wanted,
        engine::GradOptions {
            create_graph,
            allow_unused: true,
            grad_outputs: Some(vec![g.clone()]),
            ..Default::default()
        },
    )?;
    let mut it = grads.into_iter();
    Ok(needs.iter().map(|&n| if n { it.next() } else { None }).collect())
}
