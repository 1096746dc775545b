//! The tap tables of `F.interpolate` and the differentiable one-dim resampling that applies
//! them (the kernel is `ember_core::backend::cpu::resample`).
//!
//! Each spatial dim is resampled on its own: nearest and nearest-exact read one source
//! position, linear two, cubic four (Keys' kernel with PyTorch's `A = -0.75`), and an
//! anti-aliased resize reads the whole window its filter covers, the filter stretched by the
//! downscaling factor and normalised to sum to one (PIL's and PyTorch's `_upsample_*_aa`
//! rule, with `A = -0.5` for cubic and Lanczos-3 as a third filter). Source positions follow
//! PyTorch's `area_pixel_compute_source_index` exactly.
//!
//! The resampling is linear in its input, so its gradient is the transposed tap table applied
//! the same way, and the derivative of that is the forward again: any order of derivative is
//! two kernels.

use ember_core::autograd;
use ember_core::backend::cpu::resample::{self as kernel, Taps};
use ember_core::{DType, Result, Tensor};
use std::sync::Arc;

/// `area_pixel_compute_scale`: source positions per output position.
pub(crate) fn pixel_scale(n_in: usize, n_out: usize, scale: Option<f64>, align: bool) -> f64 {
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

/// Nearest (`exact = false`: PyTorch's legacy `floor(o * s)`) or nearest-exact
/// (`floor((o + 0.5) * s)`) source positions, computed in f32 as PyTorch does for every dtype.
pub(crate) fn nearest_taps(n_in: usize, n_out: usize, scale: Option<f64>, exact: bool) -> Taps {
    let s = scale.map_or(n_in as f32 / n_out as f32, |s| (1.0 / s) as f32);
    let off = if exact { 0.5f32 } else { 0.0 };
    let index = (0..n_out).map(|o| (((o as f32 + off) * s).floor() as usize).min(n_in - 1)).collect();
    Taps::fixed(n_in, 1, index, vec![1.0; n_out])
}

/// Linear interpolation: two taps, the upper one clamped to the last position.
pub(crate) fn linear_taps(n_in: usize, n_out: usize, scale: Option<f64>, align: bool) -> Taps {
    let s = pixel_scale(n_in, n_out, scale, align);
    let last = n_in - 1;
    let (mut index, mut weight) = (Vec::with_capacity(2 * n_out), Vec::with_capacity(2 * n_out));
    for o in 0..n_out {
        let src = if align { s * o as f64 } else { (s * (o as f64 + 0.5) - 0.5).max(0.0) };
        let lo = (src.floor() as usize).min(last);
        let frac = src - lo as f64;
        index.extend([lo, (lo + 1).min(last)]);
        weight.extend([1.0 - frac, frac]);
    }
    Taps::fixed(n_in, 2, index, weight)
}

/// Keys' cubic convolution weights for fraction `t` at taps -1, 0, 1, 2.
fn cubic_weights(t: f64, a: f64) -> [f64; 4] {
    [cubic_far(t + 1.0, a), cubic_near(t, a), cubic_near(1.0 - t, a), cubic_far(2.0 - t, a)]
}

/// Keys' kernel on `|x| <= 1`.
fn cubic_near(x: f64, a: f64) -> f64 {
    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
}

/// Keys' kernel on `1 < |x| < 2`.
fn cubic_far(x: f64, a: f64) -> f64 {
    ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
}

/// Bicubic interpolation (PyTorch's `A = -0.75`): four taps around the source position, each
/// clamped into the dim (PyTorch's `upsample_get_value_bounded`).
pub(crate) fn cubic_taps(n_in: usize, n_out: usize, scale: Option<f64>, align: bool) -> Taps {
    let s = pixel_scale(n_in, n_out, scale, align);
    let last = n_in as i64 - 1;
    let (mut index, mut weight) = (Vec::with_capacity(4 * n_out), Vec::with_capacity(4 * n_out));
    for o in 0..n_out {
        let src = if align { s * o as f64 } else { s * (o as f64 + 0.5) - 0.5 };
        let i = src.floor();
        for (k, w) in cubic_weights(src - i, -0.75).into_iter().enumerate() {
            index.push((i as i64 - 1 + k as i64).clamp(0, last) as usize);
            weight.push(w);
        }
    }
    Taps::fixed(n_in, 4, index, weight)
}

/// The filters of anti-aliased resizing, with their half-widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AaFilter {
    /// The triangle (bilinear), half-width 1.
    Linear,
    /// Keys' cubic with `A = -0.5` (PIL's bicubic), half-width 2.
    Cubic,
    /// Lanczos-3, `sinc(x) sinc(x / 3)`, half-width 3.
    Lanczos,
}

impl AaFilter {
    fn half_width(self) -> f64 {
        match self {
            AaFilter::Linear => 1.0,
            AaFilter::Cubic => 2.0,
            AaFilter::Lanczos => 3.0,
        }
    }

    fn eval(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            AaFilter::Linear => (1.0 - x).max(0.0),
            AaFilter::Cubic if x < 1.0 => cubic_near(x, -0.5),
            AaFilter::Cubic if x < 2.0 => cubic_far(x, -0.5),
            AaFilter::Cubic => 0.0,
            AaFilter::Lanczos if x < 3.0 => sinc(x) * sinc(x / 3.0),
            AaFilter::Lanczos => 0.0,
        }
    }
}

/// The normalised `sin(pi x) / (pi x)`.
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Anti-aliased taps: output `i` averages the source positions under its filter, the filter
/// widened by the downscaling factor (never narrowed when upscaling), normalised to sum 1.
pub(crate) fn antialias_taps(n_in: usize, n_out: usize, scale: Option<f64>, align: bool, filter: AaFilter) -> Taps {
    let s = pixel_scale(n_in, n_out, scale.filter(|v| *v > 0.0), align);
    let support = if s >= 1.0 { filter.half_width() * s } else { filter.half_width() };
    let inv = if s >= 1.0 { 1.0 / s } else { 1.0 };
    let max_taps = support.ceil() as usize * 2 + 1;
    let (mut offsets, mut index, mut weight) = (vec![0usize], Vec::new(), Vec::new());
    for i in 0..n_out {
        let center = s * (i as f64 + 0.5);
        // `as` truncates toward zero, as the C++ cast that defines PyTorch's window does.
        let lo = ((center - support + 0.5) as i64).max(0) as usize;
        let hi = ((center + support + 0.5) as i64).clamp(0, n_in as i64) as usize;
        let n = hi.saturating_sub(lo).min(max_taps);
        let w: Vec<f64> = (lo..lo + n).map(|j| filter.eval((j as f64 - center + 0.5) * inv)).collect();
        let total: f64 = w.iter().sum();
        index.extend(lo..lo + n);
        weight.extend(w.iter().map(|v| if total != 0.0 { v / total } else { *v }));
        offsets.push(index.len());
    }
    Taps { n_src: n_in, offsets, index, weight }
}

/// Resamples `dim` of `x` through `taps`, recorded for autograd as `name`.
pub(crate) fn resample(x: &Tensor, dim: usize, taps: Arc<Taps>, name: &'static str) -> Result<Tensor> {
    apply(x, dim, taps, None, name)
}

/// `resample` with the transposed table given when already built (the backward of a
/// backward hands the original back instead of transposing twice).
fn apply(x: &Tensor, dim: usize, taps: Arc<Taps>, adjoint: Option<Arc<Taps>>, name: &'static str) -> Result<Tensor> {
    let shape = x.shape();
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let mut out_shape = shape.to_vec();
    out_shape[dim] = taps.n_dst();
    let dtype = x.dtype();
    let out = match dtype {
        DType::F64 => {
            let src = x.detach().contiguous()?;
            Tensor::from_vec(src.with_slice::<f64, _>(|s| kernel::apply(&taps, s, outer, inner))?, &out_shape)?
        }
        _ => {
            let src = x.detach().to_dtype(DType::F32)?.contiguous()?;
            Tensor::from_vec(src.with_slice::<f32, _>(|s| kernel::apply(&taps, s, outer, inner))?, &out_shape)?
                .to_dtype(dtype)?
        }
    };
    if !(x.requires_grad() && autograd::is_grad_enabled()) {
        return Ok(out);
    }
    let adjoint = adjoint.unwrap_or_else(|| Arc::new(taps.transpose()));
    let backward = move |g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(apply(g, dim, adjoint.clone(), Some(taps.clone()), name)?)])
    };
    Ok(autograd::custom(std::slice::from_ref(x), out, name, Arc::new(backward)))
}

/// The order in which to resample the dims (positions into `plans`): the cheapest by a count
/// of taps read, where a pass along the innermost dim (gathers, not vectorised) costs more.
/// Downscaling first shrinks what later passes read.
pub(crate) fn pass_order(shape: &[usize], plans: &[(usize, Arc<Taps>)]) -> Vec<usize> {
    let orders: &[&[usize]] = match plans.len() {
        0 => &[&[]],
        1 => &[&[0]],
        2 => &[&[0, 1], &[1, 0]],
        _ => &[&[0, 1, 2], &[0, 2, 1], &[1, 0, 2], &[1, 2, 0], &[2, 0, 1], &[2, 1, 0]],
    };
    let cost = |order: &[usize]| -> f64 {
        let mut dims = shape.to_vec();
        let mut total = 0.0;
        for &p in order {
            let (dim, taps) = &plans[p];
            dims[*dim] = taps.n_dst();
            let per_out = taps.index.len() as f64 / taps.n_dst().max(1) as f64;
            let gather = if *dim + 1 == dims.len() { 4.0 } else { 1.0 };
            total += dims.iter().product::<usize>() as f64 * per_out * gather;
        }
        total
    };
    let best = orders.iter().min_by(|a, b| cost(a).total_cmp(&cost(b))).copied().unwrap_or(&[]);
    best.to_vec()
}
