//! BERT encoders (`BertModel`, post-norm) and sentence embeddings as sentence-transformers
//! computes them (mean of the last hidden states over the attention mask, then L2
//! normalisation), e.g. all-MiniLM-L6-v2.

use crate::attention::attention;
use crate::linear::{AnyLinear, WeightFormat};
use crate::llama::take;
use crate::tokenizer::Tokenizer;
use ember_core::{DType, Error, Result, Tensor};
use ember_nn::{Embedding, Forward, LayerNorm};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_types() -> usize {
    2
}

/// The `BertConfig` fields Ember uses.
#[derive(Clone, Debug, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

struct Layer {
    query: AnyLinear,
    key: AnyLinear,
    value: AnyLinear,
    attn_out: AnyLinear,
    attn_norm: LayerNorm,
    intermediate: AnyLinear,
    output: AnyLinear,
    out_norm: LayerNorm,
}

/// A BERT encoder.
pub struct Bert {
    pub config: BertConfig,
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    pooler: Option<AnyLinear>,
}

impl std::fmt::Debug for Bert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bert({} layers, width {})", self.config.num_hidden_layers, self.config.hidden_size)
    }
}

impl Bert {
    /// Loads a `BertModel` folder (weights with or without the `bert.` prefix).
    pub fn from_pretrained(dir: impl AsRef<Path>, format: WeightFormat) -> Result<Bert> {
        let dir = dir.as_ref();
        let what = dir.display().to_string();
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(cfg_path.display().to_string(), e))?;
        let config: BertConfig = serde_json::from_str(&text)
            .map_err(|e| Error::format(cfg_path.display().to_string(), format!("bad BERT config: {e}")))?;
        if config.hidden_size == 0
            || config.num_attention_heads == 0
            || !config.hidden_size.is_multiple_of(config.num_attention_heads)
        {
            return Err(Error::format(what, "hidden_size must be a positive multiple of num_attention_heads"));
        }
        if config.hidden_act != "gelu" {
            return Err(Error::format(what, format!("unsupported hidden_act {:?} (only gelu)", config.hidden_act)));
        }
        let raw = crate::generate::load_weights(dir)?;
        let sd: BTreeMap<String, Tensor> =
            raw.into_iter().map(|(k, v)| (k.strip_prefix("bert.").map(str::to_string).unwrap_or(k), v)).collect();
        Bert::from_state_dict(config, sd, format, &what)
    }

    fn from_state_dict(
        config: BertConfig,
        mut sd: BTreeMap<String, Tensor>,
        format: WeightFormat,
        what: &str,
    ) -> Result<Bert> {
        let (d, i) = (config.hidden_size, config.intermediate_size);
        let eps = config.layer_norm_eps;
        let ln = |sd: &mut BTreeMap<String, Tensor>, p: &str| -> Result<LayerNorm> {
            Ok(LayerNorm {
                weight: Some(take(sd, &format!("{p}.weight"), &[d], what)?),
                bias: Some(take(sd, &format!("{p}.bias"), &[d], what)?),
                normalized_shape: vec![d],
                eps,
            })
        };
        let lin = |sd: &mut BTreeMap<String, Tensor>, p: &str, o: usize, n: usize| -> Result<AnyLinear> {
            AnyLinear::new(
                take(sd, &format!("{p}.weight"), &[o, n], what)?,
                Some(take(sd, &format!("{p}.bias"), &[o], what)?),
                format,
            )
        };
        let word =
            Embedding::from_weights(take(&mut sd, "embeddings.word_embeddings.weight", &[config.vocab_size, d], what)?);
        let position = Embedding::from_weights(take(
            &mut sd,
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, d],
            what,
        )?);
        let token_type = Embedding::from_weights(take(
            &mut sd,
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, d],
            what,
        )?);
        let emb_norm = ln(&mut sd, "embeddings.LayerNorm")?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                query: lin(&mut sd, &format!("{p}.attention.self.query"), d, d)?,
                key: lin(&mut sd, &format!("{p}.attention.self.key"), d, d)?,
                value: lin(&mut sd, &format!("{p}.attention.self.value"), d, d)?,
                attn_out: lin(&mut sd, &format!("{p}.attention.output.dense"), d, d)?,
                attn_norm: ln(&mut sd, &format!("{p}.attention.output.LayerNorm"))?,
                intermediate: lin(&mut sd, &format!("{p}.intermediate.dense"), i, d)?,
                output: lin(&mut sd, &format!("{p}.output.dense"), d, i)?,
                out_norm: ln(&mut sd, &format!("{p}.output.LayerNorm"))?,
            });
        }
        let pooler =
            if sd.contains_key("pooler.dense.weight") { Some(lin(&mut sd, "pooler.dense", d, d)?) } else { None };
        sd.remove("embeddings.position_ids");
        if let Some(k) = sd.keys().next() {
            return Err(Error::format(what.to_string(), format!("unexpected tensor {k} for a BertModel")));
        }
        Ok(Bert { config, word, position, token_type, emb_norm, layers, pooler })
    }

    /// Last hidden states `[B, T, D]` for ids, attention mask (1 keep, 0 pad) and token types,
    /// all `[B, T]` integers.
    pub fn forward(&self, ids: &Tensor, attention_mask: &Tensor, token_type_ids: &Tensor) -> Result<Tensor> {
        if ids.dim() != 2 || attention_mask.shape() != ids.shape() || token_type_ids.shape() != ids.shape() {
            return Err(Error::shape(
                "Bert",
                format!(
                    "ids {:?}, attention_mask {:?} and token_type_ids {:?} must all be [B, T]",
                    ids.shape(),
                    attention_mask.shape(),
                    token_type_ids.shape()
                ),
            ));
        }
        let (b, t) = (ids.shape()[0], ids.shape()[1]);
        if t > self.config.max_position_embeddings {
            return Err(Error::value(
                "Bert",
                format!("{t} tokens exceed max_position_embeddings {}", self.config.max_position_embeddings),
            ));
        }
        let c = &self.config;
        let (h, hd) = (c.num_attention_heads as isize, (c.hidden_size / c.num_attention_heads) as isize);
        let pos = Tensor::arange(0.0, t as f64, 1.0, DType::I64)?;
        let x = self
            .word
            .forward(ids)?
            .add(&self.position.forward(&pos)?)?
            .add(&self.token_type.forward(token_type_ids)?)?;
        let mut x = self.emb_norm.forward(&x)?;
        // HF's extended mask: 0 to keep, the most negative f32 to drop.
        let pad = attention_mask.to_dtype(DType::F32)?.neg()?.add_scalar(1.0)?.mul_scalar(f32::MIN as f64)?; // [B, T]
        let (bi, ti) = (b as isize, t as isize);
        for l in &self.layers {
            let heads = |z: Tensor| z.reshape(&[bi, ti, h, hd])?.permute(&[0, 2, 1, 3]);
            let (q, k, v) = (heads(l.query.forward(&x)?)?, heads(l.key.forward(&x)?)?, heads(l.value.forward(&x)?)?);
            let y = attention(&q, &k, &v, false, Some(&pad))?.permute(&[0, 2, 1, 3])?.reshape(&[bi, ti, h * hd])?;
            x = l.attn_norm.forward(&x.add(&l.attn_out.forward(&y)?)?)?;
            let f = l.output.forward(&l.intermediate.forward(&x)?.gelu()?)?;
            x = l.out_norm.forward(&x.add(&f)?)?;
        }
        Ok(x)
    }

    /// `tanh(dense(h[:, 0]))`, BERT's pooled output (`None` without pooler weights).
    pub fn pooler_output(&self, hidden: &Tensor) -> Result<Option<Tensor>> {
        match &self.pooler {
            Some(p) => Ok(Some(p.forward(&hidden.select(1, 0)?)?.tanh()?)),
            None => Ok(None),
        }
    }
}

/// Mean of `hidden [B, T, D]` over the positions where `mask [B, T]` is 1, L2-normalised:
/// sentence-transformers' embedding.
pub fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(hidden.dtype())?.unsqueeze(-1)?; // [B, T, 1]
    let summed = hidden.mul(&m)?.sum_dim(1, false)?; // [B, D]
    let count = m.sum_dim(1, false)?.clamp(Some(1e-9), None)?; // [B, 1]
    let mean = summed.div(&count)?;
    let norm = mean.square()?.sum_dim(-1, true)?.sqrt()?.clamp(Some(1e-12), None)?;
    mean.div(&norm)
}

/// Sentence embeddings `[N, D]` of `texts` with a BERT model and its tokenizer (padded batch).
pub fn embed(model: &Bert, tokenizer: &Tokenizer, texts: &[&str]) -> Result<Tensor> {
    if texts.is_empty() {
        return Err(Error::value("embed", "no texts given"));
    }
    let enc: Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> =
        texts.iter().map(|t| tokenizer.encode_full(t)).collect::<Result<_>>()?;
    let max_len = model.config.max_position_embeddings;
    let t = enc.iter().map(|e| e.0.len().min(max_len)).max().unwrap_or(1).max(1);
    let (mut ids, mut mask, mut types) = (Vec::new(), Vec::new(), Vec::new());
    for (i, m, ty) in &enc {
        for p in 0..t {
            ids.push(*i.get(p).unwrap_or(&0) as i64);
            mask.push(*m.get(p).unwrap_or(&0) as i64);
            types.push(*ty.get(p).unwrap_or(&0) as i64);
        }
    }
    let n = texts.len();
    let (ids, mask, types) =
        (Tensor::from_vec(ids, &[n, t])?, Tensor::from_vec(mask, &[n, t])?, Tensor::from_vec(types, &[n, t])?);
    let hidden = model.forward(&ids, &mask, &types)?;
    mean_pool_normalize(&hidden, &mask)
}
