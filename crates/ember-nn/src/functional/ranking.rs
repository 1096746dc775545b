//! Margin, ranking and embedding losses, likelihood losses of counts and of Gaussians, and the
//! distances they use (`cosine_similarity`, `pairwise_distance`), with PyTorch's formulas and
//! defaults. All are written from differentiable tensor ops.

use super::loss::{reduce, Reduction};
use ember_core::{DType, Error, Result, Tensor};

#[track_caller]
fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(op, format!("shapes {:?} and {:?} must match", a.shape(), b.shape())));
    }
    Ok(())
}

/// `cos` of the angle between `x1` and `x2` along `dim`; each norm is clamped at `eps`.
#[track_caller]
pub fn cosine_similarity(x1: &Tensor, x2: &Tensor, dim: isize, eps: f64) -> Result<Tensor> {
    let n1 = x1.vector_norm(2.0, &[dim], true)?.clamp(Some(eps), None)?;
    let n2 = x2.vector_norm(2.0, &[dim], true)?.clamp(Some(eps), None)?;
    x1.div(&n1)?.mul(&x2.div(&n2)?)?.sum_dim(dim, false)
}

/// `|| x1 - x2 + eps ||_p` over the last dim.
#[track_caller]
pub fn pairwise_distance(x1: &Tensor, x2: &Tensor, p: f64, eps: f64, keepdim: bool) -> Result<Tensor> {
    x1.sub(x2)?.add_scalar(eps)?.vector_norm(p, &[-1], keepdim)
}

/// `max(0, -y (x1 - x2) + margin)`, `y` in `{1, -1}`.
#[track_caller]
pub fn margin_ranking_loss(x1: &Tensor, x2: &Tensor, y: &Tensor, margin: f64, r: Reduction) -> Result<Tensor> {
    reduce(y.neg()?.mul(&x1.sub(x2)?)?.add_scalar(margin)?.relu()?, r, 1)
}

/// `x` where `y = 1`, `max(0, margin - x)` where `y = -1`.
#[track_caller]
pub fn hinge_embedding_loss(x: &Tensor, y: &Tensor, margin: f64, r: Reduction) -> Result<Tensor> {
    let zero = Tensor::zeros_like(x)?;
    let m = x.neg()?.add_scalar(margin)?.relu()?;
    let loss =
        Tensor::where_cond(&y.ne_scalar(1.0)?, &m, &zero)?.add(&Tensor::where_cond(&y.ne_scalar(-1.0)?, x, &zero)?)?;
    reduce(loss, r, 1)
}

/// `log(1 + exp(-y x))`, `y` in `{1, -1}`.
#[track_caller]
pub fn soft_margin_loss(x: &Tensor, y: &Tensor, r: Reduction) -> Result<Tensor> {
    same_shape("soft_margin_loss", x, y)?;
    reduce(super::softplus(&y.neg()?.mul(x)?, 1.0, f64::INFINITY)?, r, 1)
}

/// `-(y log σ(x) + (1 - y) log σ(-x))` averaged over the classes (last dim), optionally weighted.
#[track_caller]
pub fn multilabel_soft_margin_loss(x: &Tensor, y: &Tensor, weight: Option<&Tensor>, r: Reduction) -> Result<Tensor> {
    same_shape("multilabel_soft_margin_loss", x, y)?;
    let pos = y.mul(&super::logsigmoid(x)?)?;
    let neg = y.neg()?.add_scalar(1.0)?.mul(&super::logsigmoid(&x.neg()?)?)?;
    let mut loss = pos.add(&neg)?.neg()?;
    if let Some(w) = weight {
        loss = loss.mul(w)?;
    }
    let c = x.shape().last().copied().unwrap_or(1).max(1);
    reduce(loss.sum_dim(-1, false)?.mul_scalar(1.0 / c as f64)?, r, 1)
}

/// `1 - cos(x1, x2)` where `y = 1`, `max(0, cos(x1, x2) - margin)` where `y = -1` (rows of
/// `[N, D]` or one pair `[D]`).
#[track_caller]
pub fn cosine_embedding_loss(x1: &Tensor, x2: &Tensor, y: &Tensor, margin: f64, r: Reduction) -> Result<Tensor> {
    same_shape("cosine_embedding_loss", x1, x2)?;
    if !(1..=2).contains(&x1.dim()) {
        return Err(Error::shape("cosine_embedding_loss", format!("expected 1D or 2D inputs, got {:?}", x1.shape())));
    }
    // PyTorch's own formula: squared magnitudes plus 1e-12, then one square root.
    let d = x1.dim() as isize - 1;
    let prod = x1.mul(x2)?.sum_dim(d, false)?;
    let m1 = x1.square()?.sum_dim(d, false)?.add_scalar(1e-12)?;
    let m2 = x2.square()?.sum_dim(d, false)?.add_scalar(1e-12)?;
    let cos = prod.div(&m1.mul(&m2)?.sqrt()?)?;
    let zero = Tensor::zeros_like(&cos)?;
    let pos = Tensor::where_cond(&y.eq_scalar(1.0)?, &cos.neg()?.add_scalar(1.0)?, &zero)?;
    let neg = Tensor::where_cond(&y.eq_scalar(-1.0)?, &cos.sub_scalar(margin)?.relu()?, &zero)?;
    reduce(pos.add(&neg)?, r, 1)
}

/// `max(0, margin + d(a, p) - d(a, n))` with `d` the `p`-norm distance; `swap` uses
/// `min(d(a, n), d(p, n))` as the negative distance.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn triplet_margin_loss(
    anchor: &Tensor,
    positive: &Tensor,
    negative: &Tensor,
    margin: f64,
    p: f64,
    eps: f64,
    swap: bool,
    r: Reduction,
) -> Result<Tensor> {
    let d_pos = pairwise_distance(anchor, positive, p, eps, false)?;
    let mut d_neg = pairwise_distance(anchor, negative, p, eps, false)?;
    if swap {
        d_neg = d_neg.minimum(&pairwise_distance(positive, negative, p, eps, false)?)?;
    }
    reduce(d_pos.sub(&d_neg)?.add_scalar(margin)?.relu()?, r, 1)
}

/// Class indices of `target [N]` as `[N, 1]` i64, checked against `c` classes.
#[track_caller]
fn class_index(op: &'static str, target: &Tensor, n: usize, c: usize) -> Result<Tensor> {
    if target.dtype().is_float() || target.shape() != [n] {
        return Err(Error::shape(
            op,
            format!("expected integer targets of shape [{n}], got {:?} {:?}", target.dtype(), target.shape()),
        ));
    }
    let t = target.to_dtype(DType::I64)?;
    if t.to_vec::<i64>()?.iter().any(|&v| v < 0 || v as usize >= c) {
        return Err(Error::index(op, format!("target out of bounds for {c} classes")));
    }
    t.reshape(&[n as isize, 1])
}

/// The multi-class hinge: `sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C` per row of
/// `x [N, C]` (or one row `[C]`).
#[track_caller]
pub fn multi_margin_loss(
    x: &Tensor,
    target: &Tensor,
    p: u32,
    margin: f64,
    weight: Option<&Tensor>,
    r: Reduction,
) -> Result<Tensor> {
    let op = "multi_margin_loss";
    if p != 1 && p != 2 {
        return Err(Error::value(op, "only p == 1 and p == 2 supported"));
    }
    let x2 = if x.dim() == 1 { x.unsqueeze(0)? } else { x.clone() };
    if x2.dim() != 2 {
        return Err(Error::shape(op, format!("expected input [N, C] or [C], got {:?}", x.shape())));
    }
    let (n, c) = (x2.shape()[0], x2.shape()[1]);
    let t = class_index(op, &target.reshape(&[n as isize])?, n, c)?;
    let xy = x2.gather(1, &t)?; // [N, 1]
    let mut m = x2.sub(&xy)?.add_scalar(margin)?.relu()?;
    if p == 2 {
        m = m.square()?;
    }
    if let Some(w) = weight {
        m = m.mul(&w.index_select(0, &t.reshape(&[n as isize])?)?.unsqueeze(1)?)?;
    }
    // The i = y term is max(0, margin)^p * w[y]: removed by masking it out.
    let not_y = Tensor::arange(0.0, c as f64, 1.0, DType::I64)?.unsqueeze(0)?.ne(&t)?.to_dtype(m.dtype())?;
    let loss = m.mul(&not_y)?.sum_dim(1, false)?.mul_scalar(1.0 / c as f64)?;
    let loss = if x.dim() == 1 { loss.squeeze_dim(0)? } else { loss };
    reduce(loss, r, 1)
}

/// The multi-label hinge: for each row, targets are the class indices of `target` up to the
/// first `-1`; `sum_{j in targets, i not in targets} max(0, 1 - (x[j] - x[i])) / C`.
#[track_caller]
pub fn multilabel_margin_loss(x: &Tensor, target: &Tensor, r: Reduction) -> Result<Tensor> {
    let op = "multilabel_margin_loss";
    let x2 = if x.dim() == 1 { x.unsqueeze(0)? } else { x.clone() };
    if x2.dim() != 2 || target.shape() != x.shape() || target.dtype().is_float() {
        return Err(Error::shape(
            op,
            format!(
                "expected input [N, C] and integer target of the same shape, got {:?} and {:?}",
                x.shape(),
                target.shape()
            ),
        ));
    }
    let (n, c) = (x2.shape()[0], x2.shape()[1]);
    let t: Vec<i64> = target.to_dtype(DType::I64)?.contiguous()?.to_vec()?;
    let (mut idx, mut valid, mut is_target) = (vec![0i64; n * c], vec![0f64; n * c], vec![0f64; n * c]);
    for row in 0..n {
        for j in 0..c {
            let v = t[row * c + j];
            if v < 0 {
                break;
            }
            if v as usize >= c {
                return Err(Error::index(op, format!("target {v} out of bounds for {c} classes")));
            }
            idx[row * c + j] = v;
            valid[row * c + j] = 1.0;
            is_target[row * c + v as usize] = 1.0;
        }
    }
    let dt = x2.dtype();
    let idx = Tensor::from_vec(idx, &[n, c])?;
    let valid = Tensor::from_vec(valid, &[n, c, 1])?.to_dtype(dt)?;
    let others = Tensor::from_vec(is_target, &[n, 1, c])?.to_dtype(dt)?.neg()?.add_scalar(1.0)?;
    let xj = x2.gather(1, &idx)?.unsqueeze(2)?; // [N, C(j), 1]
    let hinge = x2.unsqueeze(1)?.sub(&xj)?.add_scalar(1.0)?.relu()?; // [N, C(j), C(i)]
    let loss = hinge.mul(&valid)?.mul(&others)?.sum_dims_keep(&[1, 2], false)?.mul_scalar(1.0 / c as f64)?;
    let loss = if x.dim() == 1 { loss.squeeze_dim(0)? } else { loss };
    reduce(loss, r, 1)
}

/// Poisson negative log likelihood: `exp(x) - y x` (`log_input`) or `x - y log(x + eps)`,
/// plus Stirling's term `y log y - y + log(2 pi y) / 2` for `y > 1` when `full`.
#[track_caller]
pub fn poisson_nll_loss(x: &Tensor, y: &Tensor, log_input: bool, full: bool, eps: f64, r: Reduction) -> Result<Tensor> {
    let mut loss = if log_input { x.exp()?.sub(&y.mul(x)?)? } else { x.sub(&y.mul(&x.add_scalar(eps)?.log()?)?)? };
    if full {
        let y = y.detach();
        let safe = Tensor::where_cond(&y.gt_scalar(1.0)?, &y, &Tensor::ones_like(&y)?)?;
        let stirling = safe
            .mul(&safe.log()?)?
            .sub(&safe)?
            .add(&safe.mul_scalar(2.0 * std::f64::consts::PI)?.log()?.mul_scalar(0.5)?)?;
        loss = loss.add(&Tensor::where_cond(&y.gt_scalar(1.0)?, &stirling, &Tensor::zeros_like(&y)?)?)?;
    }
    reduce(loss, r, 1)
}

/// Gaussian negative log likelihood `(log var + (x - y)^2 / var) / 2` (+ `log(2 pi) / 2` when
/// `full`); `var` is clamped at `eps` without stopping its gradient, as PyTorch does.
#[track_caller]
pub fn gaussian_nll_loss(x: &Tensor, y: &Tensor, var: &Tensor, full: bool, eps: f64, r: Reduction) -> Result<Tensor> {
    let op = "gaussian_nll_loss";
    // var may lack the last dim (one variance per row) or have it as 1.
    let var = if var.dim() + 1 == x.dim() && var.shape() == &x.shape()[..x.dim() - 1] {
        var.unsqueeze(-1)?
    } else {
        var.clone()
    };
    let fits = var.dim() == x.dim()
        && var.shape().iter().zip(x.shape()).enumerate().all(|(i, (&v, &s))| v == s || (i + 1 == x.dim() && v == 1));
    if !fits {
        return Err(Error::shape(op, format!("var {:?} is of incorrect size for input {:?}", var.shape(), x.shape())));
    }
    if var.to_dtype(DType::F64)?.to_vec::<f64>()?.iter().any(|&v| v < 0.0) {
        return Err(Error::value(op, "var has negative entry/entries"));
    }
    // var + (clamp(var) - var) detached: the clamped value with the identity gradient.
    let lift = var.detach().clamp(Some(eps), None)?.sub(&var.detach())?;
    let v = var.add(&lift)?;
    let mut loss = v.log()?.add(&x.sub(y)?.square()?.div(&v)?)?.mul_scalar(0.5)?;
    if full {
        loss = loss.add_scalar(0.5 * (2.0 * std::f64::consts::PI).ln())?;
    }
    reduce(loss, r, 1)
}
