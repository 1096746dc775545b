//! `F.grid_sample`'s geometry along one image axis, vectorised: for a block of grid points,
//! each point's taps along that axis (1 nearest, 2 bilinear, 4 bicubic) as the pixel index the
//! tap reads, its weight, and the weight's derivative in the grid value. A 2-D tap's weight
//! is the product of its x and y weights, so one pass per axis gives all that forward and
//! backward need; taps outside the image read index 0 with weight 0.
//!
//! The semantics are PyTorch's `grid_sampler_2d`: the grid value `v` in `[-1, 1]` is
//! unnormalised to a pixel coordinate, then (bilinear and nearest) padded by clipping
//! (`border`) or mirroring then clipping (`reflection`); nearest rounds half to even; bicubic
//! pads each of its four integer taps instead, with the cubic convolution's `A = -0.75`.
//! Arithmetic is in the tensor's own precision, as PyTorch's, and branch-free (selects), so
//! every ISA copy made by [`crate::simd_dispatch`] vectorises it over points.

use crate::simd_dispatch;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// `F.grid_sample`'s `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridMode {
    Bilinear,
    Nearest,
    Bicubic,
}

impl GridMode {
    /// Taps per point along one axis.
    pub fn taps(self) -> usize {
        match self {
            GridMode::Nearest => 1,
            GridMode::Bilinear => 2,
            GridMode::Bicubic => 4,
        }
    }
}

/// `F.grid_sample`'s `padding_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridPadding {
    Zeros,
    Border,
    Reflection,
}

/// One axis of the sampled image, and which component of the `(x, y)` grid pairs drives it.
#[derive(Clone, Copy, Debug)]
pub struct GridAxis {
    /// Pixels along the axis (below 2^31, so that indices fit `i32` as PyTorch's).
    pub size: usize,
    /// 0 for x (width), 1 for y (height).
    pub component: usize,
    pub mode: GridMode,
    pub padding: GridPadding,
    pub align_corners: bool,
}

/// The float types grid sampling computes in (`f32`, `f64`).
pub trait GridFloat:
    Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn of(v: f64) -> Self;
    fn floor(self) -> Self;
    fn round_even(self) -> Self;
    fn fma(self, b: Self, c: Self) -> Self;
    fn abs(self) -> Self;
    /// `self` truncated to `i32`, without the saturating conversion's NaN and range handling
    /// (which would keep the loop from vectorising).
    ///
    /// # Safety
    /// `self` must be finite and within `i32` after truncation.
    unsafe fn to_i32_unchecked(self) -> i32;
    /// [`axis_taps`] for this type, on `isa`.
    #[allow(clippy::too_many_arguments)]
    fn axis_taps_isa(
        isa: crate::isa::Isa,
        axis: &GridAxis,
        coords: &[Self],
        index: &mut [i32],
        weight: &mut [Self],
        dweight: &mut [Self],
    );
}

macro_rules! grid_float {
    ($t:ty, $body:ident, $name:ident, $name_isa:ident) => {
        impl GridFloat for $t {
            #[inline(always)]
            fn of(v: f64) -> $t {
                v as $t
            }
            #[inline(always)]
            fn floor(self) -> $t {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn round_even(self) -> $t {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn fma(self, b: $t, c: $t) -> $t {
                self.mul_add(b, c)
            }
            #[inline(always)]
            fn abs(self) -> $t {
                <$t>::abs(self)
            }
            #[inline(always)]
            unsafe fn to_i32_unchecked(self) -> i32 {
                // SAFETY: the caller keeps `self` finite and within i32.
                unsafe { self.to_int_unchecked::<i32>() }
            }
            fn axis_taps_isa(
                isa: crate::isa::Isa,
                axis: &GridAxis,
                coords: &[$t],
                index: &mut [i32],
                weight: &mut [$t],
                dweight: &mut [$t],
            ) {
                $name_isa(isa, axis, coords, index, weight, dweight)
            }
        }

        #[inline(always)]
        fn $body(axis: &GridAxis, coords: &[$t], index: &mut [i32], weight: &mut [$t], dweight: &mut [$t]) {
            axis_taps_body(axis, coords, index, weight, dweight)
        }

        simd_dispatch!(#[doc = concat!("[`axis_taps`] for `", stringify!($t), "`.")]
            pub fn $name / $name_isa(
                axis: &GridAxis,
                coords: &[$t],
                index: &mut [i32],
                weight: &mut [$t],
                dweight: &mut [$t],
            ) => $body);
    };
}

grid_float!(f32, axis_taps_f32_body, axis_taps_f32, axis_taps_f32_isa);
grid_float!(f64, axis_taps_f64_body, axis_taps_f64, axis_taps_f64_isa);

/// The taps of `len` points along `axis`, point-major (entry `i * taps + t` is tap `t` of
/// point `i`): `coords` is the block's `[len, 2]` grid, `index`, `weight` and `dweight` hold
/// `axis.mode.taps() * len` entries each. `dweight` is the weight's derivative in the grid
/// value itself (the unnormalising scale and the padding's slope included).
pub fn axis_taps<F: GridFloat>(axis: &GridAxis, coords: &[F], index: &mut [i32], weight: &mut [F], dweight: &mut [F]) {
    F::axis_taps_isa(crate::isa::isa(), axis, coords, index, weight, dweight)
}

#[inline(always)]
fn select<F: Copy>(c: bool, a: F, b: F) -> F {
    if c {
        a
    } else {
        b
    }
}

/// Grid value to pixel coordinate, and the derivative of that map.
#[inline(always)]
fn unnormalize<F: GridFloat, const ALIGN: bool>(v: F, size: F) -> (F, F) {
    let (one, half) = (F::of(1.0), F::of(0.5));
    if ALIGN {
        ((v + one) * half * (size - one), (size - one) * half)
    } else {
        (((v + one) * size - one) * half, size * half)
    }
}

/// Clipped to `[0, hi]`, with the slope (0 on and beyond the ends, as PyTorch's).
#[inline(always)]
fn clip<F: GridFloat>(c: F, hi: F) -> (F, F) {
    let zero = F::of(0.0);
    let inner = c > zero && c < hi;
    // NaN stays NaN (and so lands outside the image).
    let clipped = select(c <= zero, zero, select(c >= hi, hi, c));
    (clipped, select(inner, F::of(1.0), zero))
}

/// PyTorch's `reflect_coordinates`: `c` mirrored into `[twice_low / 2, twice_high / 2]`, with
/// the slope (`±1`).
#[inline(always)]
fn reflect<F: GridFloat>(c: F, twice_low: F, twice_high: F) -> (F, F) {
    let (zero, one, half) = (F::of(0.0), F::of(1.0), F::of(0.5));
    let min = twice_low * half;
    let span = (twice_high - twice_low) * half;
    let d = c - min;
    let sign = select(d < zero, -one, one);
    let d = d.abs();
    // fmod(d, span) without a libm call: exact when the quotient's floor is right, and the
    // rare quotient rounded up to the next integer is put back.
    let mut flips = (d / span).floor();
    let mut extra = (-flips).fma(span, d);
    let low = extra < zero;
    extra = select(low, extra + span, extra);
    flips = select(low, flips - one, flips);
    let even = flips - F::of(2.0) * (flips * half).floor() == zero;
    let out = select(even, extra + min, span - extra + min);
    // A one-pixel axis with align_corners has nothing to mirror in: coordinate 0, slope 0.
    let degenerate = twice_low == twice_high;
    (select(degenerate, zero, out), select(degenerate, zero, select(even, sign, -sign)))
}

/// Padding `PAD` (0 zeros, 1 border, 2 reflection) applied to a pixel coordinate, with its
/// slope. Padding and `align_corners` are compile-time constants so that each loop is
/// straight-line code the compiler vectorises.
#[inline(always)]
fn pad<F: GridFloat, const PAD: u8, const ALIGN: bool>(c: F, size: F) -> (F, F) {
    let hi = size - F::of(1.0);
    match PAD {
        0 => (c, F::of(1.0)),
        1 => clip(c, hi),
        _ => {
            let (low, high) = match ALIGN {
                true => (F::of(0.0), F::of(2.0) * hi),
                false => (F::of(-1.0), F::of(2.0) * size - F::of(1.0)),
            };
            let (r, dr) = reflect(c, low, high);
            let (r, dc) = clip(r, hi);
            (r, dr * dc)
        }
    }
}

/// The cubic convolution weights at fraction `t` (PyTorch's `get_cubic_upsample_coefficients`)
/// and their derivatives in `t`.
#[inline(always)]
fn cubic<F: GridFloat>(t: F) -> ([F; 4], [F; 4]) {
    let one = F::of(1.0);
    let u = one - t;
    ([cc2(t + one), cc1(t), cc1(u), cc2(u + one)], [dc2(t + one), dc1(t), -dc1(u), -dc2(u + one)])
}

/// The cubic convolution's coefficient, as PyTorch's.
const A: f64 = -0.75;

/// The inner cubic piece, `|x| <= 1`: `((A + 2) x - (A + 3)) x^2 + 1`.
#[inline(always)]
fn cc1<F: GridFloat>(x: F) -> F {
    (F::of(A + 2.0) * x - F::of(A + 3.0)) * x * x + F::of(1.0)
}

/// The outer cubic piece, `1 < |x| < 2`: `((A x - 5A) x + 8A) x - 4A`.
#[inline(always)]
fn cc2<F: GridFloat>(x: F) -> F {
    ((F::of(A) * x - F::of(5.0 * A)) * x + F::of(8.0 * A)) * x - F::of(4.0 * A)
}

/// `cc1'(x)`.
#[inline(always)]
fn dc1<F: GridFloat>(x: F) -> F {
    (F::of(3.0 * (A + 2.0)) * x - F::of(2.0 * (A + 3.0))) * x
}

/// `cc2'(x)`.
#[inline(always)]
fn dc2<F: GridFloat>(x: F) -> F {
    (F::of(3.0 * A) * x - F::of(10.0 * A)) * x + F::of(8.0 * A)
}

/// Writes tap `t` of point `i`: in-image taps keep their index and weights, others read 0
/// with weight 0.
#[inline(always)]
fn put<F: GridFloat>(c: F, w: F, dw: F, hi: F, index: &mut i32, weight: &mut F, dweight: &mut F) {
    let zero = F::of(0.0);
    let inside = c >= zero && c <= hi;
    // SAFETY: NaN fails both comparisons, so the value converted is 0 or a `c` within
    // `[0, hi]`, and `hi` is at most 2147483520 (see `fill`): finite and within i32.
    *index = unsafe { select(inside, c, zero).to_i32_unchecked() };
    *weight = select(inside, w, zero);
    *dweight = select(inside, dw, zero);
}

/// The taps of every point along one axis, `T` per point.
#[inline(always)]
fn fill<F: GridFloat, const T: usize>(
    axis: &GridAxis,
    coords: &[F],
    index: &mut [i32],
    weight: &mut [F],
    dweight: &mut [F],
    point: impl Fn(F, F) -> ([F; T], [F; T], [F; T]),
) {
    let len = coords.len() / 2;
    assert!(index.len() == T * len && weight.len() == T * len && dweight.len() == T * len, "grid taps: sizes");
    let size = F::of(axis.size as f64);
    // The last pixel, capped at the largest float (f32 or f64) below 2^31 so that every index
    // converts to i32 (sides that long are refused by the caller anyway).
    let hi = size - F::of(1.0);
    let hi = select(hi < F::of(2_147_483_520.0), hi, F::of(2_147_483_520.0));
    let comp = axis.component.min(1);
    // Exact chunks and zips, no indexing: nothing for the vectoriser to bounds-check.
    let outs = index.chunks_exact_mut(T).zip(weight.chunks_exact_mut(T)).zip(dweight.chunks_exact_mut(T));
    for (g, ((ix, w), dw)) in coords.chunks_exact(2).zip(outs) {
        let (c, wt, d) = point(g[comp], size);
        for t in 0..T {
            put(c[t], wt[t], d[t], hi, &mut ix[t], &mut w[t], &mut dw[t]);
        }
    }
}

#[inline(always)]
fn axis_taps_body<F: GridFloat>(axis: &GridAxis, coords: &[F], index: &mut [i32], weight: &mut [F], dweight: &mut [F]) {
    // Plain functions, not closures: a closure would not inherit the caller's target features,
    // and calls to libm's floor would stay.
    macro_rules! with {
        ($pad:literal, $align:literal) => {
            match axis.mode {
                GridMode::Nearest => fill(axis, coords, index, weight, dweight, nearest::<F, $pad, $align>),
                GridMode::Bilinear => fill(axis, coords, index, weight, dweight, bilinear::<F, $pad, $align>),
                GridMode::Bicubic => fill(axis, coords, index, weight, dweight, bicubic::<F, $pad, $align>),
            }
        };
    }
    match (axis.padding, axis.align_corners) {
        (GridPadding::Zeros, false) => with!(0, false),
        (GridPadding::Zeros, true) => with!(0, true),
        (GridPadding::Border, false) => with!(1, false),
        (GridPadding::Border, true) => with!(1, true),
        (GridPadding::Reflection, false) => with!(2, false),
        (GridPadding::Reflection, true) => with!(2, true),
    }
}

/// A point's nearest tap: `(coordinate, weight, d weight)`.
#[inline(always)]
fn nearest<F: GridFloat, const PAD: u8, const ALIGN: bool>(v: F, size: F) -> ([F; 1], [F; 1], [F; 1]) {
    let (c, _) = unnormalize::<F, ALIGN>(v, size);
    let (c, _) = pad::<F, PAD, ALIGN>(c, size);
    ([c.round_even()], [F::of(1.0)], [F::of(0.0)])
}

/// A point's two bilinear taps.
#[inline(always)]
fn bilinear<F: GridFloat, const PAD: u8, const ALIGN: bool>(v: F, size: F) -> ([F; 2], [F; 2], [F; 2]) {
    let one = F::of(1.0);
    let (c, s) = unnormalize::<F, ALIGN>(v, size);
    let (c, dc) = pad::<F, PAD, ALIGN>(c, size);
    let c0 = c.floor();
    let f = c - c0;
    let s = s * dc;
    ([c0, c0 + one], [one - f, f], [-s, s])
}

/// A point's four bicubic taps (each padded on its own).
#[inline(always)]
fn bicubic<F: GridFloat, const PAD: u8, const ALIGN: bool>(v: F, size: F) -> ([F; 4], [F; 4], [F; 4]) {
    let (c, s) = unnormalize::<F, ALIGN>(v, size);
    let c0 = c.floor();
    let (w, dw) = cubic(c - c0);
    let one = F::of(1.0);
    let (t0, t1) = (pad::<F, PAD, ALIGN>(c0 - one, size).0, pad::<F, PAD, ALIGN>(c0, size).0);
    let (t2, t3) = (pad::<F, PAD, ALIGN>(c0 + one, size).0, pad::<F, PAD, ALIGN>(c0 + F::of(2.0), size).0);
    ([t0, t1, t2, t3], w, [dw[0] * s, dw[1] * s, dw[2] * s, dw[3] * s])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::available;

    fn taps(axis: GridAxis, vs: &[f64]) -> (Vec<i32>, Vec<f64>, Vec<f64>) {
        let coords: Vec<f64> = vs.iter().flat_map(|&v| [v, v]).collect();
        let n = axis.mode.taps() * vs.len();
        let (mut i, mut w, mut d) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
        axis_taps(&axis, &coords, &mut i, &mut w, &mut d);
        for isa in available() {
            let (mut i2, mut w2, mut d2) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
            f64::axis_taps_isa(isa, &axis, &coords, &mut i2, &mut w2, &mut d2);
            assert_eq!((&i, &w, &d), (&i2, &w2, &d2), "{isa:?}");
        }
        (i, w, d)
    }

    fn axis(size: usize, mode: GridMode, padding: GridPadding, align_corners: bool) -> GridAxis {
        GridAxis { size, component: 0, mode, padding, align_corners }
    }

    #[test]
    fn bilinear_taps_straddle_the_coordinate() {
        // size 4, align_corners=False: v = 0 is pixel 1.5; v = -1 is pixel -0.5 (tap -1 out).
        let (i, w, d) = taps(axis(4, GridMode::Bilinear, GridPadding::Zeros, false), &[0.0, -1.0]);
        assert_eq!(i, [1, 2, 0, 0]); // both taps of the first point, then of the second
        assert_eq!(w, [0.5, 0.5, 0.0, 0.5]);
        // d pixel / d v = size / 2 = 2: the left weight falls, the right one rises.
        assert_eq!(d, [-2.0, 2.0, 0.0, 2.0]);
    }

    #[test]
    fn border_and_reflection_pad_the_coordinate() {
        // size 4, align_corners=True: v = 1.5 is pixel 3.75, clipped to 3 (slope 0).
        let (i, w, d) = taps(axis(4, GridMode::Bilinear, GridPadding::Border, true), &[1.5]);
        assert_eq!((i, w, d), (vec![3, 0], vec![1.0, 0.0], vec![0.0, 0.0]));
        // Reflection about 3 gives pixel 2.25, moving the other way (slope -1.5).
        let (i, w, d) = taps(axis(4, GridMode::Bilinear, GridPadding::Reflection, true), &[1.5]);
        assert_eq!((i, w, d), (vec![2, 3], vec![0.75, 0.25], vec![1.5, -1.5]));
    }

    #[test]
    fn nearest_rounds_half_to_even_and_drops_outside() {
        // size 4, align_corners=False: pixel = ((v + 1) * 4 - 1) / 2; 0.5 -> 2.5 -> 2 (to even);
        // -0.5 -> 0.5 -> 0; 1 -> 3.5 -> 4 (outside).
        let (i, w, _) = taps(axis(4, GridMode::Nearest, GridPadding::Zeros, false), &[0.5, -0.5, 1.0]);
        assert_eq!(i, [2, 0, 0]);
        assert_eq!(w, [1.0, 1.0, 0.0]);
    }

    #[test]
    fn bicubic_weights_sum_to_one_and_pad_each_tap() {
        let (i, w, d) = taps(axis(5, GridMode::Bicubic, GridPadding::Border, false), &[-0.93]);
        // Pixel ((-0.93 + 1) * 5 - 1) / 2 = -0.325: taps -2..1 clipped to 0, 0, 0, 1.
        assert_eq!(i, [0, 0, 0, 1]);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(d.iter().sum::<f64>().abs() < 1e-12);
    }

    #[test]
    fn nan_and_infinite_coordinates_read_nothing() {
        for mode in [GridMode::Nearest, GridMode::Bilinear, GridMode::Bicubic] {
            let (i, w, _) = taps(axis(4, mode, GridPadding::Zeros, false), &[f64::NAN, f64::INFINITY, -1e300]);
            assert!(i.iter().all(|&v| v == 0) && w.iter().all(|&v| v == 0.0), "{mode:?}");
        }
    }
}
