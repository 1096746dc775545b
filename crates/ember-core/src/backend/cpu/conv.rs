//! Sliding-window patch extraction (`im2col`, PyTorch's `unfold`) and its adjoint (`col2im`,
//! `fold`) for 2-D images: `[N, C, H, W] <-> [N, C*kh*kw, OH*OW]`. Convolution and pooling
//! are built on these plus GEMM and reductions.

use super::contiguous_slice;
use crate::dtype::Element;
use crate::layout::Layout;
use crate::op::ConvGeom;
use crate::storage::{pool, CpuStorage};
use ember_kernels::threads;

/// For each (kernel row, output row), the input row or `None` in the padding.
fn source_index(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    (o * stride + k * dil).checked_sub(pad).filter(|&i| i < size)
}

/// Column (and padding check) of output position `o` for kernel offset `k`, per output column.
fn source_table(out: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Vec<Option<usize>> {
    (0..out).map(|o| source_index(o, k, stride, pad, dil, size)).collect()
}

fn im2col_t<T: Element>(x: &[T], n: usize, c: usize, g: &ConvGeom) -> Vec<T> {
    let (h, w) = g.input;
    let (kh, kw) = g.kernel;
    let (oh, ow) = g.output();
    let per_image = c * kh * kw * oh * ow;
    let mut out = pool::take_zeroed::<T>(n * per_image); // padding stays zero
    if per_image == 0 {
        return out;
    }
    // Images in parallel (each writes its own contiguous block of columns).
    threads::for_each_block_mut(&mut out, per_image, |b, cols| {
        let mut pos = 0;
        for ch in 0..c {
            let img = &x[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let src_cols = source_table(ow, kj, g.stride.1, g.padding.1, g.dilation.1, w);
                    for oi in 0..oh {
                        let dst = &mut cols[pos..pos + ow];
                        if let Some(r) = source_index(oi, ki, g.stride.0, g.padding.0, g.dilation.0, h) {
                            let row = &img[r * w..(r + 1) * w];
                            for (d, sc) in dst.iter_mut().zip(&src_cols) {
                                if let Some(col) = sc {
                                    *d = row[*col];
                                }
                            }
                        }
                        pos += ow;
                    }
                }
            }
        }
    });
    out
}

fn col2im_t<T: Element + std::ops::Add<Output = T>>(cols: &[T], n: usize, c: usize, g: &ConvGeom) -> Vec<T> {
    let (h, w) = g.input;
    let (kh, kw) = g.kernel;
    let (oh, ow) = g.output();
    let per_image = c * h * w;
    let per_cols = c * kh * kw * oh * ow;
    let mut out = pool::take_zeroed::<T>(n * per_image);
    if per_image == 0 {
        return out;
    }
    threads::for_each_block_mut(&mut out, per_image, |b, img_all| {
        let src = &cols[b * per_cols..(b + 1) * per_cols];
        let mut pos = 0;
        for ch in 0..c {
            let img = &mut img_all[ch * h * w..(ch + 1) * h * w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let src_cols = source_table(ow, kj, g.stride.1, g.padding.1, g.dilation.1, w);
                    for oi in 0..oh {
                        if let Some(r) = source_index(oi, ki, g.stride.0, g.padding.0, g.dilation.0, h) {
                            let row = &mut img[r * w..(r + 1) * w];
                            for (v, sc) in src[pos..pos + ow].iter().zip(&src_cols) {
                                if let Some(col) = sc {
                                    row[*col] = row[*col] + *v;
                                }
                            }
                        }
                        pos += ow;
                    }
                }
            }
        }
    });
    out
}

/// Patches of `[n, c, H, W]` as `[n, c*kh*kw, OH*OW]` (zeros where the window hits padding).
pub fn im2col(s: &CpuStorage, l: &Layout, n: usize, c: usize, g: &ConvGeom) -> CpuStorage {
    match s {
        CpuStorage::F32(v) => CpuStorage::F32(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::F64(v) => CpuStorage::F64(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::F16(v) => CpuStorage::F16(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::BF16(v) => CpuStorage::BF16(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::I64(v) => CpuStorage::I64(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::I32(v) => CpuStorage::I32(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::U8(v) => CpuStorage::U8(im2col_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::Bool(v) => CpuStorage::Bool(im2col_t(&contiguous_slice(v, l), n, c, g)),
    }
}

/// Sums `[n, c*kh*kw, OH*OW]` patches back into `[n, c, H, W]` (float storage only; f16/bf16
/// accumulate in their own type, as callers use them only on gradients).
pub fn col2im(s: &CpuStorage, l: &Layout, n: usize, c: usize, g: &ConvGeom) -> CpuStorage {
    match s {
        CpuStorage::F64(v) => CpuStorage::F64(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::F16(v) => CpuStorage::F16(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::BF16(v) => CpuStorage::BF16(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::I64(v) => CpuStorage::I64(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::I32(v) => CpuStorage::I32(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::U8(v) => CpuStorage::U8(col2im_t(&contiguous_slice(v, l), n, c, g)),
        CpuStorage::Bool(v) => CpuStorage::Bool(contiguous_slice(v, l).into_owned()),
        CpuStorage::F32(v) => CpuStorage::F32(col2im_t(&contiguous_slice(v, l), n, c, g)),
    }
}
