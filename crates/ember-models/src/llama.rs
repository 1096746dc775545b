//! The Llama family (`LlamaForCausalLM`): RMSNorm, rotary position embeddings (with Llama 3 and
//! linear scaling), grouped-query attention, a SwiGLU MLP, tied or untied output head. The same
//! code loads Mistral- and Qwen2-style checkpoints (Qwen2's q/k/v biases); sliding-window
//! attention narrower than the context is refused with a clear error.

use crate::attention::attention;
use crate::kv_cache::KvCache;
use crate::linear::{AnyEmbedding, AnyLinear, WeightFormat};
use ember_core::fused::PackedWeight;
use ember_core::{DType, Error, Result, Tensor};
use ember_nn::{Embedding, Forward, RMSNorm};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

fn default_theta() -> f64 {
    10_000.0
}
fn default_eps() -> f64 {
    1e-6
}
fn default_act() -> String {
    "silu".into()
}

/// `rope_scaling` of a config.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RopeScaling {
    #[serde(alias = "type")]
    pub rope_type: String,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    #[serde(default)]
    pub original_max_position_embeddings: Option<usize>,
}

/// `rope_parameters` (transformers 5's form of `rope_theta` + `rope_scaling`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RopeParameters {
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_type: Option<String>,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    #[serde(default)]
    pub original_max_position_embeddings: Option<usize>,
}

/// The config fields of Llama, Mistral and Qwen2 that Ember uses.
#[derive(Clone, Debug, Deserialize)]
pub struct LlamaConfig {
    #[serde(default)]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    #[serde(default)]
    pub rope_parameters: Option<RopeParameters>,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: Option<bool>,
    #[serde(default)]
    pub sliding_window: Option<usize>,
    #[serde(default)]
    pub use_sliding_window: Option<bool>,
    #[serde(default)]
    pub eos_token_id: Option<serde_json::Value>,
}

impl LlamaConfig {
    /// Parses and validates a `config.json`.
    pub fn from_json(text: &str, what: &str) -> Result<LlamaConfig> {
        let mut c: LlamaConfig =
            serde_json::from_str(text).map_err(|e| Error::format(what, format!("bad Llama config: {e}")))?;
        if let Some(p) = c.rope_parameters.clone() {
            c.rope_theta = p.rope_theta.unwrap_or(c.rope_theta);
            let ty = p.rope_type.unwrap_or_else(|| "default".into());
            if ty != "default" {
                c.rope_scaling = Some(RopeScaling {
                    rope_type: ty,
                    factor: p.factor,
                    low_freq_factor: p.low_freq_factor,
                    high_freq_factor: p.high_freq_factor,
                    original_max_position_embeddings: p.original_max_position_embeddings,
                });
            }
        }
        let bad = |m: String| Err(Error::format(what, m));
        if c.hidden_size == 0 || c.num_attention_heads == 0 || c.num_hidden_layers == 0 || c.vocab_size == 0 {
            return bad("sizes must be positive".into());
        }
        if c.head_dim.is_none() && !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            ));
        }
        let kv = c.kv_heads();
        if kv == 0 || !c.num_attention_heads.is_multiple_of(kv) {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {kv}",
                c.num_attention_heads
            ));
        }
        if c.hidden_act != "silu" {
            return bad(format!("unsupported hidden_act {:?} (only silu)", c.hidden_act));
        }
        let sliding = c.use_sliding_window.unwrap_or(c.model_type == "mistral");
        if let (true, Some(w)) = (sliding, c.sliding_window) {
            if w < c.max_position_embeddings {
                return bad(format!(
                    "sliding-window attention (window {w} < context {}) is not supported",
                    c.max_position_embeddings
                ));
            }
        }
        if let Some(s) = &c.rope_scaling {
            if !matches!(s.rope_type.as_str(), "default" | "linear" | "llama3") {
                return bad(format!("unsupported rope_scaling type {:?}", s.rope_type));
            }
        }
        Ok(c)
    }

    /// Key/value heads (defaults to the attention heads).
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// Token ids that end generation.
    pub fn eos_ids(&self) -> Vec<u32> {
        match &self.eos_token_id {
            Some(serde_json::Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_u64().map(|x| x as u32)).collect(),
            _ => Vec::new(),
        }
    }

    /// Rotary inverse frequencies `[head_dim / 2]`, with the configured scaling.
    pub fn inv_freq(&self) -> Vec<f64> {
        let d = self.head_dim();
        let base: Vec<f64> = (0..d / 2).map(|i| 1.0 / self.rope_theta.powf(2.0 * i as f64 / d as f64)).collect();
        match &self.rope_scaling {
            Some(s) if s.rope_type == "linear" => base.iter().map(|f| f / s.factor.unwrap_or(1.0)).collect(),
            Some(s) if s.rope_type == "llama3" => {
                let factor = s.factor.unwrap_or(8.0);
                let (lo, hi) = (s.low_freq_factor.unwrap_or(1.0), s.high_freq_factor.unwrap_or(4.0));
                let old = s.original_max_position_embeddings.unwrap_or(8192) as f64;
                let (lo_wl, hi_wl) = (old / lo, old / hi);
                base.iter()
                    .map(|&f| {
                        let wl = 2.0 * std::f64::consts::PI / f;
                        if wl < hi_wl {
                            f
                        } else if wl > lo_wl {
                            f / factor
                        } else {
                            let smooth = (old / wl - lo) / (hi - lo);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect()
            }
            _ => base,
        }
    }
}

/// `cos` and `sin` tables `[B, 1, T, head_dim]` for position ids `[B, T]` (HF's layout: the
/// frequencies repeated twice).
fn rope_tables(inv_freq: &[f64], positions: &[i64], b: usize, t: usize, dtype: DType) -> Result<(Tensor, Tensor)> {
    let half = inv_freq.len();
    let mut c = Vec::with_capacity(b * t * 2 * half);
    let mut s = Vec::with_capacity(b * t * 2 * half);
    for &p in positions {
        for _ in 0..2 {
            for f in inv_freq {
                let a = p as f64 * f;
                c.push(a.cos());
                s.push(a.sin());
            }
        }
    }
    let shape = [b, 1, t, 2 * half];
    Ok((Tensor::from_vec(c, &shape)?.to_dtype(dtype)?, Tensor::from_vec(s, &shape)?.to_dtype(dtype)?))
}

/// `x * cos + rotate_half(x) * sin` for `x [B, H, T, hd]`.
fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let hd = x.shape()[3];
    let (x1, x2) = (x.narrow(-1, 0, hd / 2)?, x.narrow(-1, hd / 2, hd / 2)?);
    let rot = Tensor::cat(&[&x2.neg()?, &x1], -1)?;
    x.mul(cos)?.add(&rot.mul(sin)?)
}

struct Layer {
    input_layernorm: RMSNorm,
    q_proj: AnyLinear,
    k_proj: AnyLinear,
    v_proj: AnyLinear,
    o_proj: AnyLinear,
    post_attention_layernorm: RMSNorm,
    gate_proj: AnyLinear,
    up_proj: AnyLinear,
    down_proj: AnyLinear,
}

/// A Llama-family causal language model.
pub struct Llama {
    pub config: LlamaConfig,
    embed_tokens: AnyEmbedding,
    layers: Vec<Layer>,
    norm: RMSNorm,
    lm_head: AnyLinear,
    inv_freq: Vec<f64>,
}

impl std::fmt::Debug for Llama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Llama({} layers, width {})", self.config.num_hidden_layers, self.config.hidden_size)
    }
}

/// Takes a tensor out of a loaded state dict with a clear error.
pub(crate) fn take(sd: &mut BTreeMap<String, Tensor>, key: &str, shape: &[usize], what: &str) -> Result<Tensor> {
    let t = sd.remove(key).ok_or_else(|| Error::format(what.to_string(), format!("missing tensor {key}")))?;
    if t.shape() != shape {
        return Err(Error::format(
            what.to_string(),
            format!("{key} has shape {:?}; config.json implies {shape:?}", t.shape()),
        ));
    }
    t.to_dtype(DType::F32)
}

impl Llama {
    /// Loads a Llama/Mistral/Qwen2 folder (`config.json`, safetensors weights), storing the
    /// linear layers' weights as `format` (f32, bf16 or int8).
    pub fn from_pretrained(dir: impl AsRef<Path>, format: WeightFormat) -> Result<Llama> {
        let dir = dir.as_ref();
        let what = dir.display().to_string();
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(cfg_path.display().to_string(), e))?;
        let config = LlamaConfig::from_json(&text, &cfg_path.display().to_string())?;
        let sd = crate::generate::load_weights(dir)?;
        Llama::from_state_dict(config, sd, format, &what)
    }

    /// Builds the model from a Hugging Face state dict.
    pub fn from_state_dict(
        config: LlamaConfig,
        sd: BTreeMap<String, Tensor>,
        format: WeightFormat,
        what: &str,
    ) -> Result<Llama> {
        Llama::from_parts(config, sd, BTreeMap::new(), format, what)
    }

    /// Builds the model from a Hugging Face state dict plus weights already packed (GGUF's
    /// blocks, by the same names), which are used as they are; the rest are packed as `format`.
    pub fn from_parts(
        config: LlamaConfig,
        mut sd: BTreeMap<String, Tensor>,
        mut packed: BTreeMap<String, PackedWeight>,
        format: WeightFormat,
        what: &str,
    ) -> Result<Llama> {
        let (d, v, inter) = (config.hidden_size, config.vocab_size, config.intermediate_size);
        let packed_has_head = packed.contains_key("lm_head.weight");
        let (h, kv, hd) = (config.num_attention_heads, config.kv_heads(), config.head_dim());
        let qkv_bias = config.attention_bias.unwrap_or(config.model_type == "qwen2");
        let eps = config.rms_norm_eps;
        let norm = |w: Tensor| RMSNorm { weight: Some(w), normalized_shape: vec![d], eps: Some(eps) };
        let take_packed =
            |packed: &mut BTreeMap<String, PackedWeight>, name: &str, o: usize, i: usize| match packed.remove(name) {
                Some(w) if w.shape() != [o, i] => Err(Error::format(
                    what.to_string(),
                    format!("{name} has shape {:?}; the config implies {:?}", w.shape(), [o, i]),
                )),
                w => Ok(w),
            };
        let embed = match take_packed(&mut packed, "model.embed_tokens.weight", v, d)? {
            Some(w) => AnyEmbedding::Packed(w),
            None => {
                AnyEmbedding::F32(Embedding::from_weights(take(&mut sd, "model.embed_tokens.weight", &[v, d], what)?))
            }
        };
        let mut lin =
            |sd: &mut BTreeMap<String, Tensor>, name: &str, o: usize, i: usize, bias: bool| -> Result<AnyLinear> {
                let b = if bias { Some(take(sd, &format!("{name}.bias"), &[o], what)?) } else { None };
                match take_packed(&mut packed, &format!("{name}.weight"), o, i)? {
                    Some(weight) => Ok(AnyLinear::Packed { weight, bias: b }),
                    None => AnyLinear::new(take(sd, &format!("{name}.weight"), &[o, i], what)?, b, format),
                }
            };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                input_layernorm: norm(take(&mut sd, &format!("{p}.input_layernorm.weight"), &[d], what)?),
                q_proj: lin(&mut sd, &format!("{p}.self_attn.q_proj"), h * hd, d, qkv_bias)?,
                k_proj: lin(&mut sd, &format!("{p}.self_attn.k_proj"), kv * hd, d, qkv_bias)?,
                v_proj: lin(&mut sd, &format!("{p}.self_attn.v_proj"), kv * hd, d, qkv_bias)?,
                o_proj: lin(&mut sd, &format!("{p}.self_attn.o_proj"), d, h * hd, false)?,
                post_attention_layernorm: norm(take(
                    &mut sd,
                    &format!("{p}.post_attention_layernorm.weight"),
                    &[d],
                    what,
                )?),
                gate_proj: lin(&mut sd, &format!("{p}.mlp.gate_proj"), inter, d, false)?,
                up_proj: lin(&mut sd, &format!("{p}.mlp.up_proj"), inter, d, false)?,
                down_proj: lin(&mut sd, &format!("{p}.mlp.down_proj"), d, inter, false)?,
            });
        }
        let final_norm = norm(take(&mut sd, "model.norm.weight", &[d], what)?);
        let untied = (sd.contains_key("lm_head.weight") || packed_has_head) && !config.tie_word_embeddings;
        let lm_head = match (untied, &embed) {
            (true, _) => lin(&mut sd, "lm_head", v, d, false)?,
            (false, AnyEmbedding::F32(e)) => AnyLinear::new(e.weight.clone(), None, format)?,
            (false, AnyEmbedding::Packed(w)) => AnyLinear::Packed { weight: w.clone(), bias: None },
        };
        sd.remove("lm_head.weight");
        sd.retain(|k, _| !k.ends_with("rotary_emb.inv_freq"));
        if let Some(k) = sd.keys().next() {
            return Err(Error::format(
                what.to_string(),
                format!("unexpected tensor {k} (and {} more) for this config", sd.len() - 1),
            ));
        }
        if let Some(k) = packed.keys().next() {
            return Err(Error::format(what.to_string(), format!("unexpected tensor {k} for this config")));
        }
        let inv_freq = config.inv_freq();
        Ok(Llama { embed_tokens: embed, layers, norm: final_norm, lm_head, inv_freq, config })
    }

    /// Bytes of weight storage: every linear layer as packed, the embedding table (shared
    /// with a tied output head, counted once) and the norms.
    pub fn weight_bytes(&self) -> usize {
        let embed = match &self.embed_tokens {
            AnyEmbedding::F32(e) => e.weight.numel() * 4,
            AnyEmbedding::Packed(w) => w.nbytes(),
        };
        let head = if self.config.tie_word_embeddings { 0 } else { self.lm_head.weight_bytes() };
        let norms = (2 * self.layers.len() + 1) * self.config.hidden_size * 4;
        let layers: usize = self
            .layers
            .iter()
            .flat_map(|l| [&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj])
            .map(|l| l.weight_bytes())
            .sum();
        embed + head + norms + layers
    }

    /// Divides each rope frequency by a factor (llama.cpp's `rope_freqs` tensor: how GGUF
    /// stores Llama 3 rope scaling).
    pub(crate) fn divide_rope_frequencies(&mut self, factors: &[f64], what: &str) -> Result<()> {
        if factors.len() != self.inv_freq.len() || factors.iter().any(|&f| f.is_nan() || f <= 0.0) {
            return Err(Error::format(
                what.to_string(),
                format!("rope_freqs has {} factors; the model has {} frequencies", factors.len(), self.inv_freq.len()),
            ));
        }
        self.inv_freq.iter_mut().zip(factors).for_each(|(f, d)| *f /= d);
        Ok(())
    }

    /// Logits `[B, T, V]` for ids `[B, T]`, continuing `cache` when given.
    pub fn forward_ids(&self, idx: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        self.forward_ext(idx, cache, None, None)
    }

    /// [`Llama::forward_ids`] with position ids `[B, T]` and an additive key mask `[B, S]`
    /// (batched generation with left padding).
    pub fn forward_ext(
        &self,
        idx: &Tensor,
        cache: Option<&mut KvCache>,
        positions: Option<&Tensor>,
        key_mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        self.forward_impl(idx, cache, positions, key_mask, false)
    }

    /// The forward pass; with `last_only` the final norm and the head see only the last
    /// position (logits `[B, 1, V]`): generation reads nothing else after a prompt, and the
    /// head is often the largest matrix.
    fn forward_impl(
        &self,
        idx: &Tensor,
        mut cache: Option<&mut KvCache>,
        positions: Option<&Tensor>,
        key_mask: Option<&Tensor>,
        last_only: bool,
    ) -> Result<Tensor> {
        if idx.dim() != 2 {
            return Err(Error::shape("Llama", format!("expected token ids [B, T], got {:?}", idx.shape())));
        }
        let c = &self.config;
        let (b, t) = (idx.shape()[0] as isize, idx.shape()[1]);
        let past = cache.as_ref().map_or(0, |c| c.len());
        if past + t > c.max_position_embeddings {
            return Err(Error::value(
                "Llama",
                format!(
                    "sequence of {} positions exceeds max_position_embeddings {}",
                    past + t,
                    c.max_position_embeddings
                ),
            ));
        }
        let (h, kv, hd) = (c.num_attention_heads as isize, c.kv_heads() as isize, c.head_dim() as isize);
        let mut x = self.embed_tokens.forward(idx)?; // [B, T, D]
        let pos: Vec<i64> = match positions {
            Some(p) => p.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?,
            None => (0..b as usize).flat_map(|_| (past..past + t).map(|p| p as i64)).collect(),
        };
        let (cos, sin) = rope_tables(&self.inv_freq, &pos, b as usize, t, x.dtype())?;
        let ti = t as isize;
        for (i, l) in self.layers.iter().enumerate() {
            let hn = l.input_layernorm.forward(&x)?;
            let q = l.q_proj.forward(&hn)?.reshape(&[b, ti, h, hd])?.permute(&[0, 2, 1, 3])?;
            let k = l.k_proj.forward(&hn)?.reshape(&[b, ti, kv, hd])?.permute(&[0, 2, 1, 3])?;
            let v = l.v_proj.forward(&hn)?.reshape(&[b, ti, kv, hd])?.permute(&[0, 2, 1, 3])?;
            let (q, k) = (apply_rope(&q, &cos, &sin)?, apply_rope(&k, &cos, &sin)?);
            let (k, v) = match cache.as_deref_mut() {
                Some(cache) => cache.append(i, &k, &v)?,
                None => (k, v),
            };
            let y = attention(&q, &k, &v, true, key_mask)?.permute(&[0, 2, 1, 3])?.reshape(&[b, ti, h * hd])?;
            x = x.add(&l.o_proj.forward(&y)?)?;
            let hn = l.post_attention_layernorm.forward(&x)?;
            let gated = l.gate_proj.forward(&hn)?.silu()?.mul(&l.up_proj.forward(&hn)?)?;
            x = x.add(&l.down_proj.forward(&gated)?)?;
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        let x = if last_only { x.narrow(1, t - 1, 1)? } else { x }; // [B, 1 or T, D]
        self.lm_head.forward(&self.norm.forward(&x)?)
    }
}

impl crate::generate::CausalLm for Llama {
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.forward_ids(ids, Some(cache))
    }
    fn forward_last(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.forward_impl(ids, Some(cache), None, None, true)
    }
    fn new_cache(&self, batch: usize, max_len: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(
            c.num_hidden_layers,
            batch,
            c.kv_heads(),
            max_len.min(c.max_position_embeddings),
            c.head_dim(),
            DType::F32,
        )
    }
    fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }
    fn forward_padded(
        &self,
        ids: &Tensor,
        cache: &mut KvCache,
        positions: &Tensor,
        key_mask: &Tensor,
    ) -> Result<Tensor> {
        self.forward_ext(ids, Some(cache), Some(positions), Some(key_mask))
    }
}
