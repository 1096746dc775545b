//! int8 weights with per-row scales times int8 activations with one scale per row: a true
//! int8 GEMM, the products summed in integers over all of K (ONNX Runtime's and PyTorch's
//! dynamic-quantisation int8 GEMMs do the same).
//!
//! The weights are Q8_0 panels of 16 rows whose block scales are all 1 (`blockq_panel.rs` has
//! the layout; rows after the last whole panel stay row-major blocks), plus one f32 scale and
//! one code sum per row. With one activation scale per row nothing needs converting per block
//! of 32 (the Q8_0 kernels convert and scale every block), so the inner loop is loads and
//! `vpdpbusd`: two panels (32 weight rows) times up to eight activation rows share each
//! broadcast activation quad. The result is
//!
//! ```text
//! out[i][r] = xscale[i] * wscale[r] * (sum_k (x[i][k] + 128) * w[r][k] - 128 * wsum[r])
//! ```
//!
//! (`vpdpbusd` multiplies unsigned by signed bytes, so activations go in offset by 128). The
//! i32 sums cannot overflow below K = 2^31 / (255 * 128), about 65 000.

use crate::blockq_panel::PANEL_ROWS;
use crate::isa::Isa;

/// Bytes of one Q8_0 block (f16 scale and 32 codes).
const BLOCK: usize = 34;
/// Activation rows per weight load.
const ROWS: usize = 8;

/// One activation row quantised with a single scale.
#[derive(Clone, Debug, Default)]
pub struct RowQuant {
    /// Codes, `round(x / scale)` in -127..=127.
    pub q: Vec<i8>,
    /// The codes plus 128, as unsigned bytes.
    pub qu: Vec<u8>,
    /// `max |x| / 127`.
    pub scale: f32,
}

impl RowQuant {
    /// Quantises `x` into this row's buffers (reused across calls).
    pub fn assign(&mut self, x: &[f32]) {
        self.q.resize(x.len(), 0);
        self.qu.resize(x.len(), 0);
        let mut amax = 0.0f32;
        quantize_row(x, &mut self.q, &mut self.qu, &mut amax);
        self.scale = amax / 127.0;
    }

    /// A quantised copy of `x`.
    pub fn new(x: &[f32]) -> RowQuant {
        let mut r = RowQuant::default();
        r.assign(x);
        r
    }
}

/// `x` to codes `q = round(x * 127 / max|x|)` (ties to even) and `qu = q + 128`; `amax`
/// gets `max|x|`. In the SIMD-dispatched body, so the rounding vectorises.
#[inline(always)]
fn quantize_row_body(x: &[f32], q: &mut [i8], qu: &mut [u8], amax: &mut f32) {
    // The maximum over 16 independent lanes: one running maximum is a chain of dependent
    // `max`es, which does not vectorise.
    const L: usize = 16;
    let mut lanes = [0.0f32; L];
    let chunks = x.chunks_exact(L);
    let mut m = chunks.remainder().iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = l.max(v.abs());
        }
    }
    m = lanes.iter().fold(m, |a, &l| a.max(l));
    let inv = if m > 0.0 { 127.0 / m } else { 0.0 };
    // Rounding by adding 1.5 * 2^23: the sum's low mantissa bits are round-ties-even(y) for
    // |y| < 2^22, one vector add and subtract. (`round_ties_even() as i8` is a saturating,
    // NaN-checking conversion that LLVM emits one element at a time: a fifth of a prompt's
    // int8 forward.) NaN inputs give code 0, as that conversion did.
    const MAGIC: f32 = 12_582_912.0;
    for ((q, u), &v) in q.iter_mut().zip(qu.iter_mut()).zip(x) {
        let y = v * inv;
        let y = if y.is_nan() { 0.0 } else { y };
        let c = ((y + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32) as i8;
        *q = c;
        *u = c as u8 ^ 0x80;
    }
    *amax = m;
}

crate::simd_dispatch!(fn quantize_row / quantize_row_isa(x: &[f32], q: &mut [i8], qu: &mut [u8], amax: &mut f32) => quantize_row_body);

/// The sum of each row's codes, for rows of unit-scale Q8_0 blocks in `w` (panels of 16, then
/// row-major rows), `k` values per row.
pub fn row_sums(w: &[u8], k: usize) -> Vec<i32> {
    let row = k / 32 * BLOCK;
    let n = w.len() / row.max(1);
    let whole = n / PANEL_ROWS * PANEL_ROWS;
    let mut sums = vec![0i32; n];
    for (p, panel) in w[..whole * row].chunks_exact(PANEL_ROWS * row).enumerate() {
        for col in panel.chunks_exact(PANEL_ROWS * BLOCK) {
            // [16 scales][8 groups x 16 rows x 4 codes]
            for (i, &c) in col[2 * PANEL_ROWS..].iter().enumerate() {
                sums[p * PANEL_ROWS + (i / 4) % PANEL_ROWS] += c as i8 as i32;
            }
        }
    }
    for (r, bytes) in w[whole * row..].chunks_exact(row.max(1)).enumerate() {
        sums[whole + r] = bytes.chunks_exact(BLOCK).flat_map(|b| &b[2..]).map(|&c| c as i8 as i32).sum();
    }
    sums
}

/// `out[i * ld + r] = xs[i] . row r` (dequantised) for the rows `r` of `w`: every activation
/// row times every weight row, written row-major with leading dimension `ld` (contiguous
/// stores of 16 or 32 outputs); `wscale` and `wsum` hold one entry per weight row.
///
/// # Panics
/// When `w` is not whole rows of unit-scale Q8_0 blocks of the activations' length, `out`
/// does not hold `xs.len()` rows of `ld >= n`, or `wscale`/`wsum` are shorter than `n`.
pub fn matmul_isa(isa: Isa, xs: &[RowQuant], w: &[u8], wscale: &[f32], wsum: &[i32], out: &mut [f32], ld: usize) {
    let m = xs.len();
    let k = xs.first().map_or(0, |x| x.q.len());
    let row = k / 32 * BLOCK;
    let n = w.len() / row.max(1);
    assert!(
        m > 0
            && k.is_multiple_of(32)
            && xs.iter().all(|x| x.q.len() == k)
            && w.len() == row * n
            && ld >= n
            && out.len() >= (m - 1) * ld + n
            && wscale.len() >= n
            && wsum.len() >= n,
        "int8_panel::matmul: {} bytes are not rows of {k} for {m} activation rows",
        w.len()
    );
    let whole = n / PANEL_ROWS * PANEL_ROWS;
    let nb = k / 32;
    let panel_bytes = PANEL_ROWS * row;
    let mut p0 = 0;
    while p0 < whole {
        // Two panels per pass where there are two (each activation broadcast feeds 32 rows).
        let two = p0 + 2 * PANEL_ROWS <= whole;
        let rows = if two { 2 * PANEL_ROWS } else { PANEL_ROWS };
        let bytes = &w[p0 * row..p0 * row + rows / PANEL_ROWS * panel_bytes];
        let (ws, wz) = (&wscale[p0..p0 + rows], &wsum[p0..p0 + rows]);
        for (g, group) in xs.chunks(ROWS).enumerate() {
            let mut part = [[0i32; 2 * PANEL_ROWS]; ROWS];
            panel_sums(isa, group, bytes, nb, two, &mut part[..group.len()]);
            for (t, sums) in part[..group.len()].iter().enumerate() {
                let i = ROWS * g + t;
                let xscale = group[t].scale;
                let o = &mut out[i * ld + p0..i * ld + p0 + rows];
                for (((o, &s), &z), &c) in o.iter_mut().zip(&sums[..rows]).zip(wz).zip(ws) {
                    *o = (s - 128 * z) as f32 * c * xscale;
                }
            }
        }
        p0 += rows;
    }
    for r in whole..n {
        let wr = &w[r * row..(r + 1) * row];
        for (i, x) in xs.iter().enumerate() {
            let s: i32 =
                wr.chunks_exact(BLOCK).flat_map(|b| &b[2..]).zip(&x.q).map(|(&c, &q)| c as i8 as i32 * q as i32).sum();
            out[i * ld + r] = s as f32 * wscale[r] * x.scale;
        }
    }
}

/// [`matmul_isa`] on the best instruction set here.
#[inline]
pub fn matmul(xs: &[RowQuant], w: &[u8], wscale: &[f32], wsum: &[i32], out: &mut [f32], ld: usize) {
    matmul_isa(crate::isa::isa(), xs, w, wscale, wsum, out, ld)
}

/// Integer sums `sum_k (x[k] + 128) * w[r][k]` of one or two panels (`two`) against up to
/// `ROWS` activation rows.
fn panel_sums(isa: Isa, xs: &[RowQuant], p: &[u8], nb: usize, two: bool, out: &mut [[i32; 2 * PANEL_ROWS]]) {
    debug_assert!(xs.len() <= ROWS && xs.iter().all(|x| x.qu.len() == nb * 32));
    debug_assert_eq!(p.len(), nb * BLOCK * PANEL_ROWS * if two { 2 } else { 1 });
    #[cfg(target_arch = "x86_64")]
    {
        let isa = isa.min(crate::isa::best());
        let vnni = isa >= Isa::Avx512 && crate::blockq_panel::vnni();
        if vnni || isa >= Isa::Avx2 {
            macro_rules! run {
                ($($r:literal)*) => {
                    match xs.len() {
                        $($r => {
                            let xs: &[RowQuant; $r] = xs.try_into().expect("rows");
                            let out: &mut [[i32; 2 * PANEL_ROWS]; $r] = out.try_into().expect("rows");
                            // SAFETY: the kernel's features were detected at run time (AVX-512
                            // F/BW and VNNI, else AVX2); `p` holds `nb` block columns of one or
                            // two (`two`) panels and each activation row `nb * 32` codes (the
                            // debug assertions above, the caller's assert).
                            unsafe {
                                match (vnni, two) {
                                    (true, true) => x86::vnni::<$r, 2>(xs, p.as_ptr(), nb, out),
                                    (true, false) => x86::vnni::<$r, 1>(xs, p.as_ptr(), nb, out),
                                    (false, true) => x86::avx2::<$r, 2>(xs, p.as_ptr(), nb, out),
                                    (false, false) => x86::avx2::<$r, 1>(xs, p.as_ptr(), nb, out),
                                }
                            }
                        })*
                        _ => unreachable!("at most {ROWS} activation rows"),
                    }
                };
            }
            run!(1 2 3 4 5 6 7 8);
            return;
        }
    }
    let _ = isa;
    portable(xs, p, nb, two, out);
}

/// The panel sums in plain integer arithmetic (other CPUs, `EMBER_ISA=scalar`).
fn portable(xs: &[RowQuant], p: &[u8], nb: usize, two: bool, out: &mut [[i32; 2 * PANEL_ROWS]]) {
    let panel = nb * BLOCK * PANEL_ROWS;
    for (x, o) in xs.iter().zip(out.iter_mut()) {
        *o = [0; 2 * PANEL_ROWS];
        for half in 0..if two { 2 } else { 1 } {
            for b in 0..nb {
                let col = &p[half * panel + b * PANEL_ROWS * BLOCK..][..PANEL_ROWS * BLOCK];
                for (i, &c) in col[2 * PANEL_ROWS..].iter().enumerate() {
                    // Group g holds codes 4g..4g+4 of each of the 16 rows.
                    let (g, r, t) = (i / (4 * PANEL_ROWS), (i / 4) % PANEL_ROWS, i % 4);
                    o[half * PANEL_ROWS + r] += c as i8 as i32 * x.qu[b * 32 + 4 * g + t] as i32;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! `R` activation rows times `P` panels; each kernel requires the features named in its
    //! `target_feature`, `p` to hold `nb` block columns of `P` consecutive panels and each
    //! activation row `nb * 32` codes.
    use super::{RowQuant, BLOCK, PANEL_ROWS};
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn quad(x: &RowQuant, at: usize) -> i32 {
        std::ptr::read_unaligned(x.qu.as_ptr().add(at) as *const i32)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni<const R: usize, const P: usize>(
        xs: &[RowQuant; R],
        p: *const u8,
        nb: usize,
        out: &mut [[i32; 2 * PANEL_ROWS]; R],
    ) {
        let panel = nb * BLOCK * PANEL_ROWS;
        let mut acc = [[_mm512_setzero_si512(); P]; R];
        for b in 0..nb {
            let col = p.add(b * PANEL_ROWS * BLOCK + 2 * PANEL_ROWS);
            for g in 0..8 {
                let mut v = [_mm512_setzero_si512(); P];
                for (h, v) in v.iter_mut().enumerate() {
                    *v = _mm512_loadu_si512(col.add(h * panel + 64 * g) as *const _);
                }
                for i in 0..R {
                    let x = _mm512_set1_epi32(quad(&xs[i], b * 32 + 4 * g));
                    for h in 0..P {
                        acc[i][h] = _mm512_dpbusd_epi32(acc[i][h], x, v[h]);
                    }
                }
            }
        }
        for i in 0..R {
            for h in 0..P {
                _mm512_storeu_si512(out[i].as_mut_ptr().add(h * PANEL_ROWS) as *mut _, acc[i][h]);
            }
        }
    }

    /// [`vnni`] with AVX2: eight rows of a panel per 32-byte load, `maddubs` on |w| and the
    /// activations given w's sign (|w| <= 128 and |x| <= 127 keep its i16 pair sums exact),
    /// then the +128 offset added back as 128 * w, so the sums match the VNNI kernel's.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2<const R: usize, const P: usize>(
        xs: &[RowQuant; R],
        p: *const u8,
        nb: usize,
        out: &mut [[i32; 2 * PANEL_ROWS]; R],
    ) {
        let panel = nb * BLOCK * PANEL_ROWS;
        let ones = _mm256_set1_epi16(1);
        for h in 0..P {
            for half in 0..2 {
                let mut acc = [_mm256_setzero_si256(); R];
                let mut wsum = _mm256_setzero_si256();
                for b in 0..nb {
                    let col = p.add(h * panel + b * PANEL_ROWS * BLOCK + 2 * PANEL_ROWS + 32 * half);
                    for g in 0..8 {
                        let v = _mm256_loadu_si256(col.add(64 * g) as *const _);
                        let aw = _mm256_sign_epi8(v, v);
                        wsum = _mm256_add_epi32(
                            wsum,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), ones),
                        );
                        for i in 0..R {
                            let xq = std::ptr::read_unaligned(xs[i].q.as_ptr().add(b * 32 + 4 * g) as *const i32);
                            let sx = _mm256_sign_epi8(_mm256_set1_epi32(xq), v);
                            let prod = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones);
                            acc[i] = _mm256_add_epi32(acc[i], prod);
                        }
                    }
                }
                let off = _mm256_slli_epi32(wsum, 7);
                for i in 0..R {
                    let s = _mm256_add_epi32(acc[i], off);
                    _mm256_storeu_si256(out[i].as_mut_ptr().add(h * PANEL_ROWS + 8 * half) as *mut _, s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockq::BlockFormat;
    use crate::isa::available;

    /// `n` rows of `k` int8 codes as unit-scale Q8_0 blocks repacked in panels, and the codes.
    fn weights(n: usize, k: usize, code: impl Fn(usize, usize) -> i8) -> (Vec<u8>, Vec<i8>) {
        let codes: Vec<i8> = (0..n * k).map(|i| code(i / k, i % k)).collect();
        let one = half::f16::ONE.to_bits().to_le_bytes();
        let blocks: Vec<u8> =
            codes.chunks_exact(32).flat_map(|c| one.into_iter().chain(c.iter().map(|&b| b as u8))).collect();
        (crate::blockq_panel::repack(BlockFormat::Q8_0, &blocks, n, k).unwrap(), codes)
    }

    #[test]
    fn int8_products_equal_the_integer_dots_on_every_isa() {
        // Three whole panels (a pair and a single) and a row-major tail of 5 rows; up to nine
        // activation rows (a group of eight and one more).
        let (n, k) = (3 * PANEL_ROWS + 5, 160);
        let (w, codes) = weights(n, k, |r, c| ((r * 31 + c * 17) % 255) as i8);
        let wscale: Vec<f32> = (0..n).map(|r| 0.01 + r as f32 * 1e-3).collect();
        let wsum = row_sums(&w, k);
        for (r, s) in wsum.iter().enumerate() {
            assert_eq!(*s, codes[r * k..(r + 1) * k].iter().map(|&c| c as i32).sum::<i32>(), "row {r} sum");
        }
        let xs: Vec<RowQuant> = (0..9)
            .map(|t| RowQuant::new(&(0..k).map(|i| ((i * 13 + t * 7) % 29) as f32 / 10.0 - 1.4).collect::<Vec<_>>()))
            .collect();
        for m in [1, 2, 8, 9] {
            for isa in available() {
                let mut out = vec![f32::NAN; n * m];
                matmul_isa(isa, &xs[..m], &w, &wscale, &wsum, &mut out, n);
                for (r, i) in (0..n).flat_map(|r| (0..m).map(move |i| (r, i))) {
                    let dot: i64 =
                        codes[r * k..(r + 1) * k].iter().zip(&xs[i].q).map(|(&a, &b)| a as i64 * b as i64).sum();
                    let want = dot as f64 * wscale[r] as f64 * xs[i].scale as f64;
                    let got = out[i * n + r] as f64;
                    assert!(
                        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                        "{isa:?} m={m} row {r} x {i}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn extreme_codes_do_not_saturate() {
        // -128 weights against -127 activations (the largest product) and +127 against +127,
        // over a long row: the AVX2 pair sums and the VNNI offset sums stay exact.
        let (n, k) = (2 * PANEL_ROWS, 1024);
        let (w, codes) = weights(n, k, |r, c| if (r + c) % 2 == 0 { -128 } else { 127 });
        let x: Vec<f32> = (0..k).map(|c| if c % 2 == 0 { -1.0 } else { 1.0 }).collect();
        let xq = RowQuant::new(&x);
        let (wscale, wsum) = (vec![1.0f32; n], row_sums(&w, k));
        for isa in available() {
            let mut out = vec![0.0; n];
            matmul_isa(isa, std::slice::from_ref(&xq), &w, &wscale, &wsum, &mut out, n);
            for r in 0..n {
                let want: i64 = codes[r * k..(r + 1) * k].iter().zip(&xq.q).map(|(&a, &b)| a as i64 * b as i64).sum();
                // The integer sum is exact (below 2^24, so exact in f32 too): the same f32
                // products follow.
                assert_eq!(out[r], want as f32 * 1.0 * xq.scale, "{isa:?} row {r}");
            }
        }
    }

    #[test]
    fn row_codes_round_half_to_even_on_every_isa() {
        // max |x| = 127 makes the scale 1: each code is its value rounded, ties to even.
        let mut x: Vec<f32> = vec![127.0, -127.0, 0.5, 1.5, 2.5, -0.5, -1.5, 3.49, -3.51, 0.0, f32::NAN, 100.7];
        x.extend((0..37).map(|i| i as f32 * 3.3 - 60.0));
        for isa in available() {
            let (mut q, mut qu, mut amax) = (vec![0i8; x.len()], vec![0u8; x.len()], 0.0);
            quantize_row_isa(isa, &x, &mut q, &mut qu, &mut amax);
            assert_eq!(amax, 127.0, "{isa:?}");
            for ((&v, &c), &u) in x.iter().zip(&q).zip(&qu) {
                let want = if v.is_nan() { 0 } else { v.round_ties_even() as i8 };
                assert_eq!((c, u), (want, want as u8 ^ 0x80), "{isa:?} {v}");
            }
        }
    }
}
