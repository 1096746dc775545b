//! bf16 x bf16 -> f32-accumulated GEMM with AVX512-BF16 (`vdpbf16ps`: 32 bf16 products per
//! instruction, summed in pairs into 16 f32 lanes), twice the multiply rate of f32 FMA.
//!
//! Layout of the packed operands, per k-pair `p` (k = 2p, 2p+1):
//! - A panel (MR rows): `MR` u32 words, word `r` = (A[r, 2p], A[r, 2p+1]), broadcast to all lanes;
//! - B panel (NR = 32 columns): two vectors of 16 word pairs, lane `j` = (B[2p, j], B[2p+1, j]).
//!
//! Then `acc[r][j] += A[r,2p] B[2p,j] + A[r,2p+1] B[2p+1,j]` is one `vdpbf16ps` per (r, half).
//! Blocking: `KC` k-values per pass; per pass, A and B are packed once (B in parallel, both into
//! buffers reused across passes), B is walked in column blocks of `PANELS_PER_BLOCK` panels that
//! stay in L2 while every row block of A passes over them, and rows are split across threads
//! (each thread owns whole rows of the output). Each tile is written straight into the output
//! (overwritten on the first pass, accumulated after), masked at ragged edges. Zero padding
//! handles odd `k`. Machines without AVX512-BF16 use [`crate::gemm`] on f32 copies.

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

/// Packs `B[k0..k0+kc, :]` into `out` as panels of NR columns (k-pairs interleaved),
/// zero-padded, panels in parallel. The buffer is reused across k blocks: a fresh multi-MiB
/// allocation per block costs page faults that show in the profile.
fn pack_b(b: &MatRef<'_, bf16>, k0: usize, kc: usize, n: usize, parallel: bool, out: &mut Vec<u16>) {
    let kp = kc.div_ceil(2);
    let psize = kp * NR * 2;
    out.clear();
    out.resize(n.div_ceil(NR) * psize, 0);
    let pack = |p: usize, panel: &mut [u16]| {
        let c0 = p * NR;
        let nc = NR.min(n - c0);
        if b.rs == 1 {
            // B is the transpose of a row-major matrix (a weight used as x @ W^T): each column
            // is contiguous in k, so read it once, front to back.
            for j in 0..nc {
                let start = b.offset + k0 + (c0 + j) * b.cs;
                for (k, v) in b.data[start..start + kc].iter().enumerate() {
                    panel[(k / 2) * NR * 2 + j * 2 + k % 2] = v.to_bits();
                }
            }
        } else {
            // Row-major B: each k row of the panel is NR contiguous values.
            for k in 0..kc {
                let row = b.offset + (k0 + k) * b.rs + c0 * b.cs;
                let dst = &mut panel[(k / 2) * NR * 2 + k % 2..];
                for j in 0..nc {
                    dst[j * 2] = b.data[row + j * b.cs].to_bits();
                }
            }
        }
    };
    if parallel {
        use rayon::prelude::*;
        out.par_chunks_mut(psize).enumerate().for_each(|(p, panel)| pack(p, panel));
    } else {
        out.chunks_mut(psize).enumerate().for_each(|(p, panel)| pack(p, panel));
    }
}

/// Packs rows `i0..i0+rows` (<= MR) of `A[:, k0..k0+kc]` as k-pair words, zero-padded.
fn pack_a(a: &MatRef<'_, bf16>, i0: usize, rows: usize, k0: usize, kc: usize, out: &mut [u32]) {
    let kp = kc.div_ceil(2);
    if a.cs == 1 && rows == MR && kc.is_multiple_of(2) {
        // The common case (full block of a row-major A): k-pairs are adjacent halves, so each
        // word is two loads; MR rows advance together and each output group of MR words is
        // written once, front to back.
        let src: [&[bf16]; MR] = std::array::from_fn(|r| {
            let s = a.offset + (i0 + r) * a.rs + k0;
            &a.data[s..s + kc]
        });
        for (q, dst) in out[..kp * MR].chunks_exact_mut(MR).enumerate() {
            for (d, row) in dst.iter_mut().zip(&src) {
                let pair = &row[2 * q..2 * q + 2];
                *d = pair[0].to_bits() as u32 | (pair[1].to_bits() as u32) << 16;
            }
        }
        return;
    }
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

/// Where a micro-kernel's tile goes: `rows x cols` (at most MR x NR) of a row-major f32
/// matrix with row stride `ld`, starting at `c[0]`; `accumulate` adds to what is there
/// (later k blocks), otherwise overwrites (the first).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Tile<'a> {
    c: &'a mut [f32],
    ld: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
/// `tile (+)= sum over k-pairs` of the packed panels, written straight into the output
/// (masked at ragged edges) rather than through a scratch tile.
///
/// # Safety
/// The CPU must support AVX-512F and AVX512-BF16; `ap` holds `kp * MR` words, `bp` holds
/// `kp * NR * 2` halves, and `t.c` covers `(rows - 1) * ld + cols` elements.
unsafe fn micro(kp: usize, ap: &[u32], bp: &[u16], t: Tile<'_>) {
    use std::arch::x86_64::*;
    assert!(ap.len() >= kp * MR && bp.len() >= kp * NR * 2);
    assert!(t.rows >= 1 && t.rows <= MR && t.cols >= 1 && t.cols <= NR);
    assert!(t.c.len() >= (t.rows - 1) * t.ld + t.cols);
    if t.accumulate {
        // The tile was last touched a whole k block ago and is likely out of cache: start
        // fetching it now so that the loads after the loop do not stall.
        for r in 0..t.rows {
            // SAFETY: prefetches never fault; the addresses lie inside t.c anyway.
            let p = t.c.as_ptr().add(r * t.ld);
            _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(p.add(t.cols - 1) as *const i8);
        }
    }
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for q in 0..kp {
        // SAFETY: q < kp and the asserts above bound both panels; unaligned 64-byte loads.
        let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.as_ptr().add(q * NR * 2) as *const _));
        let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.as_ptr().add(q * NR * 2 + 32) as *const _));
        for r in 0..MR {
            let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(*ap.get_unchecked(q * MR + r) as i32));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    // Column masks of the two 16-lane halves (a constant-bound row loop keeps `acc` in
    // registers: a runtime bound would index it through memory).
    let m0: __mmask16 = if t.cols >= 16 { 0xFFFF } else { (1u16 << t.cols) - 1 };
    let m1: __mmask16 = if t.cols > 16 { ((1u32 << (t.cols - 16)) - 1) as u16 } else { 0 };
    for (r, a) in acc.iter().enumerate() {
        if r < t.rows {
            // SAFETY: row r < rows and lanes < cols lie inside t.c (asserted above); masked
            // lanes are neither read nor written.
            let p = t.c.as_mut_ptr().add(r * t.ld);
            let (mut v0, mut v1) = (a[0], a[1]);
            if t.cols == NR {
                // Full width: plain loads and stores (masked ones are slower on some cores).
                if t.accumulate {
                    v0 = _mm512_add_ps(v0, _mm512_loadu_ps(p));
                    v1 = _mm512_add_ps(v1, _mm512_loadu_ps(p.add(16)));
                }
                _mm512_storeu_ps(p, v0);
                _mm512_storeu_ps(p.add(16), v1);
                continue;
            }
            if t.accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, p));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, p.add(16)));
            }
            _mm512_mask_storeu_ps(p, m0, v0);
            _mm512_mask_storeu_ps(p.add(16), m1, v1);
        }
    }
}

/// Other architectures never reach the micro-kernel: [`available`] is false there.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn micro(_kp: usize, _ap: &[u32], _bp: &[u16], _t: Tile<'_>) {
    unreachable!("bf16 GEMM: AVX512-BF16 exists only on x86-64")
}

/// Panels per column block: 8 x 32 columns x KC k-values of bf16 is 256 KiB, which stays in
/// L2 while every row block of A passes over it.
const PANELS_PER_BLOCK: usize = 8;

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
    if m == 0 || n == 0 || k == 0 {
        dst[..m * n].fill(0.0);
        return;
    }
    let panels = n.div_ceil(NR);
    // Packed operands, reused across k blocks (fresh multi-MiB buffers each block cost page
    // faults: a fifth of the time at N = 2048).
    let (mut ap, mut bpk) = (Vec::new(), Vec::new());
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let kp = kc.div_ceil(2);
        let parallel = threads > 1 && kc * (m + n) >= 1 << 16;
        pack_b(&b, k0, kc, n, parallel, &mut bpk);
        // A: [row block][k-pair][MR] words.
        ap.clear();
        ap.resize(m.div_ceil(MR) * kp * MR, 0);
        let pack_block = |ib: usize, apb: &mut [u32]| pack_a(&a, ib * MR, MR.min(m - ib * MR), k0, kc, apb);
        if parallel {
            use rayon::prelude::*;
            ap.par_chunks_exact_mut(kp * MR).enumerate().for_each(|(ib, apb)| pack_block(ib, apb));
        } else {
            ap.chunks_exact_mut(kp * MR).enumerate().for_each(|(ib, apb)| pack_block(ib, apb));
        }
        // Whole rows per task: blocks of MR rows.
        let rows_per_task =
            if threads > 1 && m * n * kc >= 1 << 22 { m.div_ceil(threads).next_multiple_of(MR) } else { m };
        let task = |rows: &mut [f32], r0: usize| {
            // r0 is a multiple of MR: the task's rows are whole packed blocks of A.
            let nrows = rows.len() / n;
            let task_ap = &ap[r0 / MR * kp * MR..(r0 / MR + nrows.div_ceil(MR)) * kp * MR];
            // Column blocks of B outermost, so each stays in L2 across all row blocks.
            for pb in (0..panels).step_by(PANELS_PER_BLOCK) {
                for (ib, apb) in task_ap.chunks_exact(kp * MR).enumerate() {
                    let (i, mr) = (ib * MR, MR.min(nrows - ib * MR));
                    for p in pb..panels.min(pb + PANELS_PER_BLOCK) {
                        let (c0, nc) = (p * NR, NR.min(n - p * NR));
                        let tile = Tile {
                            c: &mut rows[i * n + c0..(i + mr - 1) * n + c0 + nc],
                            ld: n,
                            rows: mr,
                            cols: nc,
                            accumulate: k0 > 0,
                        };
                        // SAFETY: available() checked AVX-512F and AVX512-BF16 above; `apb`
                        // has kp * MR words, each B panel kp * NR * 2 halves (pack_b's
                        // layout), and the tile slice spans exactly mr rows of nc columns.
                        unsafe { micro(kp, apb, &bpk[p * kp * NR * 2..(p + 1) * kp * NR * 2], tile) };
                    }
                }
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
        // The last shape is large enough to split rows across threads and pack in parallel.
        for (m, n, k) in
            [(1, 1, 1), (3, 5, 7), (9, 33, 17), (17, 65, 600), (64, 31, 1025), (130, 100, 64), (200, 300, 700)]
        {
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
