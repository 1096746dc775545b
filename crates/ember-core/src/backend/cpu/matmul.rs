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
    if oa.len() > 1 && m * n * k < 128 * 128 * 128 {
        // Many small matrices (attention heads): one thread per matrix beats splitting each.
        threads::for_each_block_mut(&mut out, m * n, |i, c| one(i, c, 1));
    } else {
        for (i, c) in out.chunks_mut(m * n).enumerate() {
            one(i, c, threads);
        }
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
        _ => unreachable!("matmul: callers promote both operands to one numeric dtype"),
    }
}
