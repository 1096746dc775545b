//! The team of lingering helpers behind short parallel loops called from a pool thread.
//! One test function (its checks share a pool and the global team, in order).

use ember_kernels::team::{self, helpers, LINGER};
use ember_kernels::threads::set_num_threads;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Spins for `d` (a task that takes a known time without sleeping).
fn busy(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn loops_run_every_task_once_and_helpers_linger_between_them() {
    set_num_threads(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        let me = rayon::current_thread_index().unwrap();
        // Every index exactly once, task 0 on the caller, for counts around the thread count.
        for n in [1, 2, 3, 7, 64, 1000] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            let first = AtomicUsize::new(usize::MAX);
            team::run(n, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
                if i == 0 {
                    first.store(rayon::current_thread_index().unwrap(), Ordering::Relaxed);
                }
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "n = {n}");
            assert_eq!(first.into_inner(), me, "task 0 runs on the caller");
        }

        // A helper stays between loops: after a gap of 300 µs (rayon alone parks an idle
        // worker after tens of microseconds) the next loop finds it still there and spawns
        // no new one. Counted in spawns, not in who ran what, so a loaded machine (CI) that
        // delays the helper's work does not change the count; with helpers returning at
        // once, every loop spawns one.
        team::run(2, &|_| busy(Duration::from_micros(20)));
        let before = team::spawned();
        for _ in 0..100 {
            std::thread::sleep(Duration::from_micros(300));
            team::run(2, &|_| busy(Duration::from_micros(20)));
        }
        let spawns = team::spawned() - before;
        assert!(spawns < 50, "{spawns} of 100 loops had to spawn a helper");

        // A loop inside a task (the team is busy) still runs all of its tasks.
        let inner = AtomicUsize::new(0);
        team::run(4, &|_| team::run(5, &|_| _ = inner.fetch_add(1, Ordering::Relaxed)));
        assert_eq!(inner.into_inner(), 20);

        // A panicking task is rethrown on the caller after the others end, and the team
        // still works afterwards.
        let ended = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(|| {
            team::run(8, &|i| {
                if i == 5 {
                    panic!("task five");
                }
                busy(Duration::from_micros(50));
                ended.fetch_add(1, Ordering::Relaxed);
            })
        });
        let msg = caught.unwrap_err();
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"task five"));
        assert_eq!(ended.into_inner(), 7);
        let after = AtomicUsize::new(0);
        team::run(3, &|_| _ = after.fetch_add(1, Ordering::Relaxed));
        assert_eq!(after.into_inner(), 3);

        // Idle for longer than LINGER, the helpers go back to rayon.
        let t = Instant::now();
        while helpers() > 0 && t.elapsed() < LINGER * 500 {
            std::thread::sleep(LINGER);
        }
        assert_eq!(helpers(), 0, "helpers still alive after {:?} idle", t.elapsed());
    });

    // Outside any pool: the loop runs on the calling thread.
    let who = std::sync::Mutex::new(Vec::new());
    team::run(3, &|i| who.lock().unwrap().push((i, rayon::current_thread_index())));
    assert_eq!(who.into_inner().unwrap(), vec![(0, None), (1, None), (2, None)]);
}
