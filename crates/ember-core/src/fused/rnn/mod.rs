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
use ember_kernels::packed_gemm::{matmul_packed_on, PackedRhs};
use ember_kernels::{threads, vmath};
use std::sync::Arc;
use steps::{backward_all, forward_all, input_gradient, Blocks, BwdCtx, FwdCtx};

mod steps;

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
    /// Whether each row of a per-step product comes out the same whatever rows share the call
    /// (the packed f32 kernel; the f64 path's GEMM blocks depend on the shape), so that
    /// inference may cut the batch into bigger blocks without changing any result.
    const ROWS_EXACT: bool;
    fn sigmoid_into(x: &[Self], out: &mut [Self]);
    fn tanh_into(x: &[Self], out: &mut [Self]);
    /// Prepares `b [k, n]`, row-major or (`transposed`) the transpose of a row-major `[n, k]`.
    fn pack(b: &[Self], k: usize, n: usize, transposed: bool) -> Self::Packed;
    /// `dst [m, n] = a [m, k] b` on at most `threads` threads.
    fn mm_packed(dst: &mut [Self], m: usize, a: &[Self], b: &Self::Packed, threads: usize);
}

impl RnnFloat for f32 {
    type Packed = PackedRhs;
    const ROWS_EXACT: bool = true;
    fn pack(b: &[f32], k: usize, n: usize, transposed: bool) -> PackedRhs {
        if transposed {
            PackedRhs::new(b, 0, 1, k, k, n)
        } else {
            PackedRhs::new(b, 0, n, 1, k, n)
        }
    }
    fn mm_packed(dst: &mut [f32], m: usize, a: &[f32], b: &PackedRhs, threads: usize) {
        matmul_packed_on(threads, m, a, b.k(), b, dst, b.n(), false)
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
    const ROWS_EXACT: bool = false;
    fn pack(b: &[f64], k: usize, n: usize, transposed: bool) -> Self::Packed {
        (b.to_vec(), k, n, transposed)
    }
    fn mm_packed(dst: &mut [f64], m: usize, a: &[f64], b: &Self::Packed, threads: usize) {
        let (w, k, n, t) = (&b.0, b.1, b.2, b.3);
        let (a, b) = (mat(a, 0, k, false), mat(w, 0, if t { k } else { n }, t));
        if m * n > 0 {
            gemm(m, n, k, MatMut { data: &mut dst[..m * n], offset: 0, rs: n, cs: 1 }, a, b, false, threads);
        }
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

/// Hands a per-call buffer back to the pool (dropping it would free it to the system, and the
/// next call would fault its pages in again).
fn recycle<T: Element>(v: Vec<T>) {
    if !v.is_empty() {
        pool::give(T::into_storage(v));
    }
}

/// Everything the backward pass reads, indexed by time step `t` (not processing order); the
/// per-step buffers (`x` too) are block-major (see [`steps`]).
struct Saved<T: Element> {
    mode: RnnMode,
    d: Dims,
    reverse: bool,
    blocks: Blocks,
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
            &mut self.w_ih,
            &mut self.w_hh,
            &mut self.h_prev,
            &mut self.act,
            &mut self.c_prev,
            &mut self.tanh_c,
            &mut self.h_raw,
            &mut self.gh_n,
        ] {
            recycle(std::mem::take(v));
        }
        if let Some(w) = self.w_hr.take() {
            recycle(w);
        }
    }
}

/// The forward pass: returns the packed `[output | h_n | c_n]` and what backward needs (every
/// step's activations when `save`, else only the last step's).
#[allow(clippy::too_many_arguments)]
fn forward<T: RnnFloat>(
    mode: RnnMode,
    d: Dims,
    reverse: bool,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Vec<T>,
    w: [Option<Vec<T>>; 5],
    batch_sizes: Option<Vec<usize>>,
    save: bool,
) -> (Vec<T>, Saved<T>) {
    let [w_ih, w_hh, b_ih, b_hh, w_hr] = w;
    let (w_ih, w_hh) = (w_ih.unwrap_or_default(), w_hh.unwrap_or_default());
    let Dims { t: steps, n, i, h, p, g } = d;
    let blocks = if save || !T::ROWS_EXACT { Blocks::new(n) } else { Blocks::inference(n) };
    let x = blocks.permute(x, steps, i, true);
    // Input projection of every step at once: gx [T*N, G] = X W_ih^T (block-major, as x); the
    // biases are added in the gate loop, where the row is in cache anyway.
    let mut gx = pool::take::<T>(steps * n * g);
    mm(&mut gx, steps * n, g, i, mat(&x, 0, i, false), mat(&w_ih, 0, i, true), false);
    let w_hh_t = T::pack(&w_hh, p, g, true); // W_hh^T [P, G]
    let w_hr_t = w_hr.as_ref().map(|w| T::pack(w, h, p, true)); // W_hr^T [H, P]
    let gru = mode == RnnMode::Gru;
    let mut bias = vec![T::of(0.0); g];
    for b in [b_ih.as_ref(), if gru { None } else { b_hh.as_ref() }].into_iter().flatten() {
        for (a, &v) in bias.iter_mut().zip(b) {
            *a = *a + v;
        }
    }
    let lstm = mode == RnnMode::Lstm;
    let kept = if save { steps } else { 1 };
    let mut sv = Saved {
        mode,
        d,
        reverse,
        blocks,
        h_prev: pool::take(kept * n * p),
        act: pool::take(kept * n * g),
        c_prev: if lstm { pool::take(kept * n * h) } else { Vec::new() },
        tanh_c: if lstm { pool::take(kept * n * h) } else { Vec::new() },
        h_raw: if w_hr.is_some() { pool::take(kept * n * h) } else { Vec::new() },
        gh_n: if gru { pool::take(kept * n * h) } else { Vec::new() },
        has_b_ih: b_ih.is_some(),
        has_b_hh: b_hh.is_some(),
        batch_sizes,
        x,
        w_ih,
        w_hh,
        w_hr,
    };
    let (mut hcur, mut ccur) = (h0, c0);
    let sizes = sv.batch_sizes.clone();
    let mut out_b = pool::take::<T>(steps * n * p);
    let cx = FwdCtx {
        mode,
        d,
        reverse,
        blocks,
        gx: &gx,
        bias: &bias,
        gru_b_hh: if gru { b_hh.as_deref() } else { None },
        w_hh_t: &w_hh_t,
        w_hr_t: w_hr_t.as_ref(),
        batch_sizes: sizes.as_deref(),
        save,
    };
    forward_all(&cx, &mut sv, &mut hcur, &mut ccur, &mut out_b);
    recycle(gx);
    // [output [T, N, P] | h_n | c_n], the output back in the caller's row order.
    let out_c = blocks.permute(out_b, steps, p, false);
    let mut out = pool::take::<T>(steps * n * p + n * p + if lstm { n * h } else { 0 });
    out[..steps * n * p].copy_from_slice(&out_c);
    recycle(out_c);
    out[steps * n * p..steps * n * p + n * p].copy_from_slice(&hcur);
    out[steps * n * p + n * p..].copy_from_slice(&ccur);
    (out, sv)
}

/// The backward pass from the packed gradient `[d output | d h_n | d c_n]`: gradients of
/// `x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr` (absent inputs get `None`).
fn backward<T: RnnFloat>(sv: &Saved<T>, gpacked: &[T]) -> [Option<Vec<T>>; 8] {
    let Dims { t: steps, n, i, h, p, g } = sv.d;
    let lstm = sv.mode == RnnMode::Lstm;
    let gru = sv.mode == RnnMode::Gru;
    let base = steps * n * p;
    let mut dh = gpacked[base..base + n * p].to_vec();
    let mut dc = if lstm { gpacked[base + n * p..base + n * p + n * h].to_vec() } else { Vec::new() };
    // Every row of these is written (ended rows with zeros) by the time loop.
    let mut dgx = pool::take::<T>(steps * n * g);
    let mut dgh = if gru { pool::take::<T>(steps * n * g) } else { Vec::new() };
    let mut dh_all = if sv.w_hr.is_some() { pool::take::<T>(steps * n * p) } else { Vec::new() };
    let w_hh = T::pack(&sv.w_hh, g, p, false); // [G, P]
    let w_hr = sv.w_hr.as_ref().map(|w| T::pack(w, p, h, false)); // [P, H]
    let cx = BwdCtx { sv, gpacked, w_hh: &w_hh, w_hr: w_hr.as_ref() };
    backward_all(&cx, &mut dh, &mut dc, &mut dgx, &mut dgh, &mut dh_all);
    let dgh_all = if gru { &dgh } else { &dgx };
    let tn = steps * n;
    // Weight gradients: one GEMM each over all T*N rows (block-major on both sides).
    let mut dw_ih = pool::take::<T>(g * i);
    mm(&mut dw_ih, g, i, tn, mat(&dgx, 0, g, true), mat(&sv.x, 0, i, false), false);
    let mut dw_hh = pool::take::<T>(g * p);
    mm(&mut dw_hh, g, p, tn, mat(dgh_all, 0, g, true), mat(&sv.h_prev, 0, p, false), false);
    let dx = input_gradient(sv, &dgx);
    let db_ih = sv.has_b_ih.then(|| col_sums(&dgx, g));
    let db_hh = sv.has_b_hh.then(|| col_sums(dgh_all, g));
    let dw_hr = sv.w_hr.as_ref().map(|_| {
        let mut d = pool::take::<T>(p * h);
        mm(&mut d, p, h, tn, mat(&dh_all, 0, p, true), mat(&sv.h_raw, 0, h, false), false);
        d
    });
    for v in [dgx, dgh, dh_all] {
        recycle(v);
    }
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
    // Copies of the inputs in pooled buffers (they are megabytes, and go back with `Saved`).
    let vec_of = |t: Option<&Tensor>| -> Result<Option<Vec<T>>> {
        let copy = |t: &Tensor| -> Result<Vec<T>> {
            t.detach().to_dtype(T::DTYPE)?.contiguous()?.with_slice::<T, _>(|s| {
                let mut v = pool::take::<T>(s.len());
                v.copy_from_slice(s);
                v
            })
        };
        t.map(copy).transpose()
    };
    let x = vec_of(all[0])?.unwrap_or_default();
    let h0 = vec_of(all[1])?.unwrap_or_default();
    let c0 = vec_of(all[2])?.unwrap_or_default();
    let w = [vec_of(all[3])?, vec_of(all[4])?, vec_of(all[5])?, vec_of(all[6])?, vec_of(all[7])?];
    let save = crate::autograd::is_grad_enabled() && all.iter().flatten().any(|t| t.requires_grad());
    let (packed, saved) = forward::<T>(mode, d, reverse, x, h0, c0, w, batch_sizes, save);
    let len = packed.len();
    let mut y = Tensor::from_vec(packed, &[len])?;
    if dtype != T::DTYPE {
        y = y.to_dtype(dtype)?;
    }
    let inputs: Vec<Tensor> = all.iter().flatten().map(|t| (*t).clone()).collect();
    if save {
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
