//! GPT-2: learned positions, pre-norm blocks of causal self-attention and a GELU (tanh) MLP,
//! final layer norm, logits tied to the token embedding. Parameter names are Hugging Face's
//! (`transformer.h.0.attn.c_attn.weight`, ...), so `GPT2LMHeadModel` checkpoints load
//! directly; their `Conv1D` weights (`[in, out]`) are transposed to `Linear`'s `[out, in]` at
//! load time.

use crate::attention::attention;
use crate::kv_cache::KvCache;
use crate::linear::{AnyLinear, WeightFormat};
use ember_core::{DType, Error, Result, Tensor};
use ember_nn::{init, Dropout, Embedding, Forward, LayerNorm, Linear, Module};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

fn default_eps() -> f64 {
    1e-5
}
fn default_act() -> String {
    "gelu_new".into()
}
fn default_true() -> bool {
    true
}

/// Hugging Face `GPT2Config` fields Ember uses (dropouts default to 0 for inference).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_act")]
    pub activation_function: String,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub embd_pdrop: f64,
    #[serde(default)]
    pub attn_pdrop: f64,
    #[serde(default)]
    pub resid_pdrop: f64,
}

impl Gpt2Config {
    /// Reads a `config.json`, checking the fields that must agree.
    pub fn from_json(text: &str, what: &str) -> Result<Gpt2Config> {
        let c: Gpt2Config =
            serde_json::from_str(text).map_err(|e| Error::format(what, format!("bad GPT-2 config: {e}")))?;
        c.validate(what)?;
        Ok(c)
    }

    /// Checks sizes: positive, heads dividing the width, a known activation.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.vocab_size == 0 || self.n_positions == 0 || self.n_embd == 0 || self.n_layer == 0 || self.n_head == 0 {
            return Err(Error::format(what, "vocab_size, n_positions, n_embd, n_layer and n_head must be positive"));
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(Error::format(
                what,
                format!("n_embd {} is not divisible by n_head {}", self.n_embd, self.n_head),
            ));
        }
        if !matches!(self.activation_function.as_str(), "gelu_new" | "gelu" | "gelu_pytorch_tanh" | "relu") {
            return Err(Error::format(what, format!("unsupported activation_function {:?}", self.activation_function)));
        }
        for p in [self.embd_pdrop, self.attn_pdrop, self.resid_pdrop] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::format(what, format!("dropout {p} must be in [0, 1)")));
            }
        }
        Ok(())
    }
}

/// Causal multi-head self-attention (`c_attn` makes q, k, v; `c_proj` mixes heads).
#[derive(Module)]
#[module(crate = "ember_nn")]
pub struct Attention {
    pub c_attn: AnyLinear,
    pub c_proj: AnyLinear,
    attn_drop: Dropout,
    resid_drop: Dropout,
    n_head: usize,
}

impl Attention {
    /// `x [B, T, C]` -> `[B, T, C]`; with a cache, attends to everything cached plus `x`.
    pub fn forward(
        &self,
        x: &Tensor,
        cache: Option<(&mut KvCache, usize)>,
        key_mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, t, c) = (x.shape()[0] as isize, x.shape()[1] as isize, x.shape()[2] as isize);
        let h = self.n_head as isize;
        let hd = c / h;
        // q, k, v from row slices of c_attn: the backward then accumulates into slices of the
        // small weight instead of three activation-sized gradients of one split.
        let cu = c as usize;
        let heads = |z: Tensor| z.reshape(&[b, t, h, hd])?.permute(&[0, 2, 1, 3]); // [B, H, T, hd]
        let q = heads(self.c_attn.forward_rows(x, 0, cu)?)?;
        let k = heads(self.c_attn.forward_rows(x, cu, cu)?)?;
        let v = heads(self.c_attn.forward_rows(x, 2 * cu, cu)?)?;
        let (past, k, v) = match cache {
            Some((cache, layer)) => {
                let past = cache.len();
                let (k, v) = cache.append(layer, &k, &v)?;
                (past, k, v)
            }
            None => (0, k, v),
        };
        let y = if self.attn_drop.training && self.attn_drop.p > 0.0 {
            let mut att = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(1.0 / (hd as f64).sqrt())?; // [B, H, T, past+T]
            if t > 1 {
                att = att.add(&crate::attention::causal_mask(t as usize, past)?)?;
            }
            if let Some(m) = key_mask {
                att = att.add(&m.unsqueeze(1)?.unsqueeze(1)?)?;
            }
            self.attn_drop.forward(&att.softmax(-1)?)?.matmul(&v)?
        } else {
            attention(&q, &k, &v, true, key_mask)?
        };
        let y = y.permute(&[0, 2, 1, 3])?.reshape(&[b, t, c])?;
        self.resid_drop.forward(&self.c_proj.forward(&y)?)
    }
}

/// The feed-forward block: `c_proj(gelu(c_fc(x)))`.
#[derive(Module)]
#[module(crate = "ember_nn")]
pub struct Mlp {
    pub c_fc: AnyLinear,
    pub c_proj: AnyLinear,
    drop: Dropout,
    #[module(skip)]
    tanh_gelu: bool,
}

impl Forward for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.c_fc.forward(x)?;
        let h = if self.tanh_gelu { h.gelu_tanh()? } else { h.gelu()? };
        self.drop.forward(&self.c_proj.forward(&h)?)
    }
}

/// One pre-norm transformer block.
#[derive(Module)]
#[module(crate = "ember_nn")]
pub struct Block {
    pub ln_1: LayerNorm,
    pub attn: Attention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
}

impl Block {
    fn forward(&self, x: &Tensor, cache: Option<(&mut KvCache, usize)>, key_mask: Option<&Tensor>) -> Result<Tensor> {
        let x = x.add(&self.attn.forward(&self.ln_1.forward(x)?, cache, key_mask)?)?;
        x.add(&self.mlp.forward(&self.ln_2.forward(&x)?)?)
    }
}

/// Embeddings, blocks and the final norm (Hugging Face's `transformer` submodule).
#[derive(Module)]
#[module(crate = "ember_nn")]
pub struct Transformer {
    pub wte: Embedding,
    pub wpe: Embedding,
    pub h: Vec<Block>,
    pub ln_f: LayerNorm,
    drop: Dropout,
}

/// GPT-2 with a language-modelling head tied to `wte`.
#[derive(Module)]
#[module(crate = "ember_nn")]
pub struct Gpt2 {
    pub transformer: Transformer,
    #[module(skip)]
    pub config: Gpt2Config,
    /// The output head when weights are packed (bf16/int8); `None` means tied to `wte` in f32.
    #[module(skip)]
    lm_head: Option<AnyLinear>,
}

fn linear(i: usize, o: usize, std: f64) -> Result<AnyLinear> {
    let l = Linear::new(i, o, true)?;
    init::normal_(&l.weight, 0.0, std)?;
    if let Some(b) = &l.bias {
        init::zeros_(b)?;
    }
    Ok(AnyLinear::F32(l))
}

impl Gpt2 {
    /// A randomly initialised model (GPT-2's scheme: N(0, 0.02), residual projections scaled
    /// by 1/sqrt(2 n_layer), zero biases), for training from scratch.
    pub fn new(config: Gpt2Config) -> Result<Gpt2> {
        config.validate("Gpt2Config")?;
        let (d, v) = (config.n_embd, config.vocab_size);
        let proj_std = 0.02 / (2.0 * config.n_layer as f64).sqrt();
        let drop = |p: f64| Dropout::new(p);
        let tanh_gelu = config.activation_function != "gelu";
        let mut h = Vec::with_capacity(config.n_layer);
        for _ in 0..config.n_layer {
            h.push(Block {
                ln_1: LayerNorm::with_options(&[d], config.layer_norm_epsilon, true, true)?,
                attn: Attention {
                    c_attn: linear(d, 3 * d, 0.02)?,
                    c_proj: linear(d, d, proj_std)?,
                    attn_drop: drop(config.attn_pdrop)?,
                    resid_drop: drop(config.resid_pdrop)?,
                    n_head: config.n_head,
                },
                ln_2: LayerNorm::with_options(&[d], config.layer_norm_epsilon, true, true)?,
                mlp: Mlp {
                    c_fc: linear(d, 4 * d, 0.02)?,
                    c_proj: linear(4 * d, d, proj_std)?,
                    drop: drop(config.resid_pdrop)?,
                    tanh_gelu,
                },
            });
        }
        let wte = Embedding::new(v, d)?;
        init::normal_(&wte.weight, 0.0, 0.02)?;
        let wpe = Embedding::new(config.n_positions, d)?;
        init::normal_(&wpe.weight, 0.0, 0.02)?;
        let transformer = Transformer {
            wte,
            wpe,
            h,
            ln_f: LayerNorm::with_options(&[d], config.layer_norm_epsilon, true, true)?,
            drop: drop(config.embd_pdrop)?,
        };
        Ok(Gpt2 { transformer, config, lm_head: None })
    }

    /// Logits `[B, T, vocab]` for token ids `[B, T]`. With a cache, `idx` continues the cached
    /// positions and its keys/values are appended.
    pub fn forward_ids(&self, idx: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        self.forward_ext(idx, cache, None, None)
    }

    /// [`Gpt2::forward_ids`] with explicit position ids `[B, T]` and an additive key mask
    /// `[B, S]` over all cached and new positions (0 keep, a large negative drop): batched
    /// generation with left padding.
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
            return Err(Error::shape("Gpt2", format!("expected token ids [B, T], got {:?}", idx.shape())));
        }
        let t = idx.shape()[1];
        let past = cache.as_ref().map_or(0, |c| c.len());
        if past + t > self.config.n_positions {
            return Err(Error::value(
                "Gpt2",
                format!("sequence of {} positions exceeds n_positions {}", past + t, self.config.n_positions),
            ));
        }
        let tr = &self.transformer;
        let pos = match positions {
            Some(p) => p.clone(),
            None => Tensor::arange(past as f64, (past + t) as f64, 1.0, DType::I64)?,
        };
        let mut x = tr.drop.forward(&tr.wte.forward(idx)?.add(&tr.wpe.forward(&pos)?)?)?; // [B, T, C]
        for (i, block) in tr.h.iter().enumerate() {
            x = block.forward(&x, cache.as_deref_mut().map(|c| (c, i)), key_mask)?;
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        let x = if last_only { x.narrow(1, t - 1, 1)? } else { x }; // [B, 1 or T, C]
        let x = tr.ln_f.forward(&x)?;
        match &self.lm_head {
            Some(head) => head.forward(&x),
            None => x.matmul(&tr.wte.weight.t()?), // tied head: [B, T, V]
        }
    }

    /// A cache sized for this model.
    pub fn new_cache(&self, batch: usize, max_len: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(
            c.n_layer,
            batch,
            c.n_head,
            max_len.min(c.n_positions),
            c.n_embd / c.n_head,
            self.transformer.wte.weight.dtype(),
        )
    }

    /// Maps a Hugging Face state dict to this model's names and layout: Conv1D weights are
    /// transposed, `lm_head.weight` (tied) and attention mask buffers are dropped.
    pub fn convert_hf_state_dict(sd: BTreeMap<String, Tensor>) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for (k, t) in sd {
            let k =
                if k.starts_with("transformer.") || k.starts_with("lm_head") { k } else { format!("transformer.{k}") };
            if k.starts_with("lm_head") || k.ends_with(".attn.bias") || k.ends_with(".attn.masked_bias") {
                continue;
            }
            let conv1d = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]
                .iter()
                .any(|s| k.ends_with(s));
            let t = if conv1d { t.t()?.contiguous()? } else { t };
            out.insert(k, t);
        }
        Ok(out)
    }

    /// Stores every linear layer (and the tied head) as `format` for inference; f32 leaves the
    /// model unchanged. Packed models cannot be trained.
    pub fn pack(mut self, format: WeightFormat) -> Result<Gpt2> {
        if format == WeightFormat::F32 {
            return Ok(self);
        }
        for b in self.transformer.h.iter_mut() {
            let take = |l: &mut AnyLinear| -> Result<()> {
                let old = std::mem::replace(
                    l,
                    AnyLinear::F32(Linear::from_weights(Tensor::zeros(&[0, 0], DType::F32)?, None)),
                );
                *l = old.pack(format)?;
                Ok(())
            };
            take(&mut b.attn.c_attn)?;
            take(&mut b.attn.c_proj)?;
            take(&mut b.mlp.c_fc)?;
            take(&mut b.mlp.c_proj)?;
        }
        self.lm_head = Some(AnyLinear::new(self.transformer.wte.weight.detach(), None, format)?);
        Ok(self)
    }

    /// Bytes of weight storage (linear layers packed as they are, embeddings and norms f32).
    pub fn weight_bytes(&self) -> usize {
        let mut total = 0;
        self.visit_tensors("", &mut |_, t, _| total += t.numel() * t.dtype().size_in_bytes());
        for b in &self.transformer.h {
            for l in [&b.attn.c_attn, &b.attn.c_proj, &b.mlp.c_fc, &b.mlp.c_proj] {
                if let AnyLinear::Packed { .. } = l {
                    total += l.weight_bytes();
                }
            }
        }
        total + self.lm_head.as_ref().map_or(0, |l| l.weight_bytes())
    }

    /// Loads a Hugging Face GPT-2 folder (`config.json` + `model.safetensors`).
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<Gpt2> {
        let dir = dir.as_ref();
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(cfg_path.display().to_string(), e))?;
        let config = Gpt2Config::from_json(&text, &cfg_path.display().to_string())?;
        let sd = Gpt2::convert_hf_state_dict(crate::generate::load_weights(dir)?)?;
        let mut model = Gpt2::from_state_dict(config, sd, &dir.display().to_string())?;
        model.eval();
        Ok(model)
    }

    /// Builds the model around the tensors of a (converted) state dict without initialising
    /// weights first, so loading holds the weights once.
    pub fn from_state_dict(config: Gpt2Config, mut sd: BTreeMap<String, Tensor>, what: &str) -> Result<Gpt2> {
        config.validate(what)?;
        let (d, v) = (config.n_embd, config.vocab_size);
        let take = |sd: &mut BTreeMap<String, Tensor>, k: &str, shape: &[usize]| crate::llama::take(sd, k, shape, what);
        let lin = |sd: &mut BTreeMap<String, Tensor>, p: &str, o: usize, i: usize| -> Result<AnyLinear> {
            Ok(AnyLinear::F32(Linear::from_weights(
                take(sd, &format!("{p}.weight"), &[o, i])?,
                Some(take(sd, &format!("{p}.bias"), &[o])?),
            )))
        };
        let ln = |sd: &mut BTreeMap<String, Tensor>, p: &str| -> Result<LayerNorm> {
            Ok(LayerNorm {
                weight: Some(take(sd, &format!("{p}.weight"), &[d])?),
                bias: Some(take(sd, &format!("{p}.bias"), &[d])?),
                normalized_shape: vec![d],
                eps: config.layer_norm_epsilon,
            })
        };
        let drop = |p: f64| Dropout::new(p);
        let tanh_gelu = config.activation_function != "gelu";
        let mut h = Vec::with_capacity(config.n_layer);
        for i in 0..config.n_layer {
            let p = format!("transformer.h.{i}");
            h.push(Block {
                ln_1: ln(&mut sd, &format!("{p}.ln_1"))?,
                attn: Attention {
                    c_attn: lin(&mut sd, &format!("{p}.attn.c_attn"), 3 * d, d)?,
                    c_proj: lin(&mut sd, &format!("{p}.attn.c_proj"), d, d)?,
                    attn_drop: drop(config.attn_pdrop)?,
                    resid_drop: drop(config.resid_pdrop)?,
                    n_head: config.n_head,
                },
                ln_2: ln(&mut sd, &format!("{p}.ln_2"))?,
                mlp: Mlp {
                    c_fc: lin(&mut sd, &format!("{p}.mlp.c_fc"), 4 * d, d)?,
                    c_proj: lin(&mut sd, &format!("{p}.mlp.c_proj"), d, 4 * d)?,
                    drop: drop(config.resid_pdrop)?,
                    tanh_gelu,
                },
            });
        }
        let transformer = Transformer {
            wte: Embedding::from_weights(take(&mut sd, "transformer.wte.weight", &[v, d])?),
            wpe: Embedding::from_weights(take(&mut sd, "transformer.wpe.weight", &[config.n_positions, d])?),
            h,
            ln_f: ln(&mut sd, "transformer.ln_f")?,
            drop: drop(config.embd_pdrop)?,
        };
        if let Some(k) = sd.keys().next() {
            return Err(Error::format(what.to_string(), format!("unexpected tensor {k} for this GPT-2 config")));
        }
        Ok(Gpt2 { transformer, config, lm_head: None })
    }
}

impl Forward for Gpt2 {
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        self.forward_ids(idx, None)
    }
}

impl crate::generate::CausalLm for Gpt2 {
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.forward_ids(ids, Some(cache))
    }
    fn forward_last(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.forward_impl(ids, Some(cache), None, None, true)
    }
    fn new_cache(&self, batch: usize, max_len: usize) -> Result<KvCache> {
        Gpt2::new_cache(self, batch, max_len)
    }
    fn max_positions(&self) -> usize {
        self.config.n_positions
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
