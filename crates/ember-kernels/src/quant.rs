//! Matrix products with low-precision weights, for inference: `out = x W^T` where `x` is f32
//! `[M, K]` and `W` is `[N, K]` stored as bf16, as int8 with one f32 scale per output row
//! (weight-only quantisation), or in one of llama.cpp's block formats (`blockq.rs`: Q8_0, Q4_0,
//! Q4_1, Q4_K, Q5_K, Q6_K; GGUF's tensor types). Products accumulate in f32.
//!
//! Decode (small M) is bandwidth-bound: each weight row is streamed once and converted in
//! registers, so bf16 reads half the bytes of f32, int8 a quarter and Q4 blocks about a seventh
//! (block formats multiply in integers with int8-quantised activations, `blockq_int.rs`).
//! Larger M converts a block of weight rows to f32 once and hands it to the f32 GEMM, except
//! where a faster product exists: block panels multiply in integers at every M, and bf16
//! weights on CPUs with AVX512-BF16 go to the bf16 GEMM (the activations rounded to bf16, as
//! a bf16 model in PyTorch computes them).

use crate::blockq::{self, BlockFormat};
use crate::blockq_int::{self, QuantizedRow};
use crate::blockq_panel;
use crate::gemm::{matmul, MatMut, MatRef};
use crate::int8_panel::{self, RowQuant};
use crate::simd_dispatch;
use crate::threads;
use half::bf16;

const LANES: usize = 16;

#[inline(always)]
fn bf16_to_f32(b: bf16) -> f32 {
    f32::from_bits((b.to_bits() as u32) << 16)
}

#[inline(always)]
fn dot_bf16_body(x: &[f32], w: &[bf16], out: &mut f32) {
    let mut acc = [0.0f32; LANES];
    let xc = x.chunks_exact(LANES);
    let wc = w.chunks_exact(LANES);
    let (xr, wr) = (xc.remainder(), wc.remainder());
    for (a, b) in xc.zip(wc) {
        for i in 0..LANES {
            acc[i] += a[i] * bf16_to_f32(b[i]);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (a, b) in xr.iter().zip(wr) {
        s += a * bf16_to_f32(*b);
    }
    *out = s;
}

#[inline(always)]
fn dot_i8_body(x: &[f32], w: &[i8], out: &mut f32) {
    let mut acc = [0.0f32; LANES];
    let xc = x.chunks_exact(LANES);
    let wc = w.chunks_exact(LANES);
    let (xr, wr) = (xc.remainder(), wc.remainder());
    for (a, b) in xc.zip(wc) {
        for i in 0..LANES {
            acc[i] += a[i] * b[i] as f32;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (a, b) in xr.iter().zip(wr) {
        s += a * *b as f32;
    }
    *out = s;
}

#[inline(always)]
fn widen_bf16_body(w: &[bf16], out: &mut [f32]) {
    for (o, &b) in out.iter_mut().zip(w) {
        *o = bf16_to_f32(b);
    }
}

#[inline(always)]
fn widen_i8_body(w: &[i8], scale: f32, out: &mut [f32]) {
    for (o, &b) in out.iter_mut().zip(w) {
        *o = b as f32 * scale;
    }
}

simd_dispatch!(fn dot_bf16_into / dot_bf16_isa(x: &[f32], w: &[bf16], out: &mut f32) => dot_bf16_body);
simd_dispatch!(fn dot_i8_into / dot_i8_isa(x: &[f32], w: &[i8], out: &mut f32) => dot_i8_body);
simd_dispatch!(fn widen_bf16 / widen_bf16_isa(w: &[bf16], out: &mut [f32]) => widen_bf16_body);
simd_dispatch!(fn widen_i8 / widen_i8_isa(w: &[i8], scale: f32, out: &mut [f32]) => widen_i8_body);

/// Low-precision weights `[N, K]`, row-major.
#[derive(Clone, Copy, Debug)]
pub enum Weights<'a> {
    Bf16(&'a [bf16]),
    /// int8 values and one scale per row: `W[n, k] = q[n, k] * scale[n]`.
    Int8(&'a [i8], &'a [f32]),
    /// llama.cpp's blocks, row by row (each row `K / block_len` whole blocks).
    Blocks(BlockFormat, &'a [u8]),
    /// llama.cpp's blocks repacked in panels of 16 rows (`blockq_panel.rs`; Q4_0 and Q8_0),
    /// the rows after the last whole panel row by row.
    Panels(BlockFormat, &'a [u8]),
    /// int8 rows as Q8_0 panels of unit block scale, with one scale and one code sum per row
    /// (`int8_panel.rs`): `W[n, k] = code[n, k] * scale[n]`.
    Int8Panels(&'a [u8], &'a [f32], &'a [i32]),
}

impl Weights<'_> {
    /// Elements (not bytes) held.
    fn len(&self) -> usize {
        match self {
            Weights::Bf16(w) => w.len(),
            Weights::Int8(w, _) => w.len(),
            Weights::Blocks(f, w) | Weights::Panels(f, w) => w.len() / f.block_bytes() * f.block_len(),
            Weights::Int8Panels(w, ..) => w.len() / 34 * 32,
        }
    }

    /// Rows `n0..n0 + rows` as f32 `[rows, K]` (`n0` a multiple of 16 for panels).
    fn widen_rows(&self, n0: usize, rows: usize, k: usize, out: &mut [f32]) {
        match self {
            Weights::Bf16(w) => widen_bf16(&w[n0 * k..(n0 + rows) * k], out),
            Weights::Int8(w, sc) => {
                for r in 0..rows {
                    widen_i8(&w[(n0 + r) * k..(n0 + r + 1) * k], sc[n0 + r], &mut out[r * k..(r + 1) * k]);
                }
            }
            Weights::Blocks(f, w) => {
                let row = k / f.block_len() * f.block_bytes();
                blockq::dequantize_into(*f, &w[n0 * row..(n0 + rows) * row], &mut out[..rows * k]);
            }
            Weights::Panels(f, w) => {
                let row = k / f.block_len() * f.block_bytes();
                blockq_panel::dequantize_into(*f, k, &w[n0 * row..(n0 + rows) * row], &mut out[..rows * k]);
            }
            Weights::Int8Panels(w, sc, _) => {
                Weights::Panels(BlockFormat::Q8_0, w).widen_rows(n0, rows, k, out);
                for (r, o) in out[..rows * k].chunks_exact_mut(k).enumerate() {
                    o.iter_mut().for_each(|v| *v *= sc[n0 + r]);
                }
            }
        }
    }
}

/// Rows of weights converted per GEMM call when M is large (large enough that the GEMM, not
/// its set-up, dominates at 2 threads).
const ROW_BLOCK: usize = 1024;
/// Up to this many rows of `x`, stream the weights with dot products.
const STREAM_MAX_M: usize = 4;

/// `out [M, N] = x [M, K] * W^T` with low-precision `W [N, K]`.
///
/// # Panics
/// When the slices do not hold the given sizes (callers validate shapes first).
pub fn matmul_lowp(x: &[f32], m: usize, k: usize, w: Weights<'_>, n: usize, out: &mut [f32]) {
    assert!(x.len() >= m * k && w.len() >= n * k && out.len() >= m * n, "matmul_lowp: slices too short");
    if let Weights::Int8(_, sc) = w {
        assert!(sc.len() >= n, "matmul_lowp: one scale per output row");
    }
    if let Weights::Blocks(f, _) | Weights::Panels(f, _) = w {
        assert!(k.is_multiple_of(f.block_len()), "matmul_lowp: rows hold whole blocks");
    }
    if let Weights::Int8Panels(_, sc, sums) = w {
        assert!(k.is_multiple_of(32) && sc.len() >= n && sums.len() >= n, "matmul_lowp: int8 panel rows");
    }
    if m == 0 || n == 0 {
        return;
    }
    // int8 panels: one row streams through the Q8_0 panel kernel below (10% faster at M = 1);
    // from two rows the int8 GEMM wins ([M, 768] x [3072, 768]ᵀ and back, one thread: 0.21 ms
    // at M = 2, 0.22 at 4, where the streamed kernel took 0.31-0.35).
    if let (Weights::Int8Panels(b, sc, sums), true) = (w, m > 1) {
        int8_prompt(x, m, k, b, sc, sums, n, out);
        return;
    }
    // Streamed: decode rows, and panels at every M (their integer products beat the f32
    // GEMM for prompts too). The output columns are split across threads, each streaming its
    // own weight rows (whole panels of 16).
    if m <= STREAM_MAX_M || matches!(w, Weights::Panels(..) | Weights::Int8Panels(..)) {
        // Block formats multiply in integers with the activations quantised once per row (per
        // block of 32 for the block formats, one scale per row for int8 panels).
        let xq: Vec<QuantizedRow> = match w {
            Weights::Blocks(..) | Weights::Panels(..) => quantize_each(x, m, k, QuantizedRow::assign),
            // Decode rows on int8 panels take the Q8_0 panel kernel (per-block activation
            // scales): it streams the weights faster at M = 1 (measured); prompts take the int8
            // GEMM (`int8_prompt`).
            Weights::Int8Panels(..) => quantize_each(x, m, k, QuantizedRow::assign),
            _ => vec![],
        };
        let cols_per_block = (threads::PARALLEL_MIN_WORK / (k * m).max(1)).max(16).next_multiple_of(16);
        // Column-major temp [N, M] so each block of columns is a contiguous slice.
        let mut tmp = vec![0.0f32; m * n];
        threads::for_each_block_mut(&mut tmp, cols_per_block * m, |blk, chunk| {
            let n0 = blk * cols_per_block;
            let cols = chunk.len() / m;
            // `dot(i, part)`: activation row `i` times the chunk's weight rows, into `part`.
            let by_row = |chunk: &mut [f32], dot: &dyn Fn(usize, &mut [f32])| {
                let mut part = vec![0.0f32; cols];
                for i in 0..m {
                    dot(i, &mut part);
                    for (j, v) in part.iter().enumerate() {
                        chunk[j * m + i] = *v;
                    }
                }
            };
            let xi = |i: usize| &x[i * k..(i + 1) * k];
            match w {
                Weights::Panels(f, b) => {
                    let row = k / f.block_len() * f.block_bytes();
                    blockq_panel::matmul(f, &xq, &b[n0 * row..(n0 + cols) * row], chunk)
                }
                Weights::Int8Panels(b, sc, _) => {
                    let row = k / 32 * 34;
                    // The panels' block scales are 1: the row scales multiply the sums.
                    blockq_panel::matmul(BlockFormat::Q8_0, &xq, &b[n0 * row..(n0 + cols) * row], chunk);
                    for (o, s) in chunk.chunks_exact_mut(m).zip(&sc[n0..n0 + cols]) {
                        o.iter_mut().for_each(|v| *v *= s);
                    }
                }
                Weights::Blocks(f, b) => {
                    let row = k / f.block_len() * f.block_bytes();
                    let rows = &b[n0 * row..(n0 + cols) * row];
                    by_row(chunk, &|i, part| blockq_int::dot_rows(f, &xq[i], rows, part))
                }
                Weights::Bf16(wb) => by_row(chunk, &|i, part| {
                    for (j, o) in part.iter_mut().enumerate() {
                        dot_bf16_into(xi(i), &wb[(n0 + j) * k..(n0 + j + 1) * k], o);
                    }
                }),
                Weights::Int8(wi, sc) => by_row(chunk, &|i, part| {
                    for (j, o) in part.iter_mut().enumerate() {
                        dot_i8_into(xi(i), &wi[(n0 + j) * k..(n0 + j + 1) * k], o);
                        *o *= sc[n0 + j];
                    }
                }),
            }
        });
        // [N, M] -> [M, N], by rows of the output in parallel (a prompt's transpose is as large
        // as its output; serial, it would cap the 2-thread speed-up).
        let rows_per = m.div_ceil(threads::num_threads()).max(1);
        let rows_per = if m * n < threads::PARALLEL_MIN_WORK { m } else { rows_per };
        threads::for_each_block_mut(&mut out[..m * n], rows_per * n, |blk, chunk| {
            for (r, o) in chunk.chunks_exact_mut(n).enumerate() {
                let i = blk * rows_per + r;
                o.iter_mut().enumerate().for_each(|(j, o)| *o = tmp[j * m + i]);
            }
        });
        return;
    }
    if let Weights::Bf16(wb) = w {
        if crate::bf16gemm::available() {
            // out [M, N] = bf16(x) [M, K] * W^T, W read in place as a [K, N] view.
            let xb: Vec<bf16> = x[..m * k].iter().map(|&v| bf16::from_f32(v)).collect();
            let a = MatRef { data: &xb, offset: 0, rs: k, cs: 1 };
            let b = MatRef { data: wb, offset: 0, rs: 1, cs: k };
            crate::bf16gemm::matmul_bf16_f32acc(m, n, k, out, a, b, threads::num_threads());
            return;
        }
    }
    let mut scratch = vec![0.0f32; ROW_BLOCK.min(n) * k];
    let threads = threads::num_threads();
    let mut n0 = 0;
    while n0 < n {
        let rows = ROW_BLOCK.min(n - n0);
        // Convert in parallel too: serial dequantisation would cap the prompt's speed-up.
        let per = rows.div_ceil(threads.max(1)).next_multiple_of(16);
        threads::for_each_block_mut(&mut scratch[..rows * k], per * k, |blk, chunk| {
            w.widen_rows(n0 + blk * per, chunk.len() / k, k, chunk)
        });
        // out[:, n0..n0+rows] = x [M, K] * scratch^T ([K, rows] read with strides).
        matmul(
            m,
            rows,
            k,
            MatMut { data: out, offset: n0, rs: n, cs: 1 },
            MatRef { data: x, offset: 0, rs: k, cs: 1 },
            MatRef { data: &scratch, offset: 0, rs: 1, cs: k },
            false,
            threads,
        );
        n0 += rows;
    }
}

/// `out [M, N] = x W^T` for int8 panel weights and a prompt's rows: the int8 GEMM with one
/// activation scale per row (`int8_panel.rs`). Threads take blocks of whole panel pairs; each
/// block's `[M, cols]` result is contiguous in `tmp` and its rows are copied into place.
#[allow(clippy::too_many_arguments)]
fn int8_prompt(x: &[f32], m: usize, k: usize, w: &[u8], sc: &[f32], sums: &[i32], n: usize, out: &mut [f32]) {
    let xr = quantize_each(x, m, k, RowQuant::assign);
    let row = k / 32 * 34;
    let cols_per_block = (threads::PARALLEL_MIN_WORK / (k * m).max(1)).max(32).next_multiple_of(32);
    // Column blocks of N: either the whole of it (one block, written in place) or
    // `cols_per_block`-wide blocks that threads share.
    if n <= cols_per_block || threads::num_threads() == 1 {
        int8_panel::matmul(&xr, &w[..n * row], sc, sums, out, n);
        return;
    }
    let mut tmp = vec![0.0f32; m * n];
    threads::for_each_block_mut(&mut tmp, cols_per_block * m, |blk, chunk| {
        let n0 = blk * cols_per_block;
        let cols = chunk.len() / m;
        int8_panel::matmul(&xr, &w[n0 * row..(n0 + cols) * row], &sc[n0..], &sums[n0..], chunk, cols);
    });
    let rows_per = m.div_ceil(threads::num_threads()).max(1);
    threads::for_each_block_mut(&mut out[..m * n], rows_per * n, |blk, chunk| {
        for (r, o) in chunk.chunks_exact_mut(n).enumerate() {
            let i = blk * rows_per + r;
            for (n0, dst) in (0..n).step_by(cols_per_block).zip(o.chunks_mut(cols_per_block)) {
                let cols = dst.len();
                dst.copy_from_slice(&tmp[m * n0 + i * cols..m * n0 + (i + 1) * cols]);
            }
        }
    });
}

/// The `m` rows of `x` (`k` each) quantised by `assign`, rows in parallel.
fn quantize_each<T: Default + Clone + Send>(x: &[f32], m: usize, k: usize, assign: fn(&mut T, &[f32])) -> Vec<T> {
    let mut out = vec![T::default(); m];
    let per = (threads::PARALLEL_MIN_WORK / k.max(1)).max(1);
    threads::for_each_block_mut(&mut out, per, |blk, rows| {
        for (r, q) in rows.iter_mut().enumerate() {
            let i = blk * per + r;
            assign(q, &x[i * k..(i + 1) * k]);
        }
    });
    out
}

/// Per-row symmetric int8 quantisation of `w [N, K]`: `scale[n] = max|w[n, :]| / 127`.
pub fn quantize_rows_i8(w: &[f32], n: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = vec![0i8; n * k];
    let mut scales = vec![0.0f32; n];
    for r in 0..n {
        let row = &w[r * k..(r + 1) * k];
        let amax = row.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        let s = if amax > 0.0 { amax / 127.0 } else { 1.0 };
        scales[r] = s;
        for (o, &v) in q[r * k..(r + 1) * k].iter_mut().zip(row) {
            *o = (v / s).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (q, scales)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::available;
    use proptest::prelude::*;

    fn reference(x: &[f32], m: usize, k: usize, w: &[f32], n: usize) -> Vec<f64> {
        let mut o = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                o[i * n + j] = (0..k).map(|p| x[i * k + p] as f64 * w[j * k + p] as f64).sum();
            }
        }
        o
    }

    proptest! {
        #[test]
        fn dot_kernels_match_scalar_twin(x in proptest::collection::vec(-4.0f32..4.0, 0..70)) {
            let wb: Vec<bf16> = x.iter().map(|v| bf16::from_f32(v * 0.5 - 1.0)).collect();
            let wi: Vec<i8> = x.iter().map(|v| (v * 30.0) as i8).collect();
            let want_b: f64 = x.iter().zip(&wb).map(|(a, b)| *a as f64 * b.to_f64()).sum();
            let want_i: f64 = x.iter().zip(&wi).map(|(a, b)| *a as f64 * *b as f64).sum();
            let scale_b: f64 = x.iter().zip(&wb).map(|(a, b)| (*a as f64 * b.to_f64()).abs()).sum::<f64>() + 1e-3;
            let scale_i: f64 = x.iter().zip(&wi).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum::<f64>() + 1e-3;
            for isa in available() {
                let mut s = 0.0;
                dot_bf16_isa(isa, &x, &wb, &mut s);
                prop_assert!((s as f64 - want_b).abs() <= 1e-5 * scale_b);
                dot_i8_isa(isa, &x, &wi, &mut s);
                prop_assert!((s as f64 - want_i).abs() <= 1e-5 * scale_i);
            }
        }
    }

    #[test]
    fn low_precision_matmul_matches_reference_for_small_and_large_m() {
        let (k, n) = (67, 300);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0).collect();
        let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
        let wb_f: Vec<f32> = wb.iter().map(|v| v.to_f32()).collect();
        let (q, sc) = quantize_rows_i8(&w, n, k);
        let wq_f: Vec<f32> = (0..n * k).map(|i| q[i] as f32 * sc[i / k]).collect();
        for m in [1, 3, 9, 40] {
            let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0).collect();
            // Prompts (m > 4) on bf16 weights round the activations to bf16 where the CPU has
            // the bf16 GEMM.
            let bf16_x = m > STREAM_MAX_M && crate::bf16gemm::available();
            let xb: Vec<f32> = x.iter().map(|&v| if bf16_x { bf16::from_f32(v).to_f32() } else { v }).collect();
            for (weights, dense, xr) in [(Weights::Bf16(&wb), &wb_f, &xb), (Weights::Int8(&q, &sc), &wq_f, &x)] {
                let mut out = vec![f32::NAN; m * n];
                matmul_lowp(&x, m, k, weights, n, &mut out);
                for (a, b) in out.iter().zip(reference(xr, m, k, dense, n)) {
                    assert!((*a as f64 - b).abs() < 1e-3, "m={m}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn block_format_matmul_matches_its_dequantised_weights_for_small_and_large_m() {
        let (k, n) = (256, 70);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0).collect();
        for format in [BlockFormat::Q8_0, BlockFormat::Q4_0, BlockFormat::Q4_K] {
            let q = blockq::quantize(format, &w).unwrap();
            let dense = blockq::dequantize(format, &q);
            if format == BlockFormat::Q8_0 {
                // The format's definition, written out: an f16 scale times 32 int8 values.
                for (i, v) in dense.iter().enumerate() {
                    let b = &q[(i / 32) * 34..(i / 32 + 1) * 34];
                    assert_eq!(*v, half::f16::from_le_bytes([b[0], b[1]]).to_f32() * b[2 + i % 32] as i8 as f32);
                }
            }
            // Row-major blocks and, for the formats with them, panels of 16 rows (4 + a tail).
            let panels = blockq_panel::repack(format, &q, n, k);
            let layouts = [Some(Weights::Blocks(format, &q)), panels.as_deref().map(|p| Weights::Panels(format, p))];
            for (m, weights) in [1, 2, 9].into_iter().flat_map(|m| layouts.iter().flatten().map(move |w| (m, *w))) {
                let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0).collect();
                let mut out = vec![f32::NAN; m * n];
                matmul_lowp(&x, m, k, weights, n, &mut out);
                // Decode rows (m <= STREAM_MAX_M), and panels at every m, multiply
                // int8-quantised activations: the reference takes the activations as
                // quantised; larger m on row-major blocks is exact.
                let xs: Vec<f32> = match m <= STREAM_MAX_M || matches!(weights, Weights::Panels(..)) {
                    true => x.chunks(k).flat_map(|r| QuantizedRow::new(r).values()).collect(),
                    false => x.clone(),
                };
                for (a, b) in out.iter().zip(reference(&xs, m, k, &dense, n)) {
                    assert!((*a as f64 - b).abs() < 1e-3, "{format:?} m={m}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn int8_panel_matmul_matches_its_weights_for_decode_and_prompt_rows() {
        // Weights int8 per row in unit-scale Q8_0 panels (4 panels + a tail of 6 rows): decode
        // rows multiply activations quantised per block of 32, prompts per row.
        let (k, n) = (96, 70);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0).collect();
        let (q, sc) = quantize_rows_i8(&w, n, k);
        let dense: Vec<f32> = (0..n * k).map(|i| q[i] as f32 * sc[i / k]).collect();
        let one = half::f16::ONE.to_bits().to_le_bytes();
        let blocks: Vec<u8> =
            q.chunks_exact(32).flat_map(|c| one.into_iter().chain(c.iter().map(|&b| b as u8))).collect();
        let panels = blockq_panel::repack(BlockFormat::Q8_0, &blocks, n, k).unwrap();
        let sums = int8_panel::row_sums(&panels, k);
        for m in [1, 4, 5, 9, 40] {
            let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0).collect();
            let mut out = vec![f32::NAN; m * n];
            matmul_lowp(&x, m, k, Weights::Int8Panels(&panels, &sc, &sums), n, &mut out);
            let xs: Vec<f32> = match m <= STREAM_MAX_M {
                true => x.chunks(k).flat_map(|r| QuantizedRow::new(r).values()).collect(),
                false => x
                    .chunks(k)
                    .flat_map(|r| {
                        RowQuant::new(r).q.iter().map(|&c| c as f32 * RowQuant::new(r).scale).collect::<Vec<_>>()
                    })
                    .collect(),
            };
            for (a, b) in out.iter().zip(reference(&xs, m, k, &dense, n)) {
                assert!((*a as f64 - b).abs() < 1e-3, "m={m}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn int8_quantisation_error_is_bounded_by_half_a_step() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 0.0, 0.0];
        let (q, sc) = quantize_rows_i8(&w, 2, 3);
        assert_eq!(q[1], -127);
        for i in 0..3 {
            assert!((q[i] as f32 * sc[0] - w[i]).abs() <= sc[0] / 2.0 + 1e-7);
        }
        assert_eq!(sc[1], 1.0, "an all-zero row gets scale 1");
    }
}
