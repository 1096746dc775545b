//! What the kernel timing examples share.
use std::time::Instant;

/// The median wall time of `runs` calls of `f` (after one warm-up call), in seconds.
pub fn median_s(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}
