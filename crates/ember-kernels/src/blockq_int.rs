//! Integer dot products of block-quantised weights with int8-quantised activations: the decode
//! path of the block formats (llama.cpp's method).
//!
//! Converting every weight to f32 costs more than streaming it: a 4-bit weight is a fraction
//! of a byte, but its f32 product is a full vector lane. Instead the activation row is
//! quantised once per product (per block of 32: `d = max|x| / 127`, `q = round(x / d)`, with
//! the integer sums of each half-block), and each weight block is multiplied with it in
//! integers: `maddubs` multiplies unsigned weight codes by signed activations and adds pairs,
//! `madd` widens to i32, and one f32 FMA per block applies both scales. The offsets of the
//! formats (`q - 8`, `q - 32`, the K-quants' minimums) come out of the sums as scalars.
//! The error is the activation's rounding, as in llama.cpp; prompts (many rows) take the
//! exact dequantise-and-GEMM path instead.
//!
//! x86-64 runs AVX2 code (on AVX-512 machines too: these loops are bound by loads and
//! shuffles, not by vector width); elsewhere, or with `EMBER_ISA=scalar`, portable code with
//! the same arithmetic.

use crate::blockq::{f16_at, scale_min_k4, BlockFormat};
use crate::isa::Isa;

/// One activation row quantised per block of 32.
#[derive(Clone, Debug, Default)]
pub struct QuantizedRow {
    /// The int8 codes, `x.len()` of them.
    pub q: Vec<i8>,
    /// The codes plus 128, as unsigned bytes (`vpdpbusd` multiplies unsigned by signed).
    pub qu: Vec<u8>,
    /// One scale per block of 32.
    pub d: Vec<f32>,
    /// The sum of the codes of each half-block of 16.
    pub sum16: Vec<i32>,
    /// `d` times those sums: the half-blocks' values summed, as the formats' offsets need them.
    pub dsum16: Vec<f32>,
}

impl QuantizedRow {
    /// Quantises `x` (a multiple of 32 long).
    pub fn new(x: &[f32]) -> QuantizedRow {
        let mut r = QuantizedRow::default();
        r.assign(x);
        r
    }

    /// Quantises `x` into this row's buffers (reused across calls).
    pub fn assign(&mut self, x: &[f32]) {
        let nb = x.len() / 32;
        self.q.resize(nb * 32, 0);
        self.d.resize(nb, 0.0);
        quantize_blocks(&x[..nb * 32], &mut self.q, &mut self.d);
        self.qu.clear();
        self.qu.extend(self.q.iter().map(|&v| v as u8 ^ 0x80));
        self.sum16.clear();
        self.dsum16.clear();
        for (b, q) in self.q.chunks_exact(16).enumerate() {
            let s: i32 = q.iter().map(|&v| v as i32).sum();
            self.sum16.push(s);
            self.dsum16.push(self.d[b / 2] * s as f32);
        }
    }

    /// The activations as quantised: each code times its block's scale (what the integer
    /// products multiply, for references in tests).
    pub fn values(&self) -> Vec<f32> {
        self.q.iter().enumerate().map(|(i, &q)| q as f32 * self.d[i / 32]).collect()
    }

    fn sum32(&self, b: usize) -> f32 {
        (self.sum16[2 * b] + self.sum16[2 * b + 1]) as f32
    }
}

/// Blocks of 32 of `x` to int8 codes `q` and scales `d = max|x| / 127` (ties to even, as
/// llama.cpp's vector code rounds).
#[inline(always)]
fn quantize_blocks_body(x: &[f32], q: &mut [i8], d: &mut [f32]) {
    for ((b, q), d) in x.chunks_exact(32).zip(q.chunks_exact_mut(32)).zip(d.iter_mut()) {
        let amax = b.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        *d = amax / 127.0;
        let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        for (q, &v) in q.iter_mut().zip(b) {
            *q = (v * id).round_ties_even() as i8;
        }
    }
}

crate::simd_dispatch!(fn quantize_blocks / quantize_blocks_isa(x: &[f32], q: &mut [i8], d: &mut [f32]) => quantize_blocks_body);

/// `out[r] = x . row r` for `out.len()` consecutive rows of blocks in `rows`, `x` quantised;
/// instruction set `isa` (capped by what the CPU has).
///
/// # Panics
/// When `rows` does not hold exactly `out.len()` rows of blocks of `x.q.len()` values.
pub fn dot_rows_isa(isa: Isa, format: BlockFormat, x: &QuantizedRow, rows: &[u8], out: &mut [f32]) {
    let row_bytes = x.q.len() / format.block_len() * format.block_bytes();
    assert!(
        x.q.len().is_multiple_of(format.block_len()) && Some(rows.len()) == row_bytes.checked_mul(out.len()),
        "blockq_int::dot_rows: {} bytes of {} blocks are not {} rows of {} activations",
        rows.len(),
        format.name(),
        out.len(),
        x.q.len()
    );
    if row_bytes == 0 {
        out.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa.min(crate::isa::best()) >= Isa::Avx2 && avx2::f16c() {
        // SAFETY: AVX2, FMA (`best()` is at least AVX2 only after run-time detection) and
        // F16C were detected at run time, and the assert above gives every kernel the lengths
        // it indexes: whole rows of whole blocks, each matching `x`.
        unsafe {
            match format {
                BlockFormat::Q8_0 => avx2::rows_q8_0(x, rows, row_bytes, out),
                BlockFormat::Q4_0 => avx2::rows_q4_0(x, rows, row_bytes, out),
                BlockFormat::Q4_1 => avx2::rows_q4_1(x, rows, row_bytes, out),
                BlockFormat::Q5_0 => avx2::rows_q5_0(x, rows, row_bytes, out),
                BlockFormat::Q5_1 => avx2::rows_q5_1(x, rows, row_bytes, out),
                BlockFormat::Q4_K => avx2::rows_q4_k(x, rows, row_bytes, out),
                BlockFormat::Q5_K => avx2::rows_q5_k(x, rows, row_bytes, out),
                BlockFormat::Q6_K => avx2::rows_q6_k(x, rows, row_bytes, out),
            }
        }
        return;
    }
    let _ = isa;
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(row_bytes)) {
        *o = portable(format, x, row);
    }
}

/// [`dot_rows_isa`] on the best instruction set here.
#[inline]
pub fn dot_rows(format: BlockFormat, x: &QuantizedRow, rows: &[u8], out: &mut [f32]) {
    dot_rows_isa(crate::isa::isa(), format, x, rows, out)
}

/// `x . row` for one row of blocks, on instruction set `isa`.
pub fn dot_isa(isa: Isa, format: BlockFormat, x: &QuantizedRow, row: &[u8]) -> f32 {
    let mut out = [0.0];
    dot_rows_isa(isa, format, x, row, &mut out);
    out[0]
}

/// Integer dot of 32 weight codes with activation block `b`.
#[inline(always)]
fn idot(codes: impl Iterator<Item = i32>, x: &QuantizedRow, b: usize) -> f32 {
    codes.zip(&x.q[b * 32..b * 32 + 32]).map(|(w, &q)| w * q as i32).sum::<i32>() as f32
}

fn portable(format: BlockFormat, x: &QuantizedRow, row: &[u8]) -> f32 {
    let mut acc = 0.0f32;
    for (i, blk) in row.chunks_exact(format.block_bytes()).enumerate() {
        match format {
            BlockFormat::Q8_0 => {
                acc += f16_at(blk, 0) * x.d[i] * idot(blk[2..34].iter().map(|&v| v as i8 as i32), x, i)
            }
            BlockFormat::Q4_0 | BlockFormat::Q4_1 | BlockFormat::Q5_0 | BlockFormat::Q5_1 => {
                let has_min = matches!(format, BlockFormat::Q4_1 | BlockFormat::Q5_1);
                let at = if has_min { 4 } else { 2 };
                let (qh, qs) = match format {
                    BlockFormat::Q5_0 | BlockFormat::Q5_1 => {
                        (u32::from_le_bytes([blk[at], blk[at + 1], blk[at + 2], blk[at + 3]]), &blk[at + 4..at + 20])
                    }
                    _ => (0, &blk[at..at + 16]),
                };
                let nib = qs.iter().map(|&v| (v & 0xF) as i32).chain(qs.iter().map(|&v| (v >> 4) as i32));
                let codes = nib.enumerate().map(|(j, v)| v | (((qh >> j) & 1) << 4) as i32);
                let d = f16_at(blk, 0) * x.d[i];
                acc += d * idot(codes, x, i);
                acc += match format {
                    BlockFormat::Q4_0 => -8.0 * d * x.sum32(i),
                    BlockFormat::Q5_0 => -16.0 * d * x.sum32(i),
                    _ => f16_at(blk, 2) * x.d[i] * x.sum32(i),
                };
            }
            BlockFormat::Q4_K | BlockFormat::Q5_K => {
                let (d, dmin, s) = (f16_at(blk, 0), f16_at(blk, 2), &blk[4..16]);
                let (qh, qs) = match format {
                    BlockFormat::Q5_K => (&blk[16..48], &blk[48..176]),
                    _ => (&blk[0..0], &blk[16..144]),
                };
                for j in 0..8 {
                    let b = i * 8 + j;
                    let (sc, m) = scale_min_k4(j, s);
                    let chunk = &qs[(j / 2) * 32..(j / 2) * 32 + 32];
                    let codes = (0..32).map(|l| {
                        let hi = if qh.is_empty() { 0 } else { ((qh[l] >> j) & 1) << 4 };
                        (((chunk[l] >> (4 * (j % 2))) & 0xF) | hi) as i32
                    });
                    acc += d * sc * x.d[b] * idot(codes, x, b) - dmin * m * x.d[b] * x.sum32(b);
                }
            }
            BlockFormat::Q6_K => {
                let d = f16_at(blk, 208);
                for half in 0..2 {
                    let (ql, qh) = (&blk[half * 64..half * 64 + 64], &blk[128 + half * 32..128 + half * 32 + 32]);
                    for t in 0..4 {
                        let b = i * 8 + half * 4 + t;
                        for r in 0..2 {
                            let sc = blk[192 + half * 8 + t * 2 + r] as i8 as i32;
                            let s: i32 = (0..16)
                                .map(|l| {
                                    let l = r * 16 + l;
                                    let lo = (ql[32 * (t % 2) + l] >> (4 * (t / 2))) & 0xF;
                                    let v = (lo | (((qh[l] >> (2 * t)) & 3) << 4)) as i32;
                                    v * x.q[b * 32 + l] as i32
                                })
                                .sum();
                            acc += d * x.d[b] * (sc * (s - 32 * x.sum16[2 * b + r])) as f32;
                        }
                    }
                }
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::f16c;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The kernels with AVX2 integer instructions. Each block kernel adds its block's products
    //! into one of two accumulators (two dependency chains) and its scalar offset into `off`;
    //! [`rows`] runs them over whole rows. Every function requires AVX2, FMA and F16C, and
    //! whole blocks matching `x` (checked by `dot_rows_isa`).
    use super::{scale_min_k4, QuantizedRow};
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// Whether the CPU converts f16 in hardware (every AVX2 CPU does; checked once).
    pub fn f16c() -> bool {
        static F16C: OnceLock<bool> = OnceLock::new();
        *F16C.get_or_init(|| std::arch::is_x86_feature_detected!("f16c"))
    }

    /// Defines `$name(x, w, row_bytes, out)`: block kernel `$block` (activations, the
    /// block's first byte, its index in the row, the two accumulators and the offset) run
    /// over each row of `w` into `out`, compiled with AVX2 so the block kernel inlines.
    macro_rules! rows_fn {
        ($name:ident, $block:ident, $bytes:expr) => {
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn $name(x: &QuantizedRow, w: &[u8], row_bytes: usize, out: &mut [f32]) {
                let nb = row_bytes / $bytes;
                for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
                    // Blocks in pairs, each with its own accumulators: independent chains.
                    let mut acc = [[_mm256_setzero_ps(); 2]; 2];
                    let mut off = [0.0f32; 2];
                    let p = row.as_ptr();
                    let mut i = 0;
                    while i + 1 < nb {
                        $block(x, p.add(i * $bytes), i, &mut acc[0], &mut off[0]);
                        $block(x, p.add((i + 1) * $bytes), i + 1, &mut acc[1], &mut off[1]);
                        i += 2;
                    }
                    if i < nb {
                        $block(x, p.add(i * $bytes), i, &mut acc[0], &mut off[0]);
                    }
                    let a = _mm256_add_ps(_mm256_add_ps(acc[0][0], acc[0][1]), _mm256_add_ps(acc[1][0], acc[1][1]));
                    *o = hsum(a) - (off[0] + off[1]);
                }
            }
        };
    }
    rows_fn!(rows_q8_0, q8_0, 34);
    rows_fn!(rows_q4_0, q4_0, 18);
    rows_fn!(rows_q4_1, q4_1, 20);
    rows_fn!(rows_q5_0, q5_0, 22);
    rows_fn!(rows_q5_1, q5_1, 24);
    rows_fn!(rows_q4_k, q4_k, 144);
    rows_fn!(rows_q5_k, q5_k, 176);
    rows_fn!(rows_q6_k, q6_k, 210);

    /// The f16 at `p` (F16C; the `half` crate's conversion checks for F16C on every call,
    /// which costs more than a block's arithmetic).
    #[inline(always)]
    unsafe fn f16_at(p: *const u8) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(std::ptr::read_unaligned(p as *const u16) as i32)))
    }

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// Unsigned codes `a` times signed activations `b`, 32 bytes each: 8 i32 partial sums.
    #[inline(always)]
    unsafe fn dot_u8_i8(a: __m256i, b: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))
    }

    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m256i {
        _mm256_loadu_si256(p as *const __m256i)
    }

    /// Activation block `b`'s 32 codes.
    #[inline(always)]
    unsafe fn xq(x: &QuantizedRow, b: usize) -> __m256i {
        load(x.q.as_ptr().add(b * 32) as *const u8)
    }

    #[inline(always)]
    unsafe fn fma(acc: &mut __m256, scale: f32, p: __m256i) {
        *acc = _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(p), *acc);
    }

    #[inline(always)]
    unsafe fn sum32(x: &QuantizedRow, b: usize) -> f32 {
        *x.dsum16.get_unchecked(2 * b) + *x.dsum16.get_unchecked(2 * b + 1)
    }

    #[inline(always)]
    unsafe fn q8_0(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], _: &mut f32) {
        let wv = load(blk.add(2));
        // |w| (unsigned) times x with w's sign: the signed product through maddubs.
        let p = dot_u8_i8(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xq(x, i), wv));
        fma(&mut acc[0], f16_at(blk) * *x.d.get_unchecked(i), p);
    }

    /// The 32 nibbles of a Q4_0/Q4_1 block: low nibbles (values 0..16), then high (16..32).
    #[inline(always)]
    unsafe fn nibbles16(p: *const u8) -> __m256i {
        let qs = _mm_loadu_si128(p as *const __m128i);
        let m4 = _mm_set1_epi8(0x0F);
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(qs, 4), m4), _mm_and_si128(qs, m4))
    }

    #[inline(always)]
    unsafe fn q4_0(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        let d = f16_at(blk);
        fma(&mut acc[0], d * *x.d.get_unchecked(i), dot_u8_i8(nibbles16(blk.add(2)), xq(x, i)));
        *off += 8.0 * d * sum32(x, i);
    }

    #[inline(always)]
    unsafe fn q4_1(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        fma(&mut acc[0], f16_at(blk) * *x.d.get_unchecked(i), dot_u8_i8(nibbles16(blk.add(4)), xq(x, i)));
        *off -= f16_at(blk.add(2)) * sum32(x, i);
    }

    /// The fifth bits of a Q5_0/Q5_1 block (a little-endian u32 at `p`, bit `j` for value `j`)
    /// as 16 in byte `j`.
    #[inline(always)]
    unsafe fn fifth_bits(p: *const u8) -> __m256i {
        let bits = _mm256_set1_epi32(std::ptr::read_unaligned(p as *const u32) as i32);
        // Byte j takes byte j / 8 of the u32, then tests bit j % 8: OR-ing in every other bit
        // gives all ones exactly when that bit is set.
        let spread = _mm256_shuffle_epi8(
            bits,
            _mm256_setr_epi64x(0, 0x0101_0101_0101_0101, 0x0202_0202_0202_0202, 0x0303_0303_0303_0303),
        );
        let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
        let set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1));
        _mm256_and_si256(set, _mm256_set1_epi8(16))
    }

    #[inline(always)]
    unsafe fn q5_0(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        let d = f16_at(blk);
        let codes = _mm256_or_si256(nibbles16(blk.add(6)), fifth_bits(blk.add(2)));
        fma(&mut acc[0], d * *x.d.get_unchecked(i), dot_u8_i8(codes, xq(x, i)));
        *off += 16.0 * d * sum32(x, i);
    }

    #[inline(always)]
    unsafe fn q5_1(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        let codes = _mm256_or_si256(nibbles16(blk.add(8)), fifth_bits(blk.add(4)));
        fma(&mut acc[0], f16_at(blk) * *x.d.get_unchecked(i), dot_u8_i8(codes, xq(x, i)));
        *off -= f16_at(blk.add(2)) * sum32(x, i);
    }

    /// Q4_K and Q5_K (`five`): sub-blocks in pairs sharing 32 bytes of nibbles.
    #[inline(always)]
    unsafe fn k4(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32, five: bool) {
        let m4 = _mm256_set1_epi8(0x0F);
        let (d, dmin) = (f16_at(blk), f16_at(blk.add(2)));
        let s = std::slice::from_raw_parts(blk.add(4), 12);
        let qh = if five { load(blk.add(16)) } else { _mm256_setzero_si256() };
        let qs_at = if five { 48 } else { 16 };
        for p in 0..4 {
            let qs = load(blk.add(qs_at + p * 32));
            let halves = [_mm256_and_si256(qs, m4), _mm256_and_si256(_mm256_srli_epi16(qs, 4), m4)];
            for (h, codes) in halves.into_iter().enumerate() {
                let j = 2 * p + h;
                let codes = if five {
                    // The fifth bit of each value: bit j of its qh byte, as 16.
                    let bit = _mm256_set1_epi8((1u8 << j) as i8);
                    let set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
                    _mm256_or_si256(codes, _mm256_and_si256(set, _mm256_set1_epi8(16)))
                } else {
                    codes
                };
                let b = i * 8 + j;
                let (sc, m) = scale_min_k4(j, s);
                fma(&mut acc[h], d * sc * *x.d.get_unchecked(b), dot_u8_i8(codes, xq(x, b)));
                *off += dmin * m * sum32(x, b);
            }
        }
    }

    #[inline(always)]
    unsafe fn q4_k(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        k4(x, blk, i, acc, off, false)
    }

    #[inline(always)]
    unsafe fn q5_k(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        k4(x, blk, i, acc, off, true)
    }

    #[inline(always)]
    unsafe fn q6_k(x: &QuantizedRow, blk: *const u8, i: usize, acc: &mut [__m256; 2], off: &mut f32) {
        let m4 = _mm256_set1_epi8(0x0F);
        let d = f16_at(blk.add(208));
        for half in 0..2 {
            let ql = [load(blk.add(half * 64)), load(blk.add(half * 64 + 32))];
            let qh = load(blk.add(128 + half * 32));
            for t in 0..4 {
                let lo = if t < 2 { ql[t % 2] } else { _mm256_srli_epi16(ql[t % 2], 4) };
                // Two high bits per value, masked before the shift so no bit crosses a byte.
                let hi = match t {
                    0 => qh,
                    1 => _mm256_srli_epi16(qh, 2),
                    2 => _mm256_srli_epi16(qh, 4),
                    _ => _mm256_srli_epi16(qh, 6),
                };
                let hi = _mm256_slli_epi16(_mm256_and_si256(hi, _mm256_set1_epi8(3)), 4);
                let codes = _mm256_or_si256(_mm256_and_si256(lo, m4), hi);
                let b = i * 8 + half * 4 + t;
                let (s0, s1) = (*blk.add(192 + half * 8 + t * 2) as i8, *blk.add(193 + half * 8 + t * 2) as i8);
                // Pairs 0-7 hold values 0-15 (scale s0), pairs 8-15 values 16-31 (s1).
                let scales = _mm256_set_m128i(_mm_set1_epi16(s1.into()), _mm_set1_epi16(s0.into()));
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(codes, xq(x, b)), scales);
                fma(&mut acc[t & 1], d * *x.d.get_unchecked(b), p);
                let ds = x.dsum16.get_unchecked(2 * b..2 * b + 2);
                *off += 32.0 * d * (s0 as f32 * ds[0] + s1 as f32 * ds[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockq;
    use crate::blockq::test_blocks::{random_blocks, set_scales};
    use crate::isa::available;

    #[test]
    fn integer_dots_equal_the_dot_of_the_dequantised_weights_and_activations_on_every_isa() {
        let k = 512;
        let x: Vec<f32> =
            (0..k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0 * if i % 64 < 32 { 1.0 } else { 0.01 }).collect();
        let xq = QuantizedRow::new(&x);
        // The activations as quantised: code times scale.
        let xd = xq.values();
        for (i, v) in x.iter().enumerate() {
            assert!((v - xd[i]).abs() <= xq.d[i / 32] * 0.5 + 1e-7, "activation rounding");
        }
        for format in BlockFormat::ALL {
            let row = random_blocks(format, k / format.block_len(), 7 + format.ggml_type() as u64);
            let w = blockq::dequantize(format, &row);
            let want: f64 = xd.iter().zip(&w).map(|(a, b)| *a as f64 * *b as f64).sum();
            let scale: f64 = xd.iter().zip(&w).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
            for isa in available() {
                let got = dot_isa(isa, format, &xq, &row) as f64;
                assert!((got - want).abs() <= 1e-5 * scale, "{format:?} {isa:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn extreme_codes_do_not_saturate() {
        // Every weight code at its largest magnitude and activations at +-127: the i16 pair
        // sums of maddubs must not clip.
        let k = 256;
        let x: Vec<f32> = (0..k).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let xq = QuantizedRow::new(&x);
        for format in BlockFormat::ALL {
            let mut row = vec![0xFFu8; format.bytes_for(k).unwrap()];
            if format == BlockFormat::Q8_0 {
                for blk in row.chunks_exact_mut(34) {
                    blk[2..].iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { 0x80 } else { 0x7F });
                }
            }
            set_scales(format, &mut row, 0.5);
            let w = blockq::dequantize(format, &row);
            let want: f64 = x.iter().zip(&w).map(|(a, b)| *a as f64 * *b as f64).sum();
            for isa in available() {
                let got = dot_isa(isa, format, &xq, &row) as f64;
                assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "{format:?} {isa:?}: {got} vs {want}");
            }
        }
    }
}
