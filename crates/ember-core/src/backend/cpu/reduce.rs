//! Reductions over one dim (sum, prod, max/min with indices), cumulative sums, and the row
//! softmax family. Inputs are viewed as `[outer, r, inner]` after a contiguous copy when
//! needed; sums of f16/bf16 accumulate in f32, integer sums in i64, as in PyTorch.

use super::{contiguous_slice, from_f32_vec, to_f32_vec};
use crate::backend::ReduceOp;
use crate::dtype::Element;
use crate::layout::Layout;
use crate::storage::{pool, Buf, CpuStorage};
use ember_kernels::{reduce as kr, rowwise, threads};

/// `[outer, r, inner]` sizes of a shape around `dim`.
pub fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

/// `acc = f(acc, x)` over `r` for each (outer, inner) position.
fn fold<T: Copy, A: Copy>(x: &[T], (outer, r, inner): (usize, usize, usize), init: A, f: impl Fn(A, T) -> A) -> Vec<A> {
    let mut out = vec![init; outer * inner];
    for o in 0..outer {
        let acc = &mut out[o * inner..(o + 1) * inner];
        for j in 0..r {
            let row = &x[(o * r + j) * inner..(o * r + j + 1) * inner];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = f(*a, v);
            }
        }
    }
    out
}

fn sum_f32(x: &[f32], (outer, r, inner): (usize, usize, usize)) -> Vec<f32> {
    if inner == 1 {
        let mut out = pool::take::<f32>(outer);
        let rows_per_block = (super::BLOCK / r.max(1)).max(1);
        threads::for_each_block_mut(&mut out, rows_per_block, |b, chunk| {
            for (i, o) in chunk.iter_mut().enumerate() {
                let row = b * rows_per_block + i;
                *o = kr::sum(&x[row * r..(row + 1) * r]);
            }
        });
        out
    } else {
        let mut out = pool::take_zeroed::<f32>(outer * inner);
        // Columns `start..start + acc.len()` of slab `o`, its `r` rows added in order: however
        // the work is cut, each output sums the same values in the same order.
        let add_rows = |o: usize, start: usize, acc: &mut [f32]| {
            for j in 0..r {
                let at = (o * r + j) * inner + start;
                kr::axpy(1.0, &x[at..at + acc.len()], acc);
            }
        };
        if outer == 1 {
            // `[r, inner] -> [inner]` (a linear layer's bias gradient): columns cut across threads.
            let grain = (threads::PARALLEL_MIN_WORK / r.max(1)).max(64);
            threads::for_each_span_mut(&mut out, grain, |start, acc| add_rows(0, start, acc));
        } else {
            let per = (super::BLOCK / (r * inner).max(1)).max(1);
            threads::for_each_block_mut(&mut out, per * inner, |b, chunk| {
                for (i, acc) in chunk.chunks_mut(inner).enumerate() {
                    add_rows(b * per + i, 0, acc);
                }
            });
        }
        out
    }
}

fn argfold<T: Element>(x: &[T], (outer, r, inner): (usize, usize, usize), take_max: bool) -> (Vec<T>, Vec<i64>) {
    // NaN wins (PyTorch's max/min propagate NaN); on ties the first index wins.
    let is_nan = |v: T| v.partial_cmp(&v).is_none();
    let mut best = vec![T::default(); outer * inner];
    let mut idx = vec![0i64; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let k = o * inner + i;
            let mut b = x[o * r * inner + i];
            let mut bi = 0;
            if !is_nan(b) {
                for j in 1..r {
                    let v = x[(o * r + j) * inner + i];
                    if is_nan(v) {
                        b = v;
                        bi = j;
                        break;
                    }
                    if (take_max && v > b) || (!take_max && v < b) {
                        b = v;
                        bi = j;
                    }
                }
            }
            best[k] = b;
            idx[k] = bi as i64;
        }
    }
    (best, idx)
}

/// Reduces `dim` of a view (result shape: the input's without `dim`). `Max`/`Min` also return
/// the index of the chosen element; callers reject empty `dim` for them.
pub fn reduce_dim(s: &CpuStorage, l: &Layout, dim: usize, op: ReduceOp) -> (CpuStorage, Option<Vec<i64>>) {
    let dims = split_at_dim(l.shape(), dim);
    match op {
        ReduceOp::Max | ReduceOp::Min => {
            let take_max = op == ReduceOp::Max;
            let (vals, idx) = crate::with_storage!(s, v => {
                let x = contiguous_slice(v, l);
                let (b, i) = argfold(&x, dims, take_max);
                (Element::into_storage(b), i)
            });
            (vals, Some(idx))
        }
        ReduceOp::Sum | ReduceOp::Prod => {
            let sum = op == ReduceOp::Sum;
            let out = match s {
                CpuStorage::F64(v) => {
                    let x = contiguous_slice(v, l);
                    CpuStorage::F64(if sum {
                        Buf::owned(fold(&x, dims, 0.0, |a, b| a + b))
                    } else {
                        Buf::owned(fold(&x, dims, 1.0, |a, b| a * b))
                    })
                }
                CpuStorage::F32(_) | CpuStorage::F16(_) | CpuStorage::BF16(_) => {
                    let x = to_f32_vec(s, l).unwrap_or_default();
                    let r = if sum { sum_f32(&x, dims) } else { fold(&x, dims, 1.0f32, |a, b| a * b) };
                    from_f32_vec(r, s)
                }
                _ => crate::with_storage!(s, v => {
                    let x = contiguous_slice(v, l);
                    let to = |t: &_| -> i64 { Element::to_f64(*t) as i64 };
                    let x: Vec<i64> = x.iter().map(to).collect();
                    CpuStorage::I64(if sum { Buf::owned(fold(&x, dims, 0i64, |a, b| a.wrapping_add(b))) } else { Buf::owned(fold(&x, dims, 1i64, |a, b| a.wrapping_mul(b))) })
                }),
            };
            (out, None)
        }
    }
}

/// Cumulative sum along `dim` (same shape; integer inputs give i64).
pub fn cumsum(s: &CpuStorage, l: &Layout, dim: usize) -> CpuStorage {
    fn scan<T: Copy + std::ops::Add<Output = T>>(x: &[T], (outer, r, inner): (usize, usize, usize)) -> Vec<T> {
        let mut out = x.to_vec();
        for o in 0..outer {
            for j in 1..r {
                for i in 0..inner {
                    let prev = out[(o * r + j - 1) * inner + i];
                    let cur = &mut out[(o * r + j) * inner + i];
                    *cur = prev + *cur;
                }
            }
        }
        out
    }
    let dims = split_at_dim(l.shape(), dim);
    match s {
        CpuStorage::F64(v) => CpuStorage::F64(Buf::owned(scan(&contiguous_slice(v, l), dims))),
        CpuStorage::F32(_) | CpuStorage::F16(_) | CpuStorage::BF16(_) => {
            from_f32_vec(scan(&to_f32_vec(s, l).unwrap_or_default(), dims), s)
        }
        _ => crate::with_storage!(s, v => {
            let x: Vec<i64> = contiguous_slice(v, l).iter().map(|t| Element::to_f64(*t) as i64).collect();
            CpuStorage::I64(Buf::owned(scan(&x, dims)))
        }),
    }
}

/// Softmax (or log-softmax) over the last dim of a float view, rows in parallel.
pub fn softmax_last(s: &CpuStorage, l: &Layout, log: bool) -> CpuStorage {
    let n = *l.shape().last().unwrap_or(&1);
    match s {
        CpuStorage::F64(v) => {
            let x = contiguous_slice(v, l);
            let mut out = pool::take::<f64>(x.len());
            for (row, o) in x.chunks(n.max(1)).zip(out.chunks_mut(n.max(1))) {
                let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| if b > a || b.is_nan() { b } else { a });
                let sum: f64 = row.iter().map(|&v| (v - m).exp()).sum();
                for (y, &v) in o.iter_mut().zip(row) {
                    *y = if log { v - m - sum.ln() } else { (v - m).exp() / sum };
                }
            }
            CpuStorage::F64(Buf::owned(out))
        }
        _ => {
            let x = to_f32_vec(s, l).unwrap_or_default();
            let mut out = pool::take::<f32>(x.len());
            // Blocks of ~32K elements: an exp per element makes a row block worth splitting
            // from there (as torch's grain), and results do not depend on the cut.
            if n > 0 {
                threads::for_each_row_block_mut(&mut out, n, |row, chunk| {
                    rowwise::softmax_rows(&x[row * n..][..chunk.len()], n, log, chunk);
                });
            }
            from_f32_vec(out, s)
        }
    }
}
