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
}

/// Generates up to `max_new_tokens` ids after `prompt`; returns only the new ids.
pub fn generate(model: &dyn CausalLm, prompt: &[u32], mut opts: GenerateOptions<'_>) -> Result<Vec<u32>> {
    if prompt.is_empty() {
        return Err(Error::value("generate", "the prompt must hold at least one token"));
    }
    let room = model.max_positions().saturating_sub(prompt.len());
    let n_new = opts.max_new_tokens.min(room);
    if prompt.len() > model.max_positions() {
        return Err(Error::value(
            "generate",
            format!("prompt of {} tokens exceeds the model's context of {}", prompt.len(), model.max_positions()),
        ));
    }
    no_grad(|| {
        let mut cache = model.new_cache(1, prompt.len() + n_new)?;
        let mut all: Vec<u32> = prompt.to_vec();
        let mut out = Vec::with_capacity(n_new);
        let ids = Tensor::from_vec(prompt.iter().map(|&i| i as i64).collect(), &[1, prompt.len()])?;
        let mut logits = model.forward_cached(&ids, &mut cache)?;
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
            logits = model.forward_cached(&Tensor::from_vec(vec![next as i64], &[1, 1])?, &mut cache)?;
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
