//! ember-io: loading and saving tensors, safely.
//!
//! - [`safetensors`]: the Hugging Face format, read with every length, offset, shape and dtype
//!   checked against the file before anything is allocated, and written atomically.
//! - [`pt`]: `torch.save` zip archives, read by a data-only unpickler with an allow-list of
//!   globals: a file that asks for anything else (`os.system`, ...) is an error naming the
//!   global, and nothing in it is ever executed.
//! - [`atomic`]: write-to-temp, fsync, rename: a crash mid-save keeps the previous file.
//! - [`checkpoint`]: training checkpoints (model, optimiser, step, RNG, config) in one
//!   safetensors file.
//!
//! Loading reads tensor bytes straight into Ember's buffers with positioned reads (no memory
//! map): resident memory holds the weights once, as a map would, without `unsafe`.

pub mod atomic;
pub mod checkpoint;
pub mod gguf;
pub mod gguf_write;
pub mod pt;
pub mod safetensors;

pub use checkpoint::{load_checkpoint, save_checkpoint, TrainingCheckpoint};
pub use gguf::{load_gguf, parse_gguf, Gguf, GgufValue};
pub use gguf_write::{write_gguf, GgufTensorOut};
pub use pt::{load_pt, load_pt_state_dict, PtValue};
pub use safetensors::{
    load_safetensors, load_safetensors_with_metadata, read_safetensors_header, save_safetensors,
    save_safetensors_with_metadata,
};
