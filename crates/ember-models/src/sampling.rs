//! Choosing the next token from logits: greedy (temperature 0), temperature, top-k, top-p
//! (nucleus) and a repetition penalty, from a seeded stream.

use ember_core::{Error, Generator, Result};

/// Sampling settings and the random stream.
#[derive(Clone, Debug)]
pub struct Sampler {
    /// 0 means greedy.
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    /// Values above 1 discourage tokens already present (the CTRL/HF rule: divide positive
    /// logits, multiply negative ones).
    pub repetition_penalty: f64,
    pub rng: Generator,
}

impl Sampler {
    /// Greedy decoding.
    pub fn greedy() -> Sampler {
        Sampler { temperature: 0.0, top_k: None, top_p: None, repetition_penalty: 1.0, rng: Generator::new(0) }
    }

    /// Temperature sampling with a seed.
    pub fn new(temperature: f64, top_k: Option<usize>, top_p: Option<f64>, seed: u64) -> Result<Sampler> {
        if !(temperature >= 0.0 && temperature.is_finite()) {
            return Err(Error::value("Sampler", format!("temperature must be >= 0, got {temperature}")));
        }
        if let Some(p) = top_p {
            if !(p > 0.0 && p <= 1.0) {
                return Err(Error::value("Sampler", format!("top_p must be in (0, 1], got {p}")));
            }
        }
        if top_k == Some(0) {
            return Err(Error::value("Sampler", "top_k must be positive"));
        }
        Ok(Sampler { temperature, top_k, top_p, repetition_penalty: 1.0, rng: Generator::new(seed) })
    }

    /// Picks a token from one row of logits; `previous` are the ids so far (for the penalty).
    pub fn sample(&mut self, logits: &[f32], previous: &[u32]) -> u32 {
        let mut l: Vec<f64> = logits.iter().map(|&x| x as f64).collect();
        if self.repetition_penalty != 1.0 {
            for &id in previous {
                if let Some(x) = l.get_mut(id as usize) {
                    *x = if *x > 0.0 { *x / self.repetition_penalty } else { *x * self.repetition_penalty };
                }
            }
        }
        let argmax = |l: &[f64]| {
            l.iter().enumerate().fold((0usize, f64::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0
                as u32
        };
        if self.temperature == 0.0 {
            return argmax(&l);
        }
        let mut idx: Vec<usize> = (0..l.len()).collect();
        idx.sort_by(|&a, &b| l[b].partial_cmp(&l[a]).unwrap_or(std::cmp::Ordering::Equal));
        if let Some(k) = self.top_k {
            idx.truncate(k.max(1));
        }
        let m = l[idx[0]];
        let mut probs: Vec<f64> = idx.iter().map(|&i| ((l[i] - m) / self.temperature).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        if let Some(top_p) = self.top_p {
            let mut acc = 0.0;
            let keep = probs.iter().position(|&p| {
                acc += p;
                acc >= top_p
            });
            let n = keep.map_or(probs.len(), |k| k + 1);
            probs.truncate(n);
            idx.truncate(n);
            let t: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|p| *p /= t);
        }
        let u = self.rng.uniform();
        let mut acc = 0.0;
        for (p, &i) in probs.iter().zip(&idx) {
            acc += p;
            if u < acc {
                return i as u32;
            }
        }
        *idx.last().unwrap_or(&0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_top_k_and_top_p() {
        let logits = [0.0f32, 3.0, 1.0, 2.9];
        assert_eq!(Sampler::greedy().sample(&logits, &[]), 1);
        let mut s = Sampler::greedy();
        s.repetition_penalty = 2.0;
        assert_eq!(s.sample(&logits, &[1]), 3, "the penalty demotes token 1");
        let mut k1 = Sampler::new(1.0, Some(1), None, 3).unwrap();
        assert!((0..50).all(|_| k1.sample(&logits, &[]) == 1));
        let mut p = Sampler::new(1.0, None, Some(0.5), 3).unwrap();
        let picks: Vec<u32> = (0..200).map(|_| p.sample(&logits, &[])).collect();
        assert!(picks.iter().all(|&t| t == 1 || t == 3), "top-p keeps the smallest set over 0.5");
        let mut t = Sampler::new(1.0, None, None, 9).unwrap();
        let ones = (0..4000).filter(|_| t.sample(&[0.0, 0.0], &[]) == 1).count();
        assert!((1800..2200).contains(&ones), "{ones}");
        assert!(Sampler::new(-1.0, None, None, 0).is_err());
    }
}
