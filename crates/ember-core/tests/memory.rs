//! A training loop's live tensor memory stays flat. Alone in its own test binary because it
//! reads the process-wide live-bytes counter, which other tests would disturb (the tests here
//! take turns).

use ember_core::{no_grad, DType, Result, Tensor};
use std::sync::Mutex;

/// The tests here read a process-wide counter: they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn training_loop_memory_stays_flat() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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

#[test]
fn the_graph_keeps_only_what_backward_reads() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // softmax(a @ b * s + 1): the rules for mul_scalar, add_scalar and softmax read nothing but
    // softmax's output, so the three [512, 512] intermediates before it are freed after the
    // forward pass; the graph then holds one [512, 512] buffer (1 MiB), not four.
    ember_core::manual_seed(1);
    let a = Tensor::randn(&[512, 64], DType::F32).unwrap().set_requires_grad(true).unwrap();
    let b = Tensor::randn(&[64, 512], DType::F32).unwrap().set_requires_grad(true).unwrap();
    let before = ember_core::live_bytes();
    let loss =
        a.matmul(&b).unwrap().mul_scalar(0.125).unwrap().add_scalar(1.0).unwrap().softmax(-1).unwrap().sum().unwrap();
    let held = ember_core::live_bytes() - before;
    assert!(held < (1 << 20) + (1 << 18), "the graph holds {held} bytes");
    loss.backward().unwrap();
    assert_eq!(a.grad().unwrap().shape(), &[512, 64]);
}
