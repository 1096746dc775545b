//! `F.pad` with every mode: `constant` (negative pads crop), `reflect`, `replicate` and
//! `circular`. The non-constant modes gather rows with `index_select`, so their gradients
//! (summing into the rows a border copies) come from that primitive.

use ember_core::{DType, Error, Result, Tensor};

/// How `pad` fills the border (PyTorch's `mode=` and `value=`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// A constant value (`mode="constant"`); negative pads crop.
    Constant(f64),
    /// Mirror without repeating the edge (`"reflect"`): `[1 2 3]` -> `3 2 | 1 2 3 | 2 1`.
    Reflect,
    /// Repeat the edge (`"replicate"`): `1 1 | 1 2 3 | 3 3`.
    Replicate,
    /// Wrap around (`"circular"`): `2 3 | 1 2 3 | 1 2`.
    Circular,
}

impl PadMode {
    /// The mode named as PyTorch's string (`value` is used by `"constant"`).
    #[track_caller]
    pub fn parse(mode: &str, value: f64) -> Result<PadMode> {
        Ok(match mode {
            "constant" | "zeros" => PadMode::Constant(if mode == "zeros" { 0.0 } else { value }),
            "reflect" => PadMode::Reflect,
            "replicate" => PadMode::Replicate,
            "circular" => PadMode::Circular,
            other => {
                return Err(Error::value(
                    "pad",
                    format!("Unrecognised padding mode {other}; expected constant, reflect, replicate or circular"),
                ))
            }
        })
    }
}

/// `F.pad(x, pads, mode, value)`: `pads` lists (before, after) pairs starting from the last
/// dim; entries may be negative (crop).
#[track_caller]
pub fn pad_with(x: &Tensor, pads: &[isize], mode: PadMode) -> Result<Tensor> {
    let pairs = pads.len() / 2;
    if !pads.len().is_multiple_of(2) || pairs > x.dim() {
        return Err(Error::shape(
            "pad",
            format!("Padding length must be divisible by 2 and at most 2 * ndim ({}), got {}", 2 * x.dim(), pads.len()),
        ));
    }
    let rank_ok = x.dim() == pairs + 1 || x.dim() == pairs + 2;
    if !matches!(mode, PadMode::Constant(_)) && !rank_ok {
        return Err(Error::shape(
            "pad",
            format!(
                "{}-D padding with a non-constant mode expects a {}-D or {}-D input, got shape {:?}",
                pairs,
                pairs + 1,
                pairs + 2,
                x.shape()
            ),
        ));
    }
    let mut out = x.clone();
    for (i, pair) in pads.chunks(2).enumerate() {
        let dim = x.dim() - 1 - i;
        out = pad_dim(&out, dim, pair[0], pair[1], mode)?;
    }
    Ok(out)
}

/// Pads (or crops) one dim.
#[track_caller]
fn pad_dim(x: &Tensor, dim: usize, before: isize, after: isize, mode: PadMode) -> Result<Tensor> {
    let n = x.shape()[dim] as isize;
    if before == 0 && after == 0 {
        return Ok(x.clone());
    }
    let (n1, b1, a1) = (n as i128, before as i128, after as i128);
    if n1 + b1 + a1 < 0 || n1 + b1.min(0) + a1.min(0) < 0 {
        return Err(Error::shape(
            "pad",
            format!("padding ({before}, {after}) of dim {dim} leaves a negative size from {n}"),
        ));
    }
    // Crop first (negative pads), then pad the cropped tensor, as PyTorch.
    let (cb, ca) = ((-before).max(0), (-after).max(0));
    let x = x.narrow(dim as isize, cb as usize, (n - cb - ca) as usize)?;
    let (before, after, n) = (before.max(0), after.max(0), n - cb - ca);
    if before == 0 && after == 0 {
        return Ok(x);
    }
    if let PadMode::Constant(value) = mode {
        let block = |k: isize| -> Result<Tensor> {
            let mut shape = x.shape().to_vec();
            shape[dim] = k as usize;
            Tensor::full(&shape, value, x.dtype())
        };
        let (b, a) = (block(before)?, block(after)?);
        return Tensor::cat(&[&b, &x, &a], dim as isize);
    }
    let limit_ok = match mode {
        PadMode::Reflect => before < n && after < n,
        PadMode::Circular => before <= n && after <= n,
        _ => n > 0,
    };
    if !limit_ok {
        return Err(Error::shape(
            "pad",
            format!(
                "padding size ({before}, {after}) should be less than the corresponding input dimension ({n}) for {mode:?} padding"
            ),
        ));
    }
    let total = n as i128 + before as i128 + after as i128;
    if total > isize::MAX as i128 {
        return Err(Error::shape("pad", format!("padding ({before}, {after}) of dim {dim} is too large")));
    }
    let mut out_shape = x.shape().to_vec();
    out_shape[dim] = total as usize;
    ember_core::storage::checked_numel("pad", &out_shape, x.dtype())?;
    let idx: Vec<i64> = (-before..n + after)
        .map(|i| match mode {
            PadMode::Reflect => {
                let j = i.abs();
                if j >= n {
                    2 * (n - 1) - j
                } else {
                    j
                }
            }
            PadMode::Replicate => i.clamp(0, n - 1),
            _ => i.rem_euclid(n),
        } as i64)
        .collect();
    let len = idx.len();
    x.index_select(dim as isize, &Tensor::from_vec(idx, &[len])?.to_dtype(DType::I64)?)
}
