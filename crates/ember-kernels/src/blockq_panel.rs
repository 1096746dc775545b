//! Q4_0 and Q8_0 weights repacked in panels of 16 rows, for the decode product: one pass over
//! the activation row computes 16 outputs at once.
//!
//! A row-major block costs a horizontal reduction, a scalar scale conversion and a fresh
//! activation load per row (`blockq_int.rs`). In a panel, block column `b` of 16 rows is stored
//! as their 16 f16 scales followed by their codes interleaved four bytes at a time:
//!
//! ```text
//! [d_0 .. d_15: 16 x f16] [group 0: row 0 bytes 0..4, row 1 bytes 0..4, .., row 15 bytes 0..4]
//!                         [group 1: row 0 bytes 4..8, ..] ..
//! ```
//!
//! so one 64-byte load holds four codes of each of the 16 rows, and `vpdpbusd` (AVX-512 VNNI)
//! or `maddubs` + `madd` (AVX2) multiplies them with four activation codes broadcast to every
//! lane: lane `r` accumulates row `r`'s dot product, no reduction across lanes. The scales of
//! the 16 rows convert with one `vcvtph2ps`. (llama.cpp repacks Q4_0 the same way for the
//! same reason, as `block_q4_0x8`.)
//!
//! A panel of 16 rows occupies exactly the bytes of those 16 rows in row-major order, so
//! byte offsets of whole panels are unchanged; rows after the last whole panel stay row-major
//! and go through `blockq_int::dot_rows`. Q4_0 groups hold the low nibbles (values `4g..4g+4`)
//! and high nibbles (values `16+4g..`) of bytes `4g..4g+4`, as the block stores them.

use crate::blockq::{f16_at, BlockFormat};
use crate::blockq_int::{self, QuantizedRow};
use crate::isa::Isa;

/// Rows per panel.
pub const PANEL_ROWS: usize = 16;

/// Whether `format` has a panel layout.
pub fn has_panels(format: BlockFormat) -> bool {
    matches!(format, BlockFormat::Q4_0 | BlockFormat::Q8_0)
}

/// Bytes of codes per block (after the f16 scale).
fn code_bytes(format: BlockFormat) -> usize {
    format.block_bytes() - 2
}

/// `n` rows of `k` values in row-major blocks (`rows`) repacked to panels (plus the row-major
/// tail); `None` for a format without panels.
///
/// # Panics
/// When `rows` is not `n` rows of whole blocks of `k` values.
pub fn repack(format: BlockFormat, rows: &[u8], n: usize, k: usize) -> Option<Vec<u8>> {
    if !has_panels(format) {
        return None;
    }
    let (bb, cb) = (format.block_bytes(), code_bytes(format));
    let nb = k / format.block_len();
    let row_bytes = nb * bb;
    assert!(
        k.is_multiple_of(format.block_len()) && rows.len() == n * row_bytes,
        "blockq_panel::repack: not {n} rows of {k}"
    );
    let mut out = rows.to_vec();
    for p in 0..n / PANEL_ROWS {
        let src = &rows[p * PANEL_ROWS * row_bytes..(p + 1) * PANEL_ROWS * row_bytes];
        let dst = &mut out[p * PANEL_ROWS * row_bytes..(p + 1) * PANEL_ROWS * row_bytes];
        for b in 0..nb {
            let col = &mut dst[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
            for r in 0..PANEL_ROWS {
                let blk = &src[r * row_bytes + b * bb..r * row_bytes + (b + 1) * bb];
                col[2 * r..2 * r + 2].copy_from_slice(&blk[..2]);
                for g in 0..cb / 4 {
                    let at = 2 * PANEL_ROWS + g * 4 * PANEL_ROWS + 4 * r;
                    col[at..at + 4].copy_from_slice(&blk[2 + 4 * g..6 + 4 * g]);
                }
            }
        }
    }
    Some(out)
}

/// The f32 values of `out.len() / k` rows starting at a panel boundary, from `w` (their bytes
/// in panel layout).
pub fn dequantize_into(format: BlockFormat, k: usize, w: &[u8], out: &mut [f32]) {
    let row_bytes = k / format.block_len() * format.block_bytes();
    let rows = out.len() / k.max(1);
    let whole = rows / PANEL_ROWS * PANEL_ROWS;
    for (i, o) in out[..whole * k].chunks_exact_mut(k.max(1)).enumerate() {
        dequantize_row(
            format,
            &w[i / PANEL_ROWS * PANEL_ROWS * row_bytes..][..PANEL_ROWS * row_bytes],
            i % PANEL_ROWS,
            o,
        );
    }
    crate::blockq::dequantize_into(format, &w[whole * row_bytes..rows * row_bytes], &mut out[whole * k..]);
}

/// Row `r` of one panel (`panel`: its bytes) as `out.len()` f32 values.
pub fn dequantize_row(format: BlockFormat, panel: &[u8], r: usize, out: &mut [f32]) {
    let (bb, cb) = (format.block_bytes(), code_bytes(format));
    for (b, o) in out.chunks_exact_mut(32).enumerate() {
        let col = &panel[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
        let d = f16_at(col, 2 * r);
        for g in 0..cb / 4 {
            let at = 2 * PANEL_ROWS + g * 4 * PANEL_ROWS + 4 * r;
            for (t, &c) in col[at..at + 4].iter().enumerate() {
                match format {
                    BlockFormat::Q4_0 => {
                        o[4 * g + t] = d * ((c & 15) as f32 - 8.0);
                        o[16 + 4 * g + t] = d * ((c >> 4) as f32 - 8.0);
                    }
                    _ => o[4 * g + t] = d * (c as i8) as f32,
                }
            }
        }
    }
}

/// `out[r] = x . row r` for the `out.len()` rows in `w` (panels, then the row-major tail).
///
/// # Panics
/// When `w` is not `out.len()` rows of whole blocks of `x.q.len()` values, or `format` has
/// no panels.
pub fn dot_rows_isa(isa: Isa, format: BlockFormat, x: &QuantizedRow, w: &[u8], out: &mut [f32]) {
    let k = x.q.len();
    let row_bytes = k / format.block_len() * format.block_bytes();
    assert!(
        has_panels(format) && k.is_multiple_of(format.block_len()) && Some(w.len()) == row_bytes.checked_mul(out.len()),
        "blockq_panel::dot_rows: {} bytes of {} are not {} rows of {k}",
        w.len(),
        format.name(),
        out.len()
    );
    let whole = out.len() / PANEL_ROWS * PANEL_ROWS;
    let nb = k / 32;
    let (panels, tail) = w.split_at(whole * row_bytes);
    let (out_panels, out_tail) = out.split_at_mut(whole);
    for (o, p) in out_panels.chunks_exact_mut(PANEL_ROWS).zip(panels.chunks_exact(PANEL_ROWS * row_bytes.max(1))) {
        let o: &mut [f32; PANEL_ROWS] = o.try_into().expect("chunks of PANEL_ROWS");
        panel_dot(isa, format, x, p, nb, o);
    }
    blockq_int::dot_rows_isa(isa, format, x, tail, out_tail);
}

/// [`dot_rows_isa`] on the best instruction set here.
#[inline]
pub fn dot_rows(format: BlockFormat, x: &QuantizedRow, w: &[u8], out: &mut [f32]) {
    dot_rows_isa(crate::isa::isa(), format, x, w, out)
}

/// One panel (`nb` block columns, `p` its bytes) times `x`.
fn panel_dot(isa: Isa, format: BlockFormat, x: &QuantizedRow, p: &[u8], nb: usize, out: &mut [f32; PANEL_ROWS]) {
    debug_assert!(p.len() == nb * PANEL_ROWS * format.block_bytes() && x.q.len() == nb * 32);
    #[cfg(target_arch = "x86_64")]
    {
        let isa = isa.min(crate::isa::best());
        if isa >= Isa::Avx512 && x86::vnni() {
            // SAFETY: AVX-512 F/BW and VNNI were detected at run time; `p` holds `nb` whole
            // block columns of a panel and `x` `nb` blocks (the caller's assert).
            unsafe {
                match format {
                    BlockFormat::Q4_0 => x86::q4_0_vnni(x, p.as_ptr(), nb, out),
                    _ => x86::q8_0_vnni(x, p.as_ptr(), nb, out),
                }
            }
            return;
        }
        if isa >= Isa::Avx2 && x86::f16c() {
            // SAFETY: AVX2, FMA and F16C were detected at run time; lengths as above.
            unsafe {
                match format {
                    BlockFormat::Q4_0 => x86::q4_0_avx2(x, p.as_ptr(), nb, out),
                    _ => x86::q8_0_avx2(x, p.as_ptr(), nb, out),
                }
            }
            return;
        }
    }
    let _ = isa;
    portable(format, x, p, nb, out)
}

/// The panel product in plain integer arithmetic (other CPUs, `EMBER_ISA=scalar`).
fn portable(format: BlockFormat, x: &QuantizedRow, p: &[u8], nb: usize, out: &mut [f32; PANEL_ROWS]) {
    let (bb, cb) = (format.block_bytes(), code_bytes(format));
    let mut acc = [0.0f32; PANEL_ROWS];
    for b in 0..nb {
        let col = &p[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
        let xq = &x.q[b * 32..b * 32 + 32];
        for (r, a) in acc.iter_mut().enumerate() {
            let mut s = 0i32;
            for g in 0..cb / 4 {
                let at = 2 * PANEL_ROWS + g * 4 * PANEL_ROWS + 4 * r;
                for (t, &c) in col[at..at + 4].iter().enumerate() {
                    s += match format {
                        BlockFormat::Q4_0 => {
                            ((c & 15) as i32 - 8) * xq[4 * g + t] as i32
                                + ((c >> 4) as i32 - 8) * xq[16 + 4 * g + t] as i32
                        }
                        _ => (c as i8) as i32 * xq[4 * g + t] as i32,
                    };
                }
            }
            *a += f16_at(col, 2 * r) * x.d[b] * s as f32;
        }
    }
    *out = acc;
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The panel kernels. Each requires the features named in its `target_feature`, `p` to
    //! hold `nb` block columns of one panel and `x` `nb` blocks of 32 codes.
    use super::{QuantizedRow, PANEL_ROWS};
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// Whether the CPU has AVX-512 VNNI (checked once).
    pub fn vnni() -> bool {
        static VNNI: OnceLock<bool> = OnceLock::new();
        *VNNI.get_or_init(|| std::arch::is_x86_feature_detected!("avx512vnni"))
    }

    pub(crate) use crate::blockq_int::f16c;

    /// Four activation codes of block `b` from code `at`, as one i32 broadcast to every lane.
    #[inline(always)]
    unsafe fn x4(x: &QuantizedRow, b: usize, at: usize) -> i32 {
        std::ptr::read_unaligned(x.q.as_ptr().add(b * 32 + at) as *const i32)
    }

    /// The sum of activation block `b`'s codes.
    #[inline(always)]
    unsafe fn xsum(x: &QuantizedRow, b: usize) -> i32 {
        *x.sum16.get_unchecked(2 * b) + *x.sum16.get_unchecked(2 * b + 1)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn q4_0_vnni(x: &QuantizedRow, p: *const u8, nb: usize, out: &mut [f32; PANEL_ROWS]) {
        let m4 = _mm512_set1_epi8(0x0F);
        let mut acc = [_mm512_setzero_ps(); 2];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * 18);
            // Codes 0..15 (unsigned) times activations; `- 8` comes off as 8 * sum(x).
            let (mut lo, mut hi) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            for g in 0..4 {
                let v = _mm512_loadu_si512(col.add(32 + 64 * g) as *const _);
                let l = _mm512_and_si512(v, m4);
                let h = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                lo = _mm512_dpbusd_epi32(lo, l, _mm512_set1_epi32(x4(x, b, 4 * g)));
                hi = _mm512_dpbusd_epi32(hi, h, _mm512_set1_epi32(x4(x, b, 16 + 4 * g)));
            }
            let s = _mm512_sub_epi32(_mm512_add_epi32(lo, hi), _mm512_set1_epi32(8 * xsum(x, b)));
            let d = _mm512_mul_ps(
                _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i)),
                _mm512_set1_ps(*x.d.get_unchecked(b)),
            );
            acc[b & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), d, acc[b & 1]);
        }
        _mm512_storeu_ps(out.as_mut_ptr(), _mm512_add_ps(acc[0], acc[1]));
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn q8_0_vnni(x: &QuantizedRow, p: *const u8, nb: usize, out: &mut [f32; PANEL_ROWS]) {
        // vpdpbusd multiplies unsigned by signed bytes: the activations go in offset by 128
        // (x + 128 as u8) and 128 * sum(w), counted by a second vpdpbusd, comes off.
        let flip = _mm512_set1_epi8(-128);
        let mut acc = [_mm512_setzero_ps(); 2];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * 34);
            let (mut s, mut w) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            for g in 0..8 {
                let v = _mm512_loadu_si512(col.add(32 + 64 * g) as *const _);
                let xu = _mm512_xor_si512(_mm512_set1_epi32(x4(x, b, 4 * g)), flip);
                s = _mm512_dpbusd_epi32(s, xu, v);
                w = _mm512_dpbusd_epi32(w, flip, v);
            }
            let d = _mm512_mul_ps(
                _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i)),
                _mm512_set1_ps(*x.d.get_unchecked(b)),
            );
            acc[b & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s, w)), d, acc[b & 1]);
        }
        _mm512_storeu_ps(out.as_mut_ptr(), _mm512_add_ps(acc[0], acc[1]));
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q4_0_avx2(x: &QuantizedRow, p: *const u8, nb: usize, out: &mut [f32; PANEL_ROWS]) {
        let m4 = _mm256_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); 2];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * 18);
            let xs = _mm256_set1_epi32(8 * xsum(x, b));
            let dx = _mm256_set1_ps(*x.d.get_unchecked(b));
            for (half, a) in acc.iter_mut().enumerate() {
                // Rows 8 * half .. 8 * half + 8. Each maddubs pair is at most 2 * 15 * 127,
                // so the eight of a block add up in i16 (<= 30480) before one widening madd.
                let mut s16 = _mm256_setzero_si256();
                for g in 0..4 {
                    let v = _mm256_loadu_si256(col.add(32 + 64 * g + 32 * half) as *const __m256i);
                    let l = _mm256_and_si256(v, m4);
                    let h = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(l, _mm256_set1_epi32(x4(x, b, 4 * g))));
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(h, _mm256_set1_epi32(x4(x, b, 16 + 4 * g))));
                }
                let s = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones), xs);
                let d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * half) as *const __m128i)), dx);
                *a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, *a);
            }
        }
        _mm256_storeu_ps(out.as_mut_ptr(), acc[0]);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), acc[1]);
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q8_0_avx2(x: &QuantizedRow, p: *const u8, nb: usize, out: &mut [f32; PANEL_ROWS]) {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); 2];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * 34);
            let dx = _mm256_set1_ps(*x.d.get_unchecked(b));
            for (half, a) in acc.iter_mut().enumerate() {
                let mut s = _mm256_setzero_si256();
                for g in 0..8 {
                    let v = _mm256_loadu_si256(col.add(32 + 64 * g + 32 * half) as *const __m256i);
                    // |w| (unsigned) times x with w's sign: the signed product through maddubs.
                    let xv = _mm256_sign_epi8(_mm256_set1_epi32(x4(x, b, 4 * g)), v);
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(v, v), xv), ones));
                }
                let d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * half) as *const __m128i)), dx);
                *a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, *a);
            }
        }
        _mm256_storeu_ps(out.as_mut_ptr(), acc[0]);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), acc[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockq;
    use crate::blockq::test_blocks::{random_blocks, set_scales};
    use crate::isa::available;

    /// Rows 0..n of random blocks, their panel repacking, and their f32 values.
    fn panels(format: BlockFormat, n: usize, k: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let rows = random_blocks(format, n * k / 32, seed);
        (repack(format, &rows, n, k).unwrap(), blockq::dequantize(format, &rows))
    }

    #[test]
    fn panel_dots_equal_the_dots_of_the_dequantised_rows_on_every_isa() {
        let k = 160;
        let x: Vec<f32> =
            (0..k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0 * if i % 64 < 32 { 1.0 } else { 0.02 }).collect();
        let xq = QuantizedRow::new(&x);
        let xd: Vec<f32> = (0..k).map(|i| xq.q[i] as f32 * xq.d[i / 32]).collect();
        for format in [BlockFormat::Q4_0, BlockFormat::Q8_0] {
            // Two whole panels and a row-major tail of 5 rows.
            let n = 2 * PANEL_ROWS + 5;
            let (w, dense) = panels(format, n, k, 3 + format.ggml_type() as u64);
            for isa in available() {
                let mut out = vec![f32::NAN; n];
                dot_rows_isa(isa, format, &xq, &w, &mut out);
                for (r, got) in out.iter().enumerate() {
                    let row = &dense[r * k..(r + 1) * k];
                    let want: f64 = xd.iter().zip(row).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let scale: f64 = xd.iter().zip(row).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
                    assert!((*got as f64 - want).abs() <= 1e-5 * scale, "{format:?} {isa:?} row {r}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn panels_dequantise_to_the_rows_they_were_packed_from() {
        for format in [BlockFormat::Q4_0, BlockFormat::Q8_0] {
            let (n, k) = (PANEL_ROWS + 3, 96);
            let (w, dense) = panels(format, n, k, 11);
            let mut out = vec![f32::NAN; n * k];
            dequantize_into(format, k, &w, &mut out);
            assert_eq!(out, dense, "{format:?}");
        }
        assert!(repack(BlockFormat::Q4_K, &[], 0, 256).is_none());
    }

    #[test]
    fn extreme_panel_codes_do_not_saturate() {
        // Largest-magnitude codes against activations of +-127: the i16 sums of the AVX2
        // kernel (eight maddubs pairs per block) and the offset activations of VNNI stay exact.
        let (n, k) = (PANEL_ROWS, 64);
        let x: Vec<f32> = (0..k).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let xq = QuantizedRow::new(&x);
        for format in [BlockFormat::Q4_0, BlockFormat::Q8_0] {
            let mut rows = vec![0xFFu8; n * format.bytes_for(k).unwrap()];
            if format == BlockFormat::Q8_0 {
                for blk in rows.chunks_exact_mut(34) {
                    blk[2..].iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { 0x80 } else { 0x7F });
                }
            }
            set_scales(format, &mut rows, 0.5);
            let dense = blockq::dequantize(format, &rows);
            let w = repack(format, &rows, n, k).unwrap();
            let want: f64 = x.iter().zip(&dense[..k]).map(|(a, b)| *a as f64 * *b as f64).sum();
            for isa in available() {
                let mut out = vec![0.0; n];
                dot_rows_isa(isa, format, &xq, &w, &mut out);
                assert!(
                    (out[0] as f64 - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{format:?} {isa:?}: {} vs {want}",
                    out[0]
                );
            }
        }
    }
}
