//! Pooling with all of PyTorch's options: `ceil_mode`, `return_indices`, `count_include_pad`,
//! `divisor_override`, 1-D/2-D/3-D windows, adaptive max/avg pooling of any rank, LP pooling
//! and max unpooling.
//!
//! 2-D windows go through `unfold2d` plus a reduction, so the max's gradient goes to the first
//! maximum of each window and the indices are PyTorch's (flat positions in `H*W`). 1-D is 2-D
//! with a height of one; 3-D runs the 2-D pool on each depth tap's slices and reduces over the
//! taps. Adaptive pooling is separable (a box's max or mean is the max or mean over one axis of
//! the other's), so it reduces one axis at a time over PyTorch's bins.

use super::pad::{pad_with, PadMode};
use ember_core::fused::pool::PoolAxis;
use ember_core::{Conv2dArgs, DType, Error, Result, Tensor};

/// PyTorch's pooled length along one axis (`pooling_output_shape`).
#[track_caller]
pub fn pool_len(op: &'static str, n: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Result<usize> {
    if k == 0 || s == 0 || d == 0 {
        return Err(Error::value(op, "kernel size, stride and dilation must be positive"));
    }
    if p.saturating_mul(2) > k {
        return Err(Error::value(
            op,
            format!("pad should be at most half of effective kernel size, got padding {p} and kernel {k}"),
        ));
    }
    let span = d.checked_mul(k - 1).and_then(|v| v.checked_add(1));
    let padded = n.checked_add(2 * p);
    let (Some(span), Some(padded)) = (span, padded) else {
        return Err(Error::shape(op, "pooling window sizes overflow"));
    };
    if padded < span {
        return Err(Error::shape(op, format!("input size {n} is too small for a window of {span} (padding {p})")));
    }
    let mut out = if ceil { (padded - span).div_ceil(s) + 1 } else { (padded - span) / s + 1 };
    // The last window must start inside the input or its left padding.
    if ceil && (out - 1) * s >= n + p {
        out -= 1;
    }
    Ok(out)
}

/// Geometry of one axis: input size, kernel, stride, padding, dilation and output size.
#[derive(Clone, Copy, Debug)]
struct Axis {
    n: usize,
    k: usize,
    s: usize,
    p: usize,
    d: usize,
    out: usize,
}

impl Axis {
    #[track_caller]
    fn new(op: &'static str, n: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Result<Axis> {
        Ok(Axis { n, k, s, p, d, out: pool_len(op, n, k, s, p, d, ceil)? })
    }

    /// Padding after the input so that exactly `out` windows fit.
    fn right_pad(&self) -> usize {
        ((self.out - 1) * self.s + self.d * (self.k - 1) + 1).saturating_sub(self.n + self.p)
    }

    /// Per output position: the window's size clipped to the padded input (PyTorch's
    /// `pool_size`) and the number of real elements in it.
    fn counts(&self) -> Vec<(usize, usize)> {
        (0..self.out)
            .map(|o| {
                let start = (o * self.s) as isize - self.p as isize;
                let end = (start + self.k as isize).min((self.n + self.p) as isize);
                let (cs, ce) = (start.max(0), end.min(self.n as isize));
                ((end - start) as usize, (ce - cs).max(0) as usize)
            })
            .collect()
    }
}

/// Runs a pool defined on `[N, C, *spatial]` on an unbatched `[C, *spatial]` input too.
fn batched<R>(
    x: &Tensor,
    rank: usize,
    f: impl FnOnce(&Tensor) -> Result<R>,
    unbatch: impl Fn(R) -> Result<R>,
) -> Result<R> {
    if x.dim() == rank + 1 {
        unbatch(f(&x.unsqueeze(0)?)?)
    } else {
        f(x)
    }
}

#[track_caller]
fn check_rank(op: &'static str, x: &Tensor, rank: usize) -> Result<()> {
    if x.dim() != rank + 1 && x.dim() != rank + 2 {
        return Err(Error::shape(
            op,
            format!(
                "expected a {}-D (unbatched) or {}-D (batched) input, got shape {:?}",
                rank + 1,
                rank + 2,
                x.shape()
            ),
        ));
    }
    Ok(())
}

/// 2-D max pooling of a 4-D input, with the indices when `indices` is set. f32 and f64 run
/// the fused window scan (`ember_core::fused::pool`); other dtypes the composite form.
fn max2d(x: &Tensor, a: [Axis; 2], indices: bool) -> Result<(Tensor, Option<Tensor>)> {
    if matches!(x.dtype(), DType::F32 | DType::F64) {
        let axis = |a: Axis| PoolAxis { n: a.n, k: a.k, s: a.s, p: a.p, d: a.d, out: a.out };
        let (v, i) = ember_core::fused::pool::max_pool2d(x, axis(a[0]), axis(a[1]))?;
        return Ok((v, indices.then_some(i)));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let pads = [a[1].p as isize, a[1].right_pad() as isize, a[0].p as isize, a[0].right_pad() as isize];
    let xp = pad_with(x, &pads, PadMode::Constant(f64::NEG_INFINITY))?;
    let args =
        Conv2dArgs { kernel: (a[0].k, a[1].k), stride: (a[0].s, a[1].s), padding: (0, 0), dilation: (a[0].d, a[1].d) };
    let (kk, l) = (a[0].k * a[1].k, a[0].out * a[1].out);
    let cols = xp.unfold2d(args)?.reshape(&[n as isize, c as isize, kk as isize, l as isize])?;
    let (v, arg) = cols.max_dim(2, false)?;
    let shape = [n as isize, c as isize, a[0].out as isize, a[1].out as isize];
    let idx = if indices {
        // Flat input position of every (tap, window).
        let mut table = Vec::with_capacity(kk * l);
        for ki in 0..a[0].k {
            for kj in 0..a[1].k {
                for oh in 0..a[0].out {
                    for ow in 0..a[1].out {
                        let ih = (oh * a[0].s + ki * a[0].d) as i64 - a[0].p as i64;
                        let iw = (ow * a[1].s + kj * a[1].d) as i64 - a[1].p as i64;
                        table.push(ih * a[1].n as i64 + iw);
                    }
                }
            }
        }
        let table = Tensor::from_vec(table, &[kk, l])?.expand(&[n, c, kk, l])?;
        Some(table.gather(2, &arg.unsqueeze(2)?)?.squeeze_dim(2)?.reshape(&shape)?)
    } else {
        None
    };
    Ok((v.reshape(&shape)?, idx))
}

/// 2-D max pooling of a 3-D or 4-D input, with the indices when `indices` is set.
#[allow(clippy::too_many_arguments)]
fn max_pool2d_any(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
    indices: bool,
) -> Result<(Tensor, Option<Tensor>)> {
    let op = "max_pool2d";
    check_rank(op, x, 2)?;
    batched(
        x,
        2,
        |x| {
            let h = Axis::new(op, x.shape()[2], kernel.0, stride.0, padding.0, dilation.0, ceil_mode)?;
            let w = Axis::new(op, x.shape()[3], kernel.1, stride.1, padding.1, dilation.1, ceil_mode)?;
            max2d(x, [h, w], indices)
        },
        |(v, i)| Ok((v.squeeze_dim(0)?, i.map(|i| i.squeeze_dim(0)).transpose()?)),
    )
}

/// `F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)`:
/// values and flat indices into each `H*W` plane.
#[track_caller]
pub fn max_pool2d_with_indices(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
) -> Result<(Tensor, Tensor)> {
    let (v, i) = max_pool2d_any(x, kernel, stride, padding, dilation, ceil_mode, true)?;
    Ok((v, i.expect("indices requested")))
}

/// `F.max_pool2d` with `ceil_mode` (values only).
#[track_caller]
pub fn max_pool2d_ext(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
) -> Result<Tensor> {
    Ok(max_pool2d_any(x, kernel, stride, padding, dilation, ceil_mode, false)?.0)
}

/// The divisor of every output position of an average pool, shaped to broadcast.
fn divisors(axes: &[Axis], count_include_pad: bool, divisor_override: Option<usize>, dtype: DType) -> Result<Tensor> {
    let mut d = vec![1.0f64];
    for a in axes {
        let c = a.counts();
        d = d
            .iter()
            .flat_map(|&v| c.iter().map(move |&(size, real)| v * if count_include_pad { size } else { real } as f64))
            .collect();
    }
    if let Some(o) = divisor_override {
        d.iter_mut().for_each(|v| *v = o as f64);
    }
    let shape: Vec<usize> = axes.iter().map(|a| a.out).collect();
    Tensor::from_vec(d.iter().map(|v| 1.0 / v).collect(), &shape)?.to_dtype(dtype)
}

/// Window sums of a 4-D input over 2-D geometry (zero padding).
fn sum2d(x: &Tensor, a: [Axis; 2]) -> Result<Tensor> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let pads = [a[1].p as isize, a[1].right_pad() as isize, a[0].p as isize, a[0].right_pad() as isize];
    let xp = pad_with(x, &pads, PadMode::Constant(0.0))?;
    let args = Conv2dArgs::new((a[0].k, a[1].k));
    let args = Conv2dArgs { stride: (a[0].s, a[1].s), ..args };
    let (kk, l) = (a[0].k * a[1].k, a[0].out * a[1].out);
    let cols = xp.unfold2d(args)?.reshape(&[n as isize, c as isize, kk as isize, l as isize])?;
    cols.sum_dim(2, false)?.reshape(&[n as isize, c as isize, a[0].out as isize, a[1].out as isize])
}

/// `F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)`.
#[track_caller]
pub fn avg_pool2d_ext(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<Tensor> {
    let op = "avg_pool2d";
    check_rank(op, x, 2)?;
    if divisor_override == Some(0) {
        return Err(Error::value(op, "divisor must be not zero"));
    }
    batched(
        x,
        2,
        |x| {
            let h = Axis::new(op, x.shape()[2], kernel.0, stride.0, padding.0, 1, ceil_mode)?;
            let w = Axis::new(op, x.shape()[3], kernel.1, stride.1, padding.1, 1, ceil_mode)?;
            sum2d(x, [h, w])?.mul(&divisors(&[h, w], count_include_pad, divisor_override, x.dtype())?)
        },
        |v| v.squeeze_dim(0),
    )
}

/// `F.max_pool1d` (values; `with_indices` also gives flat positions along `L`).
#[track_caller]
pub fn max_pool1d(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
    with_indices: bool,
) -> Result<(Tensor, Option<Tensor>)> {
    check_rank("max_pool1d", x, 1)?;
    let (v, i) = max_pool2d_any(
        &x.unsqueeze(-2)?,
        (1, kernel),
        (1, stride),
        (0, padding),
        (1, dilation),
        ceil_mode,
        with_indices,
    )?;
    Ok((v.squeeze_dim(-2)?, i.map(|i| i.squeeze_dim(-2)).transpose()?))
}

/// `F.avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad)`.
#[track_caller]
pub fn avg_pool1d(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
    count_include_pad: bool,
) -> Result<Tensor> {
    check_rank("avg_pool1d", x, 1)?;
    let y =
        avg_pool2d_ext(&x.unsqueeze(-2)?, (1, kernel), (1, stride), (0, padding), ceil_mode, count_include_pad, None)?;
    y.squeeze_dim(-2)
}

/// `[N, C, D, H, W]` depth slices `start, start + s, ...` (`od` of them) as a batch of images.
fn depth_taps(x: &Tensor, start: usize, s: usize, od: usize) -> Result<Tensor> {
    let sl = x.slice(2, start as isize, (start + (od - 1) * s + 1) as isize, s)?;
    let sh = sl.shape().to_vec();
    sl.permute(&[0, 2, 1, 3, 4])?.reshape(&[(sh[0] * od) as isize, sh[1] as isize, sh[3] as isize, sh[4] as isize])
}

/// `[N*od, C, oh, ow]` back to `[N, C, od, oh, ow]`.
fn undepth(y: &Tensor, n: usize, od: usize) -> Result<Tensor> {
    let s = y.shape().to_vec();
    y.reshape(&[n as isize, od as isize, s[1] as isize, s[2] as isize, s[3] as isize])?.permute(&[0, 2, 1, 3, 4])
}

/// `F.max_pool3d(x, kernel, stride, padding, dilation, ceil_mode)` (values).
#[track_caller]
pub fn max_pool3d(
    x: &Tensor,
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
    ceil_mode: bool,
) -> Result<Tensor> {
    let op = "max_pool3d";
    check_rank(op, x, 3)?;
    batched(
        x,
        3,
        |x| {
            let dz = Axis::new(op, x.shape()[2], kernel[0], stride[0], padding[0], dilation[0], ceil_mode)?;
            let h = Axis::new(op, x.shape()[3], kernel[1], stride[1], padding[1], dilation[1], ceil_mode)?;
            let w = Axis::new(op, x.shape()[4], kernel[2], stride[2], padding[2], dilation[2], ceil_mode)?;
            let xp = pad_with(
                x,
                &[0, 0, 0, 0, dz.p as isize, dz.right_pad() as isize],
                PadMode::Constant(f64::NEG_INFINITY),
            )?;
            let mut taps = Vec::with_capacity(dz.k);
            for t in 0..dz.k {
                let slices = depth_taps(&xp, t * dz.d, dz.s, dz.out)?;
                taps.push(max2d(&slices, [h, w], false)?.0);
            }
            let m = Tensor::stack(&taps.iter().collect::<Vec<_>>(), 0)?.max_dim(0, false)?.0;
            undepth(&m, x.shape()[0], dz.out)
        },
        |v| v.squeeze_dim(0),
    )
}

/// `F.avg_pool3d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)`.
#[track_caller]
pub fn avg_pool3d(
    x: &Tensor,
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<Tensor> {
    let op = "avg_pool3d";
    check_rank(op, x, 3)?;
    if divisor_override == Some(0) {
        return Err(Error::value(op, "divisor must be not zero"));
    }
    batched(
        x,
        3,
        |x| {
            let dz = Axis::new(op, x.shape()[2], kernel[0], stride[0], padding[0], 1, ceil_mode)?;
            let h = Axis::new(op, x.shape()[3], kernel[1], stride[1], padding[1], 1, ceil_mode)?;
            let w = Axis::new(op, x.shape()[4], kernel[2], stride[2], padding[2], 1, ceil_mode)?;
            let xp = pad_with(x, &[0, 0, 0, 0, dz.p as isize, dz.right_pad() as isize], PadMode::Constant(0.0))?;
            let mut acc: Option<Tensor> = None;
            for t in 0..dz.k {
                let s = sum2d(&depth_taps(&xp, t, dz.s, dz.out)?, [h, w])?;
                acc = Some(match acc {
                    None => s,
                    Some(a) => a.add(&s)?,
                });
            }
            let sums = undepth(&acc.expect("kernel depth checked positive"), x.shape()[0], dz.out)?;
            sums.mul(&divisors(&[dz, h, w], count_include_pad, divisor_override, x.dtype())?)
        },
        |v| v.squeeze_dim(0),
    )
}

/// Mean or max over PyTorch's adaptive bins of one axis: bin `i` of `out` covers
/// `[floor(i n / out), ceil((i + 1) n / out))`.
fn adaptive_axis(x: &Tensor, axis: usize, out: usize, max: bool) -> Result<Tensor> {
    let n = x.shape()[axis];
    let mut bins = Vec::with_capacity(out);
    for i in 0..out {
        let (a, b) = (i * n / out, ((i + 1) * n).div_ceil(out));
        let cell = x.narrow(axis as isize, a, b - a)?;
        bins.push(if max { cell.max_dim(axis as isize, true)?.0 } else { cell.mean_dim(axis as isize, true)? });
    }
    Tensor::cat(&bins.iter().collect::<Vec<_>>(), axis as isize)
}

/// Adaptive pooling of the trailing `out.len()` dims (`F.adaptive_{avg,max}_pool{1,2,3}d`).
#[track_caller]
pub fn adaptive_pool(x: &Tensor, out: &[usize], max: bool) -> Result<Tensor> {
    let op = if max { "adaptive_max_pool" } else { "adaptive_avg_pool" };
    let r = out.len();
    check_rank(op, x, r)?;
    let first = x.dim() - r;
    if out.contains(&0) || x.shape()[first..].contains(&0) {
        return Err(Error::shape(op, format!("input {:?} and output size {out:?} must be non-empty", x.shape())));
    }
    let mut shape = x.shape()[..first].to_vec();
    shape.extend_from_slice(out);
    ember_core::storage::checked_numel(op, &shape, x.dtype())?;
    let mut y = x.clone();
    for (i, &o) in out.iter().enumerate() {
        if y.shape()[first + i] != o || max {
            y = adaptive_axis(&y, first + i, o, max)?;
        }
    }
    Ok(y)
}

/// `F.lp_pool2d(x, norm_type, kernel, stride, ceil_mode)`: `(sum of x^p over the window)^(1/p)`.
#[track_caller]
pub fn lp_pool2d(
    x: &Tensor,
    norm_type: f64,
    kernel: (usize, usize),
    stride: (usize, usize),
    ceil_mode: bool,
) -> Result<Tensor> {
    // As PyTorch: the average (over the part of a ceil-mode window inside the input) times the
    // full window size.
    let s = avg_pool2d_ext(&x.pow(norm_type)?, kernel, stride, (0, 0), ceil_mode, true, None)?
        .mul_scalar((kernel.0 * kernel.1) as f64)?;
    s.sign()?.mul(&s.abs()?.relu()?)?.pow(1.0 / norm_type)
}

/// `F.lp_pool1d(x, norm_type, kernel, stride, ceil_mode)`.
#[track_caller]
pub fn lp_pool1d(x: &Tensor, norm_type: f64, kernel: usize, stride: usize, ceil_mode: bool) -> Result<Tensor> {
    check_rank("lp_pool1d", x, 1)?;
    lp_pool2d(&x.unsqueeze(-2)?, norm_type, (1, kernel), (1, stride), ceil_mode)?.squeeze_dim(-2)
}

/// `F.max_unpool2d(x, indices, kernel, stride, padding, output_size)`: values put back at
/// their flat `H*W` positions (zeros elsewhere); the output size defaults to
/// `(in - 1) * stride - 2 * padding + kernel`.
#[track_caller]
pub fn max_unpool2d(
    x: &Tensor,
    indices: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    output_size: Option<(usize, usize)>,
) -> Result<Tensor> {
    let op = "max_unpool2d";
    check_rank(op, x, 2)?;
    if indices.shape() != x.shape() {
        return Err(Error::shape(
            op,
            format!("indices {:?} must have the shape of the input {:?}", indices.shape(), x.shape()),
        ));
    }
    let d = x.dim();
    let (h, w) = (x.shape()[d - 2], x.shape()[d - 1]);
    let default = |n: usize, k: usize, s: usize, p: usize| {
        n.saturating_sub(1).checked_mul(s)?.checked_add(k)?.checked_sub(p.checked_mul(2)?)
    };
    let (oh, ow) = match output_size {
        Some(s) => s,
        None => match (default(h, kernel.0, stride.0, padding.0), default(w, kernel.1, stride.1, padding.1)) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(Error::shape(op, "padding is too large for the default output size")),
        },
    };
    let mut lead: Vec<usize> = x.shape()[..d - 2].to_vec();
    let plane = oh.checked_mul(ow).ok_or_else(|| Error::shape(op, "output size overflows"))?;
    lead.push(plane);
    ember_core::storage::checked_numel(op, &lead, x.dtype())?;
    let idx = indices.to_dtype(DType::I64)?;
    let flat_shape: Vec<isize> = x.shape()[..d - 2].iter().map(|&v| v as isize).chain([-1]).collect();
    let (fi, fx) = (idx.reshape(flat_shape.as_slice())?, x.reshape(flat_shape.as_slice())?);
    // Overlapping windows can name one input position twice, with the same value: written, not
    // summed, as torch does.
    let out = Tensor::zeros(&lead, x.dtype())?.scatter(-1, &fi, &fx)?;
    let mut shape = x.shape()[..d - 2].to_vec();
    shape.extend([oh, ow]);
    out.reshape(shape.iter().map(|&v| v as isize).collect::<Vec<_>>().as_slice())
}
