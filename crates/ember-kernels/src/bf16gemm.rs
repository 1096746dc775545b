//! bf16 x bf16 -> f32-accumulated GEMM with AVX512-BF16 (`vdpbf16ps`: 32 bf16 products per
//! instruction, summed in pairs into 16 f32 lanes), twice the multiply rate of f32 FMA.
//!
//! Layout of the packed operands, per k-pair `p` (k = 2p, 2p+1):
//! - A panel (MR rows): `MR` u32 words, word `r` = (A[r, 2p], A[r, 2p+1]), broadcast to all lanes;
//! - B panel (NR = 32 columns): two vectors of 16 word pairs, lane `j` = (B[2p, j], B[2p+1, j]).
//!
//! Then `acc[r][j] += A[r,2p] B[2p,j] + A[r,2p+1] B[2p+1,j]` is one `vdpbf16ps` per (r, half).
//! Blocking: `KC` k-values per pass (the B panels of a pass stay in L2), rows split across
//! threads (each thread owns whole rows of the output). Zero padding handles odd `k` and
//! ragged edges. Machines without AVX512-BF16 use [`crate::gemm`] on f32 copies.

use crate::gemm::MatRef;
use half::bf16;

const MR: usize = 8;
const NR: usize = 32;
const KC: usize = 512;

/// Whether the fast path exists on this machine.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::isa::isa() >= crate::isa::Isa::Avx512 && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Packs `B[k0..k0+kc, :]` into panels of NR columns (k-pairs interleaved), zero-padded.
/// Walks B row by row, so a row-major B is read sequentially.
fn pack_b(b: &MatRef<'_, bf16>, k0: usize, kc: usize, n: usize) -> Vec<u16> {
    let kp = kc.div_ceil(2);
    let panels = n.div_ceil(NR);
    let mut out = vec![0u16; panels * kp * NR * 2];
    for k in 0..kc {
        let (q, e) = (k / 2, k % 2);
        let row = b.offset + (k0 + k) * b.rs;
        for col in 0..n {
            let (p, j) = (col / NR, col % NR);
            out[p * kp * NR * 2 + q * NR * 2 + j * 2 + e] = b.data[row + col * b.cs].to_bits();
        }
    }
    out
}

/// Packs rows `i0..i0+rows` (<= MR) of `A[:, k0..k0+kc]` as k-pair words, zero-padded.
fn pack_a(a: &MatRef<'_, bf16>, i0: usize, rows: usize, k0: usize, kc: usize, out: &mut [u32]) {
    let kp = kc.div_ceil(2);
    out[..kp * MR].fill(0);
    for r in 0..rows {
        let row = a.offset + (i0 + r) * a.rs;
        for q in 0..kp {
            let lo = a.data[row + (k0 + 2 * q) * a.cs].to_bits() as u32;
            let hi = if 2 * q + 1 < kc { a.data[row + (k0 + 2 * q + 1) * a.cs].to_bits() as u32 } else { 0 };
            out[q * MR + r] = lo | (hi << 16);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
/// `tile[MR][NR] = sum over k-pairs` of the packed panels.
///
/// # Safety
/// The CPU must support AVX-512F and AVX512-BF16; `ap` holds `kp * MR` words and `bp` holds
/// `kp * NR * 2` halves.
unsafe fn micro(kp: usize, ap: &[u32], bp: &[u16], tile: &mut [[f32; NR]; MR]) {
    use std::arch::x86_64::*;
    debug_assert!(ap.len() >= kp * MR && bp.len() >= kp * NR * 2);
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for q in 0..kp {
        // SAFETY: q < kp, and the slices were checked to hold kp panels (debug) / are sized by
        // the caller to kp * NR * 2 and kp * MR; loads are unaligned loads of 64 bytes.
        let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.as_ptr().add(q * NR * 2) as *const _));
        let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.as_ptr().add(q * NR * 2 + 32) as *const _));
        for r in 0..MR {
            let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(*ap.get_unchecked(q * MR + r) as i32));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for r in 0..MR {
        _mm512_storeu_ps(tile[r].as_mut_ptr(), acc[r][0]);
        _mm512_storeu_ps(tile[r].as_mut_ptr().add(16), acc[r][1]);
    }
}

/// Other architectures never reach the micro-kernel: [`available`] is false there.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn micro(_kp: usize, _ap: &[u32], _bp: &[u16], _tile: &mut [[f32; NR]; MR]) {
    unreachable!("bf16 GEMM: AVX512-BF16 exists only on x86-64")
}

/// `dst (m x n, f32) = a (m x k) * b (k x n)` in bf16 with f32 accumulation. Requires
/// [`available`]; `dst` is row-major contiguous (`rs = n`).
///
/// # Panics
/// When the fast path is not available or a matrix exceeds its slice.
pub fn matmul_bf16_f32acc(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    a: MatRef<'_, bf16>,
    b: MatRef<'_, bf16>,
    threads: usize,
) {
    assert!(available(), "bf16 GEMM: AVX512-BF16 not available");
    assert!(dst.len() >= m * n, "bf16 GEMM: destination too short");
    let last =
        |x: &MatRef<'_, bf16>, r: usize, c: usize| x.offset + r.saturating_sub(1) * x.rs + c.saturating_sub(1) * x.cs;
    if m > 0 && k > 0 {
        assert!(last(&a, m, k) < a.data.len(), "bf16 GEMM: A exceeds its buffer");
    }
    if k > 0 && n > 0 {
        assert!(last(&b, k, n) < b.data.len(), "bf16 GEMM: B exceeds its buffer");
    }
    dst[..m * n].fill(0.0);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let panels = n.div_ceil(NR);
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let kp = kc.div_ceil(2);
        let bpk = pack_b(&b, k0, kc, n);
        // Whole rows per task: blocks of MR rows.
        let rows_per_task =
            if threads > 1 && m * n * kc >= 1 << 22 { m.div_ceil(threads).next_multiple_of(MR) } else { m };
        let task = |rows: &mut [f32], r0: usize| {
            let mut ap = vec![0u32; kp * MR];
            let mut tile = [[0.0f32; NR]; MR];
            let nrows = rows.len() / n;
            let mut i = 0;
            while i < nrows {
                let mr = MR.min(nrows - i);
                pack_a(&a, r0 + i, mr, k0, kc, &mut ap);
                for p in 0..panels {
                    // SAFETY: available() checked AVX-512F and AVX512-BF16 above; `ap` has
                    // kp * MR words and each B panel kp * NR * 2 halves (pack_b's layout).
                    unsafe { micro(kp, &ap, &bpk[p * kp * NR * 2..(p + 1) * kp * NR * 2], &mut tile) };
                    let nc = NR.min(n - p * NR);
                    for r in 0..mr {
                        let out = &mut rows[(i + r) * n + p * NR..(i + r) * n + p * NR + nc];
                        for (o, t) in out.iter_mut().zip(&tile[r][..nc]) {
                            *o += t;
                        }
                    }
                }
                i += mr;
            }
        };
        if rows_per_task >= m {
            task(&mut dst[..m * n], 0);
        } else {
            use rayon::prelude::*;
            dst[..m * n]
                .par_chunks_mut(rows_per_task * n)
                .enumerate()
                .for_each(|(t, rows)| task(rows, t * rows_per_task));
        }
        k0 += kc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_f32_reference_on_edge_shapes() {
        if !available() {
            eprintln!("AVX512-BF16 not available: nothing to test here");
            return;
        }
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (9, 33, 17), (17, 65, 600), (64, 31, 1025), (130, 100, 64)] {
            let a: Vec<bf16> = (0..m * k).map(|i| bf16::from_f32(((i * 7 % 13) as f32 - 6.0) / 8.0)).collect();
            let b: Vec<bf16> = (0..k * n).map(|i| bf16::from_f32(((i * 5 % 11) as f32 - 5.0) / 4.0)).collect();
            for (threads, transposed) in [(1, false), (2, true)] {
                // b read either row-major or as the transpose of an [n, k] buffer.
                let bt: Vec<bf16> = (0..n * k).map(|idx| b[(idx % k) * n + idx / k]).collect();
                let bref = if transposed {
                    MatRef { data: &bt, offset: 0, rs: 1, cs: k }
                } else {
                    MatRef { data: &b, offset: 0, rs: n, cs: 1 }
                };
                let mut out = vec![f32::NAN; m * n];
                matmul_bf16_f32acc(m, n, k, &mut out, MatRef { data: &a, offset: 0, rs: k, cs: 1 }, bref, threads);
                for i in 0..m {
                    for j in 0..n {
                        let want: f64 = (0..k).map(|p| a[i * k + p].to_f64() * b[p * n + j].to_f64()).sum();
                        assert!(
                            (out[i * n + j] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                            "{m}x{n}x{k} [{i},{j}]: {} vs {want}",
                            out[i * n + j]
                        );
                    }
                }
            }
        }
    }
}
