//! `F.grid_sample` on `[N, C, H, W]` images as one pass (PyTorch's `grid_sampler_2d` CPU
//! kernel semantics): for each block of output points the taps they read (1 nearest, 4
//! bilinear, 16 bicubic) are found once, as input offsets with their weights and the weights'
//! derivatives in the grid's `x` and `y`, and then every channel is a weighted sum over those
//! taps. The taps come from `ember_kernels::grid`, one vectorised pass per axis (a 2-D tap's
//! weight is the product of its x and y weights). Backward reuses the taps: the input
//! gradient scatters `weight * grad` into each channel plane, the grid gradient sums
//! `grad * input * d weight` over channels.
//!
//! Work is per image, in parallel over blocks of points and, for the input gradient, over
//! channel planes. Arithmetic is in the tensor's type (f32 or f64), as PyTorch's.

use super::resample::Real;
use crate::storage::pool;
use ember_kernels::grid::{axis_taps, GridAxis, GridFloat};
use ember_kernels::num_threads;
use ember_kernels::threads::for_each_block_mut;
use rayon::prelude::*;

pub use ember_kernels::grid::{GridMode, GridPadding};

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

impl GridGeom {
    fn axis(&self, size: usize, component: usize) -> GridAxis {
        GridAxis { size, component, mode: self.mode, padding: self.padding, align_corners: self.align_corners }
    }
    /// 2-D taps per point.
    fn taps(&self) -> usize {
        self.mode.taps() * self.mode.taps()
    }
}

/// Points per parallel task: enough work to amortise the task, few enough taps to stay in cache.
const BLOCK: usize = 512;

/// The float types the kernel computes in.
pub trait GridElem: Real + GridFloat {}
impl GridElem for f32 {}
impl GridElem for f64 {}

/// One block's taps, point-major (entry `i * k + t` is 2-D tap `t` of point `i`): the plane
/// offset, the weight, and (for backward) the weight's derivatives in the point's grid `x`
/// and `y`. Built from the per-axis taps, whose buffers it keeps for reuse.
struct Taps<T> {
    at: Vec<usize>,
    wt: Vec<T>,
    dwx: Vec<T>,
    dwy: Vec<T>,
    axes: [(Vec<i32>, Vec<T>, Vec<T>); 2],
}

impl<T: GridElem> Taps<T> {
    fn new(g: &GridGeom) -> Taps<T> {
        let (k, a) = (BLOCK * g.taps(), BLOCK * g.mode.taps());
        let axis = || (vec![0; a], vec![T::default(); a], vec![T::default(); a]);
        Taps { at: vec![0; k], wt: vec![T::default(); k], dwx: Vec::new(), dwy: Vec::new(), axes: [axis(), axis()] }
    }

    /// The taps of points `q0..q0 + len` of one image (`grid`: that image's `[p, 2]`), with
    /// the weights' derivatives when `grad`.
    fn fill(&mut self, g: &GridGeom, grid: &[T], q0: usize, len: usize, grad: bool) {
        let (ta, k) = (g.mode.taps(), g.taps());
        let coords = &grid[2 * q0..2 * (q0 + len)];
        for (comp, (size, (ix, w, dw))) in [g.w, g.h].into_iter().zip(self.axes.iter_mut()).enumerate() {
            axis_taps(&g.axis(size, comp), coords, &mut ix[..ta * len], &mut w[..ta * len], &mut dw[..ta * len]);
        }
        let [x, y] = &self.axes;
        let x = (&x.0[..ta * len], &x.1[..ta * len], &x.2[..ta * len]);
        let y = (&y.0[..ta * len], &y.1[..ta * len], &y.2[..ta * len]);
        let (at, wt) = (&mut self.at[..k * len], &mut self.wt[..k * len]);
        let grad = match grad {
            true => {
                self.dwx.resize(k * BLOCK, T::default());
                self.dwy.resize(k * BLOCK, T::default());
                Some((&mut self.dwx[..k * len], &mut self.dwy[..k * len]))
            }
            false => None,
        };
        match ta {
            1 => outer::<T, 1, 1>(g.w, x, y, at, wt, grad),
            2 => outer::<T, 2, 4>(g.w, x, y, at, wt, grad),
            _ => outer::<T, 4, 16>(g.w, x, y, at, wt, grad),
        }
    }
}

/// One axis's taps, point-major: index, weight, d weight.
type AxisTaps<'a, T> = (&'a [i32], &'a [T], &'a [T]);

/// The 2-D taps of a block (`A` per axis, `K = A * A` per point) from its x and y taps: tap
/// `(j, t)` reads row `y_j`, column `x_t`, with weight `wx_t wy_j`; with `grad`, also the
/// weight's derivatives in the grid's x (`dwx_t wy_j`) and y (`wx_t dwy_j`).
fn outer<T: GridElem, const A: usize, const K: usize>(
    w: usize,
    x: AxisTaps<T>,
    y: AxisTaps<T>,
    at: &mut [usize],
    wt: &mut [T],
    grad: Option<(&mut [T], &mut [T])>,
) {
    let xs = x.0.chunks_exact(A).zip(x.1.chunks_exact(A));
    let ys = y.0.chunks_exact(A).zip(y.1.chunks_exact(A));
    for (((xi, xw), (yi, yw)), (at, wt)) in xs.zip(ys).zip(at.chunks_exact_mut(K).zip(wt.chunks_exact_mut(K))) {
        for j in 0..A {
            let row = yi[j] as usize * w;
            for t in 0..A {
                at[j * A + t] = row + xi[t] as usize;
                wt[j * A + t] = xw[t] * yw[j];
            }
        }
    }
    if let Some((dwx, dwy)) = grad {
        let xs = x.1.chunks_exact(A).zip(x.2.chunks_exact(A));
        let ys = y.1.chunks_exact(A).zip(y.2.chunks_exact(A));
        for (((xw, xd), (yw, yd)), (dx, dy)) in xs.zip(ys).zip(dwx.chunks_exact_mut(K).zip(dwy.chunks_exact_mut(K))) {
            for j in 0..A {
                for t in 0..A {
                    dx[j * A + t] = xd[t] * yw[j];
                    dy[j * A + t] = xw[t] * yd[j];
                }
            }
        }
    }
}

/// `dst[i] = sum_k wt[i, k] * plane[at[i, k]]` with `K` taps per point. (Scalar loads:
/// vector gathers measured slower, on Intel with its gather microcode mitigation.)
fn combine<T: Real, const K: usize>(plane: &[T], at: &[usize], wt: &[T], dst: &mut [T]) {
    for ((d, a), w) in dst.iter_mut().zip(at.chunks_exact(K)).zip(wt.chunks_exact(K)) {
        let mut acc = w[0] * plane[a[0]];
        for k in 1..K {
            acc = acc + w[k] * plane[a[k]];
        }
        *d = acc;
    }
}

/// Samples points `q0..q0 + len` of one image (`planes [c, h w]`, `grid [p, 2]`) for every
/// channel: channel `ch`'s values go to `dst[ch * stride + offset..][..len]`.
#[allow(clippy::too_many_arguments)]
fn sample_block<T: GridElem>(
    g: &GridGeom,
    planes: &[T],
    grid: &[T],
    q0: usize,
    len: usize,
    taps: &mut Taps<T>,
    dst: &mut [T],
    stride: usize,
    offset: usize,
) {
    let k = g.taps();
    taps.fill(g, grid, q0, len, false);
    let (at, wt) = (&taps.at[..len * k], &taps.wt[..len * k]);
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
/// (as PyTorch computes in the tensor's type).
pub fn forward<T: GridElem>(g: &GridGeom, input: &[T], grid: &[T]) -> Vec<T> {
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
            let mut taps = Taps::new(g);
            for q0 in (0..g.p).step_by(BLOCK) {
                sample_block(g, planes, grid, q0, BLOCK.min(g.p - q0), &mut taps, dst, g.p, q0);
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
            sample_block(g, planes, grid, q0, len, &mut Taps::new(g), &mut local, len, 0);
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

/// `(grad_input [n, c, h, w], grad_grid [n, p, 2])` from `grad_out [n, c, p]`, accumulated in
/// `T` (as PyTorch's).
pub fn backward<T: GridElem>(g: &GridGeom, input: &[T], grid: &[T], grad_out: &[T]) -> (Vec<T>, Vec<T>) {
    let hw = g.h * g.w;
    // Zeroed by writing (pooled or fresh): a calloc'd buffer would map the shared zero page,
    // and the first `+=` into each page would then copy it and flush every CPU's TLB.
    let mut gi = pool::take_zeroed::<T>(g.n * g.c * hw);
    let mut gg = pool::take_zeroed::<T>(g.n * g.p * 2);
    if g.p == 0 || hw == 0 {
        return (gi, gg);
    }
    if g.n >= num_threads() {
        // Whole images per task: each point's taps are computed once and serve both gradients,
        // with nothing kept between the two.
        let work = |(b, (gi, gg)): (usize, (&mut [T], &mut [T]))| {
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
        return (gi, gg);
    }
    let k = g.taps();
    for b in 0..g.n {
        let grid = &grid[b * g.p * 2..(b + 1) * g.p * 2];
        let gout = &grad_out[b * g.c * g.p..(b + 1) * g.c * g.p];
        let planes = &input[b * g.c * hw..(b + 1) * g.c * hw];
        // Grid: per block of points, the channels' sum of grad * input * d weight; the block's
        // taps (offset and weight) are kept for the input gradient below.
        let kept: Vec<(Vec<usize>, Vec<T>)> =
            map_chunks(&mut gg[b * g.p * 2..(b + 1) * g.p * 2], 2 * BLOCK, |blk, dst| {
                let (q0, len) = (blk * BLOCK, dst.len() / 2);
                let mut taps = Taps::new(g);
                taps.fill(g, grid, q0, len, true);
                let gouts: Vec<&[T]> = gout.chunks_exact(g.p).map(|go| &go[q0..q0 + len]).collect();
                grid_grad(&taps, k, planes, hw, &gouts, dst);
                taps.at.truncate(len * k);
                taps.wt.truncate(len * k);
                (taps.at, taps.wt)
            });
        // Input: each channel plane scatters `weight * grad` through the taps (planes are
        // disjoint, so channels run in parallel).
        for_each_block_mut(&mut gi[b * g.c * hw..(b + 1) * g.c * hw], hw, |ch, dst| {
            let go = &gout[ch * g.p..(ch + 1) * g.p];
            for (blk, (at, wt)) in kept.iter().enumerate() {
                let go = &go[blk * BLOCK..];
                for ((at, wt), &gv) in at.chunks_exact(k).zip(wt.chunks_exact(k)).zip(go) {
                    for (&a, &w) in at.iter().zip(wt) {
                        dst[a] = dst[a] + w * gv;
                    }
                }
            }
        });
    }
    (gi, gg)
}

/// The grid gradient of one block's points into `dst [len, 2]`: per point, the channels' sum
/// of `grad * input * d weight` over its taps (`gouts`: each channel's grads of the block).
fn grid_grad<T: GridElem>(taps: &Taps<T>, k: usize, planes: &[T], hw: usize, gouts: &[&[T]], dst: &mut [T]) {
    for (i, d) in dst.chunks_exact_mut(2).enumerate() {
        let r = i * k..(i + 1) * k;
        let (at, dwx, dwy) = (&taps.at[r.clone()], &taps.dwx[r.clone()], &taps.dwy[r]);
        let (mut sx, mut sy) = (T::default(), T::default());
        for (plane, go) in planes.chunks_exact(hw).zip(gouts) {
            let gv = go[i];
            for ((&a, &dx), &dy) in at.iter().zip(dwx).zip(dwy) {
                let v = plane[a] * gv;
                sx = sx + v * dx;
                sy = sy + v * dy;
            }
        }
        d[0] = sx;
        d[1] = sy;
    }
}

/// Both gradients of one image (`planes [c, h w]`, `grid [p, 2]`, `gout [c, p]`), block by
/// block: the block's taps, then per point the grid gradient (channels' sum of
/// `grad * input * d weight`) and the input gradient (`weight * grad` into each plane).
fn backward_image<T: GridElem>(g: &GridGeom, planes: &[T], grid: &[T], gout: &[T], gi: &mut [T], gg: &mut [T]) {
    let (hw, k) = (g.h * g.w, g.taps());
    let mut taps = Taps::new(g);
    for q0 in (0..g.p).step_by(BLOCK) {
        let len = BLOCK.min(g.p - q0);
        taps.fill(g, grid, q0, len, true);
        let r = 0..len * k;
        let (at, wt, dwx, dwy) = (&taps.at[r.clone()], &taps.wt[r.clone()], &taps.dwx[r.clone()], &taps.dwy[r]);
        for (j, d) in gg[2 * q0..2 * (q0 + len)].chunks_exact_mut(2).enumerate() {
            let q = q0 + j;
            let t = j * k..(j + 1) * k;
            let (at, wt, dwx, dwy) = (&at[t.clone()], &wt[t.clone()], &dwx[t.clone()], &dwy[t]);
            let (mut sx, mut sy) = (T::default(), T::default());
            for (ch, (plane, gplane)) in planes.chunks_exact(hw).zip(gi.chunks_exact_mut(hw)).enumerate() {
                let gv = gout[ch * g.p + q];
                for (((&a, &w), &dx), &dy) in at.iter().zip(wt).zip(dwx).zip(dwy) {
                    let v = plane[a] * gv;
                    sx = sx + v * dx;
                    sy = sy + v * dy;
                    gplane[a] = gplane[a] + w * gv;
                }
            }
            d[0] = sx;
            d[1] = sy;
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
