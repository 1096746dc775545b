//! Q4_K and Q6_K super-blocks in panels of 16 rows (the layout and kernels behind
//! `blockq_panel` for the K-quants of llama.cpp's `Q4_K_M` files).
//!
//! As for Q4_0 (`blockq_panel.rs`), super-block column `b` of 16 rows holds exactly the bytes
//! of those 16 super-blocks, regrouped so that one 64-byte load holds four codes of every row
//! and each scale of the 16 rows loads as one vector:
//!
//! ```text
//! Q4_K (144 bytes a row): [d: 16 x f16] [dmin: 16 x f16] [scale word w of the 16 rows: 16 x u32] x 3
//!                         [codes: for chunk j in 0..4, group g in 0..8: row 0 bytes 32j+4g..+4, row 1 .., row 15]
//! Q6_K (210 bytes a row): [d: 16 x f16] [scale t of the 16 rows: 16 x i8] x 16
//!                         [low nibbles: group G in 0..32: bytes 4G..4G+4 of each row] [high bits: group G in 0..16]
//! ```
//!
//! The three words of a Q4_K row's 12 packed scale bytes unpack for 16 rows at once with
//! shifts and masks (sub-blocks 0-3 keep six bits in words 0 (scales) and 1 (mins); 4-7 take
//! four from word 2 and two from the tops of words 0 and 1). The integer sums run per
//! sub-block of 32 (Q4_K) or per scale of 16 (Q6_K), since Ember's activations carry a scale
//! per 32 (`QuantizedRow`); the code offsets (Q4_K's minimums, Q6_K's 32) come off through
//! the activations' sums.

use crate::blockq::{self, BlockFormat};
use crate::blockq_int::QuantizedRow;
use crate::blockq_panel::PANEL_ROWS;

/// Where bytes `from..from + len` of a row's block go in its panel column: the destination of
/// each run of four bytes (`None`: the format is not a K-quant with panels).
fn runs(format: BlockFormat) -> Option<&'static [(usize, usize, usize)]> {
    // (first source byte, source bytes, first panel byte); runs of 2 (f16) or 4 bytes.
    match format {
        // d, dmin, three scale words, 128 code bytes.
        BlockFormat::Q4_K => Some(&[(0, 2, 0), (2, 2, 32), (4, 4, 64), (8, 4, 128), (12, 4, 192), (16, 128, 256)]),
        // 128 low-nibble bytes, 64 high-bit bytes, 16 scales, d.
        BlockFormat::Q6_K => Some(&[(0, 128, 288), (128, 64, 2336), (192, 16, 32), (208, 2, 0)]),
        _ => None,
    }
}

/// Whether `format` is a K-quant with a panel layout here.
pub fn has_panels(format: BlockFormat) -> bool {
    runs(format).is_some()
}

/// Each byte of a row's block and its place in the panel column of row `r`.
fn places(format: BlockFormat, r: usize) -> impl Iterator<Item = (usize, usize)> {
    runs(format).unwrap_or(&[]).iter().flat_map(move |&(from, len, at)| {
        (0..len).map(move |i| match (format, len) {
            // f16s: 16 rows of 2 bytes.
            (_, 2) => (from + i, at + 2 * r + i),
            // Q6_K scales: plane per scale index.
            (BlockFormat::Q6_K, 16) => (from + i, at + PANEL_ROWS * i + r),
            // Codes and scale words: groups of four bytes, 16 rows to a group.
            _ => (from + i, at + (i / 4) * 4 * PANEL_ROWS + 4 * r + i % 4),
        })
    })
}

/// Writes row `r`'s block `blk` into panel column `col`.
pub fn pack_block(format: BlockFormat, r: usize, blk: &[u8], col: &mut [u8]) {
    for (src, dst) in places(format, r) {
        col[dst] = blk[src];
    }
}

/// Row `r`'s block, as the file stored it, from panel column `col`.
pub fn unpack_block(format: BlockFormat, col: &[u8], r: usize, blk: &mut [u8]) {
    for (src, dst) in places(format, r) {
        blk[src] = col[dst];
    }
}

/// Row `r` of a panel (`panel`: its bytes) as `out.len()` f32 values.
pub fn dequantize_row(format: BlockFormat, panel: &[u8], r: usize, out: &mut [f32]) {
    let bb = format.block_bytes();
    let mut blk = [0u8; 256];
    for (b, o) in out.chunks_exact_mut(256).enumerate() {
        unpack_block(format, &panel[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb], r, &mut blk[..bb]);
        blockq::dequantize_into(format, &blk[..bb], o);
    }
}

/// The panel product through each row's dequantised super-blocks (other CPUs,
/// `EMBER_ISA=scalar`): the weights' exact values times the activations as quantised.
pub(crate) fn portable(format: BlockFormat, x: &QuantizedRow, p: &[u8], nsb: usize, out: &mut [f32; PANEL_ROWS]) {
    let bb = format.block_bytes();
    let (mut w, mut xv) = ([0.0f32; 256], [0.0f32; 256]);
    let mut acc = [0.0f32; PANEL_ROWS];
    for b in 0..nsb {
        let col = &p[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
        // The super-block's activations as quantised (code times its block's scale).
        for (l, v) in xv.iter_mut().enumerate() {
            *v = x.q[b * 256 + l] as f32 * x.d[b * 8 + l / 32];
        }
        for (r, a) in acc.iter_mut().enumerate() {
            dequantize_row(format, col, r, &mut w);
            *a += w.iter().zip(&xv).map(|(w, x)| w * x).sum::<f32>();
        }
    }
    *out = acc;
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    //! The K-quant panel kernels, `R` activation rows at a time. Each requires the features
    //! named in its `target_feature`, `p` to hold `nsb` super-block columns of one panel and
    //! each activation row `nsb` super-blocks of 256 codes.
    use super::{QuantizedRow, PANEL_ROWS};
    use std::arch::x86_64::*;

    /// Four activation codes from code `at`, as one i32 (to broadcast).
    #[inline(always)]
    unsafe fn x4(x: &QuantizedRow, at: usize) -> i32 {
        std::ptr::read_unaligned(x.q.as_ptr().add(at) as *const i32)
    }

    /// Activation block `b`'s scale, and its values' sum (scale times the codes' sum).
    #[inline(always)]
    unsafe fn xd(x: &QuantizedRow, b: usize) -> (f32, f32) {
        (*x.d.get_unchecked(b), *x.dsum16.get_unchecked(2 * b) + *x.dsum16.get_unchecked(2 * b + 1))
    }

    /// Q4_K: sub-block `s` of row `r` is `d * sc * q - dmin * m` with codes `q` in 0..16, so
    /// `x . w = sum_s (d sc)(x_d sum q x_q) - (dmin m)(sum of x's values)`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn q4_k_vnni<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nsb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let m4 = _mm512_set1_epi8(0x0F);
        let (m6, hi2) = (_mm512_set1_epi32(0x3F3F_3F3F), _mm512_set1_epi32(0x3030_3030));
        let mut acc = [_mm512_setzero_ps(); R];
        for sb in 0..nsb {
            let col = p.add(sb * PANEL_ROWS * 144);
            let d = _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i));
            let dmin = _mm512_cvtph_ps(_mm256_loadu_si256(col.add(32) as *const __m256i));
            let w0 = _mm512_loadu_si512(col.add(64) as *const _);
            let w1 = _mm512_loadu_si512(col.add(128) as *const _);
            let w2 = _mm512_loadu_si512(col.add(192) as *const _);
            // Byte s of each lane: sub-block s's (or s + 4's) scale or minimum, per row.
            let sc_lo = _mm512_and_si512(w0, m6);
            let m_lo = _mm512_and_si512(w1, m6);
            let sc_hi = _mm512_or_si512(
                _mm512_and_si512(w2, _mm512_set1_epi8(0x0F)),
                _mm512_and_si512(_mm512_srli_epi32(w0, 2), hi2),
            );
            let m_hi = _mm512_or_si512(
                _mm512_and_si512(_mm512_srli_epi32(w2, 4), _mm512_set1_epi8(0x0F)),
                _mm512_and_si512(_mm512_srli_epi32(w1, 2), hi2),
            );
            let byte = |v: __m512i, s: u32| {
                _mm512_cvtepi32_ps(_mm512_and_si512(
                    _mm512_srlv_epi32(v, _mm512_set1_epi32(8 * s as i32)),
                    _mm512_set1_epi32(0xFF),
                ))
            };
            for j in 0..4 {
                let mut lo = [_mm512_setzero_si512(); R];
                let mut hi = [_mm512_setzero_si512(); R];
                for g in 0..8 {
                    let v = _mm512_loadu_si512(col.add(256 + 64 * (8 * j + g)) as *const _);
                    let l = _mm512_and_si512(v, m4);
                    let h = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                    for i in 0..R {
                        let at = 256 * sb + 64 * j + 4 * g;
                        lo[i] = _mm512_dpbusd_epi32(lo[i], l, _mm512_set1_epi32(x4(&xs[i], at)));
                        hi[i] = _mm512_dpbusd_epi32(hi[i], h, _mm512_set1_epi32(x4(&xs[i], at + 32)));
                    }
                }
                // Sub-blocks 2j (low nibbles) and 2j + 1 (high).
                let (s0, s1) = (2 * j as u32, 2 * j as u32 + 1);
                let (sc, mn) = if j < 2 { (sc_lo, m_lo) } else { (sc_hi, m_hi) };
                let (ds0, ds1) = (_mm512_mul_ps(d, byte(sc, s0 % 4)), _mm512_mul_ps(d, byte(sc, s1 % 4)));
                let (dm0, dm1) = (_mm512_mul_ps(dmin, byte(mn, s0 % 4)), _mm512_mul_ps(dmin, byte(mn, s1 % 4)));
                for i in 0..R {
                    let (xd0, xs0) = xd(&xs[i], 8 * sb + 2 * j);
                    let (xd1, xs1) = xd(&xs[i], 8 * sb + 2 * j + 1);
                    let mut a = acc[i];
                    a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo[i]), _mm512_mul_ps(ds0, _mm512_set1_ps(xd0)), a);
                    a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[i]), _mm512_mul_ps(ds1, _mm512_set1_ps(xd1)), a);
                    a = _mm512_fnmadd_ps(dm0, _mm512_set1_ps(xs0), a);
                    acc[i] = _mm512_fnmadd_ps(dm1, _mm512_set1_ps(xs1), a);
                }
            }
        }
        for i in 0..R {
            _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
        }
    }

    /// Q6_K: value `d * sc * (q - 32)` with codes `q` in 0..64 and a scale per 16 values; the
    /// 32 comes off as `32 * sum(x codes)` per scale.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn q6_k_vnni<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nsb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let (m4, m30) = (_mm512_set1_epi8(0x0F), _mm512_set1_epi8(0x30));
        let mut acc = [_mm512_setzero_ps(); R];
        for sb in 0..nsb {
            let col = p.add(sb * PANEL_ROWS * 210);
            let d = _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i));
            for n in 0..2 {
                for half in 0..2 {
                    // Values 128n + 32t + 16 half + (0..16) for t in 0..4: scale 8n + 2t + half.
                    let mut s = [[_mm512_setzero_si512(); 4]; R];
                    for g in 4 * half..4 * half + 4 {
                        let a = _mm512_loadu_si512(col.add(288 + 64 * (16 * n + g)) as *const _);
                        let b = _mm512_loadu_si512(col.add(288 + 64 * (16 * n + 8 + g)) as *const _);
                        let h = _mm512_loadu_si512(col.add(2336 + 64 * (8 * n + g)) as *const _);
                        let q = [
                            _mm512_or_si512(_mm512_and_si512(a, m4), _mm512_and_si512(_mm512_slli_epi16(h, 4), m30)),
                            _mm512_or_si512(_mm512_and_si512(b, m4), _mm512_and_si512(_mm512_slli_epi16(h, 2), m30)),
                            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(a, 4), m4), _mm512_and_si512(h, m30)),
                            _mm512_or_si512(
                                _mm512_and_si512(_mm512_srli_epi16(b, 4), m4),
                                _mm512_and_si512(_mm512_srli_epi16(h, 2), m30),
                            ),
                        ];
                        for i in 0..R {
                            for (t, q) in q.iter().enumerate() {
                                let x = _mm512_set1_epi32(x4(&xs[i], 256 * sb + 128 * n + 32 * t + 4 * g));
                                s[i][t] = _mm512_dpbusd_epi32(s[i][t], *q, x);
                            }
                        }
                    }
                    for t in 0..4 {
                        let idx = 8 * n + 2 * t + half;
                        let sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(col.add(32 + 16 * idx) as *const __m128i));
                        let ds = _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc));
                        let blk = 8 * sb + 4 * n + t;
                        for i in 0..R {
                            let off = 32 * *xs[i].sum16.get_unchecked(2 * blk + half);
                            let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(s[i][t], _mm512_set1_epi32(off)));
                            let xd = _mm512_set1_ps(*xs[i].d.get_unchecked(blk));
                            acc[i] = _mm512_fmadd_ps(v, _mm512_mul_ps(ds, xd), acc[i]);
                        }
                    }
                }
            }
        }
        for i in 0..R {
            _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
        }
    }

    /// [`q4_k_vnni`] with AVX2: eight rows at a time, `maddubs` pairs summed in i16 over a
    /// sub-block (at most 16 products of 15 * 127: 30480).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q4_k_avx2<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nsb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let (m4, ones) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi16(1));
        let (m6, hi2) = (_mm256_set1_epi32(0x3F3F_3F3F), _mm256_set1_epi32(0x3030_3030));
        for half in 0..2 {
            let mut acc = [_mm256_setzero_ps(); R];
            for sb in 0..nsb {
                let col = p.add(sb * PANEL_ROWS * 144);
                let d = _mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * half) as *const __m128i));
                let dmin = _mm256_cvtph_ps(_mm_loadu_si128(col.add(32 + 16 * half) as *const __m128i));
                let w0 = _mm256_loadu_si256(col.add(64 + 32 * half) as *const __m256i);
                let w1 = _mm256_loadu_si256(col.add(128 + 32 * half) as *const __m256i);
                let w2 = _mm256_loadu_si256(col.add(192 + 32 * half) as *const __m256i);
                let sc_lo = _mm256_and_si256(w0, m6);
                let m_lo = _mm256_and_si256(w1, m6);
                let sc_hi = _mm256_or_si256(_mm256_and_si256(w2, m4), _mm256_and_si256(_mm256_srli_epi32(w0, 2), hi2));
                let m_hi = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi32(w2, 4), m4),
                    _mm256_and_si256(_mm256_srli_epi32(w1, 2), hi2),
                );
                let byte = |v: __m256i, s: i32| {
                    _mm256_cvtepi32_ps(_mm256_and_si256(
                        _mm256_srl_epi32(v, _mm_cvtsi32_si128(8 * s)),
                        _mm256_set1_epi32(0xFF),
                    ))
                };
                for j in 0..4 {
                    let mut lo = [_mm256_setzero_si256(); R];
                    let mut hi = [_mm256_setzero_si256(); R];
                    for g in 0..8 {
                        let v = _mm256_loadu_si256(col.add(256 + 64 * (8 * j + g) + 32 * half) as *const __m256i);
                        let l = _mm256_and_si256(v, m4);
                        let h = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                        for i in 0..R {
                            let at = 256 * sb + 64 * j + 4 * g;
                            lo[i] = _mm256_add_epi16(lo[i], _mm256_maddubs_epi16(l, _mm256_set1_epi32(x4(&xs[i], at))));
                            hi[i] = _mm256_add_epi16(
                                hi[i],
                                _mm256_maddubs_epi16(h, _mm256_set1_epi32(x4(&xs[i], at + 32))),
                            );
                        }
                    }
                    let (s0, s1) = ((2 * j % 4) as i32, ((2 * j + 1) % 4) as i32);
                    let (sc, mn) = if j < 2 { (sc_lo, m_lo) } else { (sc_hi, m_hi) };
                    let (ds0, ds1) = (_mm256_mul_ps(d, byte(sc, s0)), _mm256_mul_ps(d, byte(sc, s1)));
                    let (dm0, dm1) = (_mm256_mul_ps(dmin, byte(mn, s0)), _mm256_mul_ps(dmin, byte(mn, s1)));
                    for i in 0..R {
                        let (xd0, xs0) = xd(&xs[i], 8 * sb + 2 * j);
                        let (xd1, xs1) = xd(&xs[i], 8 * sb + 2 * j + 1);
                        let (l, h) = (_mm256_madd_epi16(lo[i], ones), _mm256_madd_epi16(hi[i], ones));
                        let mut a = acc[i];
                        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(l), _mm256_mul_ps(ds0, _mm256_set1_ps(xd0)), a);
                        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(h), _mm256_mul_ps(ds1, _mm256_set1_ps(xd1)), a);
                        a = _mm256_fnmadd_ps(dm0, _mm256_set1_ps(xs0), a);
                        acc[i] = _mm256_fnmadd_ps(dm1, _mm256_set1_ps(xs1), a);
                    }
                }
            }
            for i in 0..R {
                _mm256_storeu_ps(out[i].as_mut_ptr().add(8 * half), acc[i]);
            }
        }
    }

    /// [`q6_k_vnni`] with AVX2: eight rows at a time; a `maddubs` pair reaches 2 * 63 * 127,
    /// so each is widened to i32 at once.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q6_k_avx2<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nsb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let (m4, m30, ones) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(0x30), _mm256_set1_epi16(1));
        for rows in 0..2 {
            let mut acc = [_mm256_setzero_ps(); R];
            for sb in 0..nsb {
                let col = p.add(sb * PANEL_ROWS * 210);
                let d = _mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * rows) as *const __m128i));
                for n in 0..2 {
                    for half in 0..2 {
                        let mut s = [[_mm256_setzero_si256(); 4]; R];
                        for g in 4 * half..4 * half + 4 {
                            let ld = |at: usize| _mm256_loadu_si256(col.add(at + 32 * rows) as *const __m256i);
                            let a = ld(288 + 64 * (16 * n + g));
                            let b = ld(288 + 64 * (16 * n + 8 + g));
                            let h = ld(2336 + 64 * (8 * n + g));
                            let q = [
                                _mm256_or_si256(
                                    _mm256_and_si256(a, m4),
                                    _mm256_and_si256(_mm256_slli_epi16(h, 4), m30),
                                ),
                                _mm256_or_si256(
                                    _mm256_and_si256(b, m4),
                                    _mm256_and_si256(_mm256_slli_epi16(h, 2), m30),
                                ),
                                _mm256_or_si256(
                                    _mm256_and_si256(_mm256_srli_epi16(a, 4), m4),
                                    _mm256_and_si256(h, m30),
                                ),
                                _mm256_or_si256(
                                    _mm256_and_si256(_mm256_srli_epi16(b, 4), m4),
                                    _mm256_and_si256(_mm256_srli_epi16(h, 2), m30),
                                ),
                            ];
                            for i in 0..R {
                                for (t, q) in q.iter().enumerate() {
                                    let x = _mm256_set1_epi32(x4(&xs[i], 256 * sb + 128 * n + 32 * t + 4 * g));
                                    let pr = _mm256_madd_epi16(_mm256_maddubs_epi16(*q, x), ones);
                                    s[i][t] = _mm256_add_epi32(s[i][t], pr);
                                }
                            }
                        }
                        for t in 0..4 {
                            let idx = 8 * n + 2 * t + half;
                            let sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(
                                col.add(32 + 16 * idx + 8 * rows) as *const __m128i
                            ));
                            let ds = _mm256_mul_ps(d, _mm256_cvtepi32_ps(sc));
                            let blk = 8 * sb + 4 * n + t;
                            for i in 0..R {
                                let off = 32 * *xs[i].sum16.get_unchecked(2 * blk + half);
                                let v = _mm256_cvtepi32_ps(_mm256_sub_epi32(s[i][t], _mm256_set1_epi32(off)));
                                let xd = _mm256_set1_ps(*xs[i].d.get_unchecked(blk));
                                acc[i] = _mm256_fmadd_ps(v, _mm256_mul_ps(ds, xd), acc[i]);
                            }
                        }
                    }
                }
            }
            for i in 0..R {
                _mm256_storeu_ps(out[i].as_mut_ptr().add(8 * rows), acc[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockq::test_blocks::random_blocks;

    #[test]
    fn a_panel_column_is_a_permutation_of_its_rows_blocks() {
        for format in [BlockFormat::Q4_K, BlockFormat::Q6_K] {
            let bb = format.block_bytes();
            // Every byte of a block has its own place in the column, inside the column.
            let mut seen = vec![false; PANEL_ROWS * bb];
            for r in 0..PANEL_ROWS {
                for (src, dst) in places(format, r) {
                    assert!(src < bb && !seen[dst], "{format:?} row {r}: byte {src} -> {dst}");
                    seen[dst] = true;
                }
            }
            assert!(seen.iter().all(|&s| s), "{format:?}: the column has unwritten bytes");
            let rows = random_blocks(format, PANEL_ROWS, 5);
            let mut col = vec![0u8; PANEL_ROWS * bb];
            for (r, blk) in rows.chunks_exact(bb).enumerate() {
                pack_block(format, r, blk, &mut col);
            }
            let mut back = vec![0u8; bb];
            for (r, blk) in rows.chunks_exact(bb).enumerate() {
                unpack_block(format, &col, r, &mut back);
                assert_eq!(back, blk, "{format:?} row {r}");
            }
        }
        assert!(!has_panels(BlockFormat::Q5_K) && !has_panels(BlockFormat::Q4_0));
    }
}
