//! Activation behaviour the PyTorch fixtures (`nn_golden.rs`) cannot show: random slopes in
//! training, finite gradients at extreme inputs, and argument errors.

use ember_core::{DType, Tensor};
use ember_nn::functional as F;
use ember_nn::{Activation, Forward, Module};

#[test]
fn rrelu_draws_slopes_between_its_bounds_in_training() {
    ember_core::manual_seed(4);
    let x = Tensor::full(&[10000], -1.0, DType::F64).unwrap();
    let mut m = ember_nn::RReLU::new(0.1, 0.3).unwrap();
    let y = m.forward(&x).unwrap().to_vec::<f64>().unwrap();
    assert!(y.iter().all(|&v| (-0.3..=-0.1).contains(&v)));
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    assert!((mean + 0.2).abs() < 0.005, "mean slope {mean}"); // U(0.1, 0.3): sd/sqrt(n) = 6e-4
    m.eval();
    assert!(m.forward(&x).unwrap().to_vec::<f64>().unwrap().iter().all(|&v| (v + 0.2).abs() < 1e-15));
}

#[test]
fn extreme_inputs_keep_gradients_finite() {
    let x = Tensor::from_vec(vec![-1e4, -50.0, 0.5, 50.0, 1e4], &[5]).unwrap().set_requires_grad(true).unwrap();
    for act in [Activation::SOFTPLUS, Activation::Mish, Activation::LogSigmoid, Activation::ELU { alpha: 1.0 }] {
        x.set_grad(None);
        let y = act.forward(&x).unwrap();
        assert!(y.to_vec::<f64>().unwrap().iter().all(|v| v.is_finite()), "{act:?} output");
        y.sum().unwrap().backward().unwrap();
        assert!(x.grad().unwrap().to_vec::<f64>().unwrap().iter().all(|v| v.is_finite()), "{act:?} gradient");
    }
}

#[test]
fn bad_arguments_are_errors() {
    let x = Tensor::zeros(&[3, 5], DType::F32).unwrap();
    let e = F::glu(&x, 1).unwrap_err().to_string();
    assert!(e.contains("Halving dimension must be even"), "{e}");
    assert!(F::glu(&x, 2).is_err());
    assert!(F::softshrink(&x, -1.0).is_err());
    assert!(F::hardtanh(&x, 1.0, -1.0).is_err());
    assert!(F::celu(&x, 0.0).is_err());
    assert!(F::softmax2d(&x).is_err());
    let e = F::prelu(&x, &Tensor::ones(&[4], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(e.contains("Mismatch of parameter numbers"), "{e}");
    assert!(ember_nn::PReLU::new(0, 0.25).is_err());
    let p = ember_nn::PReLU::new(5, 0.25).unwrap();
    assert_eq!(p.named_parameters()[0].0, "weight");
}
