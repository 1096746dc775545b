//! Timing of backward nodes for the profiler (`ember.profiler` in Python): while it is on, the
//! engine records one event per node it runs, named as PyTorch's profiler names them
//! (`autograd::engine::evaluate_function: MulBackward0`, and `...: torch::autograd::AccumulateGrad`
//! for a leaf's `.grad`). Times are nanoseconds on one process-wide monotonic clock
//! ([`now_ns`]), so callers that time their own spans (the Python layer's op events) can nest
//! these inside them. Off, the cost is one relaxed atomic load per node.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static EVENTS: Mutex<Vec<ProfileEvent>> = Mutex::new(Vec::new());
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// One timed span.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileEvent {
    /// What ran (PyTorch's event name).
    pub name: String,
    /// Start and end, nanoseconds on [`now_ns`]'s clock.
    pub start_ns: u64,
    pub end_ns: u64,
    /// The recording thread ([`thread_id`]).
    pub thread: u64,
}

/// Nanoseconds since the first call in this process (a monotonic clock).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A small number naming the calling thread, stable for its life (1, 2, ... in order of first
/// use).
pub fn thread_id() -> u64 {
    thread_local! {
        static ID: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    }
    ID.with(|id| *id)
}

/// Turns recording on or off; turning it on drops events left from an earlier session.
pub fn set_profiling(on: bool) {
    if on {
        EVENTS.lock().unwrap_or_else(|e| e.into_inner()).clear();
        now_ns(); // start the clock
    }
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether backward nodes are being recorded.
pub fn profiling() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The events recorded so far (all threads), oldest first; the buffer is emptied.
pub fn take_profile_events() -> Vec<ProfileEvent> {
    std::mem::take(&mut *EVENTS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Starts a span if recording is on: `Some(start)` to hand to [`finish`].
pub(crate) fn start() -> Option<u64> {
    profiling().then(now_ns)
}

/// Records the span begun at `start` (from [`start`]) under `name()`.
pub(crate) fn finish(start: Option<u64>, name: impl FnOnce() -> String) {
    if let Some(start_ns) = start {
        let event = ProfileEvent { name: name(), start_ns, end_ns: now_ns(), thread: thread_id() };
        EVENTS.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, Tensor};

    #[test]
    fn backward_nodes_are_timed_only_while_profiling() {
        let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap().set_requires_grad(true).unwrap();
        let loss = x.mul(&x).unwrap().sum().unwrap();
        set_profiling(true);
        loss.backward().unwrap();
        set_profiling(false);
        let events: Vec<_> =
            take_profile_events().into_iter().filter(|e| e.thread == thread_id()).map(|e| e.name).collect();
        assert_eq!(
            events,
            [
                "autograd::engine::evaluate_function: SumBackward0",
                "autograd::engine::evaluate_function: MulBackward0",
                "autograd::engine::evaluate_function: torch::autograd::AccumulateGrad",
            ]
        );
        let y = Tensor::zeros(&[2], DType::F64).unwrap().set_requires_grad(true).unwrap();
        y.sum().unwrap().backward().unwrap();
        assert!(take_profile_events().iter().all(|e| e.thread != thread_id()));
    }
}
