//! Backends: where tensor ops become loops. The seam is a handful of primitives parameterised
//! by small op enums ([`UnaryOp`], [`BinaryOp`], [`CmpOp`], [`ReduceOp`]), so adding an
//! elementwise op adds an enum variant and one match arm, never a new backend method.
//!
//! Only the CPU backend exists; `Tensor` methods reach it through `Tensor::cpu_read`, which
//! returns `Error::Device` for any other device. A CUDA backend would implement the same
//! primitives over device buffers.

pub mod cpu;

/// Elementwise ops of one input (scalar parameters inline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Abs,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    Gelu,
    GeluTanh,
    /// Derivative of exact GELU (used by its backward when no double-backward is needed).
    GeluGrad,
    /// Derivative of tanh GELU (likewise).
    GeluTanhGrad,
    Silu,
    Erf,
    Sign,
    Recip,
    Square,
    AddScalar(f64),
    MulScalar(f64),
    PowScalar(f64),
    /// `min(max(x, lo), hi)`; NaN bounds mean "no bound".
    Clamp(f64, f64),
}

impl UnaryOp {
    /// Whether the op is defined on integer tensors without promotion to float.
    pub fn keeps_int(self) -> bool {
        matches!(
            self,
            UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Relu | UnaryOp::Sign | UnaryOp::Square | UnaryOp::Clamp(..)
        )
    }
}

/// Elementwise ops of two same-shape, same-dtype inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Pow,
}

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
