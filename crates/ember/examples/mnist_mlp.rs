//! Trains a 784-256-10 MLP on the bundled MNIST and prints loss and test accuracy per epoch.
//! `cargo run --release --example mnist_mlp [epochs]`

use ember::data::{datasets::Mnist, DataLoader, DataLoaderConfig};
use ember::nn::{self, functional as F, Forward, Module};
use ember::optim::{Adam, AdamConfig, Optimizer};
use ember::{no_grad, Result, Tensor};

#[derive(nn::Module)]
struct Mlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Forward for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc1.forward(&x.flatten(1, -1)?)?.relu()?;
        self.fc2.forward(&h)
    }
}

fn main() -> Result<()> {
    let epochs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    ember::manual_seed(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let train = Mnist::load(dir, true)?.dataset(true)?;
    let (test_x, test_y) = Mnist::load(dir, false)?.to_tensors(true)?;
    let model = Mlp { fc1: nn::Linear::new(784, 256, true)?, fc2: nn::Linear::new(256, 10, true)? };
    let mut opt = Adam::new(model.parameters(), AdamConfig { lr: 1e-3, ..Default::default() })?;
    let mut loader =
        DataLoader::new(train, DataLoaderConfig { batch_size: 64, shuffle: true, seed: 0, ..Default::default() })?;
    for epoch in 1..=epochs {
        let (mut total, mut n) = (0.0, 0);
        for batch in loader.iter() {
            let b = batch?;
            let loss = F::cross_entropy(&model.forward(&b[0])?, &b[1])?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
            total += loss.item::<f32>()? as f64;
            n += 1;
        }
        let acc = no_grad(|| -> Result<f64> {
            let pred = model.forward(&test_x)?.argmax(1, false)?;
            pred.eq(&test_y)?.to_dtype(ember::DType::F64)?.mean()?.item::<f64>()
        })?;
        println!("epoch {epoch}: train loss {:.4}, test accuracy {:.2}%", total / n as f64, acc * 100.0);
    }
    Ok(())
}
