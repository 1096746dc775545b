//! Thread count and coarse parallel loops over rayon's global pool.
//!
//! Work is split into blocks whose size does not depend on the thread count, so results
//! (including float reductions) are identical at 1 and N threads; small inputs run on the
//! calling thread because waking workers costs more than the work.

use crate::team;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Threads Ember's kernels use (default: the number of CPUs, or `EMBER_NUM_THREADS`).
pub fn num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("EMBER_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            NUM_THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Sets the number of threads used by kernels (at least 1). The rayon pool is built with the
/// machine's CPU count; asking for fewer threads makes kernels split work into fewer parts.
pub fn set_num_threads(n: usize) {
    NUM_THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Runs `f(block_index, block)` over `out` split into blocks of `block` elements, in parallel
/// when there is more than one block and more than one thread.
pub fn for_each_block_mut<T: Send>(out: &mut [T], block: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let block = block.max(1);
    if num_threads() <= 1 || out.len() <= block {
        for (i, c) in out.chunks_mut(block).enumerate() {
            f(i, c);
        }
    } else if in_pool() {
        for_each_chunk_on_team(out, block, &f);
    } else {
        out.par_chunks_mut(block).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Rows of `d` elements per parallel task of a row kernel (softmax, norms): about
/// [`PARALLEL_MIN_WORK`] elements each, at least one row. The cut depends on `d` alone, so
/// results do not depend on the thread count.
pub fn rows_per_task(d: usize) -> usize {
    (PARALLEL_MIN_WORK / d.max(1)).max(1)
}

/// Runs `f(first_row, block)` over `out`, rows of `d` elements, cut into blocks of
/// [`rows_per_task`] rows (in parallel when there are several); `first_row` indexes the
/// block's first row, for reading the matching rows of the inputs.
pub fn for_each_row_block_mut<T: Send>(out: &mut [T], d: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let per = rows_per_task(d);
    for_each_block_mut(out, per * d.max(1), |blk, o| f(blk * per, o));
}

/// Runs `f(start, span)` over `out` cut into one span per thread (starts on 64-element
/// boundaries), in parallel when `out` is longer than `grain`: for elementwise maps, where
/// each element's result is the same however the slice is cut, so the cut can follow the
/// thread count. Fixed-size blocks would leave threads idle at the end (three blocks on two
/// threads run as two rounds).
///
/// `grain` is for a caller that is a pool thread (it computes the first span itself); from
/// outside the pool, where every span is handed to a worker and the caller sleeps, the split
/// starts at twice that.
pub fn for_each_span_mut<T: Send>(out: &mut [T], grain: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let threads = num_threads();
    let grain = if in_pool() { grain.max(1) } else { grain.max(1).saturating_mul(2) };
    if threads <= 1 || out.len() <= grain {
        return f(0, out);
    }
    let parts = threads.min(out.len().div_ceil(grain));
    let span = out.len().div_ceil(parts).next_multiple_of(64);
    if in_pool() {
        for_each_chunk_on_team(out, span, &|i, c| f(i * span, c));
    } else {
        out.par_chunks_mut(span).enumerate().for_each(|(i, c)| f(i * span, c));
    }
}

/// `out.chunks_mut(chunk).enumerate()` as tasks of [`team::run`].
fn for_each_chunk_on_team<T: Send>(out: &mut [T], chunk: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
    let (len, base) = (out.len(), SendPtr(out.as_mut_ptr()));
    team::run(len.div_ceil(chunk), &|i| {
        let start = i * chunk;
        let n = chunk.min(len - start);
        // SAFETY: `start + n <= len`, so the chunk lies inside `out`, which is borrowed
        // mutably for the whole call; `team::run` runs each index once, so chunks given to
        // different tasks never overlap.
        f(i, unsafe { std::slice::from_raw_parts_mut(base.get().add(start), n) });
    });
}

/// A slice's base pointer shared by the tasks that each take a disjoint chunk of it.
struct SendPtr<T>(*mut T);

impl<T> SendPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

// SAFETY: the pointer is only turned into disjoint `&mut [T]` chunks, one per task, so sharing
// it is sharing `&mut [T]` pieces across threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// Whether the calling thread is one of the pool's workers (its parallel loops then run part
/// of the work on this thread).
pub fn in_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// Elementwise maps longer than this run on several threads (PyTorch's grain size too).
pub const MAP_GRAIN: usize = 1 << 15;

/// Runs `f(i)` for `i in 0..n`, in parallel when `n * cost_per_item` is large.
pub fn for_each_index(n: usize, cost_per_item: usize, f: impl Fn(usize) + Sync + Send) {
    if num_threads() <= 1 || n < 2 || n.saturating_mul(cost_per_item) < PARALLEL_MIN_WORK {
        (0..n).for_each(f);
    } else if in_pool() {
        // A few contiguous ranges per thread: claimed dynamically, so uneven items balance.
        let tasks = n.min(4 * num_threads());
        let per = n.div_ceil(tasks);
        team::run(n.div_ceil(per), &|t| (t * per..n.min((t + 1) * per)).for_each(&f));
    } else {
        (0..n).into_par_iter().for_each(f);
    }
}

/// Below this many element-operations a loop stays on the calling thread (measured: waking a
/// rayon worker costs a few microseconds, i.e. about 32K simple float ops on one core).
pub const PARALLEL_MIN_WORK: usize = 1 << 15;

/// Builds rayon's global pool (one thread per CPU, or `RAYON_NUM_THREADS`) with the calling thread as its worker 0, so
/// that a parallel kernel called from this thread computes a share itself, as an OpenMP master
/// thread does, instead of handing every block to the other workers and sleeping until they
/// are done. An embedding whose one thread issues the ops (the Python interpreter) calls this
/// at start: measured from Python on 2 cores, an elementwise op of 196K floats at 2 threads took
/// longer than at 1 (waking two workers, then waking the caller), and with the caller working
/// it takes about half. Returns false, changing nothing, when the global pool already exists.
pub fn adopt_calling_thread() -> bool {
    rayon::ThreadPoolBuilder::new().use_current_thread().build_global().is_ok()
}

/// Runs `f` on a worker thread of a pool with `num_threads()` workers, so that the caller's own
/// work and the kernels' parallel halves share the same threads. Called from an outside
/// thread, every parallel kernel would otherwise wake all workers while the caller blocks, and
/// the idle workers' spinning afterwards would compete with the caller for the cores.
pub fn run_in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let n = num_threads();
    match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}
