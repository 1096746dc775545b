//! The time loops of the fused recurrent layers: forward and backward over every step, one
//! task per block of batch rows.
//!
//! Batch rows are independent in a recurrence: row `b` of `h_t` reads only row `b` of `h_{t-1}`
//! (and of `c_{t-1}`), never another row. So rather than splitting each step's small GEMM
//! across threads (a fork and a join per step, while the gate loop between them ran on one
//! core), each thread takes blocks of rows and runs every step for them alone; what the blocks
//! share is read-only (the packed weights, the input projection). LSTM forward at 2 threads,
//! batch 32: 49 -> 38 ms (PyTorch/oneDNN: 34).
//!
//! Layout: the per-step buffers (`[T, N, X]` in the caller's order) are kept *block-major*.
//! Block `j` (rows `r0 .. r0 + R`) owns the contiguous range `[r0 * T * X, (r0 + R) * T * X)`
//! and, inside it, row `(t, b)` sits at `(t * R + b - r0) * X`. Each block's writes are then one
//! slice that can be handed to a thread, and the weight-gradient GEMMs, which sum over all
//! rows, do not mind the order as long as both operands share it. With one block the layout is
//! the caller's. States (`h`, `c: [N, X]`) are block-contiguous in the caller's order already.

use super::{mat, mm, recycle, Dims, RnnFloat, RnnMode, Saved};
use crate::storage::pool;
use ember_kernels::threads;

/// How the batch rows are cut into blocks: `count` blocks of `per` rows (the last may be short).
#[derive(Clone, Copy, Debug)]
pub(super) struct Blocks {
    n: usize,
    per: usize,
    count: usize,
}

impl Blocks {
    /// Blocks of at most 16 rows, as even as possible: wide enough that each step's GEMM
    /// reuses every weight panel it streams across two AVX-512 tiles of rows (blocks of 8 were
    /// 10% slower; blocks of 16 beat one block of 32 even on one thread, as a block's states
    /// stay in cache). The cut depends on `n` alone, never on the thread count, so results are
    /// the same at any number of threads.
    pub(super) fn new(n: usize) -> Blocks {
        let count = n.div_ceil(16).max(1);
        let per = n.div_ceil(count).max(1);
        Blocks { n, per, count: n.div_ceil(per).max(1) }
    }

    /// For a forward that keeps nothing for backward: one block per thread (of at least 16
    /// rows), so each step streams the weight panels once per thread rather than once per 16
    /// rows. On an Intel Xeon, whose L3 feeds one core slowly, the 2-layer LSTM of issue 15
    /// took 119 instead of 134 ms at one thread in one block of 32. Each row's arithmetic does
    /// not depend on the cut, so the outputs equal those of [`Blocks::new`]'s cut exactly.
    pub(super) fn inference(n: usize) -> Blocks {
        let per = n.div_ceil(threads::num_threads()).max(16).min(n).max(1);
        Blocks { n, per, count: n.div_ceil(per).max(1) }
    }

    fn r0(&self, j: usize) -> usize {
        j * self.per
    }

    fn rows(&self, j: usize) -> usize {
        self.per.min(self.n - self.r0(j))
    }

    /// Threads each block's own products may use: the threads left over when there are fewer
    /// blocks than threads (all of them for one block).
    fn inner_threads(&self) -> usize {
        (threads::num_threads() / self.count).max(1)
    }

    /// `src [steps * N, x]` reordered between the caller's row order and block-major
    /// (`to_blocks`), into a pooled buffer; unchanged with one block.
    pub(super) fn permute<T: Copy + crate::dtype::Element>(
        &self,
        src: Vec<T>,
        steps: usize,
        x: usize,
        to_blocks: bool,
    ) -> Vec<T> {
        if self.count == 1 || src.is_empty() {
            return src;
        }
        let mut dst = pool::take::<T>(src.len());
        for j in 0..self.count {
            let (r0, rows) = (self.r0(j), self.rows(j));
            for t in 0..steps {
                let caller = (t * self.n + r0) * x..(t * self.n + r0 + rows) * x;
                let blocked = (r0 * steps + t * rows) * x..(r0 * steps + (t + 1) * rows) * x;
                if to_blocks {
                    dst[blocked].copy_from_slice(&src[caller]);
                } else {
                    dst[caller].copy_from_slice(&src[blocked]);
                }
            }
        }
        recycle(src);
        dst
    }

    /// `buf` cut into each block's range of `row_len` elements per batch row (an empty buffer
    /// gives empty slices).
    fn split<'a, T>(&self, mut buf: &'a mut [T], row_len: usize) -> Vec<&'a mut [T]> {
        (0..self.count)
            .map(|j| {
                let len = (self.rows(j) * row_len).min(buf.len());
                let (mine, rest) = std::mem::take(&mut buf).split_at_mut(len);
                buf = rest;
                mine
            })
            .collect()
    }

    /// Runs `f` on every block's state, in parallel when there are several.
    fn run<S: Send>(&self, states: &mut [S], f: impl Fn(&mut S) + Sync) {
        threads::for_each_block_mut(states, 1, |_, s| f(&mut s[0]));
    }
}

/// Rows of block `(r0, rows)` still running at step `t` (packed sequences end rows early; the
/// rows are sorted by length, longest first).
fn active(batch_sizes: Option<&[usize]>, n: usize, t: usize, r0: usize, rows: usize) -> usize {
    batch_sizes.map_or(n, |b| b[t]).saturating_sub(r0).min(rows)
}

/// What every block of the forward pass reads.
pub(super) struct FwdCtx<'a, T: RnnFloat> {
    pub mode: RnnMode,
    pub d: Dims,
    pub reverse: bool,
    pub blocks: Blocks,
    /// `X W_ih^T [T*N, G]`, block-major, without biases.
    pub gx: &'a [T],
    /// `b_ih + b_hh` (`b_ih` alone for the GRU), zeros without biases `[G]`.
    pub bias: &'a [T],
    /// The GRU's `b_hh`, added to `W_hh h` before the `r` gate scales its `n` part.
    pub gru_b_hh: Option<&'a [T]>,
    pub w_hh_t: &'a T::Packed,
    pub w_hr_t: Option<&'a T::Packed>,
    pub batch_sizes: Option<&'a [usize]>,
    /// Keep every step's activations for backward (else one step's worth, overwritten).
    pub save: bool,
}

/// One block's slices of the forward buffers.
struct FwdBlock<'a, T> {
    j: usize,
    /// `h` and `c` `[R, P]` / `[R, H]`: the initial state in, the final state out.
    h: &'a mut [T],
    c: &'a mut [T],
    h_prev: &'a mut [T],
    act: &'a mut [T],
    c_prev: &'a mut [T],
    tanh_c: &'a mut [T],
    h_raw: &'a mut [T],
    gh_n: &'a mut [T],
    /// Every step's output `[T, R, P]` (ended rows 0).
    out: &'a mut [T],
}

/// Runs the forward loop of every block: fills `sv`'s saved buffers (block-major), `out`
/// `[T*N, P]` (block-major) and the final states `h [N, P]`, `c [N, H]` (caller's order).
pub(super) fn forward_all<T: RnnFloat>(cx: &FwdCtx<T>, sv: &mut Saved<T>, h: &mut [T], c: &mut [T], out: &mut [T]) {
    let Dims { t: steps, h: hs, p, g, .. } = cx.d;
    let b = &cx.blocks;
    let kept = if cx.save { steps } else { 1 };
    let mut states: Vec<FwdBlock<T>> = b
        .split(h, p)
        .into_iter()
        .zip(b.split(c, hs))
        .zip(b.split(&mut sv.h_prev, kept * p))
        .zip(b.split(&mut sv.act, kept * g))
        .zip(b.split(&mut sv.c_prev, kept * hs))
        .zip(b.split(&mut sv.tanh_c, kept * hs))
        .zip(b.split(&mut sv.h_raw, kept * hs))
        .zip(b.split(&mut sv.gh_n, kept * hs))
        .zip(b.split(out, steps * p))
        .enumerate()
        .map(|(j, ((((((((h, c), h_prev), act), c_prev), tanh_c), h_raw), gh_n), out))| FwdBlock {
            j,
            h,
            c,
            h_prev,
            act,
            c_prev,
            tanh_c,
            h_raw,
            gh_n,
            out,
        })
        .collect();
    b.run(&mut states, |s| forward_block(cx, s));
}

fn forward_block<T: RnnFloat>(cx: &FwdCtx<T>, s: &mut FwdBlock<T>) {
    let Dims { t: steps, n, h, p, g, .. } = cx.d;
    let (zero, one) = (T::of(0.0), T::of(1.0));
    let (r0, rows) = (cx.blocks.r0(s.j), cx.blocks.rows(s.j));
    let threads = cx.blocks.inner_threads();
    let gx = &cx.gx[r0 * steps * g..(r0 + rows) * steps * g];
    let mut gh = vec![zero; rows * g];
    let mut pre = vec![zero; g];
    let mut hraw = vec![zero; rows * h];
    for step in 0..steps {
        let t = if cx.reverse { steps - 1 - step } else { step };
        // Offsets of step t in this block: `t` for the input and output, `ts` for what is kept
        // (every step for backward, else slot 0).
        let ts = if cx.save { t } else { 0 };
        let (xg, sg, sh, sp) = (t * rows * g, ts * rows * g, ts * rows * h, ts * rows * p);
        let nb = active(cx.batch_sizes, n, t, r0, rows);
        s.h_prev[sp..sp + rows * p].copy_from_slice(s.h);
        // gh [nb, G] = h W_hh^T: the one GEMM per step.
        T::mm_packed(&mut gh, nb, s.h, cx.w_hh_t, threads);
        for b in 0..nb {
            let gxr = &gx[xg + b * g..xg + (b + 1) * g];
            let ghr = &mut gh[b * g..(b + 1) * g];
            let act = &mut s.act[sg + b * g..sg + (b + 1) * g];
            match cx.mode {
                RnnMode::Lstm => {
                    for (((q, &a), &c), &bias) in pre.iter_mut().zip(gxr).zip(ghr.iter()).zip(cx.bias) {
                        *q = a + c + bias;
                    }
                    T::sigmoid_into(&pre[..2 * h], &mut act[..2 * h]);
                    T::tanh_into(&pre[2 * h..3 * h], &mut act[2 * h..3 * h]);
                    T::sigmoid_into(&pre[3 * h..], &mut act[3 * h..]);
                    let cp = &mut s.c[b * h..(b + 1) * h];
                    s.c_prev[sh + b * h..sh + (b + 1) * h].copy_from_slice(cp);
                    for k in 0..h {
                        cp[k] = act[h + k] * cp[k] + act[k] * act[2 * h + k];
                    }
                    let tc = &mut s.tanh_c[sh + b * h..sh + (b + 1) * h];
                    T::tanh_into(cp, tc);
                    let hr = &mut hraw[b * h..(b + 1) * h];
                    for k in 0..h {
                        hr[k] = act[3 * h + k] * tc[k];
                    }
                }
                RnnMode::Gru => {
                    if let Some(bh) = cx.gru_b_hh {
                        for (q, &v) in ghr.iter_mut().zip(bh) {
                            *q = *q + v;
                        }
                    }
                    for k in 0..2 * h {
                        pre[k] = gxr[k] + cx.bias[k] + ghr[k];
                    }
                    T::sigmoid_into(&pre[..2 * h], &mut act[..2 * h]);
                    for k in 0..h {
                        pre[2 * h + k] = gxr[2 * h + k] + cx.bias[2 * h + k] + act[k] * ghr[2 * h + k];
                    }
                    T::tanh_into(&pre[2 * h..], &mut act[2 * h..]);
                    s.gh_n[sh + b * h..sh + (b + 1) * h].copy_from_slice(&ghr[2 * h..]);
                    let hp = &mut s.h[b * h..(b + 1) * h];
                    for k in 0..h {
                        let z = act[h + k];
                        hp[k] = (one - z) * act[2 * h + k] + z * hp[k];
                    }
                }
                RnnMode::RnnTanh | RnnMode::RnnRelu => {
                    for (((q, &a), &c), &bias) in pre.iter_mut().zip(gxr).zip(ghr.iter()).zip(cx.bias) {
                        *q = a + c + bias;
                    }
                    if cx.mode == RnnMode::RnnTanh {
                        T::tanh_into(&pre, act);
                    } else {
                        for (o, &v) in act.iter_mut().zip(&pre) {
                            *o = if v > zero { v } else { zero };
                        }
                    }
                    s.h[b * h..(b + 1) * h].copy_from_slice(act);
                }
            }
        }
        if cx.mode == RnnMode::Lstm {
            match cx.w_hr_t {
                // h [nb, P] = h_raw W_hr^T
                Some(whr_t) => {
                    T::mm_packed(s.h, nb, &hraw, whr_t, threads);
                    s.h_raw[sh..sh + nb * h].copy_from_slice(&hraw[..nb * h]);
                    // Ended rows meet zero gradients in W_hr's GEMM: they must not be NaN.
                    s.h_raw[sh + nb * h..sh + rows * h].fill(zero);
                }
                None => s.h[..nb * h].copy_from_slice(&hraw[..nb * h]),
            }
        }
        // Rows past `nb` have ended: their h stays, their output is 0.
        let xp = t * rows * p;
        s.out[xp..xp + nb * p].copy_from_slice(&s.h[..nb * p]);
        s.out[xp + nb * p..xp + rows * p].fill(zero);
    }
}

/// A block's `range` of a saved buffer that the mode may not have (then empty).
fn own<T>(v: &[T], range: std::ops::Range<usize>) -> &[T] {
    if v.is_empty() {
        &[]
    } else {
        &v[range]
    }
}

/// What every block of the backward pass reads.
pub(super) struct BwdCtx<'a, T: RnnFloat> {
    pub sv: &'a Saved<T>,
    /// `[d output [T, N, P] (caller's order) | d h_n | d c_n]`.
    pub gpacked: &'a [T],
    /// `W_hh [G, P]` and `W_hr [P, H]`, packed.
    pub w_hh: &'a T::Packed,
    pub w_hr: Option<&'a T::Packed>,
}

/// One block's slices of the backward buffers.
struct BwdBlock<'a, T> {
    j: usize,
    /// `dh [R, P]` and `dc [R, H]`: the gradients of the final states in, of the initial out.
    dh: &'a mut [T],
    dc: &'a mut [T],
    /// Gradients of the pre-activations `[T, R, G]` (ended rows 0): `dgx` feeds `W_ih`, `x` and
    /// `b_ih`; `dgh` (GRU only) feeds `W_hh`, `h` and `b_hh`.
    dgx: &'a mut [T],
    dgh: &'a mut [T],
    /// With projections: `dh` at every step `[T, R, P]`, for `W_hr`'s gradient.
    dh_all: &'a mut [T],
}

/// Runs the backward loop of every block, filling the block-major `dgx`, `dgh`, `dh_all` and
/// turning `dh`, `dc` (caller's order) from the final states' gradients into the initial ones'.
pub(super) fn backward_all<T: RnnFloat>(
    cx: &BwdCtx<T>,
    dh: &mut [T],
    dc: &mut [T],
    dgx: &mut [T],
    dgh: &mut [T],
    dh_all: &mut [T],
) {
    let Dims { t: steps, h, p, g, .. } = cx.sv.d;
    let b = &cx.sv.blocks;
    let mut states: Vec<BwdBlock<T>> = b
        .split(dh, p)
        .into_iter()
        .zip(b.split(dc, h))
        .zip(b.split(dgx, steps * g))
        .zip(b.split(dgh, steps * g))
        .zip(b.split(dh_all, steps * p))
        .enumerate()
        .map(|(j, ((((dh, dc), dgx), dgh), dh_all))| BwdBlock { j, dh, dc, dgx, dgh, dh_all })
        .collect();
    b.run(&mut states, |s| backward_block(cx, s));
}

fn backward_block<T: RnnFloat>(cx: &BwdCtx<T>, s: &mut BwdBlock<T>) {
    let sv = cx.sv;
    let Dims { t: steps, n, h, p, g, .. } = sv.d;
    let (zero, one) = (T::of(0.0), T::of(1.0));
    let (r0, rows) = (sv.blocks.r0(s.j), sv.blocks.rows(s.j));
    let threads = sv.blocks.inner_threads();
    let lstm = sv.mode == RnnMode::Lstm;
    let gru = sv.mode == RnnMode::Gru;
    // This block's range of each saved buffer.
    let act = &sv.act[r0 * steps * g..(r0 + rows) * steps * g];
    let h_prev = &sv.h_prev[r0 * steps * p..(r0 + rows) * steps * p];
    let range = r0 * steps * h..(r0 + rows) * steps * h;
    let (c_prev, tanh_c, gh_n) = (own(&sv.c_prev, range.clone()), own(&sv.tanh_c, range.clone()), own(&sv.gh_n, range));
    let mut dhraw = vec![zero; rows * h];
    let mut dh_next = vec![zero; rows * p];
    for step in (0..steps).rev() {
        let t = if sv.reverse { steps - 1 - step } else { step };
        let (rg, rh, rp) = (t * rows * g, t * rows * h, t * rows * p);
        let nb = active(sv.batch_sizes.as_deref(), n, t, r0, rows);
        let gout = &cx.gpacked[(t * n + r0) * p..(t * n + r0 + nb) * p];
        for (a, &b) in s.dh[..nb * p].iter_mut().zip(gout) {
            *a = *a + b;
        }
        match cx.w_hr {
            Some(whr) if lstm => {
                s.dh_all[rp..rp + nb * p].copy_from_slice(&s.dh[..nb * p]);
                s.dh_all[rp + nb * p..rp + rows * p].fill(zero);
                // dh_raw [nb, H] = dh [nb, P] W_hr [P, H]
                T::mm_packed(&mut dhraw, nb, s.dh, whr, threads);
            }
            _ if lstm => dhraw.copy_from_slice(s.dh),
            _ => {}
        }
        for b in 0..nb {
            let act = &act[rg + b * g..rg + (b + 1) * g];
            let dg = &mut s.dgx[rg + b * g..rg + (b + 1) * g];
            match sv.mode {
                RnnMode::Lstm => {
                    let tc = &tanh_c[rh + b * h..rh + (b + 1) * h];
                    let cp = &c_prev[rh + b * h..rh + (b + 1) * h];
                    let dhr = &dhraw[b * h..(b + 1) * h];
                    let dcb = &mut s.dc[b * h..(b + 1) * h];
                    for k in 0..h {
                        let (ig, fg, gg, og) = (act[k], act[h + k], act[2 * h + k], act[3 * h + k]);
                        let dct = dcb[k] + dhr[k] * og * (one - tc[k] * tc[k]);
                        dg[k] = dct * gg * ig * (one - ig);
                        dg[h + k] = dct * cp[k] * fg * (one - fg);
                        dg[2 * h + k] = dct * ig * (one - gg * gg);
                        dg[3 * h + k] = dhr[k] * tc[k] * og * (one - og);
                        dcb[k] = dct * fg;
                    }
                }
                RnnMode::Gru => {
                    let hp = &h_prev[rp + b * p..rp + (b + 1) * p];
                    let ghn = &gh_n[rh + b * h..rh + (b + 1) * h];
                    let dgr = &mut s.dgh[rg + b * g..rg + (b + 1) * g];
                    let dhb = &s.dh[b * h..(b + 1) * h];
                    for k in 0..h {
                        let (r, z, nn) = (act[k], act[h + k], act[2 * h + k]);
                        let dpn = dhb[k] * (one - z) * (one - nn * nn);
                        let dpr = dpn * ghn[k] * r * (one - r);
                        let dpz = dhb[k] * (hp[k] - nn) * z * (one - z);
                        dg[k] = dpr;
                        dg[h + k] = dpz;
                        dg[2 * h + k] = dpn;
                        dgr[k] = dpr;
                        dgr[h + k] = dpz;
                        dgr[2 * h + k] = dpn * r;
                    }
                }
                RnnMode::RnnTanh => {
                    for k in 0..h {
                        dg[k] = s.dh[b * h + k] * (one - act[k] * act[k]);
                    }
                }
                RnnMode::RnnRelu => {
                    for k in 0..h {
                        dg[k] = if act[k] > zero { s.dh[b * h + k] } else { zero };
                    }
                }
            }
        }
        // Ended rows contribute nothing to the weight gradients summed over all rows.
        s.dgx[rg + nb * g..rg + rows * g].fill(zero);
        if gru {
            s.dgh[rg + nb * g..rg + rows * g].fill(zero);
        }
        // dh_prev [nb, P] = dgh [nb, G] W_hh [G, P] (+ z * dh for the GRU's direct path);
        // ended rows carry their gradient through unchanged.
        let dgh_t = if gru { &s.dgh[rg..rg + nb * g] } else { &s.dgx[rg..rg + nb * g] };
        T::mm_packed(&mut dh_next, nb, dgh_t, cx.w_hh, threads);
        if gru {
            for (k, v) in dh_next[..nb * p].iter_mut().enumerate() {
                *v = *v + s.dh[k] * act[rg + (k / h) * g + h + k % h];
            }
        }
        dh_next[nb * p..].copy_from_slice(&s.dh[nb * p..]);
        s.dh.copy_from_slice(&dh_next);
    }
}

/// The weight and input gradients from the block-major pre-activation gradients: one GEMM each
/// over all `T*N` rows. Returns `dx` in the caller's order.
pub(super) fn input_gradient<T: RnnFloat>(sv: &Saved<T>, dgx: &[T]) -> Vec<T> {
    let Dims { t: steps, n, i, g, .. } = sv.d;
    let mut dx = pool::take::<T>(steps * n * i);
    mm(&mut dx, steps * n, i, g, mat(dgx, 0, g, false), mat(&sv.w_ih, 0, i, false), false);
    sv.blocks.permute(dx, steps, i, false)
}
