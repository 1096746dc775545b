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
    /// Logits `[B, 1, V]` of the last position only, continuing the cache: all that generation
    /// reads after a prompt, so a model can run its head on one row instead of T.
    fn forward_last(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let logits = self.forward_cached(ids, cache)?;
        let t = logits.shape()[1];
        logits.narrow(1, t - 1, 1)
    }
    /// A cache for `batch` sequences of up to `max_len` positions.
    fn new_cache(&self, batch: usize, max_len: usize) -> Result<KvCache>;
    /// The longest sequence the model accepts.
    fn max_positions(&self) -> usize;
    /// Like `forward_cached` with position ids `[B, T]` and an additive key mask `[B, S]` over
    /// all cached and new positions (batched generation with left padding).
    fn forward_padded(
        &self,
        _ids: &Tensor,
        _cache: &mut KvCache,
        _positions: &Tensor,
        _key_mask: &Tensor,
    ) -> Result<Tensor> {
        Err(Error::unsupported("generate_batch", "this model does not support padded batches"))
    }
}

/// Masks out padding: the most negative f32 (not -inf, so a row with every key masked still
/// gives a finite softmax and no NaN reaches the cache).
const PAD: f32 = f32::MIN;

/// Generates for several prompts at once: prompts are left-padded with `pad_id` to the
/// longest, padding is masked and position ids start at each prompt's first token. Each row
/// stops at `eos`; returns the new ids of every prompt (up to and including EOS).
pub fn generate_batch(
    model: &dyn CausalLm,
    prompts: &[Vec<u32>],
    max_new_tokens: usize,
    sampler: &mut Sampler,
    eos: Option<u32>,
    pad_id: u32,
) -> Result<Vec<Vec<u32>>> {
    if prompts.is_empty() || prompts.iter().any(|p| p.is_empty()) {
        return Err(Error::value("generate_batch", "every prompt must hold at least one token"));
    }
    let b = prompts.len();
    let l = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let n_new = max_new_tokens.min(model.max_positions().saturating_sub(l));
    if l > model.max_positions() {
        return Err(Error::value(
            "generate_batch",
            format!("prompt of {l} tokens exceeds the model's context of {}", model.max_positions()),
        ));
    }
    no_grad(|| {
        let mut ids = Vec::with_capacity(b * l);
        let mut mask: Vec<Vec<f32>> = Vec::with_capacity(b);
        let mut pos = Vec::with_capacity(b * l);
        let mut next_pos = Vec::with_capacity(b);
        for p in prompts {
            let pad = l - p.len();
            ids.extend(std::iter::repeat_n(pad_id as i64, pad).chain(p.iter().map(|&x| x as i64)));
            mask.push((0..l).map(|i| if i < pad { PAD } else { 0.0 }).collect());
            pos.extend((0..l).map(|i| i.saturating_sub(pad) as i64));
            next_pos.push(p.len() as i64);
        }
        let mut cache = model.new_cache(b, l + n_new)?;
        let key_mask =
            |mask: &Vec<Vec<f32>>| -> Result<Tensor> { Tensor::from_vec(mask.concat(), &[b, mask[0].len()]) };
        let mut logits = model.forward_padded(
            &Tensor::from_vec(ids, &[b, l])?,
            &mut cache,
            &Tensor::from_vec(pos, &[b, l])?,
            &key_mask(&mask)?,
        )?;
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); b];
        let mut history: Vec<Vec<u32>> = prompts.to_vec();
        let mut done = vec![false; b];
        for _ in 0..n_new {
            let t = logits.shape()[1];
            let last = logits.select(1, t as isize - 1)?.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?; // [B, V]
            let v = last.len() / b;
            let mut step_ids = Vec::with_capacity(b);
            for r in 0..b {
                let tok = if done[r] { pad_id } else { sampler.sample(&last[r * v..(r + 1) * v], &history[r]) };
                if !done[r] {
                    out[r].push(tok);
                    history[r].push(tok);
                    done[r] = Some(tok) == eos;
                }
                step_ids.push(tok as i64);
            }
            if done.iter().all(|&d| d) || out.iter().map(Vec::len).max() == Some(n_new) {
                break;
            }
            for m in mask.iter_mut() {
                m.push(0.0);
            }
            let positions: Vec<i64> = next_pos.clone();
            next_pos.iter_mut().for_each(|p| *p += 1);
            logits = model.forward_padded(
                &Tensor::from_vec(step_ids, &[b, 1])?,
                &mut cache,
                &Tensor::from_vec(positions, &[b, 1])?,
                &key_mask(&mask)?,
            )?;
        }
        Ok(out)
    })
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
        model.forward_last(&Tensor::from_vec(ids.iter().map(|&i| i as i64).collect(), &[1, ids.len()])?, cache)
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
                logits = model.forward_last(&Tensor::from_vec(vec![next as i64], &[1, 1])?, &mut cache)?;
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
