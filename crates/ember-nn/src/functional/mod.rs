//! `torch.nn.functional`: stateless versions of every layer, plus losses ([`loss`]),
//! margin/ranking/likelihood losses and distances ([`ranking`]), activations ([`activation`]) and convolution/pooling ([`conv`]). Layers call these, so each formula exists once.

pub mod activation;
pub mod conv;
pub mod conv_transpose;
pub mod ctc;
pub mod dropout;
pub mod embedding;
pub mod grid;
pub mod loss;
pub mod norm;
pub mod pad;
pub mod pool;
pub mod ranking;
pub(crate) mod resample;
pub mod upsample;

pub use activation::*;
pub use conv::{adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool2d};
pub use conv_transpose::{conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d};
pub use ctc::ctc_loss;
pub use dropout::{alpha_dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout, feature_dropout};
pub use embedding::{embedding_bag, embedding_renorm_, embedding_with, BagMode, EmbeddingOptions};
pub use grid::{affine_grid, grid_sample, GridMode, GridPadding};
pub use loss::*;
pub use norm::{batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, rms_norm};
pub use pad::{pad_with, PadMode};
pub use pool::{
    adaptive_pool, avg_pool1d, avg_pool2d_ext, avg_pool3d, lp_pool1d, lp_pool2d, max_pool1d, max_pool2d_ext,
    max_pool2d_with_indices, max_pool3d, max_unpool2d,
};
pub use ranking::*;

pub use upsample::{interpolate, interpolate_with, pixel_shuffle, pixel_unshuffle, InterpolateMode};

use ember_core::{DType, Error, Result, Tensor};

/// `x W^T + b`.
#[track_caller]
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    x.linear(weight, bias)
}

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    x.relu()
}

/// GELU (exact).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    x.gelu()
}

/// SiLU.
pub fn silu(x: &Tensor) -> Result<Tensor> {
    x.silu()
}

/// Softmax over `dim`.
pub fn softmax(x: &Tensor, dim: isize) -> Result<Tensor> {
    x.softmax(dim)
}

/// Log-softmax over `dim`.
pub fn log_softmax(x: &Tensor, dim: isize) -> Result<Tensor> {
    x.log_softmax(dim)
}

/// `x` with each element zeroed with probability `p` and the rest scaled by `1/(1-p)` when
/// `training`; the identity otherwise. Draws from the global generator (`manual_seed`).
#[track_caller]
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::value("dropout", format!("dropout probability has to be between 0 and 1, but got {p}")));
    }
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    if p == 1.0 {
        return x.mul_scalar(0.0);
    }
    let keep = Tensor::rand(x.shape(), DType::F32)?.ge_scalar(p)?;
    x.mul(&keep.to_dtype(x.dtype())?)?.mul_scalar(1.0 / (1.0 - p))
}

/// Rows of `weight` picked by the integer tensor `idx` (shape `idx.shape + [dim]`). Rows at
/// `padding_idx` get no gradient.
#[track_caller]
pub fn embedding(idx: &Tensor, weight: &Tensor, padding_idx: Option<usize>) -> Result<Tensor> {
    if weight.dim() != 2 {
        return Err(Error::shape(
            "embedding",
            format!("weight must be 2-D [num_embeddings, dim], got {:?}", weight.shape()),
        ));
    }
    let flat = idx.reshape(&[-1])?;
    let rows = weight.index_select(0, &flat)?;
    let mut shape: Vec<isize> = idx.shape().iter().map(|&d| d as isize).collect();
    shape.push(weight.shape()[1] as isize);
    let out = rows.reshape(&shape)?;
    match padding_idx {
        Some(p) => {
            // Same values, but the gradient is cut where idx == padding_idx.
            let keep = idx.ne_scalar(p as f64)?.unsqueeze(-1)?;
            Tensor::where_cond(&keep, &out, &out.detach())
        }
        None => Ok(out),
    }
}

/// One-hot encoding of class indices: `[.., num_classes]` int64.
#[track_caller]
pub fn one_hot(idx: &Tensor, num_classes: usize) -> Result<Tensor> {
    if idx.dtype() != DType::I64 && idx.dtype() != DType::I32 {
        return Err(Error::dtype(
            "one_hot",
            format!("one_hot is only applicable to index tensors, got {}", idx.dtype()),
        ));
    }
    let classes = Tensor::arange(0.0, num_classes as f64, 1.0, DType::I64)?;
    let max = if idx.numel() > 0 { idx.to_dtype(DType::I64)?.max()?.item::<i64>()? } else { 0 };
    if max >= num_classes as i64 || (idx.numel() > 0 && idx.to_dtype(DType::I64)?.min()?.item::<i64>()? < 0) {
        return Err(Error::index("one_hot", format!("class values must be in [0, {num_classes}), got max {max}")));
    }
    idx.to_dtype(DType::I64)?.unsqueeze(-1)?.eq(&classes)?.to_dtype(DType::I64)
}

/// Constant padding: `pads` lists (before, after) pairs starting from the last dim, as
/// `torch.nn.functional.pad(x, pads, value=value)` (every mode in [`pad_with`]).
#[track_caller]
pub fn pad(x: &Tensor, pads: &[usize], value: f64) -> Result<Tensor> {
    let signed: Vec<isize> = pads
        .iter()
        .map(|&p| isize::try_from(p))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::shape("pad", format!("padding {pads:?} is too large")))?;
    pad_with(x, &signed, PadMode::Constant(value))
}

/// Attention `softmax(q k^T * scale + mask) v` over the last two dims: q `[.., L, E]`,
/// k `[.., S, E]`, v `[.., S, Ev]`. A bool mask is true where attention is allowed; a float mask
/// is added to the scores. `is_causal` masks keys after each query. `scale` defaults to
/// `1/sqrt(E)`.
#[track_caller]
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    is_causal: bool,
    scale: Option<f64>,
) -> Result<Tensor> {
    scaled_dot_product_attention_with(q, k, v, SdpaOptions { attn_mask: mask, is_causal, scale, ..Default::default() })
}

/// `F.scaled_dot_product_attention`'s keyword arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct SdpaOptions<'a> {
    pub attn_mask: Option<&'a Tensor>,
    /// Dropout on the attention weights (always applied when positive, as PyTorch's
    /// functional form).
    pub dropout_p: f64,
    pub is_causal: bool,
    pub scale: Option<f64>,
    /// Grouped-query attention: `k`/`v` have fewer heads (dim -3) than `q`, each shared by
    /// `H_q / H_kv` query heads.
    pub enable_gqa: bool,
}

/// `F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale,
/// enable_gqa)`.
#[track_caller]
pub fn scaled_dot_product_attention_with(q: &Tensor, k: &Tensor, v: &Tensor, o: SdpaOptions) -> Result<Tensor> {
    let op = "scaled_dot_product_attention";
    if q.dim() < 2 || k.dim() < 2 || v.dim() < 2 {
        return Err(Error::shape(
            op,
            format!("q, k, v need at least 2 dims: {:?} {:?} {:?}", q.shape(), k.shape(), v.shape()),
        ));
    }
    if !(0.0..=1.0).contains(&o.dropout_p) {
        return Err(Error::value(op, format!("dropout_p must be in [0, 1], got {}", o.dropout_p)));
    }
    if o.is_causal && o.attn_mask.is_some() {
        return Err(Error::value(op, "Explicit attn_mask should not be set when is_causal=True"));
    }
    let (mut k, mut v) = (k.clone(), v.clone());
    if o.enable_gqa && q.dim() >= 3 && k.dim() >= 3 {
        let (hq, hk) = (q.shape()[q.dim() - 3], k.shape()[k.dim() - 3]);
        if hk == 0 || !hq.is_multiple_of(hk) {
            return Err(Error::shape(op, format!("query heads ({hq}) must be a multiple of key/value heads ({hk})")));
        }
        if hq != hk {
            k = k.repeat_interleave(&[hq / hk], Some(-3))?;
            v = v.repeat_interleave(&[hq / hk], Some(-3))?;
        }
    }
    let e = *q.shape().last().unwrap_or(&1);
    let scale = o.scale.unwrap_or(1.0 / (e as f64).sqrt());
    // One node, head by head (f32/f64, same leading dims, a mask that broadcasts).
    if let Some(y) = ember_core::fused::sdpa_node(q, &k, &v, o.attn_mask, o.is_causal, scale, o.dropout_p)? {
        return Ok(y);
    }
    let mut scores = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(scale)?;
    let (l, s) = (q.shape()[q.dim() - 2], k.shape()[k.dim() - 2]);
    if o.is_causal {
        let allowed = Tensor::ones(&[l, s], DType::Bool)?.tril(0)?;
        scores = scores.masked_fill(&allowed.logical_not()?, f64::NEG_INFINITY)?;
    }
    if let Some(m) = o.attn_mask {
        scores = if m.dtype() == DType::Bool {
            scores.masked_fill(&m.logical_not()?, f64::NEG_INFINITY)?
        } else {
            scores.add(m)?
        };
    }
    // A query that sees no key gets zero weights (PyTorch's `_safe_softmax`), not NaN.
    let attn = ember_core::fused::safe_softmax(&scores)?;
    let attn = if o.dropout_p > 0.0 { dropout(&attn, o.dropout_p, true)? } else { attn };
    attn.matmul(&v)
}
