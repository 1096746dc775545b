//! Finite-difference gradient checks (public: every crate tests its ops with these).
//!
//! `gradcheck` compares the analytical vector-Jacobian product `v^T J` (one backward pass with
//! a fixed pseudo-random `v`) with central differences of `<v, f(x)>`, element by element, in
//! f64. `gradgradcheck` runs the same check on the function `x -> d<v, f(x)>/dx` built with
//! `create_graph`, which exercises every rule's own derivative.

use super::engine;
use crate::error::{Error, Result};
use crate::{DType, Tensor};

/// Tolerances of [`gradcheck`] (PyTorch's defaults: eps 1e-6, atol 1e-5, rtol 1e-3).
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }
    }
}

/// A fixed projection vector for an output of `n` elements: magnitudes in [0.5, 1.5], mixed
/// signs, so no gradient component can cancel by symmetry.
fn projection(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let h = crate::rng::uniform_f64(0x9c4e, i as u64);
            let s = if crate::rng::bits(0x51, i as u64) & 1 == 0 { 1.0 } else { -1.0 };
            s * (0.5 + h)
        })
        .collect()
}

fn dot_v(out: &Tensor, v: &[f64]) -> Result<f64> {
    let o = out.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
    Ok(o.iter().zip(v).map(|(a, b)| a * b).sum())
}

/// Checks the gradients of `f` with respect to every input that requires grad (inputs must be
/// f64). Returns an error describing the first mismatch.
pub fn gradcheck(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor], opts: GradcheckOptions) -> Result<()> {
    for (i, t) in inputs.iter().enumerate() {
        if t.requires_grad() && t.dtype() != DType::F64 {
            return Err(Error::dtype("gradcheck", format!("input {i} is {}; gradcheck needs f64 inputs", t.dtype())));
        }
    }
    let out = f(inputs)?;
    let v = projection(out.numel());
    let checked: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].requires_grad()).collect();
    if checked.is_empty() {
        return Err(Error::value("gradcheck", "no input requires grad"));
    }
    let analytical: Vec<Tensor> = if out.requires_grad() {
        let vt = Tensor::from_vec(v.clone(), out.shape())?.to_dtype(out.dtype())?;
        let wanted: Vec<&Tensor> = checked.iter().map(|&i| &inputs[i]).collect();
        engine::grad_with(
            &[&out],
            &wanted,
            engine::GradOptions {
                grad_outputs: Some(vec![vt]),
                allow_unused: true,
                retain_graph: true,
                ..Default::default()
            },
        )?
    } else {
        // An output that does not depend on any input (e.g. comparisons): gradient zero.
        checked.iter().map(|&i| Tensor::zeros_like(&inputs[i])).collect::<Result<_>>()?
    };
    for (k, &i) in checked.iter().enumerate() {
        let a = analytical[k].to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
        let base = inputs[i].contiguous()?.to_vec::<f64>()?;
        for j in 0..base.len() {
            let eval = |delta: f64| -> Result<f64> {
                let mut x = base.clone();
                x[j] += delta;
                let mut args = inputs.to_vec();
                args[i] = Tensor::from_vec(x, inputs[i].shape())?.set_requires_grad(true)?;
                dot_v(&f(&args)?, &v)
            };
            let num = (eval(opts.eps)? - eval(-opts.eps)?) / (2.0 * opts.eps);
            if (num - a[j]).abs() > opts.atol + opts.rtol * num.abs() || a[j].is_nan() != num.is_nan() {
                return Err(Error::value(
                    "gradcheck",
                    format!("Jacobian mismatch for input {i} (shape {:?}) at element {j}: numerical {num:.8e} vs analytical {:.8e}", inputs[i].shape(), a[j]),
                ));
            }
        }
    }
    Ok(())
}

/// Checks second derivatives: [`gradcheck`] on `x -> d<v, f(x)>/dx` (computed with
/// `create_graph`), flattened and concatenated over the inputs that require grad.
pub fn gradgradcheck(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor], opts: GradcheckOptions) -> Result<()> {
    let first = |xs: &[Tensor]| -> Result<Tensor> {
        let out = f(xs)?;
        let v = Tensor::from_vec(projection(out.numel()), out.shape())?.to_dtype(out.dtype())?;
        let wanted: Vec<&Tensor> = xs.iter().filter(|t| t.requires_grad()).collect();
        let gs = engine::grad_with(
            &[&out],
            &wanted,
            engine::GradOptions {
                grad_outputs: Some(vec![v]),
                create_graph: true,
                allow_unused: true,
                ..Default::default()
            },
        )?;
        let flat: Vec<Tensor> = gs.iter().map(|g| g.reshape(&[-1])).collect::<Result<_>>()?;
        let refs: Vec<&Tensor> = flat.iter().collect();
        Tensor::cat(&refs, 0)
    };
    gradcheck(first, inputs, opts)
}
