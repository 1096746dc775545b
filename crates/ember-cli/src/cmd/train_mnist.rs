//! `ember train mnist`: an MLP (784-512-512-10) or a LeNet-style CNN on MNIST or
//! Fashion-MNIST, with Adam, printing the loss and test accuracy of every epoch.

use super::interrupted;
use crate::progress::{plot, Progress};
use ember::data::{datasets::Mnist, DataLoader, DataLoaderConfig, Dataset};
use ember::nn::{self, functional as F, ConvOptions, Forward, Module};
use ember::optim::{Adam, AdamConfig, Optimizer};
use ember::{no_grad, DType, Error, Result, Tensor};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Arch {
    Mlp,
    Cnn,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
}

#[derive(clap::Args, Debug)]
pub struct MnistArgs {
    #[arg(long, value_enum, default_value_t = Arch::Mlp)]
    pub arch: Arch,
    #[arg(long, value_enum, default_value_t = DatasetName::Mnist)]
    pub dataset: DatasetName,
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Folder with the IDX files (default: the bundled copy).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use only the first N training images (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Background threads preparing batches.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Write the loss curve to this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print the final metrics as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(nn::Module)]
struct Mlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
    fc3: nn::Linear,
}

impl Forward for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc1.forward(&x.flatten(1, -1)?)?.relu()?;
        let h = self.fc2.forward(&h)?.relu()?;
        self.fc3.forward(&h)
    }
}

#[derive(nn::Module)]
struct LeNet {
    conv1: nn::Conv2d,
    conv2: nn::Conv2d,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Forward for LeNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = F::max_pool2d(&self.conv1.forward(x)?.relu()?, (2, 2), (2, 2), (0, 0), (1, 1))?; // [N, 32, 14, 14]
        let h = F::max_pool2d(&self.conv2.forward(&h)?.relu()?, (2, 2), (2, 2), (0, 0), (1, 1))?; // [N, 64, 7, 7]
        self.fc2.forward(&self.fc1.forward(&h.flatten(1, -1)?)?.relu()?)
    }
}

trait Model: Module + Forward {}
impl<T: Module + Forward> Model for T {}

fn build(arch: Arch) -> Result<Box<dyn Model>> {
    Ok(match arch {
        Arch::Mlp => Box::new(Mlp {
            fc1: nn::Linear::new(784, 512, true)?,
            fc2: nn::Linear::new(512, 512, true)?,
            fc3: nn::Linear::new(512, 10, true)?,
        }),
        Arch::Cnn => {
            let pad = ConvOptions { padding: 2, ..Default::default() };
            Box::new(LeNet {
                conv1: nn::Conv2d::new(1, 32, 5, pad)?,
                conv2: nn::Conv2d::new(32, 64, 5, pad)?,
                fc1: nn::Linear::new(64 * 7 * 7, 256, true)?,
                fc2: nn::Linear::new(256, 10, true)?,
            })
        }
    })
}

fn accuracy(model: &dyn Model, x: &Tensor, y: &Tensor) -> Result<f64> {
    no_grad(|| {
        let mut correct = 0.0;
        let n = y.numel();
        for start in (0..n).step_by(1000) {
            let len = 1000.min(n - start);
            let pred = model.forward(&x.narrow(0, start, len)?)?.argmax(1, false)?;
            correct += pred.eq(&y.narrow(0, start, len)?)?.to_dtype(DType::F64)?.sum()?.item::<f64>()?;
        }
        Ok(correct / n as f64)
    })
}

pub fn run(a: MnistArgs, seed: u64) -> Result<()> {
    if a.epochs == 0 || a.batch == 0 {
        return Err(Error::value("train mnist", "--epochs and --batch must be positive"));
    }
    let dir = a.data_dir.clone().unwrap_or_else(|| {
        PathBuf::from(if a.dataset == DatasetName::Mnist { "data/mnist" } else { "data/fashion-mnist" })
    });
    let start = Instant::now();
    let train = Mnist::load(&dir, true)?;
    let (mut x, mut y) = train.to_tensors(true)?;
    if let Some(n) = a.limit {
        let n = n.clamp(1, y.numel());
        x = x.narrow(0, 0, n)?;
        y = y.narrow(0, 0, n)?;
    }
    let (tx, ty) = Mnist::load(&dir, false)?.to_tensors(true)?;
    let model = build(a.arch)?;
    let mut opt = Adam::new(model.parameters(), AdamConfig { lr: a.lr, ..Default::default() })?;
    let dataset = ember::data::TensorDataset::new(vec![x, y])?;
    let mut loader = DataLoader::new(
        dataset,
        DataLoaderConfig { batch_size: a.batch, shuffle: true, seed, num_workers: a.workers, ..Default::default() },
    )?;
    eprintln!(
        "{:?} on {:?}: {} parameters, {} training images, {} batches per epoch",
        a.arch,
        a.dataset,
        model.num_parameters(),
        loader.dataset().len(),
        loader.len()
    );
    let stop = interrupted();
    let mut curve = Vec::new();
    let (mut last_loss, mut acc) = (f64::NAN, f64::NAN);
    for epoch in 1..=a.epochs {
        let progress = Progress::new(loader.len() as u64, &format!("epoch {epoch}"));
        let (mut total, mut n) = (0.0, 0u64);
        let t0 = Instant::now();
        for batch in loader.iter() {
            let b = batch?;
            let loss = F::cross_entropy(&model.forward(&b[0])?, &b[1])?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
            let l = loss.item::<f32>()? as f64;
            total += l;
            n += 1;
            curve.push(((epoch - 1) as f64 + n as f64 / loader.len() as f64, l));
            let sps = (n as usize * a.batch) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
            progress.step(n, || format!("loss {:.4} {sps:.0} samples/s", total / n as f64));
            if stop.load(Ordering::SeqCst) {
                progress.finish();
                eprintln!("interrupted");
                std::process::exit(130);
            }
        }
        progress.finish();
        last_loss = total / n.max(1) as f64;
        acc = accuracy(model.as_ref(), &tx, &ty)?;
        println!(
            "epoch {epoch}: train loss {last_loss:.4}, test accuracy {:.2}% ({:.0} s)",
            acc * 100.0,
            t0.elapsed().as_secs_f64()
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    if let Some(p) = &a.plot {
        plot(&p.display().to_string(), "MNIST: training loss", &[("train (per batch)", &curve)])?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({"test_accuracy": acc, "train_loss": last_loss, "epochs": a.epochs, "seconds": seconds})
        );
    }
    Ok(())
}
