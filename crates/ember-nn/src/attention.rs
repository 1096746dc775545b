//! `MultiheadAttention` with PyTorch's parameters (`in_proj_weight [3E, E]`, `in_proj_bias`,
//! `out_proj`) and masks. `batch_first = false` (PyTorch's default) means `[L, N, E]` inputs.

use crate::functional as F;
use crate::linear::Linear;
use crate::module::{param, Forward};
use crate::{init, Module};
use ember_core::{DType, Error, Result, Tensor};

/// Multi-head attention.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct MultiheadAttention {
    pub in_proj_weight: Tensor,
    pub in_proj_bias: Option<Tensor>,
    pub out_proj: Linear,
    pub num_heads: usize,
    pub embed_dim: usize,
    pub batch_first: bool,
    /// Dropout probability on the attention weights (PyTorch keeps it as a float too).
    pub dropout: f64,
    pub training: bool,
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
        if !(0.0..=1.0).contains(&dropout) {
            return Err(Error::value("MultiheadAttention", format!("dropout must be in [0, 1], got {dropout}")));
        }
        if num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::value(
                "MultiheadAttention",
                format!("embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"),
            ));
        }
        let w = Tensor::zeros(&[3 * embed_dim, embed_dim], DType::F32)?;
        init::xavier_uniform_(&w, 1.0)?;
        let out_proj = Linear::new(embed_dim, embed_dim, bias)?;
        if let Some(b) = &out_proj.bias {
            init::zeros_(b)?;
        }
        let in_proj_bias = if bias { Some(param(Tensor::zeros(&[3 * embed_dim], DType::F32)?)?) } else { None };
        Ok(MultiheadAttention {
            in_proj_weight: param(w)?,
            in_proj_bias,
            out_proj,
            num_heads,
            embed_dim,
            batch_first: false,
            dropout,
            training: true,
        })
    }

    /// Attention of `query [L, N, E]` over `key`/`value [S, N, E]` (or `[N, L, E]` with
    /// `batch_first`). `key_padding_mask [N, S]`: true marks keys to ignore. `attn_mask
    /// [L, S]`: bool (true = not allowed) or float (added). Returns the output and, when
    /// `need_weights`, the attention weights averaged over heads `[N, L, S]`.
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
        let (q, k, v) = if self.batch_first {
            (query.clone(), key.clone(), value.clone())
        } else {
            (query.transpose(0, 1)?, key.transpose(0, 1)?, value.transpose(0, 1)?)
        };
        if q.dim() != 3 || q.shape()[2] != self.embed_dim {
            return Err(Error::shape(
                "MultiheadAttention",
                format!("expected query [.., .., {}], got {:?}", self.embed_dim, query.shape()),
            ));
        }
        let e = self.embed_dim as isize;
        let h = self.num_heads as isize;
        let hd = e / h;
        let ws = self.in_proj_weight.chunk(3, 0)?;
        let bs = match &self.in_proj_bias {
            Some(b) => b.chunk(3, 0)?.into_iter().map(Some).collect(),
            None => vec![None, None, None],
        };
        let heads = |x: &Tensor, i: usize| -> Result<Tensor> {
            let (n, l) = (x.shape()[0] as isize, x.shape()[1] as isize);
            F::linear(x, &ws[i], bs[i].as_ref())?.reshape(&[n, l, h, hd])?.permute(&[0, 2, 1, 3])
        };
        let (qh, kh, vh) = (heads(&q, 0)?, heads(&k, 1)?, heads(&v, 2)?); // [N, H, L|S, hd]
        let mut scores = qh.matmul(&kh.transpose(-2, -1)?)?.mul_scalar(1.0 / (hd as f64).sqrt())?;
        if let Some(m) = attn_mask {
            scores =
                if m.dtype() == DType::Bool { scores.masked_fill(m, f64::NEG_INFINITY)? } else { scores.add(m)? };
        }
        if let Some(m) = key_padding_mask {
            let (n, s) = (m.shape()[0] as isize, m.shape()[1] as isize);
            scores = scores.masked_fill(&m.reshape(&[n, 1, 1, s])?, f64::NEG_INFINITY)?;
        }
        let attn = F::dropout(&scores.softmax(-1)?, self.dropout, self.training)?;
        let (n, l) = (q.shape()[0] as isize, q.shape()[1] as isize);
        let out = attn.matmul(&vh)?.permute(&[0, 2, 1, 3])?.reshape(&[n, l, e])?;
        let out = self.out_proj.forward(&out)?;
        let out = if self.batch_first { out } else { out.transpose(0, 1)? };
        let weights = if need_weights { Some(attn.mean_dim(1, false)?) } else { None };
        Ok((out, weights))
    }
}

impl Forward for MultiheadAttention {
    /// Self-attention without masks.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.attend(x, x, x, None, false, None)?.0)
    }
}
