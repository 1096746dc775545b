//! Fused in-place updates used by optimisers (one pass instead of a chain of tensor ops).
//! They require contiguous f32/f64 tensors of one shape in distinct storages, bump the version
//! counters of what they write, and record no autograd (call them under `no_grad`).

use crate::error::{Error, Result};
use crate::storage::CpuStorage;
use crate::{DType, Tensor};
pub use ember_kernels::optim::AdamStep;

/// Whether [`adam_update`] accepts these tensors (otherwise use the tensor-op path): one
/// float dtype (f32 or f64), one shape, contiguous, distinct storages.
pub fn adam_supported(tensors: &[&Tensor]) -> bool {
    let first = tensors[0];
    matches!(first.dtype(), DType::F32 | DType::F64)
        && tensors.iter().all(|t| t.dtype() == first.dtype() && t.shape() == first.shape() && t.is_contiguous())
        && tensors.iter().enumerate().all(|(i, a)| tensors[i + 1..].iter().all(|b| !a.shares_storage(b)))
}

/// One Adam/AdamW step in place: `param`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq` for
/// AMSGrad) are updated from `grad`.
#[track_caller]
pub fn adam_update(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&Tensor>,
    s: &AdamStep,
) -> Result<()> {
    let mut all = vec![param, grad, exp_avg, exp_avg_sq];
    all.extend(max_exp_avg_sq);
    if !adam_supported(&all) {
        return Err(Error::unsupported(
            "adam_update",
            "needs contiguous f32/f64 tensors of one shape in distinct storages",
        ));
    }
    let range = |t: &Tensor| t.storage_offset()..t.storage_offset() + t.numel();
    let g = grad.storage().read();
    let mut p = param.storage().write();
    let mut m = exp_avg.storage().write();
    let mut v = exp_avg_sq.storage().write();
    let mut mx = max_exp_avg_sq.map(|t| t.storage().write());
    macro_rules! go {
        ($variant:ident, $f:path) => {{
            let (CpuStorage::$variant(p), CpuStorage::$variant(g), CpuStorage::$variant(m), CpuStorage::$variant(v)) =
                (&mut *p, &*g, &mut *m, &mut *v)
            else {
                unreachable!("dtypes checked by adam_supported")
            };
            let mxs = match mx.as_deref_mut() {
                Some(CpuStorage::$variant(x)) => {
                    Some(&mut x[range(max_exp_avg_sq.expect("guard exists only with the tensor"))])
                }
                _ => None,
            };
            $f(&mut p[range(param)], &g[range(grad)], &mut m[range(exp_avg)], &mut v[range(exp_avg_sq)], mxs, s);
        }};
    }
    match param.dtype() {
        DType::F32 => go!(F32, ember_kernels::optim::adam_f32),
        _ => go!(F64, ember_kernels::optim::adam_f64),
    }
    Ok(())
}

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
