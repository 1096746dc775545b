//! `torch.distributed` for Ember: process groups, collectives and `DistributedDataParallel`.
//!
//! A [`ProcessGroup`] is a set of ranks and the collectives among them (`all_reduce`,
//! `broadcast`, `all_gather`, ...), each returning a [`Work`] handle. Two transports implement
//! it: MPI (`mpirun -np N`, feature `mpi`; any number of machines, as MPI's launcher places
//! them) and threads of one process ([`local_world`]; a world of one for programs run without
//! a launcher, and N ranks for tests). All communication runs on one thread per process, in
//! the order the program issues it (`comm.rs`), which is what lets DDP overlap the gradient
//! all-reduce with the rest of backward.
//!
//! [`Reducer`] is DDP's gradient machinery (PyTorch's `c10d::Reducer`): gradients are copied
//! into buckets as autograd produces them and each full bucket is all-reduced at once;
//! [`DistributedDataParallel`] wraps a module with it, and the Python binding's
//! `DistributedDataParallel` wraps the same `Reducer`.
//!
//! ```
//! use ember_distributed::{local_world, ReduceOp};
//! use ember_core::Tensor;
//! let ranks = local_world(2, std::time::Duration::from_secs(30))?;
//! let handles: Vec<_> = ranks.into_iter().map(|g| std::thread::spawn(move || {
//!     let t = Tensor::from_vec(vec![g.rank() as f32 + 1.0; 3], &[3])?;
//!     g.all_reduce(&t, ReduceOp::Sum)?.wait()?;
//!     t.to_vec::<f32>()
//! })).collect();
//! for h in handles {
//!     assert_eq!(h.join().unwrap()?, vec![3.0; 3]);
//! }
//! # Ok::<(), ember_core::Error>(())
//! ```

mod backend;
mod comm;
mod ddp;
mod group;
mod local;
#[cfg(feature = "mpi")]
mod mpi;
mod reducer;
mod scalar;
mod work;

pub use ddp::{broadcast_from_rank0, verify_params_across_ranks, DdpOptions, DistributedDataParallel};
pub use group::{ProcessGroup, ReduceOp};
pub use local::local_world;
#[cfg(feature = "mpi")]
pub use mpi::mpi_world;
pub use reducer::{Reducer, ReducerOptions};
pub use work::Work;

use ember_core::{Error, Result, Tensor};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// PyTorch's default collective timeout (30 minutes); `EMBER_DIST_TIMEOUT` (seconds) overrides
/// it when no timeout is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

static DEFAULT_GROUP: RwLock<Option<Arc<dyn ProcessGroup>>> = RwLock::new(None);

/// Whether this build has the MPI transport (cargo feature `mpi`).
pub fn is_mpi_available() -> bool {
    cfg!(feature = "mpi")
}

/// The world size an MPI launcher announced in the environment (Open MPI, MPICH/PMI), if any.
pub fn launcher_world_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
}

/// Options of [`init_process_group_with`] (PyTorch's keywords).
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// How long collectives may wait for the other ranks (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// The world size the program expects; an error if the launcher's differs.
    pub world_size: Option<usize>,
    /// The rank the program expects; an error if the launcher's differs.
    pub rank: Option<usize>,
}

fn timeout_or_default(t: Option<Duration>) -> Duration {
    t.or_else(|| std::env::var("EMBER_DIST_TIMEOUT").ok()?.parse::<f64>().ok().map(Duration::from_secs_f64))
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// `init_process_group(backend)` with default options.
pub fn init_process_group(backend: &str) -> Result<Arc<dyn ProcessGroup>> {
    init_process_group_with(backend, InitOptions::default())
}

/// Starts the default (world) group. `"mpi"` — and `"gloo"`, which PyTorch programs name for
/// CPUs — use MPI when built with it; rank and size come from the launcher. Without MPI, a
/// program started without a launcher gets a world of one.
pub fn init_process_group_with(backend: &str, opts: InitOptions) -> Result<Arc<dyn ProcessGroup>> {
    let mut slot = DEFAULT_GROUP.write().unwrap_or_else(|e| e.into_inner());
    if slot.is_some() {
        return Err(Error::value("init_process_group", "trying to initialize the default process group twice!"));
    }
    let timeout = timeout_or_default(opts.timeout);
    let name = backend.to_ascii_lowercase();
    let group = match name.as_str() {
        "mpi" | "gloo" | "cpu:gloo" | "cpu:mpi" | "undefined" | "" => world_group(timeout)?,
        "nccl" | "cuda:nccl" | "xccl" | "hccl" | "ucc" => {
            return Err(Error::unsupported(
                "init_process_group",
                format!(
                    "backend '{backend}' is not available: Ember runs on CPUs; use 'mpi' (or 'gloo', served by MPI)"
                ),
            ))
        }
        _ => return Err(Error::value("init_process_group", format!("Invalid backend: '{backend}'"))),
    };
    if let Some(ws) = opts.world_size.filter(|&ws| ws != group.size()) {
        return Err(Error::value(
            "init_process_group",
            format!("world_size={ws} was given but the launcher started {} processes", group.size()),
        ));
    }
    if let Some(r) = opts.rank.filter(|&r| r != group.rank()) {
        return Err(Error::value(
            "init_process_group",
            format!("rank={r} was given but the launcher made this process rank {}", group.rank()),
        ));
    }
    *slot = Some(group.clone());
    Ok(group)
}

#[cfg(feature = "mpi")]
fn world_group(timeout: Duration) -> Result<Arc<dyn ProcessGroup>> {
    mpi_world(timeout)
}

#[cfg(not(feature = "mpi"))]
fn world_group(timeout: Duration) -> Result<Arc<dyn ProcessGroup>> {
    match launcher_world_size() {
        Some(n) if n > 1 => Err(Error::unsupported(
            "init_process_group",
            format!("started by an MPI launcher with {n} processes, but this Ember was built without MPI (build with the `mpi` feature)"),
        )),
        _ => Ok(local_world(1, timeout)?.remove(0)),
    }
}

/// Whether the default group has been started.
pub fn is_initialized() -> bool {
    DEFAULT_GROUP.read().unwrap_or_else(|e| e.into_inner()).is_some()
}

/// The default group; an error before [`init_process_group`].
pub fn default_group() -> Result<Arc<dyn ProcessGroup>> {
    DEFAULT_GROUP.read().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| {
        Error::value(
            "default_group",
            "Default process group has not been initialized, please make sure to call init_process_group.",
        )
    })
}

/// Ends the default group (finalising MPI); MPI cannot be started again in this process.
pub fn destroy_process_group() {
    if let Some(g) = DEFAULT_GROUP.write().unwrap_or_else(|e| e.into_inner()).take() {
        g.shutdown();
    }
}

/// This process's rank in the default group.
pub fn get_rank() -> Result<usize> {
    Ok(default_group()?.rank())
}

/// The default group's size.
pub fn get_world_size() -> Result<usize> {
    Ok(default_group()?.size())
}

/// Blocking `all_reduce` on the default group.
pub fn all_reduce(tensor: &Tensor, op: ReduceOp) -> Result<()> {
    default_group()?.all_reduce(tensor, op)?.wait()
}

/// Blocking `broadcast` on the default group.
pub fn broadcast(tensor: &Tensor, src: usize) -> Result<()> {
    default_group()?.broadcast(tensor, src)?.wait()
}

/// Blocking `all_gather` on the default group.
pub fn all_gather(outputs: &[Tensor], input: &Tensor) -> Result<()> {
    default_group()?.all_gather(outputs, input)?.wait()
}

/// Blocking `barrier` on the default group.
pub fn barrier() -> Result<()> {
    default_group()?.barrier()?.wait()
}
