//! Trains a LeNet-style CNN on the bundled MNIST and prints loss and test accuracy per epoch.
//! `cargo run --release --example mnist_cnn [epochs]`

use ember::data::{datasets::Mnist, DataLoader, DataLoaderConfig};
use ember::nn::{self, functional as F, ConvOptions, Forward, Module};
use ember::optim::{Adam, AdamConfig, Optimizer};
use ember::{no_grad, Result, Tensor};

#[derive(nn::Module)]
struct LeNet {
    conv1: nn::Conv2d,
    conv2: nn::Conv2d,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl LeNet {
    fn new() -> Result<LeNet> {
        let pad = ConvOptions { padding: 2, ..Default::default() };
        Ok(LeNet {
            conv1: nn::Conv2d::new(1, 32, 5, pad)?,
            conv2: nn::Conv2d::new(32, 64, 5, pad)?,
            fc1: nn::Linear::new(64 * 7 * 7, 256, true)?,
            fc2: nn::Linear::new(256, 10, true)?,
        })
    }
}

impl Forward for LeNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = F::max_pool2d(&self.conv1.forward(x)?.relu()?, (2, 2), (2, 2), (0, 0), (1, 1))?; // [N, 32, 14, 14]
        let h = F::max_pool2d(&self.conv2.forward(&h)?.relu()?, (2, 2), (2, 2), (0, 0), (1, 1))?; // [N, 64, 7, 7]
        let h = self.fc1.forward(&h.flatten(1, -1)?)?.relu()?;
        self.fc2.forward(&h)
    }
}

fn main() -> Result<()> {
    let epochs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    ember::manual_seed(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let train = Mnist::load(dir, true)?.dataset(true)?;
    let (test_x, test_y) = Mnist::load(dir, false)?.to_tensors(true)?;
    let model = LeNet::new()?;
    let mut opt = Adam::new(model.parameters(), AdamConfig { lr: 1e-3, ..Default::default() })?;
    let mut loader = DataLoader::new(
        train,
        DataLoaderConfig { batch_size: 64, shuffle: true, seed: 0, num_workers: 1, ..Default::default() },
    )?;
    for epoch in 1..=epochs {
        let start = std::time::Instant::now();
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
            let mut correct = 0.0;
            for i in (0..test_y.numel()).step_by(1000) {
                let x = test_x.narrow(0, i, 1000)?;
                let pred = model.forward(&x)?.argmax(1, false)?;
                correct += pred.eq(&test_y.narrow(0, i, 1000)?)?.to_dtype(ember::DType::F64)?.sum()?.item::<f64>()?;
            }
            Ok(correct / test_y.numel() as f64)
        })?;
        println!(
            "epoch {epoch}: train loss {:.4}, test accuracy {:.2}% ({:.0} s)",
            total / n as f64,
            acc * 100.0,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
