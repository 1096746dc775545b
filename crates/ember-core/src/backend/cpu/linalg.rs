//! Dense factorisations on `faer` (not hand-written): LU with partial pivoting for `inv`,
//! `solve` and `det`, Cholesky, and triangular solves. Inputs are batches of row-major
//! matrices (`[batch, n, n]` flattened) in f32 or f64 (the tensor layer computes half types in
//! f32, as PyTorch's CPU path does); the tensor layer checks shapes first. A singular matrix (an
//! exactly zero pivot) or a non-positive-definite one is reported with its batch index, as
//! PyTorch's messages do.
//!
//! Parallelism: many small matrices run one per thread; one matrix runs on one thread (faer's
//! parallel kernels measured slower, see `for_each_matrix`).

use crate::dtype::Element;
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{MatMut, MatRef, Par, Side};
use rayon::prelude::*;

/// The element types faer factorises here.
pub trait Real: faer::traits::RealField + Element {}
impl Real for f32 {}
impl Real for f64 {}

/// Why a batch element failed: its index, and the 1-based position of the failing pivot.
pub struct Failed {
    pub batch: usize,
    pub pivot: usize,
}

pub(super) fn view<T: Real>(a: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(a, rows, cols)
}

pub(super) fn view_mut<T: Real>(a: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::from_row_major_slice_mut(a, rows, cols)
}

/// Copies `m` into `out` (row-major, `m.nrows() * m.ncols()` elements).
pub(super) fn write<T: Real>(out: &mut [T], m: MatRef<'_, T>) {
    let c = m.ncols();
    for i in 0..m.nrows() {
        for j in 0..c {
            out[i * c + j] = m[(i, j)];
        }
    }
}

/// Runs `f(batch_index, input_block, output_block)` over a batch: one matrix per thread when
/// the matrices are small and many, else in order.
pub(super) fn for_each_matrix<T: Real, E: Send>(
    a: &[T],
    in_block: usize,
    out: &mut [T],
    out_block: usize,
    n: usize,
    f: impl Fn(usize, &[T], &mut [T]) -> Result<(), E> + Sync + Send,
) -> Result<(), E> {
    let threads = ember_kernels::num_threads();
    let batch = a.len().checked_div(in_block).unwrap_or(0);
    let small = n < 96 && batch > 1;
    // faer's own parallel kernels were slower than its sequential ones at every size measured
    // (256-1024, 2 cores: solve 1.5-2.8x, svd 1.2x slower), so one matrix runs sequentially.
    faer::set_global_parallelism(Par::Seq);
    if in_block == 0 || out_block == 0 {
        return Ok(());
    }
    if small && threads > 1 {
        a.par_chunks(in_block).zip(out.par_chunks_mut(out_block)).enumerate().try_for_each(|(b, (m, o))| f(b, m, o))
    } else {
        a.chunks(in_block).zip(out.chunks_mut(out_block)).enumerate().try_for_each(|(b, (m, o))| f(b, m, o))
    }
}

/// The first zero pivot of an LU factorisation, 1-based.
fn zero_pivot<T: Real>(u: MatRef<'_, T>) -> Option<usize> {
    (0..u.nrows()).find(|&i| u[(i, i)].to_f64() == 0.0 || !u[(i, i)].to_f64().is_finite()).map(|i| i + 1)
}

/// Inverses of each `n x n` matrix.
pub fn inv<T: Real>(a: &[T], n: usize) -> Result<Vec<T>, Failed> {
    let mut out = vec![T::default(); a.len()];
    if n > 0 && small_batch(n, a.len() / (n * n)) {
        // Solves against the identity, a block of matrices per thread.
        for o in out.chunks_mut(n * n) {
            (0..n).for_each(|i| o[i * n + i] = T::from_f64(1.0));
        }
        solve_small(a, &mut out, n, n)?;
        return Ok(out);
    }
    for_each_matrix(a, n * n, &mut out, n * n, n, |b, m, o| {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: b, pivot: p });
        }
        write(o, lu.inverse().as_ref());
        Ok(())
    })?;
    Ok(out)
}

/// `X` with `A X = B` for each `n x n` A and `n x k` B.
pub fn solve<T: Real>(a: &[T], b: &[T], n: usize, k: usize) -> Result<Vec<T>, Failed> {
    let mut out = b.to_vec();
    if n == 0 || k == 0 {
        return Ok(out);
    }
    if small_batch(n, a.len() / (n * n)) {
        solve_small(a, &mut out, n, k)?;
        return Ok(out);
    }
    // Pair each A with its B through the batch index (the closure gets A's block).
    for_each_matrix(a, n * n, &mut out, n * k, n, |i, m, o| {
        let lu = view(m, n, n).partial_piv_lu();
        if let Some(p) = zero_pivot(lu.U()) {
            return Err(Failed { batch: i, pivot: p });
        }
        lu.solve_in_place(view_mut(o, n, k));
        Ok(())
    })?;
    Ok(out)
}

/// Whether a batch is one of many small matrices, which [`lu_small`] factorises a block per
/// thread.
fn small_batch(n: usize, batch: usize) -> bool {
    n < 96 && batch > 1
}

/// The LU factors of one matrix as `lu_small` hands them on: the packed factors (L strictly
/// below the diagonal, unit diagonal implied; U on and above), the row permutation, its
/// number of transpositions, and scratch memory.
type Factored<'a, T> = (MatMut<'a, T>, faer::perm::PermRef<'a, usize>, usize, &'a mut MemStack);

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};

/// Factorises every `n x n` matrix of a batch of small ones and runs `each` on its factors and
/// its `out_block` of `out`: a block of matrices per thread, each factorised in place in one
/// buffer with one scratch allocation per block. faer's one-call forms (`partial_piv_lu()`
/// then `solve_in_place`, `inverse`, `determinant`) allocate the factors, two permutations and
/// their scratch per matrix, which was most of the time at 8 x 8 (64 solves 1.7x torch, 64
/// inverses 2.1x, at one thread). A zero pivot is an error naming the first such matrix in
/// batch order (at any thread count) when `singular_fails`, else `each` sees it. The factors
/// are column-major (faer's LU runs down contiguous columns: 1.5-2x faster at 64 x 64 than on a
/// row-major view); with `transposed`, `Aᵀ` is factorised (the row-major data read as it is),
/// enough for a determinant, else `A` after a transposed copy.
#[allow(clippy::too_many_arguments)]
fn lu_small<T: Real>(
    a: &[T],
    n: usize,
    out: &mut [T],
    out_block: usize,
    work_per_matrix: usize,
    singular_fails: bool,
    transposed: bool,
    scratch: StackReq,
    each: impl Fn(Factored<'_, T>, &mut [T]) + Sync,
) -> Result<(), Failed> {
    use faer::linalg::lu::partial_pivoting::factor;
    let batch = a.len() / (n * n);
    let threads = ember_kernels::num_threads();
    // Threads only for enough work: waking a second thread cost more than 64 8 x 8 systems
    // (26 µs on one thread, 41 µs on two).
    let per = if threads > 1 && batch * work_per_matrix >= 1 << 18 { batch.div_ceil(threads) } else { batch };
    let block = |first: usize, mats: &[T], outs: &mut [T]| -> Result<(), Failed> {
        let mut lu = vec![T::default(); n * n];
        let (mut perm, mut perm_inv) = (vec![0usize; n], vec![0usize; n]);
        let mut mem = MemBuffer::new(StackReq::any_of(&[
            factor::lu_in_place_scratch::<usize, T>(n, n, Par::Seq, Default::default()),
            scratch,
        ]));
        for (j, (m, o)) in mats.chunks(n * n).zip(outs.chunks_mut(out_block)).enumerate() {
            if transposed {
                lu.copy_from_slice(m);
            } else {
                // A itself, column-major.
                for (c, col) in lu.chunks_mut(n).enumerate() {
                    col.iter_mut().zip(m[c..].iter().step_by(n)).for_each(|(d, &v)| *d = v);
                }
            }
            let mut f = MatMut::from_column_major_slice_mut(&mut lu, n, n);
            let (info, p) = factor::lu_in_place(
                f.as_mut(),
                &mut perm,
                &mut perm_inv,
                Par::Seq,
                MemStack::new(&mut mem),
                Default::default(),
            );
            if singular_fails {
                if let Some(pivot) = zero_pivot(f.as_ref()) {
                    return Err(Failed { batch: first + j, pivot });
                }
            }
            each((f, p, info.transposition_count, MemStack::new(&mut mem)), o);
        }
        Ok(())
    };
    if per < batch {
        // Every block runs; the first failing matrix in batch order is the one reported.
        let done: Vec<Result<(), Failed>> = a
            .par_chunks(per * n * n)
            .zip(out.par_chunks_mut(per * out_block))
            .enumerate()
            .map(|(c, (m, o))| block(c * per, m, o))
            .collect();
        done.into_iter().collect()
    } else {
        block(0, a, out)
    }
}

/// [`solve`] for a batch of small systems (`out` holds the right-hand sides on entry).
fn solve_small<T: Real>(a: &[T], out: &mut [T], n: usize, k: usize) -> Result<(), Failed> {
    use faer::linalg::lu::partial_pivoting::solve;
    let scratch = solve::solve_in_place_scratch::<usize, T>(n, k, Par::Seq);
    lu_small(a, n, out, n * k, n * n * (n + k), true, false, scratch, |(f, p, _, mem), o| {
        solve::solve_in_place(f.as_ref(), f.as_ref(), p, view_mut(o, n, k), Par::Seq, mem);
    })
}

/// Determinants of each `n x n` matrix (`n > 0`).
pub fn det<T: Real>(a: &[T], n: usize) -> Vec<T> {
    let mut out = vec![T::default(); a.len() / (n * n)];
    if small_batch(n, out.len()) {
        // det A = det Aᵀ: the product of U's diagonal, negated per row transposition (a zero
        // pivot gives 0).
        let _ = lu_small(a, n, &mut out, 1, n * n * n, false, true, StackReq::EMPTY, |(f, _, swaps, _), o| {
            let d = (0..n).fold(1.0f64, |acc, i| acc * f[(i, i)].to_f64());
            o[0] = T::from_f64(if swaps % 2 == 1 { -d } else { d });
        });
        return out;
    }
    let _ = for_each_matrix::<T, ()>(a, n * n, &mut out, 1, n, |_, m, o| {
        o[0] = view(m, n, n).determinant();
        Ok(())
    });
    out
}

/// `(sign, log|det|)` of each `n x n` matrix (`n > 0`) from its LU factors, without forming
/// the determinant (which over- or underflows long before its logarithm does): the sign from
/// the row transpositions and the signs of U's diagonal, the logarithm as the sum of
/// `ln |u_ii|` in f64. A zero pivot gives `(0, -inf)`, as PyTorch's.
pub fn slogdet<T: Real>(a: &[T], n: usize) -> (Vec<T>, Vec<T>) {
    let batch = a.len() / (n * n);
    let mut out = vec![T::default(); 2 * batch];
    // Any batch size: one matrix alone runs the same blocked, column-major factorisation.
    let _ = lu_small(a, n, &mut out, 2, n * n * n, false, true, StackReq::EMPTY, |(f, _, swaps, _), o| {
        let (mut negative, mut log) = (swaps % 2 == 1, 0.0f64);
        for i in 0..n {
            let u = f[(i, i)].to_f64();
            negative ^= u < 0.0;
            log += u.abs().ln();
        }
        let sign = if log == f64::NEG_INFINITY {
            0.0
        } else if negative {
            -1.0
        } else {
            1.0
        };
        let sign = if log.is_nan() { f64::NAN } else { sign };
        o[0] = T::from_f64(sign);
        o[1] = T::from_f64(log);
    });
    out.chunks(2).map(|c| (c[0], c[1])).unzip()
}

/// Lower Cholesky factors of each symmetric positive-definite `n x n` matrix (the lower
/// triangle is read, as PyTorch's).
pub fn cholesky<T: Real>(a: &[T], n: usize) -> Result<Vec<T>, Failed> {
    let mut out = vec![T::default(); a.len()];
    for_each_matrix(a, n * n, &mut out, n * n, n, |b, m, o| {
        let llt = view(m, n, n).llt(Side::Lower).map_err(|e| Failed {
            batch: b,
            pivot: match e {
                faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => index + 1,
            },
        })?;
        let l = llt.L();
        for i in 0..n {
            for j in 0..=i {
                o[i * n + j] = l[(i, j)];
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// `X` with `A X = B` for triangular `n x n` A (`upper`, or lower; `unit`: the diagonal is
/// taken as ones) and `n x k` B. Only A's triangle is read. A zero on the diagonal gives
/// inf/NaN, as LAPACK's `trtrs` without its check (PyTorch's `solve_triangular` does the same).
pub fn solve_triangular<T: Real>(a: &[T], b: &[T], n: usize, k: usize, upper: bool, unit: bool) -> Vec<T> {
    let mut out = b.to_vec();
    if n == 0 || k == 0 {
        return out;
    }
    let _ = for_each_matrix::<T, ()>(a, n * n, &mut out, n * k, n, |_, m, o| {
        let (tri, rhs) = (view(m, n, n), view_mut(o, n, k));
        let par = faer::get_global_parallelism();
        use faer::linalg::triangular_solve as ts;
        match (upper, unit) {
            (true, false) => ts::solve_upper_triangular_in_place(tri, rhs, par),
            (true, true) => ts::solve_unit_upper_triangular_in_place(tri, rhs, par),
            (false, false) => ts::solve_lower_triangular_in_place(tri, rhs, par),
            (false, true) => ts::solve_unit_lower_triangular_in_place(tri, rhs, par),
        }
        Ok(())
    });
    out
}

/// One `m x n` LU factorisation with partial pivoting (`A = P L U`), as LAPACK's `getrf`
/// returns it: packed in place (L strictly below the diagonal, its unit diagonal implied; U on
/// and above), the 1-based row swaps applied in order (`pivots`, `min(m, n)` of them), and
/// the 1-based index of the first zero pivot (`0` when there is none).
pub struct LuFactors<T> {
    pub lu: Vec<T>,
    pub pivots: Vec<i32>,
    pub info: i32,
}

/// LU with partial pivoting of each `m x n` matrix of a batch (`torch.linalg.lu_factor_ex`).
/// faer factorises; a matrix with a zero pivot is refactorised by [`getf2`], because faer
/// divides by the zero pivot and spreads NaN through the rest of the factors where LAPACK
/// (and so PyTorch) skips the division and carries on.
pub fn lu_factor<T: Real>(a: &[T], m: usize, n: usize) -> Vec<LuFactors<T>> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
    faer::set_global_parallelism(Par::Seq);
    let k = m.min(n);
    let one = |mat: &[T]| {
        let mut lu = view(mat, m, n).to_owned();
        let (mut fwd, mut bwd) = (vec![0usize; m], vec![0usize; m]);
        let scratch = lu_in_place_scratch::<usize, T>(m, n, Par::Seq, Default::default());
        lu_in_place(
            lu.as_mut(),
            &mut fwd,
            &mut bwd,
            Par::Seq,
            MemStack::new(&mut MemBuffer::new(scratch)),
            Default::default(),
        );
        if (0..k).any(|i| lu[(i, i)].to_f64() == 0.0) {
            return getf2(mat, m, n);
        }
        let mut packed = vec![T::default(); m * n];
        write(&mut packed, lu.as_ref());
        LuFactors { lu: packed, pivots: swaps_of(&fwd, k), info: 0 }
    };
    let block = m * n;
    if block == 0 {
        return Vec::new(); // the caller knows the batch size of empty matrices
    }
    let threads = ember_kernels::num_threads();
    if m.max(n) < 96 && a.len() > block && threads > 1 {
        a.par_chunks(block).map(one).collect()
    } else {
        a.chunks(block).map(one).collect()
    }
}

/// The sequence of row swaps (LAPACK's `ipiv`, 1-based) that turns the identity order into
/// `perm` (`perm[i]`: the original row that ends at row `i`). Step `i` swaps row `i` with
/// the row now holding `perm[i]`, which is at or below `i`, as `getrf`'s step `i` does.
fn swaps_of(perm: &[usize], k: usize) -> Vec<i32> {
    let mut order: Vec<usize> = (0..perm.len()).collect();
    let mut at: Vec<usize> = (0..perm.len()).collect();
    (0..k)
        .map(|i| {
            let j = at[perm[i]];
            let (ri, rj) = (order[i], order[j]);
            order.swap(i, j);
            at[ri] = j;
            at[rj] = i;
            (j + 1) as i32
        })
        .collect()
}

/// LAPACK's unblocked `getf2` on a row-major `m x n` matrix: the reference algorithm, used
/// only for matrices with a zero pivot (whose column below the pivot is then all zeros and
/// is left as it is).
fn getf2<T: Real>(mat: &[T], m: usize, n: usize) -> LuFactors<T> {
    let mut a: Vec<f64> = mat.iter().map(|v| v.to_f64()).collect();
    let k = m.min(n);
    let (mut pivots, mut info) = (Vec::with_capacity(k), 0);
    for j in 0..k {
        // The first row of largest magnitude in column j, at or below the diagonal.
        let p = (j..m).fold(j, |best, i| if a[i * n + j].abs() > a[best * n + j].abs() { i } else { best });
        pivots.push((p + 1) as i32);
        let pivot = a[p * n + j];
        if pivot != 0.0 {
            if p != j {
                for c in 0..n {
                    a.swap(j * n + c, p * n + c);
                }
            }
            for i in j + 1..m {
                a[i * n + j] /= pivot;
            }
        } else if info == 0 {
            info = (j + 1) as i32;
        }
        // Trailing update: A[j+1.., j+1..] -= L[j+1.., j] U[j, j+1..].
        for i in j + 1..m {
            let l = a[i * n + j];
            for c in j + 1..n {
                a[i * n + c] -= l * a[j * n + c];
            }
        }
    }
    LuFactors { lu: a.into_iter().map(T::from_f64).collect(), pivots, info }
}
