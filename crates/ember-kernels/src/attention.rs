//! Fused attention for inference: `softmax(q k^T * scale [+ causal mask]) v` computed one query
//! row at a time over blocks of keys with an online softmax (FlashAttention's rescaling), so the
//! `T x S` score matrix is never stored: memory is O(block) per thread.
//!
//! Layouts (contiguous): q and out `[B, H, T, hd]`, k and v `[B, KV, S, hd]` with `H` a multiple
//! of `KV` (grouped-query attention); query `i` has absolute position `S - T + i`.

use crate::reduce::{axpy, dot};
use crate::threads;
use crate::vmath::exp1;

/// Sizes of one attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttnDims {
    pub b: usize,
    pub h: usize,
    pub kv: usize,
    pub t: usize,
    pub s: usize,
    pub hd: usize,
    pub causal: bool,
    pub scale: f32,
}

const KEY_BLOCK: usize = 64;

/// One query row against its keys (compiled per ISA: `exp1` is FMA code).
#[inline(always)]
fn row_body(q: &[f32], k: &[f32], v: &[f32], keys: usize, d: &AttnDims, out: &mut [f32]) {
    let hd = d.hd;
    let mut m = f32::NEG_INFINITY;
    let mut l = 0.0f32;
    out.fill(0.0);
    let mut scores = [0.0f32; KEY_BLOCK];
    let mut start = 0;
    while start < keys {
        let n = KEY_BLOCK.min(keys - start);
        let mut bm = f32::NEG_INFINITY;
        for j in 0..n {
            let s = dot(q, &k[(start + j) * hd..(start + j + 1) * hd]) * d.scale;
            scores[j] = s;
            bm = bm.max(s);
        }
        let new_m = m.max(bm);
        // Rescale what was accumulated under the old maximum.
        let corr = if m == f32::NEG_INFINITY { 0.0 } else { exp1(m - new_m) };
        if corr != 1.0 {
            out.iter_mut().for_each(|o| *o *= corr);
            l *= corr;
        }
        for j in 0..n {
            let p = exp1(scores[j] - new_m);
            l += p;
            axpy(p, &v[(start + j) * hd..(start + j + 1) * hd], out);
        }
        m = new_m;
        start += n;
    }
    let inv = 1.0 / l;
    out.iter_mut().for_each(|o| *o *= inv);
}

crate::simd_dispatch!(fn row / row_isa(q: &[f32], k: &[f32], v: &[f32], keys: usize, d: &AttnDims, out: &mut [f32]) => row_body);

/// Fused attention; see the module docs for layouts.
///
/// # Panics
/// When the slices do not match `d` (callers validate shapes first).
pub fn attention(q: &[f32], k: &[f32], v: &[f32], out: &mut [f32], d: AttnDims) {
    let (b, h, t, s, hd) = (d.b, d.h, d.t, d.s, d.hd);
    assert!(d.kv > 0 && h % d.kv == 0 && s >= t, "attention: bad dims {d:?}");
    assert!(
        q.len() == b * h * t * hd && out.len() == q.len() && k.len() == b * d.kv * s * hd && v.len() == k.len(),
        "attention: slice sizes"
    );
    let rep = h / d.kv;
    let past = s - t;
    // Blocks of whole query rows; work per row is about S * hd * 4 flops.
    let rows_per_block = (threads::PARALLEL_MIN_WORK / (s * hd).max(1)).clamp(1, t.max(1));
    threads::for_each_block_mut(out, rows_per_block * hd, |blk, chunk| {
        let first = blk * rows_per_block; // global row index over B*H*T
        for (r, o) in chunk.chunks_mut(hd).enumerate() {
            let g = first + r;
            let (bh, i) = (g / t, g % t);
            let (bi, hi) = (bh / h, bh % h);
            let kvh = bi * d.kv + hi / rep;
            let keys = if d.causal { past + i + 1 } else { s };
            let kb = &k[kvh * s * hd..(kvh + 1) * s * hd];
            let vb = &v[kvh * s * hd..(kvh + 1) * s * hd];
            row(&q[g * hd..(g + 1) * hd], kb, vb, keys, &d, o);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(q: &[f32], k: &[f32], v: &[f32], d: AttnDims) -> Vec<f64> {
        let (t, s, hd) = (d.t, d.s, d.hd);
        let rep = d.h / d.kv;
        let mut out = vec![0.0; q.len()];
        for bh in 0..d.b * d.h {
            let kvh = (bh / d.h) * d.kv + (bh % d.h) / rep;
            for i in 0..t {
                let keys = if d.causal { s - t + i + 1 } else { s };
                let sc: Vec<f64> = (0..keys)
                    .map(|j| {
                        (0..hd).map(|c| q[(bh * t + i) * hd + c] as f64 * k[(kvh * s + j) * hd + c] as f64).sum::<f64>()
                            * d.scale as f64
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = sc.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..hd {
                    out[(bh * t + i) * hd + c] = (0..keys).map(|j| e[j] / z * v[(kvh * s + j) * hd + c] as f64).sum();
                }
            }
        }
        out
    }

    #[test]
    fn fused_attention_matches_naive_softmax_attention() {
        for (b, h, kv, t, s, hd, causal) in [
            (1, 2, 2, 5, 5, 8, true),
            (2, 4, 2, 3, 150, 16, true),
            (1, 3, 1, 70, 70, 4, false),
            (1, 1, 1, 1, 200, 8, true),
        ] {
            let d = AttnDims { b, h, kv, t, s, hd, causal, scale: 1.0 / (hd as f32).sqrt() };
            let f =
                |n: usize, m: usize| -> Vec<f32> { (0..n).map(|i| (((i * m) % 97) as f32 - 48.0) / 20.0).collect() };
            let (q, k, v) = (f(b * h * t * hd, 7), f(b * kv * s * hd, 11), f(b * kv * s * hd, 13));
            let mut out = vec![f32::NAN; q.len()];
            attention(&q, &k, &v, &mut out, d);
            for (a, w) in out.iter().zip(naive(&q, &k, &v, d)) {
                assert!((*a as f64 - w).abs() < 1e-4, "{d:?}: {a} vs {w}");
            }
        }
    }
}
