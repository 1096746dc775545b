//! The fused Adam/AdamW and Adadelta steps used by `ember-optim` (one pass over parameter,
//! gradient and state instead of a chain of tensor ops). It requires contiguous f32/f64 tensors of one shape
//! in distinct storages, bumps the version counters of what it writes, and records no autograd
//! (call it under `no_grad`).

use crate::error::{Error, Result};
use crate::storage::CpuStorage;
use crate::{DType, Tensor};
pub use ember_kernels::optim::{AdadeltaStep, AdamStep};

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

/// One Adadelta step in place: `param`, `square_avg` and `acc_delta` are updated from `grad`
/// (the tensors must pass [`adam_supported`]).
#[track_caller]
pub fn adadelta_update(
    param: &Tensor,
    grad: &Tensor,
    square_avg: &Tensor,
    acc_delta: &Tensor,
    s: &AdadeltaStep,
) -> Result<()> {
    if !adam_supported(&[param, grad, square_avg, acc_delta]) {
        return Err(Error::unsupported(
            "adadelta_update",
            "needs contiguous f32/f64 tensors of one shape in distinct storages",
        ));
    }
    let range = |t: &Tensor| t.storage_offset()..t.storage_offset() + t.numel();
    let g = grad.storage().read();
    let mut p = param.storage().write();
    let mut sq = square_avg.storage().write();
    let mut acc = acc_delta.storage().write();
    macro_rules! go {
        ($variant:ident, $f:path) => {{
            let (CpuStorage::$variant(p), CpuStorage::$variant(g), CpuStorage::$variant(sq), CpuStorage::$variant(acc)) =
                (&mut *p, &*g, &mut *sq, &mut *acc)
            else {
                unreachable!("dtypes checked by adam_supported")
            };
            $f(&mut p[range(param)], &g[range(grad)], &mut sq[range(square_avg)], &mut acc[range(acc_delta)], s);
        }};
    }
    match param.dtype() {
        DType::F32 => go!(F32, ember_kernels::optim::adadelta_f32),
        _ => go!(F64, ember_kernels::optim::adadelta_f64),
    }
    Ok(())
}
