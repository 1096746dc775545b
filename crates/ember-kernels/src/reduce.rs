//! Reductions over contiguous `f32` slices: sum, max, dot, plus the axpy update.
//!
//! The float sums keep 16 independent accumulators, so the compiler can vectorise them without
//! reassociating (which it may not do on its own) and the result does not depend on the ISA:
//! each lane holds the same partial sum whatever the vector width is.

use crate::simd_dispatch;

const LANES: usize = 16;

#[inline(always)]
fn sum_body(x: &[f32], out: &mut f32) {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    let mut s = 0.0;
    for a in acc {
        s += a;
    }
    for &v in rest {
        s += v;
    }
    *out = s;
}

#[inline(always)]
fn dot_body(x: &[f32], y: &[f32], out: &mut f32) {
    assert_eq!(x.len(), y.len(), "dot: length mismatch");
    let mut acc = [0.0f32; LANES];
    let xc = x.chunks_exact(LANES);
    let yc = y.chunks_exact(LANES);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for i in 0..LANES {
            acc[i] += a[i] * b[i];
        }
    }
    let mut s = 0.0;
    for a in acc {
        s += a;
    }
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    *out = s;
}

#[inline(always)]
fn max_body(x: &[f32], out: &mut f32) {
    // NaN propagates (PyTorch's max returns NaN if any element is NaN).
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    let mut nan = false;
    for c in chunks {
        for i in 0..LANES {
            nan |= c[i].is_nan();
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for a in acc.into_iter().chain(rest.iter().copied()) {
        nan |= a.is_nan();
        m = if a > m { a } else { m };
    }
    *out = if nan { f32::NAN } else { m };
}

#[inline(always)]
fn axpy_body(a: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: length mismatch");
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

simd_dispatch!(fn sum_into / sum_into_isa(x: &[f32], out: &mut f32) => sum_body);
simd_dispatch!(fn dot_into / dot_into_isa(x: &[f32], y: &[f32], out: &mut f32) => dot_body);
simd_dispatch!(fn max_into / max_into_isa(x: &[f32], out: &mut f32) => max_body);
simd_dispatch!(/// `y += a * x`.
    pub fn axpy / axpy_isa(a: f32, x: &[f32], y: &mut [f32]) => axpy_body);

/// Sum of `x` (0 for an empty slice).
pub fn sum(x: &[f32]) -> f32 {
    let mut s = 0.0;
    sum_into(x, &mut s);
    s
}

/// Dot product of two equally long slices.
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut s = 0.0;
    dot_into(x, y, &mut s);
    s
}

/// Largest element (`-inf` for an empty slice, NaN if any element is NaN).
pub fn max(x: &[f32]) -> f32 {
    let mut m = 0.0;
    max_into(x, &mut m);
    m
}

/// Sum of an `f64` slice with 8 accumulators (vectorisable, close to pairwise accuracy).
pub fn sum_f64(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f64>() + rest.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::available;
    use proptest::prelude::*;

    fn sum_ref(x: &[f32]) -> f64 {
        x.iter().map(|&v| v as f64).sum()
    }

    proptest! {
        #[test]
        fn sum_dot_max_match_scalar(x in proptest::collection::vec(-100.0f32..100.0, 0..200)) {
            let y: Vec<f32> = x.iter().map(|v| v * 0.5 - 1.0).collect();
            let abs_sum: f64 = x.iter().map(|v| v.abs() as f64).sum();
            for isa in available() {
                let mut s = 0.0;
                sum_into_isa(isa, &x, &mut s);
                prop_assert!((s as f64 - sum_ref(&x)).abs() <= 1e-5 * abs_sum + 1e-6);
                let mut d = 0.0;
                dot_into_isa(isa, &x, &y, &mut d);
                let d_ref: f64 = x.iter().zip(&y).map(|(a, b)| *a as f64 * *b as f64).sum();
                let scale: f64 = x.iter().zip(&y).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
                prop_assert!((d as f64 - d_ref).abs() <= 1e-5 * scale + 1e-6);
                let mut m = 0.0;
                max_into_isa(isa, &x, &mut m);
                let m_ref = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                prop_assert_eq!(m, m_ref);
                let mut yy = y.clone();
                axpy_isa(isa, 2.0, &x, &mut yy);
                for i in 0..x.len() {
                    prop_assert_eq!(yy[i], y[i] + 2.0 * x[i]);
                }
            }
        }
    }

    #[test]
    fn max_propagates_nan_and_handles_empty() {
        for isa in available() {
            let mut m = 0.0;
            max_into_isa(isa, &[], &mut m);
            assert_eq!(m, f32::NEG_INFINITY);
            let mut v = vec![1.0f32; 37];
            v[30] = f32::NAN;
            max_into_isa(isa, &v, &mut m);
            assert!(m.is_nan(), "{isa:?}");
            v[30] = f32::INFINITY;
            max_into_isa(isa, &v, &mut m);
            assert_eq!(m, f32::INFINITY);
        }
    }

    #[test]
    fn sum_handles_signed_zero_and_inf() {
        assert_eq!(sum(&[-0.0, -0.0]).to_bits(), 0.0f32.to_bits()); // PyTorch also returns +0
        assert_eq!(sum(&[1.0, f32::INFINITY]), f32::INFINITY);
        assert!(sum(&[f32::INFINITY, f32::NEG_INFINITY]).is_nan());
        assert_eq!(sum_f64(&[1.0; 13]), 13.0);
    }
}
