//! The fused layer norm node: its double backward by gradgradcheck (the create_graph path),
//! and the f32 kernels (lane sums, row blocks across threads) agreeing with f64 on rows long
//! and many enough to split. (First-order values against PyTorch are in the nn golden table.)

use ember_core::autograd::{gradgradcheck, GradcheckOptions};
use ember_core::{DType, Result, Tensor};
use ember_nn::functional as F;

#[test]
fn layer_norm_has_a_second_derivative() -> Result<()> {
    let x = Tensor::randn(&[3, 2, 5], DType::F64)?.set_requires_grad(true)?;
    let w = Tensor::randn(&[2, 5], DType::F64)?.set_requires_grad(true)?;
    let b = Tensor::randn(&[2, 5], DType::F64)?.set_requires_grad(true)?;
    let f = |xs: &[Tensor]| F::layer_norm(&xs[0], &[2, 5], Some(&xs[1]), Some(&xs[2]), 1e-5);
    gradgradcheck(f, &[x.clone(), w, b], GradcheckOptions::default())?;
    gradgradcheck(|xs: &[Tensor]| F::layer_norm(&xs[0], &[5], None, None, 1e-5), &[x], GradcheckOptions::default())
}

#[test]
fn f32_agrees_with_f64() -> Result<()> {
    // 300 rows of 389 (a tail past the 16 lanes; several row blocks per thread).
    let x = Tensor::randn(&[300, 389], DType::F64)?.mul_scalar(3.0)?.add_scalar(5.0)?;
    let w = Tensor::randn(&[389], DType::F64)?;
    let b = Tensor::randn(&[389], DType::F64)?;
    let v = Tensor::randn(&[300, 389], DType::F64)?;
    let run = |dt: DType| -> Result<Vec<Vec<f64>>> {
        let leaf = |t: &Tensor| t.detach().to_dtype(dt)?.contiguous()?.set_requires_grad(true);
        let (xd, wd, bd) = (leaf(&x)?, leaf(&w)?, leaf(&b)?);
        let y = F::layer_norm(&xd, &[389], Some(&wd), Some(&bd), 1e-5)?;
        y.backward_with(&v.to_dtype(dt)?)?;
        let g = |t: &Tensor| t.grad().unwrap().to_f64_vec();
        Ok(vec![y.to_f64_vec()?, g(&xd)?, g(&wd)?, g(&bd)?])
    };
    let (a, c) = (run(DType::F64)?, run(DType::F32)?);
    for (u, w) in a.iter().zip(&c) {
        for (p, q) in u.iter().zip(w) {
            assert!((p - q).abs() < 2e-4 * p.abs().max(1.0), "{p} vs {q}");
        }
    }
    Ok(())
}
