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

use crate::dtype::Element;
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

/// `out [n, c, p]` sampled from `input [n, c, h, w]` at `grid [n, p, 2]`.
pub fn forward<T: Element>(g: &GridGeom, input: &[T], grid: &[T]) -> Vec<T> {
    let (hw, k) = (g.h * g.w, taps_per_point(g.mode));
    let mut out = vec![T::default(); g.n * g.c * g.p];
    if g.p == 0 || g.c == 0 {
        return out;
    }
    for b in 0..g.n {
        let grid = &grid[b * g.p * 2..(b + 1) * g.p * 2];
        let planes = &input[b * g.c * hw..(b + 1) * g.c * hw];
        // Each block of points: its taps once, then every channel, into a block-local [c][len]
        // buffer (the channels' output planes are far apart); the buffers are copied out after.
        let blocks: Vec<Vec<T>> = map_blocks(g.p.div_ceil(BLOCK), |blk| {
            let (q0, len) = (blk * BLOCK, BLOCK.min(g.p - blk * BLOCK));
            let mut taps = vec![Tap::default(); len * k];
            let mut scale = vec![(0.0, 0.0); len];
            block_taps(g, grid, q0, &mut taps, &mut scale);
            let mut local = Vec::with_capacity(g.c * len);
            for plane in planes.chunks(hw) {
                local.extend(taps.chunks(k).map(|t| T::from_f64(t.iter().map(|t| t.w * plane[t.at].to_f64()).sum())));
            }
            local
        });
        for_each_block_mut(&mut out[b * g.c * g.p..(b + 1) * g.c * g.p], g.p, |ch, dst| {
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
