//! 2-D max pooling as one autograd node: a direct window scan per `(image, channel)` plane,
//! planes in parallel, keeping each window's argmax (a flat `h * W + w` position in the input
//! plane, PyTorch's `indices`); the backward adds each output gradient at its argmax. The
//! composite form (pad with `-inf`, im2col, max over the window axis) writes and reads the whole
//! window matrix forward and scatters through it backward.
//!
//! With `create_graph`, the backward is a `scatter_add` in tensor ops, so double backward works.

use super::read_as;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::Tensor;
use ember_kernels::threads;
use std::sync::Arc;

/// Window geometry along one axis: input size, kernel, stride, padding, dilation, output size.
#[derive(Clone, Copy, Debug)]
pub struct PoolAxis {
    pub n: usize,
    pub k: usize,
    pub s: usize,
    pub p: usize,
    pub d: usize,
    pub out: usize,
}

trait PoolFloat: Element + PartialOrd + std::ops::Add<Output = Self> {
    fn is_nan(self) -> bool;
}
impl PoolFloat for f32 {
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}
impl PoolFloat for f64 {
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// The taps `k` of output position `o` that fall inside the input (a window may hang over the
/// padding), as a range.
fn taps(a: PoolAxis, o: usize) -> std::ops::Range<usize> {
    let first = o * a.s;
    // Tap k reads input index first + k d - p: 0 <= that holds from k = ceil((p - first) / d),
    // and that < n up to k = (n + p - first - 1) / d.
    let lo = if first >= a.p { 0 } else { (a.p - first).div_ceil(a.d) };
    let hi = if a.n + a.p <= first { 0 } else { ((a.n + a.p - first - 1) / a.d + 1).min(a.k) };
    lo..hi.max(lo)
}

/// One plane `[H, W]` -> per output its max and argmax; a window entirely in the padding gives
/// `-inf` at index -1 (PyTorch's values for it). NaN wins, as in PyTorch.
fn plane<T: PoolFloat>(x: &[T], h: PoolAxis, w: PoolAxis, vals: &mut [T], idx: Option<&mut [i64]>) {
    let mut idx = idx;
    let wt: Vec<std::ops::Range<usize>> = (0..w.out).map(|ow| taps(w, ow)).collect();
    for oh in 0..h.out {
        let ht = taps(h, oh);
        for ow in 0..w.out {
            let (mut best, mut at) = (T::from_f64(f64::NEG_INFINITY), -1i64);
            let mut first = true;
            'window: for ki in ht.clone() {
                let row = (oh * h.s + ki * h.d - h.p) * w.n;
                for kj in wt[ow].clone() {
                    let pos = row + ow * w.s + kj * w.d - w.p;
                    let v = x[pos];
                    if first || v > best || v.is_nan() {
                        (best, at, first) = (v, pos as i64, false);
                        if v.is_nan() {
                            break 'window;
                        }
                    }
                }
            }
            vals[oh * w.out + ow] = best;
            if let Some(i) = idx.as_deref_mut() {
                i[oh * w.out + ow] = at;
            }
        }
    }
}

/// Whether the windows are the common 2 x 2 at stride 2 without padding or dilation, each
/// inside the input (`max_pool2d(x, 2)` of LeNet- and VGG-style nets).
fn is_2x2(h: PoolAxis, w: PoolAxis) -> bool {
    let pair = |a: PoolAxis| a.k == 2 && a.s == 2 && a.p == 0 && a.d == 1 && 2 * a.out <= a.n;
    pair(h) && pair(w)
}

/// [`plane`] for [`is_2x2`] windows: two input rows per output row and the four taps compared
/// without branches (the general scan's range loops and early exit cost about 10x here). The
/// same rules: the first maximum in row-major order wins, and a NaN wins from where it is seen.
fn plane_2x2<T: PoolFloat>(x: &[T], h: PoolAxis, w: PoolAxis, vals: &mut [T], idx: &mut [i64]) {
    let (wn, ow_n) = (w.n, w.out);
    for oh in 0..h.out {
        let (b0, b1) = (2 * oh * wn, (2 * oh + 1) * wn);
        let (r0, r1) = (&x[b0..b0 + 2 * ow_n], &x[b1..b1 + 2 * ow_n]);
        let (vo, io) = (&mut vals[oh * ow_n..(oh + 1) * ow_n], &mut idx[oh * ow_n..(oh + 1) * ow_n]);
        for (ow, (v, i)) in vo.iter_mut().zip(io.iter_mut()).enumerate() {
            let c = 2 * ow;
            let (mut best, mut at) = (r0[c], (b0 + c) as i64);
            for (cand, pos) in [(r0[c + 1], b0 + c + 1), (r1[c], b1 + c), (r1[c + 1], b1 + c + 1)] {
                // `&` and `|`, not `&&` and `||`: no branch on the data (random comparisons
                // mispredict half the time).
                let take = (cand > best) | (cand.is_nan() & !best.is_nan());
                best = if take { cand } else { best };
                at = if take { pos as i64 } else { at };
            }
            *v = best;
            *i = at;
        }
    }
}

/// Max pooling of `x [N, C, H, W]` (f32 or f64) over the windows `h`, `w`: values
/// `[N, C, OH, OW]` (recorded for autograd) and argmax indices (int64, same shape).
#[track_caller]
pub fn max_pool2d(x: &Tensor, h: PoolAxis, w: PoolAxis) -> Result<(Tensor, Tensor)> {
    let op = "max_pool2d";
    if x.dim() != 4 || x.shape()[2] != h.n || x.shape()[3] != w.n || !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(Error::shape(
            op,
            format!("expected an f32/f64 [N, C, {}, {}] input, got {:?}", h.n, w.n, x.shape()),
        ));
    }
    match x.dtype() {
        DType::F64 => run::<f64>(x, h, w),
        _ => run::<f32>(x, h, w),
    }
}

fn run<T: PoolFloat>(x: &Tensor, h: PoolAxis, w: PoolAxis) -> Result<(Tensor, Tensor)> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let (planes, l, hw) = (n * c, h.out * w.out, h.n * w.n);
    let out_shape = [n, c, h.out, w.out];
    crate::storage::checked_numel("max_pool2d", &out_shape, T::DTYPE)?;
    let need_grad = crate::autograd::is_grad_enabled() && x.requires_grad();
    let (values, indices) = read_as(x, "max_pool2d", |xv: &[T]| {
        let mut vals = crate::storage::pool::take::<T>(planes * l);
        let mut idx = crate::storage::pool::take::<i64>(planes * l);
        if l > 0 {
            // Planes in parallel; each block is one plane's outputs (values and indices).
            let mut blocks: Vec<(&mut [T], &mut [i64])> = vals.chunks_mut(l).zip(idx.chunks_mut(l)).collect();
            let two_by_two = is_2x2(h, w);
            threads::for_each_block_mut(&mut blocks, 1, |p, b| {
                let (v, i) = &mut b[0];
                let xp = &xv[p * hw..(p + 1) * hw];
                if two_by_two {
                    plane_2x2(xp, h, w, v, i);
                } else {
                    plane(xp, h, w, v, Some(i));
                }
            });
        }
        (vals, idx)
    })?;
    let y = Tensor::from_vec(values, &out_shape)?;
    if !need_grad {
        return Ok((y, Tensor::from_vec(indices, &out_shape)?));
    }
    let idx = Tensor::from_vec(indices, &out_shape)?;
    let (in_shape, idx_t) = (x.shape().to_vec(), idx.clone());
    let back = move |gy: &Tensor| -> Result<Vec<Option<Tensor>>> {
        if crate::autograd::is_grad_enabled() {
            // create_graph: the scatter as tensor ops, differentiable in `gy`.
            let rows = [planes as isize, l as isize];
            let valid = idx_t.ge_scalar(0.0)?.reshape(&rows)?;
            let at = idx_t.clamp(Some(0.0), None)?.reshape(&rows)?;
            let g = Tensor::where_cond(&valid, &gy.reshape(&rows)?, &Tensor::zeros(&[planes, l], gy.dtype())?)?;
            let dx = Tensor::zeros(&[planes, hw], gy.dtype())?.scatter_add(1, &at, &g)?;
            let shape: Vec<isize> = in_shape.iter().map(|&d| d as isize).collect();
            return Ok(vec![Some(dx.reshape(&shape)?)]);
        }
        let dx = read_as(gy, "max_pool2d", |g: &[T]| {
            read_as(&idx_t, "max_pool2d", |indices: &[i64]| {
                let mut dx = crate::storage::pool::take_zeroed::<T>(planes * hw);
                threads::for_each_block_mut(&mut dx, hw.max(1), |p, d| {
                    for j in 0..l {
                        let at = indices[p * l + j];
                        if at >= 0 {
                            d[at as usize] = d[at as usize] + g[p * l + j];
                        }
                    }
                });
                dx
            })
        })??;
        Ok(vec![Some(Tensor::from_vec(dx, &in_shape)?)])
    };
    let y = crate::autograd::custom(std::slice::from_ref(x), y, "MaxPool2DWithIndices", Arc::new(back));
    Ok((y, idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2 x 2 kernel against the general scan, with ties, NaNs and odd sizes (a last row or
    /// column no window reaches).
    #[test]
    fn two_by_two_windows_match_the_general_scan() {
        for (hn, wn) in [(4, 6), (5, 7), (24, 24), (2, 2)] {
            let mut x: Vec<f32> = (0..hn * wn).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.5).collect();
            x[1] = f32::NAN;
            x[hn * wn - 1] = f32::NAN;
            if hn * wn > 9 {
                x[wn + 3] = f32::NAN;
            }
            let ax = |n: usize| PoolAxis { n, k: 2, s: 2, p: 0, d: 1, out: n / 2 };
            let (h, w) = (ax(hn), ax(wn));
            assert!(is_2x2(h, w));
            let l = h.out * w.out;
            let (mut v1, mut i1, mut v2, mut i2) = (vec![0.0; l], vec![0i64; l], vec![0.0; l], vec![0i64; l]);
            plane(&x, h, w, &mut v1, Some(&mut i1));
            plane_2x2(&x, h, w, &mut v2, &mut i2);
            assert_eq!(i1, i2, "{hn}x{wn}");
            assert!(v1.iter().zip(&v2).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())), "{hn}x{wn}");
        }
    }

    /// Every geometry against a brute-force scan of the padded window.
    #[test]
    fn window_scan_matches_brute_force() {
        let (hn, wn) = (7, 6);
        let x: Vec<f64> = (0..hn * wn).map(|i| ((i * 37 % 23) as f64 - 11.0) * 0.5).collect();
        for (k, s, p, d) in [(2, 2, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2), (2, 3, 1, 1), (4, 2, 2, 1), (3, 3, 1, 3)] {
            for ceil in [false, true] {
                let len = |n: usize| {
                    let span = n + 2 * p - d * (k - 1) - 1;
                    let mut o = if ceil { span.div_ceil(s) + 1 } else { span / s + 1 };
                    if ceil && (o - 1) * s >= n + p {
                        o -= 1;
                    }
                    o
                };
                let (h, w) =
                    (PoolAxis { n: hn, k, s, p, d, out: len(hn) }, PoolAxis { n: wn, k, s, p, d, out: len(wn) });
                let mut vals = vec![0.0; h.out * w.out];
                let mut idx = vec![0i64; h.out * w.out];
                plane(&x, h, w, &mut vals, Some(&mut idx));
                for oh in 0..h.out {
                    for ow in 0..w.out {
                        let mut best = (f64::NEG_INFINITY, -1i64);
                        for ki in 0..k {
                            for kj in 0..k {
                                let (ih, iw) =
                                    ((oh * s + ki * d) as i64 - p as i64, (ow * s + kj * d) as i64 - p as i64);
                                if ih >= 0 && iw >= 0 && (ih as usize) < hn && (iw as usize) < wn {
                                    let at = ih * wn as i64 + iw;
                                    if best.1 < 0 || x[at as usize] > best.0 {
                                        best = (x[at as usize], at);
                                    }
                                }
                            }
                        }
                        let j = oh * w.out + ow;
                        assert_eq!((vals[j], idx[j]), best, "k{k} s{s} p{p} d{d} ceil {ceil} at ({oh}, {ow})");
                    }
                }
            }
        }
    }
}
