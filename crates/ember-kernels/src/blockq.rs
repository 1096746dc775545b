//! llama.cpp's block-quantised weight formats (GGUF's tensor types): their layouts,
//! dequantisation, and quantisers for the formats Ember writes.
//!
//! Layouts (ggml-quants; Ember's reading is checked against the `gguf` Python package's
//! dequantisation in `ember-io/tests/gguf.rs`):
//!
//! - `Q8_0`: blocks of 32: f16 scale `d`, 32 i8 `q`; `x = d * q`.
//! - `Q4_0`: blocks of 32: f16 `d`, 16 bytes; value `j < 16` is the low nibble of byte `j`,
//!   value `j + 16` its high nibble; `x = d * (q - 8)`.
//! - `Q4_1`: as `Q4_0` with an f16 minimum `m` after `d`; `x = d * q + m`.
//! - `Q5_0`: blocks of 32: f16 `d`, 4 bytes `qh` (bit `j` of the little-endian u32 is value
//!   `j`'s fifth bit), 16 bytes of nibbles as `Q4_0`; `x = d * (q - 16)`.
//! - `Q5_1`: as `Q5_0` with an f16 minimum `m` after `d`; `x = d * q + m`.
//! - `Q4_K`: super-blocks of 256 in 8 sub-blocks of 32: f16 `d`, f16 `dmin`, 12 bytes of
//!   6-bit scales and mins, 128 bytes of nibbles (sub-block `2i` the low nibbles of bytes
//!   `32i..32i+32`, `2i+1` the high ones); `x = d * sc * q - dmin * m`.
//! - `Q5_K`: as `Q4_K` plus 32 bytes of high bits (bit `i` of byte `l` is the fifth bit of
//!   value `l` of sub-block `i`), before the nibbles.
//! - `Q6_K`: super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 i8
//!   scales (one per 16 values), f16 `d`; `x = d * scale * (q - 32)`.
//!
//! Dequantisation is written once as portable Rust and compiled per instruction set by
//! [`simd_dispatch!`](crate::simd_dispatch); products with activations are in `blockq_int.rs`.

use crate::simd_dispatch;
use half::f16;

/// A ggml block format (ggml's names).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockFormat {
    Q8_0,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q4_K,
    Q5_K,
    Q6_K,
}

impl BlockFormat {
    /// Every format, in ggml's type order.
    pub const ALL: [BlockFormat; 8] = [
        BlockFormat::Q4_0,
        BlockFormat::Q4_1,
        BlockFormat::Q5_0,
        BlockFormat::Q5_1,
        BlockFormat::Q8_0,
        BlockFormat::Q4_K,
        BlockFormat::Q5_K,
        BlockFormat::Q6_K,
    ];

    /// ggml's name (`Q4_K`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BlockFormat::Q8_0 => "Q8_0",
            BlockFormat::Q4_0 => "Q4_0",
            BlockFormat::Q4_1 => "Q4_1",
            BlockFormat::Q5_0 => "Q5_0",
            BlockFormat::Q5_1 => "Q5_1",
            BlockFormat::Q4_K => "Q4_K",
            BlockFormat::Q5_K => "Q5_K",
            BlockFormat::Q6_K => "Q6_K",
        }
    }

    /// The format called `name` (ggml's spelling, any case).
    pub fn from_name(name: &str) -> Option<BlockFormat> {
        BlockFormat::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// ggml's type id (GGUF's tensor type field).
    pub fn ggml_type(self) -> u32 {
        match self {
            BlockFormat::Q4_0 => 2,
            BlockFormat::Q4_1 => 3,
            BlockFormat::Q5_0 => 6,
            BlockFormat::Q5_1 => 7,
            BlockFormat::Q8_0 => 8,
            BlockFormat::Q4_K => 12,
            BlockFormat::Q5_K => 13,
            BlockFormat::Q6_K => 14,
        }
    }

    /// Values per block.
    pub fn block_len(self) -> usize {
        match self {
            BlockFormat::Q8_0 | BlockFormat::Q4_0 | BlockFormat::Q4_1 | BlockFormat::Q5_0 | BlockFormat::Q5_1 => 32,
            BlockFormat::Q4_K | BlockFormat::Q5_K | BlockFormat::Q6_K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            BlockFormat::Q8_0 => 34,
            BlockFormat::Q4_0 => 18,
            BlockFormat::Q4_1 => 20,
            BlockFormat::Q5_0 => 22,
            BlockFormat::Q5_1 => 24,
            BlockFormat::Q4_K => 144,
            BlockFormat::Q5_K => 176,
            BlockFormat::Q6_K => 210,
        }
    }

    /// Bytes of `len` values (`len` a multiple of the block length), `None` on overflow.
    pub fn bytes_for(self, len: usize) -> Option<usize> {
        (len / self.block_len()).checked_mul(self.block_bytes())
    }
}

/// The little-endian f16 at byte `i` of `b`.
#[inline(always)]
pub(crate) fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// Scale and minimum of sub-block `j` (0..8) from the 12 packed bytes of a K-quant block:
/// sub-blocks 0-3 keep 6 bits in bytes 0-3 (scales) and 4-7 (mins); 4-7 take their low 4 bits
/// from bytes 8-11 and their top 2 bits from the top bits of bytes 0-7.
#[inline(always)]
pub(crate) fn scale_min_k4(j: usize, s: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((s[j] & 63) as f32, (s[j + 4] & 63) as f32)
    } else {
        let sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        let m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        (sc as f32, m as f32)
    }
}

/// Q6_K value `l` (0..32) of run `t` (0..4) in one half of a super-block, before `- 32`.
#[inline(always)]
fn q6_value(ql: &[u8], qh: &[u8], t: usize, l: usize) -> u8 {
    let lo = (ql[32 * (t % 2) + l] >> (4 * (t / 2))) & 0xF;
    let hi = (qh[l] >> (2 * t)) & 3;
    lo | (hi << 4)
}

// ---- dequantisation ------------------------------------------------------------------------

#[inline(always)]
fn dequant_body(format: BlockFormat, w: &[u8], out: &mut [f32]) {
    let blocks = w.chunks_exact(format.block_bytes()).zip(out.chunks_exact_mut(format.block_len()));
    match format {
        BlockFormat::Q8_0 => {
            for (b, o) in blocks {
                let d = f16_at(b, 0);
                for (v, &q) in o.iter_mut().zip(&b[2..34]) {
                    *v = d * q as i8 as f32;
                }
            }
        }
        BlockFormat::Q4_0 | BlockFormat::Q4_1 => {
            let (off, has_min) = if format == BlockFormat::Q4_1 { (4, true) } else { (2, false) };
            for (b, o) in blocks {
                let d = f16_at(b, 0);
                let (mul, add) = if has_min { (d, f16_at(b, 2)) } else { (d, -8.0 * d) };
                let q = &b[off..off + 16];
                for i in 0..16 {
                    o[i] = mul * (q[i] & 0xF) as f32 + add;
                    o[i + 16] = mul * (q[i] >> 4) as f32 + add;
                }
            }
        }
        BlockFormat::Q5_0 | BlockFormat::Q5_1 => {
            let (off, has_min) = if format == BlockFormat::Q5_1 { (4, true) } else { (2, false) };
            for (b, o) in blocks {
                let d = f16_at(b, 0);
                let (mul, add) = if has_min { (d, f16_at(b, 2)) } else { (d, -16.0 * d) };
                let qh = u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);
                let q = &b[off + 4..off + 20];
                for i in 0..16 {
                    let (h0, h1) = (((qh >> i) & 1) << 4, ((qh >> (i + 16)) & 1) << 4);
                    o[i] = mul * ((q[i] & 0xF) as u32 | h0) as f32 + add;
                    o[i + 16] = mul * ((q[i] >> 4) as u32 | h1) as f32 + add;
                }
            }
        }
        BlockFormat::Q4_K | BlockFormat::Q5_K => {
            let five = format == BlockFormat::Q5_K;
            for (b, o) in blocks {
                let (d, dmin, s) = (f16_at(b, 0), f16_at(b, 2), &b[4..16]);
                let (qh, qs) = if five { (&b[16..48], &b[48..176]) } else { (&b[0..0], &b[16..144]) };
                for j in 0..8 {
                    let (sc, m) = scale_min_k4(j, s);
                    let (mul, sub) = (d * sc, dmin * m);
                    let (chunk, shift) = (&qs[(j / 2) * 32..(j / 2) * 32 + 32], 4 * (j % 2));
                    for l in 0..32 {
                        let mut q = (chunk[l] >> shift) & 0xF;
                        if five {
                            q |= ((qh[l] >> j) & 1) << 4;
                        }
                        o[j * 32 + l] = mul * q as f32 - sub;
                    }
                }
            }
        }
        BlockFormat::Q6_K => {
            for (b, o) in blocks {
                let d = f16_at(b, 208);
                for half in 0..2 {
                    let (ql, qh) = (&b[half * 64..half * 64 + 64], &b[128 + half * 32..128 + half * 32 + 32]);
                    for t in 0..4 {
                        for l in 0..32 {
                            let s = d * b[192 + half * 8 + t * 2 + l / 16] as i8 as f32;
                            o[half * 128 + t * 32 + l] = s * (q6_value(ql, qh, t, l) as f32 - 32.0);
                        }
                    }
                }
            }
        }
    }
}

simd_dispatch!(fn dequant / dequant_isa(format: BlockFormat, w: &[u8], out: &mut [f32]) => dequant_body);

/// Dequantises whole blocks `w` into `out` (`out.len()` values: as many as the blocks hold).
pub fn dequantize_into(format: BlockFormat, w: &[u8], out: &mut [f32]) {
    dequant(format, w, out);
}

/// The values of whole blocks `w`.
pub fn dequantize(format: BlockFormat, w: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; w.len() / format.block_bytes() * format.block_len()];
    dequant(format, w, &mut out);
    out
}

// ---- quantisation --------------------------------------------------------------------------

/// Quantises `w` (a multiple of the block length) to `format`; `None` for a format Ember does
/// not write (it writes Q8_0, Q4_0 and Q4_K).
pub fn quantize(format: BlockFormat, w: &[f32]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(format.bytes_for(w.len())?);
    let blocks = w.chunks_exact(format.block_len());
    match format {
        BlockFormat::Q8_0 => blocks.for_each(|b| quantize_q8_0_block(b, &mut out)),
        BlockFormat::Q4_0 => blocks.for_each(|b| quantize_q4_0_block(b, &mut out)),
        BlockFormat::Q4_K => blocks.for_each(|b| quantize_q4_k_block(b, &mut out)),
        _ => return None,
    }
    Some(out)
}

fn push_f16(out: &mut Vec<u8>, v: f32) -> f32 {
    let h = f16::from_f32(v);
    out.extend_from_slice(&h.to_bits().to_le_bytes());
    h.to_f32()
}

/// The smallest f16 at least `v` (`v >= 0`), so a step rounded to f16 never shrinks.
fn f16_ceil(v: f32) -> f32 {
    let h = f16::from_f32(v);
    if h.to_f32() < v {
        f16::from_bits(h.to_bits() + 1).to_f32()
    } else {
        h.to_f32()
    }
}

/// llama.cpp's rule: `d = max|x| / 127`, `q = round(x / d)`.
fn quantize_q8_0_block(b: &[f32], out: &mut Vec<u8>) {
    let amax = b.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    out.extend(b.iter().map(|&v| (v * id).round().clamp(-127.0, 127.0) as i8 as u8));
}

/// llama.cpp's rule: the value of largest magnitude maps to -8 (`d = max / -8`), the rest to
/// `min(15, floor(x / d + 8.5))`.
fn quantize_q4_0_block(b: &[f32], out: &mut Vec<u8>) {
    let max = b.iter().fold(0.0f32, |a, &v| if v.abs() > a.abs() { v } else { a });
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    let q = |v: f32| ((v * id + 8.5) as i32).clamp(0, 15) as u8;
    out.extend((0..16).map(|i| q(b[i]) | (q(b[i + 16]) << 4)));
}

/// Each sub-block of 32 gets the minimum `-m` (clamped to at most 0) and a step covering its
/// range in 15 steps; mins and steps are stored as 6-bit multiples of the super-block's `dmin`
/// and `d`, rounded up so every value stays in range.
fn quantize_q4_k_block(b: &[f32], out: &mut Vec<u8>) {
    let sub = |j: usize| &b[j * 32..j * 32 + 32];
    let mins: [f32; 8] = std::array::from_fn(|j| -sub(j).iter().fold(0.0f32, |a, &v| a.min(v)));
    let max_min = mins.iter().fold(0.0f32, |a, &v| a.max(v));
    let dmin = f16_ceil(max_min / 63.0);
    let m_q: [u8; 8] = std::array::from_fn(|j| if dmin > 0.0 { (mins[j] / dmin).ceil().min(63.0) as u8 } else { 0 });
    let ranges: [f32; 8] = std::array::from_fn(|j| {
        let top = sub(j).iter().fold(f32::MIN, |a, &v| a.max(v));
        ((top + m_q[j] as f32 * dmin) / 15.0).max(0.0)
    });
    let d = f16_ceil(ranges.iter().fold(0.0f32, |a, &v| a.max(v)) / 63.0);
    let sc_q: [u8; 8] = std::array::from_fn(|j| if d > 0.0 { (ranges[j] / d).ceil().min(63.0) as u8 } else { 0 });
    push_f16(out, d);
    push_f16(out, dmin);
    let mut s = [0u8; 12];
    for j in 0..4 {
        s[j] = sc_q[j] | ((sc_q[j + 4] >> 4) << 6);
        s[j + 4] = m_q[j] | ((m_q[j + 4] >> 4) << 6);
        s[j + 8] = (sc_q[j + 4] & 0xF) | ((m_q[j + 4] & 0xF) << 4);
    }
    out.extend_from_slice(&s);
    let q: Vec<u8> = (0..256)
        .map(|i| {
            let (mul, shift) = (d * sc_q[i / 32] as f32, dmin * m_q[i / 32] as f32);
            if mul > 0.0 {
                ((b[i] + shift) / mul).round().clamp(0.0, 15.0) as u8
            } else {
                0
            }
        })
        .collect();
    for p in 0..4 {
        out.extend((0..32).map(|l| q[p * 64 + l] | (q[p * 64 + 32 + l] << 4)));
    }
}

/// Blocks for the kernels' tests.
#[cfg(test)]
pub(crate) mod test_blocks {
    use super::BlockFormat;
    use half::f16;

    /// Where a block's f16 scales (and minimum) sit.
    pub fn scale_offsets(format: BlockFormat) -> &'static [usize] {
        match format {
            BlockFormat::Q6_K => &[208],
            BlockFormat::Q4_1 | BlockFormat::Q5_1 | BlockFormat::Q4_K | BlockFormat::Q5_K => &[0, 2],
            _ => &[0],
        }
    }

    /// Sets every block's scales to `v`.
    pub fn set_scales(format: BlockFormat, bytes: &mut [u8], v: f32) {
        let scale = f16::from_f32(v).to_bits().to_le_bytes();
        for blk in bytes.chunks_exact_mut(format.block_bytes()) {
            for &i in scale_offsets(format) {
                blk[i..i + 2].copy_from_slice(&scale);
            }
        }
    }

    /// Deterministic pseudo-random blocks with small sane f16 scales.
    pub fn random_blocks(format: BlockFormat, blocks: usize, seed: u64) -> Vec<u8> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut b: Vec<u8> = (0..blocks * format.block_bytes())
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect();
        set_scales(format, &mut b, 0.03);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::test_blocks::random_blocks;
    use super::*;
    use crate::isa::available;

    #[test]
    fn dequantisation_is_the_same_on_every_isa() {
        for format in BlockFormat::ALL {
            let row = random_blocks(format, 2 * 256 / format.block_len(), format.ggml_type().into());
            let portable = dequantize(format, &row);
            assert_eq!(portable.len(), 512);
            assert!(portable.iter().all(|v| v.is_finite()));
            for isa in available() {
                let mut d = vec![f32::NAN; 512];
                dequant_isa(isa, format, &row, &mut d);
                assert_eq!(d, portable, "{format:?} {isa:?} dequantisation");
            }
        }
    }

    #[test]
    fn quantisers_round_trip_within_their_step() {
        let w: Vec<f32> = (0..1024).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0 + (i % 7) as f32 * 0.01).collect();
        for (format, worst) in
            [(BlockFormat::Q8_0, 0.5 / 127.0), (BlockFormat::Q4_0, 0.5 / 7.0), (BlockFormat::Q4_K, 0.6 / 15.0)]
        {
            let q = quantize(format, &w).unwrap();
            assert_eq!(q.len(), format.bytes_for(w.len()).unwrap());
            let back = dequantize(format, &q);
            for (blk, (a, b)) in
                w.chunks(format.block_len()).zip(back.chunks(format.block_len()).zip(w.chunks(format.block_len())))
            {
                let range = blk.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0;
                for (x, y) in a.iter().zip(b) {
                    // Error at most about half a step of the block's range (plus f16 rounding).
                    assert!((x - y).abs() <= worst * range * 1.02 + 1e-3, "{format:?}: {x} vs {y}");
                }
            }
        }
        assert!(quantize(BlockFormat::Q6_K, &w).is_none());
        // All-zero blocks stay zero.
        for format in [BlockFormat::Q8_0, BlockFormat::Q4_0, BlockFormat::Q4_K] {
            assert!(dequantize(format, &quantize(format, &[0.0; 256]).unwrap()).iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn q4_k_scales_pack_as_the_reader_unpacks_them() {
        // Distinct 6-bit scales and mins per sub-block, read back through scale_min_k4.
        let mut w = vec![0.0f32; 256];
        for j in 0..8 {
            for l in 0..32 {
                w[j * 32 + l] = (l as f32 / 31.0) * (j + 1) as f32 - j as f32 * 0.5;
            }
        }
        let q = quantize(BlockFormat::Q4_K, &w).unwrap();
        let (d, dmin) = (f16_at(&q, 0), f16_at(&q, 2));
        for j in 0..8 {
            let (sc, m) = scale_min_k4(j, &q[4..16]);
            assert!((m * dmin - j as f32 * 0.5).abs() <= dmin, "sub-block {j} min");
            assert!(sc * d * 15.0 >= (j + 1) as f32 - 1e-3, "sub-block {j} range");
        }
    }
}
