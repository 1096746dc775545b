//! Resampling: `F.interpolate` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
//! area), `pixel_shuffle` / `pixel_unshuffle`.
//!
//! Every interpolation mode PyTorch has on CPU is separable, so `interpolate` resamples one
//! spatial dim at a time through a tap table per dim (`resample.rs`: 1 tap for nearest, 2 for
//! linear, 4 for cubic, a filter window with `antialias=True`), in the order that reads the
//! fewest taps (downscaling first). `area` is adaptive average pooling.

use super::resample::{antialias_taps, cubic_taps, linear_taps, nearest_taps, pass_order, resample, AaFilter};
use ember_core::{Error, Result, Tensor};
use std::sync::Arc;

/// The resampling rule (PyTorch's `mode=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpolateMode {
    Nearest,
    NearestExact,
    Linear,
    Bilinear,
    Bicubic,
    Trilinear,
    Area,
    /// Lanczos-3 (`antialias=True` only).
    Lanczos,
}

impl InterpolateMode {
    /// PyTorch's mode string.
    #[track_caller]
    pub fn parse(mode: &str) -> Result<InterpolateMode> {
        Ok(match mode {
            "nearest" => InterpolateMode::Nearest,
            "nearest-exact" => InterpolateMode::NearestExact,
            "linear" => InterpolateMode::Linear,
            "bilinear" => InterpolateMode::Bilinear,
            "bicubic" => InterpolateMode::Bicubic,
            "trilinear" => InterpolateMode::Trilinear,
            "area" => InterpolateMode::Area,
            "lanczos" => InterpolateMode::Lanczos,
            other => return Err(Error::value("interpolate", format!("unsupported interpolation mode {other:?}"))),
        })
    }

    /// The input rank a mode that is tied to one needs (`linear` 3-D, `bilinear`/`bicubic`
    /// 4-D, `trilinear` 5-D).
    fn rank(self) -> Option<usize> {
        match self {
            InterpolateMode::Linear => Some(3),
            InterpolateMode::Bilinear | InterpolateMode::Bicubic | InterpolateMode::Lanczos => Some(4),
            InterpolateMode::Trilinear => Some(5),
            _ => None,
        }
    }
}

/// `F.interpolate(x, size, scale_factor, mode, align_corners)`: `x [N, C, *spatial]` with 1 to
/// 3 spatial dims; exactly one of `size` and `scale_factor` (one value per spatial dim, or one
/// for all). `align_corners` only applies to the linear and cubic modes (`None`: false).
#[track_caller]
pub fn interpolate(
    x: &Tensor,
    size: Option<&[usize]>,
    scale_factor: Option<&[f64]>,
    mode: InterpolateMode,
    align_corners: Option<bool>,
) -> Result<Tensor> {
    interpolate_with(x, size, scale_factor, mode, align_corners, false)
}

/// [`interpolate`] with PyTorch's `antialias=` (bilinear, bicubic or Lanczos on 4-D inputs:
/// when downscaling, each output averages every source pixel its widened filter covers).
#[track_caller]
pub fn interpolate_with(
    x: &Tensor,
    size: Option<&[usize]>,
    scale_factor: Option<&[f64]>,
    mode: InterpolateMode,
    align_corners: Option<bool>,
    antialias: bool,
) -> Result<Tensor> {
    let op = "interpolate";
    let aa_mode = matches!(mode, InterpolateMode::Bilinear | InterpolateMode::Bicubic | InterpolateMode::Lanczos);
    if antialias && !(aa_mode && x.dim() == 4) {
        return Err(Error::value(
            op,
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor as input",
        ));
    }
    if mode == InterpolateMode::Lanczos && !antialias {
        return Err(Error::value(op, "Lanczos mode requires antialias=True"));
    }
    if mode == InterpolateMode::Lanczos && align_corners == Some(true) {
        return Err(Error::value(op, "Lanczos mode does not support align_corners=True"));
    }
    if !(3..=5).contains(&x.dim()) {
        return Err(Error::shape(op, format!("expected a 3-D, 4-D or 5-D input, got shape {:?}", x.shape())));
    }
    let sd = x.dim() - 2;
    if let Some(r) = mode.rank() {
        if r != x.dim() {
            return Err(Error::shape(op, format!("Got {}D input, but {mode:?} mode needs {r}D input", x.dim())));
        }
    }
    if align_corners.is_some()
        && matches!(mode, InterpolateMode::Nearest | InterpolateMode::NearestExact | InterpolateMode::Area)
    {
        return Err(Error::value(
            op,
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear",
        ));
    }
    let spread = |v: usize| -> Result<usize> {
        if v == 1 {
            Ok(1)
        } else if v == sd {
            Ok(sd)
        } else {
            Err(Error::value(op, format!("expected {sd} or 1 output sizes or scale factors, got {v}")))
        }
    };
    let (out, scales): (Vec<usize>, Vec<Option<f64>>) = match (size, scale_factor) {
        (Some(s), None) => {
            let k = spread(s.len())?;
            ((0..sd).map(|i| s[if k == 1 { 0 } else { i }]).collect(), vec![None; sd])
        }
        (None, Some(f)) => {
            let k = spread(f.len())?;
            let f: Vec<f64> = (0..sd).map(|i| f[if k == 1 { 0 } else { i }]).collect();
            if f.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(Error::value(op, format!("scale factors must be positive and finite, got {f:?}")));
            }
            let out = (0..sd).map(|i| (x.shape()[2 + i] as f64 * f[i]).floor() as usize).collect();
            (out, f.into_iter().map(Some).collect())
        }
        _ => return Err(Error::value(op, "exactly one of size or scale_factor must be given")),
    };
    if out.contains(&0) || x.shape()[2..].contains(&0) {
        return Err(Error::shape(op, format!("input {:?} and output size {out:?} must be non-empty", x.shape())));
    }
    let mut shape = x.shape()[..2].to_vec();
    shape.extend(&out);
    ember_core::storage::checked_numel(op, &shape, x.dtype())?;
    if mode == InterpolateMode::Area {
        return super::pool::adaptive_pool(x, &out, false);
    }
    let align = align_corners.unwrap_or(false);
    let plans = (0..sd)
        .map(|i| {
            let n_in = x.shape()[2 + i];
            let taps = match (mode, antialias) {
                (InterpolateMode::Nearest, _) => nearest_taps(n_in, out[i], scales[i], false),
                (InterpolateMode::NearestExact, _) => nearest_taps(n_in, out[i], scales[i], true),
                (InterpolateMode::Bicubic, false) => cubic_taps(n_in, out[i], scales[i], align),
                (InterpolateMode::Bilinear, true) => antialias_taps(n_in, out[i], scales[i], align, AaFilter::Linear),
                (InterpolateMode::Bicubic, true) => antialias_taps(n_in, out[i], scales[i], align, AaFilter::Cubic),
                (InterpolateMode::Lanczos, _) => antialias_taps(n_in, out[i], scales[i], align, AaFilter::Lanczos),
                _ => linear_taps(n_in, out[i], scales[i], align),
            };
            (2 + i, Arc::new(taps))
        })
        .collect::<Vec<_>>();
    // Identity dims are skipped, but one pass always runs: the result is a new tensor (with its
    // own backward node), never the input itself, as in PyTorch.
    let last = plans.last().cloned();
    let mut plans: Vec<_> = plans.into_iter().filter(|(_, taps)| !taps.is_identity()).collect();
    if plans.is_empty() {
        plans.extend(last);
    }
    if !x.dtype().is_float() {
        if !matches!(mode, InterpolateMode::Nearest | InterpolateMode::NearestExact) {
            return Err(Error::dtype(op, format!("{mode:?} interpolation is not implemented for {:?}", x.dtype())));
        }
        // Integer images (masks, labels) are only ever copied: an index_select per dim.
        let mut y = x.clone();
        for (dim, taps) in &plans {
            let idx: Vec<i64> = taps.index.iter().map(|&i| i as i64).collect();
            y = y.index_select(*dim as isize, &Tensor::from_vec(idx, &[taps.n_dst()])?)?;
        }
        return Ok(y);
    }
    let name = node_name(mode, sd, antialias);
    let mut y = x.clone();
    for p in pass_order(x.shape(), &plans) {
        let (dim, taps) = &plans[p];
        y = resample(&y, *dim, taps.clone(), name)?;
    }
    Ok(y)
}

/// PyTorch's name for the backward node of an interpolation.
fn node_name(mode: InterpolateMode, spatial: usize, antialias: bool) -> &'static str {
    use InterpolateMode as M;
    match (mode, spatial, antialias) {
        (M::Nearest, 1, _) => "UpsampleNearest1D",
        (M::Nearest, 2, _) => "UpsampleNearest2D",
        (M::Nearest, _, _) => "UpsampleNearest3D",
        (M::NearestExact, 1, _) => "UpsampleNearestExact1D",
        (M::NearestExact, 2, _) => "UpsampleNearestExact2D",
        (M::NearestExact, _, _) => "UpsampleNearestExact3D",
        (M::Bilinear, _, true) => "UpsampleBilinear2DAa",
        (M::Bicubic, _, true) => "UpsampleBicubic2DAa",
        (M::Lanczos, _, _) => "UpsampleLanczos2DAa",
        (M::Bicubic, _, _) => "UpsampleBicubic2D",
        (M::Linear, _, _) => "UpsampleLinear1D",
        (M::Trilinear, _, _) => "UpsampleTrilinear3D",
        _ => "UpsampleBilinear2D",
    }
}

/// `F.pixel_shuffle`: `[*, C r^2, H, W] -> [*, C, H r, W r]`.
#[track_caller]
pub fn pixel_shuffle(x: &Tensor, r: usize) -> Result<Tensor> {
    let d = x.dim();
    let big = |v: usize| v.checked_mul(r).and_then(|v| v.checked_mul(r)).is_none_or(|v| v > isize::MAX as usize);
    if d < 3
        || r == 0
        || big(1)
        || big(x.shape()[d - 2].max(x.shape()[d - 1]))
        || !x.shape()[d - 3].is_multiple_of(r * r)
    {
        return Err(Error::shape(
            "pixel_shuffle",
            format!("expected [*, C*{r}^2, H, W] with a positive upscale factor, got shape {:?}", x.shape()),
        ));
    }
    let s = x.shape();
    let (c, h, w) = (s[d - 3] / (r * r), s[d - 2], s[d - 1]);
    let lead: Vec<isize> = s[..d - 3].iter().map(|&v| v as isize).collect();
    let (c, h, w, r) = (c as isize, h as isize, w as isize, r as isize);
    let y = x.reshape([lead.clone(), vec![c, r, r, h, w]].concat().as_slice())?;
    let l = lead.len();
    let mut perm: Vec<usize> = (0..l).collect();
    perm.extend([l, l + 3, l + 1, l + 4, l + 2]);
    y.permute(perm.as_slice())?.reshape([lead, vec![c, h * r, w * r]].concat().as_slice())
}

/// `F.pixel_unshuffle`: `[*, C, H r, W r] -> [*, C r^2, H, W]`.
#[track_caller]
pub fn pixel_unshuffle(x: &Tensor, r: usize) -> Result<Tensor> {
    let d = x.dim();
    let big = |v: usize| v.checked_mul(r).and_then(|v| v.checked_mul(r)).is_none_or(|v| v > isize::MAX as usize);
    if d < 3
        || r == 0
        || big(x.shape()[d - 3])
        || !x.shape()[d - 2].is_multiple_of(r)
        || !x.shape()[d - 1].is_multiple_of(r)
    {
        return Err(Error::shape(
            "pixel_unshuffle",
            format!("expected [*, C, H*{r}, W*{r}] with a positive downscale factor, got shape {:?}", x.shape()),
        ));
    }
    let s = x.shape();
    let (c, h, w) = (s[d - 3], s[d - 2] / r, s[d - 1] / r);
    let lead: Vec<isize> = s[..d - 3].iter().map(|&v| v as isize).collect();
    let (c, h, w, r) = (c as isize, h as isize, w as isize, r as isize);
    let y = x.reshape([lead.clone(), vec![c, h, r, w, r]].concat().as_slice())?;
    let l = lead.len();
    let mut perm: Vec<usize> = (0..l).collect();
    perm.extend([l, l + 2, l + 4, l + 1, l + 3]);
    y.permute(perm.as_slice())?.reshape([lead, vec![c * r * r, h, w]].concat().as_slice())
}
