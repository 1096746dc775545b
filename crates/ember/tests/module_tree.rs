//! The module tree as PyTorch's: `#[derive(Module)]` over tensors, optional tensors and
//! submodules, lists and plain config fields; tied parameters listed once (and one optimiser
//! step on a tied GPT-2-style model equal to PyTorch's); `children`/`named_modules`/`apply`
//! order; `to_dtype` and `requires_grad_` over a whole model.

use ember::nn::{self, functional as F, Forward, Module};
use ember::optim::{AdamW, AdamWConfig, Optimizer};
use ember::{DType, Result, Tensor};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every kind of field the derive handles.
#[derive(nn::Module)]
struct Block {
    fc: nn::Linear,
    gate: Option<Tensor>,
    absent: Option<Tensor>,
    extra: Option<nn::Linear>,
    none_layer: Option<nn::Linear>,
    layers: Vec<nn::Linear>,
    scales: Vec<Tensor>,
    norm: nn::BatchNorm1d,
    drop: nn::Dropout,
    // plain configuration: ignored without attributes
    width: usize,
    eps: f64,
    kernel: (usize, usize),
    maybe: Option<usize>,
    name: String,
    sizes: Vec<usize>,
    training: bool,
}

fn block() -> Result<Block> {
    Ok(Block {
        fc: nn::Linear::new(3, 2, true)?,
        gate: Some(Tensor::ones(&[2], DType::F32)?.set_requires_grad(true)?),
        absent: None,
        extra: Some(nn::Linear::new(2, 2, false)?),
        none_layer: None,
        layers: vec![nn::Linear::new(2, 2, true)?, nn::Linear::new(2, 1, false)?],
        scales: vec![Tensor::ones(&[1], DType::F32)?.set_requires_grad(true)?],
        norm: nn::BatchNorm1d::new(2)?,
        drop: nn::Dropout::new(0.5)?,
        width: 3,
        eps: 1e-5,
        kernel: (3, 3),
        maybe: None,
        name: "block".into(),
        sizes: vec![1, 2],
        training: true,
    })
}

#[test]
fn derive_names_every_kind_of_field_as_pytorch() -> Result<()> {
    let b = block()?;
    let _ = (b.width, b.eps, b.kernel, b.maybe, &b.name, &b.sizes);
    let names: Vec<String> = b.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "fc.weight",
            "fc.bias",
            "gate",
            "extra.weight",
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "scales.0",
            "norm.weight",
            "norm.bias"
        ]
    );
    let buffers: Vec<String> = b.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers, ["norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]);
    let children: Vec<(String, &str)> = b.named_children().into_iter().map(|(n, m)| (n, m.type_name())).collect();
    let want =
        [("fc", "Linear"), ("extra", "Linear"), ("layers", "ModuleList"), ("norm", "BatchNorm1d"), ("drop", "Dropout")];
    assert_eq!(children, want.map(|(a, b)| (a.to_string(), b)));
    let modules: Vec<String> = b.named_modules().into_iter().map(|(n, _)| n).collect();
    assert_eq!(modules, ["", "fc", "extra", "layers", "layers.0", "layers.1", "norm", "drop"]);
    Ok(())
}

#[test]
fn train_and_eval_reach_every_submodule_and_the_flag() -> Result<()> {
    let mut b = block()?;
    b.eval();
    assert!(!b.training && !b.drop.training && !b.norm.0.training);
    b.train();
    assert!(b.training && b.drop.training && b.norm.0.training);
    Ok(())
}

#[test]
fn apply_is_post_order() -> Result<()> {
    let mut b = block()?;
    let mut order = Vec::new();
    b.apply(&mut |m: &mut dyn Module| order.push(m.type_name()));
    assert_eq!(order, ["Linear", "Linear", "Linear", "Linear", "ModuleList", "BatchNorm1d", "Dropout", "Block"]);
    // apply can change parameters: zero every Linear's weight.
    b.apply(&mut |m: &mut dyn Module| {
        if m.type_name() == "Linear" {
            m.visit_tensors("", &mut |n, t, _| {
                if n == "weight" {
                    ember::no_grad(|| t.zero_()).unwrap();
                }
            });
        }
    });
    assert_eq!(b.fc.weight.abs()?.sum()?.item::<f32>()?, 0.0);
    assert_eq!(b.layers[1].weight.abs()?.sum()?.item::<f32>()?, 0.0);
    Ok(())
}

#[test]
fn to_dtype_and_requires_grad_cover_the_whole_model() -> Result<()> {
    let mut b = block()?;
    b.layers[1].weight = b.fc.weight.narrow(0, 0, 1)?.detach().set_requires_grad(true)?;
    let shared = nn::Linear::new(2, 2, false)?;
    b.extra = Some(shared.clone());
    b.layers[0].weight = shared.weight.clone(); // tied
    b.to_dtype(DType::F64)?;
    for (n, t) in b.state_dict() {
        let want = if n.ends_with("num_batches_tracked") { DType::I64 } else { DType::F64 };
        assert_eq!(t.dtype(), want, "{n}");
    }
    assert!(b.fc.weight.requires_grad() && b.fc.weight.is_leaf());
    assert_eq!(b.layers[0].weight.handle_id(), b.extra.as_ref().unwrap().weight.handle_id(), "tie kept");
    b.requires_grad_(false)?;
    assert!(b.parameters().iter().all(|p| !p.requires_grad()));
    assert!(b.to_dtype(DType::I64).is_err());
    Ok(())
}

/// GPT-2 style: the LM head's weight is the token embedding.
#[derive(nn::Module)]
struct TinyLm {
    wte: nn::Embedding,
    fc: nn::Linear,
    lm_head: nn::Linear,
}

impl Forward for TinyLm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.lm_head.forward(&self.fc.forward(&self.wte.forward(x)?)?.tanh()?)
    }
}

fn tensor_of(v: &Value, shape: &[usize]) -> Tensor {
    let data: Vec<f64> = v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    Tensor::from_vec(data, shape).unwrap()
}

#[test]
fn tied_parameters_are_listed_once_and_step_as_pytorch() -> Result<()> {
    let fx: Value = serde_json::from_str(include_str!("fixtures/tied.json")).unwrap();
    let init = &fx["init"];
    let wte = tensor_of(&init["wte.weight"], &[7, 4]).set_requires_grad(true)?;
    let model = TinyLm {
        wte: nn::Embedding::from_weights(wte.clone()),
        fc: nn::Linear::from_weights(
            tensor_of(&init["fc.weight"], &[4, 4]).set_requires_grad(true)?,
            Some(tensor_of(&init["fc.bias"], &[4]).set_requires_grad(true)?),
        ),
        lm_head: nn::Linear::from_weights(wte, None),
    };
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> =
        fx["named_parameters"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(names, want);
    let keys: Vec<String> = model.state_dict().into_keys().collect();
    let want: Vec<String> =
        fx["state_dict_keys"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(keys, want, "state_dict keeps every name, as PyTorch's");

    let shape = [2usize, 3];
    let ints = |k: &str| -> Tensor {
        let v: Vec<i64> = fx[k].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        Tensor::from_vec(v, &shape).unwrap()
    };
    let (x, y) = (ints("x"), ints("y"));
    let mut opt = AdamW::new(model.parameters(), AdamWConfig { lr: 0.1, ..Default::default() })?;
    for (step, want) in fx["losses"].as_array().unwrap().iter().enumerate() {
        opt.zero_grad();
        let loss = F::cross_entropy(&model.forward(&x)?.reshape(&[-1, 7])?, &y.reshape(&[-1])?)?;
        assert!((loss.item::<f64>()? - want.as_f64().unwrap()).abs() < 1e-12, "loss at step {step}");
        loss.backward()?;
        opt.step()?;
    }
    let got: BTreeMap<String, Tensor> = model.state_dict();
    for (k, v) in fx["after"].as_object().unwrap() {
        let want: Vec<f64> = v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let have = got[k].to_f64_vec()?;
        for (a, b) in have.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{k}: {a} vs PyTorch {b}");
        }
    }
    Ok(())
}

#[test]
fn sequential_keys_and_children_are_indices() -> Result<()> {
    let s = nn::Sequential::new()
        .add(nn::Linear::new(2, 3, true)?)
        .add(nn::Activation::ReLU)
        .add(nn::Linear::new(3, 1, true)?);
    let names: Vec<String> = s.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    let kids: Vec<(String, &str)> = s.named_children().into_iter().map(|(n, m)| (n, m.type_name())).collect();
    assert_eq!(kids, [("0", "Linear"), ("1", "Activation"), ("2", "Linear")].map(|(a, b)| (a.to_string(), b)));
    Ok(())
}

#[test]
fn pooling_layers_take_an_options_struct() -> Result<()> {
    let x = Tensor::randn(&[1, 2, 7, 7], DType::F64)?;
    let opts = nn::PoolOptions { stride: Some(2), padding: 1, ..Default::default() };
    let y = nn::MaxPool2d::new(3, opts).forward(&x)?;
    let want = F::max_pool2d(&x, (3, 3), (2, 2), (1, 1), (1, 1))?;
    assert_eq!(y.to_f64_vec()?, want.to_f64_vec()?);
    // stride defaults to the kernel size, as in PyTorch.
    assert_eq!(nn::AvgPool2d::new(2, nn::PoolOptions::default()).forward(&x)?.shape(), &[1, 2, 3, 3]);
    let dilated = nn::PoolOptions { dilation: Some(2), ..Default::default() };
    assert!(nn::AvgPool2d::new(2, dilated).forward(&x).is_err());
    Ok(())
}
