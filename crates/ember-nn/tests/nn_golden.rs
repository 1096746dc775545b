//! Every layer and loss against PyTorch (fixtures from tools/gen_fixtures.py, same explicit
//! parameters): outputs, input and parameter gradients of `<v, f>`, and finite-difference
//! gradchecks in f64.

use ember_core::autograd::{gradcheck, GradcheckOptions};
use ember_core::{DType, Result, Tensor};
use ember_nn::functional::{self as F, CrossEntropyOptions, Reduction};
use ember_nn::utils::rnn as rnn_utils;
use ember_nn::{
    generate_square_subsequent_mask, Activation, AttentionMasks, Forward, Module, RnnOptions, Transformer,
    TransformerActivation, TransformerDecoderLayer, TransformerEncoderLayer, TransformerOptions, GRU, LSTM, RNN,
};
use serde_json::Value;
use std::collections::BTreeMap;

#[path = "nn_golden/image.rs"]
mod image;
#[path = "nn_golden/norm.rs"]
mod norm;
#[path = "nn_golden/pool.rs"]
mod pool;

type P = BTreeMap<String, Tensor>;
type Case = Box<dyn Fn(&[Tensor], &P) -> Result<Tensor>>;

fn table() -> Vec<(&'static str, Case)> {
    macro_rules! e {
        ($name:expr, |$x:ident, $p:ident| $body:expr) => {
            ($name, Box::new(|$x: &[Tensor], $p: &P| -> Result<Tensor> { $body }) as Case)
        };
    }
    let mut cases = vec![
        e!("linear", |x, p| {
            let l = ember_nn::Linear::from_weights(p["weight"].clone(), Some(p["bias"].clone()));
            l.forward(&x[0])
        }),
        e!("conv2d", |x, p| F::conv2d(&x[0], &p["weight"], Some(&p["bias"]), (2, 2), (1, 1), (1, 1), 1)),
        e!("conv2d_groups_dilation", |x, p| F::conv2d(&x[0], &p["weight"], None, (1, 1), (2, 2), (2, 2), 2)),
        e!("conv1d", |x, p| F::conv1d(&x[0], &p["weight"], Some(&p["bias"]), 2, 1, 1, 1)),
        e!("max_pool2d", |x, _p| F::max_pool2d(&x[0], (2, 2), (2, 2), (0, 0), (1, 1))),
        e!("max_pool2d_pad", |x, _p| F::max_pool2d(&x[0], (3, 3), (2, 2), (1, 1), (1, 1))),
        e!("avg_pool2d", |x, _p| F::avg_pool2d(&x[0], (3, 3), (2, 2), (1, 1))),
        e!("adaptive_avg_pool2d", |x, _p| F::adaptive_avg_pool2d(&x[0], (3, 2))),
        e!("batch_norm_train", |x, p| F::batch_norm(
            &x[0],
            Some(&p["running_mean"]),
            Some(&p["running_var"]),
            Some(&p["weight"]),
            Some(&p["bias"]),
            true,
            0.1,
            1e-5
        )),
        e!("batch_norm_eval", |x, p| F::batch_norm(
            &x[0],
            Some(&p["running_mean"]),
            Some(&p["running_var"]),
            Some(&p["weight"]),
            Some(&p["bias"]),
            false,
            0.1,
            1e-5
        )),
        e!("layer_norm", |x, p| F::layer_norm(&x[0], &[4], Some(&p["weight"]), Some(&p["bias"]), 1e-5)),
        e!("layer_norm_2d_shape", |x, p| F::layer_norm(&x[0], &[4, 5], Some(&p["weight"]), Some(&p["bias"]), 1e-5)),
        e!("layer_norm_weight_only", |x, p| F::layer_norm(&x[0], &[7], Some(&p["weight"]), None, 1e-3)),
        e!("layer_norm_no_affine", |x, _p| F::layer_norm(&x[0], &[40], None, None, 1e-5)),
        e!("rms_norm", |x, p| F::rms_norm(&x[0], &[5], Some(&p["weight"]), Some(1e-6))),
        e!("group_norm", |x, p| F::group_norm(&x[0], 3, Some(&p["weight"]), Some(&p["bias"]), 1e-5)),
        e!("embedding_padding", |x, p| F::embedding(&x[0], &p["weight"], Some(1))),
        e!("sdpa_causal", |x, _p| F::scaled_dot_product_attention(&x[0], &x[1], &x[2], None, true, None)),
        e!("sdpa_bool_mask", |x, _p| F::scaled_dot_product_attention(
            &x[0],
            &x[1],
            &x[2],
            Some(&x[3].to_dtype(DType::Bool)?),
            false,
            None
        )),
        e!("mha", |x, p| {
            let mut m = ember_nn::MultiheadAttention::new(4, 2)?;
            m.in_proj_weight = Some(p["in_proj_weight"].clone());
            m.in_proj_bias = Some(p["in_proj_bias"].clone());
            m.out_proj = ember_nn::Linear::from_weights(p["out_proj.weight"].clone(), Some(p["out_proj.bias"].clone()));
            let (out, w) = m.attend(&x[0], &x[1], &x[1], None, true, None)?;
            Tensor::cat(&[&out.reshape(&[-1])?, &w.unwrap().reshape(&[-1])?], 0)
        }),
        e!("pad", |x, _p| F::pad(&x[0], &[1, 2, 0, 1], -1.5)),
        e!("one_hot", |x, _p| F::one_hot(&x[0], 5)),
        e!("cross_entropy", |x, _p| F::cross_entropy(&x[0], &x[1])),
        e!("cross_entropy_options", |x, _p| F::cross_entropy_with(
            &x[0],
            &x[1].to_dtype(DType::I64)?,
            CrossEntropyOptions { weight: Some(x[2].clone()), label_smoothing: 0.1, ..Default::default() }
        )),
        e!("cross_entropy_sum_smooth", |x, _p| F::cross_entropy_with(
            &x[0],
            &x[1],
            CrossEntropyOptions { reduction: Reduction::Sum, label_smoothing: 0.2, ..Default::default() }
        )),
        e!("cross_entropy_probs", |x, _p| F::cross_entropy(&x[0], &x[1])),
        e!("cross_entropy_nd", |x, _p| F::cross_entropy_with(
            &x[0],
            &x[1],
            CrossEntropyOptions { reduction: Reduction::None, ..Default::default() }
        )),
        e!("nll_loss", |x, _p| F::nll_loss(&x[0].log_softmax(1)?, &x[1])),
        e!("mse_loss", |x, _p| F::mse_loss(&x[0], &x[1])),
        e!("l1_loss_sum", |x, _p| F::l1_loss_with(&x[0], &x[1], Reduction::Sum)),
        e!("smooth_l1_loss", |x, _p| F::smooth_l1_loss_with(&x[0], &x[1], 0.5, Reduction::Mean)),
        e!("huber_loss", |x, _p| F::huber_loss_with(&x[0], &x[1], 0.7, Reduction::Mean)),
        e!("binary_cross_entropy", |x, _p| F::binary_cross_entropy(&x[0], &x[1])),
        e!("bce_with_logits", |x, _p| F::binary_cross_entropy_with_logits_with(
            &x[0],
            &x[1],
            None,
            Some(&x[2]),
            Reduction::Mean
        )),
        e!("kl_div_batchmean", |x, _p| F::kl_div_with(&x[0].log_softmax(1)?, &x[1], Reduction::BatchMean, false)),
        e!("kl_div_log_target", |x, _p| F::kl_div_with(&x[0], &x[1], Reduction::Sum, true)),
        e!("rnn_lstm_2layer_bidir", |x, p| {
            let m = with_params(
                LSTM::new(3, 4, RnnOptions { num_layers: 2, bidirectional: true, ..Default::default() })?,
                p,
            );
            let (y, (h, c)) = m.forward_with(&x[0], Some((&x[1], &x[2])))?;
            flat(&[y, h, c])
        }),
        e!("rnn_lstm_proj_batch_first", |x, p| {
            let m =
                with_params(LSTM::new(3, 5, RnnOptions { proj_size: 2, batch_first: true, ..Default::default() })?, p);
            let (y, (h, c)) = m.forward_with(&x[0], None)?;
            flat(&[y, h, c])
        }),
        e!("rnn_lstm_unbatched", |x, p| {
            let m = with_params(LSTM::new(3, 2, RnnOptions::default())?, p);
            let (y, (h, c)) = m.forward_with(&x[0], None)?;
            flat(&[y, h, c])
        }),
        e!("rnn_gru_2layer", |x, p| {
            let m = with_params(GRU::new(2, 3, RnnOptions { num_layers: 2, ..Default::default() })?, p);
            let (y, h) = m.forward_with(&x[0], Some(&x[1]))?;
            flat(&[y, h])
        }),
        e!("rnn_gru_bidir_batch_first_nobias", |x, p| {
            let o = RnnOptions { bias: false, batch_first: true, bidirectional: true, ..Default::default() };
            let m = with_params(GRU::new(2, 3, o)?, p);
            let (y, h) = m.forward_with(&x[0], None)?;
            flat(&[y, h])
        }),
        e!("rnn_tanh", |x, p| {
            let m = with_params(RNN::new(3, 4, RnnOptions::default())?, p);
            let (y, h) = m.forward_with(&x[0], Some(&x[1]))?;
            flat(&[y, h])
        }),
        e!("rnn_relu_2layer_bidir", |x, p| {
            let o = RnnOptions { num_layers: 2, bidirectional: true, relu: true, ..Default::default() };
            let m = with_params(RNN::new(3, 4, o)?, p);
            let (y, h) = m.forward_with(&x[0], None)?;
            flat(&[y, h])
        }),
        e!("rnn_lstm_packed", |x, p| {
            let o = RnnOptions { proj_size: 2, bidirectional: true, ..Default::default() };
            let m = with_params(LSTM::new(2, 3, o)?, p);
            let seq = rnn_utils::pack_padded_sequence(&x[0], &[2, 4, 3], false, false)?;
            let (y, (h, c)) = m.forward_packed(&seq, None)?;
            flat(&[rnn_utils::pad_packed_sequence(&y, false, 0.0, None)?.0, h, c])
        }),
        e!("rnn_gru_packed_sorted", |x, p| {
            let m = with_params(GRU::new(2, 3, RnnOptions::default())?, p);
            let seq = rnn_utils::pack_padded_sequence(&x[0], &[4, 2, 1], false, true)?;
            let (y, h) = m.forward_packed(&seq, Some(&x[1]))?;
            flat(&[rnn_utils::pad_packed_sequence(&y, false, 0.0, None)?.0, h])
        }),
        e!("rnn_lstm_packed_batch17", |x, p| {
            let o = RnnOptions { proj_size: 2, bidirectional: true, ..Default::default() };
            let m = with_params(LSTM::new(2, 3, o)?, p);
            let lengths = [3, 1, 4, 2, 4, 4, 1, 3, 2, 4, 1, 2, 3, 4, 2, 1, 3];
            let seq = rnn_utils::pack_padded_sequence(&x[0], &lengths, false, false)?;
            let (y, (h, c)) = m.forward_packed(&seq, None)?;
            flat(&[rnn_utils::pad_packed_sequence(&y, false, 0.0, None)?.0, h, c])
        }),
        e!("rnn_gru_2layer_batch17", |x, p| {
            let m = with_params(GRU::new(2, 3, RnnOptions { num_layers: 2, ..Default::default() })?, p);
            let (y, h) = m.forward_with(&x[0], Some(&x[1]))?;
            flat(&[y, h])
        }),
        e!("rnn_tanh_reverse_batch17", |x, p| {
            let m = with_params(RNN::new(2, 3, RnnOptions { bidirectional: true, ..Default::default() })?, p);
            let (y, h) = m.forward_with(&x[0], None)?;
            flat(&[y, h])
        }),
        e!("rnn_lstm_cell", |x, p| {
            let m = with_params(ember_nn::LSTMCell::new(2, 4, true)?, p);
            let (h, c) = m.forward_with(&x[0], Some((&x[1], &x[2])))?;
            flat(&[h, c])
        }),
        e!("rnn_gru_cell", |x, p| {
            flat(&[with_params(ember_nn::GRUCell::new(2, 4, true)?, p).forward_with(&x[0], Some(&x[1]))?])
        }),
        e!("rnn_cell_tanh_unbatched", |x, p| {
            flat(&[with_params(ember_nn::RNNCell::new(2, 4, true, "tanh")?, p).forward_with(&x[0], Some(&x[1]))?])
        }),
        e!("act_leaky_relu", |x, _p| Activation::LeakyReLU { negative_slope: 0.2 }.forward(&x[0])),
        e!("act_elu", |x, _p| Activation::ELU { alpha: 0.7 }.forward(&x[0])),
        e!("act_selu", |x, _p| Activation::SELU.forward(&x[0])),
        e!("act_celu", |x, _p| Activation::CELU { alpha: 2.0 }.forward(&x[0])),
        e!("act_softplus", |x, _p| Activation::Softplus { beta: 2.0, threshold: 1.0 }.forward(&x[0])),
        e!("act_softsign", |x, _p| Activation::Softsign.forward(&x[0])),
        e!("act_hardtanh", |x, _p| Activation::Hardtanh { min_val: -0.5, max_val: 0.8 }.forward(&x[0])),
        e!("act_relu6", |x, _p| Activation::ReLU6.forward(&x[0].mul_scalar(4.0)?)),
        e!("act_hardswish", |x, _p| Activation::Hardswish.forward(&x[0].mul_scalar(3.0)?)),
        e!("act_hardsigmoid", |x, _p| Activation::Hardsigmoid.forward(&x[0].mul_scalar(3.0)?)),
        e!("act_mish", |x, _p| Activation::Mish.forward(&x[0])),
        e!("act_logsigmoid", |x, _p| Activation::LogSigmoid.forward(&x[0].mul_scalar(10.0)?)),
        e!("act_tanhshrink", |x, _p| Activation::Tanhshrink.forward(&x[0])),
        e!("act_softshrink", |x, _p| Activation::Softshrink { lambd: 0.5 }.forward(&x[0])),
        e!("act_hardshrink", |x, _p| Activation::Hardshrink { lambd: 0.5 }.forward(&x[0])),
        e!("act_threshold", |x, _p| Activation::Threshold { threshold: 0.1, value: -2.0 }.forward(&x[0])),
        e!("act_glu", |x, _p| Activation::GLU { dim: 0 }.forward(&x[0])),
        e!("act_softmin", |x, _p| Activation::Softmin { dim: 1 }.forward(&x[0])),
        e!("act_rrelu_eval", |x, _p| {
            let mut m = ember_nn::RReLU::new(0.1, 0.3)?;
            m.eval();
            m.forward(&x[0])
        }),
        e!("act_softmax2d", |x, _p| Activation::Softmax2d.forward(&x[0])),
        e!("act_prelu", |x, p| ember_nn::PReLU { weight: p["weight"].clone() }.forward(&x[0])),
        e!("act_prelu_shared", |x, p| ember_nn::PReLU { weight: p["weight"].clone() }.forward(&x[0])),
        e!("pair_margin_ranking", |x, _p| F::margin_ranking_loss(&x[0], &x[1], &x[2], 0.3, Reduction::Mean)),
        e!("pair_cosine_embedding", |x, _p| F::cosine_embedding_loss(&x[0], &x[1], &x[2], 0.1, Reduction::Sum)),
        e!("pair_cosine_similarity", |x, _p| F::cosine_similarity(&x[0], &x[1], 1, 1e-8)),
        e!("pair_pairwise_distance", |x, _p| F::pairwise_distance(&x[0], &x[1], 3.0, 1e-6, false)),
        e!("trip_triplet_margin", |x, _p| F::triplet_margin_loss(
            &x[0],
            &x[1],
            &x[2],
            2.0,
            2.0,
            1e-6,
            true,
            Reduction::None
        )),
        e!("hinge_embedding", |x, _p| F::hinge_embedding_loss(&x[0].mul_scalar(2.0)?, &x[1], 0.5, Reduction::Mean)),
        e!("soft_margin", |x, _p| F::soft_margin_loss(&x[0], &x[1], Reduction::Sum)),
        e!("multilabel_soft_margin", |x, _p| F::multilabel_soft_margin_loss(
            &x[0],
            &x[1],
            Some(&x[2]),
            Reduction::None
        )),
        e!("multi_margin", |x, _p| F::multi_margin_loss(&x[0], &x[1], 1, 0.8, None, Reduction::Mean)),
        e!("multi_margin_p2_weight", |x, _p| F::multi_margin_loss(&x[0], &x[1], 2, 1.0, Some(&x[2]), Reduction::Sum)),
        e!("multilabel_margin", |x, _p| F::multilabel_margin_loss(&x[0], &x[1], Reduction::None)),
        e!("poisson_nll", |x, _p| F::poisson_nll_loss(
            &x[0],
            &x[1].mul_scalar(3.0)?,
            true,
            false,
            1e-8,
            Reduction::Mean
        )),
        e!("poisson_nll_full_linear", |x, _p| F::poisson_nll_loss(
            &x[0],
            &x[1].mul_scalar(3.0)?,
            false,
            true,
            1e-8,
            Reduction::Sum
        )),
        e!("gaussian_nll", |x, _p| F::gaussian_nll_loss(&x[0], &x[1], &x[2], true, 1e-6, Reduction::Mean)),
        e!("trf_encoder_layer_causal", |x, p| {
            let m = with_params(TransformerEncoderLayer::new(trf(false, false, false))?, p);
            let mask = generate_square_subsequent_mask(3, DType::F64)?;
            flat(&[m.forward_with(&x[0], AttentionMasks { attn_mask: Some(&mask), key_padding_mask: None })?])
        }),
        e!("trf_encoder_layer_norm_first_gelu_padding", |x, p| {
            let m = with_params(TransformerEncoderLayer::new(trf(true, true, true))?, p);
            flat(&[m.forward_with(&x[0], AttentionMasks { attn_mask: None, key_padding_mask: Some(&x[1]) })?])
        }),
        e!("trf_decoder_layer", |x, p| {
            let m = with_params(TransformerDecoderLayer::new(trf(false, false, false))?, p);
            let mask = generate_square_subsequent_mask(3, DType::F64)?;
            let tgt = AttentionMasks { attn_mask: Some(&mask), key_padding_mask: None };
            flat(&[m.forward_with(&x[0], &x[1], tgt, AttentionMasks::default())?])
        }),
        e!("trf_transformer", |x, p| {
            let m = with_params(Transformer::new(trf(false, false, false), 2, 1)?, p);
            let mask = generate_square_subsequent_mask(3, DType::F64)?;
            let tgt = AttentionMasks { attn_mask: Some(&mask), key_padding_mask: None };
            flat(&[m.forward_with(&x[0], &x[1], AttentionMasks::default(), tgt, AttentionMasks::default())?])
        }),
    ];
    cases.extend(image::table());
    cases.extend(norm::table());
    cases.extend(norm::embedding_table());
    cases.extend(pool::table());
    cases.extend(norm::attention_table());
    cases.extend(norm::ctc_table());
    cases.extend(norm::grid_table());
    cases.extend(norm::weight_norm_table());
    cases
}

/// The fixtures' transformer options: d_model 4, 2 heads, feed-forward 6, no dropout.
fn trf(norm_first: bool, gelu: bool, batch_first: bool) -> TransformerOptions {
    TransformerOptions {
        dim_feedforward: 6,
        dropout: 0.0,
        norm_first,
        batch_first,
        activation: if gelu { TransformerActivation::Gelu } else { TransformerActivation::Relu },
        ..TransformerOptions::new(4, 2)
    }
}

/// The module with its tensors replaced by the fixture's (so gradients land on them).
fn with_params<M: Module>(mut m: M, p: &P) -> M {
    m.visit_tensors_mut("", &mut |n, t, _| {
        if let Some(v) = p.get(n) {
            *t = v.clone();
        }
    });
    m
}

/// Every tensor flattened and concatenated (the fixture's `torch.cat` of the outputs).
fn flat(ts: &[Tensor]) -> Result<Tensor> {
    let f: Vec<Tensor> = ts.iter().map(|t| t.reshape(&[-1])).collect::<Result<_>>()?;
    Tensor::cat(&f.iter().collect::<Vec<_>>(), 0)
}

fn projection(n: usize) -> Vec<f64> {
    (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * (0.5 + ((i * 7) % 11) as f64 / 10.0)).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

fn tensor(v: &Value, grad: bool) -> Tensor {
    let (s, d) = (shape(v), floats(&v["data"]));
    let t = match v["dtype"].as_str().unwrap_or("f64") {
        "i64" => Tensor::from_vec(d.iter().map(|&x| x as i64).collect(), &s).unwrap(),
        "bool" => Tensor::from_vec(d.iter().map(|&x| x != 0.0).collect(), &s).unwrap(),
        _ => Tensor::from_vec(d, &s).unwrap(),
    };
    if grad {
        t.set_requires_grad(true).unwrap()
    } else {
        t
    }
}

struct Loaded {
    name: String,
    inputs: Vec<Tensor>,
    params: P,
    case: Value,
}

fn cases() -> Vec<Loaded> {
    let root: Value = serde_json::from_str(include_str!("fixtures/nn.json")).unwrap();
    root["cases"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, c)| {
            let inputs = c["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| tensor(i, i["requires_grad"].as_bool().unwrap()))
                .collect();
            let params = c["params"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let t = Tensor::from_vec(floats(&v["data"]), &shape(v)).unwrap();
                    let t = if v["requires_grad"].as_bool().unwrap() { t.set_requires_grad(true).unwrap() } else { t };
                    (k.clone(), t)
                })
                .collect();
            Loaded { name: name.clone(), inputs, params, case: c.clone() }
        })
        .collect()
}

fn close(name: &str, what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{name} {what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-9 + 1e-8 * w.abs(), "{name} {what}[{i}]: {g} vs PyTorch {w}");
    }
}

#[test]
fn table_and_fixtures_list_the_same_cases() {
    let a: std::collections::BTreeSet<String> = table().iter().map(|(n, _)| n.to_string()).collect();
    let b: std::collections::BTreeSet<String> = cases().into_iter().map(|c| c.name).collect();
    assert_eq!(a, b);
}

#[test]
fn layers_and_losses_match_pytorch() {
    let table = table();
    for c in cases() {
        let f = &table.iter().find(|(n, _)| *n == c.name).unwrap().1;
        let out = f(&c.inputs, &c.params).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(out.shape(), shape(&c.case["output"]).as_slice(), "{}: shape", c.name);
        close(&c.name, "output", &out.to_f64_vec().unwrap(), &floats(&c.case["output"]["data"]));
        for (k, want) in c.case["params_after"].as_object().unwrap() {
            if k.starts_with("running") {
                close(&c.name, k, &c.params[k].to_f64_vec().unwrap(), &floats(want));
            }
        }
        if c.case.get("input_grads").is_none() {
            continue;
        }
        let v = Tensor::from_vec(projection(out.numel()), out.shape()).unwrap();
        out.backward_with(&v).unwrap();
        for (i, g) in c.case["input_grads"].as_array().unwrap().iter().enumerate() {
            if !g.is_null() {
                // No gradient at all stands for PyTorch's all-zero one (the output does not
                // depend on that input: grid_sample's grid in nearest mode).
                let got = match c.inputs[i].grad() {
                    Some(t) => t.to_f64_vec().unwrap(),
                    None => vec![0.0; floats(g).len()],
                };
                close(&c.name, &format!("input grad {i}"), &got, &floats(g));
            }
        }
        for (k, g) in c.case["param_grads"].as_object().unwrap() {
            close(&c.name, &format!("grad {k}"), &c.params[k].grad().unwrap().to_f64_vec().unwrap(), &floats(g));
        }
    }
}

#[test]
fn gradcheck_layers_and_losses() {
    let table = table();
    for c in cases() {
        if c.case.get("input_grads").is_none() || c.name == "batch_norm_train" {
            continue; // batch_norm_train updates its running stats on every call; checked below
        }
        if c.name == "emb_max_norm" || c.name == "emb_scale_grad_freq" {
            // By design not the derivative (as in PyTorch): max_norm rescales rows in place as a
            // constant, scale_grad_by_freq divides by counts; checked against PyTorch above.
            continue;
        }
        let f = &table.iter().find(|(n, _)| *n == c.name).unwrap().1;
        let names: Vec<String> = c.params.keys().cloned().collect();
        let n_in = c.inputs.len();
        let mut all: Vec<Tensor> = c.inputs.clone();
        all.extend(names.iter().map(|k| c.params[k].clone()));
        let run = |xs: &[Tensor]| -> Result<Tensor> {
            let p: P = names.iter().cloned().zip(xs[n_in..].iter().cloned()).collect();
            f(&xs[..n_in], &p)
        };
        if let Err(e) = gradcheck(run, &all, GradcheckOptions::default()) {
            panic!("{}: {e}", c.name);
        }
    }
}

#[test]
fn gradcheck_batch_norm_in_training_mode() {
    ember_core::manual_seed(5);
    let x = Tensor::randn(&[4, 3, 2], DType::F64).unwrap().set_requires_grad(true).unwrap();
    let w = Tensor::randn(&[3], DType::F64).unwrap().set_requires_grad(true).unwrap();
    let b = Tensor::randn(&[3], DType::F64).unwrap().set_requires_grad(true).unwrap();
    gradcheck(
        |xs| F::batch_norm(&xs[0], None, None, Some(&xs[1]), Some(&xs[2]), true, 0.1, 1e-5),
        &[x, w, b],
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[derive(ember_nn::Module)]
#[module(crate = "ember_nn")]
struct Block {
    norm: ember_nn::LayerNorm,
    proj: ember_nn::Linear,
    #[module(buffer)]
    scale: Tensor,
    extra: Option<ember_nn::Linear>,
    width: usize,
}

#[derive(ember_nn::Module)]
#[module(crate = "ember_nn")]
struct Net {
    embed: ember_nn::Embedding,
    layers: Vec<Block>,
    bn: ember_nn::BatchNorm1d,
    drop: ember_nn::Dropout,
}

fn net() -> Net {
    let block = |extra: bool| Block {
        norm: ember_nn::LayerNorm::new(4).unwrap(),
        proj: ember_nn::Linear::new(4, 4, true).unwrap(),
        scale: Tensor::ones(&[1], DType::F32).unwrap(),
        extra: extra.then(|| ember_nn::Linear::new(4, 2, false).unwrap()),
        width: 4,
    };
    Net {
        embed: ember_nn::Embedding::new(10, 4).unwrap(),
        layers: vec![block(false), block(true)],
        bn: ember_nn::BatchNorm1d::new(4).unwrap(),
        drop: ember_nn::Dropout::new(0.5).unwrap(),
    }
}

#[test]
fn derived_modules_use_pytorch_key_names() {
    let n = net();
    assert_eq!(n.layers[0].width, 4);
    let names: Vec<String> = n.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "embed.weight",
            "layers.0.norm.weight",
            "layers.0.norm.bias",
            "layers.0.proj.weight",
            "layers.0.proj.bias",
            "layers.1.norm.weight",
            "layers.1.norm.bias",
            "layers.1.proj.weight",
            "layers.1.proj.bias",
            "layers.1.extra.weight",
            "bn.weight",
            "bn.bias"
        ]
    );
    let sd = n.state_dict();
    for k in ["layers.0.scale", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"] {
        assert!(sd.contains_key(k), "{k} missing from the state dict");
        assert!(!names.contains(&k.to_string()), "{k} is a buffer, not a parameter");
    }
}

#[test]
fn load_state_dict_copies_in_place_and_reports_every_problem() {
    let mut a = net();
    let b = net();
    let params_before = a.parameters();
    a.load_state_dict(&b.state_dict(), true).unwrap();
    for ((_, pa), (_, pb)) in a.named_parameters().iter().zip(b.named_parameters().iter()) {
        assert_eq!(pa.to_f64_vec().unwrap(), pb.to_f64_vec().unwrap());
    }
    assert!(
        params_before[0].shares_storage(&a.parameters()[0]),
        "loading keeps the parameter tensors (optimisers hold them)"
    );
    let mut sd = b.state_dict();
    sd.remove("embed.weight");
    sd.insert("bogus".into(), Tensor::zeros(&[1], DType::F32).unwrap());
    sd.insert("layers.0.proj.bias".into(), Tensor::zeros(&[7], DType::F32).unwrap());
    let e = a.load_state_dict(&sd, true).unwrap_err().to_string();
    assert!(
        e.contains("embed.weight") && e.contains("bogus") && e.contains("layers.0.proj.bias") && e.contains("[7]"),
        "{e}"
    );
    sd.remove("layers.0.proj.bias");
    a.load_state_dict(&sd, false).unwrap(); // non-strict ignores missing/unexpected keys
}

#[test]
fn train_and_eval_switch_dropout_and_batch_norm() {
    let mut n = net();
    ember_core::manual_seed(1);
    let x = Tensor::ones(&[1000], DType::F32).unwrap();
    let y = n.drop.forward(&x).unwrap();
    let kept = y.to_vec::<f32>().unwrap().iter().filter(|&&v| v != 0.0).count();
    assert!((400..600).contains(&kept), "dropout kept {kept} of 1000");
    assert!(y.to_vec::<f32>().unwrap().iter().all(|&v| v == 0.0 || v == 2.0));
    n.eval();
    assert_eq!(n.drop.forward(&x).unwrap().to_vec::<f32>().unwrap(), x.to_vec::<f32>().unwrap());
    let h = Tensor::randn(&[8, 4], DType::F32).unwrap();
    let before = n.bn.0.running_mean.as_ref().unwrap().to_vec::<f32>().unwrap();
    n.bn.forward(&h).unwrap();
    assert_eq!(
        n.bn.0.running_mean.as_ref().unwrap().to_vec::<f32>().unwrap(),
        before,
        "eval mode does not update running stats"
    );
    n.train();
    n.bn.forward(&h).unwrap();
    assert_ne!(n.bn.0.running_mean.as_ref().unwrap().to_vec::<f32>().unwrap(), before);
    assert_eq!(n.bn.0.num_batches_tracked.as_ref().unwrap().item::<i64>().unwrap(), 1);
}

#[test]
fn default_initialisation_matches_pytorch_distributions() {
    ember_core::manual_seed(0);
    let l = ember_nn::Linear::new(400, 300, true).unwrap();
    let w = l.weight.to_vec::<f32>().unwrap();
    let bound = 1.0f64 / 20.0; // 1/sqrt(in_features)
    assert!(w.iter().all(|&v| (v as f64).abs() <= bound));
    let var = w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / w.len() as f64;
    assert!((var - bound * bound / 3.0).abs() < 0.05 * bound * bound / 3.0, "uniform variance {var}");
    let c = ember_nn::Conv2d::new(3, 8, 3, Default::default()).unwrap();
    assert_eq!(c.weight.shape(), &[8, 3, 3, 3]);
    assert!(c.weight.to_vec::<f32>().unwrap().iter().all(|&v| v.abs() <= 1.0 / 27f32.sqrt()));
    let e = ember_nn::Embedding::with_padding_idx(5, 3, 2).unwrap();
    assert_eq!(e.weight.select(0, 2).unwrap().to_vec::<f32>().unwrap(), vec![0.0; 3]);
}

#[test]
fn shape_errors_name_the_layer() {
    let l = ember_nn::Linear::new(3, 2, true).unwrap();
    let e = l.forward(&Tensor::zeros(&[4, 5], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(e.contains("matmul") && e.contains("[4, 5]"), "{e}");
    let c = ember_nn::Conv2d::new(3, 4, 3, Default::default()).unwrap();
    let e = c.forward(&Tensor::zeros(&[1, 2, 8, 8], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(e.contains("conv2d") && e.contains("[1, 2, 8, 8]"), "{e}");
    assert!(F::cross_entropy(
        &Tensor::zeros(&[2, 3], DType::F32).unwrap(),
        &Tensor::from_slice(&[0i64, 3], &[2]).unwrap()
    )
    .is_err());
}

#[test]
fn fused_inference_norms_equal_the_composite_ones() {
    ember_core::manual_seed(9);
    let x = Tensor::randn(&[5, 7, 33], DType::F32).unwrap().mul_scalar(3.0).unwrap();
    let w = Tensor::randn(&[33], DType::F32).unwrap();
    let b = Tensor::randn(&[33], DType::F32).unwrap();
    // Requiring grad forces the composite path; no_grad takes the fused kernel.
    let xg = x.detach().set_requires_grad(true).unwrap();
    for rms in [false, true] {
        let composite = if rms {
            F::rms_norm(&xg, &[33], Some(&w), Some(1e-6))
        } else {
            F::layer_norm(&xg, &[33], Some(&w), Some(&b), 1e-5)
        }
        .unwrap();
        let fused = ember_core::no_grad(|| {
            if rms {
                F::rms_norm(&x, &[33], Some(&w), Some(1e-6))
            } else {
                F::layer_norm(&x, &[33], Some(&w), Some(&b), 1e-5)
            }
        })
        .unwrap();
        assert!(!fused.requires_grad());
        let d = fused.sub(&composite.detach()).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
        assert!(d < 1e-5, "rms={rms}: fused differs by {d}");
    }
}
