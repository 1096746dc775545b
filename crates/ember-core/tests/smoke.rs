use ember_core::{DType, Tensor};

#[test]
fn smoke() -> ember_core::Result<()> {
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    let b = (&a + 1.0)?;
    println!("{b}");
    let c = a.matmul(&b)?;
    println!("{c}");
    let w = Tensor::randn(&[3, 2], DType::F32)?.set_requires_grad(true)?;
    let x = Tensor::ones(&[4, 3], DType::F32)?;
    let loss = x.matmul(&w)?.relu()?.sum()?;
    loss.backward()?;
    println!("{}", w.grad().unwrap());
    println!("{}", Tensor::arange(0.0, 2000.0, 1.0, DType::F32)?.reshape(&[40, 50])?);
    println!("{}", Tensor::from_vec(vec![0.1f64, 1e-5, 3.0], &[3])?);
    let e = Tensor::zeros(&[2, 3], DType::F32)?.matmul(&Tensor::zeros(&[4, 5], DType::F32)?).unwrap_err();
    println!("{e}");
    Ok(())
}
