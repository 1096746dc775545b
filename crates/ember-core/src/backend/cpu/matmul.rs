//! Batched matrix multiply over strided views: `[..., m, k] x [..., k, n] -> [..., m, n]`,
//! with identical batch dims (broadcasting happens before, as stride-0 views). Each matrix is
//! handed to `ember_kernels::gemm` with its strides, so transposed operands are not copied,
//! except a column-major right operand (`x @ W.t()`, what `nn.Linear` computes): the GEMM
//! crate packs it slowly, so f32/f64 products of that shape go to faer's matmul (which packs
//! it well) and other dtypes take a transposed copy first.

use super::contiguous_slice;
use super::linalg::Real;
use crate::dtype::Element;
use crate::layout::Layout;
use crate::storage::{pool, Buf, CpuStorage};
use ember_kernels::gemm::{matmul as gemm, GemmElem, MatMut, MatRef};
use ember_kernels::gemm_nt;
use ember_kernels::threads;

fn batch_offsets(l: &Layout) -> Vec<usize> {
    let nd = l.ndim();
    Layout::new(l.shape()[..nd - 2].to_vec(), l.strides()[..nd - 2].to_vec(), l.offset()).offsets()
}

/// `A @ B` for one matrix `A` of at most 128 rows and a column-major `B` (`x @ W.t()`) on
/// faer's matmul.
/// The GEMM crate streams such a `B` with a stride of k per element: 1.9 ms for
/// `[16, 1024] x [1024, 1024]ᵀ` (torch: 0.21 ms); a transposed copy first, 0.54 ms; faer packs
/// it itself, 0.36-0.39 ms, and scales with threads (`[128, 768] x [768, 3072]ᵀ`: 3.2 ms at one
/// thread, 1.6 ms at two, where copy-then-GEMM took 4.0 / 2.4 ms). `None` when the shapes or
/// strides are not that case (then [`go`] runs).
fn nt_faer<T: Real + GemmElem>(a: &[T], la: &Layout, b: &[T], lb: &Layout, bias: Option<&[T]>) -> Option<Vec<T>> {
    let nd = la.ndim();
    let (m, k, n) = (la.shape()[nd - 2], la.shape()[nd - 1], lb.shape()[nd - 1]);
    let (ars, acs) = (la.strides()[nd - 2], la.strides()[nd - 1]);
    let (brs, bcs) = (lb.strides()[nd - 2], lb.strides()[nd - 1]);
    // One row is a dot product per weight row, already the best case for the GEMM's gemv.
    // Over 128 rows the GEMM crate's own packing keeps up (2048 x 256 x 768: 3.3 ms either way)
    // and its threads scale where faer's did not; a batch of matrices sharing W ([B, T, C] x
    // W.t()) measured 1.2x slower through faer, call by call (page faults of its packing
    // buffers), so those stay on the GEMM too.
    if brs != 1 || bcs < k || !(2..=128).contains(&m) || n < 2 || k < 2 || m * n * k < 1 << 12 || la.numel() != m * k {
        return None;
    }
    let a_row_major = acs == 1 && ars >= k;
    let a_col_major = ars == 1 && acs >= m;
    if !a_row_major && !a_col_major {
        return None;
    }
    let threads = threads::num_threads();
    let par = if threads > 1 && m * n * k >= 1 << 20 { faer::Par::rayon(threads) } else { faer::Par::Seq };
    let (oa, ob) = (la.offset(), lb.offset());
    let w = faer::MatRef::from_column_major_slice_with_stride(&b[ob..], k, n, bcs);
    let x = if a_row_major {
        faer::MatRef::from_row_major_slice_with_stride(&a[oa..], m, k, ars)
    } else {
        faer::MatRef::from_column_major_slice_with_stride(&a[oa..], m, k, acs)
    };
    let mut out = pool::take::<T>(m * n);
    let accum = match bias {
        Some(bias) => {
            fill_rows(&mut out, bias);
            faer::Accum::Add
        }
        None => faer::Accum::Replace,
    };
    let c = faer::MatMut::from_row_major_slice_mut(&mut out, m, n);
    faer::linalg::matmul::matmul(c, accum, x, w, T::from_f64(1.0), par);
    Some(out)
}

/// `A @ B` for one f32 matrix `A` of a few rows and a column-major `B` (`x @ W.t()` on a small
/// batch) by `ember_kernels::gemm_nt`: dot products streaming each weight row once, no packing
/// (see `gemm_nt::worthwhile` for where that wins). `None` when the shapes or strides are not
/// that case.
fn nt_rows(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let nd = la.ndim();
    let (m, k, n) = (la.shape()[nd - 2], la.shape()[nd - 1], lb.shape()[nd - 1]);
    let (ars, acs) = (la.strides()[nd - 2], la.strides()[nd - 1]);
    let (brs, bcs) = (lb.strides()[nd - 2], lb.strides()[nd - 1]);
    if brs != 1 || bcs < k || acs != 1 || ars < k || k == 0 || la.numel() != m * k || !gemm_nt::worthwhile(m, n, k) {
        return None;
    }
    let mut out = pool::take::<f32>(m * n);
    if let Some(bias) = bias {
        fill_rows(&mut out, bias);
    }
    let (oa, ob) = (la.offset(), lb.offset());
    gemm_nt::matmul_nt(m, n, k, &a[oa..], ars, &b[ob..], bcs, &mut out, n, bias.is_some(), threads::num_threads());
    Some(out)
}

/// Every `bias.len()`-long row of `out` set to `bias`, split across threads for large outputs.
fn fill_rows<T: Copy + Send + Sync>(out: &mut [T], bias: &[T]) {
    let n = bias.len();
    if n == 0 {
        return;
    }
    threads::for_each_span_mut(out, threads::MAP_GRAIN, |start, span| {
        // The span starts inside a row: finish that row, then whole rows.
        let lead = ((n - start % n) % n).min(span.len());
        let (head, rest) = span.split_at_mut(lead);
        head.copy_from_slice(&bias[n - lead..]);
        for row in rest.chunks_mut(n) {
            let len = row.len();
            row.copy_from_slice(&bias[..len]);
        }
    });
}

/// `A @ B` of every matrix in the batch; with `bias` (`n` elements) each output row starts as
/// `bias` and the GEMM accumulates onto it.
fn go<T: GemmElem + Element>(a: &[T], la: &Layout, b: &[T], lb: &Layout, bias: Option<&[T]>) -> Vec<T> {
    let nd = la.ndim();
    let (m, k, n) = (la.shape()[nd - 2], la.shape()[nd - 1], lb.shape()[nd - 1]);
    let (ars, acs) = (la.strides()[nd - 2], la.strides()[nd - 1]);
    let (brs, bcs) = (lb.strides()[nd - 2], lb.strides()[nd - 1]);
    let (oa, ob) = (batch_offsets(la), batch_offsets(lb));
    // Every element is written by the GEMM (k == 0 writes zeros) or starts as the bias, so a
    // reused buffer is fine.
    let mut out = pool::take::<T>(oa.len() * m * n);
    if m * n == 0 {
        return out;
    }
    if let Some(bias) = bias {
        fill_rows(&mut out, bias);
    }
    let threads = threads::num_threads();
    // A column-major right operand (`x @ W.t()` with a row-major weight, what `nn.Linear`
    // computes; f32/f64 go to `nt_faer` first): the GEMM crate packs it with a stride of k per
    // element, and when that stride
    // is a multiple of 1 KiB (k = 256, 512, 1024, ... floats) its reads share a few cache sets:
    // 0.2-0.3 ms extra for a 512 x 512 weight whatever m is (0.22 ms against 0.07 ms at m = 16),
    // 3x on [64, 9216] x [9216, 128]. One transposed copy (`ember_kernels::transpose`, 0.04 ms
    // for 512 x 512) into a row-major buffer costs less there, and under few rows and columns
    // for any stride (0.3-0.75x measured); elsewhere the copy measured 1.0-1.5x, so not then.
    // Not for one row: `x @ W.t()` is then a dot product per weight row, contiguous, the
    // layout's best case (copying GPT-2's 50257 x 768 head each decoded token cost 10x).
    let shared_b = ob.iter().all(|&o| o == ob[0]);
    let aliasing = (bcs * std::mem::size_of::<T>()).is_multiple_of(1024);
    let small = m <= 64 && n <= 512;
    let transposed = (brs == 1
        && bcs >= k
        && k > 1
        && n > 1
        && m >= 2
        && (aliasing || small)
        && k * n >= 1 << 12
        && k * n <= 1 << 26
        && shared_b)
        .then(|| {
            let mut t = pool::take::<T>(k * n);
            ember_kernels::transpose::transpose(b, ob[0], bcs, k, n, &mut t);
            t
        });
    let zeros;
    let (b, ob, brs, bcs) = match &transposed {
        Some(t) => {
            zeros = vec![0; ob.len()];
            (&t[..], &zeros, n, 1)
        }
        None => (b, &ob, brs, bcs),
    };
    let one = |i: usize, c: &mut [T], t: usize| {
        gemm(
            m,
            n,
            k,
            MatMut { data: c, offset: 0, rs: n, cs: 1 },
            MatRef { data: a, offset: oa[i], rs: ars, cs: acs },
            MatRef { data: b, offset: ob[i], rs: brs, cs: bcs },
            bias.is_some(),
            t,
        )
    };
    // Many small matrices (attention heads), or at least a matrix per thread of moderate size
    // (convolution's per-image products): one thread per matrix beats splitting each, which
    // forks and joins the workers once per matrix.
    let per_matrix = oa.len() > 1 && m * n * k < 128 * 128 * 128;
    let per_thread = oa.len() >= 2 * threads && m * n * k < 1 << 27;
    if per_matrix || per_thread {
        threads::for_each_block_mut(&mut out, m * n, |i, c| one(i, c, 1));
    } else {
        for (i, c) in out.chunks_mut(m * n).enumerate() {
            one(i, c, threads);
        }
    }
    if let Some(t) = transposed {
        pool::give(T::into_storage(t));
    }
    out
}

/// The batched product; both operands have the same dtype and batch shape.
pub fn matmul(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> CpuStorage {
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => {
            let out = nt_rows(x, la, y, lb, None).or_else(|| nt_faer(x, la, y, lb, None));
            CpuStorage::F32(Buf::owned(out.unwrap_or_else(|| go(x, la, y, lb, None))))
        }
        (CpuStorage::F64(x), CpuStorage::F64(y)) => {
            CpuStorage::F64(Buf::owned(nt_faer(x, la, y, lb, None).unwrap_or_else(|| go(x, la, y, lb, None))))
        }
        (CpuStorage::F16(x), CpuStorage::F16(y)) => CpuStorage::F16(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::BF16(x), CpuStorage::BF16(y)) => CpuStorage::BF16(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::I32(x), CpuStorage::I32(y)) => CpuStorage::I32(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::U8(x), CpuStorage::U8(y)) => CpuStorage::U8(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::I8(x), CpuStorage::I8(y)) => CpuStorage::I8(Buf::owned(go(x, la, y, lb, None))),
        (CpuStorage::I16(x), CpuStorage::I16(y)) => CpuStorage::I16(Buf::owned(go(x, la, y, lb, None))),
        _ => unreachable!("matmul: callers promote both operands to one numeric dtype"),
    }
}

/// `A @ B + bias` with `bias` (`n` elements, contiguous) added to every output row, for f32
/// and f64 (`None` for other dtypes): each row starts as the bias and the GEMM accumulates onto
/// it (PyTorch's `addmm` with beta 1), one write pass where a broadcast add after the product
/// reads and writes the whole output again.
pub fn matmul_bias(
    a: &CpuStorage,
    la: &Layout,
    b: &CpuStorage,
    lb: &Layout,
    bias: &CpuStorage,
    lbias: &Layout,
) -> Option<CpuStorage> {
    match (a, b, bias) {
        (CpuStorage::F32(x), CpuStorage::F32(y), CpuStorage::F32(c)) => {
            let c = contiguous_slice(c, lbias);
            let out = nt_rows(x, la, y, lb, Some(&c)).or_else(|| nt_faer(x, la, y, lb, Some(&c)));
            Some(CpuStorage::F32(Buf::owned(out.unwrap_or_else(|| go(x, la, y, lb, Some(&c))))))
        }
        (CpuStorage::F64(x), CpuStorage::F64(y), CpuStorage::F64(c)) => {
            let c = contiguous_slice(c, lbias);
            Some(CpuStorage::F64(Buf::owned(
                nt_faer(x, la, y, lb, Some(&c)).unwrap_or_else(|| go(x, la, y, lb, Some(&c))),
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[.., m, k] x [.., k, n]` by the definition, in f64, over any strides.
    fn naive(a: &[f64], la: &Layout, b: &[f64], lb: &Layout) -> Vec<f64> {
        let nd = la.ndim();
        let (m, k, n) = (la.shape()[nd - 2], la.shape()[nd - 1], lb.shape()[nd - 1]);
        let (sa, sb) = (la.strides(), lb.strides());
        let (oa, ob) = (batch_offsets(la), batch_offsets(lb));
        let mut out = Vec::new();
        for (&pa, &pb) in oa.iter().zip(&ob) {
            for i in 0..m {
                for j in 0..n {
                    out.push(
                        (0..k)
                            .map(|p| a[pa + i * sa[nd - 2] + p * sa[nd - 1]] * b[pb + p * sb[nd - 2] + j * sb[nd - 1]])
                            .sum(),
                    );
                }
            }
        }
        out
    }

    #[test]
    fn transposed_right_operands_match_the_definition() {
        // (m, k, n, a column-major, batch): the x @ W.t() shapes nt_faer takes (row- and
        // column-major x, a batch sharing W, a 1 KiB stride) and ones it leaves to the GEMM.
        for (m, k, n, a_cm, batch) in [
            (16, 512, 24, false, 1),
            (7, 33, 65, true, 1),
            (3, 256, 40, false, 3),
            (1, 64, 70, false, 1),
            (40, 2, 9, false, 2),
            // f32 ones for nt_rows (gemm_nt: a few rows, a weight of at least 4096 elements).
            (3, 64, 70, false, 1),
            (4, 96, 50, false, 1),
        ] {
            let a: Vec<f64> = (0..batch * m * k).map(|i| ((i * 7 % 23) as f64 - 11.0) / 8.0).collect();
            let w: Vec<f64> = (0..n * k).map(|i| ((i * 5 % 19) as f64 - 9.0) / 4.0).collect();
            let la = if a_cm {
                Layout::new(vec![batch, m, k], vec![m * k, 1, m], 0)
            } else {
                Layout::new(vec![batch, m, k], vec![m * k, k, 1], 0)
            };
            // W is [n, k] row-major; W.t() is [k, n] with strides (1, k), shared (stride 0).
            let lb = Layout::new(vec![batch, k, n], vec![0, 1, k], 0);
            let want = naive(&a, &la, &w, &lb);
            let got = match matmul(
                &CpuStorage::F64(Buf::owned(a.clone())),
                &la,
                &CpuStorage::F64(Buf::owned(w.clone())),
                &lb,
            ) {
                CpuStorage::F64(v) => v.to_vec(),
                _ => unreachable!(),
            };
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let got32 = match matmul(&CpuStorage::F32(Buf::owned(a32)), &la, &CpuStorage::F32(Buf::owned(w32)), &lb) {
                CpuStorage::F32(v) => v.to_vec(),
                _ => unreachable!(),
            };
            for ((g, g32), e) in got.iter().zip(&got32).zip(&want) {
                assert!((g - e).abs() <= 1e-12 * e.abs().max(1.0), "{m}x{k}x{n}: {g} vs {e}");
                assert!((*g32 as f64 - e).abs() <= 1e-4 * e.abs().max(1.0), "{m}x{k}x{n} f32: {g32} vs {e}");
            }
        }
    }

    #[test]
    fn bias_starts_each_row_on_the_few_rows_path() {
        // [3, 80] x [96, 80]ᵀ + b in f32 (gemm_nt's shape) against the definition.
        let (m, k, n) = (3, 80, 96);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 23) as f32 - 11.0) / 8.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 5 % 19) as f32 - 9.0) / 4.0).collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 3.0 - 5.0).collect();
        let (la, lb) = (Layout::new(vec![m, k], vec![k, 1], 0), Layout::new(vec![k, n], vec![1, k], 0));
        let lbias = Layout::new(vec![n], vec![1], 0);
        let got = match matmul_bias(
            &CpuStorage::F32(Buf::owned(a.clone())),
            &la,
            &CpuStorage::F32(Buf::owned(w.clone())),
            &lb,
            &CpuStorage::F32(Buf::owned(bias.clone())),
            &lbias,
        ) {
            Some(CpuStorage::F32(v)) => v.to_vec(),
            _ => unreachable!(),
        };
        for i in 0..m {
            for j in 0..n {
                let want: f64 = bias[j] as f64 + (0..k).map(|p| a[i * k + p] as f64 * w[j * k + p] as f64).sum::<f64>();
                let g = got[i * n + j] as f64;
                assert!((g - want).abs() <= 1e-4 * want.abs().max(1.0), "({i}, {j}): {g} vs {want}");
            }
        }
    }
}
