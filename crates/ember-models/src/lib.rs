//! ember-models: transformer language models written with Ember's own modules, so the same
//! code runs inference and fine-tunes with autograd.
//!
//! - [`gpt2`]: GPT-2 (`GPT2LMHeadModel` checkpoints; also the from-scratch character model of
//!   `ember train char`).
//! - [`kv_cache`]: preallocated key/value caches for incremental decoding.
//! - [`sampling`]: greedy, temperature, top-k, top-p and repetition-penalty sampling.
//! - [`generate`]: the prefill-then-decode loop shared by every causal model.

pub mod generate;
pub mod gpt2;
pub mod kv_cache;
pub mod sampling;

pub use generate::{generate, CausalLm, GenerateOptions};
pub use gpt2::{Gpt2, Gpt2Config};
pub use kv_cache::KvCache;
pub use sampling::Sampler;
