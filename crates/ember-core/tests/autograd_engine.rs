//! Engine behaviour: accumulation, shared subgraphs, non-scalar roots, grad mode, detach,
//! hooks, retain_graph, the in-place version check, `autograd::grad`, checkpointing, and a
//! training loop whose live memory stays flat.

use ember_core::autograd::{self, GradOptions};
use ember_core::{no_grad, DType, Error, NoGradGuard, Result, Tensor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape).unwrap()
}

fn leaf(v: &[f64], shape: &[usize]) -> Tensor {
    t(v, shape).set_requires_grad(true).unwrap()
}

fn vals(x: &Tensor) -> Vec<f64> {
    x.to_f64_vec().unwrap()
}

#[test]
fn a_tensor_used_twice_accumulates_both_paths() -> Result<()> {
    let x = leaf(&[2.0, 3.0], &[2]);
    // y = x * x + x  => dy/dx = 2x + 1
    let y = (&x * &x)?.add(&x)?.sum()?;
    y.backward()?;
    assert_eq!(vals(&x.grad().unwrap()), vec![5.0, 7.0]);
    Ok(())
}

#[test]
fn diamond_and_shared_subgraph() -> Result<()> {
    let x = leaf(&[0.5], &[1]);
    let s = x.exp()?; // shared
    let a = s.mul_scalar(2.0)?;
    let b = s.sin()?;
    (&a + &b)?.sum()?.backward()?;
    let e = 0.5f64.exp();
    assert!((vals(&x.grad().unwrap())[0] - (2.0 * e + e.cos() * e)).abs() < 1e-12);
    Ok(())
}

#[test]
fn gradients_accumulate_across_backward_calls_until_zeroed() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    x.mul_scalar(3.0)?.sum()?.backward()?;
    x.mul_scalar(3.0)?.sum()?.backward()?;
    assert_eq!(vals(&x.grad().unwrap()), vec![6.0, 6.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    Ok(())
}

#[test]
fn non_scalar_root_needs_an_explicit_gradient() -> Result<()> {
    let x = leaf(&[1.0, 2.0, 3.0], &[3]);
    let y = x.square()?;
    let err = y.backward().unwrap_err();
    assert!(err.to_string().contains("scalar outputs"), "{err}");
    y.backward_with(&t(&[1.0, 0.5, 0.0], &[3]))?;
    assert_eq!(vals(&x.grad().unwrap()), vec![2.0, 2.0, 0.0]);
    Ok(())
}

#[test]
fn no_grad_regions_record_nothing() -> Result<()> {
    let x = leaf(&[1.0], &[1]);
    let y = no_grad(|| x.exp())?;
    assert!(!y.requires_grad() && y.is_leaf());
    {
        let _g = NoGradGuard::new();
        assert!(!x.mul_scalar(2.0)?.requires_grad());
    }
    assert!(x.mul_scalar(2.0)?.requires_grad(), "the guard restores recording");
    assert!(y.backward().is_err());
    Ok(())
}

#[test]
fn detach_cuts_the_graph_and_shares_storage() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    let d = x.exp()?.detach();
    assert!(!d.requires_grad());
    let y = x.mul(&d)?.sum()?; // d is a constant
    y.backward()?;
    assert_eq!(vals(&x.grad().unwrap()), vec![1f64.exp(), 2f64.exp()]);
    let e = x.detach();
    assert!(e.shares_storage(&x));
    Ok(())
}

#[test]
fn hooks_see_and_can_replace_gradients() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    x.register_hook(move |g| {
        c.fetch_add(1, Ordering::SeqCst);
        Ok(Some(g.mul_scalar(10.0)?))
    });
    let h = x.mul_scalar(2.0)?;
    h.register_hook(|g| {
        assert_eq!(g.to_f64_vec()?, vec![1.0, 1.0]);
        Ok(None)
    });
    h.sum()?.backward()?;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(vals(&x.grad().unwrap()), vec![20.0, 20.0]);
    Ok(())
}

#[test]
fn second_backward_needs_retain_graph() -> Result<()> {
    let x = leaf(&[1.0], &[1]);
    let y = x.exp()?.sum()?;
    let one = Tensor::ones_like(&y)?;
    y.backward_opts(&one, true, false)?;
    y.backward_opts(&one, true, false)?; // retained twice
    assert!((vals(&x.grad().unwrap())[0] - 2.0 * 1f64.exp()).abs() < 1e-12);
    y.backward()?; // frees
    let err = y.backward().unwrap_err();
    assert!(err.to_string().contains("second time"), "{err}");
    Ok(())
}

#[test]
fn modifying_a_saved_tensor_in_place_is_an_error_naming_the_op() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.mul_scalar(1.0)?; // non-leaf
    let z = y.exp()?; // saves its output
    let w = y.sin()?; // saves y
    y.add_scalar_(1.0)?;
    let err = w.sum()?.backward().unwrap_err();
    assert!(matches!(err, Error::Autograd { .. }));
    assert!(err.to_string().contains("modified by an inplace operation") && err.to_string().contains("Sin"), "{err}");
    // z's output was not modified, and add/exp do not need y's old value: fine.
    z.sum()?.backward()?;
    Ok(())
}

#[test]
fn in_place_on_a_leaf_requiring_grad_is_refused_but_allowed_under_no_grad() -> Result<()> {
    let x = leaf(&[1.0], &[1]);
    assert!(x.add_scalar_(1.0).is_err());
    no_grad(|| x.add_scalar_(1.0))?;
    assert_eq!(vals(&x), vec![2.0]);
    assert!(x.version() > 0);
    Ok(())
}

#[test]
fn in_place_ops_on_non_leaves_are_differentiated() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.mul_scalar(2.0)?;
    y.mul_scalar_(3.0)?;
    y.add_(&x)?;
    y.sum()?.backward()?; // y = 6x + x
    assert_eq!(vals(&x.grad().unwrap()), vec![7.0, 7.0]);
    Ok(())
}

#[test]
fn autograd_grad_without_and_with_create_graph() -> Result<()> {
    let x = leaf(&[1.5], &[1]);
    let y = x.pow(3.0)?.sum()?;
    let g = autograd::grad(&[&y], &[&x], true)?; // 3x^2
    assert!((vals(&g[0])[0] - 6.75).abs() < 1e-12);
    assert!(x.grad().is_none(), "grad() does not touch .grad");
    let h = autograd::grad(&[&g[0].sum()?], &[&x], false)?; // 6x
    assert!((vals(&h[0])[0] - 9.0).abs() < 1e-12);
    let y2 = x.exp()?.sum()?;
    let g2 = autograd::grad(&[&y2], &[&x], false)?;
    assert!(!g2[0].requires_grad());
    Ok(())
}

#[test]
fn hessian_vector_product_and_gradient_penalty() -> Result<()> {
    // f(x) = sum(x^2 * y), Hv = 2 y * v
    let x = leaf(&[1.0, -2.0, 0.5], &[3]);
    let y = t(&[3.0, 1.0, 2.0], &[3]);
    let f = x.square()?.mul(&y)?.sum()?;
    let g = autograd::grad(&[&f], &[&x], true)?.remove(0);
    let v = t(&[1.0, 0.0, -1.0], &[3]);
    let hv = autograd::grad(&[&g.mul(&v)?.sum()?], &[&x], false)?.remove(0);
    assert_eq!(vals(&hv), vec![6.0, 0.0, -4.0]);
    // gradient penalty: ||df/dx||^2 backpropagated into x
    let g = autograd::grad(&[&f], &[&x], true)?.remove(0);
    g.square()?.sum()?.backward()?; // d/dx sum((2xy)^2) = 8 x y^2
    assert_eq!(vals(&x.grad().unwrap()), vec![72.0, -16.0, 16.0]);
    Ok(())
}

#[test]
fn grad_reports_unused_inputs_unless_allowed() -> Result<()> {
    let x = leaf(&[1.0], &[1]);
    let z = leaf(&[1.0], &[1]);
    let y = x.exp()?.sum()?;
    assert!(autograd::grad_with(&[&y], &[&z], GradOptions { retain_graph: true, ..Default::default() }).is_err());
    let g = autograd::grad_with(&[&y], &[&z], GradOptions { allow_unused: true, ..Default::default() })?;
    assert_eq!(vals(&g[0]), vec![0.0]);
    Ok(())
}

#[test]
fn integer_and_comparison_results_carry_no_graph() -> Result<()> {
    let x = leaf(&[1.0, -1.0], &[2]);
    assert!(!x.gt_scalar(0.0)?.requires_grad());
    assert!(!x.argmax(0, false)?.requires_grad());
    assert!(!x.to_dtype(DType::I64)?.requires_grad());
    assert!(Tensor::from_slice(&[1i64], &[1])?.set_requires_grad(true).is_err());
    Ok(())
}

#[test]
fn checkpoint_recomputes_and_matches_plain_gradients() -> Result<()> {
    ember_core::manual_seed(3);
    let x = Tensor::randn(&[4, 5], DType::F64)?.set_requires_grad(true)?;
    let w = Tensor::randn(&[5, 3], DType::F64)?.set_requires_grad(true)?;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let seg = move |xs: &[Tensor]| -> Result<Tensor> {
        c.fetch_add(1, Ordering::SeqCst);
        xs[0].matmul(&xs[1])?.tanh()?.exp()
    };
    let out = autograd::checkpoint(seg.clone(), &[x.clone(), w.clone()])?;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The checkpointed output keeps only the inputs: no intermediate node in its graph.
    let kinds = autograd::graph_op_kinds(&out)?;
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec!["Checkpoint".to_string()]);
    out.sum()?.backward()?;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "backward recomputed the segment once");
    let (gx, gw) = (x.grad().unwrap(), w.grad().unwrap());
    x.zero_grad();
    w.zero_grad();
    seg(&[x.clone(), w.clone()])?.sum()?.backward()?;
    assert_eq!(vals(&gx), vals(&x.grad().unwrap()));
    assert_eq!(vals(&gw), vals(&w.grad().unwrap()));
    Ok(())
}

#[test]
fn tensors_cross_threads() -> Result<()> {
    let w = Tensor::randn(&[8, 8], DType::F32)?;
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let w = w.clone();
            std::thread::spawn(move || w.mul_scalar(i as f64).and_then(|t| t.sum()).map(|s| s.item::<f32>().unwrap()))
        })
        .collect();
    let sum = w.sum()?.item::<f32>()?;
    for (i, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap()?;
        assert!((got - sum * i as f32).abs() < 1e-3);
    }
    Ok(())
}

#[test]
fn weight_used_transposed_gets_a_contiguous_gradient_of_the_right_value() -> Result<()> {
    // `x @ w.t()` as in Linear: PyTorch's `.grad` is contiguous like its parameter, and here
    // it comes out of the GEMM that way rather than through a copy.
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let w = leaf(&[0.5, -1.0, 2.0, 1.5, 0.0, -0.5, 1.0, 1.0, 1.0, 2.0, -2.0, 0.25], &[4, 3]);
    let g = t(&[1.0, 0.0, -1.0, 2.0, 0.5, 1.0, 3.0, -2.0], &[2, 4]);
    // A hook sees the gradient as backward produced it, before `.grad` stores it.
    let produced_contiguous = Arc::new(AtomicUsize::new(0));
    let seen = produced_contiguous.clone();
    w.register_hook(move |gw| {
        seen.store(1 + gw.is_contiguous() as usize, Ordering::SeqCst);
        Ok(None)
    });
    x.matmul(&w.t()?)?.mul(&g)?.sum()?.backward()?;
    assert_eq!(produced_contiguous.load(Ordering::SeqCst), 2, "backward produced a strided gradient");
    let grad = w.grad().unwrap();
    assert!(grad.is_contiguous(), "strides {:?}", grad.strides());
    // d/dW sum(G * (X W^T)) = G^T X, by hand.
    let mut want = vec![0.0; 12];
    for o in 0..4 {
        for i in 0..3 {
            want[o * 3 + i] = (0..2).map(|b| vals(&g)[b * 4 + o] * vals(&x)[b * 3 + i]).sum();
        }
    }
    assert_eq!(vals(&grad), want);
    Ok(())
}

/// `autograd::grad` with respect to an intermediate (non-leaf) tensor, as PyTorch allows
/// (saliency maps, gradient penalties on activations).
#[test]
fn grad_with_respect_to_a_non_leaf() -> Result<()> {
    let x = leaf(&[1.0, 2.0], &[2]);
    let w = x.mul_scalar(2.0)?; // [2, 4]
    let y = w.mul(&w)?.mul(&w)?.sum()?; // sum w^3
    let g = autograd::grad(&[&y], &[&w, &x], false)?;
    assert_eq!(vals(&g[0]), vec![12.0, 48.0]); // 3 w^2
    assert_eq!(vals(&g[1]), vec![24.0, 96.0]); // 3 w^2 * 2
    Ok(())
}

/// An in-place op whose gradient needs the old value (`x *= y` differentiates to the old `x`
/// for `y`): PyTorch keeps the original; the write must not invalidate it.
#[test]
fn in_place_ops_keep_the_old_value_their_gradient_needs() -> Result<()> {
    let a = leaf(&[1.0, 2.0], &[2]);
    let y = leaf(&[3.0, 4.0], &[2]);
    let x = a.mul_scalar(1.0)?;
    x.mul_(&y)?;
    x.sum()?.backward()?;
    assert_eq!(vals(&a.grad().unwrap()), vec![3.0, 4.0]);
    assert_eq!(vals(&y.grad().unwrap()), vec![1.0, 2.0]);
    // Unary ops in place save their input too: d sin(x) = cos(old x).
    let b = leaf(&[0.5], &[1]);
    let z = b.mul_scalar(1.0)?;
    z.update_("sin_", &[], |s| s.sin())?;
    z.sum()?.backward()?;
    assert!((vals(&b.grad().unwrap())[0] - 0.5f64.cos()).abs() < 1e-12);
    Ok(())
}

#[test]
fn reaches_leaf_other_than_sees_every_leaf_but_the_excluded() -> Result<()> {
    // Forward-mode AD asks whether a graph reaches a leaf besides its dual inputs.
    let (d, w) = (leaf(&[1.0, 2.0], &[2]), leaf(&[0.5, -1.0], &[2]));
    let plain = t(&[3.0, 4.0], &[2]);
    let y = d.sin()?.mul(&plain)?;
    assert!(!autograd::reaches_leaf_other_than(&y, &[&d])?);
    let z = y.mul(&w)?.exp()?;
    assert!(autograd::reaches_leaf_other_than(&z, &[&d])?);
    assert!(!autograd::reaches_leaf_other_than(&z, &[&d, &w])?);
    assert!(autograd::reaches_leaf_other_than(&y, &[])?);
    Ok(())
}
