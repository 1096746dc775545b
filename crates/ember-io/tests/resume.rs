//! Resuming from a training checkpoint continues bit for bit: 20 steps straight equal 10
//! steps, save, load into fresh objects, 10 more (model, AdamW state, step and RNG state, with
//! dropout and random batches drawing from the global generator).

use ember_core::{rng, DType, Result, Tensor};
use ember_io::{load_checkpoint, save_checkpoint, TrainingCheckpoint};
use ember_nn::{functional as F, Dropout, Forward, Linear, Module};
use ember_optim::{AdamW, AdamWConfig, Optimizer};

#[derive(ember_nn::Module)]
#[module(crate = "ember_nn")]
struct Net {
    a: Linear,
    drop: Dropout,
    b: Linear,
}

impl Forward for Net {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.b.forward(&self.drop.forward(&self.a.forward(x)?.gelu()?)?)
    }
}

fn fresh(seed: u64) -> (Net, AdamW) {
    rng::manual_seed(seed);
    let net = Net {
        a: Linear::new(6, 16, true).unwrap(),
        drop: Dropout::new(0.2).unwrap(),
        b: Linear::new(16, 3, true).unwrap(),
    };
    let opt = AdamW::new(net.parameters(), AdamWConfig { lr: 3e-3, ..Default::default() }).unwrap();
    (net, opt)
}

fn train(net: &Net, opt: &mut AdamW, steps: usize) {
    for _ in 0..steps {
        let x = Tensor::randn(&[8, 6], DType::F32).unwrap();
        let y = Tensor::randint(0, 3, &[8], DType::I64).unwrap();
        let loss = F::cross_entropy(&net.forward(&x).unwrap(), &y).unwrap();
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
}

#[test]
fn resume_is_bit_identical() {
    let (net, mut opt) = fresh(11);
    train(&net, &mut opt, 20);
    let straight: Vec<Vec<f32>> = net.parameters().iter().map(|p| p.to_vec::<f32>().unwrap()).collect();

    let (net, mut opt) = fresh(11);
    train(&net, &mut opt, 10);
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("resume.safetensors");
    let ck = TrainingCheckpoint {
        model: net.state_dict(),
        optimizer: opt.state_dict(),
        step: 10,
        rng: Some(rng::global_state()),
        ..Default::default()
    };
    save_checkpoint(&ck, &path).unwrap();
    drop((net, opt));

    let (mut net2, mut opt2) = fresh(999); // different initial weights, then overwritten
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.step, 10);
    net2.load_state_dict(&ck.model, true).unwrap();
    opt2.load_state_dict(&ck.optimizer).unwrap();
    rng::set_global_state(ck.rng.unwrap());
    train(&net2, &mut opt2, 10);
    let resumed: Vec<Vec<f32>> = net2.parameters().iter().map(|p| p.to_vec::<f32>().unwrap()).collect();
    assert_eq!(straight, resumed, "parameters differ after resuming");
}
