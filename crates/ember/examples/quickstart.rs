//! Quickstart: tensors, broadcasting, autograd and a few steps of gradient descent fitting a
//! line, all on the CPU. Run with `cargo run --release --example quickstart`.

use ember::{DType, Tensor};

fn main() -> ember::Result<()> {
    ember::manual_seed(0);
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    let b = Tensor::ones(&[2], DType::F32)?;
    println!("a + b (broadcast) =\n{}", (&a + &b)?);
    println!("a @ a^T =\n{}", a.matmul(&a.t()?)?);

    // Fit y = 3x + 2 by gradient descent.
    let x = Tensor::linspace(-1.0, 1.0, 64, DType::F32)?.reshape(&[64, 1])?;
    let y = (x.mul_scalar(3.0)? + 2.0)?;
    let w = Tensor::zeros(&[1, 1], DType::F32)?.set_requires_grad(true)?;
    let c = Tensor::zeros(&[1], DType::F32)?.set_requires_grad(true)?;
    for step in 0..200 {
        let pred = (x.matmul(&w)? + &c)?;
        let loss = (&pred - &y)?.square()?.mean()?;
        loss.backward()?;
        ember::no_grad(|| -> ember::Result<()> {
            for p in [&w, &c] {
                let g = p.grad().expect("backward filled the gradient");
                p.sub_(&g.mul_scalar(0.1)?)?;
                p.zero_grad();
            }
            Ok(())
        })?;
        if step % 50 == 0 {
            println!("step {step:3}: loss {:.6}", loss.item::<f32>()?);
        }
    }
    println!("w = {:.4} (want 3), c = {:.4} (want 2)", w.item::<f32>()?, c.item::<f32>()?);
    Ok(())
}
