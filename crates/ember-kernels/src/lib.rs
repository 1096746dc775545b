//! Ember's compute kernels: every SIMD path and every `unsafe` block of the numeric code lives
//! here. Kernels take slices (plus strides where a kernel walks strided memory) and know nothing
//! of tensors, shapes or autograd; `ember-core` turns tensor layouts into calls to these.
//!
//! Each vectorised kernel is written once as portable, branch-free code and compiled several
//! times under `#[target_feature]` (AVX-512, AVX2+FMA), picked at run time by [`isa::isa`].
//! Every such kernel has a scalar twin (`*_ref`) built on `std` math, and property tests
//! compare the two on random lengths and special values (±0, ±inf, NaN, denormals).

pub mod alloc;
pub mod attention;
pub mod bf16gemm;
pub mod blockq;
pub mod blockq_int;
pub mod blockq_panel;
pub mod blockq_panel_k;
pub mod gemm;
pub mod gemm_nt;
pub mod grid;
pub mod int8_panel;
pub mod isa;
pub mod mmap;
pub mod optim;
pub mod packed_gemm;
pub mod quant;
pub mod reduce;
pub mod rowwise;
pub mod sparse;
pub mod special;
pub mod special_bessel;
pub mod special_normal;
pub mod stream;
pub mod team;
pub mod threads;
pub mod transpose;
pub mod vmath;

pub use alloc::HugePageAlloc;
pub use isa::{isa, Isa};
pub use threads::{num_threads, set_num_threads};
