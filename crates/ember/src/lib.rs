//! Ember: PyTorch's programming model in pure Rust.
//!
//! ```
//! use ember::{DType, Tensor};
//! let x = Tensor::randn(&[4, 3], DType::F32)?;
//! let w = Tensor::randn(&[3, 2], DType::F32)?.set_requires_grad(true)?;
//! x.matmul(&w)?.relu()?.sum()?.backward()?;
//! assert_eq!(w.grad().unwrap().shape(), &[3, 2]);
//! # Ok::<(), ember::Error>(())
//! ```
//!
//! The tensor, autograd and error types come from `ember-core`; [`nn`], [`optim`] and [`data`]
//! are PyTorch's `torch.nn`, `torch.optim` and `torch.utils.data`; [`io`] loads and saves
//! checkpoints.

pub use ember_core::*;

/// `torch.nn`: modules, layers, functional ops and losses.
pub mod nn {
    pub use ember_nn::*;
}

/// `torch.optim`: optimisers and learning-rate schedulers.
pub mod optim {
    pub use ember_optim::*;
}

/// `torch.utils.data`: data sets and loaders.
pub mod data {
    pub use ember_data::*;
}

/// Checkpoints: safetensors, `torch.save` files (no code runs), atomic saves.
pub mod io {
    pub use ember_io::*;
}

/// `torch.distributed`: process groups (MPI with the `mpi` feature), collectives,
/// `DistributedDataParallel`.
pub mod distributed {
    pub use ember_distributed::*;
}

/// Transformer models (GPT-2, ...), KV caches, sampling and generation.
pub mod models {
    pub use ember_models::*;
}
