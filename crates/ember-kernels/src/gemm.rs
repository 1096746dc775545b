//! Matrix multiply: `dst (m x n) = lhs (m x k) * rhs (k x n)` (optionally `+= `), over strided
//! matrices, so transposed views multiply without a copy.
//!
//! f32, f64 and f16 go to the `gemm` crate (AVX-512/AVX2/NEON micro-kernels chosen at run time);
//! bf16 uses the AVX512-BF16 kernel in `bf16gemm.rs` where the CPU has it and the product is
//! large enough, and is otherwise converted to f32 first; integers use a plain triple loop. The safe wrappers check
//! that every addressed element lies inside its slice, which is what makes the `unsafe` call
//! into `gemm` sound.

use half::{bf16, f16};

/// A strided read-only matrix inside a slice: element `(i, j)` is `data[offset + i*rs + j*cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    /// The backing slice.
    pub data: &'a [T],
    /// Index of element (0, 0).
    pub offset: usize,
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
}

/// The destination of a product: element `(i, j)` is `data[offset + i*rs + j*cs]`.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    /// The backing slice.
    pub data: &'a mut [T],
    /// Index of element (0, 0).
    pub offset: usize,
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
}

fn last_index(offset: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    offset + (rows - 1) * rs + (cols - 1) * cs
}

fn check_bounds(m: usize, n: usize, k: usize, len: [usize; 3], mats: [(usize, usize, usize); 3]) {
    let dims = [(m, n), (m, k), (k, n)];
    for ((&(r, c), &(off, rs, cs)), &l) in dims.iter().zip(&mats).zip(&len) {
        if r > 0 && c > 0 {
            assert!(last_index(off, r, c, rs, cs) < l, "gemm: matrix exceeds its buffer");
        }
    }
}

/// Element types that [`matmul`] supports.
pub trait GemmElem: Copy + Send + Sync + 'static {
    /// Computes the product; see [`matmul`].
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        dst: MatMut<'_, Self>,
        lhs: MatRef<'_, Self>,
        rhs: MatRef<'_, Self>,
        accumulate: bool,
        threads: usize,
    );
}

fn parallelism(m: usize, n: usize, k: usize, threads: usize) -> gemm::Parallelism {
    // Called from a thread outside the pool, a split hands both halves to the workers and the
    // caller sleeps until they finish: below ~8M multiply-adds (~40 us on one core) that round
    // trip, and the idle workers spinning against the caller afterwards, cost more than the
    // split saves (measured: a 128x512x10 product takes 17 us on one thread and 29 us on two).
    // From a pool thread (Ember's Python module, `run_in_pool`) the caller computes half
    // itself, and splitting pays from ~2M (measured on 2 cores: 768x64x64, 39 -> 23 us;
    // 128x128x128, 27 -> 21 us).
    // A product with a thin side (decode: one activation row) streams the other operand
    // once and is bandwidth-bound: splitting pays from 2^18 of its elements (1 MiB of f32,
    // ~50 us) on.
    if threads > 1 && split_pays(m, n, k) {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// Whether splitting an `m x n x k` product across threads pays (see [`parallelism`]; shared
/// with `gemm_nt`).
pub(crate) fn split_pays(m: usize, n: usize, k: usize) -> bool {
    let streamed = m.min(n) <= 4 && k.saturating_mul(m.max(n)) >= 1 << 18;
    let min_work = if crate::threads::in_pool() { 1 << 21 } else { 1 << 23 };
    streamed || m.saturating_mul(n).saturating_mul(k) >= min_work
}

const LANES: usize = 16;

#[inline(always)]
fn dot_f32_body(x: &[f32], w: &[f32], out: &mut f32) {
    let mut acc = [0.0f32; LANES];
    let (xc, wc) = (x.chunks_exact(LANES), w.chunks_exact(LANES));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    for (a, b) in xc.zip(wc) {
        for i in 0..LANES {
            acc[i] = a[i].mul_add(b[i], acc[i]);
        }
    }
    *out = acc.iter().sum::<f32>() + xr.iter().zip(wr).map(|(a, b)| a * b).sum::<f32>();
}

crate::simd_dispatch!(fn dot_f32 / dot_f32_isa(x: &[f32], w: &[f32], out: &mut f32) => dot_f32_body);

/// Decode's `x [1, K] * W^T` with `W [N, K]` row-major (rhs columns contiguous): each output is
/// one dot product streaming a weight row, the rows split across threads (the `gemm` crate
/// runs such thin products on one thread). Returns whether it applied.
fn gemv_rows_f32(
    n: usize,
    k: usize,
    dst: &mut MatMut<'_, f32>,
    lhs: &MatRef<'_, f32>,
    rhs: &MatRef<'_, f32>,
    accumulate: bool,
    threads: usize,
) -> bool {
    if lhs.cs != 1 || rhs.rs != 1 || dst.cs != 1 || n.saturating_mul(k) < 1 << 16 {
        return false;
    }
    let x = &lhs.data[lhs.offset..lhs.offset + k];
    let out = &mut dst.data[dst.offset..dst.offset + n];
    // One block (no fork) when the caller asked for one thread.
    let per = if threads > 1 { (crate::threads::PARALLEL_MIN_WORK / k.max(1)).max(16) } else { n };
    crate::threads::for_each_block_mut(out, per, |blk, o| {
        for (j, o) in o.iter_mut().enumerate() {
            let at = rhs.offset + (blk * per + j) * rhs.cs;
            let mut s = 0.0;
            dot_f32(x, &rhs.data[at..at + k], &mut s);
            *o = if accumulate { *o + s } else { s };
        }
    });
    true
}

/// Element types without a row-streaming path: the `gemm` crate takes every product.
fn no_gemv<T>(
    _: usize,
    _: usize,
    _: &mut MatMut<'_, T>,
    _: &MatRef<'_, T>,
    _: &MatRef<'_, T>,
    _: bool,
    _: usize,
) -> bool {
    false
}

macro_rules! gemm_crate_impl {
    ($t:ty, $zero:expr, $one:expr, $gemv:ident) => {
        impl GemmElem for $t {
            fn gemm(
                m: usize,
                n: usize,
                k: usize,
                dst: MatMut<'_, Self>,
                lhs: MatRef<'_, Self>,
                rhs: MatRef<'_, Self>,
                accumulate: bool,
                threads: usize,
            ) {
                check_bounds(
                    m,
                    n,
                    k,
                    [dst.data.len(), lhs.data.len(), rhs.data.len()],
                    [(dst.offset, dst.rs, dst.cs), (lhs.offset, lhs.rs, lhs.cs), (rhs.offset, rhs.rs, rhs.cs)],
                );
                if m == 0 || n == 0 {
                    return;
                }
                if k == 0 {
                    if !accumulate {
                        for i in 0..m {
                            for j in 0..n {
                                dst.data[dst.offset + i * dst.rs + j * dst.cs] = $zero;
                            }
                        }
                    }
                    return;
                }
                let mut dst = dst;
                if m == 1 && $gemv(n, k, &mut dst, &lhs, &rhs, accumulate, threads) {
                    return;
                }
                // SAFETY: check_bounds proved that every element addressed through the
                // (offset, rows, cols, strides) of dst, lhs and rhs lies inside its slice;
                // dst is a unique borrow, so it cannot alias lhs or rhs. Strides fit isize
                // because they index within a slice.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        dst.data.as_mut_ptr().add(dst.offset),
                        dst.cs as isize,
                        dst.rs as isize,
                        accumulate,
                        lhs.data.as_ptr().add(lhs.offset),
                        lhs.cs as isize,
                        lhs.rs as isize,
                        rhs.data.as_ptr().add(rhs.offset),
                        rhs.cs as isize,
                        rhs.rs as isize,
                        $one,
                        $one,
                        false,
                        false,
                        false,
                        parallelism(m, n, k, threads),
                    )
                }
            }
        }
    };
}

gemm_crate_impl!(f32, 0.0f32, 1.0f32, gemv_rows_f32);
gemm_crate_impl!(f64, 0.0f64, 1.0f64, no_gemv);
gemm_crate_impl!(f16, f16::ZERO, f16::ONE, no_gemv);

thread_local! {
    /// f32 results of bf16 products before rounding (see `GemmElem for bf16`).
    static F32_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl GemmElem for bf16 {
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        dst: MatMut<'_, Self>,
        lhs: MatRef<'_, Self>,
        rhs: MatRef<'_, Self>,
        accumulate: bool,
        threads: usize,
    ) {
        if crate::bf16gemm::available() && m * n * k >= 64 * 64 * 64 {
            // AVX512-BF16 products with f32 accumulation, rounded once. The f32 result goes
            // through a per-thread scratch buffer (a fresh multi-MiB one per call costs page
            // faults on every page: a tenth of the time at N = 2048). It is taken out of its
            // slot, not borrowed: rayon may run another bf16 GEMM on this thread while this one
            // waits for its workers, and that one then allocates its own.
            let mut c = F32_SCRATCH.take();
            c.clear();
            c.resize(m * n, 0.0);
            crate::bf16gemm::matmul_bf16_f32acc(m, n, k, &mut c, lhs, rhs, threads);
            if !accumulate && dst.cs == 1 && dst.rs == n {
                let out = &mut dst.data[dst.offset..dst.offset + m * n];
                let convert =
                    |(o, c): (&mut [bf16], &[f32])| half::slice::HalfFloatSliceExt::convert_from_f32_slice(o, c);
                if threads > 1 && m * n >= 1 << 16 {
                    use rayon::prelude::*;
                    out.par_chunks_mut(1 << 14).zip(c.par_chunks(1 << 14)).for_each(convert);
                } else {
                    convert((out, &c));
                }
            } else {
                for i in 0..m {
                    for j in 0..n {
                        let d = &mut dst.data[dst.offset + i * dst.rs + j * dst.cs];
                        *d = bf16::from_f32(if accumulate { d.to_f32() + c[i * n + j] } else { c[i * n + j] });
                    }
                }
            }
            // Keep at most 64 MiB between calls.
            if c.capacity() <= 16 << 20 {
                F32_SCRATCH.set(c);
            }
            return;
        }
        // Otherwise convert to dense f32, multiply with f32 accumulation, round once.
        let a = gather_f32(lhs, m, k);
        let b = gather_f32(rhs, k, n);
        let mut c = vec![0.0f32; m * n];
        if accumulate {
            for i in 0..m {
                for j in 0..n {
                    c[i * n + j] = dst.data[dst.offset + i * dst.rs + j * dst.cs].to_f32();
                }
            }
        }
        f32::gemm(
            m,
            n,
            k,
            MatMut { data: &mut c, offset: 0, rs: n, cs: 1 },
            MatRef { data: &a, offset: 0, rs: k, cs: 1 },
            MatRef { data: &b, offset: 0, rs: n, cs: 1 },
            accumulate,
            threads,
        );
        for i in 0..m {
            for j in 0..n {
                dst.data[dst.offset + i * dst.rs + j * dst.cs] = bf16::from_f32(c[i * n + j]);
            }
        }
    }
}

fn gather_f32(x: MatRef<'_, bf16>, rows: usize, cols: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            v.push(x.data[x.offset + i * x.rs + j * x.cs].to_f32());
        }
    }
    v
}

macro_rules! naive_impl {
    ($($t:ty),*) => {$(
        impl GemmElem for $t {
            fn gemm(m: usize, n: usize, k: usize, dst: MatMut<'_, Self>, lhs: MatRef<'_, Self>, rhs: MatRef<'_, Self>, accumulate: bool, _threads: usize) {
                // Integer matmul is rare (PyTorch supports it on CPU); wrapping arithmetic as
                // PyTorch's integer overflow behaviour.
                for i in 0..m {
                    for j in 0..n {
                        let mut s: $t = 0 as $t;
                        for p in 0..k {
                            s = s.wrapping_add(lhs.data[lhs.offset + i * lhs.rs + p * lhs.cs].wrapping_mul(rhs.data[rhs.offset + p * rhs.rs + j * rhs.cs]));
                        }
                        let d = &mut dst.data[dst.offset + i * dst.rs + j * dst.cs];
                        *d = if accumulate { d.wrapping_add(s) } else { s };
                    }
                }
            }
        }
    )*};
}
naive_impl!(i64, i32, i16, i8, u8);

/// `dst = lhs * rhs` (or `dst += lhs * rhs` when `accumulate`), `lhs` m x k, `rhs` k x n.
///
/// # Panics
/// When a matrix does not fit its slice (a bug in the caller, never user input: `ember-core`
/// validates shapes first).
pub fn matmul<T: GemmElem>(
    m: usize,
    n: usize,
    k: usize,
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
    threads: usize,
) {
    T::gemm(m, n, k, dst, lhs, rhs, accumulate, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn f32_gemm_matches_naive_on_edge_shapes() {
        let shapes =
            [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (63, 64, 65), (65, 17, 1), (1, 129, 33), (200, 3, 150)];
        for (m, n, k) in shapes {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let want = naive(
                m,
                n,
                k,
                &a.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                &b.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            );
            for threads in [1, 2] {
                let mut c = vec![f32::NAN; m * n];
                matmul(
                    m,
                    n,
                    k,
                    MatMut { data: &mut c, offset: 0, rs: n, cs: 1 },
                    MatRef { data: &a, offset: 0, rs: k, cs: 1 },
                    MatRef { data: &b, offset: 0, rs: n, cs: 1 },
                    false,
                    threads,
                );
                for (x, y) in c.iter().zip(&want) {
                    assert!((*x as f64 - y).abs() < 1e-3, "{m}x{n}x{k}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn one_row_times_a_transposed_matrix_streams_its_rows() {
        // Decode's x [1, K] * W^T with W [N, K] row-major, large enough for the row-streaming
        // path: fresh and accumulated, on 1 and 2 threads, against f64.
        let (n, k) = (300, 301);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
        let x: Vec<f32> = (0..k).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
        let want: Vec<f64> = (0..n).map(|j| (0..k).map(|p| x[p] as f64 * w[j * k + p] as f64).sum::<f64>()).collect();
        for threads in [1, 2] {
            for accumulate in [false, true] {
                let mut c = vec![1.0f32; n];
                matmul(
                    1,
                    n,
                    k,
                    MatMut { data: &mut c, offset: 0, rs: n, cs: 1 },
                    MatRef { data: &x, offset: 0, rs: k, cs: 1 },
                    MatRef { data: &w, offset: 0, rs: 1, cs: k },
                    accumulate,
                    threads,
                );
                for (j, (c, w)) in c.iter().zip(&want).enumerate() {
                    let w = if accumulate { w + 1.0 } else { *w };
                    assert!((*c as f64 - w).abs() < 1e-3, "column {j}, accumulate {accumulate}: {c} vs {w}");
                }
            }
        }
    }

    #[test]
    fn transposed_strides_and_accumulate() {
        // lhs stored transposed (k x m, read with rs=1, cs=m); dst accumulates.
        let (m, n, k) = (5, 4, 3);
        let at: Vec<f64> = (0..k * m).map(|i| i as f64).collect();
        let a: Vec<f64> = (0..m * k).map(|idx| at[(idx % k) * m + idx / k]).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64) - 2.0).collect();
        let want = naive(m, n, k, &a, &b);
        let mut c = vec![1.0f64; m * n];
        matmul(
            m,
            n,
            k,
            MatMut { data: &mut c, offset: 0, rs: n, cs: 1 },
            MatRef { data: &at, offset: 0, rs: 1, cs: m },
            MatRef { data: &b, offset: 0, rs: n, cs: 1 },
            true,
            1,
        );
        for (x, y) in c.iter().zip(&want) {
            assert_eq!(*x, y + 1.0);
        }
        let ai: Vec<i64> = a.iter().map(|&v| v as i64).collect();
        let bi: Vec<i64> = b.iter().map(|&v| v as i64).collect();
        let mut ci = vec![0i64; m * n];
        matmul(
            m,
            n,
            k,
            MatMut { data: &mut ci, offset: 0, rs: n, cs: 1 },
            MatRef { data: &ai, offset: 0, rs: k, cs: 1 },
            MatRef { data: &bi, offset: 0, rs: n, cs: 1 },
            false,
            1,
        );
        assert_eq!(ci, want.iter().map(|&v| v as i64).collect::<Vec<_>>());
    }

    #[test]
    fn bf16_and_f16_accumulate_in_f32() {
        let k = 256;
        let a: Vec<bf16> = vec![bf16::from_f32(1.0); k];
        let b: Vec<bf16> = vec![bf16::from_f32(1.0 / 256.0); k];
        let mut c = vec![bf16::ZERO; 1];
        matmul(
            1,
            1,
            k,
            MatMut { data: &mut c, offset: 0, rs: 1, cs: 1 },
            MatRef { data: &a, offset: 0, rs: k, cs: 1 },
            MatRef { data: &b, offset: 0, rs: 1, cs: 1 },
            false,
            1,
        );
        assert_eq!(c[0].to_f32(), 1.0);
        let a16: Vec<f16> = vec![f16::from_f32(0.5); 64];
        let mut c16 = vec![f16::ZERO; 1];
        matmul(
            1,
            1,
            64,
            MatMut { data: &mut c16, offset: 0, rs: 1, cs: 1 },
            MatRef { data: &a16, offset: 0, rs: 64, cs: 1 },
            MatRef { data: &a16, offset: 0, rs: 1, cs: 1 },
            false,
            1,
        );
        assert_eq!(c16[0].to_f32(), 16.0);
    }

    #[test]
    #[should_panic(expected = "exceeds its buffer")]
    fn out_of_bounds_matrix_panics_before_unsafe_code() {
        let a = vec![0.0f32; 5];
        let mut c = vec![0.0f32; 4];
        matmul(
            2,
            2,
            3,
            MatMut { data: &mut c, offset: 0, rs: 2, cs: 1 },
            MatRef { data: &a, offset: 0, rs: 3, cs: 1 },
            MatRef { data: &a, offset: 0, rs: 2, cs: 1 },
            false,
            1,
        );
    }
}
