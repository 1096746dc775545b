//! Spatial transformers: `F.affine_grid` (a sampling grid from affine matrices) and
//! `F.grid_sample` (bilinear, nearest or bicubic sampling of `[N, C, H, W]` at normalised grid
//! points, with zeros, border or reflection padding).
//!
//! `grid_sample` runs the one-pass kernel of `ember_core::backend::cpu::grid_sample` forward
//! and backward. Under `create_graph` (a gradient that must itself be differentiable), the
//! backward instead differentiates the same sampling written from tensor ops
//! (`grid_sample_composite`: corners gathered, weights functions of the grid), whose own
//! graph then carries the second derivatives.

use ember_core::autograd::{self, GradOptions};
use ember_core::backend::cpu::grid_sample::{self as kernel, GridGeom};
pub use ember_core::backend::cpu::grid_sample::{GridMode, GridPadding};
use ember_core::{DType, Error, Result, Tensor};
use std::sync::Arc;

/// `F.affine_grid(theta [N, 2, 3], size = [N, C, H, W], align_corners)` -> `[N, H, W, 2]`.
#[track_caller]
pub fn affine_grid(theta: &Tensor, size: &[usize], align_corners: bool) -> Result<Tensor> {
    let op = "affine_grid";
    if size.len() != 4 || theta.dim() != 3 || theta.shape()[1..] != [2, 3] || theta.shape()[0] != size[0] {
        return Err(Error::shape(
            op,
            format!(
                "expected theta [N, 2, 3] and a 4-D size [N, C, H, W] with the same N, got {:?} and {size:?}",
                theta.shape()
            ),
        ));
    }
    if !theta.dtype().is_float() {
        return Err(Error::dtype(op, format!("theta must be floating point, got {}", theta.dtype())));
    }
    let (n, h, w) = (size[0], size[2], size[3]);
    ember_core::storage::checked_numel(op, &[n, h, w, 3], theta.dtype())?;
    let axis = |k: usize| -> Result<Tensor> {
        let l = Tensor::linspace(-1.0, 1.0, k, DType::F64)?;
        if align_corners || k == 0 {
            Ok(l)
        } else {
            l.mul_scalar((k as f64 - 1.0) / k as f64)
        }
    };
    let xs = axis(w)?.reshape(&[1, w as isize, 1])?.expand(&[h, w, 1])?;
    let ys = axis(h)?.reshape(&[h as isize, 1, 1])?.expand(&[h, w, 1])?;
    let base = Tensor::cat(&[&xs, &ys, &Tensor::ones(&[h, w, 1], DType::F64)?], 2)?.to_dtype(theta.dtype())?;
    // [1, H*W, 3] x [N, 3, 2] -> [N, H*W, 2]
    let grid = base.reshape(&[1, (h * w) as isize, 3])?.matmul(&theta.transpose(1, 2)?)?;
    grid.reshape(&[n as isize, h as isize, w as isize, 2])
}

/// Grid coordinate in `[-1, 1]` to pixel coordinate.
fn unnormalize(c: &Tensor, size: usize, align: bool) -> Result<Tensor> {
    if align {
        c.add_scalar(1.0)?.mul_scalar((size as f64 - 1.0) / 2.0)
    } else {
        c.add_scalar(1.0)?.mul_scalar(size as f64)?.sub_scalar(1.0)?.mul_scalar(0.5)
    }
}

/// PyTorch's `reflect_coordinates`: mirror `c` into `[low/2, high/2]`.
fn reflect(c: &Tensor, twice_low: f64, twice_high: f64) -> Result<Tensor> {
    if twice_low == twice_high {
        return Tensor::zeros_like(c);
    }
    let (min, span) = (twice_low / 2.0, (twice_high - twice_low) / 2.0);
    let d = c.sub_scalar(min)?.abs()?;
    let span_t = Tensor::full(&[], span, c.dtype())?;
    let extra = d.fmod(&span_t)?;
    let flips = d.div_scalar(span)?.floor()?;
    let even = flips.fmod(&Tensor::full(&[], 2.0, c.dtype())?)?.eq_scalar(0.0)?;
    Tensor::where_cond(&even, &extra.add_scalar(min)?, &extra.neg()?.add_scalar(span + min)?)
}

/// The pixel coordinate after padding: clipped (border), mirrored then clipped (reflection).
fn source_coord(c: &Tensor, size: usize, pad: GridPadding, align: bool) -> Result<Tensor> {
    let c = unnormalize(c, size, align)?;
    let hi = size as f64 - 1.0;
    match pad {
        GridPadding::Zeros => Ok(c),
        GridPadding::Border => c.clamp(Some(0.0), Some(hi)),
        GridPadding::Reflection => {
            let r = if align { reflect(&c, 0.0, 2.0 * hi)? } else { reflect(&c, -1.0, 2.0 * size as f64 - 1.0)? };
            r.clamp(Some(0.0), Some(hi))
        }
    }
}

/// `F.grid_sample(input [N, C, H, W], grid [N, Ho, Wo, 2], mode, padding_mode,
/// align_corners)` -> `[N, C, Ho, Wo]`; grid `(x, y)` in `[-1, 1]` spans the input.
#[track_caller]
pub fn grid_sample(
    input: &Tensor,
    grid: &Tensor,
    mode: GridMode,
    padding: GridPadding,
    align_corners: bool,
) -> Result<Tensor> {
    let (n, c, h, w, ho, wo) = check(input, grid)?;
    if h == 0 || w == 0 {
        return Tensor::zeros(&[n, c, ho, wo], input.dtype());
    }
    let geom = GridGeom { n, c, h, w, p: ho * wo, mode, padding, align_corners };
    let dtype = input.dtype();
    let out = match dtype {
        DType::F64 => {
            Tensor::from_vec(with2::<f64, _>(input, grid, |x, g| kernel::forward(&geom, x, g))?, &[n, c, ho, wo])?
        }
        _ => Tensor::from_vec(with2::<f32, _>(input, grid, |x, g| kernel::forward(&geom, x, g))?, &[n, c, ho, wo])?
            .to_dtype(dtype)?,
    };
    if !(input.requires_grad() || grid.requires_grad()) || !autograd::is_grad_enabled() {
        return Ok(out);
    }
    let (x, g) = (input.clone(), grid.clone());
    let backward = move |gout: &Tensor| -> Result<Vec<Option<Tensor>>> {
        if autograd::is_grad_enabled() {
            return composite_backward(&x, &g, gout, mode, padding, align_corners);
        }
        let (gi, gg) = match dtype {
            DType::F64 => fused_backward::<f64>(&geom, &x, &g, gout)?,
            _ => fused_backward::<f32>(&geom, &x, &g, gout)?,
        };
        Ok(vec![Some(gi.to_dtype(dtype)?), Some(gg.to_dtype(dtype)?)])
    };
    Ok(autograd::custom(&[input.clone(), grid.clone()], out, "GridSampler2D", Arc::new(backward)))
}

/// `t` as a contiguous tensor of `T` (no copy when it already is one).
fn as_contiguous<T: ember_core::Element>(t: &Tensor) -> Result<Tensor> {
    t.detach().to_dtype(T::DTYPE)?.contiguous()
}

/// `f` over the elements of `a` and `b` as contiguous slices of `T`, read in place.
fn with2<T: ember_core::Element, R>(a: &Tensor, b: &Tensor, f: impl FnOnce(&[T], &[T]) -> R) -> Result<R> {
    let (a, b) = (as_contiguous::<T>(a)?, as_contiguous::<T>(b)?);
    a.with_slice::<T, _>(|x| b.with_slice::<T, _>(|y| f(x, y)))?
}

/// The kernel's `(grad_input, grad_grid)`, computed in `T`.
fn fused_backward<T: kernel::GridElem>(
    geom: &GridGeom,
    x: &Tensor,
    g: &Tensor,
    gout: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let go = as_contiguous::<T>(gout)?;
    let (gi, gg) = with2::<T, _>(x, g, |xs, gs| go.with_slice::<T, _>(|gos| kernel::backward(geom, xs, gs, gos)))??;
    Ok((Tensor::from_vec(gi, x.shape())?, Tensor::from_vec(gg, g.shape())?))
}

/// The gradients as a differentiable graph, from the tensor-op form of the sampling.
fn composite_backward(
    x: &Tensor,
    g: &Tensor,
    gout: &Tensor,
    mode: GridMode,
    padding: GridPadding,
    align: bool,
) -> Result<Vec<Option<Tensor>>> {
    if mode == GridMode::Bicubic {
        return Err(Error::unsupported(
            "grid_sample",
            "the derivative of grid_sample's bicubic gradient (double backward) is not implemented",
        ));
    }
    let out = grid_sample_composite(x, g, mode, padding, align)?;
    let wanted: Vec<&Tensor> = [x, g].into_iter().filter(|t| t.requires_grad()).collect();
    let grads = autograd::grad_with(
        &[&out],
        &wanted,
        GradOptions {
            create_graph: true,
            allow_unused: true,
            grad_outputs: Some(vec![gout.clone()]),
            ..Default::default()
        },
    )?;
    let mut it = grads.into_iter();
    Ok([x, g].iter().map(|t| if t.requires_grad() { it.next() } else { None }).collect())
}

/// The shapes `(n, c, h, w, ho, wo)` of a valid call, or PyTorch's error.
#[track_caller]
fn check(input: &Tensor, grid: &Tensor) -> Result<(usize, usize, usize, usize, usize, usize)> {
    let op = "grid_sample";
    if input.dim() != 4 || grid.dim() != 4 || grid.shape()[3] != 2 || grid.shape()[0] != input.shape()[0] {
        return Err(Error::shape(
            op,
            format!(
                "expected input [N, C, H, W] and grid [N, Ho, Wo, 2], got {:?} and {:?}",
                input.shape(),
                grid.shape()
            ),
        ));
    }
    if !input.dtype().is_float() || grid.dtype() != input.dtype() {
        return Err(Error::dtype(op, "input and grid must have the same floating point dtype"));
    }
    let (n, c, h, w) = (input.shape()[0], input.shape()[1], input.shape()[2], input.shape()[3]);
    let (ho, wo) = (grid.shape()[1], grid.shape()[2]);
    ember_core::storage::checked_numel(op, &[n, c, ho, wo], input.dtype())?;
    if h.max(w) > i32::MAX as usize {
        // Pixel indices are 32-bit, as PyTorch's vectorised kernel's.
        return Err(Error::unsupported(op, format!("an input side of {} pixels (over 2^31 - 1)", h.max(w))));
    }
    Ok((n, c, h, w, ho, wo))
}

/// `grid_sample` (bilinear or nearest) written from tensor ops, differentiable to any order,
/// for inputs `grid_sample` already checked (and found non-empty).
fn grid_sample_composite(
    input: &Tensor,
    grid: &Tensor,
    mode: GridMode,
    padding: GridPadding,
    align_corners: bool,
) -> Result<Tensor> {
    let (n, c, h, w) = (input.shape()[0], input.shape()[1], input.shape()[2], input.shape()[3]);
    let (ho, wo) = (grid.shape()[1], grid.shape()[2]);
    let g = grid.reshape(&[n as isize, (ho * wo) as isize, 2])?;
    let ix = source_coord(&g.select(2, 0)?, w, padding, align_corners)?; // [N, P]
    let iy = source_coord(&g.select(2, 1)?, h, padding, align_corners)?;
    let flat = input.reshape(&[n as isize, c as isize, (h * w) as isize])?;
    let p = ho * wo;
    // The input at integer corners (x, y): zero outside the image.
    let corner = |x: &Tensor, y: &Tensor| -> Result<Tensor> {
        let inside = x.ge_scalar(0.0)?.logical_and(&x.le_scalar(w as f64 - 1.0)?)?;
        let inside = inside.logical_and(&y.ge_scalar(0.0)?)?.logical_and(&y.le_scalar(h as f64 - 1.0)?)?;
        let xi = x.clamp(Some(0.0), Some(w as f64 - 1.0))?;
        let yi = y.clamp(Some(0.0), Some(h as f64 - 1.0))?;
        let idx = yi.mul_scalar(w as f64)?.add(&xi)?.to_dtype(DType::I64)?; // [N, P]
        let idx = idx.unsqueeze(1)?.expand(&[n, c, p])?;
        let vals = flat.gather(2, &idx)?;
        vals.mul(&inside.to_dtype(input.dtype())?.unsqueeze(1)?)
    };
    let out = match mode {
        GridMode::Bicubic => {
            return Err(Error::unsupported("grid_sample", "the composite form has no bicubic mode"));
        }
        GridMode::Nearest => corner(&ix.detach().round()?, &iy.detach().round()?)?,
        GridMode::Bilinear => {
            let (x0, y0) = (ix.detach().floor()?, iy.detach().floor()?);
            let (x1, y1) = (x0.add_scalar(1.0)?, y0.add_scalar(1.0)?);
            // Weights from the (differentiable) coordinates.
            let (wx1, wy1) = (ix.sub(&x0)?, iy.sub(&y0)?);
            let (wx0, wy0) = (x1.sub(&ix)?, y1.sub(&iy)?);
            let term = |x: &Tensor, y: &Tensor, wx: &Tensor, wy: &Tensor| -> Result<Tensor> {
                corner(x, y)?.mul(&wx.mul(wy)?.unsqueeze(1)?)
            };
            term(&x0, &y0, &wx0, &wy0)?
                .add(&term(&x1, &y0, &wx1, &wy0)?)?
                .add(&term(&x0, &y1, &wx0, &wy1)?)?
                .add(&term(&x1, &y1, &wx1, &wy1)?)?
        }
    };
    out.reshape(&[n as isize, c as isize, ho as isize, wo as isize])
}
