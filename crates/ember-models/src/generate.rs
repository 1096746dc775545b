//! Text generation for any causal model: prefill the prompt once into a KV cache, then decode
//! one token at a time, sampling, streaming each token to a callback, stopping at EOS, at a
//! callback's request, or when the context is full.

use crate::kv_cache::KvCache;
use crate::sampling::Sampler;
use ember_core::{no_grad, DType, Error, Result, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

/// A model that maps token ids to next-token logits with a KV cache.
pub trait CausalLm {
    /// Logits `[B, T, V]` for ids `[B, T]` continuing the cache.
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor>;
    /// A cache for `batch` sequences of up to `max_len` positions.
    fn new_cache(&self, batch: usize, max_len: usize) -> Result<KvCache>;
    /// The longest sequence the model accepts.
    fn max_positions(&self) -> usize;
}

/// Generation settings.
pub struct GenerateOptions<'a> {
    pub max_new_tokens: usize,
    pub sampler: Sampler,
    /// Stop after producing this id.
    pub eos: Option<u32>,
    /// Called with each new id; return `false` to stop (stop strings, Ctrl-C).
    pub on_token: Option<&'a mut dyn FnMut(u32) -> bool>,
    /// When the context is full, keep generating from the last half of it (re-encoded)
    /// instead of stopping: unlimited length for small-context models.
    pub slide_when_full: bool,
}

impl GenerateOptions<'_> {
    /// `max_new_tokens` with a sampler, no EOS, no callback, stopping at the context size.
    pub fn new(max_new_tokens: usize, sampler: Sampler) -> GenerateOptions<'static> {
        GenerateOptions { max_new_tokens, sampler, eos: None, on_token: None, slide_when_full: false }
    }
}

/// Generates up to `max_new_tokens` ids after `prompt`; returns only the new ids.
pub fn generate(model: &dyn CausalLm, prompt: &[u32], mut opts: GenerateOptions<'_>) -> Result<Vec<u32>> {
    if prompt.is_empty() {
        return Err(Error::value("generate", "the prompt must hold at least one token"));
    }
    let max = model.max_positions();
    let prompt: &[u32] =
        if opts.slide_when_full && prompt.len() > max { &prompt[prompt.len() - max..] } else { prompt };
    if prompt.len() > max {
        return Err(Error::value(
            "generate",
            format!("prompt of {} tokens exceeds the model's context of {max}", prompt.len()),
        ));
    }
    let n_new = if opts.slide_when_full { opts.max_new_tokens } else { opts.max_new_tokens.min(max - prompt.len()) };
    let prefill = |cache: &mut KvCache, ids: &[u32]| -> Result<Tensor> {
        cache.reset();
        model.forward_cached(&Tensor::from_vec(ids.iter().map(|&i| i as i64).collect(), &[1, ids.len()])?, cache)
    };
    no_grad(|| {
        let mut cache = model.new_cache(1, (prompt.len() + n_new).min(max))?;
        let mut all: Vec<u32> = prompt.to_vec();
        let mut out = Vec::with_capacity(n_new);
        let mut logits = prefill(&mut cache, prompt)?;
        for _ in 0..n_new {
            let t = logits.shape()[1];
            let last = logits.select(1, t as isize - 1)?.reshape(&[-1])?.to_dtype(DType::F32)?.to_vec::<f32>()?;
            let next = opts.sampler.sample(&last, &all);
            all.push(next);
            out.push(next);
            let keep_going = opts.on_token.as_mut().is_none_or(|f| f(next));
            if Some(next) == opts.eos || !keep_going || out.len() == n_new {
                break;
            }
            if cache.len() == cache.max_len() {
                // Context full (only when sliding): re-encode the last half and go on.
                let keep = (max / 2).max(1);
                logits = prefill(&mut cache, &all[all.len() - keep..])?;
            } else {
                logits = model.forward_cached(&Tensor::from_vec(vec![next as i64], &[1, 1])?, &mut cache)?;
            }
        }
        Ok(out)
    })
}

/// Loads a model folder's weights: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json`.
pub fn load_weights(dir: &Path) -> Result<BTreeMap<String, Tensor>> {
    let single = dir.join("model.safetensors");
    if single.exists() {
        return ember_io::load_safetensors(&single);
    }
    let index = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index)
        .map_err(|e| Error::io(format!("{} (no model.safetensors either)", index.display()), e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(index.display().to_string(), e.to_string()))?;
    let map =
        v["weight_map"].as_object().ok_or_else(|| Error::format(index.display().to_string(), "missing weight_map"))?;
    let mut files: Vec<&str> = map.values().filter_map(|f| f.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let mut out = BTreeMap::new();
    for f in files {
        if f.contains('/') || f.contains("..") {
            return Err(Error::format(
                index.display().to_string(),
                format!("shard name {f:?} leaves the model folder"),
            ));
        }
        out.extend(ember_io::load_safetensors(dir.join(f))?);
    }
    Ok(out)
}
