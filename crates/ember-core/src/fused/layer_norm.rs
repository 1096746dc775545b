//! Layer norm with gradients as one autograd node: per row (the trailing `normalized_shape`
//! elements) the mean and `rstd = 1 / sqrt(var + eps)` in one read and the output in one
//! write; backward per row `dx = rstd (g - mean(g) - xhat mean(g xhat))` with `g = dy w`, and
//! `dw = Σ dy xhat`, `db = Σ dy` over the rows, from the saved per-row statistics. The
//! composite form (sum, sub, square, sum, rsqrt, mul, mul, add, and the backward of each) took
//! nine passes forward and about twenty backward: 1.3 ms against PyTorch's 0.4 in a GPT step.
//!
//! With `create_graph` the backward is the same formula in tensor ops (statistics recomputed
//! from `x`), so double backward works.

use super::read_as;
use super::NormFloat;
use crate::dtype::DType;
use crate::error::Result;
use crate::storage::pool;
use crate::Tensor;
use ember_kernels::threads;
use std::sync::Arc;

const LANES: usize = 16;

/// `Σ f(a_i, b_i)` over two equally long slices, in `LANES` partial sums of `T` (whole chunks,
/// so no bounds checks and the lanes vectorise), added in f64.
#[inline(always)]
fn lane_sum<T: NormFloat>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut acc = [T::of(0.0); LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = ac.remainder().iter().zip(bc.remainder()).map(|(&x, &y)| f(x, y).into()).sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    acc.iter().map(|&v| v.into()).sum::<f64>() + tail
}

/// `y` and per-row `(mean, rstd)` of `x [rows, d]`: each row's statistics and output in one
/// visit, while the row is in L1.
fn forward<T: NormFloat>(x: &[T], d: usize, w: &[T], b: &[T], eps: f64) -> (Vec<T>, Vec<[f64; 2]>) {
    let rows = x.len().checked_div(d).unwrap_or(0);
    let mut stats = vec![[0.0f64; 2]; rows];
    let mut y = pool::take::<T>(x.len());
    if rows == 0 {
        return (y, stats);
    }
    let per = threads::rows_per_task(d);
    if let (Some(xf), Some(wf), Some(bf), Some(yf)) = (T::as_f32(x), T::as_f32(w), T::as_f32(b), T::as_f32_mut(&mut y))
    {
        // f32: the SIMD row kernel, statistics widened to the node's f64.
        let mut st = vec![[0.0f32; 2]; rows];
        let mut jobs: Vec<(&mut [f32], &mut [[f32; 2]])> = yf.chunks_mut(per * d).zip(st.chunks_mut(per)).collect();
        threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
            let (yb, sb) = &mut job[0];
            let xb = &xf[blk * per * d..][..yb.len()];
            ember_kernels::rowwise::layer_norm_rows(xb, d, wf, bf, eps as f32, yb, sb);
        });
        drop(jobs);
        stats.iter_mut().zip(&st).for_each(|(s, t)| *s = [t[0].into(), t[1].into()]);
        return (y, stats);
    }
    let mut jobs: Vec<(&mut [T], &mut [[f64; 2]])> = y.chunks_mut(per * d).zip(stats.chunks_mut(per)).collect();
    threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
        let (yb, st) = &mut job[0];
        for (r, (yr, s)) in yb.chunks_mut(d).zip(st.iter_mut()).enumerate() {
            let i = blk * per + r;
            let row = &x[i * d..(i + 1) * d];
            let mean = lane_sum(row, row, |v, _| v) / d as f64;
            let m = T::of(mean);
            let var = lane_sum(row, row, |v, _| (v - m) * (v - m)) / d as f64;
            let rstd = 1.0 / (var + eps).sqrt();
            *s = [mean, rstd];
            let rs = T::of(rstd);
            for (o, &v) in yr.iter_mut().zip(row) {
                *o = (v - m) * rs;
            }
            if !w.is_empty() {
                yr.iter_mut().zip(w).for_each(|(o, &g)| *o = *o * g);
            }
            if !b.is_empty() {
                yr.iter_mut().zip(b).for_each(|(o, &c)| *o += c);
            }
        }
    });
    drop(jobs);
    (y, stats)
}

/// One task's share of the backward: its rows of `dx` and its partial column sums
/// `[Σ dy xhat | Σ dy]` (in `T`, over at most a few hundred rows).
type Job<'a, T> = (&'a mut [T], Vec<T>);

/// The first-order backward: `dx [rows, d]`, and `dw = Σ dy xhat`, `db = Σ dy` over rows (f64).
fn backward<T: NormFloat>(x: &[T], dy: &[T], d: usize, w: &[T], stats: &[[f64; 2]]) -> (Vec<T>, Vec<f64>, Vec<f64>) {
    let per = threads::rows_per_task(d);
    let mut dx = pool::take::<T>(x.len());
    let (mut dw, mut db) = (vec![0.0f64; d], vec![0.0f64; d]);
    if d == 0 || stats.is_empty() {
        return (dx, dw, db);
    }
    if let (Some(xf), Some(gf), Some(wf), Some(dxf)) =
        (T::as_f32(x), T::as_f32(dy), T::as_f32(w), T::as_f32_mut(&mut dx))
    {
        // f32: the SIMD row kernel, each task adding its column sums into its own buffer.
        let mut jobs: Vec<(&mut [f32], Vec<f32>)> = dxf.chunks_mut(per * d).map(|c| (c, vec![0.0; 2 * d])).collect();
        threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
            let (dxb, cols) = &mut job[0];
            let (cdw, cdb) = cols.split_at_mut(d);
            let r0 = blk * per;
            let st: Vec<[f32; 2]> = stats[r0..r0 + dxb.len() / d].iter().map(|s| [s[0] as f32, s[1] as f32]).collect();
            let (xb, gb) = (&xf[r0 * d..][..dxb.len()], &gf[r0 * d..][..dxb.len()]);
            ember_kernels::rowwise::layer_norm_backward_rows(xb, gb, d, wf, &st, dxb, cdw, cdb);
        });
        for (_, cols) in &jobs {
            for k in 0..d {
                dw[k] += f64::from(cols[k]);
                db[k] += f64::from(cols[d + k]);
            }
        }
        drop(jobs);
        return (dx, dw, db);
    }
    let mut jobs: Vec<Job<T>> = dx.chunks_mut(per * d).map(|c| (c, vec![T::of(0.0); 2 * d])).collect();
    threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
        let (dxb, cols) = &mut job[0];
        let (cdw, cdb) = cols.split_at_mut(d);
        let mut gw = vec![T::of(0.0); d];
        for (r, dxr) in dxb.chunks_mut(d).enumerate() {
            let i = blk * per + r;
            let (row, g) = (&x[i * d..(i + 1) * d], &dy[i * d..(i + 1) * d]);
            let [mean, rstd] = stats[i];
            let (m, rs) = (T::of(mean), T::of(rstd));
            gw.copy_from_slice(g);
            if !w.is_empty() {
                gw.iter_mut().zip(w).for_each(|(a, &c)| *a = *a * c);
            }
            let mg = lane_sum(&gw, &gw, |a, _| a) / d as f64;
            let mgx = lane_sum(&gw, row, |a, v| a * ((v - m) * rs)) / d as f64;
            // dx = rstd (g w - mg - xhat mgx) = rstd g w + (x q + c), per-row constants.
            let q = -rstd * rstd * mgx;
            let c = -rstd * mg - q * mean;
            let (qt, ct) = (T::of(q), T::of(c));
            for (k, o) in dxr.iter_mut().enumerate() {
                *o = rs * gw[k] + (row[k] * qt + ct);
                cdw[k] += g[k] * ((row[k] - m) * rs);
                cdb[k] += g[k];
            }
        }
    });
    for (_, cols) in &jobs {
        for k in 0..d {
            dw[k] += cols[k].into();
            db[k] += cols[d + k].into();
        }
    }
    drop(jobs);
    (dx, dw, db)
}

/// The backward as tensor ops (recorded under `create_graph`), statistics recomputed from `x`.
fn composite_backward(
    x: &Tensor,
    w: Option<&Tensor>,
    dy: &Tensor,
    k: usize,
    eps: f64,
) -> Result<(Tensor, Option<Tensor>, Tensor)> {
    let nd = x.dim();
    let dims: Vec<isize> = (nd - k..nd).map(|d| d as isize).collect();
    let lead: Vec<isize> = (0..nd - k).map(|d| d as isize).collect();
    let n = x.shape()[nd - k..].iter().product::<usize>() as f64;
    let mean = x.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n)?;
    let xc = x.sub(&mean)?;
    let rstd = xc.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n)?.add_scalar(eps)?.rsqrt()?;
    let xhat = xc.mul(&rstd)?;
    let g = match w {
        Some(w) => dy.mul(w)?,
        None => dy.clone(),
    };
    let mg = g.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n)?;
    let mgx = g.mul(&xhat)?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n)?;
    let dx = rstd.mul(&g.sub(&mg)?.sub(&xhat.mul(&mgx)?)?)?;
    let over_rows = |t: Tensor| if lead.is_empty() { Ok(t) } else { t.sum_dims_keep(&lead, false) };
    let dw = w.map(|_| over_rows(dy.mul(&xhat)?)).transpose()?;
    Ok((dx, dw, over_rows(dy.clone())?))
}

/// Layer norm of `x` over its trailing `k` dims with optional `weight`/`bias` of those dims'
/// shape, recorded as one node (f32/f64; every tensor the same dtype). `None` when the inputs
/// are outside what the node handles (the caller composes tensor ops instead).
#[track_caller]
pub fn layer_norm_node(
    x: &Tensor,
    k: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Option<Tensor>> {
    let dt = x.dtype();
    let tail = &x.shape()[x.dim().saturating_sub(k)..];
    let fits = |t: &Tensor| t.dtype() == dt && t.shape() == tail;
    if k == 0
        || k > x.dim()
        || !matches!(dt, DType::F32 | DType::F64)
        || ![weight, bias].into_iter().flatten().all(fits)
    {
        return Ok(None);
    }
    match dt {
        DType::F64 => run::<f64>(x, k, weight, bias, eps).map(Some),
        _ => run::<f32>(x, k, weight, bias, eps).map(Some),
    }
}

fn run<T: NormFloat>(x: &Tensor, k: usize, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    let d: usize = x.shape()[x.dim() - k..].iter().product();
    let vec_of = |t: Option<&Tensor>| -> Result<Vec<T>> {
        t.map(|t| t.detach().contiguous()?.to_vec::<T>()).transpose().map(Option::unwrap_or_default)
    };
    let (w, b) = (vec_of(weight)?, vec_of(bias)?);
    let (y, stats) = read_as(x, "layer_norm", |xv: &[T]| forward(xv, d, &w, &b, eps))?;
    let y = Tensor::from_vec(y, x.shape())?;
    let mut inputs = vec![x.clone()];
    inputs.extend(weight.cloned());
    inputs.extend(bias.cloned());
    if !(crate::autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())) {
        return Ok(y);
    }
    // The inputs themselves (not detached): the create_graph backward differentiates through them.
    let (xt, wt) = (x.clone(), weight.cloned());
    let has_b = bias.is_some();
    let shape = x.shape()[x.dim() - k..].to_vec();
    let back = move |gy: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let (dx, dw, db) = if crate::autograd::is_grad_enabled() {
            composite_backward(&xt, wt.as_ref(), gy, k, eps)?
        } else {
            let (dx, dw, db) = read_as(gy, "layer_norm", |g: &[T]| {
                read_as(&xt, "layer_norm", |xv: &[T]| backward(xv, g, d, &w, &stats))
            })??;
            let to = |v: Vec<f64>| -> Result<Tensor> { Tensor::from_vec(v, &shape)?.to_dtype(T::DTYPE) };
            (Tensor::from_vec(dx, xt.shape())?, wt.as_ref().map(|_| to(dw)).transpose()?, to(db)?)
        };
        let mut out = vec![Some(dx)];
        if let Some(dw) = dw {
            out.push(Some(dw));
        }
        if has_b {
            out.push(Some(db));
        }
        Ok(out)
    };
    Ok(crate::autograd::custom(&inputs, y, "NativeLayerNorm", Arc::new(back)))
}
