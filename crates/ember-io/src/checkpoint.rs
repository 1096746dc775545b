//! Training checkpoints: model state dict, optimiser state, step, RNG state and free-form
//! metadata (configs, scheduler state) in one safetensors file, saved atomically. Resuming
//! from one continues bit for bit like an uninterrupted run.

use crate::safetensors::{load_safetensors_with_metadata, save_safetensors_with_metadata};
use ember_core::{Error, Generator, Result, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything needed to resume training.
#[derive(Clone, Debug, Default)]
pub struct TrainingCheckpoint {
    /// The model's state dict.
    pub model: BTreeMap<String, Tensor>,
    /// The optimiser's state dict.
    pub optimizer: BTreeMap<String, Tensor>,
    /// Optimisation steps taken.
    pub step: u64,
    /// The global generator's state (`ember::rng::global_state()`).
    pub rng: Option<Generator>,
    /// Other state: model config, scheduler epoch, data-loader position, ... (strings).
    pub metadata: BTreeMap<String, String>,
}

const MODEL: &str = "model.";
const OPTIM: &str = "optimizer.";

/// Saves a checkpoint atomically (the previous file survives a crash mid-save).
pub fn save_checkpoint(ck: &TrainingCheckpoint, path: impl AsRef<Path>) -> Result<()> {
    let mut tensors = BTreeMap::new();
    for (k, t) in &ck.model {
        tensors.insert(format!("{MODEL}{k}"), t.clone());
    }
    for (k, t) in &ck.optimizer {
        tensors.insert(format!("{OPTIM}{k}"), t.clone());
    }
    let mut meta = ck.metadata.clone();
    meta.insert("ember.step".into(), ck.step.to_string());
    meta.insert("ember.format".into(), "training-checkpoint-v1".into());
    if let Some(g) = ck.rng {
        meta.insert("ember.rng_seed".into(), g.seed.to_string());
        meta.insert("ember.rng_offset".into(), g.offset.to_string());
    }
    save_safetensors_with_metadata(&tensors, &meta, path)
}

/// Loads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<TrainingCheckpoint> {
    let what = path.as_ref().display().to_string();
    let (tensors, mut meta) = load_safetensors_with_metadata(&path)?;
    if meta.get("ember.format").map(String::as_str) != Some("training-checkpoint-v1") {
        return Err(Error::format(what, "not an Ember training checkpoint (missing ember.format metadata)"));
    }
    let num = |meta: &BTreeMap<String, String>, k: &str| -> Result<Option<u64>> {
        meta.get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| Error::format(what.clone(), format!("metadata {k} = {v:?} is not an integer")))
            })
            .transpose()
    };
    let step = num(&meta, "ember.step")?.unwrap_or(0);
    let rng = match (num(&meta, "ember.rng_seed")?, num(&meta, "ember.rng_offset")?) {
        (Some(seed), Some(offset)) => Some(Generator { seed, offset }),
        _ => None,
    };
    for k in ["ember.step", "ember.format", "ember.rng_seed", "ember.rng_offset"] {
        meta.remove(k);
    }
    let mut ck = TrainingCheckpoint { step, rng, metadata: meta, ..Default::default() };
    for (k, t) in tensors {
        if let Some(rest) = k.strip_prefix(MODEL) {
            ck.model.insert(rest.to_string(), t);
        } else if let Some(rest) = k.strip_prefix(OPTIM) {
            ck.optimizer.insert(rest.to_string(), t);
        } else {
            return Err(Error::format(what, format!("unexpected tensor {k:?} in a training checkpoint")));
        }
    }
    Ok(ck)
}
