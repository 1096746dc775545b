//! The CPU backend: strided loops that hand contiguous runs to `ember-kernels`.
//!
//! Functions here take storage plus [`Layout`] and return new storage; shapes and dtypes are
//! validated by the `Tensor` methods before they get here, so nothing here sees user errors.

pub mod conv;
pub mod gather;
pub mod grid_sample;
pub mod index;
pub mod linalg;
pub mod map;
pub mod matmul;
pub mod reduce;
pub mod resample;
pub mod rng;
pub mod sort;
pub mod spectral;

use crate::dtype::Element;
use crate::layout::{for_each_run_n, Layout};
use crate::storage::{Buf, CpuStorage};
use half::{bf16, f16};
use std::borrow::Cow;

/// Elements per parallel block for elementwise work (fixed, so results never depend on the
/// thread count).
pub const BLOCK: usize = 1 << 16;

/// The elements of a strided view in row-major order, borrowed when already contiguous.
pub fn contiguous_slice<'a, T: Element>(v: &'a [T], l: &Layout) -> Contig<'a, T> {
    if l.numel() == 0 {
        Contig(Cow::Borrowed(&[]))
    } else if l.is_contiguous() {
        Contig(Cow::Borrowed(&v[l.offset()..l.offset() + l.numel()]))
    } else if let Some(t) = transposed_copy(v, l) {
        Contig::owned(t)
    } else {
        Contig::owned(map::map_strided(v, l, |x| x))
    }
}

/// A row-major view of a tensor's elements: borrowed when the layout already is, otherwise a
/// pooled copy that goes back to the buffer pool when dropped. (A plain `Vec` would be freed to
/// the system, and every strided input would fault a fresh buffer in on the next call.)
pub struct Contig<'a, T: Element>(Cow<'a, [T]>);

impl<'a, T: Element> Contig<'a, T> {
    /// An owned copy (recycled on drop).
    pub fn owned(v: Vec<T>) -> Contig<'a, T> {
        Contig(Cow::Owned(v))
    }

    /// The elements as an owned vector (a copy when borrowed, into a pooled buffer: a fresh
    /// large one would be faulted in page by page, which costs several times the copy).
    pub fn into_owned(mut self) -> Vec<T> {
        match std::mem::replace(&mut self.0, Cow::Borrowed(&[])) {
            Cow::Owned(v) => v,
            Cow::Borrowed(b) => {
                let mut v = crate::storage::pool::take::<T>(b.len());
                v.copy_from_slice(b);
                v
            }
        }
    }
}

impl<T: Element> Default for Contig<'_, T> {
    fn default() -> Self {
        Contig(Cow::Borrowed(&[]))
    }
}

impl<T: Element> std::ops::Deref for Contig<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Element> Drop for Contig<'_, T> {
    fn drop(&mut self) {
        if let Cow::Owned(v) = std::mem::replace(&mut self.0, Cow::Borrowed(&[])) {
            crate::storage::pool::give(T::into_storage(v));
        }
    }
}

/// Row-major copy of a view whose last two dims are a transposed matrix (unit stride on the
/// second-to-last dim, as `w.t()` or `x.transpose(-2, -1)`), by `ember_kernels::transpose`
/// (tiled: a plain loop touches a new cache line per element on one side, 0.26 ms for a
/// 512 x 512 f32 transpose here). `None` for other layouts.
pub(crate) fn transposed_copy<T: Element>(v: &[T], l: &Layout) -> Option<Vec<T>> {
    let nd = l.ndim();
    if nd < 2 {
        return None;
    }
    let (rows, cols) = (l.shape()[nd - 2], l.shape()[nd - 1]);
    let (rs, cs) = (l.strides()[nd - 2], l.strides()[nd - 1]);
    if rs != 1 || cs <= 1 || rows < 8 || cols < 8 {
        return None;
    }
    let batch = Layout::new(l.shape()[..nd - 2].to_vec(), l.strides()[..nd - 2].to_vec(), l.offset()).offsets();
    let mut out = crate::storage::pool::take::<T>(l.numel());
    for (o, &base) in out.chunks_mut(rows * cols).zip(&batch) {
        // The view is [rows, cols] with strides (1, cs): column-major with column stride cs.
        ember_kernels::transpose::transpose(v, base, cs, rows, cols, o);
    }
    Some(out)
}

/// A contiguous copy of a strided view, as storage of the same dtype.
pub fn contiguous(s: &CpuStorage, l: &Layout) -> CpuStorage {
    crate::map_storage!(s, v => contiguous_slice(v, l).into_owned())
}

/// Copies `src` (viewed by `ls`) into `dst` (viewed by `ld`); same shape and dtype.
pub fn copy_strided<T: Element>(dst: &mut [T], ld: &Layout, src: &[T], ls: &Layout) {
    for_each_run_n(&[ld, ls], |offs, len, strides| {
        let (od, os) = (offs[0], offs[1]);
        if strides[0] == 1 && strides[1] == 1 {
            dst[od..od + len].copy_from_slice(&src[os..os + len]);
        } else {
            for i in 0..len {
                dst[od + i * strides[0]] = src[os + i * strides[1]];
            }
        }
    });
}

/// Row-major `f32` copy of any float view (f16/bf16 widen; f32 is borrowed when contiguous).
pub fn to_f32_vec<'a>(s: &'a CpuStorage, l: &Layout) -> Option<Contig<'a, f32>> {
    match s {
        CpuStorage::F32(v) => Some(contiguous_slice(v, l)),
        CpuStorage::F16(v) => Some(Contig::owned(map::map_strided(v, l, |x| x.to_f32()))),
        CpuStorage::BF16(v) => Some(Contig::owned(map::map_strided(v, l, |x| x.to_f32()))),
        _ => None,
    }
}

/// Narrows an f32 result back to the half type `like` has (identity for f32).
pub fn from_f32_vec(v: Vec<f32>, like: &CpuStorage) -> CpuStorage {
    match like {
        CpuStorage::F16(_) => CpuStorage::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
        CpuStorage::BF16(_) => CpuStorage::BF16(v.iter().map(|&x| bf16::from_f32(x)).collect()),
        _ => CpuStorage::F32(Buf::owned(v)),
    }
}
