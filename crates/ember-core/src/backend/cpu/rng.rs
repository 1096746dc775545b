//! Counter-based random numbers: element `i` of a draw is a pure function of (seed, offset + i),
//! so the same seed gives the same numbers at any thread count and in any fill order.
//!
//! The mixer is SplitMix64's finaliser applied twice over (seed, counter); it passes the usual
//! avalanche checks and is plenty for initialisation, dropout and shuffling. Ember's streams are
//! reproducible across Ember versions and platforms, but do not reproduce PyTorch's numbers.

use std::sync::Mutex;

#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 64 random bits for counter `ctr` under `seed`.
#[inline(always)]
pub fn bits(seed: u64, ctr: u64) -> u64 {
    mix64(mix64(seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(ctr.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// Uniform in [0, 1) with 53 random bits.
#[inline(always)]
pub fn uniform_f64(seed: u64, ctr: u64) -> f64 {
    (bits(seed, ctr) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in [0, 1) with 24 random bits (exactly representable in f32).
#[inline(always)]
pub fn uniform_f32(seed: u64, ctr: u64) -> f32 {
    (bits(seed, ctr) >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// Standard normal via Box-Muller on counters (2 ctr, 2 ctr + 1).
#[inline(always)]
pub fn normal(seed: u64, ctr: u64) -> f64 {
    // A separate stream (tagged seed), so normals never reuse the uniforms of `rand`.
    let s = seed ^ 0x6e6f_726d_616c_0000;
    let u1 = 1.0 - uniform_f64(s, 2 * ctr); // (0, 1]: log is finite
    let u2 = uniform_f64(s, 2 * ctr + 1);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An integer uniform in [0, n) (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
#[inline(always)]
pub fn below(seed: u64, ctr: u64, n: u64) -> u64 {
    ((bits(seed, ctr) as u128 * n as u128) >> 64) as u64
}

/// A random stream: a seed and a counter offset. `Generator` values are cheap to copy and
/// are what data loaders and dropout hold for their own reproducible streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generator {
    /// The seed.
    pub seed: u64,
    /// How many counters have been used.
    pub offset: u64,
}

impl Generator {
    /// A stream starting at counter 0.
    pub fn new(seed: u64) -> Generator {
        Generator { seed, offset: 0 }
    }

    /// Reserves `n` counters and returns the first.
    pub fn advance(&mut self, n: u64) -> u64 {
        let start = self.offset;
        self.offset = self.offset.wrapping_add(n);
        start
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let c = self.advance(1);
        bits(self.seed, c)
    }

    /// A uniform integer in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        let c = self.advance(1);
        below(self.seed, c, n)
    }

    /// A uniform float in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        let c = self.advance(1);
        uniform_f64(self.seed, c)
    }

    /// A random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            p.swap(i, j);
        }
        p
    }
}

static GLOBAL: Mutex<Generator> = Mutex::new(Generator { seed: 0x5eed, offset: 0 });

/// Seeds the global generator used by `rand`, `randn`, `randint`, dropout and initialisers.
pub fn manual_seed(seed: u64) {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = Generator::new(seed);
}

/// The global generator's state (saved in training checkpoints).
pub fn global_state() -> Generator {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Restores the global generator's state.
pub fn set_global_state(g: Generator) {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = g;
}

thread_local! {
    /// The generator that `reserve` draws from on this thread instead of the global one, while
    /// [`with_generator`] runs (PyTorch's `generator=` argument).
    static OVERRIDE: std::cell::Cell<Option<Generator>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with every draw on this thread (`rand`, `randn`, `multinomial`, `normal_`, ...)
/// taken from `g` instead of the global generator, and leaves `g` advanced past them: a
/// `torch.Generator` passed as `generator=`. Nested calls restore the outer generator.
pub fn with_generator<R>(g: &mut Generator, f: impl FnOnce() -> R) -> R {
    let outer = OVERRIDE.with(|o| o.replace(Some(*g)));
    // Restores the outer state even if `f` unwinds.
    struct Restore(Option<Generator>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let restore = Restore(outer);
    let r = f();
    if let Some(used) = OVERRIDE.with(|o| o.get()) {
        *g = used;
    }
    drop(restore);
    r
}

/// Reserves `n` counters of the current stream (the global one, or the generator of an
/// enclosing [`with_generator`]): returns (seed, first counter).
pub fn reserve(n: u64) -> (u64, u64) {
    if let Some(mut g) = OVERRIDE.with(|o| o.get()) {
        let start = g.advance(n);
        OVERRIDE.with(|o| o.set(Some(g)));
        return (g.seed, start);
    }
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let start = g.advance(n);
    (g.seed, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_moments_and_range() {
        let n = 200_000u64;
        let xs: Vec<f64> = (0..n).map(|i| uniform_f64(7, i)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{var}");
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let ns: Vec<f64> = (0..n).map(|i| normal(7, i)).collect();
        let m = ns.iter().sum::<f64>() / n as f64;
        let v = ns.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "{m} {v}");
    }

    #[test]
    fn a_private_generator_advances_itself_and_nests() {
        let mut g = Generator::new(42);
        let (seed, a) = with_generator(&mut g, || reserve(10));
        assert_eq!((seed, a, g.offset), (42, 0, 10));
        let (_, b) = with_generator(&mut g, || {
            let mut inner = Generator::new(7);
            with_generator(&mut inner, || reserve(3));
            reserve(5)
        });
        assert_eq!((b, g.offset), (10, 15));
    }

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let p = Generator::new(3).permutation(100);
        let mut s = p.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_eq!(p, Generator::new(3).permutation(100));
        assert_ne!(p, Generator::new(4).permutation(100));
    }
}
