//! Loss functions with PyTorch's reductions and options. Each `loss(input, target)` uses
//! PyTorch's defaults; `loss_with(input, target, opts)` takes the rest.

use ember_core::{DType, Error, Result, Tensor};

/// How a loss reduces over elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Per-element losses.
    None,
    /// Mean (the default).
    #[default]
    Mean,
    /// Sum.
    Sum,
    /// Sum divided by the batch size (`kl_div` only).
    BatchMean,
}

pub(crate) fn reduce(loss: Tensor, r: Reduction, batch: usize) -> Result<Tensor> {
    match r {
        Reduction::None => Ok(loss),
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::BatchMean => loss.sum()?.mul_scalar(1.0 / batch.max(1) as f64),
    }
}

/// Options of [`cross_entropy_with`] and [`nll_loss_with`].
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    /// Per-class weights `[C]`.
    pub weight: Option<Tensor>,
    /// Targets equal to this index contribute nothing (class-index targets only).
    pub ignore_index: i64,
    /// Reduction.
    pub reduction: Reduction,
    /// Mixes the target with the uniform distribution: `(1 - s) target + s / C`.
    pub label_smoothing: f64,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions { weight: None, ignore_index: -100, reduction: Reduction::Mean, label_smoothing: 0.0 }
    }
}

/// Moves the class dim (1) of `[N, C, d1, ...]` last and flattens: `[N * d1 * ..., C]`.
#[track_caller]
fn classes_last(x: &Tensor) -> Result<Tensor> {
    if x.dim() == 0 {
        return Err(Error::shape("nll_loss", "input must have at least 1 dim (classes)"));
    }
    if x.dim() <= 2 {
        return if x.dim() == 1 { x.unsqueeze(0) } else { Ok(x.clone()) };
    }
    let c = x.shape()[1] as isize;
    let mut perm: Vec<isize> = vec![0];
    perm.extend(2..x.dim() as isize);
    perm.push(1);
    x.permute(&perm)?.reshape(&[-1, c])
}

/// Cross entropy between logits `[N, C]` (or `[C]`, or `[N, C, d1, ...]`) and class indices
/// `[N]` (int) or class probabilities (float, the input's shape). Mean reduction.
#[track_caller]
pub fn cross_entropy(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    cross_entropy_with(input, target, CrossEntropyOptions::default())
}

/// [`cross_entropy`] with class weights, `ignore_index`, reduction and label smoothing.
#[track_caller]
pub fn cross_entropy_with(input: &Tensor, target: &Tensor, opts: CrossEntropyOptions) -> Result<Tensor> {
    if input.dim() == 0 {
        return Err(Error::shape("cross_entropy", "input must have at least 1 dim (classes)"));
    }
    let class_dim = if input.dim() == 1 { 0 } else { 1 };
    let logp = input.log_softmax(class_dim)?;
    if target.dtype().is_float() {
        return soft_cross_entropy(&logp, target, &opts);
    }
    let c = input.shape()[class_dim as usize];
    let lp = classes_last(&logp)?; // [M, C]
    let t = target.reshape(&[-1])?.to_dtype(DType::I64)?;
    if t.numel() != lp.shape()[0] {
        return Err(Error::shape(
            "cross_entropy",
            format!("target {:?} does not match input {:?}", target.shape(), input.shape()),
        ));
    }
    let nll = nll_rows(&lp, &t, &opts, "cross_entropy")?; // (per-row loss, per-row weight)
    let mut loss = nll.0;
    if opts.label_smoothing > 0.0 {
        let s = opts.label_smoothing;
        let lpw = match &opts.weight {
            Some(w) => lp.mul(&w.to_dtype(lp.dtype())?)?,
            None => lp.clone(),
        };
        let smooth = lpw.sum_dim(1, false)?.neg()?.mul(&nll.2)?; // zero where ignored
        loss = loss.mul_scalar(1.0 - s)?.add(&smooth.mul_scalar(s / c as f64)?)?;
    }
    finish_nll(loss, nll.1, target.shape(), opts.reduction)
}

/// Per-row `-w[t] logp[t]`, the row weights `w[t]` (0 where ignored) and the ignore mask as
/// 0/1 floats.
fn nll_rows(lp: &Tensor, t: &Tensor, opts: &CrossEntropyOptions, op: &'static str) -> Result<(Tensor, Tensor, Tensor)> {
    let c = lp.shape()[1];
    let keep = t.ne_scalar(opts.ignore_index as f64)?;
    let safe_t = Tensor::where_cond(&keep, t, &Tensor::zeros(&[], DType::I64)?)?;
    let bad = safe_t.lt_scalar(0.0)?.logical_or(&safe_t.ge_scalar(c as f64)?)?;
    if bad.to_dtype(DType::I64)?.sum()?.item::<i64>()? > 0 {
        return Err(Error::index(
            op,
            format!("target values must be in [0, {c}) or ignore_index {}", opts.ignore_index),
        ));
    }
    let keepf = keep.to_dtype(lp.dtype())?;
    let picked = lp.gather(1, &safe_t.unsqueeze(1)?)?.squeeze_dim(1)?;
    let w = match &opts.weight {
        Some(w) => {
            if w.shape() != [c] {
                return Err(Error::shape(op, format!("weight should have shape [{c}], got {:?}", w.shape())));
            }
            w.to_dtype(lp.dtype())?.index_select(0, &safe_t)?.mul(&keepf)?
        }
        None => keepf.clone(),
    };
    Ok((picked.neg()?.mul(&w)?, w, keepf))
}

fn finish_nll(loss: Tensor, w: Tensor, target_shape: &[usize], r: Reduction) -> Result<Tensor> {
    match r {
        Reduction::None => loss.reshape(&target_shape.iter().map(|&d| d as isize).collect::<Vec<_>>()),
        Reduction::Sum => loss.sum(),
        // Weighted mean: divide by the total weight of the non-ignored targets.
        Reduction::Mean | Reduction::BatchMean => loss.sum()?.div(&w.sum()?),
    }
}

fn soft_cross_entropy(logp: &Tensor, target: &Tensor, opts: &CrossEntropyOptions) -> Result<Tensor> {
    if target.shape() != logp.shape() {
        return Err(Error::shape(
            "cross_entropy",
            format!("probability target {:?} must match input {:?}", target.shape(), logp.shape()),
        ));
    }
    let class_dim = if logp.dim() == 1 { 0 } else { 1 };
    let c = logp.shape()[class_dim];
    let mut t = target.to_dtype(logp.dtype())?;
    if opts.label_smoothing > 0.0 {
        t = t.mul_scalar(1.0 - opts.label_smoothing)?.add_scalar(opts.label_smoothing / c as f64)?;
    }
    let mut prod = logp.mul(&t)?;
    if let Some(w) = &opts.weight {
        let mut shape = vec![1isize; logp.dim()];
        shape[class_dim] = c as isize;
        prod = prod.mul(&w.to_dtype(logp.dtype())?.reshape(&shape)?)?;
    }
    let loss = prod.sum_dim(class_dim as isize, false)?.neg()?;
    reduce(loss, opts.reduction, 1)
}

/// Negative log likelihood of log-probabilities `[N, C]` at class indices `[N]`.
#[track_caller]
pub fn nll_loss(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    nll_loss_with(input, target, CrossEntropyOptions::default())
}

/// [`nll_loss`] with weights, `ignore_index` and reduction (`label_smoothing` is ignored).
#[track_caller]
pub fn nll_loss_with(input: &Tensor, target: &Tensor, opts: CrossEntropyOptions) -> Result<Tensor> {
    let lp = classes_last(input)?;
    let t = target.reshape(&[-1])?.to_dtype(DType::I64)?;
    if t.numel() != lp.shape()[0] {
        return Err(Error::shape(
            "nll_loss",
            format!("target {:?} does not match input {:?}", target.shape(), input.shape()),
        ));
    }
    let (loss, w, _) = nll_rows(&lp, &t, &opts, "nll_loss")?;
    finish_nll(loss, w, target.shape(), opts.reduction)
}

#[track_caller]
fn check_same(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(
            op,
            format!("input {:?} and target {:?} must have the same shape", a.shape(), b.shape()),
        ));
    }
    Ok(())
}

/// Mean squared error.
#[track_caller]
pub fn mse_loss(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    mse_loss_with(input, target, Reduction::Mean)
}

/// Squared error with a reduction.
#[track_caller]
pub fn mse_loss_with(input: &Tensor, target: &Tensor, r: Reduction) -> Result<Tensor> {
    check_same("mse_loss", input, target)?;
    reduce(input.sub(target)?.square()?, r, 1)
}

/// Mean absolute error.
#[track_caller]
pub fn l1_loss(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    l1_loss_with(input, target, Reduction::Mean)
}

/// Absolute error with a reduction.
#[track_caller]
pub fn l1_loss_with(input: &Tensor, target: &Tensor, r: Reduction) -> Result<Tensor> {
    check_same("l1_loss", input, target)?;
    reduce(input.sub(target)?.abs()?, r, 1)
}

/// Smooth L1 (`beta = 1`).
#[track_caller]
pub fn smooth_l1_loss(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    smooth_l1_loss_with(input, target, 1.0, Reduction::Mean)
}

/// Smooth L1: `0.5 d^2 / beta` where `|d| < beta`, `|d| - 0.5 beta` elsewhere.
#[track_caller]
pub fn smooth_l1_loss_with(input: &Tensor, target: &Tensor, beta: f64, r: Reduction) -> Result<Tensor> {
    check_same("smooth_l1_loss", input, target)?;
    let d = input.sub(target)?;
    let a = d.abs()?;
    if beta == 0.0 {
        return reduce(a, r, 1);
    }
    let loss =
        Tensor::where_cond(&a.lt_scalar(beta)?, &d.square()?.mul_scalar(0.5 / beta)?, &a.sub_scalar(0.5 * beta)?)?;
    reduce(loss, r, 1)
}

/// Huber loss (`delta = 1`).
#[track_caller]
pub fn huber_loss(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    huber_loss_with(input, target, 1.0, Reduction::Mean)
}

/// Huber: `0.5 d^2` where `|d| <= delta`, `delta (|d| - 0.5 delta)` elsewhere.
#[track_caller]
pub fn huber_loss_with(input: &Tensor, target: &Tensor, delta: f64, r: Reduction) -> Result<Tensor> {
    check_same("huber_loss", input, target)?;
    let d = input.sub(target)?;
    let a = d.abs()?;
    let loss = Tensor::where_cond(
        &a.le_scalar(delta)?,
        &d.square()?.mul_scalar(0.5)?,
        &a.sub_scalar(0.5 * delta)?.mul_scalar(delta)?,
    )?;
    reduce(loss, r, 1)
}

/// Binary cross entropy of probabilities (logs clamped at -100, as PyTorch).
#[track_caller]
pub fn binary_cross_entropy(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    binary_cross_entropy_with(input, target, None, Reduction::Mean)
}

/// [`binary_cross_entropy`] with per-element weights and a reduction.
#[track_caller]
pub fn binary_cross_entropy_with(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    r: Reduction,
) -> Result<Tensor> {
    check_same("binary_cross_entropy", input, target)?;
    let lo = Some(-100.0);
    let lp = input.log()?.clamp(lo, None)?;
    let l1p = input.neg()?.add_scalar(1.0)?.log()?.clamp(lo, None)?;
    let t = target.to_dtype(input.dtype())?;
    let mut loss = t.mul(&lp)?.add(&t.neg()?.add_scalar(1.0)?.mul(&l1p)?)?.neg()?;
    if let Some(w) = weight {
        loss = loss.mul(w)?;
    }
    reduce(loss, r, 1)
}

/// Binary cross entropy on logits (numerically stable), mean reduction.
#[track_caller]
pub fn binary_cross_entropy_with_logits(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    binary_cross_entropy_with_logits_with(input, target, None, None, Reduction::Mean)
}

/// [`binary_cross_entropy_with_logits`] with weights, `pos_weight` and a reduction:
/// `(1 - y) x + (1 + (pw - 1) y) log(1 + e^-x)`.
#[track_caller]
pub fn binary_cross_entropy_with_logits_with(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    r: Reduction,
) -> Result<Tensor> {
    check_same("binary_cross_entropy_with_logits", input, target)?;
    let t = target.to_dtype(input.dtype())?;
    // log(1 + e^-x) as logaddexp(0, -x): stable, and its gradient -sigmoid(-x) is right at x = 0
    // too (the |x| / relu(-x) form has a zero subgradient there).
    let softplus = Tensor::zeros_like(input)?.logaddexp(&input.neg()?)?;
    let coef = match pos_weight {
        Some(pw) => pw.sub_scalar(1.0)?.mul(&t)?.add_scalar(1.0)?,
        None => Tensor::ones_like(&t)?,
    };
    let mut loss = t.neg()?.add_scalar(1.0)?.mul(input)?.add(&coef.mul(&softplus)?)?;
    if let Some(w) = weight {
        loss = loss.mul(w)?;
    }
    reduce(loss, r, 1)
}

/// KL divergence `target * (log target - input)` with `input` as log-probabilities, mean
/// reduction (PyTorch's default; `BatchMean` is the mathematically correct one).
#[track_caller]
pub fn kl_div(input: &Tensor, target: &Tensor) -> Result<Tensor> {
    kl_div_with(input, target, Reduction::Mean, false)
}

/// [`kl_div`] with a reduction and `log_target` (target given as log-probabilities).
#[track_caller]
pub fn kl_div_with(input: &Tensor, target: &Tensor, r: Reduction, log_target: bool) -> Result<Tensor> {
    check_same("kl_div", input, target)?;
    let loss = if log_target {
        target.exp()?.mul(&target.sub(input)?)?
    } else {
        // xlogy: 0 where target == 0.
        let pos = target.gt_scalar(0.0)?;
        let safe = Tensor::where_cond(&pos, target, &Tensor::ones_like(target)?)?;
        Tensor::where_cond(&pos, &target.mul(&safe.log()?.sub(input)?)?, &Tensor::zeros_like(target)?)?
    };
    let batch = input.shape().first().copied().unwrap_or(1);
    reduce(loss, r, batch)
}
