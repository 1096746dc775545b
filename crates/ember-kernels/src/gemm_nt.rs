//! `C [m, n] (+)= A [m, k] Bᵀ` for `B [n, k]` row-major and a few rows `m`: `nn.Linear`'s
//! `x Wᵀ` on small batches. Every output is the dot product of two contiguous rows, so neither
//! operand is packed: each weight row streams from memory once. With few rows that read bounds
//! the product (a `[16, 768] x [3072, 768]ᵀ` layer touches 9.4 MB of weights for 38 M
//! multiply-adds), and a GEMM that packs the weight first reads it twice and writes it once.
//!
//! Register tiles: 4 rows of A by 4 rows of B in 16 zmm accumulators on AVX-512 (per 16
//! elements of k: 8 loads, 16 FMAs), 4 by 2 in 8 ymm accumulators on AVX2, each reduced across
//! its lanes at the end. Threads take disjoint blocks of B's rows (C's columns); their results
//! land in a column-major scratch `[n, m]` that is transposed into C.

use crate::isa::{self, Isa};
use crate::threads;

/// Rows of A and of B per register tile.
const TR: usize = 4;
const TC: usize = 4;

/// `out[r][c] = a_r . b_c` for `R` rows of A (`lda` apart) and `C` rows of B (`ldb` apart),
/// each `k` long; portable code.
#[inline(always)]
fn tile_portable<const R: usize, const C: usize>(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    k: usize,
) -> [[f32; TC]; TR] {
    const L: usize = 8;
    let mut acc = [[[0.0f32; L]; C]; R];
    let full = k / L * L;
    for p in (0..full).step_by(L) {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let av = &a[r * lda + p..r * lda + p + L];
            for (c, acc_rc) in acc_r.iter_mut().enumerate() {
                let bv = &b[c * ldb + p..c * ldb + p + L];
                for l in 0..L {
                    acc_rc[l] = av[l].mul_add(bv[l], acc_rc[l]);
                }
            }
        }
    }
    let mut out = [[0.0f32; TC]; TR];
    for r in 0..R {
        for c in 0..C {
            let tail: f32 = (full..k).map(|q| a[r * lda + q] * b[c * ldb + q]).sum();
            out[r][c] = acc[r][c].iter().sum::<f32>() + tail;
        }
    }
    out
}

/// The AVX-512 tile (see the module notes); every load is masked, so the tail of k needs no
/// second loop.
///
/// # Safety
/// The CPU must have AVX-512F; `a` must hold `(R - 1) * lda + k` elements and `b`
/// `(C - 1) * ldb + k` (the caller's bounds check).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn tile_avx512<const R: usize, const C: usize>(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    k: usize,
) -> [[f32; TC]; TR] {
    use std::arch::x86_64::*;
    debug_assert!(a.len() >= (R - 1) * lda + k && b.len() >= (C - 1) * ldb + k);
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    // One step of 16 elements of k from p, loading with `mask` (a macro, not a closure: a
    // closure would not inherit this function's target features).
    macro_rules! step {
        ($p:expr, $load:expr) => {
            // SAFETY: each load reads elements of p..p + 16 below k only (plain loads when
            // p + 16 <= k, masked ones for the tail, whose masked-off lanes are not accessed
            // and cannot fault), inside each row's slice by the caller's bound on a and b.
            unsafe {
                let bv: [__m512; C] = std::array::from_fn(|c| $load(bp.add(c * ldb + $p)));
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let av = $load(ap.add(r * lda + $p));
                    for (acc_rc, bvc) in acc_r.iter_mut().zip(&bv) {
                        *acc_rc = _mm512_fmadd_ps(av, *bvc, *acc_rc);
                    }
                }
            }
        };
    }
    let full = k / 16 * 16;
    for p in (0..full).step_by(16) {
        step!(p, _mm512_loadu_ps);
    }
    if full < k {
        let mask = ((1u32 << (k - full)) - 1) as u16;
        step!(full, |ptr| _mm512_maskz_loadu_ps(mask, ptr));
    }
    let mut out = [[0.0f32; TC]; TR];
    for r in 0..R {
        for c in 0..C {
            out[r][c] = _mm512_reduce_add_ps(acc[r][c]);
        }
    }
    out
}

/// The AVX2 tile: `R` (up to 4) by `C` (up to 2) rows; the tail of k is added in scalar code.
///
/// # Safety
/// The CPU must have AVX2 and FMA; the bounds of `tile_avx512`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize, const C: usize>(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    k: usize,
) -> [[f32; TC]; TR] {
    use std::arch::x86_64::*;
    debug_assert!(a.len() >= (R - 1) * lda + k && b.len() >= (C - 1) * ldb + k);
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let full = k / 8 * 8;
    let mut p = 0;
    while p < full {
        // SAFETY: p + 8 <= k: every row's 8 elements from p lie inside its slice.
        unsafe {
            let bv: [__m256; C] = std::array::from_fn(|c| _mm256_loadu_ps(bp.add(c * ldb + p)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let av = _mm256_loadu_ps(ap.add(r * lda + p));
                for (acc_rc, bvc) in acc_r.iter_mut().zip(&bv) {
                    *acc_rc = _mm256_fmadd_ps(av, *bvc, *acc_rc);
                }
            }
        }
        p += 8;
    }
    let mut out = [[0.0f32; TC]; TR];
    for r in 0..R {
        for c in 0..C {
            let mut lanes = [0.0f32; 8];
            // SAFETY: `lanes` holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][c]) };
            let tail: f32 = (full..k).map(|q| a[r * lda + q] * b[c * ldb + q]).sum();
            out[r][c] = lanes.iter().sum::<f32>() + tail;
        }
    }
    out
}

/// Rows of B per tile on `isa` (AVX2 has 16 registers: 4 x 2 accumulators).
fn tile_cols(isa: Isa) -> usize {
    if isa.min(isa::best()) == Isa::Avx2 {
        2
    } else {
        TC
    }
}

/// One tile of `r <= 4` rows of A by `c <= tile_cols(isa)` rows of B on `isa`.
#[allow(clippy::too_many_arguments)]
fn tile(isa: Isa, r: usize, c: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize, k: usize) -> [[f32; TC]; TR] {
    assert!(
        (1..=TR).contains(&r)
            && (1..=tile_cols(isa)).contains(&c)
            && a.len() >= (r - 1) * lda + k
            && b.len() >= (c - 1) * ldb + k,
        "gemm_nt: tile outside its operands"
    );
    macro_rules! pick {
        ($f:ident, $($r:literal, $c:literal);*) => {
            match (r, c) {
                $(($r, $c) => $f::<$r, $c>(a, lda, b, ldb, k),)*
                _ => unreachable!("gemm_nt: tile of {r} x {c}"),
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    match isa.min(isa::best()) {
        // SAFETY (both arms): the instruction set was detected at run time (`best()`), and
        // the assert above is the bound the tiles need.
        Isa::Avx512 => {
            return unsafe {
                pick!(tile_avx512, 1,1; 1,2; 1,3; 1,4; 2,1; 2,2; 2,3; 2,4; 3,1; 3,2; 3,3; 3,4; 4,1; 4,2; 4,3; 4,4)
            }
        }
        Isa::Avx2 => return unsafe { pick!(tile_avx2, 1,1; 1,2; 2,1; 2,2; 3,1; 3,2; 4,1; 4,2) },
        _ => {}
    }
    let _ = isa;
    pick!(tile_portable, 1,1; 1,2; 1,3; 1,4; 2,1; 2,2; 2,3; 2,4; 3,1; 3,2; 3,3; 3,4; 4,1; 4,2; 4,3; 4,4)
}

/// `rows` rows of B starting at row `j0` times every row of A, as `out[(j - j0) * m + i]`
/// (column-major: one contiguous run of m per row of B).
#[allow(clippy::too_many_arguments)]
fn block(
    isa: Isa,
    m: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    j0: usize,
    rows: usize,
    out: &mut [f32],
) {
    let tc = tile_cols(isa);
    for jt in (0..rows).step_by(tc) {
        let c = (rows - jt).min(tc);
        let bt = &b[(j0 + jt) * ldb..];
        for it in (0..m).step_by(TR) {
            let r = (m - it).min(TR);
            let t = tile(isa, r, c, &a[it * lda..], lda, bt, ldb, k);
            for (cc, col) in out[jt * m..(jt + c) * m].chunks_exact_mut(m).enumerate() {
                for (rr, row) in t.iter().enumerate().take(r) {
                    col[it + rr] = row[cc];
                }
            }
        }
    }
}

/// Whether [`matmul_nt`] beats a packing GEMM for `[m, k] x [n, k]ᵀ`. Measured on one core
/// (Xeon, AVX-512; µs, faer's packing GEMM / this): `[768, 3072]` weights 1122/383 at m = 2,
/// 1445/773 at 8, 1846/1227 at 16, 2473/1926 at 32, 2873/3667 at 64; `[768, 768]` 287/114 at
/// 8, 354/263 at 16, 472/445 at 32; a small `[128, 384]` weight 12/8 at 4 but 11/15 at 8. The
/// fewer the rows, the more the weight's single read decides the time.
pub fn worthwhile(m: usize, n: usize, k: usize) -> bool {
    let weight = n.saturating_mul(k);
    (2..=4).contains(&m) && weight >= 1 << 12 || m <= 16 && weight >= 1 << 19 || m <= 32 && weight >= 1 << 21
}

/// `c[i * ldc + j] (+)= a_i . b_j` for `A [m, k]` (rows `lda` apart), `B [n, k]` (rows `ldb`
/// apart), on up to `threads` threads (`accumulate`: add to `c`'s values).
///
/// # Panics
/// When an operand does not hold the rows its shape and stride say.
#[allow(clippy::too_many_arguments)]
pub fn matmul_nt(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    threads: usize,
) {
    matmul_nt_isa(isa::isa(), m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads)
}

/// [`matmul_nt`] on a chosen instruction set (tests force each one the CPU has).
#[allow(clippy::too_many_arguments)]
pub fn matmul_nt_isa(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.len() >= (m - 1) * lda + k
            && b.len() >= (n - 1) * ldb + k
            && c.len() >= (m - 1) * ldc + n
            && lda >= k
            && ldb >= k
            && ldc >= n,
        "gemm_nt: operands shorter than their shapes"
    );
    // Blocks of B's rows per task: whole tiles, at least PARALLEL_MIN_WORK multiply-adds, and
    // a split only where it pays (the GEMM's rule: enough work for the fork, or a thin product
    // that streams a large weight).
    let per = if threads > 1 && crate::gemm::split_pays(m, n, k) {
        (threads::PARALLEL_MIN_WORK / (m * k).max(1))
            .max(16)
            .next_multiple_of(TC)
            .max(n.div_ceil(4 * threads).next_multiple_of(TC))
    } else {
        n
    };
    let mut tmp = vec![0.0f32; n * m];
    if per >= n {
        block(isa, m, k, a, lda, b, ldb, 0, n, &mut tmp);
    } else {
        threads::for_each_block_mut(&mut tmp, per * m, |blk, out| {
            block(isa, m, k, a, lda, b, ldb, blk * per, out.len() / m, out)
        });
    }
    // [n, m] -> C [m, n]: m is small, each output row gathers one element per row of B.
    for (i, row) in c.chunks_mut(ldc).take(m).enumerate() {
        for (j, o) in row[..n].iter_mut().enumerate() {
            let v = tmp[j * m + i];
            *o = if accumulate { *o + v } else { v };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * lda + p] as f64 * b[j * ldb + p] as f64).sum();
            }
        }
        c
    }

    #[test]
    fn every_isa_and_edge_shape_matches_the_definition() {
        for isa in isa::available() {
            for &(m, n, k) in &[(1, 1, 1), (2, 3, 5), (4, 4, 16), (5, 7, 17), (9, 13, 33), (16, 40, 100), (3, 70, 768)]
            {
                let (lda, ldb, ldc) = (k + 3, k + 1, n + 2);
                let a: Vec<f32> = (0..m * lda).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
                let b: Vec<f32> = (0..n * ldb).map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0).collect();
                let want = naive(m, n, k, &a, lda, &b, ldb);
                for threads in [1, 3] {
                    for accumulate in [false, true] {
                        let mut c = vec![1.5f32; m * ldc];
                        matmul_nt_isa(isa, m, n, k, &a, lda, &b, ldb, &mut c, ldc, accumulate, threads);
                        for i in 0..m {
                            for j in 0..n {
                                let w = want[i * n + j] + if accumulate { 1.5 } else { 0.0 };
                                let got = c[i * ldc + j] as f64;
                                assert!(
                                    (got - w).abs() <= 1e-4 * (1.0 + w.abs()),
                                    "{isa:?} {m}x{n}x{k} ({i},{j}): {got} vs {w}"
                                );
                            }
                            assert!(c[i * ldc + n..i * ldc + ldc].iter().all(|&v| v == 1.5), "padding written");
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "shorter than their shapes")]
    fn short_operands_panic_before_unsafe_code() {
        let mut c = vec![0.0f32; 4];
        matmul_nt(2, 2, 4, &[0.0; 7], 4, &[0.0; 8], 4, &mut c, 2, false, 1);
    }
}
