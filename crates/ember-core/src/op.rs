//! The closed set of differentiable primitives that autograd records. Every variant has exactly
//! one arm in `autograd/derivatives.rs` (an exhaustive `match`, no wildcard), so adding a
//! variant without its gradient fails to compile.
//!
//! Ops built from these (mean, var, logsumexp, layer_norm, cross_entropy, ...) are not here:
//! their gradients come from the primitives they are made of.

use crate::backend::{BinaryOp, UnaryOp};
use crate::Tensor;
use std::fmt;
use std::sync::Arc;

/// A function re-run by activation checkpointing: maps the segment's inputs to its output.
pub type CheckpointFn = dyn Fn(&[Tensor]) -> crate::Result<Tensor> + Send + Sync;

/// A recorded primitive with what its gradient needs besides the inputs and output.
#[derive(Clone)]
pub enum Op {
    /// Elementwise binary op on same-shape inputs (broadcasting is a separate `Expand`).
    Binary(BinaryOp),
    /// Elementwise unary op (scalar parameters inline).
    Unary(UnaryOp),
    /// `where(cond, a, b)`; inputs are `a` and `b`.
    Where { cond: Tensor },
    /// Sum over `dims`.
    Sum { dims: Vec<usize>, keepdim: bool },
    /// `max_dim`/`min_dim` values; gradient flows to the chosen `indices`.
    SelectDim { dim: usize, keepdim: bool, indices: Tensor },
    /// Product over `dim`.
    Prod { dim: usize, keepdim: bool },
    /// Cumulative sum over `dim`.
    Cumsum { dim: usize },
    /// Softmax over `dim`.
    Softmax { dim: usize },
    /// Log-softmax over `dim`.
    LogSoftmax { dim: usize },
    /// A view with a new shape.
    Reshape,
    /// A view with dims reordered.
    Permute { perm: Vec<usize> },
    /// A broadcast view.
    Expand,
    /// A view of every `step`-th element from `start` along `dim`.
    Slice { dim: usize, start: usize, step: usize },
    /// Zeros of the input's parent shape with the input written at a slice (adjoint of
    /// `Slice`); `full` is the parent shape.
    SliceBackward { dim: usize, start: usize, step: usize, full: Vec<usize> },
    /// A contiguous copy.
    Contiguous,
    /// A dtype conversion.
    ToDtype,
    /// Concatenation along `dim`.
    Cat { dim: usize },
    /// Rows `index` along `dim`.
    IndexSelect { dim: usize, index: Tensor },
    /// `base.index_add(dim, index, src)`; inputs are base and src.
    IndexAdd { dim: usize, index: Tensor },
    /// `gather(dim, index)`.
    Gather { dim: usize, index: Tensor },
    /// `base.scatter_add(dim, index, src)`; inputs are base and src.
    ScatterAdd { dim: usize, index: Tensor },
    /// Batched matrix product of same-batch operands.
    Matmul,
    /// Sliding-window patches of a `[N, C, H, W]` image (conv2d as a matmul).
    Im2col(ConvGeom),
    /// The adjoint of `Im2col`: patches summed back into an image.
    Col2im(ConvGeom),
    /// A checkpointed segment: activations are recomputed in backward.
    Checkpoint(Arc<CheckpointFn>),
}

/// Geometry of a 2-D sliding window (conv, pooling): kernel, stride, padding, dilation, and
/// the input's spatial size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub input: (usize, usize),
}

impl ConvGeom {
    /// Output spatial size.
    pub fn output(&self) -> (usize, usize) {
        let o = |i: usize, k: usize, s: usize, p: usize, d: usize| (i + 2 * p - d * (k - 1) - 1) / s + 1;
        (
            o(self.input.0, self.kernel.0, self.stride.0, self.padding.0, self.dilation.0),
            o(self.input.1, self.kernel.1, self.stride.1, self.padding.1, self.dilation.1),
        )
    }
}

impl Op {
    /// A short name for errors and printing (`grad_fn=<MulBackward>`).
    pub fn name(&self) -> String {
        match self {
            Op::Binary(b) => format!("{b:?}"),
            Op::Unary(u) => match u {
                UnaryOp::AddScalar(_) => "AddScalar".into(),
                UnaryOp::MulScalar(_) => "MulScalar".into(),
                UnaryOp::PowScalar(_) => "PowScalar".into(),
                UnaryOp::Clamp(..) => "Clamp".into(),
                other => format!("{other:?}"),
            },
            Op::Where { .. } => "Where".into(),
            Op::Sum { .. } => "Sum".into(),
            Op::SelectDim { .. } => "MaxMin".into(),
            Op::Prod { .. } => "Prod".into(),
            Op::Cumsum { .. } => "Cumsum".into(),
            Op::Softmax { .. } => "Softmax".into(),
            Op::LogSoftmax { .. } => "LogSoftmax".into(),
            Op::Reshape => "Reshape".into(),
            Op::Permute { .. } => "Permute".into(),
            Op::Expand => "Expand".into(),
            Op::Slice { .. } => "Slice".into(),
            Op::SliceBackward { .. } => "SliceBackward".into(),
            Op::Contiguous => "Contiguous".into(),
            Op::ToDtype => "ToDtype".into(),
            Op::Cat { .. } => "Cat".into(),
            Op::IndexSelect { .. } => "IndexSelect".into(),
            Op::IndexAdd { .. } => "IndexAdd".into(),
            Op::Gather { .. } => "Gather".into(),
            Op::ScatterAdd { .. } => "ScatterAdd".into(),
            Op::Matmul => "Matmul".into(),
            Op::Im2col(_) => "Im2col".into(),
            Op::Col2im(_) => "Col2im".into(),
            Op::Checkpoint(_) => "Checkpoint".into(),
        }
    }
}

impl Op {
    /// The variant's kind, with the inner op for `Binary`/`Unary` (`"Unary::Exp"`), as used
    /// by the op-table coverage test.
    pub fn kind(&self) -> String {
        match self {
            Op::Binary(b) => format!("Binary::{b:?}"),
            Op::Unary(u) => format!("Unary::{}", unary_kind(u)),
            other => other.name(),
        }
    }

    /// Every kind [`Op::kind`] can return. The matches below have no wildcard, so a new
    /// variant does not compile until it is listed here (and the coverage test then asks for
    /// an op-table entry that exercises it).
    pub fn all_kinds() -> Vec<String> {
        fn _guard(op: &Op, b: &BinaryOp) {
            match op {
                Op::Binary(_)
                | Op::Unary(_)
                | Op::Where { .. }
                | Op::Sum { .. }
                | Op::SelectDim { .. }
                | Op::Prod { .. }
                | Op::Cumsum { .. }
                | Op::Softmax { .. }
                | Op::LogSoftmax { .. }
                | Op::Reshape
                | Op::Permute { .. }
                | Op::Expand
                | Op::Slice { .. }
                | Op::SliceBackward { .. }
                | Op::Contiguous
                | Op::ToDtype
                | Op::Cat { .. }
                | Op::IndexSelect { .. }
                | Op::IndexAdd { .. }
                | Op::Gather { .. }
                | Op::ScatterAdd { .. }
                | Op::Matmul
                | Op::Im2col(_)
                | Op::Col2im(_)
                | Op::Checkpoint(_) => {}
            }
            match b {
                BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Maximum
                | BinaryOp::Minimum
                | BinaryOp::Pow => {}
            }
        }
        let binary = ["Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Pow"].map(|b| format!("Binary::{b}"));
        let unary = [
            UnaryOp::Neg,
            UnaryOp::Exp,
            UnaryOp::Log,
            UnaryOp::Sqrt,
            UnaryOp::Rsqrt,
            UnaryOp::Abs,
            UnaryOp::Sin,
            UnaryOp::Cos,
            UnaryOp::Tanh,
            UnaryOp::Sigmoid,
            UnaryOp::Relu,
            UnaryOp::Gelu,
            UnaryOp::GeluTanh,
            UnaryOp::GeluGrad,
            UnaryOp::Silu,
            UnaryOp::Erf,
            UnaryOp::Sign,
            UnaryOp::Recip,
            UnaryOp::Square,
            UnaryOp::AddScalar(0.0),
            UnaryOp::MulScalar(0.0),
            UnaryOp::PowScalar(0.0),
            UnaryOp::Clamp(0.0, 0.0),
        ]
        .map(|u| format!("Unary::{}", unary_kind(&u)));
        let rest = [
            "Where",
            "Sum",
            "MaxMin",
            "Prod",
            "Cumsum",
            "Softmax",
            "LogSoftmax",
            "Reshape",
            "Permute",
            "Expand",
            "Slice",
            "SliceBackward",
            "Contiguous",
            "ToDtype",
            "Cat",
            "IndexSelect",
            "IndexAdd",
            "Gather",
            "ScatterAdd",
            "Matmul",
            "Im2col",
            "Col2im",
            "Checkpoint",
        ]
        .map(String::from);
        binary.into_iter().chain(unary).chain(rest).collect()
    }
}

fn unary_kind(u: &UnaryOp) -> &'static str {
    match u {
        UnaryOp::Neg => "Neg",
        UnaryOp::Exp => "Exp",
        UnaryOp::Log => "Log",
        UnaryOp::Sqrt => "Sqrt",
        UnaryOp::Rsqrt => "Rsqrt",
        UnaryOp::Abs => "Abs",
        UnaryOp::Sin => "Sin",
        UnaryOp::Cos => "Cos",
        UnaryOp::Tanh => "Tanh",
        UnaryOp::Sigmoid => "Sigmoid",
        UnaryOp::Relu => "Relu",
        UnaryOp::Gelu => "Gelu",
        UnaryOp::GeluTanh => "GeluTanh",
        UnaryOp::GeluGrad => "GeluGrad",
        UnaryOp::GeluTanhGrad => "GeluTanhGrad",
        UnaryOp::Silu => "Silu",
        UnaryOp::Erf => "Erf",
        UnaryOp::Sign => "Sign",
        UnaryOp::Recip => "Recip",
        UnaryOp::Square => "Square",
        UnaryOp::AddScalar(_) => "AddScalar",
        UnaryOp::MulScalar(_) => "MulScalar",
        UnaryOp::PowScalar(_) => "PowScalar",
        UnaryOp::Clamp(..) => "Clamp",
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
