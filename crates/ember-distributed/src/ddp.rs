//! `DistributedDataParallel`: a module wrapper that keeps replicas identical across ranks.
//! At construction it checks that every rank has the same parameter shapes (an error naming the
//! first difference otherwise) and copies rank 0's parameters and buffers to all; each forward
//! (through [`DistributedDataParallel::forward`]) first copies rank 0's buffers (BatchNorm's
//! running statistics, PyTorch's `broadcast_buffers`); each backward averages the gradients
//! ([`Reducer`]). [`DistributedDataParallel::no_sync`] accumulates gradients locally.

use crate::group::ProcessGroup;
use crate::reducer::{Reducer, ReducerOptions};
use ember_core::{DType, Error, Result, Tensor};
use ember_nn::{join_name, Module, TensorKind};
use std::sync::Arc;

/// Options of [`DistributedDataParallel::new`] (PyTorch's keywords).
#[derive(Clone, Debug)]
pub struct DdpOptions {
    /// Copy rank 0's buffers to every rank before each forward.
    pub broadcast_buffers: bool,
    /// Bucket size in MiB (25).
    pub bucket_cap_mb: f64,
    /// Reduce zeros for parameters that get no gradient in an iteration instead of failing.
    pub find_unused_parameters: bool,
}

impl Default for DdpOptions {
    fn default() -> Self {
        DdpOptions { broadcast_buffers: true, bucket_cap_mb: 25.0, find_unused_parameters: false }
    }
}

/// A module whose gradients are averaged across a process group. Convert dtypes before
/// wrapping: the reducer holds the parameters it was built with.
pub struct DistributedDataParallel<M: Module> {
    module: M,
    group: Arc<dyn ProcessGroup>,
    reducer: Reducer,
    opts: DdpOptions,
}

impl<M: Module> std::fmt::Debug for DistributedDataParallel<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DistributedDataParallel({}, {:?})", self.module.type_name(), self.group)
    }
}

/// Every rank's parameter count and shapes agree (PyTorch's `_verify_param_shape_across_processes`);
/// an error naming the first difference otherwise, on every rank.
pub fn verify_params_across_ranks(group: &dyn ProcessGroup, named: &[(String, Tensor)]) -> Result<()> {
    let gather = |v: Vec<i64>| -> Result<Vec<Vec<i64>>> {
        let n = v.len();
        let input = Tensor::from_vec(v, &[n])?;
        let outs: Vec<Tensor> = (0..group.size()).map(|_| Tensor::zeros(&[n], DType::I64)).collect::<Result<_>>()?;
        group.all_gather(&outs, &input)?.wait()?;
        outs.iter().map(|t| t.to_vec::<i64>()).collect()
    };
    let counts = gather(vec![named.len() as i64])?;
    for (r, c) in counts.iter().enumerate() {
        if c[0] != named.len() as i64 {
            return Err(Error::distributed(
                "DistributedDataParallel",
                format!(
                    "DDP expects same model across all ranks, but Rank {} has {} params, while rank {r} has inconsistent {} params.",
                    group.rank(),
                    named.len(),
                    c[0]
                ),
            ));
        }
    }
    // Each parameter as [ndim, dims..., dtype size], padded to 10 entries.
    const W: usize = 10;
    let mut sig = Vec::with_capacity(named.len() * W);
    for (_, p) in named {
        let mut row = vec![p.dim() as i64];
        row.extend(p.shape().iter().take(W - 2).map(|&d| d as i64));
        row.resize(W - 1, -1);
        row.push(p.dtype().size_in_bytes() as i64);
        sig.extend(row);
    }
    let all = gather(sig.clone())?;
    for (r, theirs) in all.iter().enumerate() {
        if let Some(k) = (0..named.len()).find(|&k| theirs[k * W..(k + 1) * W] != sig[k * W..(k + 1) * W]) {
            let dims = |s: &[i64]| format!("{:?}", &s[1..1 + s[0].clamp(0, W as i64 - 2) as usize]);
            return Err(Error::distributed(
                "DistributedDataParallel",
                format!(
                    "DDP expects same model across all ranks: parameter {} has shape {} on rank {} but {} on rank {r}",
                    named[k].0,
                    dims(&sig[k * W..(k + 1) * W]),
                    group.rank(),
                    dims(&theirs[k * W..(k + 1) * W]),
                ),
            ));
        }
    }
    Ok(())
}

/// Copies rank 0's tensors into every rank's (all broadcasts in flight at once).
pub fn broadcast_from_rank0(group: &dyn ProcessGroup, tensors: &[Tensor]) -> Result<()> {
    let works: Vec<_> = tensors.iter().map(|t| group.broadcast(t, 0)).collect::<Result<_>>()?;
    works.iter().try_for_each(|w| w.wait())
}

impl<M: Module> DistributedDataParallel<M> {
    /// Wraps `module`: verifies shapes across ranks, copies rank 0's state, sets up the reducer.
    pub fn new(module: M, group: Arc<dyn ProcessGroup>, opts: DdpOptions) -> Result<Self> {
        let named = module.named_parameters();
        verify_params_across_ranks(&*group, &named)?;
        let state: Vec<Tensor> = named.iter().map(|(_, t)| t.clone()).chain(module.buffers()).collect();
        broadcast_from_rank0(&*group, &state)?;
        let ropts = ReducerOptions {
            bucket_cap_bytes: (opts.bucket_cap_mb * 1024.0 * 1024.0) as usize,
            find_unused_parameters: opts.find_unused_parameters,
            names: named.iter().map(|(n, _)| n.clone()).collect(),
            ..Default::default()
        };
        let reducer = Reducer::new(named.into_iter().map(|(_, t)| t).collect(), group.clone(), ropts)?;
        Ok(DistributedDataParallel { module, group, reducer, opts })
    }

    /// The wrapped module (PyTorch's `ddp.module`).
    pub fn module(&self) -> &M {
        &self.module
    }

    /// The wrapped module, mutably.
    pub fn module_mut(&mut self) -> &mut M {
        &mut self.module
    }

    /// Unwraps the module.
    pub fn into_inner(self) -> M {
        self.module
    }

    /// The group gradients are averaged over.
    pub fn group(&self) -> &Arc<dyn ProcessGroup> {
        &self.group
    }

    /// The reducer (bucket layout, sync switch).
    pub fn reducer(&self) -> &Reducer {
        &self.reducer
    }

    /// Runs `f(module)` as DDP's forward: buffers from rank 0 first (when `broadcast_buffers`),
    /// and the reducer made ready for this iteration's backward.
    pub fn forward<R>(&self, f: impl FnOnce(&M) -> Result<R>) -> Result<R> {
        self.reducer.prepare_for_forward()?;
        if self.opts.broadcast_buffers && self.group.size() > 1 {
            broadcast_from_rank0(&*self.group, &self.module.buffers())?;
        }
        f(&self.module)
    }

    /// Runs `f` with gradient averaging off: backward passes inside accumulate `.grad`
    /// locally; the first synchronised backward after it averages the accumulated sum.
    pub fn no_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = self.reducer.sync();
        self.reducer.set_sync(false);
        let r = f();
        self.reducer.set_sync(before);
        r
    }
}

impl<M: Module> Module for DistributedDataParallel<M> {
    fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.module.visit_tensors(&join_name(prefix, "module"), visitor);
    }
    fn visit_tensors_mut(&mut self, prefix: &str, visitor: &mut dyn FnMut(&str, &mut Tensor, TensorKind)) {
        self.module.visit_tensors_mut(&join_name(prefix, "module"), visitor);
    }
    fn visit_children<'a>(&'a self, visitor: &mut dyn FnMut(&str, &'a dyn Module)) {
        visitor("module", &self.module);
    }
    fn visit_children_mut(&mut self, visitor: &mut dyn FnMut(&str, &mut dyn Module)) {
        visitor("module", &mut self.module);
    }
    fn set_training(&mut self, training: bool) {
        self.module.set_training(training);
    }
    fn type_name(&self) -> &'static str {
        "DistributedDataParallel"
    }
}
