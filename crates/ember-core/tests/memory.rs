//! A training loop's live tensor memory stays flat. Alone in its own test binary because it
//! reads the process-wide live-bytes counter, which other tests would disturb.

use ember_core::{no_grad, DType, Result, Tensor};

#[test]
fn training_loop_memory_stays_flat() -> Result<()> {
    // An MLP-sized graph, 1000 forward/backward/update steps: live tensor bytes must not grow.
    ember_core::manual_seed(0);
    let w1 = Tensor::randn(&[32, 64], DType::F32)?.mul_scalar(0.1)?.set_requires_grad(true)?;
    let w2 = Tensor::randn(&[64, 10], DType::F32)?.mul_scalar(0.1)?.set_requires_grad(true)?;
    let x = Tensor::randn(&[16, 32], DType::F32)?;
    let y = Tensor::randint(0, 10, &[16], DType::I64)?;
    let mut after_warmup = 0;
    for step in 0..1000 {
        let logits = x.matmul(&w1)?.relu()?.matmul(&w2)?;
        let logp = logits.log_softmax(1)?;
        let loss = logp.gather(1, &y.unsqueeze(1)?)?.mean()?.neg()?;
        loss.backward()?;
        no_grad(|| -> Result<()> {
            for w in [&w1, &w2] {
                w.sub_(&w.grad().unwrap().mul_scalar(0.01)?)?;
                w.zero_grad();
            }
            Ok(())
        })?;
        if step == 10 {
            after_warmup = ember_core::live_bytes();
        }
    }
    let end = ember_core::live_bytes();
    assert!(end <= after_warmup, "live bytes grew from {after_warmup} to {end}");
    Ok(())
}
