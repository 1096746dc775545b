//! `F.scaled_dot_product_attention` (plain or `is_causal`, with or without an `attn_mask`
//! broadcast over the batch and heads, with or without dropout) as one autograd node, worked
//! head by head so that each head's `L x S` scores stay in cache: per head two small GEMMs
//! and a row softmax forward, `P = softmax(scale q kᵀ + M [causal])`, `out = (P ⊙ D) v` (`M`
//! the mask as additive `0` / `-inf` or its float values, `D` the dropout keep-mask scaled by
//! `1 / (1 - p)`), and four GEMMs backward:
//!
//! ```text
//! dV = (P ⊙ D)ᵀ dO          dP = (dO vᵀ) ⊙ D
//! dS = P ⊙ (dP - rowsum(dP ⊙ P))
//! dQ = scale dS k           dK = scale dSᵀ q
//! ```
//!
//! The composite form (batched matmul, scale, a built causal mask, masked fill, softmax,
//! matmul, and the backward of each) passed over the whole `[B, H, L, S]` score tensor about
//! ten times, each pass out of cache: 1.9 ms against PyTorch's 1.1 for nanoGPT's attention at
//! `[12, 4, 64, 16]`. `P` (and `D`) are kept for backward, as the composite kept them.
//!
//! The causal mask is PyTorch's: query `i` sees keys `j <= i` (top-left aligned, as
//! `torch.ones(L, S).tril()`), unlike the KV-cache kernel in `attention.rs`. A query row that
//! sees no key at all (every score `-inf`) gets zero weights and a zero output, as PyTorch's
//! (not the NaN of a plain softmax). A float mask that itself requires grad is left to the
//! composite form. With `create_graph` the backward is the same formula in tensor ops, so
//! double backward works.

use super::{read_as, NormFloat};
use crate::dtype::DType;
use crate::error::Result;
use crate::storage::pool;
use crate::Tensor;
use ember_kernels::gemm::{matmul, GemmElem, MatMut, MatRef};
use ember_kernels::threads;
use std::sync::Arc;

/// The float types the node computes in: a GEMM and a row softmax.
pub(crate) trait AttnFloat: NormFloat + GemmElem {
    /// `p = softmax(s)` over one row.
    fn softmax_row(s: &[Self], p: &mut [Self]);
}

impl AttnFloat for f32 {
    fn softmax_row(s: &[f32], p: &mut [f32]) {
        ember_kernels::rowwise::softmax(s, p);
    }
}

impl AttnFloat for f64 {
    fn softmax_row(s: &[f64], p: &mut [f64]) {
        let m = s.iter().fold(f64::NEG_INFINITY, |a, &b| if b > a || b.is_nan() { b } else { a });
        let mut sum = 0.0;
        for (o, &v) in p.iter_mut().zip(s) {
            *o = (v - m).exp();
            sum += *o;
        }
        let inv = 1.0 / sum;
        p.iter_mut().for_each(|o| *o *= inv);
    }
}

/// Sizes of one call: `heads` independent `(L, S, E, Ev)` attentions.
#[derive(Clone, Copy)]
struct Dims {
    heads: usize,
    l: usize,
    s: usize,
    e: usize,
    ev: usize,
    causal: bool,
    scale: f64,
}

impl Dims {
    /// Keys query row `i` sees.
    fn valid(&self, i: usize) -> usize {
        if self.causal {
            (i + 1).min(self.s)
        } else {
            self.s
        }
    }
    /// Heads per parallel task: about 64K multiply-adds each.
    fn heads_per_task(&self) -> usize {
        let work = self.l * self.s * (self.e + self.ev);
        ((1 << 16) / work.max(1)).clamp(1, self.heads.max(1))
    }
}

/// Row-major `rows x cols` matrix at `off` in `data`.
fn m<T>(data: &[T], off: usize, cols: usize) -> MatRef<'_, T> {
    MatRef { data, offset: off, rs: cols, cs: 1 }
}
/// Transpose of the row-major `rows x cols` matrix at `off`.
fn mt<T>(data: &[T], off: usize, cols: usize) -> MatRef<'_, T> {
    MatRef { data, offset: off, rs: 1, cs: cols }
}
fn out<T>(data: &mut [T], cols: usize) -> MatMut<'_, T> {
    MatMut { data, offset: 0, rs: cols, cs: 1 }
}

/// Where each head's matrix lies in a buffer: head `h` starts at `offs[h]`, its rows `rs`
/// apart, its columns contiguous. The head split of a transformer (`x.view(B, T, H, D)
/// .transpose(1, 2)`, a view of a `split` of the QKV projection) is read in place this way;
/// copying q, k, v (and the output's gradient) to contiguous buffers cost a pass over each,
/// forward and backward.
struct Heads {
    offs: Vec<usize>,
    rs: usize,
}

impl Heads {
    /// Head `h` as a matrix.
    fn m<'a, T>(&self, data: &'a [T], h: usize) -> MatRef<'a, T> {
        MatRef { data, offset: self.offs[h], rs: self.rs, cs: 1 }
    }
    /// The transpose of head `h`.
    fn mt<'a, T>(&self, data: &'a [T], h: usize) -> MatRef<'a, T> {
        MatRef { data, offset: self.offs[h], rs: 1, cs: self.rs }
    }
    /// Row `i` (`cols` long) of head `h`.
    fn row<'a, T>(&self, data: &'a [T], h: usize, i: usize, cols: usize) -> &'a [T] {
        &data[self.offs[h] + i * self.rs..][..cols]
    }
}

/// `t` as a tensor whose heads can be read in place (itself when it is of type `T` with
/// contiguous rows, whatever its other strides; else a contiguous copy), and where they lie.
fn head_view<T: AttnFloat>(t: &Tensor) -> Result<(Tensor, Heads)> {
    let t = if t.dtype() == T::DTYPE && t.layout().strides()[t.dim() - 1] == 1 {
        t.detach()
    } else {
        t.detach().to_dtype(T::DTYPE)?.contiguous()?
    };
    let (nd, l) = (t.dim(), t.layout());
    let lead = crate::layout::Layout::new(l.shape()[..nd - 2].to_vec(), l.strides()[..nd - 2].to_vec(), l.offset());
    let heads = Heads { offs: lead.offsets(), rs: l.strides()[nd - 2] };
    Ok((t, heads))
}

/// The elements of a float storage of type `T` (the callers converted it first).
fn elements<T: AttnFloat>(s: &crate::storage::CpuStorage) -> Result<&[T]> {
    T::slice(s).ok_or_else(|| crate::Error::dtype("scaled_dot_product_attention", "expected float data"))
}

/// A head-readable tensor and its slice.
type HeadsOf<'a, T> = (&'a [T], &'a Heads);

/// Runs `f` on q, k and v read as heads, in place where possible; views of one storage (the
/// split QKV projection) share one read lock.
fn read_qkv<T: AttnFloat, R>(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    f: impl FnOnce(HeadsOf<T>, HeadsOf<T>, HeadsOf<T>) -> R,
) -> Result<R> {
    let name = "scaled_dot_product_attention";
    let ((q, qh), (k, kh), (v, vh)) = (head_view::<T>(q)?, head_view::<T>(k)?, head_view::<T>(v)?);
    let sq = q.cpu_read(name)?;
    let sk = if k.shares_storage(&q) { None } else { Some(k.cpu_read(name)?) };
    let sv = if v.shares_storage(&q) || v.shares_storage(&k) { None } else { Some(v.cpu_read(name)?) };
    let qs = elements::<T>(&sq)?;
    let ks = match &sk {
        Some(g) => elements::<T>(g)?,
        None => qs,
    };
    let vs = match &sv {
        Some(g) => elements::<T>(g)?,
        None if v.shares_storage(&q) => qs,
        None => ks,
    };
    Ok(f((qs, &qh), (ks, &kh), (vs, &vh)))
}

/// How an output `[.., rows, cols]` is laid out and cut into parallel tasks. For 4-D inputs
/// `[B, H, L, D]` with `B > 1` it is written as `[B, L, H, D]` and returned as the transposed
/// view (what PyTorch's CPU attention returns): the caller's `transpose(1, 2).contiguous()`
/// (or the backward's view of it) is then free; tasks are whole batches (as many as make about
/// the work of [`Dims::heads_per_task`]). Otherwise contiguous heads, `per` heads a task.
#[derive(Clone, Copy)]
struct Plan {
    /// Heads a task covers.
    per: usize,
    /// `Some(H)` when outputs are `[B, L, H, D]`.
    interleaved: Option<usize>,
}

impl Plan {
    fn new(lead: &[usize], d: &Dims) -> Plan {
        match lead {
            [b, h] if *b > 1 => Plan { per: *h * (d.heads_per_task() / *h).max(1), interleaved: Some(*h) },
            _ => Plan { per: d.heads_per_task(), interleaved: None },
        }
    }
    /// Elements of a `rows x cols` output per task.
    fn chunk(&self, rows: usize, cols: usize) -> usize {
        self.per * rows * cols
    }
    /// Task-local head `r` of a `rows x cols` output, as a matrix inside the task's chunk.
    fn at<'a, T>(&self, chunk: &'a mut [T], r: usize, rows: usize, cols: usize) -> MatMut<'a, T> {
        match self.interleaved {
            Some(h) => MatMut { data: chunk, offset: (r / h) * rows * h * cols + (r % h) * cols, rs: h * cols, cs: 1 },
            None => MatMut { data: chunk, offset: r * rows * cols, rs: cols, cs: 1 },
        }
    }
    /// The finished output as a tensor of `shape` (`[.., rows, cols]`).
    fn tensor<T: AttnFloat>(&self, data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        match self.interleaved {
            Some(_) => Tensor::from_vec(data, &[shape[0], shape[2], shape[1], shape[3]])?.transpose(1, 2),
            None => Tensor::from_vec(data, shape),
        }
    }
}

/// The attention mask as additive values `[M, L, S]` (bool masks as `0` / `-inf`), and where
/// each head's `[L, S]` block starts (heads that broadcast share one).
struct Mask<'a, T> {
    values: &'a [T],
    head_offset: &'a [usize],
}

/// `P` into `p [L, S]` for head `h`: scores `scale q kᵀ (+ mask)` in `scores`, rows softmaxed
/// over the keys they see (all-zero for a row that sees none).
#[allow(clippy::too_many_arguments)]
fn probs<T: AttnFloat>(
    (q, qh): (&[T], &Heads),
    (k, kh): (&[T], &Heads),
    h: usize,
    d: &Dims,
    mask: Option<&Mask<T>>,
    qs: &mut [T],
    scores: &mut [T],
    p: &mut [T],
) {
    let (l, s, e) = (d.l, d.s, d.e);
    let sc = T::of(d.scale);
    for (i, row) in qs.chunks_mut(e).enumerate() {
        row.iter_mut().zip(qh.row(q, h, i, e)).for_each(|(o, &v)| *o = v * sc);
    }
    matmul(l, s, e, out(scores, s), m(qs, 0, e), kh.mt(k, h), false, 1);
    let masks = mask.map(|mk| &mk.values[mk.head_offset[h]..][..l * s]);
    for i in 0..l {
        let n = d.valid(i);
        let row = &mut scores[i * s..i * s + n];
        if let Some(mv) = masks {
            row.iter_mut().zip(&mv[i * s..i * s + n]).for_each(|(a, &b)| *a += b);
            if row.iter().all(|&v| v == T::of(f64::NEG_INFINITY)) {
                p[i * s..(i + 1) * s].fill(T::of(0.0));
                continue;
            }
        }
        T::softmax_row(row, &mut p[i * s..i * s + n]);
        p[i * s + n..(i + 1) * s].fill(T::of(0.0));
    }
}

/// Forward over every head: `out [H, L, Ev]` (laid out by `plan`), and `P [H, L, S]` when
/// `keep_p`.
#[allow(clippy::too_many_arguments)]
fn forward<T: AttnFloat>(
    q: (&[T], &Heads),
    k: (&[T], &Heads),
    (v, vh): (&[T], &Heads),
    mask: Option<&Mask<T>>,
    keep: Option<&[T]>,
    d: Dims,
    plan: Plan,
    keep_p: bool,
) -> (Vec<T>, Vec<T>) {
    let (l, s, e, ev) = (d.l, d.s, d.e, d.ev);
    let mut y = pool::take::<T>(d.heads * l * ev);
    let mut saved = if keep_p { pool::take::<T>(d.heads * l * s) } else { Vec::new() };
    let per = plan.per;
    let mut jobs: Vec<(&mut [T], Option<&mut [T]>)> = if keep_p {
        y.chunks_mut(plan.chunk(l, ev)).zip(saved.chunks_mut(per * l * s).map(Some)).collect()
    } else {
        y.chunks_mut(plan.chunk(l, ev)).map(|c| (c, None)).collect()
    };
    threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
        let (yb, pb) = &mut job[0];
        let (mut qs, mut scores, mut own) = (vec![T::of(0.0); l * e], vec![T::of(0.0); l * s], Vec::new());
        for r in 0..yb.len() / (l * ev).max(1) {
            let h = blk * per + r;
            let p: &mut [T] = match pb {
                Some(pb) => &mut pb[r * l * s..(r + 1) * l * s],
                None => {
                    own.resize(l * s, T::of(0.0));
                    &mut own
                }
            };
            probs(q, k, h, &d, mask, &mut qs, &mut scores, p);
            let pd: &[T] = match keep {
                Some(dm) => {
                    scores
                        .iter_mut()
                        .zip(p.iter().zip(&dm[h * l * s..(h + 1) * l * s]))
                        .for_each(|(o, (&a, &b))| *o = a * b);
                    &scores
                }
                None => p,
            };
            matmul(l, ev, s, plan.at(yb, r, l, ev), m(pd, 0, s), vh.m(v, h), false, 1);
        }
    });
    drop(jobs);
    (y, saved)
}

/// [`read_as`] of an optional tensor.
fn read_opt<T: AttnFloat, R>(t: Option<&Tensor>, f: impl FnOnce(Option<&[T]>) -> R) -> Result<R> {
    match t {
        Some(t) => read_as(t, "scaled_dot_product_attention", |v: &[T]| f(Some(v))),
        None => Ok(f(None)),
    }
}

/// One task's share of the gradients: its heads' rows of `dq`, `dk`, `dv`.
type Grads<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T]);

/// The first-order backward over every head, from the saved `P`; the gradients laid out by
/// `plan`.
#[allow(clippy::too_many_arguments)]
fn backward<T: AttnFloat>(
    (q, qh): (&[T], &Heads),
    (k, kh): (&[T], &Heads),
    (v, vh): (&[T], &Heads),
    p: &[T],
    keep: Option<&[T]>,
    (dy, dyh): (&[T], &Heads),
    d: Dims,
    plan: Plan,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let (l, s, e, ev) = (d.l, d.s, d.e, d.ev);
    let (mut dq, mut dk, mut dv) =
        (pool::take::<T>(d.heads * l * e), pool::take::<T>(d.heads * s * e), pool::take::<T>(d.heads * s * ev));
    let per = plan.per;
    let mut jobs: Vec<Grads<T>> = dq
        .chunks_mut(plan.chunk(l, e))
        .zip(dk.chunks_mut(plan.chunk(s, e)))
        .zip(dv.chunks_mut(plan.chunk(s, ev)))
        .map(|((a, b), c)| (a, b, c))
        .collect();
    threads::for_each_block_mut(&mut jobs, 1, |blk, job| {
        let (dqb, dkb, dvb) = &mut job[0];
        let (mut dp, mut pd) = (vec![T::of(0.0); l * s], vec![T::of(0.0); l * s]);
        let sc = T::of(d.scale);
        for r in 0..dqb.len() / (l * e).max(1) {
            let h = blk * per + r;
            let ph = &p[h * l * s..(h + 1) * l * s];
            // dP' = dO vᵀ [L, S]
            matmul(l, s, ev, out(&mut dp, s), dyh.m(dy, h), vh.mt(v, h), false, 1);
            let pdh: &[T] = match keep {
                Some(dm) => {
                    let dmh = &dm[h * l * s..(h + 1) * l * s];
                    pd.iter_mut().zip(ph.iter().zip(dmh)).for_each(|(o, (&a, &b))| *o = a * b);
                    dp.iter_mut().zip(dmh).for_each(|(o, &b)| *o = *o * b);
                    &pd
                }
                None => ph,
            };
            // dV = P'ᵀ dO [S, Ev]
            matmul(s, ev, l, plan.at(dvb, r, s, ev), mt(pdh, 0, s), dyh.m(dy, h), false, 1);
            // dS = scale P (dP - rowsum(dP P)), in place in dp.
            for i in 0..l {
                let (pr, gr) = (&ph[i * s..(i + 1) * s], &mut dp[i * s..(i + 1) * s]);
                let n = d.valid(i);
                let dot: f64 = pr[..n].iter().zip(&gr[..n]).map(|(&a, &b)| (a * b).into()).sum();
                let c = T::of(dot);
                for j in 0..n {
                    gr[j] = sc * pr[j] * (gr[j] - c);
                }
                gr[n..].fill(T::of(0.0));
            }
            // dQ = dS k [L, E], dK = dSᵀ q [S, E]
            matmul(l, e, s, plan.at(dqb, r, l, e), m(&dp, 0, s), kh.m(k, h), false, 1);
            matmul(s, e, l, plan.at(dkb, r, s, e), mt(&dp, 0, s), qh.m(q, h), false, 1);
        }
    });
    drop(jobs);
    (dq, dk, dv)
}

/// Softmax over the last dim in which a row of only `-inf` gives zeros, not NaN (PyTorch's
/// `_safe_softmax`), differentiable: such rows get no gradient.
pub fn safe_softmax(scores: &Tensor) -> Result<Tensor> {
    let dead = scores.max_dim(-1, true)?.0.detach().eq_scalar(f64::NEG_INFINITY)?;
    scores.masked_fill(&dead, 0.0)?.softmax(-1)?.masked_fill(&dead, 0.0)
}

/// The backward in tensor ops (recorded under `create_graph`): `P` recomputed from `q`, `k`.
#[allow(clippy::too_many_arguments)]
fn composite_backward(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    keep: Option<&Tensor>,
    dy: &Tensor,
    d: Dims,
) -> Result<[Tensor; 3]> {
    let mut scores = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(d.scale)?;
    if let Some(m) = mask {
        scores = scores.add(m)?;
    }
    if d.causal {
        let allowed = Tensor::ones(&[d.l, d.s], DType::Bool)?.tril(0)?;
        scores = scores.masked_fill(&allowed.logical_not()?, f64::NEG_INFINITY)?;
    }
    let p = safe_softmax(&scores)?;
    let (pd, dp) = match keep {
        Some(m) => (p.mul(m)?, dy.matmul(&v.transpose(-2, -1)?)?.mul(m)?),
        None => (p.clone(), dy.matmul(&v.transpose(-2, -1)?)?),
    };
    let dv = pd.transpose(-2, -1)?.matmul(dy)?;
    let ds = p.mul(&dp.sub(&dp.mul(&p)?.sum_dim(-1, true)?)?)?.mul_scalar(d.scale)?;
    Ok([ds.matmul(k)?, ds.transpose(-2, -1)?.matmul(q)?, dv])
}

/// The mask as an additive tensor of `T` with the dims of `q`: `[M.., L, S]`, each leading
/// dim 1 or `q`'s, contiguous; with each head's offset into it. `None` when it does not
/// broadcast to the scores (the composite form reports that) or needs a gradient.
fn additive_mask<T: AttnFloat>(mask: &Tensor, lead: &[usize], d: &Dims) -> Result<Option<(Tensor, Vec<usize>)>> {
    let nd = lead.len() + 2;
    if mask.dim() > nd || (mask.requires_grad() && crate::autograd::is_grad_enabled()) {
        return Ok(None);
    }
    let mut shape = vec![1; nd - mask.dim()];
    shape.extend_from_slice(mask.shape());
    let target: Vec<usize> = lead.iter().copied().chain([d.l, d.s]).collect();
    if shape.iter().zip(&target).any(|(&a, &b)| a != 1 && a != b) {
        return Ok(None);
    }
    let m = mask.detach().reshape(&shape.iter().map(|&v| v as isize).collect::<Vec<_>>())?;
    let mut full = shape.clone();
    full[nd - 2..].copy_from_slice(&[d.l, d.s]);
    let m = m.expand(&full)?;
    let m = match m.dtype() {
        DType::Bool => Tensor::zeros(&full, T::DTYPE)?.masked_fill(&m.logical_not()?, f64::NEG_INFINITY)?,
        _ => m.to_dtype(T::DTYPE)?.contiguous()?,
    };
    // Head h's index over `lead`, row-major, mapped onto the mask's (broadcast dims stay 0).
    let mut offsets = Vec::with_capacity(d.heads);
    for h in 0..d.heads {
        let (mut rest, mut off, mut stride) = (h, 0, d.l * d.s);
        for i in (0..lead.len()).rev() {
            let idx = rest % lead[i];
            rest /= lead[i];
            if shape[i] != 1 {
                off += idx * stride;
            }
            stride *= shape[i];
        }
        offsets.push(off);
    }
    Ok(Some((m, offsets)))
}

/// Attention `softmax(q kᵀ scale + mask [causal]) v` with dropout `dropout_p` on the weights,
/// as one node: q `[.., L, E]`, k `[.., S, E]`, v `[.., S, Ev]` with the same leading dims, f32
/// or f64; `mask` bool (true = attend) or float (added), broadcast to `[.., L, S]`. `None` when
/// the inputs are outside what the node handles (the caller composes tensor ops instead).
#[track_caller]
pub fn sdpa_node(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    causal: bool,
    scale: f64,
    dropout_p: f64,
) -> Result<Option<Tensor>> {
    let dt = q.dtype();
    let nd = q.dim();
    let fits = nd >= 2
        && k.dim() == nd
        && v.dim() == nd
        && matches!(dt, DType::F32 | DType::F64)
        && k.dtype() == dt
        && v.dtype() == dt
        && q.shape()[..nd - 2] == k.shape()[..nd - 2]
        && k.shape()[..nd - 1] == v.shape()[..nd - 1]
        && q.shape()[nd - 1] == k.shape()[nd - 1]
        && (0.0..1.0).contains(&dropout_p);
    if !fits || q.numel() == 0 || k.numel() == 0 || v.numel() == 0 {
        return Ok(None);
    }
    let d = Dims {
        heads: q.shape()[..nd - 2].iter().product(),
        l: q.shape()[nd - 2],
        s: k.shape()[nd - 2],
        e: q.shape()[nd - 1],
        ev: v.shape()[nd - 1],
        causal,
        scale,
    };
    match dt {
        DType::F64 => run::<f64>(q, k, v, mask, d, dropout_p),
        _ => run::<f32>(q, k, v, mask, d, dropout_p),
    }
}

fn run<T: AttnFloat>(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    d: Dims,
    dropout_p: f64,
) -> Result<Option<Tensor>> {
    let name = "scaled_dot_product_attention";
    let nd = q.dim();
    let mask = match mask {
        Some(m) => match additive_mask::<T>(m, &q.shape()[..nd - 2], &d)? {
            Some(pair) => Some(pair),
            None => return Ok(None),
        },
        None => None,
    };
    let recording = crate::autograd::is_grad_enabled() && [q, k, v].iter().any(|t| t.requires_grad());
    // The dropout keep-mask, already scaled by 1 / (1 - p): [.., L, S].
    let keep = if dropout_p > 0.0 {
        let mut shape = q.shape().to_vec();
        *shape.last_mut().expect("q has >= 2 dims") = d.s;
        let keep = Tensor::rand(&shape, DType::F32)?.ge_scalar(dropout_p)?;
        Some(keep.to_dtype(T::DTYPE)?.mul_scalar(1.0 / (1.0 - dropout_p))?)
    } else {
        None
    };
    let mask_t = mask.as_ref().map(|(t, _)| t);
    let plan = Plan::new(&q.shape()[..nd - 2], &d);
    let (y, p) = read_opt(mask_t, |mv: Option<&[T]>| {
        let mk = mv.zip(mask.as_ref()).map(|(values, (_, offs))| Mask { values, head_offset: offs });
        read_opt(keep.as_ref(), |dm: Option<&[T]>| {
            read_qkv(q, k, v, |qv, kv, vv| forward(qv, kv, vv, mk.as_ref(), dm, d, plan, recording))
        })
    })???;
    let mut shape = q.shape().to_vec();
    *shape.last_mut().expect("q has >= 2 dims") = d.ev;
    let y = plan.tensor(y, &shape)?;
    if !recording {
        return Ok(Some(y));
    }
    // As a tensor, so that its buffer goes back to the pool when the graph is freed.
    let n = p.len();
    let p = Tensor::from_vec(p, &[n])?;
    let (qt, kt, vt) = (q.clone(), k.clone(), v.clone());
    let mask_t = mask.map(|(t, _)| t);
    let back = move |gy: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let [dq, dk, dv] = if crate::autograd::is_grad_enabled() {
            composite_backward(&qt, &kt, &vt, mask_t.as_ref(), keep.as_ref(), gy, d)?
        } else {
            // P already holds the mask (and zero rows where nothing was seen).
            let (g, gh) = head_view::<T>(gy)?;
            let gs = g.cpu_read(name)?;
            let gv = elements::<T>(&gs)?;
            let (dq, dk, dv) = read_qkv(&qt, &kt, &vt, |qv, kv, vv| {
                read_as(&p, name, |pv: &[T]| {
                    read_opt(keep.as_ref(), |dm: Option<&[T]>| backward(qv, kv, vv, pv, dm, (gv, &gh), d, plan))
                })
            })???;
            [plan.tensor(dq, qt.shape())?, plan.tensor(dk, kt.shape())?, plan.tensor(dv, vt.shape())?]
        };
        Ok(vec![Some(dq), Some(dk), Some(dv)])
    };
    let node =
        crate::autograd::custom(&[q.clone(), k.clone(), v.clone()], y, "ScaledDotProductAttention", Arc::new(back));
    Ok(Some(node))
}
