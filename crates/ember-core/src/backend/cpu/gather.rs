//! `gather` and the positions of the `scatter` family, read straight from strided views in
//! one pass: each index value is loaded, range-checked and used where it is read, with no
//! materialised offset or index vectors, and rows of the index (its last dim) run in parallel.
//!
//! For an index of shape `[.., L]` along `dim` of a tensor `t`, element `p` of the result
//! reads `t` at `p`'s coordinates with the `dim` coordinate replaced by `index[p]`.

use crate::dtype::Element;
use crate::layout::Layout;
use crate::storage::CpuStorage;
use rayon::prelude::*;

/// The geometry of one gather/scatter: the index's shape and strides, and the strides of the
/// tensor it indexes (`dim`'s own stride applies to the index values).
pub struct Geometry<'a> {
    pub shape: &'a [usize],
    pub dim: usize,
    pub dim_size: usize,
    pub data: &'a Layout,
    pub index: &'a Layout,
}

/// Below this many elements the pass runs on the calling thread.
const PAR_MIN: usize = ember_kernels::threads::PARALLEL_MIN_WORK;

/// Index values as `i64` (the index may be int64 or int32).
trait IndexValue: Copy + Send + Sync {
    fn value(self) -> i64;
}
impl IndexValue for i64 {
    fn value(self) -> i64 {
        self
    }
}
impl IndexValue for i32 {
    fn value(self) -> i64 {
        i64::from(self)
    }
}

impl Geometry<'_> {
    fn row_len(&self) -> usize {
        *self.shape.last().unwrap_or(&1)
    }

    /// Calls `f(row, data_off, index_off)` for rows `start..end` in order: the storage offsets
    /// of each row's first element (`data_off` without the `dim` coordinate), kept by an
    /// odometer so a row costs a few additions.
    fn for_rows(
        &self,
        start: usize,
        end: usize,
        mut f: impl FnMut(usize, usize, usize) -> Result<(), i64>,
    ) -> Result<(), i64> {
        if start >= end {
            return Ok(()); // also keeps a zero-size dim out of the divisions below
        }
        let nd = self.shape.len();
        let outer = nd.saturating_sub(1);
        let (ds, is) = (self.data.strides(), self.index.strides());
        let dstride = |k: usize| if k == self.dim { 0 } else { ds[k] };
        // Coordinates of row `start`.
        let mut coords = vec![0usize; outer];
        let mut rest = start;
        for k in (0..outer).rev() {
            coords[k] = rest % self.shape[k];
            rest /= self.shape[k];
        }
        let mut d_off = self.data.offset() + (0..outer).map(|k| coords[k] * dstride(k)).sum::<usize>();
        let mut i_off = self.index.offset() + (0..outer).map(|k| coords[k] * is[k]).sum::<usize>();
        for row in start..end {
            f(row, d_off, i_off)?;
            // Odometer step over the outer dims.
            for k in (0..outer).rev() {
                coords[k] += 1;
                d_off += dstride(k);
                i_off += is[k];
                if coords[k] < self.shape[k] {
                    break;
                }
                d_off -= coords[k] * dstride(k);
                i_off -= coords[k] * is[k];
                coords[k] = 0;
            }
        }
        Ok(())
    }

    /// Runs `f(out_rows, first_row)` over blocks of whole rows of a row-major output, in
    /// parallel when the output is large.
    fn blocks<T: Send>(&self, out: &mut [T], f: impl Fn(&mut [T], usize) -> Result<(), i64> + Sync) -> Result<(), i64> {
        let len = self.row_len().max(1);
        if out.len() < PAR_MIN || ember_kernels::threads::num_threads() <= 1 {
            return f(out, 0);
        }
        let rows_per_block = (PAR_MIN / len).max(1);
        out.par_chunks_mut(rows_per_block * len).enumerate().try_for_each(|(b, chunk)| f(chunk, b * rows_per_block))
    }

    /// The checked index value at `i_off + j * stride` and the data offset it selects.
    #[inline(always)]
    fn select<I: IndexValue>(&self, idx: &[I], i_pos: usize) -> Result<usize, i64> {
        let v = idx[i_pos].value();
        if v < 0 || v as u64 >= self.dim_size as u64 {
            return Err(v);
        }
        Ok(v as usize * self.data.strides()[self.dim])
    }

    fn gather_typed<T: Element, I: IndexValue>(&self, src: &[T], idx: &[I]) -> Result<Vec<T>, i64> {
        let n: usize = self.shape.iter().product();
        // Every element is written below; a pooled buffer saves faulting in fresh pages.
        let mut out = crate::storage::pool::take::<T>(n);
        let len = self.row_len();
        let nd = self.shape.len();
        let last = nd.saturating_sub(1);
        let i_step = if nd == 0 { 0 } else { self.index.strides()[last] };
        let d_step = if nd == 0 || last == self.dim { 0 } else { self.data.strides()[last] };
        let (dim_stride, size) = (self.data.strides()[self.dim], self.dim_size as u64);
        self.blocks(&mut out, |block, first| {
            let rows = block.len() / len.max(1);
            let mut rows_out = block.chunks_mut(len.max(1));
            self.for_rows(first, first + rows, |_, d_off, i_off| {
                let dst = rows_out.next().unwrap_or_default();
                if i_step == 1 {
                    // The common case: the row's index values are adjacent.
                    let irow = &idx[i_off..i_off + dst.len()];
                    for (j, (o, &iv)) in dst.iter_mut().zip(irow).enumerate() {
                        let v = iv.value();
                        if v as u64 >= size {
                            return Err(v); // negative values wrap to huge ones
                        }
                        *o = src[d_off + j * d_step + v as usize * dim_stride];
                    }
                } else {
                    for (j, o) in dst.iter_mut().enumerate() {
                        *o = src[d_off + j * d_step + self.select(idx, i_off + j * i_step)?];
                    }
                }
                Ok(())
            })
        })?;
        Ok(out)
    }

    fn positions_typed<I: IndexValue>(&self, idx: &[I]) -> Result<Vec<usize>, i64> {
        let n: usize = self.shape.iter().product();
        let mut out = vec![0usize; n];
        let len = self.row_len();
        let nd = self.shape.len();
        let last = nd.saturating_sub(1);
        let i_step = if nd == 0 { 0 } else { self.index.strides()[last] };
        let d_step = if nd == 0 || last == self.dim { 0 } else { self.data.strides()[last] };
        self.blocks(&mut out, |block, first| {
            let rows = block.len() / len.max(1);
            let mut rows_out = block.chunks_mut(len.max(1));
            self.for_rows(first, first + rows, |_, d_off, i_off| {
                let dst = rows_out.next().unwrap_or_default();
                for (j, o) in dst.iter_mut().enumerate() {
                    *o = d_off + j * d_step + self.select(idx, i_off + j * i_step)?;
                }
                Ok(())
            })
        })?;
        Ok(out)
    }
}

/// `src` read at each index position (`torch.gather`); `Err(v)` names an index value out of
/// `0..dim_size`. The output is contiguous with the index's shape.
pub fn gather(src: &CpuStorage, g: &Geometry, index: &CpuStorage) -> Result<CpuStorage, i64> {
    macro_rules! by_index {
        ($v:ident) => {
            match index {
                CpuStorage::I64(i) => g.gather_typed($v, i),
                CpuStorage::I32(i) => g.gather_typed($v, i),
                _ => unreachable!("the tensor method checks the index dtype"),
            }
        };
    }
    Ok(match src {
        CpuStorage::F32(v) => CpuStorage::F32(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::F64(v) => CpuStorage::F64(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::F16(v) => CpuStorage::F16(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::BF16(v) => CpuStorage::BF16(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::I64(v) => CpuStorage::I64(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::I32(v) => CpuStorage::I32(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::U8(v) => CpuStorage::U8(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::I8(v) => CpuStorage::I8(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::I16(v) => CpuStorage::I16(crate::storage::Buf::owned(by_index!(v)?)),
        CpuStorage::Bool(v) => CpuStorage::Bool(crate::storage::Buf::owned(by_index!(v)?)),
    })
}

/// The storage offset each index position selects (row-major over the index), for the
/// scatters; `Err(v)` names an index value out of `0..dim_size`.
pub fn positions(g: &Geometry, index: &CpuStorage) -> Result<Vec<usize>, i64> {
    match index {
        CpuStorage::I64(i) => g.positions_typed(i),
        CpuStorage::I32(i) => g.positions_typed(i),
        _ => unreachable!("the tensor method checks the index dtype"),
    }
}
