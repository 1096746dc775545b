//! L-BFGS against `torch.optim.LBFGS` (fixtures from tools/gen_fixtures.py): Rosenbrock and a
//! two-parameter least-squares fit, with and without the strong-Wolfe line search, six
//! `step(closure)` calls each: same iterates, losses and function-evaluation counts.

use ember_core::{DType, Result, Tensor};
use ember_optim::*;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/optim.json")).unwrap()
}

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap().set_requires_grad(true).unwrap()
}

fn rosenbrock(x: &Tensor) -> Result<Tensor> {
    let (x0, x1) = (x.narrow(0, 0, 1)?, x.narrow(0, 1, 1)?);
    let a = x0.mul_scalar(-1.0)?.add_scalar(1.0)?.pow(2.0)?;
    let b = x1.sub(&x0.pow(2.0)?)?.pow(2.0)?.mul_scalar(100.0)?;
    a.add(&b)?.sum()
}

fn least_squares(w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a = Tensor::from_vec(vec![1.0, 2.0, 0.5, -1.0, 3.0, 0.25, -2.0, 1.5], &[4, 2])?;
    let y = Tensor::from_vec(vec![1.0, 0.0, 2.0, 0.0, 1.0, -1.0, 2.0, 2.0, 0.5, -1.0, 0.5, 1.0], &[4, 3])?;
    let fit = a.matmul(&w.t()?)?.add(b)?.sub(&y)?.pow(2.0)?.mean()?;
    fit.add(&w.pow(4.0)?.sum()?.mul_scalar(0.1)?)
}

fn config(name: &str) -> LbfgsConfig {
    let d = LbfgsConfig::default();
    match name {
        "rosenbrock_wolfe" => {
            LbfgsConfig { max_iter: 20, history_size: 10, line_search_fn: Some(LineSearch::StrongWolfe), ..d }
        }
        "rosenbrock_plain" => LbfgsConfig { lr: 0.05, max_iter: 15, history_size: 4, ..d },
        "lsq_wolfe" => LbfgsConfig { max_iter: 8, history_size: 3, line_search_fn: Some(LineSearch::StrongWolfe), ..d },
        "lsq_plain_maximize" => LbfgsConfig { lr: 0.1, max_iter: 10, maximize: true, ..d },
        other => panic!("no config for {other}"),
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-8 * want.abs().max(1e-6), "{what}: {got} vs PyTorch {want}");
}

#[test]
fn lbfgs_follows_pytorch() {
    let fx = fixture();
    for (name, case) in fx["lbfgs"].as_object().unwrap() {
        let problem = case["problem"].as_str().unwrap();
        let ps = if problem == "rosenbrock" {
            vec![t(&[-1.5, 2.0], &[2])]
        } else {
            vec![t(&[0.1, -0.2, 0.3, 0.0, -0.1, 0.2], &[3, 2]), t(&[0.0; 3], &[3])]
        };
        let sign = if problem == "lsq_neg" { -1.0 } else { 1.0 };
        let mut opt = Lbfgs::new(ps.clone(), config(name)).unwrap();
        let traj = case["trajectory"].as_array().unwrap();
        for (k, want_ps) in traj.iter().enumerate() {
            let ps2 = ps.clone();
            let mut closure = || -> Result<f64> {
                ps2.iter().for_each(|p| p.zero_grad());
                let loss = if problem == "rosenbrock" {
                    rosenbrock(&ps2[0])?
                } else {
                    least_squares(&ps2[0], &ps2[1])?.mul_scalar(sign)?
                };
                loss.backward()?;
                loss.item::<f64>()
            };
            let loss = opt.step_with_closure(&mut closure).unwrap();
            close(loss, case["losses"][k].as_f64().unwrap(), &format!("{name} loss at step {k}"));
            assert_eq!(opt.func_evals() as u64, case["func_evals"][k].as_u64().unwrap(), "{name} evals at step {k}");
            for (p, w) in ps.iter().zip(want_ps.as_array().unwrap()) {
                let want: Vec<f64> = w.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                for (g, w) in p.to_f64_vec().unwrap().iter().zip(&want) {
                    close(*g, *w, &format!("{name} parameter at step {k}"));
                }
            }
        }
    }
}

#[test]
fn lbfgs_minimises_rosenbrock_in_f32_too() {
    let x = Tensor::from_vec(vec![-1.5f32, 2.0], &[2]).unwrap().set_requires_grad(true).unwrap();
    let cfg = LbfgsConfig { line_search_fn: Some(LineSearch::StrongWolfe), ..Default::default() };
    let mut opt = Lbfgs::new(vec![x.clone()], cfg).unwrap();
    for _ in 0..5 {
        let x2 = x.clone();
        opt.step_with_closure(&mut || {
            x2.zero_grad();
            let l = rosenbrock(&x2.to_dtype(DType::F64)?)?;
            l.backward()?;
            l.item::<f64>()
        })
        .unwrap();
    }
    let v = x.to_f64_vec().unwrap();
    assert!((v[0] - 1.0).abs() < 1e-3 && (v[1] - 1.0).abs() < 1e-3, "{v:?}");
}

#[test]
fn lbfgs_step_without_a_closure_is_an_error_and_closures_drive_other_optimizers() {
    let x = t(&[1.0, -2.0], &[2]);
    let mut opt = Lbfgs::new(vec![x.clone()], LbfgsConfig::default()).unwrap();
    assert!(opt.step().is_err());
    assert!(Lbfgs::new(vec![x.clone()], LbfgsConfig { lr: -1.0, ..Default::default() }).is_err());
    // A closure error reaches the caller and leaves the parameters alone.
    let err = opt.step_with_closure(&mut || Err(ember_core::Error::value("closure", "boom")));
    assert!(err.is_err());
    assert_eq!(x.to_f64_vec().unwrap(), vec![1.0, -2.0]);
    // step(closure) on SGD: evaluates, then steps with the fresh gradient.
    let mut sgd = Sgd::new(vec![x.clone()], SgdConfig { lr: 0.5, ..Default::default() }).unwrap();
    let x2 = x.clone();
    let loss = sgd
        .step_with_closure(&mut || {
            x2.zero_grad();
            let l = x2.pow(2.0)?.sum()?;
            l.backward()?;
            l.item::<f64>()
        })
        .unwrap();
    assert_eq!(loss, 5.0);
    assert_eq!(x.to_f64_vec().unwrap(), vec![0.0, 0.0]);
}
