//! `swa_utils` against PyTorch (fixtures from tools/gen_fixtures.py): AveragedModel with SWA
//! and EMA averaging over 8 SGD steps, and SWALR's rates over 20 steps.

use ember_core::{DType, Tensor};
use ember_optim::lr_scheduler::LrScheduler;
use ember_optim::swa_utils::{AnnealStrategy, AveragedModel, Averaging, SwaLr};
use ember_optim::*;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/optim.json")).unwrap()
}

fn grads_at(t: usize, shape: &[usize], k: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> =
        (0..n).map(|i| (0.7 * t as f64 + 1.3 * i as f64 + k as f64).sin() * (1.0 + 0.1 * t as f64)).collect();
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn averaged_model_follows_pytorch() {
    let fx = fixture();
    for (name, avg_kind) in [("swa", Averaging::Swa), ("ema", Averaging::Ema(0.8))] {
        let w = Tensor::from_vec(vec![0.5, -0.3], &[1, 2]).unwrap().set_requires_grad(true).unwrap();
        let b = Tensor::from_vec(vec![0.1], &[1]).unwrap().set_requires_grad(true).unwrap();
        let ps = vec![w.clone(), b.clone()];
        let mut avg = AveragedModel::new(&ps, avg_kind).unwrap();
        let mut opt = Sgd::new(ps.clone(), SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
        for (t, want) in fx["swa"][name]["trajectory"].as_array().unwrap().iter().enumerate() {
            for (k, p) in ps.iter().enumerate() {
                p.set_grad(Some(grads_at(t, p.shape(), k)));
            }
            opt.step().unwrap();
            avg.update_parameters(&ps).unwrap();
            for (a, w) in avg.averaged.iter().zip(want.as_array().unwrap()) {
                let w: Vec<f64> = w.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                for (g, e) in a.to_f64_vec().unwrap().iter().zip(&w) {
                    assert!((g - e).abs() < 1e-12, "{name} step {t}: {g} vs PyTorch {e}");
                }
            }
        }
        assert_eq!(avg.n_averaged, 8);
    }
}

#[test]
fn swalr_follows_pytorch() {
    let fx = fixture();
    for (name, epochs, strategy) in [
        ("swalr_cos", 5, AnnealStrategy::Cos),
        ("swalr_linear", 3, AnnealStrategy::Linear),
        ("swalr_zero", 0, AnnealStrategy::Cos),
    ] {
        let p = Tensor::zeros(&[2], DType::F64).unwrap().set_requires_grad(true).unwrap();
        let mut opt = Sgd::new(vec![p.clone()], SgdConfig { lr: 0.5, ..Default::default() }).unwrap();
        let mut s = SwaLr::new(&mut opt, 0.05, epochs, strategy).unwrap();
        let mut lrs = vec![opt.lr()];
        for _ in 0..20 {
            s.step(&mut opt).unwrap();
            lrs.push(opt.lr());
        }
        for (i, (g, w)) in lrs.iter().zip(fx["swa"][name]["lrs"].as_array().unwrap()).enumerate() {
            let w = w.as_f64().unwrap();
            assert!((g - w).abs() < 1e-12, "{name} step {i}: {g} vs PyTorch {w}");
        }
    }
}

#[test]
fn bad_averaging_inputs_are_errors() {
    let p = Tensor::zeros(&[2], DType::F32).unwrap();
    assert!(AveragedModel::new(std::slice::from_ref(&p), Averaging::Ema(1.5)).is_err());
    let mut avg = AveragedModel::new(std::slice::from_ref(&p), Averaging::Swa).unwrap();
    assert!(avg.update_parameters(&[]).is_err());
    assert!(avg.update_parameters(&[Tensor::zeros(&[3], DType::F32).unwrap()]).is_err());
}
