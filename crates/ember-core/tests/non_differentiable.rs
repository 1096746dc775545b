//! PyTorch's `non_differentiable` table entries (`differentiable: false`: Airy, the scaled K,
//! the orthogonal polynomials) never record, and a rule without a derivative for one input
//! (`zeta` in `x`) refuses backward with torch's `NotImplementedError` kind.

use ember_core::Tensor;

#[test]
fn non_differentiable_ops_never_require_grad() {
    // PyTorch's non_differentiable entries: the output is a constant, even of a grad input.
    let x = Tensor::from_vec(vec![0.3f64, 1.5], &[2]).unwrap().set_requires_grad(true).unwrap();
    let n = Tensor::from_vec(vec![3.0f64, 4.0], &[2]).unwrap().set_requires_grad(true).unwrap();
    for y in [x.airy_ai(), x.spherical_bessel_j0(), x.scaled_modified_bessel_k0(), x.chebyshev_polynomial_t(&n)] {
        assert!(!y.unwrap().requires_grad());
    }
    // Differentiable ones do, and one without a derivative in an input says so.
    assert!(x.bessel_j0().unwrap().requires_grad());
    let e = x.add_scalar(2.0).unwrap().zeta(&n).unwrap().sum().unwrap().backward().unwrap_err();
    assert!(matches!(e, ember_core::Error::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("the derivative for 'zeta' is not implemented"), "{e}");
}
