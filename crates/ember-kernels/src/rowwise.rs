//! Row kernels: softmax, log-softmax, layer norm and RMS norm over one contiguous row, the
//! building blocks the core crate runs per row (and per thread).

use crate::simd_dispatch;
use crate::vmath::exp1;

// Every row kernel below loops over a whole block of rows inside one `simd_dispatch!`ed body,
// so the per-row helpers inline into the ISA-specific code: a transformer's rows are short (64
// to 1024 floats), and a dispatched call per pass plus a serial 16-lane sum per row cost more
// than the row's arithmetic (measured: layer norm of 768 rows of 64, 117 µs -> see
// docs/PERFORMANCE.md; torch 38).

const LANES: usize = 16;

/// Sum of 16 partial sums as a tree (4 dependent vector adds, not 16 serial scalar ones).
#[inline(always)]
fn hsum(mut a: [f32; LANES]) -> f32 {
    for w in [8, 4, 2, 1] {
        for i in 0..w {
            a[i] += a[i + w];
        }
    }
    a[0]
}

/// `Σ f(x_i)` in 16 lanes (the tail joins the first lanes), summed as a tree.
#[inline(always)]
fn row_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let c = x.chunks_exact(LANES);
    let rest = c.remainder();
    for ch in c {
        for i in 0..LANES {
            acc[i] += f(ch[i]);
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += f(v);
    }
    hsum(acc)
}

/// Largest element of a non-empty row, ignoring NaN: the softmax kernels need no NaN check
/// here, since a NaN element makes the row's exp-sum NaN and with it every output, as in
/// PyTorch. Lanes then a tree, like [`hsum`] (a serial fold was a quarter of a 64-wide row).
#[inline(always)]
fn row_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let c = x.chunks_exact(LANES);
    let rest = c.remainder();
    for ch in c {
        for i in 0..LANES {
            acc[i] = if ch[i] > acc[i] { ch[i] } else { acc[i] };
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a = if v > *a { v } else { *a };
    }
    for w in [8, 4, 2, 1] {
        for i in 0..w {
            acc[i] = if acc[i + w] > acc[i] { acc[i + w] } else { acc[i] };
        }
    }
    acc[0]
}

/// `out = (x - mean) * rstd * gamma + beta` (gamma/beta may be empty: 1 and 0).
#[inline(always)]
fn affine(x: &[f32], mean: f32, rstd: f32, gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    match (gamma.is_empty(), beta.is_empty()) {
        (false, false) => {
            for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
                *o = (v - mean) * rstd * g + b;
            }
        }
        (false, true) => {
            for ((o, &v), &g) in out.iter_mut().zip(x).zip(gamma) {
                *o = (v - mean) * rstd * g;
            }
        }
        (true, false) => {
            for ((o, &v), &b) in out.iter_mut().zip(x).zip(beta) {
                *o = (v - mean) * rstd + b;
            }
        }
        (true, true) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (v - mean) * rstd;
            }
        }
    }
}

#[inline(always)]
fn layer_norm_rows_body(
    x: &[f32],
    d: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    stats: &mut [[f32; 2]],
) {
    if d == 0 {
        return;
    }
    let n = d as f32;
    for (r, (row, o)) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
        let mean = row_sum(row, |v| v) / n;
        let var = row_sum(row, |v| (v - mean) * (v - mean)) / n;
        let rstd = 1.0 / (var + eps).sqrt();
        if let Some(s) = stats.get_mut(r) {
            *s = [mean, rstd];
        }
        affine(row, mean, rstd, gamma, beta, o);
    }
}

#[inline(always)]
fn rms_norm_rows_body(x: &[f32], d: usize, gamma: &[f32], eps: f32, out: &mut [f32]) {
    if d == 0 {
        return;
    }
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let rstd = 1.0 / (row_sum(row, |v| v * v) / d as f32 + eps).sqrt();
        affine(row, 0.0, rstd, gamma, &[], o);
    }
}

#[inline(always)]
fn layer_norm_backward_rows_body(
    x: &[f32],
    dy: &[f32],
    d: usize,
    gamma: &[f32],
    stats: &[[f32; 2]],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    if d == 0 {
        return;
    }
    let n = d as f32;
    let rows = x.chunks_exact(d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(d));
    for (((row, g), o), &[mean, rstd]) in rows.zip(stats) {
        // With gw = dy * gamma and xhat = (x - mean) rstd, per row:
        // dx = rstd (gw - mean(gw) - xhat mean(gw xhat)) = rstd gw + x q + c.
        let (mut sg, mut sgx) = ([0.0f32; LANES], [0.0f32; LANES]);
        let gws = |k: usize| if gamma.is_empty() { g[k] } else { g[k] * gamma[k] };
        let full = d - d % LANES;
        for k0 in (0..full).step_by(LANES) {
            for i in 0..LANES {
                let gw = gws(k0 + i);
                sg[i] += gw;
                sgx[i] += gw * (row[k0 + i] - mean);
            }
        }
        for (i, k) in (full..d).enumerate() {
            let gw = gws(k);
            sg[i] += gw;
            sgx[i] += gw * (row[k] - mean);
        }
        let mg = hsum(sg) / n;
        let mgx = hsum(sgx) * rstd / n;
        let q = -rstd * rstd * mgx;
        let c = -rstd * mg - q * mean;
        if gamma.is_empty() {
            for ((o, &gv), &v) in o.iter_mut().zip(g).zip(row) {
                *o = rstd * gv + (v * q + c);
            }
        } else {
            for (((o, &gv), &v), &w) in o.iter_mut().zip(g).zip(row).zip(gamma) {
                *o = rstd * (gv * w) + (v * q + c);
            }
        }
        for (((dw, db), &gv), &v) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(g).zip(row) {
            *dw += gv * ((v - mean) * rstd);
            *db += gv;
        }
    }
}

#[inline(always)]
fn softmax_rows_body(x: &[f32], d: usize, log: bool, out: &mut [f32]) {
    if d == 0 {
        return;
    }
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let m = row_max(row);
        let mut acc = [0.0f32; LANES];
        let (xc, oc) = (row.chunks_exact(LANES), o.chunks_exact_mut(LANES));
        let rest = xc.remainder();
        for (xs, os) in xc.zip(oc) {
            for i in 0..LANES {
                let e = exp1(xs[i] - m);
                os[i] = e;
                acc[i] += e;
            }
        }
        // The tail as one more padded chunk (a row of 77 classes would otherwise take 13
        // scalar exps, as long as the 64 before them); padded lanes are computed and dropped.
        // Padded with the row max (exp(0) = 1, dropped): padding with -inf would take exp
        // through subnormal intermediates, each a microcode assist (measured: twice the time
        // of a 64-wide row).
        if !rest.is_empty() {
            let mut pad = [m; LANES];
            pad[..rest.len()].copy_from_slice(rest);
            for p in pad.iter_mut() {
                *p = exp1(*p - m);
            }
            for (a, &p) in acc.iter_mut().zip(&pad[..rest.len()]) {
                *a += p;
            }
            let tail = d - rest.len();
            o[tail..].copy_from_slice(&pad[..rest.len()]);
        }
        let s = hsum(acc);
        if log {
            let shift = m + s.ln();
            for (y, &v) in o.iter_mut().zip(row) {
                *y = v - shift;
            }
        } else {
            let inv = 1.0 / s;
            for y in o.iter_mut() {
                *y *= inv;
            }
        }
    }
}

#[inline(always)]
fn softmax_backward_rows_body(y: &[f32], dy: &[f32], d: usize, log: bool, dx: &mut [f32]) {
    if d == 0 {
        return;
    }
    let rows = y.chunks_exact(d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(d));
    for ((yr, gr), o) in rows {
        if log {
            // dx = g - exp(y) Σ g
            let s = row_sum(gr, |g| g);
            for ((o, &yv), &g) in o.iter_mut().zip(yr).zip(gr) {
                *o = g - exp1(yv) * s;
            }
        } else {
            // dx = y (g - Σ g y)
            let mut acc = [0.0f32; LANES];
            let (yc, gc) = (yr.chunks_exact(LANES), gr.chunks_exact(LANES));
            for (a, (&yv, &g)) in acc.iter_mut().zip(yc.remainder().iter().zip(gc.remainder())) {
                *a += yv * g;
            }
            for (ys, gs) in yc.zip(gc) {
                for i in 0..LANES {
                    acc[i] += ys[i] * gs[i];
                }
            }
            let s = hsum(acc);
            for ((o, &yv), &g) in o.iter_mut().zip(yr).zip(gr) {
                *o = yv * (g - s);
            }
        }
    }
}

simd_dispatch!(
    /// Layer norm of each row of `x [rows, d]` with the biased variance (two passes over the
    /// row, in L1): `out = (x - mean) / sqrt(var + eps) * gamma + beta`, and `[mean, rstd]` of
    /// row `r` in `stats[r]` for the rows `stats` has room for (empty: none kept). Empty
    /// `gamma`/`beta` mean no affine part.
    pub fn layer_norm_rows / layer_norm_rows_isa(x: &[f32], d: usize, gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32], stats: &mut [[f32; 2]]) => layer_norm_rows_body);
simd_dispatch!(
    /// RMS norm of each row of `x [rows, d]`: `x / sqrt(mean(x^2) + eps) * gamma`.
    pub fn rms_norm_rows / rms_norm_rows_isa(x: &[f32], d: usize, gamma: &[f32], eps: f32, out: &mut [f32]) => rms_norm_rows_body);
simd_dispatch!(
    /// Layer norm's backward over rows `[rows, d]` from the forward's `stats`: `dx`, and
    /// `Σ dy xhat` added into `dgamma`, `Σ dy` into `dbeta` (each `d` long).
    pub fn layer_norm_backward_rows / layer_norm_backward_rows_isa(x: &[f32], dy: &[f32], d: usize, gamma: &[f32], stats: &[[f32; 2]], dx: &mut [f32], dgamma: &mut [f32], dbeta: &mut [f32]) => layer_norm_backward_rows_body);
simd_dispatch!(
    /// Softmax (or, with `log`, log-softmax) of each row of `x [rows, d]`. A row of `-inf`
    /// gives NaN, as in PyTorch.
    pub fn softmax_rows / softmax_rows_isa(x: &[f32], d: usize, log: bool, out: &mut [f32]) => softmax_rows_body);
simd_dispatch!(
    /// Softmax's backward over rows from its output `y`: `dx = y (dy - Σ dy y)`; with `log`
    /// (then `y` is the log-softmax) `dx = dy - exp(y) Σ dy`.
    pub fn softmax_backward_rows / softmax_backward_rows_isa(y: &[f32], dy: &[f32], d: usize, log: bool, dx: &mut [f32]) => softmax_backward_rows_body);

/// Layer norm of one row (see [`layer_norm_rows`]).
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    layer_norm_rows(x, x.len(), gamma, beta, eps, out, &mut [])
}

/// RMS norm of one row: `x / sqrt(mean(x^2) + eps) * gamma`.
pub fn rms_norm(x: &[f32], gamma: &[f32], eps: f32, out: &mut [f32]) {
    rms_norm_rows(x, x.len(), gamma, eps, out)
}

/// `out = softmax(x)` over one row. An empty row is left empty; a row of `-inf` gives NaN, as
/// in PyTorch.
pub fn softmax(x: &[f32], out: &mut [f32]) {
    softmax_rows(x, x.len(), false, out)
}

/// `out = log_softmax(x) = x - max - log(sum(exp(x - max)))` over one row.
pub fn log_softmax(x: &[f32], out: &mut [f32]) {
    softmax_rows(x, x.len(), true, out)
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

    /// Layer norm's gradient in f64 from its definition: with `gw = dy gamma` and `xhat`,
    /// `dx = rstd (gw - mean(gw) - xhat mean(gw xhat))`.
    fn layer_norm_grad_ref(x: &[f32], dy: &[f32], gamma: &[f32], eps: f64) -> Vec<f64> {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let rstd = 1.0 / (var + eps).sqrt();
        let xhat: Vec<f64> = x.iter().map(|&v| (v as f64 - mean) * rstd).collect();
        let gw: Vec<f64> = (0..x.len()).map(|i| dy[i] as f64 * gamma.get(i).map_or(1.0, |&g| g as f64)).collect();
        let mg = gw.iter().sum::<f64>() / n;
        let mgx = gw.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / n;
        (0..x.len()).map(|i| rstd * (gw[i] - mg - xhat[i] * mgx)).collect()
    }

    proptest! {
        #[test]
        fn row_blocks_and_backwards_match_f64_references(
            rows in 1usize..5,
            d in 1usize..90,
            affine in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let mut st = seed | 1;
            let mut rnd = || { st ^= st << 13; st ^= st >> 7; st ^= st << 17; (st % 2001) as f32 / 100.0 - 10.0 };
            let x: Vec<f32> = (0..rows * d).map(|_| rnd()).collect();
            let dy: Vec<f32> = (0..rows * d).map(|_| rnd()).collect();
            let (g, b): (Vec<f32>, Vec<f32>) = if affine { ((0..d).map(|_| rnd()).collect(), (0..d).map(|_| rnd()).collect()) } else { (vec![], vec![]) };
            let mut y = vec![0.0; rows * d];
            let mut stats = vec![[0.0f32; 2]; rows];
            layer_norm_rows(&x, d, &g, &b, 1e-5, &mut y, &mut stats);
            let (mut dx, mut dg, mut db) = (vec![0.0; rows * d], vec![0.0; d], vec![0.0; d]);
            layer_norm_backward_rows(&x, &dy, d, &g, &stats, &mut dx, &mut dg, &mut db);
            let (mut dg_ref, mut db_ref) = (vec![0.0f64; d], vec![0.0f64; d]);
            for r in 0..rows {
                let (xr, gr) = (&x[r * d..(r + 1) * d], &dy[r * d..(r + 1) * d]);
                let mut one = vec![0.0; d];
                layer_norm(xr, &g, &b, 1e-5, &mut one);
                prop_assert_eq!(&one[..], &y[r * d..(r + 1) * d], "a block of rows equals rows one by one");
                let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
                let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
                let rstd = 1.0 / (var + 1e-5).sqrt();
                prop_assert!((stats[r][0] as f64 - mean).abs() < 1e-5 * (1.0 + mean.abs()));
                prop_assert!((stats[r][1] as f64 - rstd).abs() < 1e-4 * rstd);
                for (k, want) in layer_norm_grad_ref(xr, gr, &g, 1e-5).into_iter().enumerate() {
                    let scale = rstd * gr.iter().map(|v| v.abs() as f64).fold(1.0, f64::max) * 30.0;
                    prop_assert!((dx[r * d + k] as f64 - want).abs() < 1e-5 * scale, "dx {} vs {}", dx[r * d + k], want);
                    dg_ref[k] += gr[k] as f64 * (xr[k] as f64 - mean) * rstd;
                    db_ref[k] += gr[k] as f64;
                }
            }
            for k in 0..d {
                prop_assert!((dg[k] as f64 - dg_ref[k]).abs() < 1e-3 * (1.0 + dg_ref[k].abs()));
                prop_assert!((db[k] as f64 - db_ref[k]).abs() < 1e-3 * (1.0 + db_ref[k].abs()));
            }

            for log in [false, true] {
                let mut p = vec![0.0; rows * d];
                softmax_rows(&x, d, log, &mut p);
                softmax_backward_rows(&p, &dy, d, log, &mut dx);
                for r in 0..rows {
                    let want = if log { reference::log_softmax(&x[r * d..(r + 1) * d]) } else { reference::softmax(&x[r * d..(r + 1) * d]) };
                    let sm = reference::softmax(&x[r * d..(r + 1) * d]);
                    let gr = &dy[r * d..(r + 1) * d];
                    let gs: f64 = if log { gr.iter().map(|&v| v as f64).sum() } else { gr.iter().zip(&sm).map(|(&a, &b)| a as f64 * b as f64).sum() };
                    for k in 0..d {
                        prop_assert!((p[r * d + k] - want[k]).abs() <= 2e-5 * (1.0 + want[k].abs()));
                        let dref = if log { gr[k] as f64 - sm[k] as f64 * gs } else { sm[k] as f64 * (gr[k] as f64 - gs) };
                        prop_assert!((dx[r * d + k] as f64 - dref).abs() < 1e-4 * (1.0 + gs.abs() + (gr[k] as f64).abs()), "softmax dx {} vs {}", dx[r * d + k], dref);
                    }
                }
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
        // A NaN anywhere in a row (the max skips it) makes the whole row NaN, as in PyTorch.
        let x: Vec<f32> = (0..21).map(|i| if i == 17 { f32::NAN } else { i as f32 }).collect();
        let mut out = vec![0.0; 21];
        for log in [false, true] {
            softmax_rows(&x, 21, log, &mut out);
            assert!(out.iter().all(|v| v.is_nan()), "{out:?}");
        }
    }
}
