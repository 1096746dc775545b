//! Fused kernels on tensors, each one pass where a chain of tensor ops would take several, and
//! none recording autograd: the optimiser's Adam step (`adam`), inference row norms (`norm`),
//! low-precision packed weights (`packed`) and attention (`attention`).

mod adam;
mod attention;
mod norm;
mod packed;

pub use adam::{adam_supported, adam_update, AdamStep};
pub use norm::{norm_last_dim, RowNorm};
pub use packed::PackedWeight;
