//! ember-core: the `Tensor` (strided views over shared storage, eight dtypes, PyTorch
//! semantics), its CPU backend, errors that name the op and the caller's line, and autograd.
//!
//! Layers: `dtype`/`shape`/`layout`/`storage` are plain data; `backend::cpu` turns layouts into
//! loops over `ember-kernels`; `tensor` holds the public methods; `autograd` records and
//! differentiates them. Neural-network layers, optimisers and I/O live in other crates.

pub mod autograd;
pub mod backend;
pub mod device;
pub mod distributions;
pub mod dtype;
pub mod error;
pub mod fused;
pub mod layout;
#[macro_use]
pub mod op;
pub mod shape;
pub mod sparse;
pub mod storage;
mod tensor;

pub use autograd::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled, NoGradGuard};
pub use backend::cpu::rng::{self, manual_seed, Generator};
pub use device::Device;
pub use dtype::{DType, Element};
/// The global allocator that backs large buffers with transparent huge pages (opt-in; see
/// `ember_kernels::alloc`).
pub use ember_kernels::HugePageAlloc;
pub use error::{Error, Result};
pub use half::{bf16, f16};
pub use shape::ShapeArg;
pub use storage::{live_bytes, peak_bytes, Buf};
pub use tensor::{
    result_type, Conv2dArgs, Hook, IndexOp, Indexer, PostAccumulateHook, Tensor, TensorIndex, ELLIPSIS, NEW_AXIS,
};

/// Scalar special functions in f64 (the scalar twins of the vector kernels).
pub mod special {
    pub use ember_kernels::vmath::{erf_f64 as erf, normal_cdf_f64 as normal_cdf};
}

/// Sets the number of threads Ember's kernels use.
pub fn set_num_threads(n: usize) {
    ember_kernels::set_num_threads(n);
}

/// Runs `f` on one of Ember's worker threads (recommended for a whole training or inference
/// loop at 2+ threads: the loop's thread then does half of each parallel kernel itself instead
/// of waiting while idle workers compete with it for the cores).
pub fn run_in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    ember_kernels::threads::run_in_pool(f)
}

/// Makes the calling thread worker 0 of Ember's global thread pool, so every parallel kernel it
/// calls splits the work with it (what [`run_in_pool`] gives one closure, for the thread's
/// whole life). Call it first thing, before any parallel op builds the pool; false means the
/// pool already existed and nothing changed. The Python module does this when it is imported.
pub fn adopt_calling_thread() -> bool {
    ember_kernels::threads::adopt_calling_thread()
}

/// The number of threads Ember's kernels use.
pub fn get_num_threads() -> usize {
    ember_kernels::num_threads()
}
