//! `nn.TransformerEncoderLayer`, `nn.TransformerDecoderLayer`, their stacks and
//! `nn.Transformer`, with PyTorch's constructor arguments, submodule names (so a torch state
//! dict loads: `encoder.layers.0.self_attn.in_proj_weight`, `decoder.norm.bias`, ...) and the
//! post-norm (default) or pre-norm (`norm_first`) residual order.

use crate::attention::MultiheadAttention;
use crate::dropout::Dropout;
use crate::linear::Linear;
use crate::module::Forward;
use crate::norm::LayerNorm;
use crate::Module;
use ember_core::{DType, Error, Result, Tensor};

/// The feed-forward activation of a transformer layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransformerActivation {
    /// PyTorch's default.
    #[default]
    Relu,
    Gelu,
}

/// `TransformerEncoderLayer`/`TransformerDecoderLayer`/`Transformer` options (PyTorch's keyword
/// arguments; `Default` is PyTorch's defaults for `d_model = 512, nhead = 8`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerOptions {
    pub d_model: usize,
    pub nhead: usize,
    pub dim_feedforward: usize,
    pub dropout: f64,
    pub activation: TransformerActivation,
    pub layer_norm_eps: f64,
    /// Inputs are `[N, S, E]` instead of `[S, N, E]`.
    pub batch_first: bool,
    /// Pre-norm: `x + f(norm(x))` instead of `norm(x + f(x))`.
    pub norm_first: bool,
    /// Biases in the linear layers, attention projections and layer norms.
    pub bias: bool,
}

impl Default for TransformerOptions {
    fn default() -> TransformerOptions {
        TransformerOptions {
            d_model: 512,
            nhead: 8,
            dim_feedforward: 2048,
            dropout: 0.1,
            activation: TransformerActivation::Relu,
            layer_norm_eps: 1e-5,
            batch_first: false,
            norm_first: false,
            bias: true,
        }
    }
}

impl TransformerOptions {
    /// PyTorch's defaults with the given width and heads.
    pub fn new(d_model: usize, nhead: usize) -> TransformerOptions {
        TransformerOptions { d_model, nhead, ..Default::default() }
    }
}

fn attention(o: &TransformerOptions) -> Result<MultiheadAttention> {
    let mut a = MultiheadAttention::with_options(o.d_model, o.nhead, o.dropout, o.bias)?;
    a.batch_first = o.batch_first;
    Ok(a)
}

fn norm(o: &TransformerOptions) -> Result<LayerNorm> {
    LayerNorm::with_options(&[o.d_model], o.layer_norm_eps, true, o.bias)
}

/// The masks of one attention call.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttentionMasks<'a> {
    /// `[L, S]` (or `[N * nhead, L, S]`): bool true = not allowed, or float added to scores.
    pub attn_mask: Option<&'a Tensor>,
    /// `[N, S]`: true marks padding keys.
    pub key_padding_mask: Option<&'a Tensor>,
}

/// The position-wise feed-forward block `linear2(dropout(act(linear1(x))))`.
fn feed_forward(
    x: &Tensor,
    linear1: &Linear,
    dropout: &Dropout,
    linear2: &Linear,
    act: TransformerActivation,
) -> Result<Tensor> {
    let h = linear1.forward(x)?;
    let h = match act {
        TransformerActivation::Relu => h.relu()?,
        TransformerActivation::Gelu => h.gelu()?,
    };
    linear2.forward(&dropout.forward(&h)?)
}

/// One encoder layer: self-attention and feed-forward, each with a residual and a layer norm.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct TransformerEncoderLayer {
    pub self_attn: MultiheadAttention,
    pub linear1: Linear,
    pub dropout: Dropout,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub dropout1: Dropout,
    pub dropout2: Dropout,
    #[module(skip)]
    pub activation: TransformerActivation,
    pub norm_first: bool,
}

impl TransformerEncoderLayer {
    /// `nn.TransformerEncoderLayer(d_model, nhead, ...)`.
    #[track_caller]
    pub fn new(o: TransformerOptions) -> Result<TransformerEncoderLayer> {
        Ok(TransformerEncoderLayer {
            self_attn: attention(&o)?,
            linear1: Linear::new(o.d_model, o.dim_feedforward, o.bias)?,
            dropout: Dropout::new(o.dropout)?,
            linear2: Linear::new(o.dim_feedforward, o.d_model, o.bias)?,
            norm1: norm(&o)?,
            norm2: norm(&o)?,
            dropout1: Dropout::new(o.dropout)?,
            dropout2: Dropout::new(o.dropout)?,
            activation: o.activation,
            norm_first: o.norm_first,
        })
    }

    /// `layer(src, src_mask, src_key_padding_mask)`.
    #[track_caller]
    pub fn forward_with(&self, src: &Tensor, masks: AttentionMasks<'_>) -> Result<Tensor> {
        let sa = |x: &Tensor| -> Result<Tensor> {
            let (y, _) = self.self_attn.attend(x, x, x, masks.key_padding_mask, false, masks.attn_mask)?;
            self.dropout1.forward(&y)
        };
        let ff = |x: &Tensor| -> Result<Tensor> {
            self.dropout2.forward(&feed_forward(x, &self.linear1, &self.dropout, &self.linear2, self.activation)?)
        };
        if self.norm_first {
            let x = src.add(&sa(&self.norm1.forward(src)?)?)?;
            x.add(&ff(&self.norm2.forward(&x)?)?)
        } else {
            let x = self.norm1.forward(&src.add(&sa(src)?)?)?;
            self.norm2.forward(&x.add(&ff(&x)?)?)
        }
    }
}

impl Forward for TransformerEncoderLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, AttentionMasks::default())
    }
}

/// One decoder layer: self-attention, attention over the encoder's output (`memory`) and
/// feed-forward, each with a residual and a layer norm.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct TransformerDecoderLayer {
    pub self_attn: MultiheadAttention,
    pub multihead_attn: MultiheadAttention,
    pub linear1: Linear,
    pub dropout: Dropout,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub norm3: LayerNorm,
    pub dropout1: Dropout,
    pub dropout2: Dropout,
    pub dropout3: Dropout,
    #[module(skip)]
    pub activation: TransformerActivation,
    pub norm_first: bool,
}

impl TransformerDecoderLayer {
    /// `nn.TransformerDecoderLayer(d_model, nhead, ...)`.
    #[track_caller]
    pub fn new(o: TransformerOptions) -> Result<TransformerDecoderLayer> {
        Ok(TransformerDecoderLayer {
            self_attn: attention(&o)?,
            multihead_attn: attention(&o)?,
            linear1: Linear::new(o.d_model, o.dim_feedforward, o.bias)?,
            dropout: Dropout::new(o.dropout)?,
            linear2: Linear::new(o.dim_feedforward, o.d_model, o.bias)?,
            norm1: norm(&o)?,
            norm2: norm(&o)?,
            norm3: norm(&o)?,
            dropout1: Dropout::new(o.dropout)?,
            dropout2: Dropout::new(o.dropout)?,
            dropout3: Dropout::new(o.dropout)?,
            activation: o.activation,
            norm_first: o.norm_first,
        })
    }

    /// `layer(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
    /// memory_key_padding_mask)`.
    #[track_caller]
    pub fn forward_with(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_masks: AttentionMasks<'_>,
        memory_masks: AttentionMasks<'_>,
    ) -> Result<Tensor> {
        let sa = |x: &Tensor| -> Result<Tensor> {
            let (y, _) = self.self_attn.attend(x, x, x, tgt_masks.key_padding_mask, false, tgt_masks.attn_mask)?;
            self.dropout1.forward(&y)
        };
        let mha = |x: &Tensor| -> Result<Tensor> {
            let (y, _) = self.multihead_attn.attend(
                x,
                memory,
                memory,
                memory_masks.key_padding_mask,
                false,
                memory_masks.attn_mask,
            )?;
            self.dropout2.forward(&y)
        };
        let ff = |x: &Tensor| -> Result<Tensor> {
            self.dropout3.forward(&feed_forward(x, &self.linear1, &self.dropout, &self.linear2, self.activation)?)
        };
        if self.norm_first {
            let x = tgt.add(&sa(&self.norm1.forward(tgt)?)?)?;
            let x = x.add(&mha(&self.norm2.forward(&x)?)?)?;
            x.add(&ff(&self.norm3.forward(&x)?)?)
        } else {
            let x = self.norm1.forward(&tgt.add(&sa(tgt)?)?)?;
            let x = self.norm2.forward(&x.add(&mha(&x)?)?)?;
            self.norm3.forward(&x.add(&ff(&x)?)?)
        }
    }
}

/// `nn.TransformerEncoder(encoder_layer, num_layers, norm)`: `num_layers` copies (independent
/// parameters, as PyTorch's deep copies) and an optional final norm.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct TransformerEncoder {
    pub layers: Vec<TransformerEncoderLayer>,
    pub norm: Option<LayerNorm>,
}

/// A copy of a module with fresh (cloned) tensors, so the copies train independently.
fn deep_copy<M: Module + Clone>(m: &M) -> Result<M> {
    let mut c = m.clone();
    let mut failed = None;
    c.visit_tensors_mut("", &mut |_, t, _| match t
        .detach()
        .deep_clone()
        .and_then(|d| d.set_requires_grad(t.requires_grad()))
    {
        Ok(d) => *t = d,
        Err(e) => failed = Some(e),
    });
    failed.map_or(Ok(c), Err)
}

impl TransformerEncoder {
    /// `num_layers` independent copies of `layer`.
    pub fn new(
        layer: &TransformerEncoderLayer,
        num_layers: usize,
        norm: Option<LayerNorm>,
    ) -> Result<TransformerEncoder> {
        Ok(TransformerEncoder { layers: (0..num_layers).map(|_| deep_copy(layer)).collect::<Result<_>>()?, norm })
    }

    /// `encoder(src, mask, src_key_padding_mask)`.
    #[track_caller]
    pub fn forward_with(&self, src: &Tensor, masks: AttentionMasks<'_>) -> Result<Tensor> {
        let mut x = src.clone();
        for l in &self.layers {
            x = l.forward_with(&x, masks)?;
        }
        match &self.norm {
            Some(n) => n.forward(&x),
            None => Ok(x),
        }
    }
}

impl Forward for TransformerEncoder {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, AttentionMasks::default())
    }
}

/// `nn.TransformerDecoder(decoder_layer, num_layers, norm)`.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct TransformerDecoder {
    pub layers: Vec<TransformerDecoderLayer>,
    pub norm: Option<LayerNorm>,
}

impl TransformerDecoder {
    /// `num_layers` independent copies of `layer`.
    pub fn new(
        layer: &TransformerDecoderLayer,
        num_layers: usize,
        norm: Option<LayerNorm>,
    ) -> Result<TransformerDecoder> {
        Ok(TransformerDecoder { layers: (0..num_layers).map(|_| deep_copy(layer)).collect::<Result<_>>()?, norm })
    }

    /// `decoder(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
    /// memory_key_padding_mask)`.
    #[track_caller]
    pub fn forward_with(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_masks: AttentionMasks<'_>,
        memory_masks: AttentionMasks<'_>,
    ) -> Result<Tensor> {
        let mut x = tgt.clone();
        for l in &self.layers {
            x = l.forward_with(&x, memory, tgt_masks, memory_masks)?;
        }
        match &self.norm {
            Some(n) => n.forward(&x),
            None => Ok(x),
        }
    }
}

/// `nn.Transformer`: an encoder and a decoder stack, each ending in a layer norm.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Transformer {
    pub encoder: TransformerEncoder,
    pub decoder: TransformerDecoder,
    pub d_model: usize,
    pub nhead: usize,
    pub batch_first: bool,
}

impl Transformer {
    /// `nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, ...)`.
    #[track_caller]
    pub fn new(o: TransformerOptions, num_encoder_layers: usize, num_decoder_layers: usize) -> Result<Transformer> {
        let enc = TransformerEncoderLayer::new(o)?;
        let dec = TransformerDecoderLayer::new(o)?;
        Ok(Transformer {
            encoder: TransformerEncoder::new(&enc, num_encoder_layers, Some(norm(&o)?))?,
            decoder: TransformerDecoder::new(&dec, num_decoder_layers, Some(norm(&o)?))?,
            d_model: o.d_model,
            nhead: o.nhead,
            batch_first: o.batch_first,
        })
    }

    /// `transformer(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask,
    /// tgt_key_padding_mask, memory_key_padding_mask)`: the masks grouped per attention
    /// (`memory_masks` are the decoder's attention over the encoder output).
    #[track_caller]
    pub fn forward_with(
        &self,
        src: &Tensor,
        tgt: &Tensor,
        src_masks: AttentionMasks<'_>,
        tgt_masks: AttentionMasks<'_>,
        memory_masks: AttentionMasks<'_>,
    ) -> Result<Tensor> {
        let batch = if self.batch_first { 0 } else { 1 };
        if src.dim() == 3 && tgt.dim() == 3 && src.shape()[batch] != tgt.shape()[batch] {
            return Err(Error::shape("Transformer", "the batch number of src and tgt must be equal"));
        }
        if src.shape().last() != Some(&self.d_model) || tgt.shape().last() != Some(&self.d_model) {
            return Err(Error::shape("Transformer", "the feature number of src and tgt must be equal to d_model"));
        }
        let memory = self.encoder.forward_with(src, src_masks)?;
        self.decoder.forward_with(tgt, &memory, tgt_masks, memory_masks)
    }
}

/// The causal mask `[sz, sz]`: 0 on and below the diagonal, `-inf` above
/// (`nn.Transformer.generate_square_subsequent_mask`).
pub fn generate_square_subsequent_mask(sz: usize, dtype: DType) -> Result<Tensor> {
    let ones = Tensor::ones(&[sz, sz], DType::F64)?;
    let upper = ones.triu(1)?.gt_scalar(0.0)?;
    Tensor::zeros(&[sz, sz], dtype)?.masked_fill(&upper, f64::NEG_INFINITY)
}
