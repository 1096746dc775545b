//! DDP's gradient reducer (PyTorch's `c10d::Reducer`). Parameters are grouped into buckets in
//! reverse registration order (backward produces the last layers' gradients first), a small
//! first bucket and 25 MiB after it, one dtype per bucket. A post-accumulate-grad hook copies
//! each gradient into its bucket as soon as autograd has it; a full bucket is all-reduced on
//! the communication thread at once, while backward goes on. Buckets start in index order on
//! every rank, so the ranks' collectives always match. When backward ends (an autograd
//! callback), the reducer waits for the buckets, averages them over the world and writes them
//! back into `.grad`.

use crate::group::{ProcessGroup, ReduceOp};
use crate::work::Work;
use ember_core::autograd::queue_callback;
use ember_core::{no_grad, DType, Error, Result, Tensor};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Options of [`Reducer::new`] (DDP's keywords).
#[derive(Clone, Debug)]
pub struct ReducerOptions {
    /// Bucket size after the first (PyTorch's `bucket_cap_mb=25`).
    pub bucket_cap_bytes: usize,
    /// Size of the first bucket, small so the first all-reduce starts early (1 MiB).
    pub first_bucket_bytes: usize,
    /// Parameters that get no gradient in an iteration are reduced as zeros instead of being
    /// an error; parameters no rank used keep their `.grad`.
    pub find_unused_parameters: bool,
    /// Names for error messages, by parameter (empty: indices).
    pub names: Vec<String>,
}

impl Default for ReducerOptions {
    fn default() -> Self {
        ReducerOptions {
            bucket_cap_bytes: 25 * 1024 * 1024,
            first_bucket_bytes: 1024 * 1024,
            find_unused_parameters: false,
            names: Vec::new(),
        }
    }
}

struct Bucket {
    /// Parameter indices, and each one's offset in `flat`.
    params: Vec<(usize, usize)>,
    /// The gradients, flattened one after another; the sum over the ranks arrives in `sum`
    /// (MPI reduces from one buffer into another, so no extra copy is made).
    flat: Tensor,
    sum: Tensor,
    pending: usize,
    work: Option<Work>,
}

struct State {
    group: Arc<dyn ProcessGroup>,
    params: Vec<Tensor>,
    /// Where each parameter lives: (bucket, index within the bucket); `None` if it needs no grad.
    slot: Vec<Option<(usize, usize)>>,
    buckets: Vec<Bucket>,
    ready: Vec<bool>,
    /// The next bucket to start; buckets start in order.
    next: usize,
    sync: bool,
    queued: bool,
    opts: ReducerOptions,
}

/// Averages gradients across a group during backward. Build it once for a model's parameters;
/// see the module docs.
pub struct Reducer {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Reducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        write!(f, "Reducer({} parameters in {} buckets)", s.params.len(), s.buckets.len())
    }
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bucket assignment: reverse order, per dtype, first bucket `first` bytes, then `cap`.
fn assign(params: &[Tensor], first: usize, cap: usize) -> Vec<Vec<usize>> {
    let mut open: Vec<(DType, Vec<usize>, usize, usize)> = Vec::new(); // dtype, members, bytes, limit
    let mut done = Vec::new();
    for i in (0..params.len()).rev().filter(|&i| params[i].requires_grad()) {
        let p = &params[i];
        let k = match open.iter().position(|b| b.0 == p.dtype()) {
            Some(k) => k,
            None => {
                open.push((p.dtype(), Vec::new(), 0, first));
                open.len() - 1
            }
        };
        let b = &mut open[k];
        b.1.push(i);
        b.2 += p.numel() * p.dtype().size_in_bytes();
        if b.2 >= b.3 {
            done.push(std::mem::take(&mut b.1));
            b.2 = 0;
            b.3 = cap;
        }
    }
    done.extend(open.into_iter().map(|b| b.1).filter(|m| !m.is_empty()));
    done
}

impl State {
    fn name(&self, i: usize) -> String {
        self.opts.names.get(i).cloned().unwrap_or_else(|| i.to_string())
    }

    /// Copies parameter `i`'s gradient into its bucket and starts the buckets that are full.
    fn mark_ready(&mut self, i: usize) -> Result<()> {
        let Some((b, k)) = self.slot[i] else { return Ok(()) };
        if std::mem::replace(&mut self.ready[i], true) {
            return Err(Error::distributed(
                "DistributedDataParallel",
                format!(
                    "Expected to mark a variable ready only once; parameter {} was marked twice in one backward pass",
                    self.name(i)
                ),
            ));
        }
        let (p, off) = (&self.params[i], self.buckets[b].params[k].1);
        let seg = self.buckets[b].flat.narrow(0, off, p.numel())?;
        match p.grad() {
            Some(g) => no_grad(|| seg.copy_(&g.reshape(&[p.numel()])?))?,
            None => seg.zero_()?,
        }
        self.buckets[b].pending -= 1;
        self.launch_ready()
    }

    fn launch_ready(&mut self) -> Result<()> {
        while self.next < self.buckets.len() && self.buckets[self.next].pending == 0 {
            let b = &mut self.buckets[self.next];
            b.work = Some(self.group.all_reduce_into(&b.flat, &b.sum, ReduceOp::Sum)?);
            self.next += 1;
        }
        Ok(())
    }

    /// Waits for what was started and makes the state ready for the next iteration.
    fn reset(&mut self) -> Result<()> {
        let mut first_err = None;
        for b in &mut self.buckets {
            if let Some(w) = b.work.take() {
                if let Err(e) = w.wait() {
                    first_err.get_or_insert(e);
                }
            }
            b.pending = b.params.len();
        }
        self.ready.iter_mut().for_each(|r| *r = false);
        self.next = 0;
        self.queued = false;
        first_err.map_or(Ok(()), Err)
    }

    /// End of backward: reduce what did not get a gradient (or refuse), wait, average, write
    /// back into `.grad`.
    fn finalize(&mut self) -> Result<()> {
        let missing: Vec<usize> =
            (0..self.params.len()).filter(|&i| self.slot[i].is_some() && !self.ready[i]).collect();
        let mut used_anywhere = None;
        if !missing.is_empty() {
            if !self.opts.find_unused_parameters {
                let names: Vec<String> = missing.iter().map(|&i| self.name(i)).collect();
                self.reset()?;
                return Err(Error::distributed(
                    "DistributedDataParallel",
                    format!(
                        "parameters that were not used in producing the loss received no gradient on rank {}: {}. Pass find_unused_parameters=True to DistributedDataParallel, or make sure every forward output takes part in the loss",
                        self.group.rank(),
                        names.join(", ")
                    ),
                ));
            }
            let used: Vec<i32> = (0..self.params.len()).map(|i| i32::from(self.ready[i])).collect();
            for &i in &missing {
                self.mark_ready(i)?;
            }
            // Queued after every bucket on every rank, so the collectives still match.
            let used = Tensor::from_vec(used, &[self.params.len()])?;
            self.group.all_reduce(&used, ReduceOp::Sum)?.wait()?;
            used_anywhere = Some(used.to_vec::<i32>()?);
        }
        let world = self.group.size() as f64;
        let result = self.write_back(world, used_anywhere.as_deref());
        let reset = self.reset();
        result.and(reset)
    }

    fn write_back(&mut self, world: f64, used_anywhere: Option<&[i32]>) -> Result<()> {
        for b in &mut self.buckets {
            let Some(w) = b.work.take() else {
                return Err(Error::distributed("DistributedDataParallel", "a gradient bucket was never started"));
            };
            w.wait()?;
            for &(i, off) in &b.params {
                if used_anywhere.is_some_and(|u| u[i] == 0) {
                    continue;
                }
                // The average in one pass, as a new gradient tensor (reading the sum and writing
                // the result; copying into the old `.grad` and scaling would be two).
                let p = &self.params[i];
                let avg = no_grad(|| b.sum.narrow(0, off, p.numel())?.reshape(p.shape())?.mul_scalar(1.0 / world))?;
                p.set_grad(Some(avg));
            }
        }
        Ok(())
    }
}

impl Reducer {
    /// A reducer for `params` over `group`; registers a post-accumulate-grad hook on each
    /// parameter that requires grad (the hooks do nothing once the reducer is dropped).
    pub fn new(params: Vec<Tensor>, group: Arc<dyn ProcessGroup>, opts: ReducerOptions) -> Result<Reducer> {
        let members = assign(&params, opts.first_bucket_bytes.max(1), opts.bucket_cap_bytes.max(1));
        let mut slot = vec![None; params.len()];
        let mut buckets = Vec::with_capacity(members.len());
        for (b, idx) in members.into_iter().enumerate() {
            let mut off = 0;
            let mut list = Vec::with_capacity(idx.len());
            for (k, &i) in idx.iter().enumerate() {
                slot[i] = Some((b, k));
                list.push((i, off));
                off += params[i].numel();
            }
            let flat = Tensor::zeros(&[off], params[idx[0]].dtype())?;
            let sum = Tensor::zeros(&[off], params[idx[0]].dtype())?;
            buckets.push(Bucket { pending: list.len(), params: list, flat, sum, work: None });
        }
        let n = params.len();
        let state = Arc::new(Mutex::new(State {
            group,
            params,
            slot,
            buckets,
            ready: vec![false; n],
            next: 0,
            sync: true,
            queued: false,
            opts,
        }));
        let params: Vec<Tensor> = lock(&state).params.clone();
        for (i, p) in params.iter().enumerate().filter(|(_, p)| p.requires_grad()) {
            let weak: Weak<Mutex<State>> = Arc::downgrade(&state);
            p.register_post_accumulate_grad_hook(move |_| on_grad_ready(&weak, i))?;
        }
        Ok(Reducer { state })
    }

    /// Whether backward reduces gradients (`False` inside DDP's `no_sync()`: they accumulate
    /// locally, and the next synchronised backward reduces the sum).
    pub fn set_sync(&self, sync: bool) {
        lock(&self.state).sync = sync;
    }

    /// Whether backward reduces gradients.
    pub fn sync(&self) -> bool {
        lock(&self.state).sync
    }

    /// Called before each forward: settles an iteration whose backward failed half-way.
    pub fn prepare_for_forward(&self) -> Result<()> {
        let mut s = lock(&self.state);
        if s.queued || s.ready.iter().any(|&r| r) {
            s.reset()?;
        }
        Ok(())
    }

    /// The buckets, as parameter indices (for tests and logs).
    pub fn bucket_indices(&self) -> Vec<Vec<usize>> {
        lock(&self.state).buckets.iter().map(|b| b.params.iter().map(|p| p.0).collect()).collect()
    }
}

fn on_grad_ready(weak: &Weak<Mutex<State>>, i: usize) -> Result<()> {
    let Some(state) = weak.upgrade() else { return Ok(()) };
    let mut s = lock(&state);
    if !s.sync {
        return Ok(());
    }
    if !s.queued {
        s.queued = true;
        let w = weak.clone();
        queue_callback(move || match w.upgrade() {
            Some(st) => lock(&st).finalize(),
            None => Ok(()),
        })?;
    }
    s.mark_ready(i)
}
