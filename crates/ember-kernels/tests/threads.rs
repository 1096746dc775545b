//! The calling thread as worker 0 of the global pool, and elementwise spans cut per thread.
//! Its own test binary: `adopt_calling_thread` needs a process whose global pool is not built.

use ember_kernels::threads::{adopt_calling_thread, for_each_span_mut, set_num_threads};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[test]
fn the_adopting_thread_computes_a_share_of_each_parallel_map() {
    assert_eq!(rayon::current_thread_index(), None, "not a pool thread before");
    assert!(adopt_calling_thread(), "the global pool did not exist yet");
    assert_eq!(rayon::current_thread_index(), Some(0));
    assert!(!adopt_calling_thread(), "a second call changes nothing");

    set_num_threads(2);
    let mut out = vec![0usize; 100_000];
    let seen = Mutex::new(Vec::new());
    for_each_span_mut(&mut out, 1 << 15, |start, span| {
        seen.lock().unwrap().push((start, span.len(), rayon::current_thread_index()));
        for (i, o) in span.iter_mut().enumerate() {
            *o = start + i;
        }
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    // Two spans (one per thread) on 64-element boundaries, covering the slice once; the
    // first is computed by the calling thread itself, not handed to a worker.
    assert_eq!(seen.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), vec![(0, 50_048), (50_048, 49_952)]);
    assert_eq!(seen[0].2, Some(0));
    assert!(out.iter().enumerate().all(|(i, &v)| v == i));

    // At or below the grain, or at one thread: one span on the calling thread.
    for (len, threads) in [(1 << 15, 2), (100_000, 1)] {
        set_num_threads(threads);
        let mut out = vec![0u8; len];
        let calls = AtomicUsize::new(0);
        for_each_span_mut(&mut out, 1 << 15, |start, span| {
            assert_eq!((start, span.len()), (0, len));
            calls.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(calls.into_inner(), 1);
    }
}
