//! In-place arithmetic (one-pass fast path and general path agree, versions bump, views and
//! broadcasts fall back correctly) and tensors over caller-provided buffers (`from_buf`).

use ember_core::{Buf, DType, Result, Tensor};

fn f32s(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn fast_in_place_updates_match_the_out_of_place_ops() -> Result<()> {
    let a: Vec<f32> = (0..300_000).map(|i| (i % 97) as f32 * 0.5 - 7.0).collect();
    let b: Vec<f32> = (0..300_000).map(|i| (i % 13) as f32 + 1.0).collect();
    let (x, y) = (f32s(&a, &[600, 500]), f32s(&b, &[600, 500]));
    let want_axpy = x.add(&y.mul_scalar(-0.25)?)?.to_vec::<f32>()?;
    let want_mul = x.mul(&y)?.to_vec::<f32>()?;
    let want_div = x.div(&y)?.to_vec::<f32>()?;
    let v0 = x.version();
    let t = x.deep_clone()?;
    t.add_scaled_(&y, -0.25)?;
    assert_eq!(t.to_vec::<f32>()?, want_axpy);
    let t = x.deep_clone()?;
    t.mul_(&y)?;
    assert_eq!(t.to_vec::<f32>()?, want_mul);
    let t = x.deep_clone()?;
    t.div_(&y)?;
    assert_eq!(t.to_vec::<f32>()?, want_div);
    let t = x.deep_clone()?;
    t.mul_scalar_(3.0)?;
    t.add_scalar_(1.0)?;
    assert_eq!(t.to_vec::<f32>()?, x.mul_scalar(3.0)?.add_scalar(1.0)?.to_vec::<f32>()?);
    x.add_(&y)?;
    assert!(x.version() > v0, "an in-place write bumps the version");
    Ok(())
}

#[test]
fn in_place_on_views_broadcasts_and_self_aliases_is_correct() -> Result<()> {
    // A non-contiguous destination, a broadcast source and `x += x` take the general path.
    let x = f32s(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let col = x.narrow(1, 1, 1)?;
    col.add_scalar_(10.0)?;
    assert_eq!(x.to_vec::<f32>()?, vec![1., 12., 3., 4., 15., 6.]);
    x.add_(&f32s(&[100., 200., 300.], &[3]))?;
    assert_eq!(x.to_vec::<f32>()?, vec![101., 212., 303., 104., 215., 306.]);
    x.add_(&x)?;
    assert_eq!(x.to_vec::<f32>()?, vec![202., 424., 606., 208., 430., 612.]);
    let y = f32s(&[1., 2.], &[2]);
    y.binary_op_(&Tensor::scalar(0.5f64), ember_core::op::BinaryOp::Mul)?;
    assert_eq!(y.to_vec::<f32>()?, vec![0.5, 1.0]);
    assert_eq!(y.dtype(), DType::F32);
    Ok(())
}

#[test]
fn a_diagonal_is_a_view_that_writes_through() -> Result<()> {
    // torch.diagonal returns a view: `A.diagonal().fill_(v)` and `.add_(eps)` edit A.
    let a = Tensor::zeros(&[3, 4], DType::F32)?;
    a.diagonal(1, 0, 1)?.fill_(7.0)?;
    assert_eq!(a.to_vec::<f32>()?, vec![0., 7., 0., 0., 0., 0., 7., 0., 0., 0., 0., 7.]);
    // Below the main diagonal of a transposed (non-contiguous) batch.
    let b = Tensor::zeros(&[2, 3, 3], DType::F32)?;
    b.transpose(1, 2)?.diagonal(-1, -2, -1)?.add_scalar_(1.0)?;
    let want_plane = [0., 1., 0., 0., 0., 1., 0., 0., 0.];
    assert_eq!(b.to_vec::<f32>()?, [want_plane, want_plane].concat());
    Ok(())
}

#[test]
fn from_buf_views_a_buffer_and_checks_bounds() -> Result<()> {
    let t = Tensor::from_buf(Buf::owned(vec![0f32, 1., 2., 3., 4., 5.]), &[2, 2], &[1, 3], 1)?;
    assert_eq!(t.to_vec::<f32>()?, vec![1., 4., 2., 5.]);
    let e = Tensor::from_buf(Buf::owned(vec![0f32; 6]), &[2, 3], &[3, 1], 1).unwrap_err();
    assert!(e.to_string().contains("reaches element 6"), "{e}");
    assert!(Tensor::from_buf(Buf::owned(vec![0f32; 6]), &[2, 3], &[1], 0).is_err());
    assert!(Tensor::from_buf(Buf::owned(vec![0f32; 6]), &[usize::MAX, 2], &[1, 1], 0).is_err());
    let empty = Tensor::from_buf(Buf::owned(Vec::<f32>::new()), &[0, 3], &[3, 1], 0)?;
    assert_eq!(empty.shape(), &[0, 3]);
    Ok(())
}

#[test]
fn scalar_operands_of_any_dtype_update_in_place() -> Result<()> {
    let x = f32s(&[1., 2.], &[2]);
    x.binary_op_(&Tensor::scalar(3i64), ember_core::op::BinaryOp::Add)?;
    x.binary_op_(&Tensor::full(&[], 2.0, DType::F32)?, ember_core::op::BinaryOp::Mul)?;
    x.binary_op_(&Tensor::scalar(1.0f64), ember_core::op::BinaryOp::Sub)?;
    x.add_scaled_(&Tensor::scalar(2.0f64), 0.5)?;
    assert_eq!(x.to_vec::<f32>()?, vec![8., 10.]);
    // An integer destination keeps its dtype through the general path.
    let i = Tensor::from_vec(vec![1i64, 2], &[2])?;
    i.binary_op_(&Tensor::scalar(2i64), ember_core::op::BinaryOp::Mul)?;
    assert_eq!(i.to_vec::<i64>()?, vec![2, 4]);
    Ok(())
}

/// An in-place op whose gradient reads its output (relu, exp, sigmoid, tanh) on a tensor in the
/// graph: the temporary it was computed into is gone after the write, so the rule must read the
/// tensor that now holds the value (found by a DCGAN generator with `ReLU(inplace=True)`).
#[test]
fn in_place_ops_whose_gradient_reads_the_output_backpropagate() -> Result<()> {
    for op in ["relu", "exp", "sigmoid", "tanh"] {
        let x = f32s(&[-1.5, 0.5, 2.0], &[3]).set_requires_grad(true)?;
        let y = x.mul_scalar(2.0)?;
        y.update_("unary_", &[], |s| match op {
            "relu" => s.relu(),
            "exp" => s.exp(),
            "sigmoid" => s.sigmoid(),
            _ => s.tanh(),
        })?;
        y.mul_scalar(3.0)?.sum()?.backward()?;
        let got = x.grad().unwrap().to_vec::<f32>()?;
        let want: Vec<f32> = [-1.5f32, 0.5, 2.0]
            .iter()
            .map(|&v| {
                let u = 2.0 * v;
                6.0 * match op {
                    "relu" => f32::from(u > 0.0),
                    "exp" => u.exp(),
                    "sigmoid" => (1.0 / (1.0 + (-u).exp())) * (1.0 - 1.0 / (1.0 + (-u).exp())),
                    _ => 1.0 - u.tanh() * u.tanh(),
                }
            })
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{op}: {got:?} vs {want:?}");
        }
    }
    Ok(())
}
