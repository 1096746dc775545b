//! Sliding-window patch extraction (`im2col`, PyTorch's `unfold`) and its adjoint (`col2im`,
//! `fold`) for 2-D images: `[N, C, H, W] <-> [N, C*kh*kw, OH*OW]`. Convolution and pooling
//! are built on these plus GEMM and reductions.

use super::contiguous_slice;
use crate::dtype::Element;
use crate::layout::Layout;
use crate::op::ConvGeom;
use crate::storage::{pool, Buf, CpuStorage};
use ember_kernels::threads;

/// For each (kernel row, output row), the input row or `None` in the padding.
fn source_index(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    (o * stride + k * dil).checked_sub(pad).filter(|&i| i < size)
}

/// For one kernel column: the output columns `lo..hi` whose input column lies inside the
/// image (the window slides monotonically, so the valid ones are one range), and the input
/// column of output column `lo`. Columns outside the range read padding.
#[derive(Clone, Copy)]
pub(crate) struct ColRange {
    lo: usize,
    hi: usize,
    src: usize,
}

fn col_range(out: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> ColRange {
    let valid = |o: usize| source_index(o, k, stride, pad, dil, size).is_some();
    let lo = (0..out).find(|&o| valid(o)).unwrap_or(out);
    let hi = (lo..out).find(|&o| !valid(o)).unwrap_or(out);
    let src = source_index(lo, k, stride, pad, dil, size).unwrap_or(0);
    ColRange { lo, hi, src }
}

/// The column ranges of every kernel column (see [`ColRange`]).
pub(crate) fn col_ranges(g: &ConvGeom) -> Vec<ColRange> {
    let (ow, w) = (g.output().1, g.input.1);
    (0..g.kernel.1).map(|kj| col_range(ow, kj, g.stride.1, g.padding.1, g.dilation.1, w)).collect()
}

/// Visits the rows of one image's patch matrix `[c, kh, kw, oh, ow]` in memory order, giving
/// each row's channel, the column range of its kernel column, and its input row (`None` where
/// the window hits padding). im2col and col2im walk the same rows in opposite directions.
fn for_each_patch_row(c: usize, g: &ConvGeom, ranges: &[ColRange], mut f: impl FnMut(usize, &ColRange, Option<usize>)) {
    let (h, kh, oh) = (g.input.0, g.kernel.0, g.output().0);
    for ch in 0..c {
        for ki in 0..kh {
            for r in ranges {
                for oi in 0..oh {
                    f(ch, r, source_index(oi, ki, g.stride.0, g.padding.0, g.dilation.0, h));
                }
            }
        }
    }
}

/// One image's patches: `x [c, H, W]` -> `cols [c*kh*kw, OH*OW]` (every element written).
/// Consecutive patch rows are `stride` elements apart in `cols` (`OH*OW` when it is one
/// image's matrix; more when several images' patches are interleaved side by side).
pub(crate) fn im2col_image<T: Element>(
    x: &[T],
    c: usize,
    g: &ConvGeom,
    ranges: &[ColRange],
    cols: &mut [T],
    stride: usize,
) {
    let (h, w) = g.input;
    let (sw, (oh, ow)) = (g.stride.1, g.output());
    let mut k = 0;
    for_each_patch_row(c, g, ranges, |ch, r, src_row| {
        // Row k of the walk: patch row k / oh, output row k % oh.
        let at = (k / oh) * stride + (k % oh) * ow;
        k += 1;
        let Some(dst) = cols.get_mut(at..at + ow) else { return };
        let Some(src_row) = src_row else {
            dst.fill(T::default());
            return;
        };
        let row = &x[(ch * h + src_row) * w..(ch * h + src_row + 1) * w];
        dst[..r.lo].fill(T::default());
        dst[r.hi..].fill(T::default());
        let dst = &mut dst[r.lo..r.hi];
        if sw == 1 {
            dst.copy_from_slice(&row[r.src..r.src + dst.len()]);
        } else {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = row[r.src + i * sw];
            }
        }
    });
}

/// One image's adjoint: adds `cols [c*kh*kw, OH*OW]` into `img [c, H, W]` (padding dropped).
pub(crate) fn col2im_image<T: Element + std::ops::Add<Output = T>>(
    cols: &[T],
    c: usize,
    g: &ConvGeom,
    ranges: &[ColRange],
    img: &mut [T],
    stride: usize,
) {
    let (h, w) = g.input;
    let (sw, (oh, ow)) = (g.stride.1, g.output());
    let mut k = 0;
    for_each_patch_row(c, g, ranges, |ch, r, dst_row| {
        let at = (k / oh) * stride + (k % oh) * ow;
        k += 1;
        let Some(src) = cols.get(at..at + ow) else { return };
        let Some(dst_row) = dst_row else { return };
        let row = &mut img[(ch * h + dst_row) * w..(ch * h + dst_row + 1) * w];
        let src = &src[r.lo..r.hi];
        if sw == 1 {
            for (d, &v) in row[r.src..r.src + src.len()].iter_mut().zip(src) {
                *d = *d + v;
            }
        } else {
            for (i, &v) in src.iter().enumerate() {
                let d = &mut row[r.src + i * sw];
                *d = *d + v;
            }
        }
    });
}

fn im2col_t<T: Element>(x: &[T], n: usize, c: usize, g: &ConvGeom) -> Vec<T> {
    let (h, w) = g.input;
    let (oh, ow) = g.output();
    let per_image = c * g.kernel.0 * g.kernel.1 * oh * ow;
    // Every element is written below (padding explicitly), so no zero fill of the whole buffer.
    let mut out = pool::take::<T>(n * per_image);
    if per_image == 0 {
        return out;
    }
    let ranges = col_ranges(g);
    // Images in parallel (each writes its own contiguous block of columns).
    threads::for_each_block_mut(&mut out, per_image, |b, cols| {
        im2col_image(&x[b * c * h * w..(b + 1) * c * h * w], c, g, &ranges, cols, oh * ow)
    });
    out
}

fn col2im_t<T: Element + std::ops::Add<Output = T>>(cols: &[T], n: usize, c: usize, g: &ConvGeom) -> Vec<T> {
    let (h, w) = g.input;
    let per_image = c * h * w;
    let per_cols = c * g.kernel.0 * g.kernel.1 * g.output().0 * g.output().1;
    let mut out = pool::take_zeroed::<T>(n * per_image);
    if per_image == 0 || per_cols == 0 {
        return out;
    }
    let ranges = col_ranges(g);
    threads::for_each_block_mut(&mut out, per_image, |b, img| {
        col2im_image(&cols[b * per_cols..(b + 1) * per_cols], c, g, &ranges, img, g.output().0 * g.output().1)
    });
    out
}

/// Patches of `[n, c, H, W]` as `[n, c*kh*kw, OH*OW]` (zeros where the window hits padding).
pub fn im2col(s: &CpuStorage, l: &Layout, n: usize, c: usize, g: &ConvGeom) -> CpuStorage {
    match s {
        CpuStorage::F32(v) => CpuStorage::F32(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::F64(v) => CpuStorage::F64(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::F16(v) => CpuStorage::F16(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::BF16(v) => CpuStorage::BF16(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I64(v) => CpuStorage::I64(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I32(v) => CpuStorage::I32(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::U8(v) => CpuStorage::U8(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I8(v) => CpuStorage::I8(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I16(v) => CpuStorage::I16(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::Bool(v) => CpuStorage::Bool(Buf::owned(im2col_t(&contiguous_slice(v, l), n, c, g))),
    }
}

/// Sums `[n, c*kh*kw, OH*OW]` patches back into `[n, c, H, W]` (float storage only; f16/bf16
/// accumulate in their own type, as callers use them only on gradients).
pub fn col2im(s: &CpuStorage, l: &Layout, n: usize, c: usize, g: &ConvGeom) -> CpuStorage {
    match s {
        CpuStorage::F64(v) => CpuStorage::F64(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::F16(v) => CpuStorage::F16(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::BF16(v) => CpuStorage::BF16(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I64(v) => CpuStorage::I64(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I32(v) => CpuStorage::I32(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::U8(v) => CpuStorage::U8(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I8(v) => CpuStorage::I8(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::I16(v) => CpuStorage::I16(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
        CpuStorage::Bool(v) => CpuStorage::Bool(Buf::owned(contiguous_slice(v, l).into_owned())),
        CpuStorage::F32(v) => CpuStorage::F32(Buf::owned(col2im_t(&contiguous_slice(v, l), n, c, g))),
    }
}
