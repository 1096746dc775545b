//! `_C._nn`'s normalisation, dropout, activation, embedding, attention and recurrent entry
//! points: each a direct call of Ember's Rust functional (`ember::nn::functional`) or fused
//! node (`ember::fused::rnn`), with arguments already normalised by `ember/nn/functional`.

use super::{opt, wrap, R};
use crate::args::maybe_detach;
use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::fused::rnn::{rnn_layer as fused_rnn_layer, RnnMode, RnnWeights};
use ember::nn::functional as F;
use ember::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type T<'py> = PyRef<'py, PyTensor>;
type OptT<'py> = Option<PyRef<'py, PyTensor>>;

#[pyfunction]
pub fn linear(py: Python<'_>, x: T<'_>, w: T<'_>, b: OptT<'_>) -> R {
    let (x, w, b) = (x.t.clone(), w.t.clone(), opt(b));
    let work = x.numel().saturating_mul(w.shape().first().copied().unwrap_or(1));
    wrap(maybe_detach(py, work, || F::linear(&x, &w, b.as_ref())))
}

#[pyfunction]
pub fn bilinear(x1: T<'_>, x2: T<'_>, w: T<'_>, b: OptT<'_>) -> R {
    // y[n, o] = x1[n, i] W[o, i, j] x2[n, j] + b[o]
    let r = Tensor::einsum("ni,oij,nj->no", &[&x1.t, &w.t, &x2.t]);
    wrap(match opt(b) {
        Some(b) => r.and_then(|y| y.add(&b)),
        None => r,
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    py: Python<'_>,
    x: T<'_>,
    running_mean: OptT<'_>,
    running_var: OptT<'_>,
    weight: OptT<'_>,
    bias: OptT<'_>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> R {
    let (x, rm, rv, w, b) = (x.t.clone(), opt(running_mean), opt(running_var), opt(weight), opt(bias));
    wrap(maybe_detach(py, x.numel(), || {
        F::batch_norm(&x, rm.as_ref(), rv.as_ref(), w.as_ref(), b.as_ref(), training, momentum, eps)
    }))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn instance_norm(
    x: T<'_>,
    running_mean: OptT<'_>,
    running_var: OptT<'_>,
    weight: OptT<'_>,
    bias: OptT<'_>,
    use_input_stats: bool,
    momentum: f64,
    eps: f64,
) -> R {
    let (rm, rv, w, b) = (opt(running_mean), opt(running_var), opt(weight), opt(bias));
    wrap(F::instance_norm(&x.t, rm.as_ref(), rv.as_ref(), w.as_ref(), b.as_ref(), use_input_stats, momentum, eps))
}

#[pyfunction]
pub fn layer_norm(py: Python<'_>, x: T<'_>, shape: Vec<usize>, weight: OptT<'_>, bias: OptT<'_>, eps: f64) -> R {
    let (x, w, b) = (x.t.clone(), opt(weight), opt(bias));
    wrap(maybe_detach(py, x.numel(), || F::layer_norm(&x, &shape, w.as_ref(), b.as_ref(), eps)))
}

#[pyfunction]
pub fn rms_norm(x: T<'_>, shape: Vec<usize>, weight: OptT<'_>, eps: Option<f64>) -> R {
    wrap(F::rms_norm(&x.t, &shape, opt(weight).as_ref(), eps))
}

#[pyfunction]
pub fn group_norm(x: T<'_>, num_groups: usize, weight: OptT<'_>, bias: OptT<'_>, eps: f64) -> R {
    wrap(F::group_norm(&x.t, num_groups, opt(weight).as_ref(), opt(bias).as_ref(), eps))
}

#[pyfunction]
pub fn local_response_norm(x: T<'_>, size: usize, alpha: f64, beta: f64, k: f64) -> R {
    wrap(F::local_response_norm(&x.t, size, alpha, beta, k))
}

/// The dropout family by name: `dropout`, `dropout1d/2d/3d`, `alpha_dropout`,
/// `feature_alpha_dropout`.
#[pyfunction]
pub fn dropout(kind: &str, x: T<'_>, p: f64, training: bool) -> R {
    let x = &x.t;
    wrap(match kind {
        "dropout" => F::dropout(x, p, training),
        "dropout1d" => F::dropout1d(x, p, training),
        "dropout2d" => F::dropout2d(x, p, training),
        "dropout3d" => F::dropout3d(x, p, training),
        "alpha_dropout" => F::alpha_dropout(x, p, training),
        "feature_alpha_dropout" => F::feature_alpha_dropout(x, p, training),
        other => return Err(PyValueError::new_err(format!("unknown dropout kind {other:?}"))),
    })
}

/// Activations with up to two scalar parameters, by torch's functional name.
#[pyfunction]
#[pyo3(signature = (name, x, a=0.0, b=0.0))]
pub fn activation(name: &str, x: T<'_>, a: f64, b: f64) -> R {
    let x = &x.t;
    wrap(match name {
        "leaky_relu" => F::leaky_relu(x, a),
        "elu" => F::elu(x, a),
        "selu" => F::selu(x),
        "celu" => F::celu(x, a),
        "softplus" => F::softplus(x, a, b),
        "softsign" => F::softsign(x),
        "hardtanh" => F::hardtanh(x, a, b),
        "relu6" => F::relu6(x),
        "hardsigmoid" => F::hardsigmoid(x),
        "hardswish" => F::hardswish(x),
        "mish" => F::mish(x),
        "logsigmoid" => F::logsigmoid(x),
        "tanhshrink" => F::tanhshrink(x),
        "softshrink" => F::softshrink(x, a),
        "hardshrink" => F::hardshrink(x, a),
        "threshold" => F::threshold(x, a, b),
        "glu" => F::glu(x, a as isize),
        "softmin" => F::softmin(x, a as isize),
        "softmax2d" => F::softmax2d(x),
        other => return Err(PyValueError::new_err(format!("unknown activation {other:?}"))),
    })
}

#[pyfunction]
pub fn prelu(x: T<'_>, weight: T<'_>) -> R {
    wrap(F::prelu(&x.t, &weight.t))
}

#[pyfunction]
pub fn rrelu(x: T<'_>, lower: f64, upper: f64, training: bool) -> R {
    wrap(F::rrelu(&x.t, lower, upper, training))
}

#[pyfunction]
pub fn embedding(
    idx: T<'_>,
    weight: T<'_>,
    padding_idx: Option<usize>,
    max_norm: Option<f64>,
    norm_type: f64,
    scale_grad_by_freq: bool,
) -> R {
    let o = F::EmbeddingOptions { padding_idx, max_norm, norm_type, scale_grad_by_freq };
    wrap(F::embedding_with(&idx.t, &weight.t, o))
}

#[pyfunction]
pub fn embedding_renorm_(weight: T<'_>, idx: T<'_>, max_norm: f64, norm_type: f64) -> PyResult<()> {
    let ids = idx.t.to_dtype(ember::DType::I64).and_then(|t| t.contiguous()?.to_vec::<i64>()).py()?;
    F::embedding_renorm_(&weight.t, &ids, max_norm, norm_type).py()
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn embedding_bag(
    input: T<'_>,
    weight: T<'_>,
    offsets: OptT<'_>,
    mode: &str,
    per_sample_weights: OptT<'_>,
    include_last_offset: bool,
    padding_idx: Option<usize>,
) -> R {
    let mode = F::BagMode::parse(mode).py()?;
    let (off, psw) = (opt(offsets), opt(per_sample_weights));
    wrap(F::embedding_bag(&input.t, &weight.t, off.as_ref(), mode, psw.as_ref(), include_last_offset, padding_idx))
}

#[pyfunction]
pub fn one_hot(idx: T<'_>, num_classes: usize) -> R {
    wrap(F::one_hot(&idx.t, num_classes))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn scaled_dot_product_attention(
    py: Python<'_>,
    q: T<'_>,
    k: T<'_>,
    v: T<'_>,
    attn_mask: OptT<'_>,
    dropout_p: f64,
    is_causal: bool,
    scale: Option<f64>,
    enable_gqa: bool,
) -> R {
    let (q, k, v, m) = (q.t.clone(), k.t.clone(), v.t.clone(), opt(attn_mask));
    let work = q.numel().saturating_mul(k.shape().get(k.dim().wrapping_sub(2)).copied().unwrap_or(1));
    wrap(maybe_detach(py, work, || {
        let o = F::SdpaOptions { attn_mask: m.as_ref(), dropout_p, is_causal, scale, enable_gqa };
        F::scaled_dot_product_attention_with(&q, &k, &v, o)
    }))
}

/// One recurrent layer in one direction as one fused node: `x [T, N, I]`, states `h0 [N, P]`
/// (and `c0 [N, H]` for an LSTM); returns `(output [T, N, P], h_n, c_n or None)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse, batch_sizes=None))]
pub fn rnn_layer(
    py: Python<'_>,
    mode: &str,
    x: T<'_>,
    h0: T<'_>,
    c0: OptT<'_>,
    w_ih: T<'_>,
    w_hh: T<'_>,
    b_ih: OptT<'_>,
    b_hh: OptT<'_>,
    w_hr: OptT<'_>,
    reverse: bool,
    batch_sizes: Option<Vec<usize>>,
) -> PyResult<Py<PyAny>> {
    let mode = match mode {
        "RNN_TANH" => RnnMode::RnnTanh,
        "RNN_RELU" => RnnMode::RnnRelu,
        "LSTM" => RnnMode::Lstm,
        "GRU" => RnnMode::Gru,
        other => return Err(PyValueError::new_err(format!("Unknown mode '{other}'"))),
    };
    let (x, h0, c0) = (x.t.clone(), h0.t.clone(), opt(c0));
    let (w_ih, w_hh, b_ih, b_hh, w_hr) = (w_ih.t.clone(), w_hh.t.clone(), opt(b_ih), opt(b_hh), opt(w_hr));
    let work = x.numel().saturating_mul(w_ih.shape().first().copied().unwrap_or(1));
    let out = maybe_detach(py, work, || {
        let w = RnnWeights { w_ih: &w_ih, w_hh: &w_hh, b_ih: b_ih.as_ref(), b_hh: b_hh.as_ref(), w_hr: w_hr.as_ref() };
        fused_rnn_layer(mode, &x, &h0, c0.as_ref(), w, reverse, batch_sizes.as_deref())
    })
    .py()?;
    let c = match out.c_n {
        Some(c) => Py::new(py, PyTensor::new(c))?.into_any(),
        None => py.None(),
    };
    let (o, h) = (Py::new(py, PyTensor::new(out.output))?.into_any(), Py::new(py, PyTensor::new(out.h_n))?.into_any());
    Ok(pyo3::types::PyTuple::new(py, [o, h, c])?.into_any().unbind())
}

/// `clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)`: scales every
/// gradient in place so their total `norm_type`-norm is at most `max_norm`; returns the total
/// norm before clipping.
#[pyfunction]
pub fn clip_grad_norm(
    py: Python<'_>,
    params: &Bound<'_, PyAny>,
    max_norm: f64,
    norm_type: f64,
    error_if_nonfinite: bool,
) -> PyResult<f64> {
    let ps = crate::methods::tensor_list(params, "clip_grad_norm_(): parameters")?;
    let work: usize = ps.iter().map(|p| p.numel()).sum();
    maybe_detach(py, work, || ember::nn::utils::clip_grad_norm_with(&ps, max_norm, norm_type, error_if_nonfinite)).py()
}

/// Registers this file's functions on `_C._nn`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    macro_rules! functions {
        ($($f:ident),* $(,)?) => {$( m.add_function(wrap_pyfunction!($f, m)?)?; )*};
    }
    functions!(
        linear,
        bilinear,
        batch_norm,
        instance_norm,
        layer_norm,
        rms_norm,
        group_norm,
        local_response_norm,
        dropout,
        activation,
        prelu,
        rrelu,
        embedding,
        embedding_renorm_,
        embedding_bag,
        one_hot,
        scaled_dot_product_attention,
        rnn_layer,
        clip_grad_norm,
    );
    Ok(())
}
