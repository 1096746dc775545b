//! Out-of-place matrix transpose: `out[i * cols + j] = src[base + i + j * stride]`, the
//! row-major copy of a column-major view (`w.t()` of a row-major `w`).
//!
//! Why a kernel: the GEMM crate streams a column-major right operand badly (its packing reads
//! it with a large stride; 0.33 ms for `[16, 512] x [512, 512]ᵀ` against 0.04 ms with the
//! operand row-major), so `x @ W.t()` transposes `W` first. A plain loop touches a new cache
//! line per element on one side, and when the stride is a power of two (512 or 1024 floats)
//! those lines fall into a few cache sets and evict each other (1.1 ms for 512 x 512 here).
//! Tiles keep both sides in cache; 4-byte elements go through 8 x 8 register transposes
//! (AVX, on every x86-64 CPU with AVX2), written as whole 64-byte lines.

/// Tile edge of the portable path: 16 lines of either side stay in L1 even when the stride
/// maps them to the same cache sets (16 x 16 scalar copies; 32 measured slower at 512 and
/// 1024, 8 slower at odd sizes).
const TILE: usize = 16;

/// Transposes the `rows x cols` column-major view of `src` starting at `base` (column `j`
/// starts at `base + j * stride`, its elements contiguous) into row-major `out`
/// (`rows * cols` elements).
///
/// # Panics
/// When the view does not fit in `src` or `out` is shorter than `rows * cols`.
pub fn transpose<T: Copy>(src: &[T], base: usize, stride: usize, rows: usize, cols: usize, out: &mut [T]) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(out.len() >= rows * cols, "transpose: output too short");
    assert!(base + (cols - 1) * stride + rows <= src.len(), "transpose: view exceeds its buffer");
    #[cfg(target_arch = "x86_64")]
    if std::mem::size_of::<T>() == 4 && std::mem::align_of::<T>() == 4 && crate::isa::isa() >= crate::isa::Isa::Avx2 {
        // SAFETY: T is a Copy type of size and alignment 4, so its slices reinterpret as u32
        // slices of the same length (every bit pattern is a valid u32; only bits are moved,
        // so the copies are valid T again).
        let (s, o) = unsafe {
            (
                std::slice::from_raw_parts(src.as_ptr() as *const u32, src.len()),
                std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u32, out.len()),
            )
        };
        // SAFETY: AVX2 was detected at run time (`isa()` never reports more than the CPU has).
        unsafe { avx::transpose_u32(s, base, stride, rows, cols, o) };
        return;
    }
    transpose_tiled(src, base, stride, rows, cols, out);
}

/// The portable path: [`TILE`] x [`TILE`] blocks of element copies.
fn transpose_tiled<T: Copy>(src: &[T], base: usize, stride: usize, rows: usize, cols: usize, out: &mut [T]) {
    for ib in (0..rows).step_by(TILE) {
        let ie = (ib + TILE).min(rows);
        for jb in (0..cols).step_by(TILE) {
            let je = (jb + TILE).min(cols);
            for i in ib..ie {
                for (j, d) in (jb..je).zip(&mut out[i * cols + jb..i * cols + je]) {
                    *d = src[base + i + j * stride];
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    /// 16 x 16 tiles, band by band of 16 output rows: each tile loads 16 whole source lines
    /// (64 bytes each) and stores 16 whole output lines, so no line is visited twice and the
    /// cache's associativity never matters (at 1024 x 1024 both strides are 4 KiB and all 16
    /// lines share one cache set: visiting each line in two halves, as 8 x 8 blocks do, reads
    /// or writes it twice from L2). The strips left at the right and bottom go in 8 x 8 blocks
    /// where they fit, the rest by the portable path.
    ///
    /// # Safety
    /// The CPU must have AVX2; the bounds were checked by the caller (`transpose`).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn transpose_u32(
        src: &[u32],
        base: usize,
        stride: usize,
        rows: usize,
        cols: usize,
        out: &mut [u32],
    ) {
        let (rows16, cols16) = (rows / 16 * 16, cols / 16 * 16);
        let v = View { src: src.as_ptr() as *const f32, base, stride, out: out.as_mut_ptr() as *mut f32, cols };
        for ib in (0..rows16).step_by(16) {
            for jb in (0..cols16).step_by(16) {
                // SAFETY: the 16 x 16 block at (ib, jb) is inside the view and the output.
                unsafe { tile16(&v, ib, jb) };
            }
        }
        // SAFETY: both strips are inside the view (rows16 <= rows, cols16 <= cols).
        unsafe {
            strip(&v, 0..rows16, cols16..cols);
            strip(&v, rows16..rows, 0..cols);
        }
    }

    /// Raw view of the operands: `out[i * cols + j] = src[base + i + j * stride]`.
    struct View {
        src: *const f32,
        base: usize,
        stride: usize,
        out: *mut f32,
        cols: usize,
    }

    /// # Safety
    /// Rows `ib..ib + 16` and columns `jb..jb + 16` are inside the view and the output.
    #[target_feature(enable = "avx2")]
    unsafe fn tile16(v: &View, ib: usize, jb: usize) {
        // SAFETY: the caller's guarantee covers every address below.
        unsafe {
            // Source column jb + j, rows ib..ib+16: one whole line as two halves.
            let mut lo = [_mm256_setzero_ps(); 16];
            let mut hi = [_mm256_setzero_ps(); 16];
            for j in 0..16 {
                let p = v.src.add(v.base + ib + (jb + j) * v.stride);
                lo[j] = _mm256_loadu_ps(p);
                hi[j] = _mm256_loadu_ps(p.add(8));
            }
            let first = |r: &[__m256; 16], h: usize| {
                transpose8([r[h], r[h + 1], r[h + 2], r[h + 3], r[h + 4], r[h + 5], r[h + 6], r[h + 7]])
            };
            // Output rows ib + r (r < 8) come from `lo`, rows ib + 8 + r from `hi`; their left
            // halves from source columns jb..jb+8, right halves from jb+8..jb+16.
            for (half, rows) in [(0, &lo), (8, &hi)] {
                let (left, right) = (first(rows, 0), first(rows, 8));
                for r in 0..8 {
                    let o = v.out.add((ib + half + r) * v.cols + jb);
                    _mm256_storeu_ps(o, left[r]);
                    _mm256_storeu_ps(o.add(8), right[r]);
                }
            }
        }
    }

    /// The rectangle `is x js`: 8 x 8 register blocks over its whole 8-blocks, elements for
    /// the rest.
    ///
    /// # Safety
    /// The rectangle is inside the view and the output.
    #[target_feature(enable = "avx2")]
    unsafe fn strip(v: &View, is: std::ops::Range<usize>, js: std::ops::Range<usize>) {
        let i8 = is.start + (is.end - is.start) / 8 * 8;
        let j8 = js.start + (js.end - js.start) / 8 * 8;
        // SAFETY: every block and element is inside the rectangle (the caller's guarantee).
        unsafe {
            for ib in (is.start..i8).step_by(8) {
                for jb in (js.start..j8).step_by(8) {
                    let r = |j: usize| _mm256_loadu_ps(v.src.add(v.base + ib + (jb + j) * v.stride));
                    let t = transpose8([r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7)]);
                    for (i, x) in t.into_iter().enumerate() {
                        _mm256_storeu_ps(v.out.add((ib + i) * v.cols + jb), x);
                    }
                }
            }
            for i in is.clone() {
                for j in js.clone() {
                    if i >= i8 || j >= j8 {
                        *v.out.add(i * v.cols + j) = *v.src.add(v.base + i + j * v.stride);
                    }
                }
            }
        }
    }

    /// The 8 x 8 transpose of eight rows held in registers.
    #[inline(always)]
    unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive<T: Copy + Default>(src: &[T], base: usize, stride: usize, rows: usize, cols: usize) -> Vec<T> {
        let mut out = vec![T::default(); rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                out[i * cols + j] = src[base + i + j * stride];
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_on_ragged_and_power_of_two_shapes() {
        for (rows, cols, pad) in [
            (1, 1, 0),
            (7, 9, 3),
            (8, 8, 0),
            (9, 17, 1),
            (16, 16, 0),
            (33, 70, 5),
            (64, 512, 0),
            (512, 24, 7),
            (130, 3, 0),
        ] {
            let stride = rows + pad;
            let base = 3;
            let src32: Vec<f32> = (0..base + cols * stride).map(|v| v as f32).collect();
            let src64: Vec<f64> = src32.iter().map(|&v| v as f64).collect();
            let src16: Vec<u16> = (0..src32.len()).map(|v| v as u16).collect();
            let mut o32 = vec![f32::NAN; rows * cols];
            let mut o64 = vec![f64::NAN; rows * cols];
            let mut o16 = vec![0u16; rows * cols];
            transpose(&src32, base, stride, rows, cols, &mut o32);
            transpose(&src64, base, stride, rows, cols, &mut o64);
            transpose(&src16, base, stride, rows, cols, &mut o16);
            assert_eq!(o32, naive(&src32, base, stride, rows, cols), "{rows}x{cols}");
            assert_eq!(o64, naive(&src64, base, stride, rows, cols), "{rows}x{cols}");
            assert_eq!(o16, naive(&src16, base, stride, rows, cols), "{rows}x{cols}");
        }
    }

    #[test]
    #[should_panic(expected = "exceeds its buffer")]
    fn a_view_past_the_end_is_refused() {
        let mut out = vec![0.0f32; 16];
        transpose(&[0.0f32; 15], 0, 4, 4, 4, &mut out);
    }
}
