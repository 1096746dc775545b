//! Fused layer/RMS norm over the last dim for inference: one kernel per row instead of a chain
//! of reductions and elementwise ops (`nn::functional` uses it when nothing records gradients);
//! and the sum of squares of a tensor in one pass (gradient clipping's norms).

use crate::error::{Error, Result};
use crate::{DType, Tensor};

/// Which normalisation [`norm_last_dim`] applies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowNorm {
    /// Layer norm (mean and biased variance).
    Layer,
    /// RMS norm (no mean, no bias).
    Rms,
}

/// Fused layer/RMS norm over the last dim for inference (f32; no gradients): one kernel per row
/// instead of a chain of reductions and elementwise ops. `weight`/`bias` have the last dim's
/// size.
#[track_caller]
pub fn norm_last_dim(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
    kind: RowNorm,
) -> Result<Tensor> {
    let d = *x.shape().last().ok_or_else(|| Error::shape("norm_last_dim", "input has no dims"))?;
    for t in [weight, bias].into_iter().flatten() {
        if t.shape() != [d] {
            return Err(Error::shape(
                "norm_last_dim",
                format!("weight/bias {:?} do not match the last dim of {:?}", t.shape(), x.shape()),
            ));
        }
    }
    let recording = crate::autograd::is_grad_enabled()
        && (x.requires_grad() || weight.is_some_and(|w| w.requires_grad()) || bias.is_some_and(|b| b.requires_grad()));
    if recording || x.dtype() != DType::F32 {
        return Err(Error::unsupported("norm_last_dim", "the fused norm is inference-only and f32"));
    }
    let g = weight.map(|w| w.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()).transpose()?.unwrap_or_default();
    let b = bias.map(|w| w.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()).transpose()?.unwrap_or_default();
    let out = super::read_as(x, "norm_last_dim", |xs: &[f32]| {
        let mut out = crate::storage::pool::take::<f32>(xs.len());
        if d > 0 {
            ember_kernels::threads::for_each_row_block_mut(&mut out, d, |row, o| {
                let xb = &xs[row * d..][..o.len()];
                match kind {
                    RowNorm::Layer => ember_kernels::rowwise::layer_norm_rows(xb, d, &g, &b, eps as f32, o, &mut []),
                    RowNorm::Rms => ember_kernels::rowwise::rms_norm_rows(xb, d, &g, eps as f32, o),
                }
            });
        }
        out
    })?;
    Tensor::from_vec(out, x.shape())
}

/// `sum(x^2)` of every element, in one read of `x`, without recording (gradient clipping). f32
/// runs the SIMD dot kernel in blocks of 64K (their partial sums added in f64), in parallel;
/// other dtypes accumulate in f64.
pub fn sum_of_squares(x: &Tensor) -> Result<f64> {
    const BLOCK: usize = 1 << 16;
    if x.dtype() == DType::F32 {
        return super::read_as(x, "sum_of_squares", |v: &[f32]| {
            let mut parts = vec![0.0f64; v.len().div_ceil(BLOCK)];
            ember_kernels::threads::for_each_block_mut(&mut parts, 1, |i, p| {
                let b = &v[i * BLOCK..((i + 1) * BLOCK).min(v.len())];
                p[0] = f64::from(ember_kernels::reduce::dot(b, b));
            });
            parts.iter().sum()
        });
    }
    Ok(x.detach().to_f64_vec()?.iter().map(|v| v * v).sum())
}

/// Softmax's (or log-softmax's) first-order backward over the last dim of f32 tensors from the
/// saved output `y`, in one pass per row; `None` outside that case (another dtype or dim, or a
/// `create_graph` backward that must record), where the caller composes tensor ops.
pub fn softmax_backward_last(y: &Tensor, g: &Tensor, dim: usize, log: bool) -> Result<Option<Tensor>> {
    let d = y.shape().last().copied().unwrap_or(0);
    if crate::autograd::is_grad_enabled()
        || y.dtype() != DType::F32
        || g.dtype() != DType::F32
        || y.shape() != g.shape()
        || dim + 1 != y.dim()
        || d == 0
    {
        return Ok(None);
    }
    let dx = super::read_as(y, "softmax_backward", |ys: &[f32]| {
        super::read_as(g, "softmax_backward", |gs: &[f32]| {
            let mut dx = crate::storage::pool::take::<f32>(ys.len());
            ember_kernels::threads::for_each_row_block_mut(&mut dx, d, |row, o| {
                let at = row * d;
                ember_kernels::rowwise::softmax_backward_rows(&ys[at..][..o.len()], &gs[at..][..o.len()], d, log, o);
            });
            dx
        })
    })??;
    Tensor::from_vec(dx, y.shape()).map(Some)
}
