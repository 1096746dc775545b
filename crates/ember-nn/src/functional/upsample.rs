//! Resampling: `F.interpolate` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
//! area), `pixel_shuffle` / `pixel_unshuffle`.
//!
//! Every interpolation mode PyTorch has on CPU is separable, so `interpolate` resamples one
//! spatial dim at a time: each output position is a weighted sum of a few input rows picked
//! with `index_select` (2 taps for linear, 4 for cubic, 1 for nearest). Source positions and
//! weights follow PyTorch's `area_pixel_compute_source_index` exactly, so the results agree
//! to rounding, and the gradients come from `index_select` and the products.

use ember_core::{DType, Error, Result, Tensor};

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
            other => return Err(Error::value("interpolate", format!("unsupported interpolation mode {other:?}"))),
        })
    }

    /// The input rank a mode that is tied to one needs (`linear` 3-D, `bilinear`/`bicubic`
    /// 4-D, `trilinear` 5-D).
    fn rank(self) -> Option<usize> {
        match self {
            InterpolateMode::Linear => Some(3),
            InterpolateMode::Bilinear | InterpolateMode::Bicubic => Some(4),
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
    let op = "interpolate";
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
    let mut y = x.clone();
    for (i, (&o, s)) in out.iter().zip(&scales).enumerate() {
        y = resample_dim(&y, 2 + i, o, *s, mode, align)?;
    }
    Ok(y)
}

/// `area_pixel_compute_scale`: the input step per output step.
fn pixel_scale(n_in: usize, n_out: usize, scale: Option<f64>, align: bool) -> f64 {
    if align {
        if n_out > 1 {
            (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
        } else {
            0.0
        }
    } else {
        scale.map_or(n_in as f64 / n_out as f64, |s| 1.0 / s)
    }
}

/// Resamples `dim` of `x` to `n_out` positions.
fn resample_dim(
    x: &Tensor,
    dim: usize,
    n_out: usize,
    scale: Option<f64>,
    mode: InterpolateMode,
    align: bool,
) -> Result<Tensor> {
    let n_in = x.shape()[dim];
    let last = n_in as i64 - 1;
    // (index, weight) lists, one per tap.
    let mut taps: Vec<(Vec<i64>, Vec<f64>)> = Vec::new();
    match mode {
        InterpolateMode::Nearest | InterpolateMode::NearestExact => {
            if n_in == n_out {
                return Ok(x.clone());
            }
            // PyTorch computes nearest indices in f32 whatever the dtype.
            let s = scale.map_or(n_in as f32 / n_out as f32, |s| (1.0 / s) as f32);
            let off = if mode == InterpolateMode::NearestExact { 0.5f32 } else { 0.0 };
            let idx = (0..n_out).map(|o| (((o as f32 + off) * s).floor() as i64).min(last)).collect();
            taps.push((idx, vec![]));
        }
        InterpolateMode::Bicubic => {
            let s = pixel_scale(n_in, n_out, scale, align);
            let mut t4 = vec![(Vec::with_capacity(n_out), Vec::with_capacity(n_out)); 4];
            for o in 0..n_out {
                let src = if align { s * o as f64 } else { s * (o as f64 + 0.5) - 0.5 };
                let i = src.floor();
                let w = cubic_weights(src - i);
                for (k, tap) in t4.iter_mut().enumerate() {
                    tap.0.push((i as i64 - 1 + k as i64).clamp(0, last));
                    tap.1.push(w[k]);
                }
            }
            taps = t4;
        }
        _ => {
            let s = pixel_scale(n_in, n_out, scale, align);
            let (mut i0, mut i1, mut w0, mut w1) = (vec![], vec![], vec![], vec![]);
            for o in 0..n_out {
                let src = if align { s * o as f64 } else { (s * (o as f64 + 0.5) - 0.5).max(0.0) };
                let lo = (src.floor() as i64).min(last);
                let hi = if lo < last { lo + 1 } else { lo };
                let l1 = src - lo as f64;
                i0.push(lo);
                i1.push(hi);
                w0.push(1.0 - l1);
                w1.push(l1);
            }
            taps.push((i0, w0));
            taps.push((i1, w1));
        }
    }
    let mut wshape = vec![1usize; x.dim()];
    wshape[dim] = n_out;
    let mut acc: Option<Tensor> = None;
    for (idx, w) in taps {
        let rows = x.index_select(dim as isize, &Tensor::from_vec(idx, &[n_out])?.to_dtype(DType::I64)?)?;
        let term = if w.is_empty() { rows } else { rows.mul(&Tensor::from_vec(w, &wshape)?.to_dtype(x.dtype())?)? };
        acc = Some(match acc {
            None => term,
            Some(a) => a.add(&term)?,
        });
    }
    Ok(acc.expect("at least one tap"))
}

/// Keys' cubic convolution weights with `A = -0.75` (PyTorch's) for fraction `t` at taps
/// -1, 0, 1, 2.
fn cubic_weights(t: f64) -> [f64; 4] {
    let a = -0.75;
    let near = |x: f64| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
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
