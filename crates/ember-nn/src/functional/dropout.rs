//! The dropout family beyond elementwise `dropout`: whole-channel dropout (`dropout1d/2d/3d`)
//! and the self-normalising variants (`alpha_dropout`, `feature_alpha_dropout`) that keep
//! SELU activations at zero mean and unit variance. Masks come from the seeded generator.

use ember_core::{DType, Error, Result, Tensor};

/// `-SELU_SCALE * SELU_ALPHA`: where alpha dropout sends dropped units (PyTorch's constant).
const ALPHA: f64 = 1.758_099_340_847_376_6;

#[track_caller]
fn check_p(op: &'static str, p: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::value(op, format!("dropout probability has to be between 0 and 1, but got {p}")));
    }
    Ok(())
}

/// A keep mask (1 kept, 0 dropped) with `x`'s shape or, for `feature`, `[N, C, 1, ...]` (one
/// draw per channel; an unbatched input `[C, ...]` when `batched` is false).
fn keep_mask(x: &Tensor, p: f64, feature: bool, batched: bool) -> Result<Tensor> {
    let shape: Vec<usize> = if feature {
        let lead = if batched { 2 } else { 1 };
        x.shape().iter().enumerate().map(|(i, &d)| if i < lead { d } else { 1 }).collect()
    } else {
        x.shape().to_vec()
    };
    Tensor::rand(&shape, DType::F32)?.ge_scalar(p)?.to_dtype(x.dtype())
}

/// Whole channels zeroed with probability `p`, the rest scaled by `1 / (1 - p)`; `dims` is
/// the number of spatial dims (1, 2 or 3) of `[N, C, *]` inputs (or unbatched `[C, *]`).
#[track_caller]
pub fn feature_dropout(x: &Tensor, p: f64, training: bool, dims: usize) -> Result<Tensor> {
    let op = match dims {
        1 => "dropout1d",
        2 => "dropout2d",
        _ => "dropout3d",
    };
    check_p(op, p)?;
    if x.dim() != dims + 1 && x.dim() != dims + 2 {
        return Err(Error::shape(
            op,
            format!("{op}: Expected {}D or {}D input, but received a {}D input", dims + 1, dims + 2, x.dim()),
        ));
    }
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    if p == 1.0 {
        return x.mul_scalar(0.0);
    }
    let keep = keep_mask(x, p, true, x.dim() == dims + 2)?;
    x.mul(&keep)?.mul_scalar(1.0 / (1.0 - p))
}

/// `dropout1d` on `[N, C, L]` or `[C, L]`.
pub fn dropout1d(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    feature_dropout(x, p, training, 1)
}

/// `dropout2d` on `[N, C, H, W]` or `[C, H, W]`.
pub fn dropout2d(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    feature_dropout(x, p, training, 2)
}

/// `dropout3d` on `[N, C, D, H, W]` or `[C, D, H, W]`.
pub fn dropout3d(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    feature_dropout(x, p, training, 3)
}

fn alpha_impl(op: &'static str, x: &Tensor, p: f64, training: bool, feature: bool) -> Result<Tensor> {
    check_p(op, p)?;
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    if p == 1.0 {
        return x.mul_scalar(0.0);
    }
    if feature && x.dim() < 2 {
        return Err(Error::shape(op, format!("expected an input with at least 2 dims, got {:?}", x.shape())));
    }
    // Dropped units go to -alpha, then an affine map a*y + b restores mean 0 and variance 1.
    let keep = keep_mask(x, p, feature, true)?;
    let a = 1.0 / ((ALPHA * ALPHA * p + 1.0) * (1.0 - p)).sqrt();
    let b = keep.add_scalar(-1.0)?.mul_scalar(ALPHA * a)?.add_scalar(ALPHA * a * p)?;
    x.mul(&keep.mul_scalar(a)?)?.add(&b)
}

/// Alpha dropout (for SELU networks): element-wise.
#[track_caller]
pub fn alpha_dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    alpha_impl("alpha_dropout", x, p, training, false)
}

/// Alpha dropout of whole channels of `[N, C, *]`.
#[track_caller]
pub fn feature_alpha_dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    alpha_impl("feature_alpha_dropout", x, p, training, true)
}
