//! Batch normalisation in training mode as one autograd node: per-channel statistics in one
//! parallel pass over the channels, the normalised output in one pass over the images, and a
//! backward of two passes (`sum dy`, `sum dy * xhat` per channel, then
//! `dx = w invstd (dy - mean(dy) - xhat mean(dy xhat))`). The composite form takes about
//! eight passes forward and fifteen backward, none of them fused.
//!
//! With `create_graph`, the backward is the same formula in tensor ops, the statistics
//! recomputed from `x`, so double backward (gradient penalties) works.

use super::read_as;
use super::NormFloat;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::storage::pool;
use crate::Tensor;
use ember_kernels::threads;
use std::sync::Arc;

/// Sizes: `n` images, `c` channels, `s` elements per channel and image.
#[derive(Clone, Copy)]
struct Dims {
    n: usize,
    c: usize,
    s: usize,
}

/// Per channel `(mean, biased variance)`, two passes in f64.
fn stats<T: NormFloat>(d: Dims, x: &[T]) -> Vec<[f64; 2]> {
    let mut out = vec![[0.0f64; 2]; d.c];
    let m = (d.n * d.s) as f64;
    threads::for_each_block_mut(&mut out, 1, |ch, o| {
        let rows = (0..d.n).map(|b| &x[(b * d.c + ch) * d.s..(b * d.c + ch + 1) * d.s]);
        let mean = rows.clone().map(|r| r.iter().map(|&v| v.into()).sum::<f64>()).sum::<f64>() / m;
        let var = rows.map(|r| r.iter().map(|&v| (v.into() - mean).powi(2)).sum::<f64>()).sum::<f64>() / m;
        o[0] = [mean, var];
    });
    out
}

/// `y = x * scale_c + shift_c` image by image.
fn affine<T: NormFloat>(d: Dims, x: &[T], scale: &[f64], shift: &[f64]) -> Vec<T> {
    let mut y = pool::take::<T>(d.n * d.c * d.s);
    threads::for_each_block_mut(&mut y, d.c * d.s, |b, yb| {
        for ch in 0..d.c {
            let (a, k) = (T::of(scale[ch]), T::of(shift[ch]));
            let xs = &x[(b * d.c + ch) * d.s..(b * d.c + ch + 1) * d.s];
            for (o, &v) in yb[ch * d.s..(ch + 1) * d.s].iter_mut().zip(xs) {
                *o = v * a + k;
            }
        }
    });
    y
}

/// The first-order backward: `(dx, dw, db)`.
fn backward<T: NormFloat>(
    d: Dims,
    x: &[T],
    dy: &[T],
    mean: &[f64],
    invstd: &[f64],
    w: &[f64],
) -> (Vec<T>, Vec<f64>, Vec<f64>) {
    let m = (d.n * d.s) as f64;
    let mut sums = vec![[0.0f64; 2]; d.c];
    threads::for_each_block_mut(&mut sums, 1, |ch, o| {
        let (mut sdy, mut sdyx) = (0.0f64, 0.0f64);
        for b in 0..d.n {
            let at = (b * d.c + ch) * d.s;
            for (&g, &v) in dy[at..at + d.s].iter().zip(&x[at..at + d.s]) {
                let g: f64 = g.into();
                sdy += g;
                sdyx += g * (v.into() - mean[ch]) * invstd[ch];
            }
        }
        o[0] = [sdy, sdyx];
    });
    let mut dx = pool::take::<T>(d.n * d.c * d.s);
    threads::for_each_block_mut(&mut dx, d.c * d.s, |b, db| {
        for ch in 0..d.c {
            // dx = k (dy - mdy - (x - mean) invstd mdyx) = k dy + (x * q + r), per channel constants.
            let k = w[ch] * invstd[ch];
            let (mdy, mdyx) = (sums[ch][0] / m, sums[ch][1] / m);
            let q = -k * invstd[ch] * mdyx;
            let r = -k * mdy - q * mean[ch];
            let (kt, qt, rt) = (T::of(k), T::of(q), T::of(r));
            let at = (b * d.c + ch) * d.s;
            for ((o, &g), &v) in db[ch * d.s..(ch + 1) * d.s].iter_mut().zip(&dy[at..at + d.s]).zip(&x[at..at + d.s]) {
                *o = kt * g + (v * qt + rt);
            }
        }
    });
    (dx, sums.iter().map(|s| s[1]).collect(), sums.iter().map(|s| s[0]).collect())
}

/// The backward as tensor ops (recorded under `create_graph`): the statistics recomputed from
/// `x`, so the result is differentiable again.
fn composite_backward(x: &Tensor, w: Option<&Tensor>, dy: &Tensor, eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let c = x.shape()[1];
    let dims: Vec<isize> = (0..x.dim() as isize).filter(|&d| d != 1).collect();
    let m = (x.numel() / c.max(1)) as f64;
    let mut shape = vec![1isize; x.dim()];
    shape[1] = c as isize;
    let mean = x.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / m)?;
    let xc = x.sub(&mean)?;
    let invstd = xc.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / m)?.add_scalar(eps)?.rsqrt()?;
    let xhat = xc.mul(&invstd)?;
    let sdy = dy.sum_dims_keep(&dims, true)?;
    let sdyx = dy.mul(&xhat)?.sum_dims_keep(&dims, true)?;
    let k = match w {
        Some(w) => w.reshape(shape.as_slice())?.mul(&invstd)?,
        None => invstd,
    };
    let dx = k.mul(&dy.sub(&sdy.mul_scalar(1.0 / m)?)?.sub(&xhat.mul(&sdyx)?.mul_scalar(1.0 / m)?)?)?;
    Ok((dx, sdyx.reshape(&[c as isize])?, sdy.reshape(&[c as isize])?))
}

/// Training-mode batch norm of `x [N, C, *]` (f32/f64): returns the output and the batch
/// mean and biased variance per channel (f64), for the caller's running statistics.
#[track_caller]
pub fn batch_norm_train(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let op = "batch_norm";
    if x.dim() < 2 || !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(Error::shape(
            op,
            format!("expected an f32/f64 [N, C, *] input, got {:?} {}", x.shape(), x.dtype()),
        ));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let d = Dims { n, c, s: x.shape()[2..].iter().product() };
    for t in [weight, bias].into_iter().flatten() {
        if t.shape() != [c] {
            return Err(Error::shape(op, format!("weight and bias must be [{c}], got {:?}", t.shape())));
        }
    }
    match x.dtype() {
        DType::F64 => run::<f64>(x, weight, bias, eps, d),
        _ => run::<f32>(x, weight, bias, eps, d),
    }
}

fn run<T: NormFloat>(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
    d: Dims,
) -> Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let per = |t: Option<&Tensor>, default: f64| -> Result<Vec<f64>> {
        match t {
            Some(t) => t.detach().to_f64_vec(),
            None => Ok(vec![default; d.c]),
        }
    };
    let (w, b) = (per(weight, 1.0)?, per(bias, 0.0)?);
    let st = read_as(x, "batch_norm", |xv: &[T]| stats(d, xv))?;
    let mean: Vec<f64> = st.iter().map(|s| s[0]).collect();
    let var: Vec<f64> = st.iter().map(|s| s[1]).collect();
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let scale: Vec<f64> = (0..d.c).map(|i| w[i] * invstd[i]).collect();
    let shift: Vec<f64> = (0..d.c).map(|i| b[i] - mean[i] * scale[i]).collect();
    let y = Tensor::from_vec(read_as(x, "batch_norm", |xv: &[T]| affine(d, xv, &scale, &shift))?, x.shape())?;
    let mut inputs = vec![x.clone()];
    inputs.extend(weight.cloned());
    inputs.extend(bias.cloned());
    if !(crate::autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())) {
        return Ok((y, mean, var));
    }
    // The inputs themselves (not detached): the create_graph backward differentiates through them.
    let (xt, wt) = (x.clone(), weight.cloned());
    let (has_w, has_b) = (weight.is_some(), bias.is_some());
    let (mean2, wdt) = (mean.clone(), weight.map(|w| w.dtype()));
    let back = move |gy: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let (dx, dw, db) = if crate::autograd::is_grad_enabled() {
            // create_graph: differentiable again.
            composite_backward(&xt, wt.as_ref(), gy, eps)?
        } else {
            let (dx, dw, db) = read_as(gy, "batch_norm", |g: &[T]| {
                read_as(&xt, "batch_norm", |xv: &[T]| backward(d, xv, g, &mean2, &invstd, &w))
            })??;
            let to = |v: Vec<f64>| -> Result<Tensor> { Tensor::from_vec(v, &[d.c])?.to_dtype(wdt.unwrap_or(T::DTYPE)) };
            (Tensor::from_vec(dx, xt.shape())?, to(dw)?, to(db)?)
        };
        let mut out = vec![Some(dx)];
        if has_w {
            out.push(Some(dw));
        }
        if has_b {
            out.push(Some(db));
        }
        Ok(out)
    };
    let y = crate::autograd::custom(&inputs, y, "NativeBatchNorm", Arc::new(back));
    Ok((y, mean, var))
}
