//! Separable resampling along one dim: `F.interpolate` in every mode but `area` is, per
//! spatial dim, a sparse matrix with a few taps per output position (1 nearest, 2 linear, 4
//! cubic, a filter window when anti-aliasing). [`apply`] maps a contiguous
//! `[outer, n_src, inner]` array to `[outer, n_dst, inner]` with such a matrix, and the
//! gradient is the same kernel with the transposed matrix ([`Taps::transpose`]), so a backward
//! pass is a gather too (no scatter, no atomics) and its own derivative is the forward again.
//!
//! Two loop shapes: when the resampled dim is innermost (`inner == 1`, width) each output is a
//! short dot product of gathered values; otherwise each output row of `inner` contiguous values
//! is a sum of `weight * source row`, which the compiler vectorises. Arithmetic is in the
//! element type (f32 inputs are computed in f32, as PyTorch's kernels do).

use crate::dtype::Element;
use crate::storage::pool;
use ember_kernels::threads::for_each_block_mut;
use std::ops::{Add, Mul};

/// A sparse `[n_dst, n_src]` matrix in compressed rows: destination position `i` is
/// `sum(weight[t] * src[index[t]])` over `t in offsets[i]..offsets[i + 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Taps {
    /// Length of the source dim.
    pub n_src: usize,
    /// Row starts, `n_dst + 1` of them.
    pub offsets: Vec<usize>,
    /// Source position of each tap (`< n_src`).
    pub index: Vec<usize>,
    /// Weight of each tap.
    pub weight: Vec<f64>,
}

impl Taps {
    /// `k` taps per destination: `index` and `weight` hold `n_dst * k` entries, row-major.
    pub fn fixed(n_src: usize, k: usize, index: Vec<usize>, weight: Vec<f64>) -> Taps {
        let n_dst = index.len() / k.max(1);
        Taps { n_src, offsets: (0..=n_dst).map(|i| i * k).collect(), index, weight }
    }

    /// Number of destination positions.
    pub fn n_dst(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether every index is in range and the offsets are consistent.
    pub fn is_valid(&self) -> bool {
        !self.offsets.is_empty()
            && self.offsets[0] == 0
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self.offsets.last() == Some(&self.index.len())
            && self.index.len() == self.weight.len()
            && self.index.iter().all(|&i| i < self.n_src)
    }

    /// Whether the matrix is the identity (every output copies its own position).
    pub fn is_identity(&self) -> bool {
        self.n_src == self.n_dst()
            && (0..self.n_dst()).all(|i| {
                let (s, e) = (self.offsets[i], self.offsets[i + 1]);
                (s..e).all(|t| if self.index[t] == i { self.weight[t] == 1.0 } else { self.weight[t] == 0.0 })
                    && (s..e).filter(|&t| self.index[t] == i).count() == 1
            })
    }

    /// The transposed `[n_src, n_dst]` matrix (the adjoint map), by counting sort on the
    /// source index. Taps of one destination that read the same source (clamped borders) stay
    /// separate entries; the kernel sums them.
    pub fn transpose(&self) -> Taps {
        let n_dst = self.n_dst();
        let mut offsets = vec![0usize; self.n_src + 1];
        for &s in &self.index {
            offsets[s + 1] += 1;
        }
        for i in 0..self.n_src {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let (mut index, mut weight) = (vec![0usize; self.index.len()], vec![0.0f64; self.index.len()]);
        for d in 0..n_dst {
            for t in self.offsets[d]..self.offsets[d + 1] {
                let slot = &mut next[self.index[t]];
                index[*slot] = d;
                weight[*slot] = self.weight[t];
                *slot += 1;
            }
        }
        Taps { n_src: n_dst, offsets, index, weight }
    }
}

/// Element types the kernel computes in.
pub trait Real: Element + Add<Output = Self> + Mul<Output = Self> {}
impl Real for f32 {}
impl Real for f64 {}

/// Work (taps times values) per parallel block; independent of the thread count, so results
/// do not depend on it.
const BLOCK_WORK: usize = 1 << 15;

/// `src [outer, n_src, inner]` -> `[outer, n_dst, inner]` through `taps` (which must be valid
/// for `n_src`; `src.len()` must be `outer * n_src * inner`).
pub fn apply<T: Real>(taps: &Taps, src: &[T], outer: usize, inner: usize) -> Vec<T> {
    let (n_src, n_dst) = (taps.n_src, taps.n_dst());
    assert!(src.len() == outer * n_src * inner && taps.is_valid(), "resample: inconsistent sizes");
    let w: Vec<T> = taps.weight.iter().map(|&v| T::from_f64(v)).collect();
    // Every element is written below, so the pool's arbitrary contents never show.
    let mut out = pool::take::<T>(outer * n_dst * inner);
    if out.is_empty() {
        return out;
    }
    let k = taps.index.len() / n_dst.max(1);
    let fixed = taps.offsets.iter().enumerate().all(|(i, &o)| o == i * k);
    let copies = fixed && k == 1 && taps.weight.iter().all(|&v| v == 1.0);
    if inner == 1 {
        // One block is a few whole rows; row `o` of the output gathers from row `o` of `src`.
        let rows = (BLOCK_WORK / (n_dst * k.max(1))).max(1);
        for_each_block_mut(&mut out, rows * n_dst, |b, chunk| {
            for (r, dst) in chunk.chunks_mut(n_dst).enumerate() {
                let o = b * rows + r;
                let row = &src[o * n_src..(o + 1) * n_src];
                match (fixed, k) {
                    _ if copies => dst.iter_mut().zip(&taps.index).for_each(|(d, &j)| *d = row[j]),
                    (true, 2) => gather_row::<T, 2>(row, &taps.index, &w, dst),
                    (true, 4) => gather_row::<T, 4>(row, &taps.index, &w, dst),
                    _ => {
                        for (i, d) in dst.iter_mut().enumerate() {
                            let (s, e) = (taps.offsets[i], taps.offsets[i + 1]);
                            let mut acc = T::default();
                            for (&j, &wt) in taps.index[s..e].iter().zip(&w[s..e]) {
                                acc = acc + wt * row[j];
                            }
                            *d = acc;
                        }
                    }
                }
            }
        });
    } else {
        // Output row (o, i) of `inner` values = sum over taps of weight * source row (o, j).
        let rows = (BLOCK_WORK / (inner * k.max(1))).max(1);
        for_each_block_mut(&mut out, rows * inner, |b, chunk| {
            for (r, dst) in chunk.chunks_mut(inner).enumerate() {
                let row = b * rows + r;
                let (o, i) = (row / n_dst, row % n_dst);
                let plane = &src[o * n_src * inner..(o + 1) * n_src * inner];
                let (s, e) = (taps.offsets[i], taps.offsets[i + 1]);
                if s == e {
                    dst.fill(T::default());
                    continue;
                }
                let first = &plane[taps.index[s] * inner..][..inner];
                if copies {
                    dst.copy_from_slice(first);
                    continue;
                }
                let w0 = w[s];
                for (d, &x) in dst.iter_mut().zip(first) {
                    *d = w0 * x;
                }
                for t in s + 1..e {
                    let from = &plane[taps.index[t] * inner..][..inner];
                    let wt = w[t];
                    for (d, &x) in dst.iter_mut().zip(from) {
                        *d = *d + wt * x;
                    }
                }
            }
        });
    }
    out
}

/// One row along the innermost dim with `K` taps per output: `dst[i] = sum_k w * row[index]`.
fn gather_row<T: Real, const K: usize>(row: &[T], index: &[usize], w: &[T], dst: &mut [T]) {
    for ((d, ix), wt) in dst.iter_mut().zip(index.chunks_exact(K)).zip(w.chunks_exact(K)) {
        let mut acc = wt[0] * row[ix[0]];
        for k in 1..K {
            acc = acc + wt[k] * row[ix[k]];
        }
        *d = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense `[n_dst, n_src]` form of the taps.
    fn dense(t: &Taps) -> Vec<Vec<f64>> {
        let mut m = vec![vec![0.0; t.n_src]; t.n_dst()];
        for (i, row) in m.iter_mut().enumerate() {
            for k in t.offsets[i]..t.offsets[i + 1] {
                row[t.index[k]] += t.weight[k];
            }
        }
        m
    }

    fn sample() -> Taps {
        // 3 outputs from 4 inputs, with a repeated (clamped) index in the last row.
        Taps {
            n_src: 4,
            offsets: vec![0, 2, 3, 5],
            index: vec![0, 1, 2, 3, 3],
            weight: vec![0.25, 0.75, 1.0, 0.5, 0.5],
        }
    }

    #[test]
    fn transpose_is_the_dense_transpose() {
        let t = sample();
        let (m, mt) = (dense(&t), dense(&t.transpose()));
        for i in 0..3 {
            for j in 0..4 {
                assert_eq!(m[i][j], mt[j][i]);
            }
        }
        assert_eq!(t.transpose().transpose().n_dst(), 3);
    }

    #[test]
    fn apply_matches_the_dense_product_on_both_loop_shapes() {
        let t = sample();
        let m = dense(&t);
        let (outer, inner) = (2, 3);
        let src: Vec<f64> = (0..outer * 4 * inner).map(|v| v as f64 * 0.5 - 3.0).collect();
        let out = apply(&t, &src, outer, inner);
        for o in 0..outer {
            for i in 0..3 {
                for c in 0..inner {
                    let want: f64 = (0..4).map(|j| m[i][j] * src[(o * 4 + j) * inner + c]).sum();
                    assert_eq!(out[(o * 3 + i) * inner + c], want);
                }
            }
        }
        let rows: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(apply(&t, &rows, 2, 1), vec![0.75, 2.0, 3.0, 4.75, 6.0, 7.0]);
    }

    #[test]
    fn identity_and_validity() {
        let id = Taps::fixed(3, 2, vec![0, 1, 1, 2, 2, 0], vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        assert!(id.is_identity() && id.is_valid());
        assert!(!sample().is_identity());
        let bad = Taps { n_src: 2, offsets: vec![0, 1], index: vec![2], weight: vec![1.0] };
        assert!(!bad.is_valid());
    }
}
