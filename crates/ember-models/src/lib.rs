//! ember-models: transformer language models written with Ember's own modules, so the same
//! code runs inference and fine-tunes with autograd.
//!
//! - [`gpt2`]: GPT-2 (`GPT2LMHeadModel` checkpoints; also the from-scratch character model of
//!   `ember train char`).
//! - [`llama`]: Llama, Mistral- and Qwen2-style models (`LlamaForCausalLM`).
//! - [`bert`]: BERT encoders and sentence embeddings (all-MiniLM-L6-v2).
//! - [`tokenizer`]: `tokenizer.json`, GPT-2 BPE, or a GGUF file's own tokenizer, through the
//!   `tokenizers` crate.
//! - [`linear`], [`attention`]: f32/bf16/int8/GGUF-block linear layers and fused inference
//!   attention.
//! - [`kv_cache`]: preallocated key/value caches for incremental decoding.
//! - [`sampling`]: greedy, temperature, top-k, top-p and repetition-penalty sampling.
//! - [`generate`]: the prefill-then-decode loop shared by every causal model.

pub mod attention;
pub mod bert;
pub mod generate;
mod gguf;
pub mod gguf_export;
pub mod gpt2;
pub mod kv_cache;
pub mod linear;
pub mod llama;
pub mod sampling;
pub mod tokenizer;
mod tokenizer_gguf;

pub use bert::{embed, Bert, BertConfig};
pub use generate::{generate, generate_batch, CausalLm, GenerateOptions};
pub use gpt2::{Gpt2, Gpt2Config};
pub use kv_cache::KvCache;
pub use linear::{AnyLinear, WeightFormat};
pub use llama::{Llama, LlamaConfig};
pub use sampling::Sampler;
pub use tokenizer::Tokenizer;
