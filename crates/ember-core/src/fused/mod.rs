//! Fused kernels on tensors, each one pass where a chain of tensor ops would take several: the
//! optimiser's Adam step (`adam`), inference row norms (`norm`), low-precision packed weights
//! (`packed`) and attention (`attention`), none of which record autograd; and whole recurrent
//! layers (`rnn`), which record one node per layer-direction with a fused backward, and the
//! transposed convolution (`conv`), one node working image by image, and training-mode batch
//! norm (`batch_norm`), one node with a two-pass backward.

mod adam;
mod attention;
mod batch_norm;
pub mod conv;
mod norm;
mod packed;
pub mod rnn;

pub use adam::{adam_supported, adam_update, AdamStep};
pub use batch_norm::batch_norm_train;
pub use norm::{norm_last_dim, RowNorm};
pub use packed::PackedWeight;
