//! End to end: an MLP trained on the bundled MNIST reaches at least 97% test accuracy in two
//! epochs (fixed seed), through Module, DataLoader, cross_entropy and Adam.

use ember::data::{datasets::Mnist, DataLoader, DataLoaderConfig};
use ember::nn::{self, functional as F, Forward, Module};
use ember::optim::{Adam, AdamConfig, Optimizer};
use ember::{no_grad, DType, Result, Tensor};

#[derive(nn::Module)]
struct Mlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Forward for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(&x.flatten(1, -1)?)?.relu()?)
    }
}

#[test]
fn mlp_reaches_97_percent_on_mnist_in_two_epochs() -> Result<()> {
    ember::manual_seed(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let train = Mnist::load(dir, true)?.dataset(true)?;
    let (tx, ty) = Mnist::load(dir, false)?.to_tensors(true)?;
    let model = Mlp { fc1: nn::Linear::new(784, 256, true)?, fc2: nn::Linear::new(256, 10, true)? };
    let mut opt = Adam::new(model.parameters(), AdamConfig::default())?;
    let mut loader = DataLoader::new(
        train,
        DataLoaderConfig { batch_size: 64, shuffle: true, num_workers: 1, ..Default::default() },
    )?;
    for _ in 0..2 {
        for b in loader.iter() {
            let b = b?;
            let loss = F::cross_entropy(&model.forward(&b[0])?, &b[1])?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
        }
    }
    let acc = no_grad(|| model.forward(&tx)?.argmax(1, false)?.eq(&ty)?.to_dtype(DType::F64)?.mean()?.item::<f64>())?;
    assert!(acc >= 0.97, "test accuracy {acc}");
    Ok(())
}
