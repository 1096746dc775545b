//! `F.grid_sample` on `[N, C, H, W]` images as one pass (PyTorch's `grid_sampler_2d` CPU
//! kernel semantics): for each output point the taps it reads (1 nearest, 4 bilinear, 16
//! bicubic) are found once, as input offsets with their weights and the weights' derivatives
//! in `x` and `y`, and then every channel is a weighted sum over those taps. Backward reuses
//! the taps: the input gradient scatters `weight * grad` into each channel plane, the grid
//! gradient sums `input * d weight / d coordinate` over channels.
//!
//! Work is per image, in parallel over blocks of points (each block's taps computed once for
//! all channels) and, for the input gradient, over channel planes. Values are read and
//! accumulated in f64.

use super::resample::Real;
use crate::dtype::Element;
use crate::storage::pool;
use ember_kernels::num_threads;
use ember_kernels::threads::for_each_block_mut;
use rayon::prelude::*;

/// `F.grid_sample`'s `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridMode {
    Bilinear,
    Nearest,
    Bicubic,
}

/// `F.grid_sample`'s `padding_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridPadding {
    Zeros,
    Border,
    Reflection,
}

/// The geometry of one call: input `[n, c, h, w]`, output points `p = Ho * Wo` per image.
#[derive(Clone, Copy, Debug)]
pub struct GridGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub p: usize,
    pub mode: GridMode,
    pub padding: GridPadding,
    pub align_corners: bool,
}

/// One tap: the offset in the `h * w` plane, its weight, and the weight's derivatives in the
/// (padded) pixel coordinates `x` and `y`. Taps outside the image have weight 0.
#[derive(Clone, Copy, Default)]
struct Tap {
    at: usize,
    w: f64,
    dx: f64,
    dy: f64,
}

const A: f64 = -0.75; // the cubic convolution's coefficient, as PyTorch's

/// `v.floor()` without a libm call or a branch (baseline x86-64 has no rounding
/// instruction): exact for |v| < 2^63; NaN gives 0.
#[inline]
fn floor(v: f64) -> f64 {
    let t = v as i64 as f64;
    t - (t > v) as u8 as f64
}

/// Grid coordinate in `[-1, 1]` to pixel coordinate, and its derivative.
#[inline(always)]
fn unnormalize(v: f64, size: usize, align: bool) -> (f64, f64) {
    if align {
        let s = (size as f64 - 1.0) / 2.0;
        ((v + 1.0) * s, s)
    } else {
        let s = size as f64 / 2.0;
        (((v + 1.0) * size as f64 - 1.0) / 2.0, s)
    }
}

/// Clips to `[0, size - 1]`; the derivative is 0 on and beyond the borders (as PyTorch's).
#[inline(always)]
fn clip(v: f64, size: usize) -> (f64, f64) {
    let hi = size as f64 - 1.0;
    if v <= 0.0 {
        (0.0, 0.0)
    } else if v >= hi {
        (hi, 0.0)
    } else {
        (v, 1.0)
    }
}

/// Mirrors `v` into `[twice_low / 2, twice_high / 2]`, with the derivative (+-1).
fn reflect(v: f64, twice_low: f64, twice_high: f64) -> (f64, f64) {
    if twice_low == twice_high {
        return (0.0, 0.0);
    }
    let (min, span) = (twice_low / 2.0, (twice_high - twice_low) / 2.0);
    let (d, sign) = if v - min < 0.0 { (min - v, -1.0) } else { (v - min, 1.0) };
    let extra = d % span;
    if ((d / span).floor() as i64) % 2 == 0 {
        (extra + min, sign)
    } else {
        (span - extra + min, -sign)
    }
}

/// The padded source coordinate of a grid value for bilinear and nearest sampling, with its
/// derivative in the grid value.
#[inline(always)]
fn source(v: f64, size: usize, pad: GridPadding, align: bool) -> (f64, f64) {
    let (x, s) = unnormalize(v, size, align);
    match pad {
        GridPadding::Zeros => (x, s),
        GridPadding::Border => {
            let (x, g) = clip(x, size);
            (x, s * g)
        }
        GridPadding::Reflection => {
            let twice = if align { (0.0, 2.0 * (size as f64 - 1.0)) } else { (-1.0, 2.0 * size as f64 - 1.0) };
            let (x, r) = reflect(x, twice.0, twice.1);
            let (x, g) = clip(x, size);
            (x, s * r * g)
        }
    }
}

/// A bicubic tap's integer coordinate after padding (border clips it, reflection mirrors
/// then clips it), or `None` outside the image.
fn bounded(i: f64, size: usize, pad: GridPadding, align: bool) -> Option<usize> {
    let i = match pad {
        GridPadding::Zeros => i,
        GridPadding::Border => clip(i, size).0,
        GridPadding::Reflection => {
            let twice = if align { (0.0, 2.0 * (size as f64 - 1.0)) } else { (-1.0, 2.0 * size as f64 - 1.0) };
            clip(reflect(i, twice.0, twice.1).0, size).0
        }
    };
    (i >= 0.0 && i < size as f64).then_some(i as usize)
}

/// The four cubic convolution weights at fraction `t` and their derivatives in `t`.
fn cubic(t: f64) -> ([f64; 4], [f64; 4]) {
    let f1 = |s: f64| ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0;
    let d1 = |s: f64| (3.0 * (A + 2.0) * s - 2.0 * (A + 3.0)) * s;
    let f2 = |s: f64| ((A * s - 5.0 * A) * s + 8.0 * A) * s - 4.0 * A;
    let d2 = |s: f64| (3.0 * A * s - 10.0 * A) * s + 8.0 * A;
    ([f2(t + 1.0), f1(t), f1(1.0 - t), f2(2.0 - t)], [d2(t + 1.0), d1(t), -d1(1.0 - t), -d2(2.0 - t)])
}

/// The taps of one grid point `(gx, gy)`, written to `out` (`taps_per_point` entries), and the
/// derivatives of the sampling coordinates in the grid values.
fn taps_of(g: &GridGeom, gx: f64, gy: f64, out: &mut [Tap]) -> (f64, f64) {
    let (w, h) = (g.w, g.h);
    let inside = |x: i64, y: i64| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
    match g.mode {
        GridMode::Nearest => {
            let (x, sx) = source(gx, w, g.padding, g.align_corners);
            let (y, sy) = source(gy, h, g.padding, g.align_corners);
            // Round half to even, as `nearbyint`.
            let (xi, yi) = (x.round_ties_even() as i64, y.round_ties_even() as i64);
            out[0] = match inside(xi, yi) {
                true => Tap { at: yi as usize * w + xi as usize, w: 1.0, dx: 0.0, dy: 0.0 },
                false => Tap::default(),
            };
            (sx, sy)
        }
        GridMode::Bilinear => {
            let (x, sx) = source(gx, w, g.padding, g.align_corners);
            let (y, sy) = source(gy, h, g.padding, g.align_corners);
            let (x0, y0) = (floor(x), floor(y));
            let (fx, fy) = (x - x0, y - y0);
            let corners = [
                (0, 0, (1.0 - fx) * (1.0 - fy), -(1.0 - fy), -(1.0 - fx)),
                (1, 0, fx * (1.0 - fy), 1.0 - fy, -fx),
                (0, 1, (1.0 - fx) * fy, -fy, 1.0 - fx),
                (1, 1, fx * fy, fy, fx),
            ];
            for (k, &(ox, oy, wt, dx, dy)) in corners.iter().enumerate() {
                let (xi, yi) = ((x0 as i64).saturating_add(ox), (y0 as i64).saturating_add(oy));
                out[k] = match inside(xi, yi) {
                    true => Tap { at: yi as usize * w + xi as usize, w: wt, dx, dy },
                    false => Tap::default(),
                };
            }
            (sx, sy)
        }
        GridMode::Bicubic => {
            // The coordinate itself is not padded; each tap is (grid_sampler_2d's bicubic).
            let (x, sx) = unnormalize(gx, w, g.align_corners);
            let (y, sy) = unnormalize(gy, h, g.align_corners);
            let (x0, y0) = (floor(x), floor(y));
            let (cx, dcx) = cubic(x - x0);
            let (cy, dcy) = cubic(y - y0);
            for j in 0..4 {
                let yi = bounded(y0 - 1.0 + j as f64, h, g.padding, g.align_corners);
                for i in 0..4 {
                    let xi = bounded(x0 - 1.0 + i as f64, w, g.padding, g.align_corners);
                    out[j * 4 + i] = match (xi, yi) {
                        (Some(xi), Some(yi)) => {
                            Tap { at: yi * w + xi, w: cx[i] * cy[j], dx: dcx[i] * cy[j], dy: cx[i] * dcy[j] }
                        }
                        _ => Tap::default(),
                    };
                }
            }
            (sx, sy)
        }
    }
}

fn taps_per_point(mode: GridMode) -> usize {
    match mode {
        GridMode::Nearest => 1,
        GridMode::Bilinear => 4,
        GridMode::Bicubic => 16,
    }
}

/// Points per parallel task: enough work to amortise the task, few enough taps to stay in cache.
const BLOCK: usize = 512;

/// The taps of points `q0..q0 + len` of one image (`grid`: that image's `[p, 2]`) into
/// `taps`, and the coordinate derivatives per point into `scale`.
fn block_taps<T: Element>(g: &GridGeom, grid: &[T], q0: usize, taps: &mut [Tap], scale: &mut [(f64, f64)]) {
    let k = taps_per_point(g.mode);
    for (i, (tp, sc)) in taps.chunks_mut(k).zip(scale.iter_mut()).enumerate() {
        let q = q0 + i;
        *sc = taps_of(g, grid[2 * q].to_f64(), grid[2 * q + 1].to_f64(), tp);
    }
}

/// Bilinear taps of one grid point for the forward pass: four plane offsets and weights
/// (no derivatives). Points whose four corners are all inside read them directly; the others
/// give their outside corners weight 0 at offset 0.
#[inline(always)]
fn bilinear_point(g: &GridGeom, gx: f64, gy: f64) -> ([usize; 4], [f64; 4]) {
    let (x, _) = source(gx, g.w, g.padding, g.align_corners);
    let (y, _) = source(gy, g.h, g.padding, g.align_corners);
    let (x0, y0) = (floor(x), floor(y));
    let (fx, fy) = (x - x0, y - y0);
    let wts = [(1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy];
    if x0 >= 0.0 && y0 >= 0.0 && x0 + 1.0 < g.w as f64 && y0 + 1.0 < g.h as f64 {
        let at = y0 as usize * g.w + x0 as usize;
        return ([at, at + 1, at + g.w, at + g.w + 1], wts);
    }
    let (mut at, mut w) = ([0usize; 4], [0.0; 4]);
    for (k, (ox, oy)) in [(0i64, 0i64), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
        let (xi, yi) = ((x0 as i64).saturating_add(ox), (y0 as i64).saturating_add(oy));
        if xi >= 0 && yi >= 0 && (xi as usize) < g.w && (yi as usize) < g.h {
            at[k] = yi as usize * g.w + xi as usize;
            w[k] = wts[k];
        }
    }
    (at, w)
}

/// The forward taps (offset, weight) of points `q0..q0 + at.len() / k` of one image.
fn forward_taps<T: Real>(g: &GridGeom, grid: &[T], q0: usize, at: &mut [usize], wt: &mut [T]) {
    let k = taps_per_point(g.mode);
    match g.mode {
        GridMode::Bilinear => {
            for (i, (a, w)) in at.chunks_exact_mut(4).zip(wt.chunks_exact_mut(4)).enumerate() {
                let q = q0 + i;
                let (pa, pw) = bilinear_point(g, grid[2 * q].to_f64(), grid[2 * q + 1].to_f64());
                a.copy_from_slice(&pa);
                for (d, v) in w.iter_mut().zip(pw) {
                    *d = T::from_f64(v);
                }
            }
        }
        _ => {
            let mut taps = [Tap::default(); 16];
            for (i, (a, w)) in at.chunks_exact_mut(k).zip(wt.chunks_exact_mut(k)).enumerate() {
                let q = q0 + i;
                taps_of(g, grid[2 * q].to_f64(), grid[2 * q + 1].to_f64(), &mut taps[..k]);
                for ((a, w), t) in a.iter_mut().zip(w.iter_mut()).zip(&taps[..k]) {
                    (*a, *w) = (t.at, T::from_f64(t.w));
                }
            }
        }
    }
}

/// `dst[i] = sum_k wt[i, k] * plane[at[i, k]]` with `K` taps per point.
fn combine<T: Real, const K: usize>(plane: &[T], at: &[usize], wt: &[T], dst: &mut [T]) {
    for ((d, a), w) in dst.iter_mut().zip(at.chunks_exact(K)).zip(wt.chunks_exact(K)) {
        let mut acc = w[0] * plane[a[0]];
        for k in 1..K {
            acc = acc + w[k] * plane[a[k]];
        }
        *d = acc;
    }
}

/// Per-task scratch for one block's forward taps (allocated once per task, not per block).
struct Scratch<T> {
    at: Vec<usize>,
    wt: Vec<T>,
}

impl<T: Real> Scratch<T> {
    fn new(g: &GridGeom) -> Scratch<T> {
        let n = BLOCK * taps_per_point(g.mode);
        Scratch { at: vec![0; n], wt: vec![T::default(); n] }
    }
}

/// Samples points `q0..q0 + len` of one image (`planes [c, h w]`, `grid [p, 2]`) for every
/// channel: channel `ch`'s values go to `dst[ch * stride + offset..][..len]`.
#[allow(clippy::too_many_arguments)]
fn sample_block<T: Real>(
    g: &GridGeom,
    planes: &[T],
    grid: &[T],
    q0: usize,
    len: usize,
    scratch: &mut Scratch<T>,
    dst: &mut [T],
    stride: usize,
    offset: usize,
) {
    let k = taps_per_point(g.mode);
    let (at, wt) = (&mut scratch.at[..len * k], &mut scratch.wt[..len * k]);
    forward_taps(g, grid, q0, at, wt);
    let (at, wt) = (&*at, &*wt);
    for (ch, plane) in planes.chunks_exact(g.h * g.w).enumerate() {
        let d = &mut dst[ch * stride + offset..][..len];
        match k {
            1 => combine::<T, 1>(plane, at, wt, d),
            4 => combine::<T, 4>(plane, at, wt, d),
            _ => combine::<T, 16>(plane, at, wt, d),
        }
    }
}

/// `out [n, c, p]` sampled from `input [n, c, h, w]` at `grid [n, p, 2]`, computed in `T`
/// (coordinates and weights in f64).
pub fn forward<T: Real>(g: &GridGeom, input: &[T], grid: &[T]) -> Vec<T> {
    let (hw, cp) = (g.h * g.w, g.c * g.p);
    if g.p == 0 || g.c == 0 || hw == 0 {
        return vec![T::default(); g.n * cp];
    }
    // Every element is written below.
    let mut out = pool::take::<T>(g.n * cp);
    if g.n >= num_threads() {
        // Whole images per task, each writing its own `[c, p]` block in place.
        for_each_block_mut(&mut out, cp, |b, dst| {
            let (planes, grid) = (&input[b * g.c * hw..][..g.c * hw], &grid[b * g.p * 2..][..g.p * 2]);
            let mut scratch = Scratch::new(g);
            for q0 in (0..g.p).step_by(BLOCK) {
                sample_block(g, planes, grid, q0, BLOCK.min(g.p - q0), &mut scratch, dst, g.p, q0);
            }
        });
        return out;
    }
    for b in 0..g.n {
        let grid = &grid[b * g.p * 2..(b + 1) * g.p * 2];
        let planes = &input[b * g.c * hw..(b + 1) * g.c * hw];
        // Fewer images than threads: blocks of points in parallel, each into a block-local
        // `[c, len]` buffer (the channels' output planes are far apart), copied out after.
        let blocks: Vec<Vec<T>> = map_blocks(g.p.div_ceil(BLOCK), |blk| {
            let (q0, len) = (blk * BLOCK, BLOCK.min(g.p - blk * BLOCK));
            let mut local = vec![T::default(); g.c * len];
            sample_block(g, planes, grid, q0, len, &mut Scratch::new(g), &mut local, len, 0);
            local
        });
        for_each_block_mut(&mut out[b * cp..(b + 1) * cp], g.p, |ch, dst| {
            for (blk, local) in blocks.iter().enumerate() {
                let len = local.len() / g.c;
                dst[blk * BLOCK..blk * BLOCK + len].copy_from_slice(&local[ch * len..(ch + 1) * len]);
            }
        });
    }
    out
}

/// `(grad_input [n, c, h, w], grad_grid [n, p, 2])` from `grad_out [n, c, p]`.
pub fn backward<T: Element>(g: &GridGeom, input: &[T], grid: &[T], grad_out: &[T]) -> (Vec<T>, Vec<T>) {
    let (hw, k) = (g.h * g.w, taps_per_point(g.mode));
    let mut gi = vec![0f64; g.n * g.c * hw];
    let mut gg = vec![T::default(); g.n * g.p * 2];
    if g.p == 0 {
        return (gi.into_iter().map(T::from_f64).collect(), gg);
    }
    if g.n >= num_threads() {
        // Whole images per task: each point's taps are computed once and serve both gradients,
        // with nothing kept between the two.
        let work = |(b, (gi, gg)): (usize, (&mut [f64], &mut [T]))| {
            let planes = &input[b * g.c * hw..(b + 1) * g.c * hw];
            let gout = &grad_out[b * g.c * g.p..(b + 1) * g.c * g.p];
            backward_image(g, planes, &grid[b * g.p * 2..(b + 1) * g.p * 2], gout, gi, gg);
        };
        let (gi_img, gg_img) = (g.c * hw, g.p * 2);
        if num_threads() > 1 && g.n > 1 {
            gi.par_chunks_mut(gi_img.max(1)).zip(gg.par_chunks_mut(gg_img)).enumerate().for_each(work);
        } else {
            gi.chunks_mut(gi_img.max(1)).zip(gg.chunks_mut(gg_img)).enumerate().for_each(work);
        }
        return (gi.into_iter().map(T::from_f64).collect(), gg);
    }
    for b in 0..g.n {
        let grid = &grid[b * g.p * 2..(b + 1) * g.p * 2];
        let gout = &grad_out[b * g.c * g.p..(b + 1) * g.c * g.p];
        let planes = &input[b * g.c * hw..(b + 1) * g.c * hw];
        // Grid: per block of points, the channels' sum of grad * input * d weight; the block's
        // taps (offset and weight) are kept for the input gradient below.
        let kept: Vec<Vec<(usize, f64)>> =
            map_chunks(&mut gg[b * g.p * 2..(b + 1) * g.p * 2], 2 * BLOCK, |blk, dst| {
                let (q0, len) = (blk * BLOCK, dst.len() / 2);
                let mut taps = vec![Tap::default(); len * k];
                let mut scale = vec![(0.0, 0.0); len];
                block_taps(g, grid, q0, &mut taps, &mut scale);
                if g.mode != GridMode::Nearest {
                    for (j, d) in dst.chunks_mut(2).enumerate() {
                        let t = &taps[j * k..(j + 1) * k];
                        let (mut sx, mut sy) = (0.0, 0.0);
                        for (plane, go) in planes.chunks(hw).zip(gout.chunks(g.p)) {
                            let gv = go[q0 + j].to_f64();
                            for t in t {
                                let v = plane[t.at].to_f64() * gv;
                                sx += v * t.dx;
                                sy += v * t.dy;
                            }
                        }
                        d[0] = T::from_f64(sx * scale[j].0);
                        d[1] = T::from_f64(sy * scale[j].1);
                    }
                }
                taps.iter().map(|t| (t.at, t.w)).collect()
            });
        // Input: each channel plane scatters `weight * grad` through the taps (planes are
        // disjoint, so channels run in parallel).
        for_each_block_mut(&mut gi[b * g.c * hw..(b + 1) * g.c * hw], hw.max(1), |ch, dst| {
            let go = &gout[ch * g.p..(ch + 1) * g.p];
            for (blk, taps) in kept.iter().enumerate() {
                for (j, t) in taps.chunks(k).enumerate() {
                    let gv = go[blk * BLOCK + j].to_f64();
                    for &(at, w) in t {
                        dst[at] += w * gv;
                    }
                }
            }
        });
    }
    (gi.into_iter().map(T::from_f64).collect(), gg)
}

/// Both gradients of one image (`planes [c, h w]`, `grid [p, 2]`, `gout [c, p]`), block by
/// block: the block's taps, then per point the grid gradient (channels' sum of
/// `grad * input * d weight`) and the input gradient (`weight * grad` into each plane).
fn backward_image<T: Element>(g: &GridGeom, planes: &[T], grid: &[T], gout: &[T], gi: &mut [f64], gg: &mut [T]) {
    let (hw, k) = (g.h * g.w, taps_per_point(g.mode));
    let mut taps = vec![Tap::default(); BLOCK * k];
    let mut scale = vec![(0.0, 0.0); BLOCK];
    for q0 in (0..g.p).step_by(BLOCK) {
        let len = BLOCK.min(g.p - q0);
        block_taps(g, grid, q0, &mut taps[..len * k], &mut scale[..len]);
        for (j, t) in taps[..len * k].chunks_exact(k).enumerate() {
            let q = q0 + j;
            let (mut sx, mut sy) = (0.0, 0.0);
            for (ch, (plane, gplane)) in planes.chunks_exact(hw).zip(gi.chunks_exact_mut(hw)).enumerate() {
                let gv = gout[ch * g.p + q].to_f64();
                for t in t {
                    let v = plane[t.at].to_f64() * gv;
                    sx += v * t.dx;
                    sy += v * t.dy;
                    gplane[t.at] += t.w * gv;
                }
            }
            if g.mode != GridMode::Nearest {
                gg[2 * q] = T::from_f64(sx * scale[j].0);
                gg[2 * q + 1] = T::from_f64(sy * scale[j].1);
            }
        }
    }
}

/// `f(i)` for each of `n` blocks, in parallel when Ember may use more than one thread.
fn map_blocks<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    match num_threads() > 1 && n > 1 {
        true => (0..n).into_par_iter().map(f).collect(),
        false => (0..n).map(f).collect(),
    }
}

/// `f(i, chunk)` for each `len`-element chunk of `out`, collecting the results, in parallel
/// when Ember may use more than one thread.
fn map_chunks<T: Send, R: Send>(out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) -> R + Sync + Send) -> Vec<R> {
    match num_threads() > 1 && out.len() > len {
        true => out.par_chunks_mut(len).enumerate().map(|(i, c)| f(i, c)).collect(),
        false => out.chunks_mut(len).enumerate().map(|(i, c)| f(i, c)).collect(),
    }
}
