//! Row kernels: softmax and log-softmax over one contiguous row, the building blocks the core
//! crate runs per row (and per thread) for `softmax(dim)` and friends.

use crate::reduce;
use crate::simd_dispatch;
use crate::vmath::exp1;

#[inline(always)]
fn exp_shift_sum_body(x: &[f32], shift: f32, out: &mut [f32], sum: &mut f32) {
    assert_eq!(x.len(), out.len(), "exp_shift_sum: length mismatch");
    let mut acc = [0.0f32; 16];
    let xc = x.chunks_exact(16);
    let rest = xc.remainder();
    let (oc, orest) = out.split_at_mut(x.len() - rest.len());
    for (xs, os) in xc.zip(oc.chunks_exact_mut(16)) {
        for i in 0..16 {
            let e = exp1(xs[i] - shift);
            os[i] = e;
            acc[i] += e;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (o, &v) in orest.iter_mut().zip(rest) {
        let e = exp1(v - shift);
        *o = e;
        s += e;
    }
    *sum = s;
}

#[inline(always)]
fn scale_body(x: &mut [f32], a: f32) {
    for v in x.iter_mut() {
        *v *= a;
    }
}

#[inline(always)]
fn add_scalar_body(x: &[f32], a: f32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v + a;
    }
}

simd_dispatch!(fn exp_shift_sum / exp_shift_sum_isa(x: &[f32], shift: f32, out: &mut [f32], sum: &mut f32) => exp_shift_sum_body);
simd_dispatch!(fn scale / scale_isa(x: &mut [f32], a: f32) => scale_body);
simd_dispatch!(fn add_scalar / add_scalar_isa(x: &[f32], a: f32, out: &mut [f32]) => add_scalar_body);

/// `out = softmax(x)` over one row. An empty row is left empty; a row of `-inf` gives NaN, as
/// in PyTorch.
pub fn softmax(x: &[f32], out: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let m = reduce::max(x);
    let mut s = 0.0;
    exp_shift_sum(x, m, out, &mut s);
    scale(out, 1.0 / s);
}

/// `out = log_softmax(x) = x - max - log(sum(exp(x - max)))` over one row.
pub fn log_softmax(x: &[f32], out: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let m = reduce::max(x);
    let mut s = 0.0;
    exp_shift_sum(x, m, out, &mut s);
    add_scalar(x, -(m + s.ln()), out);
}

/// Scalar twins in `f64`.
pub mod reference {
    /// softmax in f64, rounded.
    pub fn softmax(x: &[f32]) -> Vec<f32> {
        let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
        let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| (v / s) as f32).collect()
    }
    /// log_softmax in f64, rounded.
    pub fn log_softmax(x: &[f32]) -> Vec<f32> {
        let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
        let s: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
        x.iter().map(|&v| (v as f64 - m - s.ln()) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn softmax_matches_reference(x in proptest::collection::vec(-50.0f32..50.0, 1..100)) {
            let mut out = vec![0.0; x.len()];
            softmax(&x, &mut out);
            for (a, b) in out.iter().zip(reference::softmax(&x)) {
                prop_assert!((a - b).abs() <= 1e-6 + 1e-5 * b.abs());
            }
            log_softmax(&x, &mut out);
            for (a, b) in out.iter().zip(reference::log_softmax(&x)) {
                prop_assert!((a - b).abs() <= 1e-5 + 1e-6 * b.abs());
            }
        }
    }

    #[test]
    fn softmax_of_large_values_does_not_overflow() {
        let x = [1000.0f32, 1000.0];
        let mut out = [0.0; 2];
        softmax(&x, &mut out);
        assert_eq!(out, [0.5, 0.5]);
        let mut out = [0.0; 2];
        softmax(&[f32::NEG_INFINITY, 0.0], &mut out);
        assert_eq!(out, [0.0, 1.0]);
    }
}
