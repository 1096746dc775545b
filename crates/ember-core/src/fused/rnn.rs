//! Fused recurrent layers: one layer, one direction, the whole sequence of an Elman RNN
//! (tanh or relu), an LSTM (optionally with a projection, `proj_size`) or a GRU, recorded as
//! ONE autograd node.
//!
//! The forward pass does what cuDNN and oneDNN do: the input projection of every time step is
//! one GEMM (`[T*N, I] x [I, G]`), and each step is one GEMM (`h [N, P] x W_hh^T [P, G]`) plus a
//! fused gate kernel over `[N, G]`. The backward pass walks time in reverse with the same
//! shape of work (one GEMM `dgates [N, G] x W_hh [G, P]` and the gate kernel's derivative per
//! step) and then forms every weight gradient as one GEMM over all steps (`dW_hh = dGates^T
//! H_prev`, `dW_ih = dGates^T X`), instead of the per-step accumulations a graph of small ops
//! would make.
//!
//! Gate layout and formulas are PyTorch's (`torch.nn.LSTM` docs): LSTM rows `[i, f, g, o]`,
//! GRU rows `[r, z, n]` with `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`.
//!
//! Notation: `T` steps, `N` batch, `I` input size, `H` hidden size, `P` the size of `h` (`H`,
//! or `proj_size`), `G = gates * H`.

use crate::backend::cpu::map::Float;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::storage::pool;
use crate::{DType, Tensor};
use ember_kernels::gemm::{matmul as gemm, GemmElem, MatMut, MatRef};
use ember_kernels::packed_gemm::{matmul_packed, PackedRhs};
use ember_kernels::{threads, vmath};
use std::sync::Arc;

/// Which recurrence [`rnn_layer`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnMode {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnTanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnRelu,
    /// Long short-term memory (gates `i, f, g, o`).
    Lstm,
    /// Gated recurrent unit (gates `r, z, n`).
    Gru,
}

impl RnnMode {
    /// Gate blocks per hidden unit: the rows of `weight_ih` are `gates() * hidden_size`.
    pub fn gates(self) -> usize {
        match self {
            RnnMode::Lstm => 4,
            RnnMode::Gru => 3,
            RnnMode::RnnTanh | RnnMode::RnnRelu => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RnnMode::Lstm => "lstm",
            RnnMode::Gru => "gru",
            RnnMode::RnnTanh | RnnMode::RnnRelu => "rnn",
        }
    }
}

/// One layer-direction's weights, with PyTorch's shapes: `w_ih [G, I]`, `w_hh [G, P]`,
/// `b_ih`/`b_hh [G]`, and for an LSTM with projections `w_hr [P, H]`.
#[derive(Clone, Copy, Debug)]
pub struct RnnWeights<'a> {
    pub w_ih: &'a Tensor,
    pub w_hh: &'a Tensor,
    pub b_ih: Option<&'a Tensor>,
    pub b_hh: Option<&'a Tensor>,
    pub w_hr: Option<&'a Tensor>,
}

/// What [`rnn_layer`] returns: `output [T, N, P]` (every step's `h`), the last `h_n [N, P]`
/// and, for an LSTM, the last cell state `c_n [N, H]`.
#[derive(Clone, Debug)]
pub struct RnnLayerOutput {
    pub output: Tensor,
    pub h_n: Tensor,
    pub c_n: Option<Tensor>,
}

/// Sizes of one layer-direction.
#[derive(Clone, Copy, Debug)]
struct Dims {
    t: usize,
    n: usize,
    i: usize,
    h: usize,
    p: usize,
    g: usize,
}

/// The element types the fused layer computes in, with row activations (SIMD for f32).
trait RnnFloat: Float + GemmElem {
    /// A right-hand side prepared for many products (the per-step weights).
    type Packed: Send + Sync;
    fn sigmoid_into(x: &[Self], out: &mut [Self]);
    fn tanh_into(x: &[Self], out: &mut [Self]);
    /// Prepares `b [k, n]`, row-major or (`transposed`) the transpose of a row-major `[n, k]`.
    fn pack(b: &[Self], k: usize, n: usize, transposed: bool) -> Self::Packed;
    /// `dst [m, n] = a [m, k] b`.
    fn mm_packed(dst: &mut [Self], m: usize, a: &[Self], b: &Self::Packed);
}

impl RnnFloat for f32 {
    type Packed = PackedRhs;
    fn pack(b: &[f32], k: usize, n: usize, transposed: bool) -> PackedRhs {
        if transposed {
            PackedRhs::new(b, 0, 1, k, k, n)
        } else {
            PackedRhs::new(b, 0, n, 1, k, n)
        }
    }
    fn mm_packed(dst: &mut [f32], m: usize, a: &[f32], b: &PackedRhs) {
        matmul_packed(m, a, b.k(), b, dst, b.n(), false)
    }
    fn sigmoid_into(x: &[f32], out: &mut [f32]) {
        vmath::sigmoid(x, out)
    }
    fn tanh_into(x: &[f32], out: &mut [f32]) {
        vmath::tanh(x, out)
    }
}

impl RnnFloat for f64 {
    type Packed = (Vec<f64>, usize, usize, bool);
    fn pack(b: &[f64], k: usize, n: usize, transposed: bool) -> Self::Packed {
        (b.to_vec(), k, n, transposed)
    }
    fn mm_packed(dst: &mut [f64], m: usize, a: &[f64], b: &Self::Packed) {
        let (w, k, n, t) = (&b.0, b.1, b.2, b.3);
        mm(&mut dst[..m * n], m, n, k, mat(a, 0, k, false), mat(w, 0, if t { k } else { n }, t), false)
    }
    fn sigmoid_into(x: &[f64], out: &mut [f64]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = 1.0 / (1.0 + (-v).exp());
        }
    }
    fn tanh_into(x: &[f64], out: &mut [f64]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v.tanh();
        }
    }
}

/// A row-major `[rows, cols]` matrix at `off` in `data`, or its transpose.
fn mat<T>(data: &[T], off: usize, cols: usize, transposed: bool) -> MatRef<'_, T> {
    if transposed {
        MatRef { data, offset: off, rs: 1, cs: cols }
    } else {
        MatRef { data, offset: off, rs: cols, cs: 1 }
    }
}

/// `dst [m, n] (+)= a [m, k] b [k, n]` on row-major buffers (`a`/`b` possibly transposed views).
#[allow(clippy::too_many_arguments)]
fn mm<T: GemmElem>(dst: &mut [T], m: usize, n: usize, k: usize, a: MatRef<'_, T>, b: MatRef<'_, T>, acc: bool) {
    if m * n == 0 {
        return;
    }
    gemm(m, n, k, MatMut { data: dst, offset: 0, rs: n, cs: 1 }, a, b, acc, threads::num_threads());
}

/// Column sums of a row-major `[rows, cols]` buffer.
fn col_sums<T: Float>(x: &[T], cols: usize) -> Vec<T> {
    let mut s = vec![T::of(0.0); cols];
    for row in x.chunks(cols) {
        for (a, &b) in s.iter_mut().zip(row) {
            *a = *a + b;
        }
    }
    s
}

/// A zeroed buffer from the pool: the per-call activations are megabytes, and fresh ones fault
/// their pages in on every call (at 2 threads each unmap also interrupts the other core).
fn zeroed<T: Element>(n: usize) -> Vec<T> {
    pool::take_zeroed::<T>(n)
}

/// Everything the backward pass reads, indexed by time step `t` (not processing order).
struct Saved<T: Element> {
    mode: RnnMode,
    d: Dims,
    reverse: bool,
    x: Vec<T>,
    w_ih: Vec<T>,
    w_hh: Vec<T>,
    w_hr: Option<Vec<T>>,
    /// `h` entering each step `[T*N, P]`.
    h_prev: Vec<T>,
    /// Activated gates `[T*N, G]` (LSTM `i f g o`, GRU `r z n`, RNN `h'`).
    act: Vec<T>,
    /// LSTM: the cell state entering each step and `tanh(c')` `[T*N, H]`; with projections,
    /// the unprojected `o * tanh(c')`.
    c_prev: Vec<T>,
    tanh_c: Vec<T>,
    h_raw: Vec<T>,
    /// GRU: `W_hn h + b_hn` `[T*N, H]` (the `r`-gated part of `n`).
    gh_n: Vec<T>,
    has_b_ih: bool,
    has_b_hh: bool,
    /// Packed sequences: rows active at each step (non-increasing); `None` = all `N`.
    batch_sizes: Option<Vec<usize>>,
}

impl<T: Element> Drop for Saved<T> {
    /// The activations go back to the pool when the graph is freed.
    fn drop(&mut self) {
        for v in [
            &mut self.x,
            &mut self.h_prev,
            &mut self.act,
            &mut self.c_prev,
            &mut self.tanh_c,
            &mut self.h_raw,
            &mut self.gh_n,
        ] {
            let v = std::mem::take(v);
            if !v.is_empty() {
                pool::give(T::into_storage(v));
            }
        }
    }
}

impl<T: Element> Saved<T> {
    fn active(&self, t: usize) -> usize {
        self.batch_sizes.as_ref().map_or(self.d.n, |b| b[t])
    }
}

/// The forward pass: returns the packed `[output | h_n | c_n]` and what backward needs.
fn forward<T: RnnFloat>(
    mode: RnnMode,
    d: Dims,
    reverse: bool,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Vec<T>,
    w: [Option<Vec<T>>; 5],
    batch_sizes: Option<Vec<usize>>,
) -> (Vec<T>, Saved<T>) {
    let [w_ih, w_hh, b_ih, b_hh, w_hr] = w;
    let (w_ih, w_hh) = (w_ih.unwrap_or_default(), w_hh.unwrap_or_default());
    let Dims { t: steps, n, i, h, p, g } = d;
    let zero = T::of(0.0);
    let one = T::of(1.0);
    // Input projection of every step at once: gx [T*N, G] = X W_ih^T + b_ih (+ b_hh, except for
    // the GRU, whose n gate needs W_hn h + b_hn on its own).
    let mut gx = zeroed::<T>(steps * n * g);
    mm(&mut gx, steps * n, g, i, mat(&x, 0, i, false), mat(&w_ih, 0, i, true), false);
    let w_hh_t = T::pack(&w_hh, p, g, true); // W_hh^T [P, G]
    let w_hr_t = w_hr.as_ref().map(|w| T::pack(w, h, p, true)); // W_hr^T [H, P]
    let hh_in_gx = if mode == RnnMode::Gru { None } else { b_hh.as_ref() };
    let biases: Vec<&Vec<T>> = [b_ih.as_ref(), hh_in_gx].into_iter().flatten().collect();
    if !biases.is_empty() {
        let mut bias = vec![zero; g];
        for b in biases {
            for (a, &v) in bias.iter_mut().zip(b) {
                *a = *a + v;
            }
        }
        for row in gx.chunks_mut(g) {
            for (a, &v) in row.iter_mut().zip(&bias) {
                *a = *a + v;
            }
        }
    }
    let lstm = mode == RnnMode::Lstm;
    let gru = mode == RnnMode::Gru;
    let mut out = zeroed::<T>(steps * n * p + n * p + if lstm { n * h } else { 0 });
    let mut sv = Saved {
        mode,
        d,
        reverse,
        h_prev: zeroed(steps * n * p),
        act: zeroed(steps * n * g),
        c_prev: if lstm { zeroed(steps * n * h) } else { Vec::new() },
        tanh_c: if lstm { zeroed(steps * n * h) } else { Vec::new() },
        h_raw: if w_hr.is_some() { zeroed(steps * n * h) } else { Vec::new() },
        gh_n: if gru { zeroed(steps * n * h) } else { Vec::new() },
        has_b_ih: b_ih.is_some(),
        has_b_hh: b_hh.is_some(),
        batch_sizes,
        x,
        w_ih,
        w_hh,
        w_hr,
    };
    let (mut hcur, mut ccur) = (h0, c0);
    let mut gh = vec![zero; n * g];
    let mut pre = vec![zero; g];
    let mut hraw = vec![zero; n * h];
    for s in 0..steps {
        let t = if reverse { steps - 1 - s } else { s };
        let (r0, rh) = (t * n * g, t * n * h);
        // Rows past `nb` have ended (packed sequences): their h stays, their output is 0.
        let nb = sv.active(t);
        sv.h_prev[t * n * p..(t + 1) * n * p].copy_from_slice(&hcur);
        // gh [nb, G] = h W_hh^T: the one GEMM per step.
        T::mm_packed(&mut gh, nb, &hcur, &w_hh_t);
        for b in 0..nb {
            let gxr = &gx[r0 + b * g..r0 + (b + 1) * g];
            let ghr = &mut gh[b * g..(b + 1) * g];
            let act = &mut sv.act[r0 + b * g..r0 + (b + 1) * g];
            match mode {
                RnnMode::Lstm => {
                    for ((q, &a), &c) in pre.iter_mut().zip(gxr).zip(ghr.iter()) {
                        *q = a + c;
                    }
                    T::sigmoid_into(&pre[..2 * h], &mut act[..2 * h]);
                    T::tanh_into(&pre[2 * h..3 * h], &mut act[2 * h..3 * h]);
                    T::sigmoid_into(&pre[3 * h..], &mut act[3 * h..]);
                    let cp = &mut ccur[b * h..(b + 1) * h];
                    sv.c_prev[rh + b * h..rh + (b + 1) * h].copy_from_slice(cp);
                    for k in 0..h {
                        cp[k] = act[h + k] * cp[k] + act[k] * act[2 * h + k];
                    }
                    let tc = &mut sv.tanh_c[rh + b * h..rh + (b + 1) * h];
                    T::tanh_into(cp, tc);
                    let hr = &mut hraw[b * h..(b + 1) * h];
                    for k in 0..h {
                        hr[k] = act[3 * h + k] * tc[k];
                    }
                }
                RnnMode::Gru => {
                    if let Some(bh) = &b_hh {
                        for (q, &v) in ghr.iter_mut().zip(bh) {
                            *q = *q + v;
                        }
                    }
                    for k in 0..2 * h {
                        pre[k] = gxr[k] + ghr[k];
                    }
                    T::sigmoid_into(&pre[..2 * h], &mut act[..2 * h]);
                    for k in 0..h {
                        pre[2 * h + k] = gxr[2 * h + k] + act[k] * ghr[2 * h + k];
                    }
                    T::tanh_into(&pre[2 * h..], &mut act[2 * h..]);
                    sv.gh_n[rh + b * h..rh + (b + 1) * h].copy_from_slice(&ghr[2 * h..]);
                    let hp = &mut hcur[b * h..(b + 1) * h];
                    for k in 0..h {
                        let z = act[h + k];
                        hp[k] = (one - z) * act[2 * h + k] + z * hp[k];
                    }
                }
                RnnMode::RnnTanh | RnnMode::RnnRelu => {
                    for ((q, &a), &c) in pre.iter_mut().zip(gxr).zip(ghr.iter()) {
                        *q = a + c;
                    }
                    if mode == RnnMode::RnnTanh {
                        T::tanh_into(&pre, act);
                    } else {
                        for (o, &v) in act.iter_mut().zip(&pre) {
                            *o = if v > zero { v } else { zero };
                        }
                    }
                    hcur[b * h..(b + 1) * h].copy_from_slice(act);
                }
            }
        }
        if lstm {
            match &w_hr_t {
                // h [N, P] = h_raw W_hr^T
                Some(whr_t) => {
                    T::mm_packed(&mut hcur, nb, &hraw, whr_t);
                    sv.h_raw[rh..rh + nb * h].copy_from_slice(&hraw[..nb * h]);
                }
                None => hcur[..nb * h].copy_from_slice(&hraw[..nb * h]),
            }
        }
        out[t * n * p..t * n * p + nb * p].copy_from_slice(&hcur[..nb * p]);
    }
    let base = steps * n * p;
    out[base..base + n * p].copy_from_slice(&hcur);
    if lstm {
        out[base + n * p..].copy_from_slice(&ccur);
    }
    (out, sv)
}

/// The backward pass from the packed gradient `[d output | d h_n | d c_n]`: gradients of
/// `x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr` (absent inputs get `None`).
fn backward<T: RnnFloat>(sv: &Saved<T>, gpacked: &[T]) -> [Option<Vec<T>>; 8] {
    let Dims { t: steps, n, i, h, p, g } = sv.d;
    let zero = T::of(0.0);
    let one = T::of(1.0);
    let lstm = sv.mode == RnnMode::Lstm;
    let gru = sv.mode == RnnMode::Gru;
    let base = steps * n * p;
    let mut dh = gpacked[base..base + n * p].to_vec();
    let mut dc = if lstm { gpacked[base + n * p..base + n * p + n * h].to_vec() } else { Vec::new() };
    // Gradients of the pre-activations: dgx feeds W_ih, X and b_ih; dgh feeds W_hh, h and b_hh
    // (they differ only in the GRU's n gate).
    let mut dgx = zeroed::<T>(steps * n * g);
    let mut dgh = if gru { zeroed::<T>(steps * n * g) } else { Vec::new() };
    let mut dh_all = if sv.w_hr.is_some() { zeroed::<T>(steps * n * p) } else { Vec::new() };
    let mut dhraw = vec![zero; n * h];
    let mut dh_next = vec![zero; n * p];
    let w_hh = T::pack(&sv.w_hh, g, p, false); // [G, P]
    let w_hr = sv.w_hr.as_ref().map(|w| T::pack(w, p, h, false)); // [P, H]
    for s in (0..steps).rev() {
        let t = if sv.reverse { steps - 1 - s } else { s };
        let (r0, rh, rp) = (t * n * g, t * n * h, t * n * p);
        let nb = sv.active(t);
        for (a, &b) in dh[..nb * p].iter_mut().zip(&gpacked[rp..rp + nb * p]) {
            *a = *a + b;
        }
        match &w_hr {
            Some(whr) if lstm => {
                dh_all[rp..rp + nb * p].copy_from_slice(&dh[..nb * p]);
                // dh_raw [nb, H] = dh [nb, P] W_hr [P, H]
                T::mm_packed(&mut dhraw, nb, &dh, whr);
            }
            _ if lstm => dhraw.copy_from_slice(&dh),
            _ => {}
        }
        for b in 0..nb {
            let act = &sv.act[r0 + b * g..r0 + (b + 1) * g];
            let dg = &mut dgx[r0 + b * g..r0 + (b + 1) * g];
            match sv.mode {
                RnnMode::Lstm => {
                    let tc = &sv.tanh_c[rh + b * h..rh + (b + 1) * h];
                    let cp = &sv.c_prev[rh + b * h..rh + (b + 1) * h];
                    let dhr = &dhraw[b * h..(b + 1) * h];
                    let dcb = &mut dc[b * h..(b + 1) * h];
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
                    let hp = &sv.h_prev[rp + b * p..rp + (b + 1) * p];
                    let ghn = &sv.gh_n[rh + b * h..rh + (b + 1) * h];
                    let dgr = &mut dgh[r0 + b * g..r0 + (b + 1) * g];
                    let dhb = &dh[b * h..(b + 1) * h];
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
                        dg[k] = dh[b * h + k] * (one - act[k] * act[k]);
                    }
                }
                RnnMode::RnnRelu => {
                    for k in 0..h {
                        dg[k] = if act[k] > zero { dh[b * h + k] } else { zero };
                    }
                }
            }
        }
        // dh_prev [nb, P] = dgh [nb, G] W_hh [G, P] (+ z * dh for the GRU's direct path);
        // ended rows carry their gradient through unchanged.
        let dgh_t = if gru { &dgh[r0..r0 + nb * g] } else { &dgx[r0..r0 + nb * g] };
        T::mm_packed(&mut dh_next, nb, dgh_t, &w_hh);
        if gru {
            for (k, v) in dh_next[..nb * p].iter_mut().enumerate() {
                *v = *v + dh[k] * sv.act[r0 + (k / h) * g + h + k % h];
            }
        }
        dh_next[nb * p..].copy_from_slice(&dh[nb * p..]);
        std::mem::swap(&mut dh, &mut dh_next);
    }
    let dgh_all = if gru { &dgh } else { &dgx };
    let tn = steps * n;
    // Weight gradients: one GEMM each over all T*N rows.
    let mut dw_ih = vec![zero; g * i];
    mm(&mut dw_ih, g, i, tn, mat(&dgx, 0, g, true), mat(&sv.x, 0, i, false), false);
    let mut dw_hh = vec![zero; g * p];
    mm(&mut dw_hh, g, p, tn, mat(dgh_all, 0, g, true), mat(&sv.h_prev, 0, p, false), false);
    let mut dx = zeroed::<T>(tn * i);
    mm(&mut dx, tn, i, g, mat(&dgx, 0, g, false), mat(&sv.w_ih, 0, i, false), false);
    let db_ih = sv.has_b_ih.then(|| col_sums(&dgx, g));
    let db_hh = sv.has_b_hh.then(|| col_sums(dgh_all, g));
    let dw_hr = sv.w_hr.as_ref().map(|_| {
        let mut d = vec![zero; p * h];
        mm(&mut d, p, h, tn, mat(&dh_all, 0, p, true), mat(&sv.h_raw, 0, h, false), false);
        d
    });
    [Some(dx), Some(dh), lstm.then_some(dc), Some(dw_ih), Some(dw_hh), db_ih, db_hh, dw_hr]
}

#[track_caller]
fn check(op: &'static str, t: &Tensor, shape: &[usize], what: &str) -> Result<()> {
    if t.shape() != shape {
        return Err(Error::shape(op, format!("expected {what} of shape {shape:?}, got {:?}", t.shape())));
    }
    Ok(())
}

/// Runs one layer in one direction over `x [T, N, I]` from `h0 [N, P]` (and, for an LSTM,
/// `c0 [N, H]`), as one recorded node. f32 and f64 compute natively; f16/bf16 in f32.
#[track_caller]
pub fn rnn_layer(
    mode: RnnMode,
    x: &Tensor,
    h0: &Tensor,
    c0: Option<&Tensor>,
    w: RnnWeights<'_>,
    reverse: bool,
    batch_sizes: Option<&[usize]>,
) -> Result<RnnLayerOutput> {
    let op = mode.name();
    if x.dim() != 3 || w.w_ih.dim() != 2 || w.w_hh.dim() != 2 {
        return Err(Error::shape(
            op,
            format!(
                "expected input [T, N, I] and 2-D weights, got input {:?}, weight_ih {:?}, weight_hh {:?}",
                x.shape(),
                w.w_ih.shape(),
                w.w_hh.shape()
            ),
        ));
    }
    let (steps, n, i) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let g = w.w_ih.shape()[0];
    if !g.is_multiple_of(mode.gates()) || g == 0 {
        return Err(Error::shape(
            op,
            format!("weight_ih {:?}: rows must be {} x hidden_size", w.w_ih.shape(), mode.gates()),
        ));
    }
    let h = g / mode.gates();
    if w.w_hr.is_some() && mode != RnnMode::Lstm {
        return Err(Error::value(op, "proj_size is only supported for LSTM"));
    }
    let p = w.w_hr.map_or(h, |r| r.shape()[0]);
    check(op, w.w_ih, &[g, i], "weight_ih")?;
    check(op, w.w_hh, &[g, p], "weight_hh")?;
    for b in [w.b_ih, w.b_hh].into_iter().flatten() {
        check(op, b, &[g], "bias")?;
    }
    if let Some(r) = w.w_hr {
        check(op, r, &[p, h], "weight_hr")?;
    }
    check(op, h0, &[n, p], "hx")?;
    match (mode, c0) {
        (RnnMode::Lstm, Some(c)) => check(op, c, &[n, h], "cx")?,
        (RnnMode::Lstm, None) => return Err(Error::value(op, "an LSTM needs an initial cell state")),
        (_, Some(_)) => return Err(Error::value(op, "only an LSTM has a cell state")),
        _ => {}
    }
    let dtype = x.dtype();
    if !dtype.is_float() {
        return Err(Error::dtype(op, format!("expected a floating-point input, got {dtype:?}")));
    }
    let all: Vec<Option<&Tensor>> = vec![Some(x), Some(h0), c0, Some(w.w_ih), Some(w.w_hh), w.b_ih, w.b_hh, w.w_hr];
    for t in all.iter().flatten() {
        if t.dtype() != dtype {
            return Err(Error::dtype(op, format!("input is {dtype:?} but a weight or state is {:?}", t.dtype())));
        }
    }
    if let Some(bs) = batch_sizes {
        if bs.len() != steps || bs.iter().any(|&b| b > n) || bs.windows(2).any(|w| w[1] > w[0]) {
            return Err(Error::value(
                op,
                format!("batch_sizes {bs:?} must have {steps} non-increasing entries of at most {n}"),
            ));
        }
    }
    let bs = batch_sizes.map(|b| b.to_vec());
    let d = Dims { t: steps, n, i, h, p, g };
    crate::storage::checked_numel(op, &[steps, n, g.max(i).max(p) * 4], dtype)?;
    match dtype {
        DType::F64 => run::<f64>(mode, d, reverse, &all, dtype, bs),
        _ => run::<f32>(mode, d, reverse, &all, dtype, bs),
    }
}

fn run<T: RnnFloat>(
    mode: RnnMode,
    d: Dims,
    reverse: bool,
    all: &[Option<&Tensor>],
    dtype: DType,
    batch_sizes: Option<Vec<usize>>,
) -> Result<RnnLayerOutput> {
    let vec_of = |t: Option<&Tensor>| -> Result<Option<Vec<T>>> {
        t.map(|t| t.detach().to_dtype(T::DTYPE)?.contiguous()?.to_vec::<T>()).transpose()
    };
    let x = vec_of(all[0])?.unwrap_or_default();
    let h0 = vec_of(all[1])?.unwrap_or_default();
    let c0 = vec_of(all[2])?.unwrap_or_default();
    let w = [vec_of(all[3])?, vec_of(all[4])?, vec_of(all[5])?, vec_of(all[6])?, vec_of(all[7])?];
    let (packed, saved) = forward::<T>(mode, d, reverse, x, h0, c0, w, batch_sizes);
    let len = packed.len();
    let mut y = Tensor::from_vec(packed, &[len])?;
    if dtype != T::DTYPE {
        y = y.to_dtype(dtype)?;
    }
    let inputs: Vec<Tensor> = all.iter().flatten().map(|t| (*t).clone()).collect();
    if crate::autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad()) {
        let present: Vec<bool> = all.iter().map(|t| t.is_some()).collect();
        let saved = Arc::new(saved);
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let name = mode.name();
        let backward = move |gy: &Tensor| -> Result<Vec<Option<Tensor>>> {
            if crate::autograd::is_grad_enabled() {
                return Err(Error::autograd(
                    "backward",
                    format!("double backward through the fused {name} layer is not implemented"),
                ));
            }
            let g = gy.to_dtype(T::DTYPE)?.contiguous()?.to_vec::<T>()?;
            let grads = backward::<T>(&saved, &g);
            let mut out = Vec::new();
            let mut k = 0;
            for (slot, grad) in grads.into_iter().enumerate() {
                if !present[slot] {
                    continue;
                }
                let t = match grad {
                    Some(v) => Some(Tensor::from_vec(v, &shapes[k])?.to_dtype(dtype)?),
                    None => None,
                };
                out.push(t);
                k += 1;
            }
            Ok(out)
        };
        y = crate::autograd::custom(&inputs, y, "Rnn", Arc::new(backward));
    }
    let Dims { t: steps, n, h, p, .. } = d;
    let output = y.narrow(0, 0, steps * n * p)?.reshape(&[steps, n, p][..])?;
    let h_n = y.narrow(0, steps * n * p, n * p)?.reshape(&[n, p][..])?;
    let c_n = if mode == RnnMode::Lstm {
        Some(y.narrow(0, steps * n * p + n * p, n * h)?.reshape(&[n, h][..])?)
    } else {
        None
    };
    Ok(RnnLayerOutput { output, h_n, c_n })
}
