//! Fused kernels on tensors, each one pass where a chain of tensor ops would take several: the
//! optimiser's Adam step (`adam`), inference row norms (`norm`), low-precision packed weights
//! (`packed`) and attention (`attention`), none of which record autograd; and whole recurrent
//! layers (`rnn`), which record one node per layer-direction with a fused backward, and the
//! transposed convolution (`conv`), one node working image by image, and training-mode batch
//! norm (`batch_norm`) and layer norm (`layer_norm`), one node each with a fused backward,
//! 2-D max pooling (`pool`), a direct window scan with argmax indices, and attention without
//! a mask tensor (`sdpa`), one node worked head by head.

mod adam;
mod attention;
mod batch_norm;
pub mod conv;
mod layer_norm;
mod norm;
mod packed;
pub mod pool;
pub mod rnn;
mod sdpa;

pub use adam::{adadelta_update, adam_supported, adam_update, AdadeltaStep, AdamStep};
pub use batch_norm::batch_norm_train;
pub use ember_kernels::blockq::quantize as quantize_blocks;
pub use layer_norm::layer_norm_node;
pub use norm::{norm_last_dim, softmax_backward_last, sum_of_squares, RowNorm};
pub use packed::{BlockFormat, Bytes, PackedWeight};
pub use sdpa::{safe_softmax, sdpa_node};

/// The float types the normalisation nodes (`batch_norm`, `layer_norm`) compute in, with a
/// conversion from their f64 statistics.
pub(crate) trait NormFloat:
    crate::dtype::Element
    + Into<f64>
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::AddAssign
{
    fn of(v: f64) -> Self;
    /// The slice as `f32` when `Self` is `f32` (the SIMD row kernels are f32-only).
    fn as_f32(x: &[Self]) -> Option<&[f32]> {
        let _ = x;
        None
    }
    /// The slice as mutable `f32` when `Self` is `f32`.
    fn as_f32_mut(x: &mut [Self]) -> Option<&mut [f32]> {
        let _ = x;
        None
    }
}
impl NormFloat for f32 {
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn as_f32(x: &[f32]) -> Option<&[f32]> {
        Some(x)
    }
    fn as_f32_mut(x: &mut [f32]) -> Option<&mut [f32]> {
        Some(x)
    }
}
impl NormFloat for f64 {
    fn of(v: f64) -> f64 {
        v
    }
}

/// Runs `f` on `t`'s elements as a row-major `T` slice: borrowed from the storage when `t`
/// already is one (no copy of a large activation on every call), else a converted or pooled
/// copy. Holds a read lock on `t`'s storage while `f` runs.
pub(crate) fn read_as<T: crate::dtype::Element, R>(
    t: &crate::Tensor,
    op: &'static str,
    f: impl FnOnce(&[T]) -> R,
) -> crate::Result<R> {
    let converted;
    let t = if t.dtype() == T::DTYPE {
        t
    } else {
        converted = t.detach().to_dtype(T::DTYPE)?;
        &converted
    };
    let s = t.cpu_read(op)?;
    let v = T::slice(&s).ok_or_else(|| crate::Error::dtype(op, format!("expected {} data", T::DTYPE)))?;
    let data = crate::backend::cpu::contiguous_slice(v, t.layout());
    let r = f(&data);
    Ok(r)
}
