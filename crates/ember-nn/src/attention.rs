//! `MultiheadAttention` with PyTorch's parameters and options: packed `in_proj_weight [3E, E]`
//! or separate `q/k/v_proj_weight` when `kdim`/`vdim` differ, `in_proj_bias`, `out_proj`,
//! `bias_k`/`bias_v` (`add_bias_kv`), `add_zero_attn`; bool or float masks (`key_padding_mask
//! [N, S]`, `attn_mask [L, S]` or `[N*H, L, S]`); weights per head or averaged.
//! `batch_first = false` (PyTorch's default) means `[L, N, E]` inputs; unbatched `[L, E]` works.
//! Without weights to return, the heads run through the fused attention node
//! (`F::scaled_dot_product_attention_with`), both masks summed into one additive mask.

use crate::functional as F;
use crate::linear::Linear;
use crate::module::{param, Forward};
use crate::{init, Module};
use ember_core::{DType, Error, Result, Tensor};

/// `MultiheadAttention`'s constructor options (PyTorch's defaults via `Default`).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MhaOptions {
    pub dropout: f64,
    /// `bias=False` turns off `in_proj_bias` and `out_proj.bias`.
    pub no_bias: bool,
    pub add_bias_kv: bool,
    pub add_zero_attn: bool,
    /// Key and value feature sizes (`None`: `embed_dim`).
    pub kdim: Option<usize>,
    pub vdim: Option<usize>,
    pub batch_first: bool,
}

/// The per-call arguments of `forward` beyond query, key and value.
#[derive(Clone, Copy, Debug)]
pub struct AttendOptions<'a> {
    /// `[N, S]`: bool (true = ignore this key) or float (added).
    pub key_padding_mask: Option<&'a Tensor>,
    pub need_weights: bool,
    /// `[L, S]` or `[N*H, L, S]`: bool (true = not allowed) or float (added).
    pub attn_mask: Option<&'a Tensor>,
    /// Weights averaged over heads (`[N, L, S]`) or per head (`[N, H, L, S]`).
    pub average_attn_weights: bool,
    /// A hint that `attn_mask` is causal; PyTorch requires the mask with it.
    pub is_causal: bool,
}

impl Default for AttendOptions<'_> {
    fn default() -> Self {
        AttendOptions {
            key_padding_mask: None,
            need_weights: true,
            attn_mask: None,
            average_attn_weights: true,
            is_causal: false,
        }
    }
}

/// Multi-head attention.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct MultiheadAttention {
    /// `[3E, E]` when key and value have `embed_dim` features.
    pub in_proj_weight: Option<Tensor>,
    /// `[E, E]`, `[E, kdim]`, `[E, vdim]` otherwise.
    pub q_proj_weight: Option<Tensor>,
    pub k_proj_weight: Option<Tensor>,
    pub v_proj_weight: Option<Tensor>,
    pub in_proj_bias: Option<Tensor>,
    /// `[1, 1, E]` appended to the keys and values (`add_bias_kv`).
    pub bias_k: Option<Tensor>,
    pub bias_v: Option<Tensor>,
    pub out_proj: Linear,
    pub num_heads: usize,
    pub embed_dim: usize,
    pub batch_first: bool,
    pub add_zero_attn: bool,
    /// Dropout probability on the attention weights (PyTorch keeps it as a float too).
    pub dropout: f64,
    pub training: bool,
}

fn xavier(shape: &[usize]) -> Result<Tensor> {
    let w = Tensor::zeros(shape, DType::F32)?;
    init::xavier_uniform_(&w, 1.0)?;
    param(w)
}

impl MultiheadAttention {
    /// `MultiheadAttention(embed_dim, num_heads)`: bias, no dropout, `batch_first=false`.
    #[track_caller]
    pub fn new(embed_dim: usize, num_heads: usize) -> Result<MultiheadAttention> {
        Self::with_options(embed_dim, num_heads, 0.0, true)
    }

    /// `MultiheadAttention(embed_dim, num_heads, dropout, bias)`.
    #[track_caller]
    pub fn with_options(embed_dim: usize, num_heads: usize, dropout: f64, bias: bool) -> Result<MultiheadAttention> {
        Self::with_config(embed_dim, num_heads, MhaOptions { dropout, no_bias: !bias, ..Default::default() })
    }

    /// Every option of PyTorch's constructor.
    #[track_caller]
    pub fn with_config(embed_dim: usize, num_heads: usize, o: MhaOptions) -> Result<MultiheadAttention> {
        let op = "MultiheadAttention";
        if !(0.0..=1.0).contains(&o.dropout) {
            return Err(Error::value(op, format!("dropout must be in [0, 1], got {}", o.dropout)));
        }
        if num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::value(
                op,
                format!("embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"),
            ));
        }
        let (kdim, vdim) = (o.kdim.unwrap_or(embed_dim), o.vdim.unwrap_or(embed_dim));
        let packed = kdim == embed_dim && vdim == embed_dim;
        let e = embed_dim;
        let (in_proj_weight, q, k, v) = if packed {
            (Some(xavier(&[3 * e, e])?), None, None, None)
        } else {
            (None, Some(xavier(&[e, e])?), Some(xavier(&[e, kdim])?), Some(xavier(&[e, vdim])?))
        };
        let bias = !o.no_bias;
        let out_proj = Linear::new(e, e, bias)?;
        if let Some(b) = &out_proj.bias {
            init::zeros_(b)?;
        }
        let in_proj_bias = if bias { Some(param(Tensor::zeros(&[3 * e], DType::F32)?)?) } else { None };
        let kv_bias = || -> Result<Option<Tensor>> {
            if !o.add_bias_kv {
                return Ok(None);
            }
            let t = Tensor::zeros(&[1, 1, e], DType::F32)?;
            init::xavier_normal_(&t, 1.0)?;
            Ok(Some(param(t)?))
        };
        Ok(MultiheadAttention {
            in_proj_weight,
            q_proj_weight: q,
            k_proj_weight: k,
            v_proj_weight: v,
            in_proj_bias,
            bias_k: kv_bias()?,
            bias_v: kv_bias()?,
            out_proj,
            num_heads,
            embed_dim,
            batch_first: o.batch_first,
            add_zero_attn: o.add_zero_attn,
            dropout: o.dropout,
            training: true,
        })
    }

    /// Attention of `query [L, N, E]` over `key`/`value [S, N, E]` (or `[N, L, E]` with
    /// `batch_first`) with masks (see [`AttendOptions`]); weights averaged over heads.
    #[track_caller]
    pub fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        need_weights: bool,
        attn_mask: Option<&Tensor>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let o = AttendOptions { key_padding_mask, need_weights, attn_mask, ..Default::default() };
        self.attend_with(query, key, value, o)
    }

    /// The weight and bias of projection `i` (0 query, 1 key, 2 value).
    fn projection(&self, i: usize) -> Result<(Tensor, Option<Tensor>)> {
        let e = self.embed_dim;
        let w = match &self.in_proj_weight {
            Some(w) => w.narrow(0, i * e, e)?,
            None => [&self.q_proj_weight, &self.k_proj_weight, &self.v_proj_weight][i]
                .clone()
                .ok_or_else(|| Error::value("MultiheadAttention", "missing projection weight"))?,
        };
        let b = self.in_proj_bias.as_ref().map(|b| b.narrow(0, i * e, e)).transpose()?;
        Ok((w, b))
    }

    /// `forward(query, key, value, key_padding_mask, need_weights, attn_mask,
    /// average_attn_weights, is_causal)`.
    #[track_caller]
    pub fn attend_with(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        o: AttendOptions,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let op = "MultiheadAttention";
        if query.dim() == 2 {
            // Unbatched [L, E]: a batch of one.
            let axis = if self.batch_first { 0 } else { 1 };
            let kpm = o.key_padding_mask.map(|m| m.unsqueeze(0)).transpose()?;
            let o2 = AttendOptions { key_padding_mask: kpm.as_ref(), ..o };
            let (y, w) =
                self.attend_with(&query.unsqueeze(axis)?, &key.unsqueeze(axis)?, &value.unsqueeze(axis)?, o2)?;
            return Ok((y.squeeze_dim(axis)?, w.map(|w| w.squeeze_dim(0)).transpose()?));
        }
        if o.is_causal && o.attn_mask.is_none() {
            return Err(Error::value(op, "Need attn_mask if specifying the is_causal hint"));
        }
        let (q, k, v) = if self.batch_first {
            (query.clone(), key.clone(), value.clone())
        } else {
            (query.transpose(0, 1)?, key.transpose(0, 1)?, value.transpose(0, 1)?)
        };
        if q.dim() != 3 || q.shape()[2] != self.embed_dim || k.dim() != 3 || v.dim() != 3 {
            return Err(Error::shape(
                op,
                format!("expected query [.., .., {}], got {:?}", self.embed_dim, query.shape()),
            ));
        }
        let (e, h) = (self.embed_dim as isize, self.num_heads as isize);
        let hd = e / h;
        let (n, l) = (q.shape()[0] as isize, q.shape()[1] as isize);
        let proj = |x: &Tensor, i: usize| -> Result<Tensor> {
            let (w, b) = self.projection(i)?;
            F::linear(x, &w, b.as_ref())
        };
        let (qp, mut kp, mut vp) = (proj(&q, 0)?, proj(&k, 1)?, proj(&v, 2)?); // [N, L|S, E]
        let mut attn_mask = o.attn_mask.map(|m| mask_to_float(m, qp.dtype())).transpose()?;
        let mut kpm = o.key_padding_mask.map(|m| mask_to_float(m, qp.dtype())).transpose()?;
        let pad_masks = |am: &mut Option<Tensor>, kpm: &mut Option<Tensor>| -> Result<()> {
            *am = am.as_ref().map(|m| F::pad(m, &[0, 1], 0.0)).transpose()?;
            *kpm = kpm.as_ref().map(|m| F::pad(m, &[0, 1], 0.0)).transpose()?;
            Ok(())
        };
        if let (Some(bk), Some(bv)) = (&self.bias_k, &self.bias_v) {
            kp = Tensor::cat(&[&kp, &bk.reshape(&[1, 1, e])?.expand(&[n as usize, 1, e as usize])?], 1)?;
            vp = Tensor::cat(&[&vp, &bv.reshape(&[1, 1, e])?.expand(&[n as usize, 1, e as usize])?], 1)?;
            pad_masks(&mut attn_mask, &mut kpm)?;
        }
        let heads = |x: &Tensor| -> Result<Tensor> {
            let s = x.shape()[1] as isize;
            x.reshape(&[n, s, h, hd])?.permute(&[0, 2, 1, 3])
        };
        let (qh, mut kh, mut vh) = (heads(&qp)?, heads(&kp)?, heads(&vp)?); // [N, H, L|S, hd]
        if self.add_zero_attn {
            let z = Tensor::zeros(&[n as usize, h as usize, 1, hd as usize], kh.dtype())?;
            kh = Tensor::cat(&[&kh, &z], 2)?;
            vh = Tensor::cat(&[&vh, &z], 2)?;
            pad_masks(&mut attn_mask, &mut kpm)?;
        }
        let s = kh.shape()[2] as isize;
        // Both masks as one additive mask that broadcasts over the scores `[N, H, L, S]`.
        let mut mask = match &attn_mask {
            None => None,
            Some(m) if m.dim() == 2 && m.shape() == [l as usize, s as usize] => Some(m.clone()),
            Some(m) if m.dim() == 3 && m.shape() == [(n * h) as usize, l as usize, s as usize] => {
                Some(m.reshape(&[n, h, l, s])?)
            }
            Some(m) => {
                return Err(Error::shape(
                    op,
                    format!(
                        "attn_mask must be [L, S] = [{l}, {s}] or [N*num_heads, L, S] = [{}, {l}, {s}], got {:?}",
                        n * h,
                        m.shape()
                    ),
                ))
            }
        };
        if let Some(m) = &kpm {
            if m.shape() != [n as usize, s as usize] {
                return Err(Error::shape(op, format!("key_padding_mask must be [{n}, {s}], got {:?}", m.shape())));
            }
            let m = m.reshape(&[n, 1, 1, s])?;
            mask = Some(match mask {
                None => m,
                Some(a) => a.add(&m)?,
            });
        }
        let scale = 1.0 / (hd as f64).sqrt();
        let (out, attn) = if o.need_weights {
            let mut scores = qh.mul_scalar(scale)?.matmul(&kh.transpose(-2, -1)?)?; // [N, H, L, S]
            if let Some(m) = &mask {
                scores = scores.add(m)?;
            }
            let attn = F::dropout(&scores.softmax(-1)?, self.dropout, self.training)?;
            (attn.matmul(&vh)?, Some(attn))
        } else {
            // Without weights to return, the heads run through the fused attention node (as
            // PyTorch's `multi_head_attention_forward` calls `scaled_dot_product_attention`).
            let dropout_p = if self.training { self.dropout } else { 0.0 };
            let so = F::SdpaOptions { attn_mask: mask.as_ref(), dropout_p, scale: Some(scale), ..Default::default() };
            (F::scaled_dot_product_attention_with(&qh, &kh, &vh, so)?, None)
        }; // out [N, H, L, hd]
        let out = out.permute(&[0, 2, 1, 3])?.reshape(&[n, l, e])?;
        let out = self.out_proj.forward(&out)?;
        let out = if self.batch_first { out } else { out.transpose(0, 1)? };
        let weights = match attn {
            Some(a) if o.average_attn_weights => Some(a.mean_dim(1, false)?),
            a => a,
        };
        Ok((out, weights))
    }
}

/// A bool mask (true = masked) as `-inf`/`0`, or a float mask as is (PyTorch's
/// `_canonical_mask`).
fn mask_to_float(m: &Tensor, dtype: DType) -> Result<Tensor> {
    if m.dtype() == DType::Bool {
        Tensor::zeros(m.shape(), dtype)?.masked_fill(m, f64::NEG_INFINITY)
    } else if m.dtype().is_float() {
        m.to_dtype(dtype)
    } else {
        Err(Error::dtype(
            "MultiheadAttention",
            format!("only bool and floating types of masks are supported, got {}", m.dtype()),
        ))
    }
}

impl Forward for MultiheadAttention {
    /// Self-attention without masks.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.attend(x, x, x, None, false, None)?.0)
    }
}
