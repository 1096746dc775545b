//! `nn.utils`: gradient norms of every order, non-finite totals, parameter/vector round trips.

use ember_core::{DType, Result, Tensor};
use ember_nn::utils::{clip_grad_norm_with, get_total_norm, parameters_to_vector, vector_to_parameters};

fn with_grads() -> Result<Vec<Tensor>> {
    let a = Tensor::zeros(&[2], DType::F32)?.set_requires_grad(true)?;
    let b = Tensor::zeros(&[1], DType::F64)?.set_requires_grad(true)?;
    a.set_grad(Some(Tensor::from_slice(&[3.0f32, 0.0], &[2])?));
    b.set_grad(Some(Tensor::from_slice(&[-4.0f64], &[1])?));
    Ok(vec![a, b])
}

#[test]
fn total_norms_of_every_order() -> Result<()> {
    let ps = with_grads()?;
    assert!((get_total_norm(&ps, 2.0)? - 5.0).abs() < 1e-12);
    assert_eq!(get_total_norm(&ps, 1.0)?, 7.0);
    assert_eq!(get_total_norm(&ps, f64::INFINITY)?, 4.0);
    let n = clip_grad_norm_with(&ps, 2.0, f64::INFINITY, false)?;
    assert_eq!(n, 4.0);
    let g = ps[1].grad().unwrap().item::<f64>()?;
    assert!((g + 4.0 * 2.0 / (4.0 + 1e-6)).abs() < 1e-12, "{g}");
    Ok(())
}

#[test]
fn non_finite_totals_are_errors_when_asked() -> Result<()> {
    let ps = with_grads()?;
    ps[1].set_grad(Some(Tensor::from_slice(&[f64::NAN], &[1])?));
    assert!(clip_grad_norm_with(&ps, 1.0, 2.0, true).is_err());
    assert_eq!(ps[0].grad().unwrap().to_f64_vec()?, vec![3.0, 0.0], "untouched on error");
    assert!(clip_grad_norm_with(&ps, 1.0, 2.0, false)?.is_nan());
    Ok(())
}

#[test]
fn parameters_round_trip_through_a_vector() -> Result<()> {
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    let b = Tensor::from_vec(vec![5.0f32], &[1])?;
    let v = parameters_to_vector(&[a.clone(), b.clone()])?;
    assert_eq!(v.to_f64_vec()?, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    vector_to_parameters(&v.mul_scalar(2.0)?, &[a.clone(), b.clone()])?;
    assert_eq!(a.to_f64_vec()?, vec![2.0, 4.0, 6.0, 8.0]);
    assert_eq!(b.to_f64_vec()?, vec![10.0]);
    assert!(vector_to_parameters(&v.narrow(0, 0, 4)?, &[a, b]).is_err());
    Ok(())
}
