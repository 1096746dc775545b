//! Sampling with PyTorch's names: `multinomial`, `bernoulli`, `poisson`, and the in-place
//! fills `uniform_`, `normal_`, `exponential_`, `geometric_`, `cauchy_`, `log_normal_`,
//! `random_`, `bernoulli_`. Every draw comes from the current generator (the global one seeded
//! by `manual_seed`, or a private one under `rng::with_generator`), through counters, so a seed
//! gives the same numbers at any thread count.
//!
//! Samplers that need a variable number of uniforms per element (Poisson's rejection) give each
//! element its own sub-stream: a `Generator` seeded by the element's counter.

use super::create::storage_from_fn;
use super::Tensor;
use crate::backend::cpu::rng::{self, Generator};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::storage::checked_numel;

/// One Poisson draw with rate `lam` from its own stream (Knuth's product of uniforms below 10;
/// Hörmann's PTRS transformed rejection above, O(1) per draw).
fn poisson_draw(g: &mut Generator, lam: f64) -> f64 {
    if lam <= 0.0 {
        return 0.0;
    }
    if lam < 10.0 {
        let (limit, mut k, mut p) = ((-lam).exp(), 0.0, g.uniform());
        while p > limit {
            k += 1.0;
            p *= g.uniform();
        }
        return k;
    }
    let (slam, loglam) = (lam.sqrt(), lam.ln());
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = g.uniform() - 0.5;
        let v = g.uniform();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
            <= -lam + k * loglam - ember_kernels::special::lgamma(k + 1.0)
        {
            return k;
        }
    }
}

impl Tensor {
    /// A tensor like `self` with element `i` = `f(seed, counter of i)`, from `per` counters of
    /// the current stream per element.
    #[track_caller]
    fn sampled_like(&self, op: &'static str, per: u64, f: impl Fn(u64, u64) -> f64 + Sync) -> Result<Tensor> {
        let n = checked_numel(op, self.shape(), self.dtype())?;
        let (seed, start) = rng::reserve(n as u64 * per);
        Ok(Tensor::from_storage(storage_from_fn(self.dtype(), n, |i| f(seed, start + i as u64 * per)), self.shape()))
    }

    /// Overwrites `self` with samples `f(seed, counter)`. As PyTorch's in-place samplers, a
    /// leaf that requires grad is refused outside `no_grad` (initialisers run under it), and a
    /// recorded non-leaf gets a zero gradient for its old values.
    #[track_caller]
    fn fill_sampled_(&self, op: &'static str, f: impl Fn(u64, u64) -> f64 + Sync) -> Result<()> {
        let s = self.sampled_like(op, 1, f)?;
        crate::error::at_caller(self.copy_(&s))
    }

    /// Fills with samples uniform in `[from, to)` (`Tensor.uniform_`).
    #[track_caller]
    pub fn uniform_(&self, from: f64, to: f64) -> Result<()> {
        self.require_float("uniform_")?;
        if from > to || !(to - from).is_finite() {
            return Err(Error::value(
                "uniform_",
                format!("uniform_ expects to return a [from, to) range, but found from={from} > to={to}"),
            ));
        }
        self.fill_sampled_("uniform_", |s, c| from + (to - from) * rng::uniform_f64(s, c))
    }

    /// Fills with normal samples (`Tensor.normal_`).
    #[track_caller]
    pub fn normal_(&self, mean: f64, std: f64) -> Result<()> {
        self.require_float("normal_")?;
        if std.is_nan() || std < 0.0 {
            return Err(Error::value("normal_", format!("normal expects std >= 0.0, but found std {std}")));
        }
        self.fill_sampled_("normal_", |s, c| mean + std * rng::normal(s, c))
    }

    /// Fills with samples of the exponential distribution of rate `lambd` (`Tensor.exponential_`).
    #[track_caller]
    pub fn exponential_(&self, lambd: f64) -> Result<()> {
        self.require_float("exponential_")?;
        if lambd.is_nan() || lambd <= 0.0 {
            return Err(Error::value(
                "exponential_",
                format!("exponential_ expects lambda > 0.0, but found lambda={lambd}"),
            ));
        }
        self.fill_sampled_("exponential_", |s, c| -(1.0 - rng::uniform_f64(s, c)).ln() / lambd)
    }

    /// Fills with the number of Bernoulli(`p`) trials up to the first success, in `1, 2, ...`
    /// (`Tensor.geometric_`).
    #[track_caller]
    pub fn geometric_(&self, p: f64) -> Result<()> {
        if !(p > 0.0 && p < 1.0) {
            return Err(Error::value("geometric_", format!("geometric_ expects p to be in (0, 1), but got p={p}")));
        }
        let l = (1.0 - p).ln();
        self.fill_sampled_("geometric_", |s, c| ((1.0 - rng::uniform_f64(s, c)).ln() / l).ceil().max(1.0))
    }

    /// Fills with Cauchy samples (`Tensor.cauchy_`).
    #[track_caller]
    pub fn cauchy_(&self, median: f64, sigma: f64) -> Result<()> {
        self.require_float("cauchy_")?;
        if sigma.is_nan() || sigma <= 0.0 {
            return Err(Error::value("cauchy_", format!("cauchy_ expects sigma > 0.0, but found sigma={sigma}")));
        }
        let pi = std::f64::consts::PI;
        self.fill_sampled_("cauchy_", |s, c| median + sigma * (pi * (rng::uniform_f64(s, c) - 0.5)).tan())
    }

    /// Fills with `exp(N(mean, std))` samples (`Tensor.log_normal_`).
    #[track_caller]
    pub fn log_normal_(&self, mean: f64, std: f64) -> Result<()> {
        self.require_float("log_normal_")?;
        if std.is_nan() || std <= 0.0 {
            return Err(Error::value("log_normal_", format!("log_normal_ expects std > 0.0, but found std={std}")));
        }
        self.fill_sampled_("log_normal_", |s, c| (mean + std * rng::normal(s, c)).exp())
    }

    /// Fills with integers uniform in `[from, to)`; without `to`, up to the largest integer the
    /// dtype holds exactly (2^24 for f32, 2^53 for f64, the type's maximum for integers), as
    /// `Tensor.random_`.
    #[track_caller]
    pub fn random_(&self, from: i64, to: Option<i64>) -> Result<()> {
        let top = match self.dtype() {
            DType::F16 => 1 << 11,
            DType::BF16 => 1 << 8,
            DType::F32 => 1 << 24,
            DType::F64 => 1 << 53,
            DType::U8 => 256,
            DType::I8 => 128,
            DType::I16 => 32_768,
            DType::I32 => 1 << 31,
            DType::Bool => 2,
            DType::I64 => i64::MAX,
        };
        let to = to.unwrap_or(top);
        if to <= from {
            return Err(Error::value(
                "random_",
                format!("random_ expects 'from' to be less than 'to', but got from={from} >= to={to}"),
            ));
        }
        let range = (to as i128 - from as i128) as u64;
        self.fill_sampled_("random_", |s, c| (from as i128 + rng::below(s, c, range) as i128) as f64)
    }

    /// Fills with 1 with probability `p`, else 0 (`Tensor.bernoulli_(p)`).
    #[track_caller]
    pub fn bernoulli_(&self, p: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::value("bernoulli_", format!("bernoulli_ expects p to be in [0, 1], but got p={p}")));
        }
        self.fill_sampled_("bernoulli_", |s, c| f64::from(rng::uniform_f64(s, c) < p))
    }

    /// 1 with probability `self[i]`, else 0, in `self`'s dtype (`torch.bernoulli`; not
    /// differentiable).
    #[track_caller]
    pub fn bernoulli(&self) -> Result<Tensor> {
        self.require_float("bernoulli")?;
        let p = self.detach().to_f64_vec()?;
        if let Some(bad) = p.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(Error::value(
                "bernoulli",
                format!("Expected p_in >= 0 && p_in <= 1 to be true, but got {bad}"),
            ));
        }
        let (seed, start) = rng::reserve(p.len() as u64);
        let dtype = self.dtype();
        let out = storage_from_fn(dtype, p.len(), |i| f64::from(rng::uniform_f64(seed, start + i as u64) < p[i]));
        Ok(Tensor::from_storage(out, self.shape()))
    }

    /// A Poisson sample for each rate in `self` (`torch.poisson`; not differentiable).
    #[track_caller]
    pub fn poisson(&self) -> Result<Tensor> {
        self.require_float("poisson")?;
        let lam = self.detach().to_f64_vec()?;
        if let Some(bad) = lam.iter().find(|l| l.is_nan() || **l < 0.0 || l.is_infinite()) {
            return Err(Error::value(
                "poisson",
                format!("invalid Poisson rate, expected rate to be non-negative and finite, got {bad}"),
            ));
        }
        let (seed, start) = rng::reserve(lam.len() as u64);
        let out = storage_from_fn(self.dtype(), lam.len(), |i| {
            // Each element draws from its own stream (a variable number of uniforms).
            poisson_draw(&mut Generator::new(rng::bits(seed ^ 0x706f_6973_736f_6e00, start + i as u64)), lam[i])
        });
        Ok(Tensor::from_storage(out, self.shape()))
    }

    /// `num_samples` category indices per row of the (unnormalised) weights `self`, 1-D or
    /// 2-D (`torch.multinomial`). Without replacement, each category is drawn at most once, in
    /// the order sequential draws would take them.
    #[track_caller]
    pub fn multinomial(&self, num_samples: usize, replacement: bool) -> Result<Tensor> {
        let op = "multinomial";
        if self.dim() == 0 || self.dim() > 2 {
            return Err(Error::shape(op, format!("prob_dist must be 1 or 2 dim, got {}", self.dim())));
        }
        self.require_float(op)?;
        let n = self.shape()[self.dim() - 1];
        let rows = if self.dim() == 2 { self.shape()[0] } else { 1 };
        if num_samples == 0 {
            return Err(Error::value(op, "cannot sample n_sample <= 0 samples"));
        }
        if n == 0 {
            return Err(Error::value(op, "invalid multinomial distribution (sum of probabilities <= 0)"));
        }
        if !replacement && num_samples > n {
            return Err(Error::value(op, "cannot sample n_sample > prob_dist.size(-1) samples without replacement"));
        }
        checked_numel(op, &[rows, num_samples], DType::I64)?;
        let w = self.detach().to_f64_vec()?;
        if w.iter().any(|x| x.is_nan() || *x < 0.0 || x.is_infinite()) {
            return Err(Error::value(op, "probability tensor contains either `inf`, `nan` or element < 0"));
        }
        for row in w.chunks(n.max(1)) {
            if row.iter().sum::<f64>() <= 0.0 {
                return Err(Error::value(op, "invalid multinomial distribution (sum of probabilities <= 0)"));
            }
            if !replacement && row.iter().filter(|&&x| x > 0.0).count() < num_samples {
                return Err(Error::value(op, "invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)"));
            }
        }
        // One draw without replacement is a draw with replacement (one uniform per row, not n).
        let with = replacement || num_samples == 1;
        let per_row = if with { num_samples } else { n } as u64;
        let (seed, start) = rng::reserve(per_row * rows as u64);
        let mut out = vec![0i64; rows * num_samples];
        let work = |r: usize, o: &mut [i64]| {
            let row = &w[r * n..(r + 1) * n];
            let base = start + r as u64 * per_row;
            if with {
                // Inverse CDF: category j when cum[j-1] <= u < cum[j] (empty categories never).
                let cum: Vec<f64> = row
                    .iter()
                    .scan(0.0, |a, &x| {
                        *a += x;
                        Some(*a)
                    })
                    .collect();
                let total = cum[n - 1];
                for (s, o) in o.iter_mut().enumerate() {
                    let u = rng::uniform_f64(seed, base + s as u64) * total;
                    *o = cum.partition_point(|&c| c <= u).min(n - 1) as i64;
                }
            } else {
                // Exponential race: category j finishes at E_j / w_j; the first `num_samples`
                // to finish are a draw without replacement, in sequential order.
                let mut keys: Vec<(f64, usize)> = row
                    .iter()
                    .enumerate()
                    .map(|(j, &x)| (-(1.0 - rng::uniform_f64(seed, base + j as u64)).ln() / x, j))
                    .collect();
                keys.select_nth_unstable_by(num_samples - 1, |a, b| a.0.total_cmp(&b.0));
                keys.truncate(num_samples);
                keys.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
                for (o, k) in o.iter_mut().zip(&keys) {
                    *o = k.1 as i64;
                }
            }
        };
        if rows > 1 && rows * n >= 1 << 15 && ember_kernels::threads::num_threads() > 1 {
            use rayon::prelude::*;
            out.par_chunks_mut(num_samples).enumerate().for_each(|(r, o)| work(r, o));
        } else {
            out.chunks_mut(num_samples).enumerate().for_each(|(r, o)| work(r, o));
        }
        let shape: Vec<usize> = if self.dim() == 2 { vec![rows, num_samples] } else { vec![num_samples] };
        Tensor::from_vec(out, &shape)
    }
}
