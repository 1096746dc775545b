//! f32 GEMM against a right-hand side packed once and multiplied many times: `C [m, n] (+)= A
//! [m, k] B [k, n]` with `B` fixed (an RNN's `W_hh^T`, read at every time step).
//!
//! The `gemm` crate packs `B` on every call; for the skinny products of a recurrence (`m` = the
//! batch, 32, against a `512 x 2048` weight) that repacking costs as much as the arithmetic.
//! Here `B` is packed once into column panels of `W` floats (`[n / W][k][W]`, zero-padded),
//! each call packs only the small `A` block (`[k][MR]`), and a register-blocked micro-kernel
//! (`MR` rows x `W` columns of accumulators) streams a panel: intrinsics for AVX-512 (`8 x 32`,
//! 16 zmm) and AVX2 (`6 x 16`, 12 ymm), where compiler-vectorised arrays spill; portable code
//! (`4 x 16`) elsewhere, which NEON compiles to fused multiply-adds.

use crate::isa::{isa, Isa};
use crate::threads::for_each_block_mut;
use std::ops::Range;

/// `B [k, n]` packed into panels of `width` columns for [`matmul_packed`].
#[derive(Clone, Debug)]
pub struct PackedRhs {
    k: usize,
    n: usize,
    width: usize,
    /// `[ceil(n / width)][k][width]`, columns past `n` zero, from `buf[start]`.
    buf: Vec<f32>,
    start: usize,
}

/// A zeroed buffer of `len` floats whose element `start` is 64-byte aligned: a vector load
/// that straddles two cache lines costs two, which halves a GEMM micro-kernel's speed.
fn aligned_zeros(len: usize) -> (Vec<f32>, usize) {
    let buf = vec![0f32; len + 16];
    let start = buf.as_ptr().align_offset(64).min(16);
    (buf, start)
}

impl PackedRhs {
    /// Packs the `k x n` matrix whose element `(i, j)` is `b[off + i * rs + j * cs]`, in the
    /// panel width of the current ISA.
    ///
    /// # Panics
    /// When an addressed element lies outside `b` (a caller bug: shapes are checked above).
    pub fn new(b: &[f32], off: usize, rs: usize, cs: usize, k: usize, n: usize) -> PackedRhs {
        PackedRhs::with_width(b, off, rs, cs, k, n, width_of(isa()))
    }

    fn with_width(b: &[f32], off: usize, rs: usize, cs: usize, k: usize, n: usize, width: usize) -> PackedRhs {
        let panels = n.div_ceil(width);
        let (mut buf, start) = aligned_zeros(panels * k * width);
        let data = &mut buf[start..start + panels * k * width];
        for (p, panel) in data.chunks_mut((k * width).max(1)).enumerate().take(panels) {
            let cols = width.min(n - p * width);
            for (i, row) in panel.chunks_mut(width).enumerate() {
                for (j, v) in row[..cols].iter_mut().enumerate() {
                    *v = b[off + i * rs + (p * width + j) * cs];
                }
            }
        }
        PackedRhs { k, n, width, buf, start }
    }

    fn data(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.n.div_ceil(self.width) * self.k * self.width]
    }

    /// Rows of `B` (the inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of `B`.
    pub fn n(&self) -> usize {
        self.n
    }
}

fn width_of(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 32,
        _ => 16,
    }
}

/// One `MR x W` tile of products: `A block [k][MR] x panel [k][W]` (portable code).
#[inline(always)]
fn tile_portable<const MR: usize, const W: usize>(ap: &[f32], panel: &[f32]) -> [[f32; W]; MR] {
    let mut acc = [[0f32; W]; MR];
    for (bk, ak) in panel.chunks_exact(W).zip(ap.chunks_exact(MR)) {
        for r in 0..MR {
            for j in 0..W {
                acc[r][j] = if cfg!(target_arch = "aarch64") {
                    ak[r].mul_add(bk[j], acc[r][j]) // fused multiply-add is baseline on aarch64
                } else {
                    acc[r][j] + ak[r] * bk[j]
                };
            }
        }
    }
    acc
}

/// The AVX-512 tile: 8 rows x 32 columns in 16 zmm accumulators; per step of `k`, two panel
/// loads, eight broadcasts and sixteen FMAs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn tile_avx512(ap: &[f32], panel: &[f32]) -> [[f32; 32]; 8] {
    use std::arch::x86_64::*;
    let k = panel.len() / 32;
    assert!(ap.len() >= k * 8 && panel.len() >= k * 32, "tile_avx512: short blocks");
    let mut c = [[_mm512_setzero_ps(); 2]; 8];
    let (a, b) = (ap.as_ptr(), panel.as_ptr());
    for kk in 0..k {
        // SAFETY: kk < k and the assert above bound every read: b[kk*32 .. kk*32 + 32] and
        // a[kk*8 .. kk*8 + 8] lie inside the slices.
        unsafe {
            let b0 = _mm512_loadu_ps(b.add(kk * 32));
            let b1 = _mm512_loadu_ps(b.add(kk * 32 + 16));
            for (r, cr) in c.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(kk * 8 + r));
                cr[0] = _mm512_fmadd_ps(av, b0, cr[0]);
                cr[1] = _mm512_fmadd_ps(av, b1, cr[1]);
            }
        }
    }
    let mut out = [[0f32; 32]; 8];
    for (o, cr) in out.iter_mut().zip(&c) {
        // SAFETY: each row of `out` holds 32 floats, two 16-float stores.
        unsafe {
            _mm512_storeu_ps(o.as_mut_ptr(), cr[0]);
            _mm512_storeu_ps(o.as_mut_ptr().add(16), cr[1]);
        }
    }
    out
}

/// The AVX2 tile: 6 rows x 16 columns in 12 ymm accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_avx2(ap: &[f32], panel: &[f32]) -> [[f32; 16]; 6] {
    use std::arch::x86_64::*;
    let k = panel.len() / 16;
    assert!(ap.len() >= k * 6 && panel.len() >= k * 16, "tile_avx2: short blocks");
    let mut c = [[_mm256_setzero_ps(); 2]; 6];
    let (a, b) = (ap.as_ptr(), panel.as_ptr());
    for kk in 0..k {
        // SAFETY: kk < k and the assert above bound every read, as in `tile_avx512`.
        unsafe {
            let b0 = _mm256_loadu_ps(b.add(kk * 16));
            let b1 = _mm256_loadu_ps(b.add(kk * 16 + 8));
            for (r, cr) in c.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*a.add(kk * 6 + r));
                cr[0] = _mm256_fmadd_ps(av, b0, cr[0]);
                cr[1] = _mm256_fmadd_ps(av, b1, cr[1]);
            }
        }
    }
    let mut out = [[0f32; 16]; 6];
    for (o, cr) in out.iter_mut().zip(&c) {
        // SAFETY: each row of `out` holds 16 floats, two 8-float stores.
        unsafe {
            _mm256_storeu_ps(o.as_mut_ptr(), cr[0]);
            _mm256_storeu_ps(o.as_mut_ptr().add(8), cr[1]);
        }
    }
    out
}

/// Rows `c` (a block of whole rows of `C`, `ldc` apart) from the matching rows of `A`, with
/// `tile` computing each `MR x W` block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows_body<const MR: usize, const W: usize>(
    a: &[f32],
    lda: usize,
    row0: usize,
    b: &PackedRhs,
    panels: Range<usize>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    tile: impl Fn(&[f32], &[f32]) -> [[f32; W]; MR],
) {
    let k = b.k;
    let m = c.len().div_ceil(ldc.max(1));
    // Every A block [k][MR] first (rows past m zero): then each panel of B is streamed from
    // memory once and reused, while cached, by every row block.
    let blocks = m.div_ceil(MR);
    let (mut buf, start) = aligned_zeros(blocks * k * MR);
    let ap = &mut buf[start..start + blocks * k * MR];
    for (blk, dst) in ap.chunks_exact_mut(k * MR).enumerate() {
        let rows = MR.min(m - blk * MR);
        for (kk, d) in dst.chunks_exact_mut(MR).enumerate() {
            for (r, v) in d.iter_mut().enumerate().take(rows) {
                *v = a[(row0 + blk * MR + r) * lda + kk];
            }
        }
    }
    let ap = &*ap;
    // Column panels `panels` of B land at columns 0.. of `c`.
    let first = panels.start;
    for (p, panel) in b.data().chunks_exact(k * W).enumerate().skip(first).take(panels.len()) {
        let (col0, cols) = ((p - first) * W, W.min(b.n - p * W));
        for (blk, apb) in ap.chunks_exact(k * MR).enumerate() {
            let (r0, rows) = (blk * MR, MR.min(m - blk * MR));
            let acc = tile(apb, panel);
            for (r, row) in acc.iter().enumerate().take(rows) {
                let dst = &mut c[(r0 + r) * ldc + col0..(r0 + r) * ldc + col0 + cols];
                if accumulate {
                    dst.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
                } else {
                    dst.copy_from_slice(&row[..cols]);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    isa: Isa,
    a: &[f32],
    lda: usize,
    row0: usize,
    b: &PackedRhs,
    panels: Range<usize>,
    c: &mut [f32],
    ldc: usize,
    acc: bool,
) {
    #[cfg(target_arch = "x86_64")]
    match (isa.min(crate::isa::best()), b.width) {
        (Isa::Avx512, 32) => {
            // SAFETY: `best()` is AVX-512 only after run-time detection of avx512f and fma.
            return rows_body::<8, 32>(a, lda, row0, b, panels, c, ldc, acc, |x, y| unsafe { tile_avx512(x, y) });
        }
        (Isa::Avx2 | Isa::Avx512, 16) => {
            // SAFETY: `best()` is AVX2 or better only after detection of avx2 and fma.
            return rows_body::<6, 16>(a, lda, row0, b, panels, c, ldc, acc, |x, y| unsafe { tile_avx2(x, y) });
        }
        _ => {}
    }
    match b.width {
        32 => rows_body::<4, 32>(a, lda, row0, b, panels, c, ldc, acc, tile_portable::<4, 32>),
        _ => rows_body::<4, 16>(a, lda, row0, b, panels, c, ldc, acc, tile_portable::<4, 16>),
    }
}

/// `C [m, n] (+)= A [m, k] B` with `A` row-major (`lda` apart) and `C` row-major (`ldc`
/// apart); rows are split across threads when the product is large enough.
///
/// # Panics
/// When `A` or `C` is too short for `m` rows (a caller bug).
pub fn matmul_packed(m: usize, a: &[f32], lda: usize, b: &PackedRhs, c: &mut [f32], ldc: usize, accumulate: bool) {
    matmul_packed_on(crate::threads::num_threads(), m, a, lda, b, c, ldc, accumulate)
}

/// [`matmul_packed`] on at most `threads` threads (1 from inside a task that already has its
/// own share of the work, e.g. one block of an RNN's batch rows).
///
/// # Panics
/// When `A` or `C` is too short for `m` rows (a caller bug).
#[allow(clippy::too_many_arguments)]
pub fn matmul_packed_on(
    threads: usize,
    m: usize,
    a: &[f32],
    lda: usize,
    b: &PackedRhs,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    packed_product(isa(), threads, m, a, lda, b, c, ldc, accumulate)
}

/// The product on a chosen ISA (tests compare every path) and thread count.
#[allow(clippy::too_many_arguments)]
fn packed_product(
    isa: Isa,
    threads: usize,
    m: usize,
    a: &[f32],
    lda: usize,
    b: &PackedRhs,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    if m == 0 || b.n == 0 {
        return;
    }
    assert!(b.n <= ldc && c.len() >= (m - 1) * ldc + b.n, "matmul_packed: C is too small");
    assert!(b.k <= lda || m == 1, "matmul_packed: lda < k");
    assert!(a.len() >= (m - 1) * lda + b.k, "matmul_packed: A is too small");
    let c = &mut c[..(m - 1) * ldc + b.n];
    if b.k == 0 {
        // An empty sum: C = 0 (or unchanged when accumulating).
        if !accumulate {
            c.chunks_mut(ldc).for_each(|row| row[..b.n].fill(0.0));
        }
        return;
    }
    split(isa, m, a, lda, b, c, ldc, accumulate, threads.max(1))
}

/// The product shared among `threads` (the split is tested directly at any count).
#[allow(clippy::too_many_arguments)]
fn split(
    isa: Isa,
    m: usize,
    a: &[f32],
    lda: usize,
    b: &PackedRhs,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    threads: usize,
) {
    let work = m * b.n * b.k;
    let panels = b.n.div_ceil(b.width);
    if threads == 1 || work < 1 << 21 {
        return dispatch(isa, a, lda, 0, b, 0..panels, c, ldc, accumulate);
    }
    if m >= 8 * threads {
        // Tall products: blocks of whole rows, one per thread.
        let rows_per = m.div_ceil(threads);
        return for_each_block_mut(c, rows_per * ldc, |blk, chunk| {
            dispatch(isa, a, lda, blk * rows_per, b, 0..panels, chunk, ldc, accumulate)
        });
    }
    // Skinny products (an RNN step): each thread takes a range of column panels, so each
    // streams only its share of B, into its own [m, cols] block; then the blocks are copied
    // into C's columns.
    let per = panels.div_ceil(threads);
    let width = per * b.width;
    let mut blocks = vec![0f32; panels.div_ceil(per) * m * width];
    for_each_block_mut(&mut blocks, m * width, |t, blk| {
        dispatch(isa, a, lda, 0, b, t * per..((t + 1) * per).min(panels), blk, width, false)
    });
    for (t, blk) in blocks.chunks_exact(m * width).enumerate() {
        let (col0, cols) = (t * width, width.min(b.n - t * width));
        for (r, src) in blk.chunks_exact(width).enumerate() {
            let dst = &mut c[r * ldc + col0..r * ldc + col0 + cols];
            if accumulate {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            } else {
                dst.copy_from_slice(&src[..cols]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
            }
        }
        c
    }

    #[test]
    fn every_isa_and_width_matches_the_naive_product() {
        for (m, k, n) in [(1, 1, 1), (5, 7, 3), (32, 64, 100), (13, 33, 65), (7, 0, 5), (40, 17, 32)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let want = naive(m, n, k, &a, &b);
            for isa in crate::isa::available() {
                for width in [16, 32] {
                    let p = PackedRhs::with_width(&b, 0, n, 1, k, n, width);
                    for accumulate in [false, true] {
                        let mut c = vec![1.0f32; m * n];
                        packed_product(isa, crate::threads::num_threads(), m, &a, k, &p, &mut c, n, accumulate);
                        for (i, (&g, &w)) in c.iter().zip(&want).enumerate() {
                            let w = if accumulate { w + 1.0 } else { w };
                            assert!((g as f64 - w).abs() < 1e-3, "{isa:?} w{width} {m}x{k}x{n} [{i}]: {g} vs {w}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn threaded_splits_by_rows_and_by_columns_agree_with_one_thread() {
        for (m, k, n) in [(5, 300, 1000), (64, 200, 300)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let p = PackedRhs::new(&b, 0, n, 1, k, n);
            let run = |threads: usize| {
                let mut c = vec![0.5f32; m * n];
                split(isa(), m, &a, k, &p, &mut c, n, true, threads);
                c
            };
            assert_eq!(run(1), run(3), "{m}x{k}x{n}");
        }
    }

    #[test]
    fn packs_transposed_views() {
        // B = T^T for T [n, k] row-major: element (i, j) = t[j * k + i].
        let (k, n) = (3, 5);
        let t: Vec<f32> = (0..n * k).map(|i| i as f32).collect();
        let p = PackedRhs::new(&t, 0, 1, k, k, n);
        let a = vec![1.0f32, 0.0, 0.0]; // picks row 0 of B = column 0 of T
        let mut c = vec![0f32; n];
        matmul_packed(1, &a, k, &p, &mut c, n, false);
        assert_eq!(c, (0..n).map(|j| (j * k) as f32).collect::<Vec<_>>());
    }
}
