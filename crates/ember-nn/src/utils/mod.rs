//! `torch.nn.utils`: gradient clipping here, packed sequences in [`rnn`].

pub mod rnn;

use ember_core::{no_grad, Result, Tensor};

/// Scales all gradients so that their global L2 norm is at most `max_norm`; returns the norm
/// before clipping (`clip_grad_norm_`). Parameters without a gradient are skipped.
pub fn clip_grad_norm_(params: &[Tensor], max_norm: f64) -> Result<f64> {
    no_grad(|| {
        let mut total = 0.0f64;
        let grads: Vec<Tensor> = params.iter().filter_map(|p| p.grad()).collect();
        for g in &grads {
            total += g.to_dtype(ember_core::DType::F64)?.square()?.sum()?.item::<f64>()?;
        }
        let norm = total.sqrt();
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            for g in &grads {
                g.mul_scalar_(coef)?;
            }
        }
        Ok(norm)
    })
}

/// Clamps every gradient element to `[-clip, clip]` (`clip_grad_value_`).
pub fn clip_grad_value_(params: &[Tensor], clip: f64) -> Result<()> {
    no_grad(|| {
        for p in params {
            if let Some(g) = p.grad() {
                g.copy_(&g.clamp(Some(-clip), Some(clip))?)?;
            }
        }
        Ok(())
    })
}
