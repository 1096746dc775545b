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
    let saved_rng = rng::global_state();
    let replay: Arc<CheckpointFn> = Arc::new(move |xs: &[Tensor]| {
        let now = rng::global_state();
        rng::set_global_state(saved_rng);
        let r = f(xs);
        rng::set_global_state(now);
        r
    });
    let out = no_grad(|| replay(inputs))?;
    // The forward ran with the replay's RNG state; advance the global stream as it would have.
    let after = rng::global_state();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let out = out.record(&refs, || Op::Checkpoint { f: replay });
    rng::set_global_state(after);
    Ok(out)
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
        .map(|(t, &n)| if n && !create_graph { t.detach().set_requires_grad(true) } else { Ok(t.clone()) })
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
