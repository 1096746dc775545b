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

#[test]
fn spectral_norm_divides_by_the_largest_singular_value() -> Result<()> {
    use ember_nn::utils::SpectralNorm;
    let w = Tensor::randn(&[4, 3, 2], DType::F64)?;
    let mut sn = SpectralNorm::new(&w, 1, 1e-12, 0)?;
    let mut wn = sn.apply(&w, true)?;
    for _ in 0..50 {
        wn = sn.apply(&w, true)?;
    }
    // The normalised matrix has spectral norm 1; the original's is sigma (from the SVD).
    let top = |m: &Tensor| -> Result<f64> { Ok(m.reshape(&[4, 6])?.svdvals()?.to_f64_vec()?[0]) };
    assert!((top(&wn)? - 1.0).abs() < 1e-9, "{}", top(&wn)?);
    let sigma = top(&w)?;
    let ratio = w.to_f64_vec()?[0] / wn.to_f64_vec()?[0];
    assert!((ratio - sigma).abs() < 1e-9 * sigma, "{ratio} vs {sigma}");
    // Eval mode does not move u and v.
    let u = sn.u.to_f64_vec()?;
    sn.apply(&w, false)?;
    assert_eq!(sn.u.to_f64_vec()?, u);
    assert!(sn.apply(&Tensor::randn(&[5, 6], DType::F64)?, true).is_err());
    Ok(())
}

#[test]
fn weight_norm_init_reproduces_the_weight() -> Result<()> {
    use ember_nn::utils::{weight_norm, weight_norm_init};
    let w = Tensor::randn(&[3, 4], DType::F64)?;
    for dim in [Some(0), Some(1), Some(-1), None] {
        let (g, v) = weight_norm_init(&w, dim)?;
        let back = weight_norm(&v, &g, dim)?;
        for (a, b) in back.to_f64_vec()?.iter().zip(w.to_f64_vec()?) {
            assert!((a - b).abs() < 1e-12);
        }
    }
    assert!(weight_norm_init(&w, Some(2)).is_err());
    Ok(())
}
