//! Sparse-dense matrix product over a COO pattern: the stored entries are bucketed by row
//! (a counting sort, `O(nnz)`: the CSR form), then each output row is a sum of scaled dense
//! rows (`axpy` per entry, compiled per ISA), blocks of rows split across threads. Duplicate
//! entries simply add, as PyTorch's uncoalesced tensors do.

use crate::simd_dispatch;
use crate::threads::for_each_block_mut;
use std::ops::{AddAssign, Mul};

/// The row-compressed form of a COO pattern: row `r`'s entries are
/// `order[row_start[r]..row_start[r + 1]]` (indices into the COO arrays).
#[derive(Debug)]
pub struct Csr {
    pub row_start: Vec<usize>,
    pub order: Vec<usize>,
}

/// Buckets the entries of `rows` (each `< n`) by row, keeping their order within a row.
pub fn csr(rows: &[usize], n: usize) -> Csr {
    let mut row_start = vec![0usize; n + 1];
    for &r in rows {
        row_start[r + 1] += 1;
    }
    for r in 0..n {
        row_start[r + 1] += row_start[r];
    }
    let mut fill = row_start.clone();
    let mut order = vec![0usize; rows.len()];
    for (e, &r) in rows.iter().enumerate() {
        order[fill[r]] = e;
        fill[r] += 1;
    }
    Csr { row_start, order }
}

/// Output rows `r0..` (`out` holds whole rows of `k`): `out[r] += vals[e] * d[cols[e]]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows_body<T: Copy + Mul<Output = T> + AddAssign>(
    row_start: &[usize],
    order: &[usize],
    cols: &[usize],
    vals: &[T],
    d: &[T],
    k: usize,
    r0: usize,
    out: &mut [T],
) {
    for (i, orow) in out.chunks_mut(k).enumerate() {
        let r = r0 + i;
        for &e in &order[row_start[r]..row_start[r + 1]] {
            let (v, c) = (vals[e], cols[e]);
            for (o, &x) in orow.iter_mut().zip(&d[c * k..(c + 1) * k]) {
                *o += v * x;
            }
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows_f32(
    row_start: &[usize],
    order: &[usize],
    cols: &[usize],
    vals: &[f32],
    d: &[f32],
    k: usize,
    r0: usize,
    out: &mut [f32],
) {
    rows_body(row_start, order, cols, vals, d, k, r0, out)
}

simd_dispatch!(fn spmm_rows / spmm_rows_isa(row_start: &[usize], order: &[usize], cols: &[usize], vals: &[f32], d: &[f32], k: usize, r0: usize, out: &mut [f32]) => rows_f32);

/// Rows per parallel block: about 64k multiply-adds each, so small graphs stay on one thread.
fn block_rows(nnz: usize, n: usize, k: usize) -> usize {
    let per_row = (nnz / n.max(1)).max(1) * k.max(1);
    (65_536 / per_row).max(1)
}

/// `out [n, k] += S @ D` for `S` given by `c` over `(cols[e], vals[e])` and `D [m, k]`, f32.
pub fn spmm_f32(c: &Csr, cols: &[usize], vals: &[f32], d: &[f32], k: usize, out: &mut [f32]) {
    if k > 0 {
        let br = block_rows(cols.len(), c.row_start.len() - 1, k);
        for_each_block_mut(out, br * k, |b, chunk| spmm_rows(&c.row_start, &c.order, cols, vals, d, k, b * br, chunk));
    }
}

/// The same for any element type (f64), portable code.
pub fn spmm<T>(c: &Csr, cols: &[usize], vals: &[T], d: &[T], k: usize, out: &mut [T])
where
    T: Copy + Send + Sync + Mul<Output = T> + AddAssign,
{
    if k > 0 {
        let br = block_rows(cols.len(), c.row_start.len() - 1, k);
        for_each_block_mut(out, br * k, |b, chunk| rows_body(&c.row_start, &c.order, cols, vals, d, k, b * br, chunk));
    }
}
