//! The fused training-mode batch norm: its double backward (gradient penalties) by
//! gradgradcheck, and f32 agreeing with f64. (First-order values against PyTorch are in the
//! nn golden table.)

use ember_core::autograd::{gradgradcheck, GradcheckOptions};
use ember_core::{DType, Result, Tensor};
use ember_nn::functional as F;

#[test]
fn batch_norm_training_has_a_second_derivative() -> Result<()> {
    let x = Tensor::randn(&[3, 2, 4], DType::F64)?.set_requires_grad(true)?;
    let w = Tensor::randn(&[2], DType::F64)?.set_requires_grad(true)?;
    let b = Tensor::randn(&[2], DType::F64)?.set_requires_grad(true)?;
    let f = |xs: &[Tensor]| F::batch_norm(&xs[0], None, None, Some(&xs[1]), Some(&xs[2]), true, 0.1, 1e-5);
    gradgradcheck(f, &[x, w, b], GradcheckOptions::default())
}

#[test]
fn f32_agrees_with_f64() -> Result<()> {
    let x = Tensor::randn(&[4, 3, 5, 2], DType::F64)?;
    let w = Tensor::randn(&[3], DType::F64)?;
    let run = |dt: DType| -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let xd = x.detach().to_dtype(dt)?.contiguous()?.mul_scalar(1.0)?.set_requires_grad(true)?;
        let wd = w.detach().to_dtype(dt)?.contiguous()?.mul_scalar(1.0)?.set_requires_grad(true)?;
        let rm = Tensor::zeros(&[3], dt)?;
        let rv = Tensor::ones(&[3], dt)?;
        let y = F::batch_norm(&xd, Some(&rm), Some(&rv), Some(&wd), None, true, 0.1, 1e-5)?;
        y.mul(&y)?.sum()?.backward()?;
        Ok((y.to_f64_vec()?, xd.grad().unwrap().to_f64_vec()?, rv.to_f64_vec()?))
    };
    let (a, b) = (run(DType::F64)?, run(DType::F32)?);
    for (u, v) in [(&a.0, &b.0), (&a.1, &b.1), (&a.2, &b.2)] {
        for (p, q) in u.iter().zip(v.iter()) {
            assert!((p - q).abs() < 1e-4 * p.abs().max(1.0), "{p} vs {q}");
        }
    }
    Ok(())
}
