//! Row kernels: softmax, log-softmax, layer norm and RMS norm over one contiguous row, the
//! building blocks the core crate runs per row (and per thread).

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
    // The tail as one more padded chunk (a row of 77 classes would otherwise take 13 scalar
    // exps, as long as the 64 before them); padded lanes are computed and dropped.
    let mut pad = [0.0f32; 16];
    pad[..rest.len()].copy_from_slice(rest);
    for p in pad.iter_mut() {
        *p = exp1(*p - shift);
    }
    let mut s: f32 = acc.iter().sum();
    for (o, &e) in orest.iter_mut().zip(&pad) {
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

#[inline(always)]
fn sum_sq_dev_body(x: &[f32], mean: f32, out: &mut f32) {
    let mut acc = [0.0f32; 16];
    let c = x.chunks_exact(16);
    let rest = c.remainder();
    for ch in c {
        for i in 0..16 {
            let d = ch[i] - mean;
            acc[i] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for &v in rest {
        s += (v - mean) * (v - mean);
    }
    *out = s;
}

#[inline(always)]
fn sum_sq_body(x: &[f32], out: &mut f32) {
    sum_sq_dev_body(x, 0.0, out)
}

/// `out = (x - mean) * rstd * gamma + beta` (gamma/beta may be empty: 1 and 0).
#[inline(always)]
fn affine_body(x: &[f32], mean: f32, rstd: f32, gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    match (gamma.is_empty(), beta.is_empty()) {
        (false, false) => {
            for i in 0..out.len() {
                out[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
            }
        }
        (false, true) => {
            for i in 0..out.len() {
                out[i] = (x[i] - mean) * rstd * gamma[i];
            }
        }
        _ => {
            for i in 0..out.len() {
                out[i] = (x[i] - mean) * rstd;
            }
        }
    }
}

simd_dispatch!(fn sum_sq_dev / sum_sq_dev_isa(x: &[f32], mean: f32, out: &mut f32) => sum_sq_dev_body);
simd_dispatch!(fn sum_sq / sum_sq_isa(x: &[f32], out: &mut f32) => sum_sq_body);
simd_dispatch!(fn affine / affine_isa(x: &[f32], mean: f32, rstd: f32, gamma: &[f32], beta: &[f32], out: &mut [f32]) => affine_body);

/// Layer norm of one row: `(x - mean) / sqrt(var + eps) * gamma + beta` with the biased
/// variance (two passes for accuracy). Empty `gamma`/`beta` mean no affine part.
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let n = x.len() as f32;
    let mean = crate::reduce::sum(x) / n;
    let mut ss = 0.0;
    sum_sq_dev(x, mean, &mut ss);
    let rstd = 1.0 / (ss / n + eps).sqrt();
    affine(x, mean, rstd, gamma, beta, out);
}

/// RMS norm of one row: `x / sqrt(mean(x^2) + eps) * gamma`.
pub fn rms_norm(x: &[f32], gamma: &[f32], eps: f32, out: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let mut ss = 0.0;
    sum_sq(x, &mut ss);
    let rstd = 1.0 / (ss / x.len() as f32 + eps).sqrt();
    affine(x, 0.0, rstd, gamma, &[], out);
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

    proptest! {
        #[test]
        fn norms_match_f64_reference(x in proptest::collection::vec(-20.0f32..20.0, 1..90)) {
            let n = x.len();
            let g: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 / n as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.01 - 0.3).collect();
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n as f64;
            let mut out = vec![0.0; n];
            layer_norm(&x, &g, &b, 1e-5, &mut out);
            for i in 0..n {
                let want = (x[i] as f64 - mean) / (var + 1e-5).sqrt() * g[i] as f64 + b[i] as f64;
                prop_assert!((out[i] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "layer_norm {} vs {}", out[i], want);
            }
            rms_norm(&x, &g, 1e-6, &mut out);
            for i in 0..n {
                let want = x[i] as f64 / (ms + 1e-6).sqrt() * g[i] as f64;
                prop_assert!((out[i] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "rms_norm {} vs {}", out[i], want);
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
