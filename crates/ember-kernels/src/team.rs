//! Short parallel loops on pool workers that keep spinning between ops, as OpenMP's do.
//!
//! Why: rayon parks a worker that found nothing to do after about 33 rounds of
//! `sched_yield` (tens of microseconds). A program that issues small ops one after another
//! from one thread (the Python interpreter: a layer norm, a softmax, an add, each 10-100 µs,
//! with a few microseconds of Python between them) left every op a parked worker to wake: a
//! futex wake, and the worker arrived after the caller had done the work alone. Measured on 2
//! cores, nanoGPT's small config took as long at 2 threads as at 1; torch's OpenMP workers spin
//! for milliseconds after a parallel region and the next one starts at once.
//!
//! How: a loop called from a pool thread publishes its tasks in one global slot. Helpers are
//! rayon jobs on the other workers: they claim tasks from an atomic counter, and after a loop
//! they *linger* for [`LINGER`], spinning on the slot and running any rayon work that appears
//! (the halves of a GEMM), before they return to rayon, which may park them. The caller runs
//! task 0 and then claims tasks like a helper, so a late or absent helper costs parallelism,
//! never a wait: the loop does not wait for anyone to arrive, only for claimed tasks to end.
//!
//! Memory: the published job lives on the caller's stack. A helper raises `INSIDE` before it
//! reads the slot and lowers it when done with the job; the caller clears the slot and then
//! waits for `INSIDE` to reach zero before it returns (both sides sequentially consistent, so
//! a helper either is counted or reads the cleared slot).

use rayon::Yield;
use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a helper keeps spinning after the last loop or rayon job it saw. Long against the
/// gaps between ops issued from Python (microseconds), short against anything a user would
/// notice as a busy core.
pub const LINGER: Duration = Duration::from_millis(2);

/// One published loop: tasks `0..n` of `f`, claimed through `next`.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    n: usize,
    epoch: u64,
    next: AtomicUsize,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job<'_> {
    /// Runs task `i`, keeping a panic to rethrow on the caller once every task has ended (the
    /// caller's frame, which the job borrows from, must outlive every task).
    fn run_task(&self, i: usize) {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| (self.f)(i))) {
            if let Ok(mut slot) = self.panic.lock() {
                slot.get_or_insert(p);
            }
        }
        self.done.fetch_add(1, Ordering::Release);
    }

    /// Claims and runs tasks until none are left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.n {
                return;
            }
            self.run_task(i);
        }
    }
}

/// Keeps a hot atomic on its own cache line: helpers spin reading `SLOT`.
#[repr(align(128))]
struct Padded<T>(T);

/// The published job (`*const Job`), null between loops.
static SLOT: Padded<AtomicPtr<()>> = Padded(AtomicPtr::new(std::ptr::null_mut()));
/// Helpers currently holding a reference to the published job.
static INSIDE: Padded<AtomicUsize> = Padded(AtomicUsize::new(0));
/// Helper jobs spawned and not yet returned (waiting in a deque, or lingering).
static HELPERS: AtomicUsize = AtomicUsize::new(0);
/// Helper jobs spawned since the start (each one a wake-up of a possibly parked worker).
static SPAWNED: AtomicUsize = AtomicUsize::new(0);
/// A caller owns the slot (a second concurrent or nested loop takes rayon's path instead).
static BUSY: AtomicBool = AtomicBool::new(false);
/// Numbers published jobs, so a helper enters each one once even when two jobs share an address.
static EPOCH: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread is running a helper (a second helper job it picks up returns at once).
    static LINGERING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f(i)` for every `i in 0..n` on the calling pool thread and the lingering helpers;
/// returns when all have ended. Tasks may run in any order on any thread, each exactly once.
/// A panicking task is rethrown here after the others have ended.
pub fn run(n: usize, f: &(dyn Fn(usize) + Sync)) {
    if n == 0 {
        return;
    }
    let want = crate::threads::num_threads().min(rayon::current_num_threads()) - 1;
    let Some(me) = rayon::current_thread_index().filter(|_| n > 1 && want > 0) else {
        return (0..n).for_each(f);
    };
    if BUSY.swap(true, Ordering::Acquire) {
        use rayon::prelude::*;
        return (0..n).into_par_iter().for_each(f);
    }
    forget_helpers_in_forked_children();
    for _ in HELPERS.load(Ordering::Relaxed)..want {
        HELPERS.fetch_add(1, Ordering::Relaxed);
        SPAWNED.fetch_add(1, Ordering::Relaxed);
        rayon::spawn(move || linger(me));
    }
    let job = Job {
        f,
        n,
        epoch: EPOCH.fetch_add(1, Ordering::Relaxed) + 1,
        next: AtomicUsize::new(1),
        done: AtomicUsize::new(0),
        panic: Mutex::new(None),
    };
    SLOT.0.store(&job as *const Job as *mut (), Ordering::SeqCst);
    job.run_task(0);
    job.work();
    let mut spins = 0u32;
    while job.done.load(Ordering::Acquire) < n {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(4096) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    SLOT.0.store(std::ptr::null_mut(), Ordering::SeqCst);
    while INSIDE.0.load(Ordering::SeqCst) != 0 {
        std::hint::spin_loop();
    }
    BUSY.store(false, Ordering::Release);
    if let Some(p) = job.panic.into_inner().ok().flatten() {
        resume_unwind(p);
    }
}

/// Helper jobs alive now (queued, or lingering); zero once they have been idle for [`LINGER`].
pub fn helpers() -> usize {
    HELPERS.load(Ordering::Relaxed)
}

/// Helper jobs spawned since the process started: loops that found no helper lingering.
pub fn spawned() -> usize {
    SPAWNED.load(Ordering::Relaxed)
}

/// A helper: serves published jobs and rayon's queues until nothing has come for [`LINGER`].
/// Returns at once on the thread that spawned it (which popped its own job back while
/// waiting inside rayon) or on a thread that is already a helper.
fn linger(spawner: usize) {
    if rayon::current_thread_index() == Some(spawner) || LINGERING.get() {
        HELPERS.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    LINGERING.set(true);
    let mut last_epoch = 0;
    let mut idle_since = Instant::now();
    let mut spins = 0u32;
    loop {
        let busy = (!SLOT.0.load(Ordering::Relaxed).is_null() && serve(&mut last_epoch))
            || rayon::yield_now() == Some(Yield::Executed);
        if busy {
            idle_since = Instant::now();
            continue;
        }
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && idle_since.elapsed() > LINGER {
            break;
        }
    }
    LINGERING.set(false);
    HELPERS.fetch_sub(1, Ordering::Relaxed);
}

/// Works on the published job if it is one this helper has not entered; true if it was new.
fn serve(last_epoch: &mut u64) -> bool {
    INSIDE.0.fetch_add(1, Ordering::SeqCst);
    let p = SLOT.0.load(Ordering::SeqCst) as *const Job;
    // SAFETY: `INSIDE` was raised before this load, and the publishing caller clears the
    // slot and then waits for `INSIDE` to be zero before its frame (which owns the job) ends;
    // so a non-null pointer read here stays valid until the decrement below.
    let job = unsafe { p.as_ref() };
    let new = job.is_some_and(|job| job.epoch != *last_epoch);
    if let Some(job) = job.filter(|_| new) {
        *last_epoch = job.epoch;
        job.work();
    }
    INSIDE.0.fetch_sub(1, Ordering::Release);
    new
}

/// A forked child has only the forking thread: helpers counted in the parent (lingering, or
/// inside a job at the moment of the fork) do not exist there, and a caller would wait for
/// them to leave. The child starts from an empty team.
fn forget_helpers_in_forked_children() {
    #[cfg(target_os = "linux")]
    {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        extern "C" fn reset_in_child() {
            SLOT.0.store(std::ptr::null_mut(), Ordering::SeqCst);
            INSIDE.0.store(0, Ordering::SeqCst);
            HELPERS.store(0, Ordering::SeqCst);
            BUSY.store(false, Ordering::SeqCst);
        }
        // SAFETY: registers a child-side fork handler that only stores to atomics (async-
        // signal-safe); no memory is shared with the handler beyond those statics.
        REGISTER.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(reset_in_child));
        });
    }
}
