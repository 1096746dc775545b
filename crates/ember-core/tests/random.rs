//! Samplers: moments within statistical bounds over 100k seeded draws (bounds of about five
//! standard errors, so a correct sampler fails with negligible probability and a wrong one by
//! far), support and validity, reproducibility from a seed, private generators, and errors.

use ember_core::rng::{self, Generator};
use ember_core::{DType, Tensor};

const N: usize = 100_000;

/// The tests of this file seed and draw from the one global stream: one at a time.
static GLOBAL_STREAM: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL_STREAM.lock().unwrap_or_else(|e| e.into_inner())
}

fn moments(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64)
}

fn filled(f: impl Fn(&Tensor)) -> Vec<f64> {
    let t = Tensor::zeros(&[N], DType::F64).unwrap();
    f(&t);
    t.to_vec::<f64>().unwrap()
}

/// Asserts mean and variance within `k` standard errors (the variance's from the fourth
/// central moment `m4`).
fn check(name: &str, v: &[f64], mean: f64, var: f64, m4: f64) {
    let (m, s2) = moments(v);
    let n = v.len() as f64;
    let se_m = (var / n).sqrt();
    let se_v = ((m4 - var * var) / n).sqrt();
    assert!((m - mean).abs() < 5.0 * se_m, "{name}: mean {m}, expected {mean}");
    assert!((s2 - var).abs() < 5.0 * se_v, "{name}: variance {s2}, expected {var}");
}

#[test]
fn in_place_samplers_have_their_distributions_moments() {
    let _serial = serial();
    rng::manual_seed(1);
    let v = filled(|t| t.uniform_(-1.0, 3.0).unwrap());
    assert!(v.iter().all(|&x| (-1.0..3.0).contains(&x)));
    check("uniform", &v, 1.0, 16.0 / 12.0, 16.0f64.powi(2) / 80.0);
    let v = filled(|t| t.normal_(2.0, 0.5).unwrap());
    check("normal", &v, 2.0, 0.25, 3.0 * 0.0625);
    let v = filled(|t| t.exponential_(2.0).unwrap());
    assert!(v.iter().all(|&x| x >= 0.0));
    check("exponential", &v, 0.5, 0.25, 9.0 / 16.0);
    let v = filled(|t| t.geometric_(0.25).unwrap());
    assert!(v.iter().all(|&x| x >= 1.0 && x.fract() == 0.0));
    // Geometric(p) on {1, 2, ...}: mean 1/p = 4, variance (1-p)/p^2 = 12; m4 is bounded loosely.
    check("geometric", &v, 4.0, 12.0, 12.0 * 12.0 * 9.0 + 12.0 * 12.0);
    let v = filled(|t| t.log_normal_(0.0, 0.25).unwrap());
    let s2 = 0.0625f64;
    let lmean = (s2 / 2.0).exp();
    let lvar = (s2.exp() - 1.0) * s2.exp();
    check("log_normal", &v, lmean, lvar, 10.0 * lvar * lvar);
    let v = filled(|t| t.random_(3, Some(7)).unwrap());
    assert!(v.iter().all(|&x| [3.0, 4.0, 5.0, 6.0].contains(&x)));
    check("random_", &v, 4.5, 1.25, 2.5);
    let v = filled(|t| t.bernoulli_(0.3).unwrap());
    assert!(v.iter().all(|&x| x == 0.0 || x == 1.0));
    check("bernoulli_", &v, 0.3, 0.21, 0.21);
    // Cauchy has no moments: check the quartiles (median 1, quartiles 1 -+ 2).
    let mut v = filled(|t| t.cauchy_(1.0, 2.0).unwrap());
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| v[(p * N as f64) as usize];
    assert!((q(0.5) - 1.0).abs() < 0.05 && (q(0.25) + 1.0).abs() < 0.07 && (q(0.75) - 3.0).abs() < 0.07);
}

#[test]
fn poisson_and_bernoulli_follow_their_rates() {
    let _serial = serial();
    rng::manual_seed(2);
    for lam in [0.5, 4.0, 30.0, 1000.0] {
        let rates = Tensor::full(&[N], lam, DType::F64).unwrap();
        let v = rates.poisson().unwrap().to_vec::<f64>().unwrap();
        assert!(v.iter().all(|&x| x >= 0.0 && x.fract() == 0.0));
        // Poisson: mean = variance = lam, fourth central moment lam (1 + 3 lam).
        check(&format!("poisson({lam})"), &v, lam, lam, lam * (1.0 + 3.0 * lam));
    }
    let p = Tensor::from_vec(vec![0.0f32, 1.0, 0.25], &[3]).unwrap().expand(&[N, 3]).unwrap();
    let b = p.bernoulli().unwrap();
    assert_eq!(b.dtype(), DType::F32);
    let cols = b.to_dtype(DType::F64).unwrap().mean_dim(0, false).unwrap().to_vec::<f64>().unwrap();
    assert_eq!((cols[0], cols[1]), (0.0, 1.0));
    assert!((cols[2] - 0.25).abs() < 5.0 * (0.25f64 * 0.75 / N as f64).sqrt(), "{cols:?}");
}

#[test]
fn multinomial_draws_in_proportion_and_without_repeats() {
    let _serial = serial();
    rng::manual_seed(3);
    let w = Tensor::from_vec(vec![1.0f32, 0.0, 3.0, 6.0], &[4]).unwrap();
    let s = w.multinomial(N, true).unwrap().to_vec::<i64>().unwrap();
    for (j, p) in [0.1, 0.0, 0.3, 0.6].iter().enumerate() {
        let f = s.iter().filter(|&&x| x == j as i64).count() as f64 / N as f64;
        assert!((f - p).abs() < 5.0 * (p * (1.0 - p) / N as f64).sqrt() + 1e-12, "category {j}: {f} vs {p}");
    }
    // Without replacement: distinct categories per row, zero weights never drawn, and the
    // first draw distributed as the weights.
    let rows = Tensor::from_vec(vec![1.0f64, 0.0, 3.0, 6.0], &[1, 4]).unwrap().expand(&[20_000, 4]).unwrap();
    let d = rows.multinomial(3, false).unwrap().to_vec::<i64>().unwrap();
    let mut first = [0usize; 4];
    for r in d.chunks(3) {
        assert!(r[0] != r[1] && r[1] != r[2] && r[0] != r[2] && !r.contains(&1), "{r:?}");
        first[r[0] as usize] += 1;
    }
    let f6 = first[3] as f64 / 20_000.0;
    assert!((f6 - 0.6).abs() < 5.0 * (0.24f64 / 20_000.0).sqrt(), "{first:?}");
    // Second draw given the first is 3 (weight 6): category 2 with probability 3/4.
    let (mut n3, mut n32) = (0, 0);
    for r in d.chunks(3) {
        if r[0] == 3 {
            n3 += 1;
            n32 += usize::from(r[1] == 2);
        }
    }
    let f = n32 as f64 / n3 as f64;
    assert!((f - 0.75).abs() < 5.0 * (0.1875 / n3 as f64).sqrt(), "{f}");
}

#[test]
fn seeds_and_private_generators_reproduce_draws() {
    let _serial = serial();
    let draw = || {
        let t = Tensor::zeros(&[8], DType::F32).unwrap();
        t.normal_(0.0, 1.0).unwrap();
        let m = Tensor::ones(&[2, 10], DType::F32).unwrap().multinomial(4, false).unwrap();
        (t.to_vec::<f32>().unwrap(), m.to_vec::<i64>().unwrap())
    };
    rng::manual_seed(11);
    let a = draw();
    rng::manual_seed(11);
    assert_eq!(draw(), a);
    // A private generator with the same seed gives the same numbers and leaves the global
    // stream where it was.
    rng::manual_seed(5);
    let global_next = draw();
    rng::manual_seed(5);
    let mut g = Generator::new(11);
    assert_eq!(rng::with_generator(&mut g, draw), a);
    assert_eq!(draw(), global_next);
}

#[test]
fn bad_sampler_arguments_are_errors() {
    let _serial = serial();
    let t = Tensor::zeros(&[3], DType::F32).unwrap();
    assert!(t.exponential_(0.0).is_err());
    assert!(t.geometric_(1.0).is_err());
    assert!(t.normal_(0.0, -1.0).is_err());
    assert!(t.uniform_(2.0, 1.0).is_err());
    assert!(t.random_(5, Some(5)).is_err());
    assert!(t.bernoulli_(1.5).is_err());
    assert!(Tensor::zeros(&[3], DType::I64).unwrap().normal_(0.0, 1.0).is_err());
    let w = Tensor::from_vec(vec![1.0f32, -1.0], &[2]).unwrap();
    assert!(w.multinomial(1, true).is_err());
    assert!(Tensor::zeros(&[2], DType::F32).unwrap().multinomial(1, true).is_err());
    assert!(Tensor::ones(&[2], DType::F32).unwrap().multinomial(3, false).is_err());
    assert!(Tensor::ones(&[2], DType::F32).unwrap().multinomial(0, true).is_err());
    assert!(Tensor::ones(&[2, 2, 2], DType::F32).unwrap().multinomial(1, true).is_err());
    assert!(Tensor::from_vec(vec![1.0f32, 0.0], &[2]).unwrap().multinomial(2, false).is_err());
    assert!(Tensor::full(&[2], -1.0, DType::F32).unwrap().poisson().is_err());
    assert!(Tensor::full(&[2], 2.0, DType::F32).unwrap().bernoulli().is_err());
    // An expanded (overlapping) destination is refused, as every in-place write.
    assert!(Tensor::zeros(&[1], DType::F32).unwrap().expand(&[4]).unwrap().normal_(0.0, 1.0).is_err());
}
