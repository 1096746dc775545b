//! Q4_0, Q5_0 and Q8_0 weights repacked in panels of 16 rows, for their products with
//! activations: one pass over an activation row computes 16 outputs at once. (Q4_K and Q6_K
//! panels, the same idea per super-block, are in `blockq_panel_k.rs`; this module dispatches.)
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
//! and high nibbles (values `16+4g..`) of bytes `4g..4g+4`, as the block stores them. Q5_0
//! panels put the 16 rows' fifth bits (one u32 per row) between the scales and the codes,
//! their bits reordered so that group `g`'s come out of one shift: bit `8t + g` is the fifth
//! bit of value `4g + t`, bit `8t + 4 + g` that of value `16 + 4g + t`.

use crate::blockq::{f16_at, BlockFormat};
use crate::blockq_int::{self, QuantizedRow};
use crate::blockq_panel_k;
use crate::isa::Isa;

/// Rows per panel.
pub const PANEL_ROWS: usize = 16;

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::vnni;

/// Whether `format` has a panel layout.
pub fn has_panels(format: BlockFormat) -> bool {
    matches!(format, BlockFormat::Q4_0 | BlockFormat::Q5_0 | BlockFormat::Q8_0) || blockq_panel_k::has_panels(format)
}

/// Where a block's code bytes start: in the block, and in a panel's block column.
fn code_offsets(format: BlockFormat) -> (usize, usize) {
    match format {
        BlockFormat::Q5_0 => (6, 2 * PANEL_ROWS + 4 * PANEL_ROWS),
        _ => (2, 2 * PANEL_ROWS),
    }
}

/// A Q5_0 block's fifth bits (`qh`, bit `j` for value `j`) in the panel order (module doc).
fn fifth_bits_to_panel(qh: u32) -> u32 {
    let mut out = 0;
    for (g, t) in (0..4).flat_map(|g| (0..4).map(move |t| (g, t))) {
        out |= ((qh >> (4 * g + t)) & 1) << (8 * t + g);
        out |= ((qh >> (16 + 4 * g + t)) & 1) << (8 * t + 4 + g);
    }
    out
}

/// Row `r`'s scale and 32 values (codes less the format's offset) in block column `col`.
fn row_values(format: BlockFormat, col: &[u8], r: usize) -> (f32, [i32; 32]) {
    let (code_src, at0) = code_offsets(format);
    let cb = format.block_bytes() - code_src;
    let qh = match format {
        BlockFormat::Q5_0 => u32::from_le_bytes(col[2 * PANEL_ROWS + 4 * r..][..4].try_into().expect("4 bytes")),
        _ => 0,
    };
    let mut v = [0i32; 32];
    for g in 0..cb / 4 {
        let at = at0 + g * 4 * PANEL_ROWS + 4 * r;
        for (t, &c) in col[at..at + 4].iter().enumerate() {
            let fifth = |bit: usize| (((qh >> bit) & 1) << 4) as i32;
            match format {
                BlockFormat::Q8_0 => v[4 * g + t] = (c as i8) as i32,
                _ => {
                    let off = if format == BlockFormat::Q5_0 { 16 } else { 8 };
                    v[4 * g + t] = ((c & 15) as i32 | fifth(8 * t + g)) - off;
                    v[16 + 4 * g + t] = ((c >> 4) as i32 | fifth(8 * t + 4 + g)) - off;
                }
            }
        }
    }
    (f16_at(col, 2 * r), v)
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
    let bb = format.block_bytes();
    let row_bytes = k / format.block_len() * bb;
    assert!(
        k.is_multiple_of(format.block_len()) && rows.len() == n * row_bytes,
        "blockq_panel::repack: not {n} rows of {k}"
    );
    let (code_src, code_at) = code_offsets(format);
    let panel_bytes = PANEL_ROWS * row_bytes;
    let whole = n / PANEL_ROWS * panel_bytes;
    let mut out = vec![0u8; rows.len()];
    out[whole..].copy_from_slice(&rows[whole..]);
    // Panels in parallel (a model's worth of weights is repacked at load).
    crate::threads::for_each_block_mut(&mut out[..whole], panel_bytes.max(1), |p, dst| {
        let src = &rows[p * panel_bytes..(p + 1) * panel_bytes];
        for (r, row) in src.chunks_exact(row_bytes).enumerate() {
            for (b, blk) in row.chunks_exact(bb).enumerate() {
                let col = &mut dst[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
                if blockq_panel_k::has_panels(format) {
                    blockq_panel_k::pack_block(format, r, blk, col);
                    continue;
                }
                col[2 * r..2 * r + 2].copy_from_slice(&blk[..2]);
                if format == BlockFormat::Q5_0 {
                    let qh = u32::from_le_bytes(blk[2..6].try_into().expect("4 bytes"));
                    col[2 * PANEL_ROWS + 4 * r..][..4].copy_from_slice(&fifth_bits_to_panel(qh).to_le_bytes());
                }
                for (g, four) in blk[code_src..].chunks_exact(4).enumerate() {
                    let at = code_at + g * 4 * PANEL_ROWS + 4 * r;
                    col[at..at + 4].copy_from_slice(four);
                }
            }
        }
    });
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
    if blockq_panel_k::has_panels(format) {
        return blockq_panel_k::dequantize_row(format, panel, r, out);
    }
    let bb = format.block_bytes();
    for (b, o) in out.chunks_exact_mut(32).enumerate() {
        let (d, v) = row_values(format, &panel[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb], r);
        for (o, v) in o.iter_mut().zip(v) {
            *o = d * v as f32;
        }
    }
}

/// `out[r * xs.len() + i] = xs[i] . row r` for the rows in `w` (panels, then the row-major
/// tail): every activation row times every weight row, `out` ordered by weight row. Up to
/// four activation rows share each load of a panel's codes.
///
/// # Panics
/// When `w` is not `out.len() / xs.len()` rows of whole blocks of the activations' length,
/// the activations differ in length, or `format` has no panels.
pub fn matmul_isa(isa: Isa, format: BlockFormat, xs: &[QuantizedRow], w: &[u8], out: &mut [f32]) {
    let m = xs.len();
    let k = xs.first().map_or(0, |x| x.q.len());
    let row_bytes = k / format.block_len() * format.block_bytes();
    let n = out.len() / m.max(1);
    assert!(
        has_panels(format)
            && m > 0
            && out.len() == n * m
            && k.is_multiple_of(format.block_len())
            && xs.iter().all(|x| x.q.len() == k)
            && Some(w.len()) == row_bytes.checked_mul(n),
        "blockq_panel::matmul: {} bytes of {} are not {n} rows of {k} for {m} activation rows",
        w.len(),
        format.name(),
    );
    let whole = n / PANEL_ROWS * PANEL_ROWS;
    let nb = k / 32;
    // Activation rows per load of weights: as many as the registers hold (AVX-512 has 32).
    let rows_per_load = if isa.min(crate::isa::best()) >= Isa::Avx512 { 8 } else { 4 };
    let (panels, tail) = w.split_at(whole * row_bytes);
    let (out_panels, out_tail) = out.split_at_mut(whole * m);
    for (o, p) in out_panels.chunks_exact_mut(PANEL_ROWS * m).zip(panels.chunks_exact(PANEL_ROWS * row_bytes.max(1))) {
        for (g, group) in xs.chunks(rows_per_load).enumerate() {
            let mut part = [[0.0f32; PANEL_ROWS]; 8];
            let part = &mut part[..group.len()];
            match group.len() {
                8 => panel_dot::<8>(isa, format, group, p, nb, part),
                7 => panel_dot::<7>(isa, format, group, p, nb, part),
                6 => panel_dot::<6>(isa, format, group, p, nb, part),
                5 => panel_dot::<5>(isa, format, group, p, nb, part),
                4 => panel_dot::<4>(isa, format, group, p, nb, part),
                3 => panel_dot::<3>(isa, format, group, p, nb, part),
                2 => panel_dot::<2>(isa, format, group, p, nb, part),
                _ => panel_dot::<1>(isa, format, group, p, nb, part),
            }
            for (t, row) in part.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    o[j * m + rows_per_load * g + t] = *v;
                }
            }
        }
    }
    let mut col = vec![0.0f32; n - whole];
    for (i, x) in xs.iter().enumerate() {
        blockq_int::dot_rows_isa(isa, format, x, tail, &mut col);
        for (j, v) in col.iter().enumerate() {
            out_tail[j * m + i] = *v;
        }
    }
}

/// [`matmul_isa`] on the best instruction set here.
#[inline]
pub fn matmul(format: BlockFormat, xs: &[QuantizedRow], w: &[u8], out: &mut [f32]) {
    matmul_isa(crate::isa::isa(), format, xs, w, out)
}

/// One panel (`nb` block columns, `p` its bytes) times `R` activation rows (`xs` and `out`
/// hold `R` each).
fn panel_dot<const R: usize>(
    isa: Isa,
    format: BlockFormat,
    xs: &[QuantizedRow],
    p: &[u8],
    nb: usize,
    out: &mut [[f32; PANEL_ROWS]],
) {
    let xs: &[QuantizedRow; R] = xs.try_into().expect("R activation rows");
    let out: &mut [[f32; PANEL_ROWS]; R] = out.try_into().expect("R output rows");
    debug_assert!(Some(p.len()) == format.bytes_for(nb * 32).map(|b| b * PANEL_ROWS));
    debug_assert!(xs.iter().all(|x| x.q.len() == nb * 32));
    let nsb = nb / 8; // super-blocks of 256, for the K-quants
    #[cfg(target_arch = "x86_64")]
    {
        let isa = isa.min(crate::isa::best());
        let vnni = isa >= Isa::Avx512 && x86::vnni();
        if vnni || (isa >= Isa::Avx2 && x86::f16c()) {
            let p = p.as_ptr();
            // SAFETY: the kernel's features were detected at run time (AVX-512 F/BW and VNNI
            // for `vnni`, else AVX2, FMA and F16C); `p` holds `nb` whole block columns of a
            // panel (`nsb` super-block columns for K-quants) and each row of `xs` `nb` blocks
            // (the caller's assert).
            unsafe {
                use blockq_panel_k::x86 as k;
                match (format, vnni) {
                    (BlockFormat::Q4_K, true) => k::q4_k_vnni(xs, p, nsb, out),
                    (BlockFormat::Q4_K, false) => k::q4_k_avx2(xs, p, nsb, out),
                    (BlockFormat::Q6_K, true) => k::q6_k_vnni(xs, p, nsb, out),
                    (BlockFormat::Q6_K, false) => k::q6_k_avx2(xs, p, nsb, out),
                    (BlockFormat::Q4_0, true) => x86::nibbles_vnni::<R, false>(xs, p, nb, out),
                    (BlockFormat::Q5_0, true) => x86::nibbles_vnni::<R, true>(xs, p, nb, out),
                    (_, true) => x86::q8_0_vnni(xs, p, nb, out),
                    (BlockFormat::Q4_0, false) => x86::nibbles_avx2::<R, false>(xs, p, nb, out),
                    (BlockFormat::Q5_0, false) => x86::nibbles_avx2::<R, true>(xs, p, nb, out),
                    (_, false) => x86::q8_0_avx2(xs, p, nb, out),
                }
            }
            return;
        }
    }
    let _ = isa;
    for (x, o) in xs.iter().zip(out.iter_mut()) {
        match blockq_panel_k::has_panels(format) {
            true => blockq_panel_k::portable(format, x, p, nsb, o),
            false => portable(format, x, p, nb, o),
        }
    }
}

/// The panel product in plain integer arithmetic (other CPUs, `EMBER_ISA=scalar`).
fn portable(format: BlockFormat, x: &QuantizedRow, p: &[u8], nb: usize, out: &mut [f32; PANEL_ROWS]) {
    let bb = format.block_bytes();
    let mut acc = [0.0f32; PANEL_ROWS];
    for b in 0..nb {
        let col = &p[b * PANEL_ROWS * bb..(b + 1) * PANEL_ROWS * bb];
        let xq = &x.q[b * 32..b * 32 + 32];
        for (r, a) in acc.iter_mut().enumerate() {
            let (d, v) = row_values(format, col, r);
            let s: i32 = v.iter().zip(xq).map(|(w, &q)| w * q as i32).sum();
            *a += d * x.d[b] * s as f32;
        }
    }
    *out = acc;
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The panel kernels, `R` activation rows at a time (each load of codes feeds `R` rows).
    //! Each requires the features named in its `target_feature`, `p` to hold `nb` block
    //! columns of one panel and each activation row `nb` blocks of 32 codes.
    use super::{QuantizedRow, PANEL_ROWS};
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// Whether the CPU has AVX-512 VNNI (checked once).
    pub fn vnni() -> bool {
        static VNNI: OnceLock<bool> = OnceLock::new();
        *VNNI.get_or_init(|| std::arch::is_x86_feature_detected!("avx512vnni"))
    }

    pub(crate) use crate::blockq_int::f16c;

    /// Four activation codes of block `b` from code `at`, as one i32 (to broadcast).
    #[inline(always)]
    unsafe fn x4(x: &QuantizedRow, b: usize, at: usize) -> i32 {
        std::ptr::read_unaligned(x.q.as_ptr().add(b * 32 + at) as *const i32)
    }

    /// The sum of activation block `b`'s codes.
    #[inline(always)]
    unsafe fn xsum(x: &QuantizedRow, b: usize) -> i32 {
        *x.sum16.get_unchecked(2 * b) + *x.sum16.get_unchecked(2 * b + 1)
    }

    #[inline(always)]
    unsafe fn xd(x: &QuantizedRow, b: usize) -> f32 {
        *x.d.get_unchecked(b)
    }

    /// Q4_0 (`FIVE` false) or Q5_0 (`FIVE` true): codes 0..16 or 0..32, unsigned, times the
    /// activations; the offset (8 or 16) comes off as offset * sum(x).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn nibbles_vnni<const R: usize, const FIVE: bool>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let (m4, m10) = (_mm512_set1_epi8(0x0F), _mm512_set1_epi8(0x10));
        let (bytes, codes, offset) = if FIVE { (22, 96, 16) } else { (18, 32, 8) };
        let mut acc = [_mm512_setzero_ps(); R];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * bytes);
            let qh = if FIVE { _mm512_loadu_si512(col.add(32) as *const _) } else { _mm512_setzero_si512() };
            let mut lo = [_mm512_setzero_si512(); R];
            let mut hi = [_mm512_setzero_si512(); R];
            for g in 0..4 {
                let v = _mm512_loadu_si512(col.add(codes + 64 * g) as *const _);
                let mut l = _mm512_and_si512(v, m4);
                let mut h = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                if FIVE {
                    // Bit g of each byte is a low value's fifth bit, bit g + 4 a high one's.
                    let t = _mm512_srlv_epi32(qh, _mm512_set1_epi32(g as i32));
                    l = _mm512_or_si512(l, _mm512_and_si512(_mm512_slli_epi32(t, 4), m10));
                    h = _mm512_or_si512(h, _mm512_and_si512(t, m10));
                }
                for i in 0..R {
                    lo[i] = _mm512_dpbusd_epi32(lo[i], l, _mm512_set1_epi32(x4(&xs[i], b, 4 * g)));
                    hi[i] = _mm512_dpbusd_epi32(hi[i], h, _mm512_set1_epi32(x4(&xs[i], b, 16 + 4 * g)));
                }
            }
            let dw = _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i));
            for i in 0..R {
                let off = _mm512_set1_epi32(offset * xsum(&xs[i], b));
                let s = _mm512_sub_epi32(_mm512_add_epi32(lo[i], hi[i]), off);
                acc[i] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xd(&xs[i], b))), acc[i]);
            }
        }
        for i in 0..R {
            _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub unsafe fn q8_0_vnni<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        // vpdpbusd multiplies unsigned by signed bytes: the activations go in offset by 128
        // (`qu`, x + 128 as u8) and 128 * sum(w), counted by one more vpdpbusd, comes off.
        let flip = _mm512_set1_epi8(-128);
        let mut acc = [_mm512_setzero_ps(); R];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * 34);
            let mut s = [_mm512_setzero_si512(); R];
            let mut w = _mm512_setzero_si512();
            for g in 0..8 {
                let v = _mm512_loadu_si512(col.add(32 + 64 * g) as *const _);
                w = _mm512_dpbusd_epi32(w, flip, v);
                for i in 0..R {
                    let xu = _mm512_set1_epi32(std::ptr::read_unaligned(
                        xs[i].qu.as_ptr().add(b * 32 + 4 * g) as *const i32
                    ));
                    s[i] = _mm512_dpbusd_epi32(s[i], xu, v);
                }
            }
            let dw = _mm512_cvtph_ps(_mm256_loadu_si256(col as *const __m256i));
            for i in 0..R {
                let si = _mm512_cvtepi32_ps(_mm512_sub_epi32(s[i], w));
                acc[i] = _mm512_fmadd_ps(si, _mm512_mul_ps(dw, _mm512_set1_ps(xd(&xs[i], b))), acc[i]);
            }
        }
        for i in 0..R {
            _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
        }
    }

    /// [`nibbles_vnni`] with AVX2.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn nibbles_avx2<const R: usize, const FIVE: bool>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let (m4, m10) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(0x10));
        let ones = _mm256_set1_epi16(1);
        let (bytes, codes, offset) = if FIVE { (22, 96, 16) } else { (18, 32, 8) };
        for half in 0..2 {
            // Rows 8 * half .. 8 * half + 8 of the panel.
            let mut acc = [_mm256_setzero_ps(); R];
            for b in 0..nb {
                let col = p.add(b * PANEL_ROWS * bytes);
                let qh = if FIVE {
                    _mm256_loadu_si256(col.add(32 + 32 * half) as *const __m256i)
                } else {
                    _mm256_setzero_si256()
                };
                // A maddubs pair is at most 2 * 15 * 127 (Q4_0: the eight of a block add up in
                // i16, <= 30480) or 2 * 31 * 127 (Q5_0: widened every two groups, <= 31496).
                let mut s16 = [_mm256_setzero_si256(); R];
                let mut s32 = [_mm256_setzero_si256(); R];
                for g in 0..4 {
                    let v = _mm256_loadu_si256(col.add(codes + 64 * g + 32 * half) as *const __m256i);
                    let mut l = _mm256_and_si256(v, m4);
                    let mut h = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                    if FIVE {
                        let t = _mm256_srl_epi32(qh, _mm_cvtsi32_si128(g as i32));
                        l = _mm256_or_si256(l, _mm256_and_si256(_mm256_slli_epi32(t, 4), m10));
                        h = _mm256_or_si256(h, _mm256_and_si256(t, m10));
                    }
                    for i in 0..R {
                        let pl = _mm256_maddubs_epi16(l, _mm256_set1_epi32(x4(&xs[i], b, 4 * g)));
                        let ph = _mm256_maddubs_epi16(h, _mm256_set1_epi32(x4(&xs[i], b, 16 + 4 * g)));
                        s16[i] = _mm256_add_epi16(s16[i], _mm256_add_epi16(pl, ph));
                        if FIVE && g % 2 == 1 {
                            s32[i] = _mm256_add_epi32(s32[i], _mm256_madd_epi16(s16[i], ones));
                            s16[i] = _mm256_setzero_si256();
                        }
                    }
                }
                let dw = _mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * half) as *const __m128i));
                for i in 0..R {
                    let s = if FIVE { s32[i] } else { _mm256_madd_epi16(s16[i], ones) };
                    let s = _mm256_sub_epi32(s, _mm256_set1_epi32(offset * xsum(&xs[i], b)));
                    acc[i] = _mm256_fmadd_ps(
                        _mm256_cvtepi32_ps(s),
                        _mm256_mul_ps(dw, _mm256_set1_ps(xd(&xs[i], b))),
                        acc[i],
                    );
                }
            }
            for i in 0..R {
                _mm256_storeu_ps(out[i].as_mut_ptr().add(8 * half), acc[i]);
            }
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q8_0_avx2<const R: usize>(
        xs: &[QuantizedRow; R],
        p: *const u8,
        nb: usize,
        out: &mut [[f32; PANEL_ROWS]; R],
    ) {
        let ones = _mm256_set1_epi16(1);
        for half in 0..2 {
            let mut acc = [_mm256_setzero_ps(); R];
            for b in 0..nb {
                let col = p.add(b * PANEL_ROWS * 34);
                let mut s = [_mm256_setzero_si256(); R];
                for g in 0..8 {
                    let v = _mm256_loadu_si256(col.add(32 + 64 * g + 32 * half) as *const __m256i);
                    // |w| (unsigned) times x with w's sign: the signed product through maddubs.
                    let a = _mm256_sign_epi8(v, v);
                    for i in 0..R {
                        let xv = _mm256_sign_epi8(_mm256_set1_epi32(x4(&xs[i], b, 4 * g)), v);
                        s[i] = _mm256_add_epi32(s[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, xv), ones));
                    }
                }
                let dw = _mm256_cvtph_ps(_mm_loadu_si128(col.add(16 * half) as *const __m128i));
                for i in 0..R {
                    acc[i] = _mm256_fmadd_ps(
                        _mm256_cvtepi32_ps(s[i]),
                        _mm256_mul_ps(dw, _mm256_set1_ps(xd(&xs[i], b))),
                        acc[i],
                    );
                }
            }
            for i in 0..R {
                _mm256_storeu_ps(out[i].as_mut_ptr().add(8 * half), acc[i]);
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

    /// Rows 0..n of random blocks, their panel repacking, and their f32 values.
    fn panels(format: BlockFormat, n: usize, k: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let rows = random_blocks(format, n * k / format.block_len(), seed);
        (repack(format, &rows, n, k).unwrap(), blockq::dequantize(format, &rows))
    }

    const FORMATS: [BlockFormat; 5] =
        [BlockFormat::Q4_0, BlockFormat::Q5_0, BlockFormat::Q8_0, BlockFormat::Q4_K, BlockFormat::Q6_K];

    #[test]
    fn panel_products_equal_the_dots_of_the_dequantised_rows_on_every_isa() {
        for format in FORMATS {
            // Five blocks of 32, or two super-blocks of 256.
            let k = if format.block_len() == 256 { 512 } else { 160 };
            // Up to nine activation rows: groups of eight (AVX-512) or four share the weight loads.
            let xs: Vec<QuantizedRow> = (0..9)
                .map(|t| {
                    let x: Vec<f32> = (0..k)
                        .map(|i| ((i * 13 + t * 7) % 29) as f32 / 10.0 - 1.4 * if i % 64 < 32 { 1.0 } else { 0.02 })
                        .collect();
                    QuantizedRow::new(&x)
                })
                .collect();
            // Two whole panels and a row-major tail of 5 rows.
            let n = 2 * PANEL_ROWS + 5;
            let (w, dense) = panels(format, n, k, 3 + format.ggml_type() as u64);
            for m in [1, 2, 7, 9] {
                for isa in available() {
                    let mut out = vec![f32::NAN; n * m];
                    matmul_isa(isa, format, &xs[..m], &w, &mut out);
                    for (r, i) in (0..n).flat_map(|r| (0..m).map(move |i| (r, i))) {
                        let xd = xs[i].values();
                        let row = &dense[r * k..(r + 1) * k];
                        let want: f64 = xd.iter().zip(row).map(|(a, b)| *a as f64 * *b as f64).sum();
                        let scale: f64 = xd.iter().zip(row).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
                        let got = out[r * m + i] as f64;
                        assert!(
                            (got - want).abs() <= 1e-5 * scale,
                            "{format:?} {isa:?} m={m} row {r} x {i}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn panels_dequantise_to_the_rows_they_were_packed_from() {
        for format in FORMATS {
            let (n, k) = (PANEL_ROWS + 3, if format.block_len() == 256 { 512 } else { 96 });
            let (w, dense) = panels(format, n, k, 11);
            let mut out = vec![f32::NAN; n * k];
            dequantize_into(format, k, &w, &mut out);
            assert_eq!(out, dense, "{format:?}");
        }
        assert!(repack(BlockFormat::Q5_K, &[], 0, 256).is_none());
    }

    #[test]
    fn extreme_panel_codes_do_not_saturate() {
        // Largest-magnitude codes against activations of +-127: the i16 sums of the AVX2
        // kernel (eight maddubs pairs per block) and the offset activations of VNNI stay exact.
        for format in FORMATS {
            let (n, k) = (PANEL_ROWS, if format.block_len() == 256 { 256 } else { 64 });
            // K-quants: every product at its largest and of one sign (the i16 sums of Q4_K).
            let k_quant = format.block_len() == 256;
            let x: Vec<f32> = (0..k).map(|i| if i % 3 == 0 && !k_quant { -1.0 } else { 1.0 }).collect();
            let xq = QuantizedRow::new(&x);
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
                matmul_isa(isa, format, std::slice::from_ref(&xq), &w, &mut out);
                assert!(
                    (out[0] as f64 - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{format:?} {isa:?}: {} vs {want}",
                    out[0]
                );
            }
        }
    }
}
