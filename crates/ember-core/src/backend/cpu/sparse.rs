//! Sparse-dense matrix product over a COO pattern: the stored entries are bucketed by row
//! (a counting sort, `O(nnz)`: the CSR form), then each output row is a sum of scaled dense
//! rows, rows split across threads. Duplicate entries simply add, as PyTorch's uncoalesced
//! tensors do.

use std::ops::{AddAssign, Mul};

/// `out [n, k] = S @ D` for `S` given by `(rows[e], cols[e], vals[e])` and `D [m, k]`.
pub fn spmm<T>(rows: &[usize], cols: &[usize], vals: &[T], d: &[T], n: usize, k: usize) -> Vec<T>
where
    T: Copy + Default + Send + Sync + Mul<Output = T> + AddAssign,
{
    // CSR: row_start[r]..row_start[r + 1] are row r's entries in `order`.
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
    let mut out = vec![T::default(); n * k];
    if k == 0 {
        return out;
    }
    // About 4k output rows' worth of work per block keeps small graphs on one thread.
    let per_row = (rows.len() / n.max(1)).max(1) * k;
    let block_rows = (65_536 / per_row).max(1);
    ember_kernels::threads::for_each_block_mut(&mut out, block_rows * k, |b, chunk| {
        let r0 = b * block_rows;
        for (i, orow) in chunk.chunks_mut(k).enumerate() {
            let r = r0 + i;
            for &e in &order[row_start[r]..row_start[r + 1]] {
                let (v, drow) = (vals[e], &d[cols[e] * k..(cols[e] + 1) * k]);
                for (o, &x) in orow.iter_mut().zip(drow) {
                    *o += v * x;
                }
            }
        }
    });
    out
}
