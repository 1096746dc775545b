//! The process-group interface (PyTorch's `c10d::ProcessGroup`): a set of ranks and the
//! collectives among them. Every collective is asynchronous: it returns a [`Work`] at once and
//! runs on the communication thread; `wait()` on the handle blocks (the blocking forms in
//! `lib.rs` do that for you). Tensors must be contiguous; results are written in place, as in
//! PyTorch.

use crate::work::Work;
use ember_core::{Result, Tensor};
use std::sync::Arc;

/// How a reduction combines the ranks' values (PyTorch's `dist.ReduceOp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Elementwise sum.
    Sum,
    /// Elementwise mean over the ranks (floating-point tensors).
    Avg,
    /// Elementwise product.
    Product,
    /// Elementwise minimum.
    Min,
    /// Elementwise maximum.
    Max,
}

impl ReduceOp {
    /// PyTorch's name (`SUM`, `AVG`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "SUM",
            ReduceOp::Avg => "AVG",
            ReduceOp::Product => "PRODUCT",
            ReduceOp::Min => "MIN",
            ReduceOp::Max => "MAX",
        }
    }
}

/// A group of processes that communicate. `rank` and `size` are within this group; `src`,
/// `dst` and `root` arguments are group ranks.
pub trait ProcessGroup: Send + Sync + std::fmt::Debug {
    /// This process's rank in the group.
    fn rank(&self) -> usize;
    /// The number of processes in the group.
    fn size(&self) -> usize;
    /// The backend's name (`"mpi"`, `"local"`).
    fn backend(&self) -> &'static str;
    /// Each member's rank in the world group, in group-rank order.
    fn world_ranks(&self) -> &[usize];

    /// Reduces `tensor` across ranks; every rank receives the result in `tensor`.
    fn all_reduce(&self, tensor: &Tensor, op: ReduceOp) -> Result<Work>;
    /// Reduces every rank's `input` into every rank's `output` (same shape and dtype, another
    /// tensor): MPI's own out-of-place form, which saves the copy an in-place reduction needs.
    /// DDP's buckets use it.
    fn all_reduce_into(&self, input: &Tensor, output: &Tensor, op: ReduceOp) -> Result<Work>;
    /// Copies rank `src`'s `tensor` into every other rank's `tensor`.
    fn broadcast(&self, tensor: &Tensor, src: usize) -> Result<Work>;
    /// `outputs[r]` receives rank `r`'s `input` (one output per rank, each shaped as `input`).
    fn all_gather(&self, outputs: &[Tensor], input: &Tensor) -> Result<Work>;
    /// Reduces `inputs[r]` across ranks into rank `r`'s `output`.
    fn reduce_scatter(&self, output: &Tensor, inputs: &[Tensor], op: ReduceOp) -> Result<Work>;
    /// Reduces `tensor` across ranks into rank `dst`'s `tensor` (others' are left as they were).
    fn reduce(&self, tensor: &Tensor, dst: usize, op: ReduceOp) -> Result<Work>;
    /// Rank `dst`'s `outputs[r]` receives rank `r`'s `input`; `outputs` is empty elsewhere.
    fn gather(&self, input: &Tensor, outputs: &[Tensor], dst: usize) -> Result<Work>;
    /// Rank `r`'s `output` receives rank `src`'s `inputs[r]`; `inputs` is empty elsewhere.
    fn scatter(&self, output: &Tensor, inputs: &[Tensor], src: usize) -> Result<Work>;
    /// Completes when every rank has reached it.
    fn barrier(&self) -> Result<Work>;
    /// Sends `tensor` to rank `dst`, matched by a `recv` there with the same `tag`.
    fn send(&self, tensor: &Tensor, dst: usize, tag: i32) -> Result<Work>;
    /// Receives into `tensor` from rank `src`.
    fn recv(&self, tensor: &Tensor, src: usize, tag: i32) -> Result<Work>;
    /// A subgroup of the given group ranks (PyTorch's `new_group(ranks)`): every rank of this
    /// group must call it; members get the subgroup, the others `None`.
    fn new_group(&self, ranks: &[usize]) -> Result<Option<Arc<dyn ProcessGroup>>>;
    /// Ends the group's communication (finalising MPI when it is the world group); later calls
    /// are errors.
    fn shutdown(&self);
}
