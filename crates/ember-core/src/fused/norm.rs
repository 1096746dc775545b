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
    let xs = x.contiguous()?.to_vec::<f32>()?;
    let g = weight.map(|w| w.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()).transpose()?.unwrap_or_default();
    let b = bias.map(|w| w.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()).transpose()?.unwrap_or_default();
    let mut out = crate::storage::pool::take::<f32>(xs.len());
    if let Some(rows) = ember_kernels::threads::PARALLEL_MIN_WORK.checked_div(d) {
        let rows = rows.max(1);
        ember_kernels::threads::for_each_block_mut(&mut out, rows * d, |blk, chunk| {
            for (r, o) in chunk.chunks_mut(d).enumerate() {
                let row = &xs[(blk * rows + r) * d..(blk * rows + r + 1) * d];
                match kind {
                    RowNorm::Layer => ember_kernels::rowwise::layer_norm(row, &g, &b, eps as f32, o),
                    RowNorm::Rms => ember_kernels::rowwise::rms_norm(row, &g, eps as f32, o),
                }
            }
        });
    }
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
