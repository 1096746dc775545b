//! Optimiser and scheduler trajectories against PyTorch (fixtures from tools/gen_fixtures.py):
//! same initial parameters, same gradients, 20 steps, in f64 (the algorithm) and f32; state
//! dict round trips continue identically.

use ember_core::{DType, Tensor};
use ember_optim::lr_scheduler::*;
use ember_optim::*;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/optim.json")).unwrap()
}

fn grads_at(t: usize, shape: &[usize], k: usize, dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> =
        (0..n).map(|i| (0.7 * t as f64 + 1.3 * i as f64 + k as f64).sin() * (1.0 + 0.1 * t as f64)).collect();
    Tensor::from_vec(v, shape).unwrap().to_dtype(dtype).unwrap()
}

fn make(name: &str, ps: Vec<Tensor>) -> Box<dyn Optimizer> {
    match name {
        "sgd" => Box::new(Sgd::new(ps, SgdConfig { lr: 0.1, ..Default::default() }).unwrap()),
        "sgd_momentum" => Box::new(
            Sgd::new(
                ps,
                SgdConfig { lr: 0.05, momentum: 0.9, dampening: 0.1, weight_decay: 0.01, ..Default::default() },
            )
            .unwrap(),
        ),
        "sgd_nesterov" => {
            Box::new(Sgd::new(ps, SgdConfig { lr: 0.05, momentum: 0.9, nesterov: true, ..Default::default() }).unwrap())
        }
        "adam" => Box::new(Adam::new(ps, AdamConfig { lr: 0.01, ..Default::default() }).unwrap()),
        "adam_amsgrad_wd" => Box::new(
            Adam::new(
                ps,
                AdamConfig { lr: 0.02, betas: (0.8, 0.99), weight_decay: 0.05, amsgrad: true, ..Default::default() },
            )
            .unwrap(),
        ),
        "adamw" => Box::new(AdamW::new(ps, AdamWConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() }).unwrap()),
        "rmsprop" => Box::new(RmsProp::new(ps, RmsPropConfig { lr: 0.01, ..Default::default() }).unwrap()),
        "rmsprop_centered_momentum" => Box::new(
            RmsProp::new(
                ps,
                RmsPropConfig { lr: 0.01, momentum: 0.5, centered: true, weight_decay: 0.01, ..Default::default() },
            )
            .unwrap(),
        ),
        "adagrad" => Box::new(
            Adagrad::new(
                ps,
                AdagradConfig {
                    lr: 0.1,
                    lr_decay: 0.01,
                    weight_decay: 0.02,
                    initial_accumulator_value: 0.1,
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
        "adamax" => {
            Box::new(Adamax::new(ps, AdamaxConfig { lr: 0.02, weight_decay: 0.01, ..Default::default() }).unwrap())
        }
        "nadam" => Box::new(NAdam::new(ps, NAdamConfig { lr: 0.01, ..Default::default() }).unwrap()),
        "nadam_decoupled" => Box::new(
            NAdam::new(
                ps,
                NAdamConfig {
                    lr: 0.01,
                    betas: (0.8, 0.95),
                    weight_decay: 0.1,
                    momentum_decay: 0.01,
                    decoupled_weight_decay: true,
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
        "radam" => Box::new(
            RAdam::new(ps, RAdamConfig { lr: 0.01, betas: (0.9, 0.9), weight_decay: 0.02, ..Default::default() })
                .unwrap(),
        ),
        "radam_default" => Box::new(RAdam::new(ps, RAdamConfig { lr: 0.01, ..Default::default() }).unwrap()),
        "adadelta" => Box::new(
            Adadelta::new(ps, AdadeltaConfig { lr: 0.5, rho: 0.8, weight_decay: 0.01, ..Default::default() }).unwrap(),
        ),
        "rprop" => {
            Box::new(Rprop::new(ps, RpropConfig { lr: 0.02, etas: (0.4, 1.3), step_sizes: (1e-3, 0.05) }).unwrap())
        }
        "asgd" => Box::new(
            Asgd::new(ps, AsgdConfig { lr: 0.05, lambd: 0.01, alpha: 0.6, t0: 4.0, weight_decay: 0.01 }).unwrap(),
        ),
        "adam_groups" => {
            let groups =
                vec![ParamGroup::new(vec![ps[0].clone()], 0.02, 0.1), ParamGroup::new(vec![ps[1].clone()], 0.005, 0.0)];
            Box::new(Adam::with_groups(groups, AdamConfig { lr: 0.005, ..Default::default() }).unwrap())
        }
        other => panic!("no optimizer for fixture {other}"),
    }
}

fn params(case: &Value, dtype: DType) -> Vec<Tensor> {
    case["init"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["shapes"].as_array().unwrap())
        .map(|(d, s)| {
            let data: Vec<f64> = d.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let shape: Vec<usize> = s.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
            Tensor::from_vec(data, &shape).unwrap().to_dtype(dtype).unwrap().set_requires_grad(true).unwrap()
        })
        .collect()
}

fn step(opt: &mut dyn Optimizer, ps: &[Tensor], t: usize) {
    for (k, p) in ps.iter().enumerate() {
        p.set_grad(Some(grads_at(t, p.shape(), k, p.dtype())));
    }
    opt.step().unwrap();
}

#[test]
fn optimizers_follow_pytorch_for_twenty_steps() {
    let fx = fixture();
    for (name, case) in fx["optimizers"].as_object().unwrap() {
        for (dtype, rtol) in [(DType::F64, 1e-10), (DType::F32, 1e-5)] {
            let ps = params(case, dtype);
            let mut opt = make(name, ps.clone());
            for (t, want) in case["trajectory"].as_array().unwrap().iter().enumerate() {
                step(opt.as_mut(), &ps, t);
                for (p, w) in ps.iter().zip(want.as_array().unwrap()) {
                    for (i, (g, w)) in p.to_f64_vec().unwrap().iter().zip(w.as_array().unwrap()).enumerate() {
                        let w = w.as_f64().unwrap();
                        assert!(
                            (g - w).abs() <= rtol * w.abs().max(1e-2),
                            "{name} ({dtype}) step {t} element {i}: {g} vs PyTorch {w}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn state_dict_round_trip_continues_identically() {
    let fx = fixture();
    for (name, case) in fx["optimizers"].as_object().unwrap() {
        let straight = params(case, DType::F64);
        let mut opt = make(name, straight.clone());
        for t in 0..10 {
            step(opt.as_mut(), &straight, t);
        }
        let resumed = params(case, DType::F64);
        let mut first = make(name, resumed.clone());
        for t in 0..5 {
            step(first.as_mut(), &resumed, t);
        }
        let sd = first.state_dict();
        drop(first);
        let copies: Vec<Tensor> = resumed
            .iter()
            .map(|p| p.detach().contiguous().unwrap().mul_scalar(1.0).unwrap().set_requires_grad(true).unwrap())
            .collect();
        let mut second = make(name, copies.clone());
        second.load_state_dict(&sd).unwrap();
        for t in 5..10 {
            step(second.as_mut(), &copies, t);
        }
        for (a, b) in straight.iter().zip(&copies) {
            assert_eq!(a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap(), "{name}: resumed run differs");
        }
    }
}

fn scheduler(name: &str, opt: &mut dyn Optimizer) -> Box<dyn LrScheduler> {
    match name {
        "step" => Box::new(StepLr::new(opt, 3, 0.5).unwrap()),
        "multistep" => Box::new(MultiStepLr::new(opt, &[2, 5, 9], 0.3)),
        "exponential" => Box::new(ExponentialLr::new(opt, 0.9)),
        "cosine" => Box::new(CosineAnnealingLr::new(opt, 5, 0.01).unwrap()),
        "linear_warmup" => Box::new(LinearLr::new(opt, 0.25, 1.0, 4).unwrap()),
        "onecycle" => Box::new(OneCycleLr::new(opt, 0.5, 101).unwrap()),
        "chained" => {
            let a: Box<dyn LrScheduler> = Box::new(LinearLr::new(opt, 0.5, 1.0, 3).unwrap());
            let b: Box<dyn LrScheduler> = Box::new(ExponentialLr::new(opt, 0.9));
            Box::new(ChainedScheduler::new(vec![a, b]))
        }
        "lambda" => Box::new(LambdaLr::new(opt, vec![Box::new(|e| 0.95f64.powi(e as i32))]).unwrap()),
        "multiplicative" => Box::new(MultiplicativeLr::new(opt, vec![Box::new(|_| 0.97)]).unwrap()),
        "constant" => Box::new(ConstantLr::new(opt, 0.5, 4).unwrap()),
        "polynomial" => Box::new(PolynomialLr::new(opt, 30, 2.0).unwrap()),
        "warm_restarts" => Box::new(CosineAnnealingWarmRestarts::new(opt, 7, 2, 0.001).unwrap()),
        "warm_restarts_flat" => Box::new(CosineAnnealingWarmRestarts::new(opt, 9, 1, 0.0).unwrap()),
        "cyclic_triangular2" => {
            let o = CyclicLrOptions {
                step_size_up: 5,
                step_size_down: Some(3),
                mode: CyclicMode::Triangular2,
                ..Default::default()
            };
            Box::new(CyclicLr::new(opt, 0.01, 0.1, o).unwrap())
        }
        "cyclic_exp_range" => {
            let o = CyclicLrOptions { step_size_up: 4, mode: CyclicMode::ExpRange(0.97), ..Default::default() };
            Box::new(CyclicLr::new(opt, 0.01, 0.1, o).unwrap())
        }
        "sequential_warmup_cosine" => {
            let a: Box<dyn LrScheduler> = Box::new(LinearLr::new(opt, 0.1, 1.0, 5).unwrap());
            let b: Box<dyn LrScheduler> = Box::new(CosineAnnealingLr::new(opt, 20, 0.0).unwrap());
            Box::new(SequentialLr::new(opt, vec![a, b], &[5]).unwrap())
        }
        "sequential_three" => {
            let a: Box<dyn LrScheduler> = Box::new(ConstantLr::new(opt, 0.5, 3).unwrap());
            let b: Box<dyn LrScheduler> = Box::new(ExponentialLr::new(opt, 0.9));
            let c: Box<dyn LrScheduler> = Box::new(StepLr::new(opt, 10, 0.5).unwrap());
            Box::new(SequentialLr::new(opt, vec![a, b, c], &[4, 30]).unwrap())
        }
        other => panic!("no scheduler for fixture {other}"),
    }
}

#[test]
fn schedulers_follow_pytorch() {
    let fx = fixture();
    for (name, case) in fx["schedulers"].as_object().unwrap() {
        let p = Tensor::zeros(&[2], DType::F64).unwrap().set_requires_grad(true).unwrap();
        let mut opt = Sgd::new(vec![p.clone()], SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).unwrap();
        let mut s = scheduler(name, &mut opt);
        let mut lrs = vec![opt.lr()];
        let mut moms = vec![opt.momentum().unwrap()];
        for _ in 0..100 {
            p.set_grad(Some(Tensor::ones(&[2], DType::F64).unwrap()));
            opt.step().unwrap();
            s.step(&mut opt).unwrap();
            lrs.push(opt.lr());
            moms.push(opt.momentum().unwrap());
        }
        let want: Vec<f64> = case["lrs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let want_m: Vec<f64> = case["momentum"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (i, (g, w)) in lrs.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1e-3), "{name}: lr after {i} steps {g} vs PyTorch {w}");
        }
        for (i, (g, w)) in moms.iter().zip(&want_m).enumerate() {
            assert!((g - w).abs() <= 1e-9, "{name}: momentum after {i} steps {g} vs PyTorch {w}");
        }
    }
}

#[test]
fn clip_grad_norm_scales_to_max_norm_and_returns_the_total() {
    let a = Tensor::zeros(&[2], DType::F32).unwrap().set_requires_grad(true).unwrap();
    let b = Tensor::zeros(&[1], DType::F32).unwrap().set_requires_grad(true).unwrap();
    a.set_grad(Some(Tensor::from_slice(&[3.0f32, 0.0], &[2]).unwrap()));
    b.set_grad(Some(Tensor::from_slice(&[4.0f32], &[1]).unwrap()));
    let n = clip_grad_norm_(&[a.clone(), b.clone()], 1.0).unwrap();
    assert!((n - 5.0).abs() < 1e-6);
    let ga = a.grad().unwrap().to_vec::<f32>().unwrap();
    assert!((ga[0] - 0.6).abs() < 1e-5);
    clip_grad_value_(std::slice::from_ref(&b), 0.1).unwrap();
    assert!((b.grad().unwrap().item::<f32>().unwrap() - 0.1).abs() < 1e-7);
}

#[test]
fn invalid_hyper_parameters_are_errors() {
    let p = Tensor::zeros(&[1], DType::F32).unwrap().set_requires_grad(true).unwrap();
    assert!(Sgd::new(vec![p.clone()], SgdConfig { lr: -1.0, ..Default::default() }).is_err());
    assert!(Sgd::new(vec![p.clone()], SgdConfig { nesterov: true, ..Default::default() }).is_err());
    assert!(Adam::new(vec![p.clone()], AdamConfig { betas: (1.0, 0.9), ..Default::default() }).is_err());
    assert!(Adam::new(vec![Tensor::zeros(&[1], DType::I64).unwrap()], AdamConfig::default()).is_err());
}
