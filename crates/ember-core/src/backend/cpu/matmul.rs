//! Batched matrix multiply over strided views: `[..., m, k] x [..., k, n] -> [..., m, n]`,
//! with identical batch dims (broadcasting happens before, as stride-0 views). Each matrix is
//! handed to `ember_kernels::gemm` with its strides, so transposed operands are not copied.

use crate::dtype::Element;
use crate::layout::Layout;
use crate::storage::{pool, Buf, CpuStorage};
use ember_kernels::gemm::{matmul as gemm, GemmElem, MatMut, MatRef};
use ember_kernels::threads;

fn batch_offsets(l: &Layout) -> Vec<usize> {
    let nd = l.ndim();
    Layout::new(l.shape()[..nd - 2].to_vec(), l.strides()[..nd - 2].to_vec(), l.offset()).offsets()
}

fn go<T: GemmElem + Element>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> Vec<T> {
    let nd = la.ndim();
    let (m, k, n) = (la.shape()[nd - 2], la.shape()[nd - 1], lb.shape()[nd - 1]);
    let (ars, acs) = (la.strides()[nd - 2], la.strides()[nd - 1]);
    let (brs, bcs) = (lb.strides()[nd - 2], lb.strides()[nd - 1]);
    let (oa, ob) = (batch_offsets(la), batch_offsets(lb));
    // Every element is written by the GEMM (k == 0 writes zeros), so a reused buffer is fine.
    let mut out = pool::take::<T>(oa.len() * m * n);
    if m * n == 0 {
        return out;
    }
    let threads = threads::num_threads();
    // A column-major right operand (`x @ W.t()` with a row-major weight) under few rows: the
    // GEMM streams it with a stride of k per element (3x slower measured on [64, 9216] x
    // [9216, 128]); one transposed copy into a row-major buffer costs less than that. Not
    // under a handful of rows: the copy costs k * n whatever m is, while the product costs
    // m * k * n, and one row (decode: `x @ W.t()` is a dot product per weight row, contiguous)
    // is the layout's best case (copying GPT-2's 50257 x 768 head each token cost 10x).
    let shared_b = ob.iter().all(|&o| o == ob[0]);
    let transposed = (brs == 1
        && bcs >= k
        && k > 1
        && n > 1
        && (16..=128).contains(&m)
        && k * n >= 1 << 16
        && k * n <= 1 << 22
        && shared_b)
        .then(|| {
            // t[r * n + j] = b[r + j * bcs], in blocks of 64 rows so the writes stay in cache.
            let mut t = pool::take::<T>(k * n);
            for r0 in (0..k).step_by(64) {
                let r1 = (r0 + 64).min(k);
                for j in 0..n {
                    let col = &b[ob[0] + j * bcs + r0..ob[0] + j * bcs + r1];
                    for (r, &v) in (r0..r1).zip(col) {
                        t[r * n + j] = v;
                    }
                }
            }
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
            false,
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
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => CpuStorage::F64(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::F16(x), CpuStorage::F16(y)) => CpuStorage::F16(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::BF16(x), CpuStorage::BF16(y)) => CpuStorage::BF16(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::I32(x), CpuStorage::I32(y)) => CpuStorage::I32(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::U8(x), CpuStorage::U8(y)) => CpuStorage::U8(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::I8(x), CpuStorage::I8(y)) => CpuStorage::I8(Buf::owned(go(x, la, y, lb))),
        (CpuStorage::I16(x), CpuStorage::I16(y)) => CpuStorage::I16(Buf::owned(go(x, la, y, lb))),
        _ => unreachable!("matmul: callers promote both operands to one numeric dtype"),
    }
}
