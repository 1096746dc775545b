//! Backends: where tensor ops become loops. The seam is a handful of primitives parameterised
//! by small op enums ([`UnaryOp`], [`BinaryOp`], [`CmpOp`], [`ReduceOp`]), so adding an
//! elementwise op adds a table entry (`crate::op`), never a new backend method.
//!
//! Only the CPU backend exists; `Tensor` methods reach it through `Tensor::cpu_read`, which
//! returns `Error::Device` for any other device. A CUDA backend would implement the same
//! primitives over device buffers.

pub mod cpu;

pub use crate::op::{BinaryOp, UnaryOp};

/// Comparisons (results are `Bool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Reductions over one dim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
}
