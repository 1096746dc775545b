//! `_C._nn`'s losses and distances: each a direct call of Ember's Rust loss with torch's
//! reduction string (`"none" | "mean" | "sum"`, and `"batchmean"` for `kl_div`).

use super::{opt, wrap, R};
use crate::args::maybe_detach;
use crate::tensor::PyTensor;
use ember::nn::functional::{self as F, CrossEntropyOptions, Reduction};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type T<'py> = PyRef<'py, PyTensor>;
type OptT<'py> = Option<PyRef<'py, PyTensor>>;

/// torch's `reduction=` string.
fn reduction(r: &str) -> PyResult<Reduction> {
    match r {
        "none" => Ok(Reduction::None),
        "mean" => Ok(Reduction::Mean),
        "sum" => Ok(Reduction::Sum),
        "batchmean" => Ok(Reduction::BatchMean),
        other => Err(PyValueError::new_err(format!("{other} is not a valid value for reduction"))),
    }
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy(
    py: Python<'_>,
    input: T<'_>,
    target: T<'_>,
    weight: OptT<'_>,
    ignore_index: i64,
    reduction_: &str,
    label_smoothing: f64,
) -> R {
    let o =
        CrossEntropyOptions { weight: opt(weight), ignore_index, reduction: reduction(reduction_)?, label_smoothing };
    let (x, t) = (input.t.clone(), target.t.clone());
    wrap(maybe_detach(py, x.numel(), || F::cross_entropy_with(&x, &t, o)))
}

#[pyfunction]
pub fn nll_loss(input: T<'_>, target: T<'_>, weight: OptT<'_>, ignore_index: i64, reduction_: &str) -> R {
    let o = CrossEntropyOptions {
        weight: opt(weight),
        ignore_index,
        reduction: reduction(reduction_)?,
        label_smoothing: 0.0,
    };
    wrap(F::nll_loss_with(&input.t, &target.t, o))
}

/// The losses of `(input, target, reduction)` with no other options, by name.
#[pyfunction]
pub fn simple_loss(name: &str, input: T<'_>, target: T<'_>, reduction_: &str) -> R {
    let (x, y, r) = (&input.t, &target.t, reduction(reduction_)?);
    wrap(match name {
        "mse_loss" => F::mse_loss_with(x, y, r),
        "l1_loss" => F::l1_loss_with(x, y, r),
        "soft_margin_loss" => F::soft_margin_loss(x, y, r),
        "multilabel_margin_loss" => F::multilabel_margin_loss(x, y, r),
        other => return Err(PyValueError::new_err(format!("unknown loss {other:?}"))),
    })
}

#[pyfunction]
pub fn smooth_l1_loss(input: T<'_>, target: T<'_>, reduction_: &str, beta: f64) -> R {
    wrap(F::smooth_l1_loss_with(&input.t, &target.t, beta, reduction(reduction_)?))
}

#[pyfunction]
pub fn huber_loss(input: T<'_>, target: T<'_>, reduction_: &str, delta: f64) -> R {
    wrap(F::huber_loss_with(&input.t, &target.t, delta, reduction(reduction_)?))
}

#[pyfunction]
pub fn binary_cross_entropy(input: T<'_>, target: T<'_>, weight: OptT<'_>, reduction_: &str) -> R {
    wrap(F::binary_cross_entropy_with(&input.t, &target.t, opt(weight).as_ref(), reduction(reduction_)?))
}

#[pyfunction]
pub fn binary_cross_entropy_with_logits(
    input: T<'_>,
    target: T<'_>,
    weight: OptT<'_>,
    reduction_: &str,
    pos_weight: OptT<'_>,
) -> R {
    let (w, pw) = (opt(weight), opt(pos_weight));
    wrap(F::binary_cross_entropy_with_logits_with(&input.t, &target.t, w.as_ref(), pw.as_ref(), reduction(reduction_)?))
}

#[pyfunction]
pub fn kl_div(input: T<'_>, target: T<'_>, reduction_: &str, log_target: bool) -> R {
    wrap(F::kl_div_with(&input.t, &target.t, reduction(reduction_)?, log_target))
}

#[pyfunction]
pub fn poisson_nll_loss(input: T<'_>, target: T<'_>, log_input: bool, full: bool, eps: f64, reduction_: &str) -> R {
    wrap(F::poisson_nll_loss(&input.t, &target.t, log_input, full, eps, reduction(reduction_)?))
}

#[pyfunction]
pub fn gaussian_nll_loss(input: T<'_>, target: T<'_>, var: T<'_>, full: bool, eps: f64, reduction_: &str) -> R {
    wrap(F::gaussian_nll_loss(&input.t, &target.t, &var.t, full, eps, reduction(reduction_)?))
}

#[pyfunction]
pub fn margin_ranking_loss(x1: T<'_>, x2: T<'_>, target: T<'_>, margin: f64, reduction_: &str) -> R {
    wrap(F::margin_ranking_loss(&x1.t, &x2.t, &target.t, margin, reduction(reduction_)?))
}

#[pyfunction]
pub fn hinge_embedding_loss(input: T<'_>, target: T<'_>, margin: f64, reduction_: &str) -> R {
    wrap(F::hinge_embedding_loss(&input.t, &target.t, margin, reduction(reduction_)?))
}

#[pyfunction]
pub fn cosine_embedding_loss(x1: T<'_>, x2: T<'_>, target: T<'_>, margin: f64, reduction_: &str) -> R {
    wrap(F::cosine_embedding_loss(&x1.t, &x2.t, &target.t, margin, reduction(reduction_)?))
}

#[pyfunction]
pub fn multilabel_soft_margin_loss(input: T<'_>, target: T<'_>, weight: OptT<'_>, reduction_: &str) -> R {
    wrap(F::multilabel_soft_margin_loss(&input.t, &target.t, opt(weight).as_ref(), reduction(reduction_)?))
}

#[pyfunction]
pub fn multi_margin_loss(input: T<'_>, target: T<'_>, p: u32, margin: f64, weight: OptT<'_>, reduction_: &str) -> R {
    wrap(F::multi_margin_loss(&input.t, &target.t, p, margin, opt(weight).as_ref(), reduction(reduction_)?))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn triplet_margin_loss(
    anchor: T<'_>,
    positive: T<'_>,
    negative: T<'_>,
    margin: f64,
    p: f64,
    eps: f64,
    swap: bool,
    reduction_: &str,
) -> R {
    wrap(F::triplet_margin_loss(&anchor.t, &positive.t, &negative.t, margin, p, eps, swap, reduction(reduction_)?))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn ctc_loss(
    log_probs: T<'_>,
    targets: T<'_>,
    input_lengths: Vec<usize>,
    target_lengths: Vec<usize>,
    blank: usize,
    reduction_: &str,
    zero_infinity: bool,
) -> R {
    let r = reduction(reduction_)?;
    wrap(F::ctc_loss(&log_probs.t, &targets.t, &input_lengths, &target_lengths, blank, r, zero_infinity))
}

#[pyfunction]
pub fn cosine_similarity(x1: T<'_>, x2: T<'_>, dim: isize, eps: f64) -> R {
    wrap(F::cosine_similarity(&x1.t, &x2.t, dim, eps))
}

#[pyfunction]
pub fn pairwise_distance(x1: T<'_>, x2: T<'_>, p: f64, eps: f64, keepdim: bool) -> R {
    wrap(F::pairwise_distance(&x1.t, &x2.t, p, eps, keepdim))
}

/// Registers this file's functions on `_C._nn`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    macro_rules! functions {
        ($($f:ident),* $(,)?) => {$( m.add_function(wrap_pyfunction!($f, m)?)?; )*};
    }
    functions!(
        cross_entropy,
        nll_loss,
        simple_loss,
        smooth_l1_loss,
        huber_loss,
        binary_cross_entropy,
        binary_cross_entropy_with_logits,
        kl_div,
        poisson_nll_loss,
        gaussian_nll_loss,
        margin_ranking_loss,
        hinge_embedding_loss,
        cosine_embedding_loss,
        multilabel_soft_margin_loss,
        multi_margin_loss,
        triplet_margin_loss,
        ctc_loss,
        cosine_similarity,
        pairwise_distance,
    );
    Ok(())
}
