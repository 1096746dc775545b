//! `ember::distributions` sampling (log_prob, entropy and KL are compared with PyTorch in the
//! op table's `dist_*` cases): sample moments over 100k seeded draws within about five standard
//! errors, shapes, `rsample` gradients by finite differences, and bad parameters.

use ember_core::autograd::{gradcheck, GradcheckOptions};
use ember_core::distributions::{Bernoulli, Categorical, Distribution, MultivariateNormal, Normal, Uniform};
use ember_core::{DType, Tensor};

const N: usize = 100_000;

/// The tests draw from the process-wide generator and run on parallel threads: each holds this
/// lock while it seeds and draws, so another test's draws cannot land between its seeding and
/// its samples (the `rsample` gradcheck re-seeds per evaluation and needs the same noise each
/// time).
static GLOBAL_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v, &[v.len()]).unwrap()
}

fn vals(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap()
}

/// Mean and variance over dim 0, checked against `mean` and `var` within five standard errors.
fn check_moments(x: &Tensor, mean: &[f64], var: &[f64]) {
    let x = x.to_dtype(DType::F64).unwrap();
    let m = vals(&x.mean_dim(0, false).unwrap());
    let v = vals(&x.var_dim(0, true, false).unwrap());
    for i in 0..mean.len() {
        let se = (var[i] / N as f64).sqrt();
        assert!((m[i] - mean[i]).abs() < 5.0 * se, "mean[{i}] {} vs {}", m[i], mean[i]);
        assert!(
            (v[i] - var[i]).abs() < 5.0 * (2.0 * var[i] * var[i] / N as f64).sqrt() * 1.5,
            "var[{i}] {} vs {}",
            v[i],
            var[i]
        );
    }
}

#[test]
fn sample_moments_match_mean_and_variance() {
    let _rng = rng_lock();
    ember_core::manual_seed(0);
    let normal = Normal::new(&t(&[0.0, 2.0]), &t(&[1.0, 0.5])).unwrap();
    let x = normal.sample(&[N]).unwrap();
    assert_eq!(x.shape(), &[N, 2]);
    check_moments(&x, &vals(&normal.mean().unwrap()), &vals(&normal.variance().unwrap()));
    let u = Uniform::new(&t(&[-1.0]), &t(&[3.0])).unwrap();
    check_moments(&u.sample(&[N]).unwrap(), &[1.0], &[16.0 / 12.0]);
    let b = Bernoulli::new(&t(&[0.1, 0.7])).unwrap();
    check_moments(&b.sample(&[N]).unwrap(), &[0.1, 0.7], &[0.09, 0.21]);
}

#[test]
fn categorical_frequencies_and_shapes() {
    let _rng = rng_lock();
    ember_core::manual_seed(1);
    let c = Categorical::from_probs(&Tensor::from_vec(vec![0.1, 0.2, 0.7, 0.5, 0.5, 0.0], &[2, 3]).unwrap()).unwrap();
    let s = c.sample(&[N]).unwrap();
    assert_eq!((s.shape(), s.dtype()), (&[N, 2][..], DType::I64));
    let s = s.to_vec::<i64>().unwrap();
    for (row, p) in [[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]].iter().enumerate() {
        for (k, &pk) in p.iter().enumerate() {
            let f = s.iter().skip(row).step_by(2).filter(|&&v| v == k as i64).count() as f64 / N as f64;
            let se: f64 = (pk * (1.0 - pk) / N as f64).sqrt();
            assert!((f - pk).abs() <= 5.0 * se + 1e-12, "row {row} class {k}: {f} vs {pk}");
        }
    }
}

#[test]
fn multivariate_normal_sample_covariance() {
    let _rng = rng_lock();
    ember_core::manual_seed(2);
    let cov = Tensor::from_vec(vec![2.0, 0.5, 0.5, 1.0], &[2, 2]).unwrap();
    let d = MultivariateNormal::from_covariance(&t(&[0.0, 0.0]), &cov).unwrap();
    let x = d.sample(&[N]).unwrap();
    assert_eq!(x.shape(), &[N, 2]);
    let c = vals(&x.transpose(0, 1).unwrap().matmul(&x).unwrap().div_scalar(N as f64).unwrap());
    let want = [2.0, 0.5, 0.5, 1.0];
    let diag = [2.0, 1.0];
    for i in 0..2 {
        for j in 0..2 {
            // Var(x_i x_j) = C_ii C_jj + C_ij^2 for a zero-mean normal.
            let se = ((diag[i] * diag[j] + want[i * 2 + j] * want[i * 2 + j]) / N as f64).sqrt();
            assert!(
                (c[i * 2 + j] - want[i * 2 + j]).abs() < 5.0 * se,
                "cov[{i}{j}] {} vs {}",
                c[i * 2 + j],
                want[i * 2 + j]
            );
        }
    }
}

#[test]
fn rsample_is_differentiable_in_the_parameters() {
    let _rng = rng_lock();
    let loc = t(&[0.3, -0.2]).set_requires_grad(true).unwrap();
    let scale = t(&[0.7, 1.5]).set_requires_grad(true).unwrap();
    let draw = |p: &[Tensor]| {
        // The same noise for every evaluation.
        ember_core::manual_seed(3);
        Normal::new(&p[0], &p[1])?.rsample(&[4])
    };
    gradcheck(draw, &[loc.clone(), scale.clone()], GradcheckOptions::default()).unwrap();
    let tril = Tensor::from_vec(vec![1.0, 0.0, 0.4, 0.8], &[2, 2]).unwrap().set_requires_grad(true).unwrap();
    let draw = |p: &[Tensor]| {
        ember_core::manual_seed(4);
        MultivariateNormal::from_scale_tril(&p[0], &p[1].tril(0)?)?.rsample(&[3])
    };
    gradcheck(draw, &[loc, tril], GradcheckOptions::default()).unwrap();
}

#[test]
fn bad_parameters_are_errors() {
    let _rng = rng_lock();
    assert!(Categorical::from_logits(&Tensor::from_vec(vec![0.5f64], &[]).unwrap()).is_err());
    assert!(Normal::new(&t(&[0.0, 1.0]), &t(&[1.0, 2.0, 3.0])).is_err());
    assert!(Bernoulli::new(&t(&[0.5])).unwrap().rsample(&[2]).is_err());
    let not_pd = Tensor::from_vec(vec![1.0, 2.0, 2.0, 1.0], &[2, 2]).unwrap();
    assert!(MultivariateNormal::from_covariance(&t(&[0.0, 0.0]), &not_pd).is_err());
    assert!(MultivariateNormal::from_scale_tril(&t(&[0.0, 0.0, 0.0]), &Tensor::eye(2, DType::F64).unwrap()).is_err());
}
