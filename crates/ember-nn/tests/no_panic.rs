//! No layer function panics on any input: `nn::functional` (convolutions, pooling, norms,
//! embedding, attention, padding, every loss), initialisers and gradient clipping are driven
//! with random tensors (every dtype, 0-d, empty, strided and broadcast layouts) and random
//! sizes, dims and indices. Each call returns `Ok` or `Err`, and backward runs through float
//! results; a panic fails.

use ember_core::fused::rnn::{rnn_layer, RnnMode, RnnWeights};
use ember_core::{DType, Result, Tensor};
use ember_nn::functional::{self as F, CrossEntropyOptions, Reduction};
use ember_nn::{init, utils};
use proptest::prelude::*;

#[path = "../../ember-core/tests/support/inputs.rs"]
mod inputs;
use inputs::*;

#[derive(Debug)]
struct Ctx {
    x: Tensor,
    w: Tensor,
    b: Tensor,
    t: Tensor,
    idx: Tensor,
    n: usize,
    k: usize,
    d: isize,
    p: f64,
}

type OpFn = fn(&Ctx) -> Result<Vec<Tensor>>;

macro_rules! ops {
    ($($name:literal => |$c:ident| $body:expr),* $(,)?) => {
        vec![$(($name, (|$c: &Ctx| -> Result<Vec<Tensor>> { $body.map(|t| vec![t]) }) as OpFn)),*]
    };
}

fn unit<T>(r: Result<T>) -> Result<Tensor> {
    r.map(|_| Tensor::scalar(0.0f32))
}

fn all_ops() -> Vec<(&'static str, OpFn)> {
    ops![
        "linear" => |c| F::linear(&c.x, &c.w, Some(&c.b)),
        "conv2d" => |c| F::conv2d(&c.x, &c.w, Some(&c.b), (c.k, 1), (c.n, c.n), (1, c.k), c.n),
        "conv1d" => |c| F::conv1d(&c.x, &c.w, None, c.k, c.n, c.k, c.n),
        "max_pool2d" => |c| F::max_pool2d(&c.x, (c.k, c.n), (c.n, c.k), (c.n, 0), (c.k, 1)),
        "avg_pool2d" => |c| F::avg_pool2d(&c.x, (c.k, c.k), (c.n, c.n), (c.n, c.k)),
        "adaptive_avg_pool2d" => |c| F::adaptive_avg_pool2d(&c.x, (c.n, c.k)),
        "batch_norm" => |c| F::batch_norm(&c.x, Some(&c.w), Some(&c.b), Some(&c.w), Some(&c.b), true, c.p, 1e-5),
        "batch_norm_eval" => |c| F::batch_norm(&c.x, Some(&c.w), Some(&c.b), None, None, false, 0.1, c.p),
        "layer_norm" => |c| F::layer_norm(&c.x, c.w.shape(), Some(&c.w), Some(&c.b), 1e-5),
        "rms_norm" => |c| F::rms_norm(&c.x, &[c.n], Some(&c.w), Some(c.p)),
        "group_norm" => |c| F::group_norm(&c.x, c.n, Some(&c.w), Some(&c.b), 1e-5),
        "embedding" => |c| F::embedding(&c.idx, &c.x, Some(c.n)),
        "one_hot" => |c| F::one_hot(&c.idx, c.n),
        "pad" => |c| F::pad(&c.x, &[c.n, c.k, c.k, c.n], c.p),
        "pad_with" => |c| {
            let modes = [F::PadMode::Constant(c.p), F::PadMode::Reflect, F::PadMode::Replicate, F::PadMode::Circular];
            F::pad_with(&c.x, &[c.n as isize, c.d, c.k as isize, -(c.k as isize)], modes[c.k % 4])
        },
        "conv_transpose2d" => |c| F::conv_transpose2d(&c.x, &c.w, Some(&c.b), (c.k, 1), (c.n, c.k), (c.k, 0), c.n, (1, c.k)),
        "conv_transpose1d" => |c| F::conv_transpose1d(&c.x, &c.w, None, c.k, c.n, c.k / 2, c.n, c.k),
        "conv3d" => |c| F::conv3d(&c.x, &c.w, Some(&c.b), [c.k, 1, c.n], [c.n, c.k, 0], [1, c.k, 1], c.n),
        "conv_transpose3d" => |c| F::conv_transpose3d(&c.x, &c.w, None, [c.k, 1, c.n], [c.n, 0, c.k], [0, c.k / 2, 0], c.n, [1, 1, c.k]),
        "interpolate" => |c| {
            let modes = [
                F::InterpolateMode::Nearest,
                F::InterpolateMode::NearestExact,
                F::InterpolateMode::Linear,
                F::InterpolateMode::Bilinear,
                F::InterpolateMode::Bicubic,
                F::InterpolateMode::Trilinear,
                F::InterpolateMode::Area,
            ];
            let m = modes[c.n.wrapping_add(c.k) % 7];
            if c.d > 0 {
                F::interpolate(&c.x, Some(&[c.n, c.k]), None, m, None)
            } else {
                F::interpolate(&c.x, None, Some(&[c.p, c.k as f64]), m, (c.d < 0).then_some(true))
            }
        },
        "pixel_shuffle" => |c| F::pixel_shuffle(&c.x, c.n),
        "embedding_with" => |c| {
            let o = F::EmbeddingOptions { padding_idx: Some(c.k), max_norm: Some(c.p), norm_type: c.d as f64, scale_grad_by_freq: c.n > 1 };
            F::embedding_with(&c.idx, &c.x, o)
        },
        "embedding_bag" => |c| {
            let modes = [F::BagMode::Sum, F::BagMode::Mean, F::BagMode::Max];
            let off = (c.d > 0).then_some(&c.t);
            F::embedding_bag(&c.idx, &c.x, off, modes[c.k % 3], (c.n == 1).then_some(&c.b), c.d < -1, Some(c.n))
        },
        "instance_norm" => |c| F::instance_norm(&c.x, Some(&c.w), Some(&c.b), Some(&c.w), None, c.d > 0, c.p, 1e-5),
        "ctc_loss" => |c| {
            let reds = [Reduction::None, Reduction::Mean, Reduction::Sum, Reduction::BatchMean];
            F::ctc_loss(&c.x, &c.idx, &[c.n, c.k], &[c.k, c.n], c.k, reds[c.k % 4], c.d > 0)
        },
        "affine_grid" => |c| F::affine_grid(&c.x, &[c.n, c.k, c.k, c.n], c.d > 0),
        "grid_sample" => |c| {
            let pads = [F::GridPadding::Zeros, F::GridPadding::Border, F::GridPadding::Reflection];
            let mode = [F::GridMode::Bilinear, F::GridMode::Nearest, F::GridMode::Bicubic][c.k % 3];
            F::grid_sample(&c.x, &c.t, mode, pads[c.n % 3], c.d > 0)
        },
        "local_response_norm" => |c| F::local_response_norm(&c.x, c.n, c.p, 0.75, 1.0),
        "max_pool2d_with_indices" => |c| {
            F::max_pool2d_with_indices(&c.x, (c.k, c.n), (c.n, c.k), (c.n / 2, 0), (c.k, 1), c.d > 0).map(|r| r.0)
        },
        "avg_pool2d_ext" => |c| F::avg_pool2d_ext(&c.x, (c.k, c.n), (c.n, 1), (0, c.k / 2), c.d > 0, c.d < 0, (c.k > 2).then_some(c.n)),
        "max_pool1d" => |c| F::max_pool1d(&c.x, c.n, c.k, c.k / 2, 1, c.d > 0, c.d < 0).map(|r| r.0),
        "avg_pool1d" => |c| F::avg_pool1d(&c.x, c.n, c.k, 0, c.d > 0, c.d < 0),
        "max_pool3d" => |c| F::max_pool3d(&c.x, [c.k, c.n, 1], [c.n, 1, c.k], [0, c.k / 2, 0], [1, c.k, 1], c.d > 0),
        "avg_pool3d" => |c| F::avg_pool3d(&c.x, [c.k, 1, c.n], [1, c.n, c.k], [c.k / 2, 0, 0], c.d > 0, c.d < 0, None),
        "adaptive_pool" => |c| F::adaptive_pool(&c.x, &[c.n, c.k][..(c.k % 2 + 1)], c.d > 0),
        "lp_pool2d" => |c| F::lp_pool2d(&c.x, c.p, (c.k, c.n), (c.n, c.k), c.d > 0),
        "max_unpool2d" => |c| F::max_unpool2d(&c.x, &c.t, (c.k, c.n), (c.n, c.k), (c.k / 2, 0), (c.d > 0).then_some((c.n, c.k))),
        "pixel_unshuffle" => |c| F::pixel_unshuffle(&c.x, c.k),
        "dropout" => |c| F::dropout(&c.x, c.p, true),
        "softmax" => |c| F::softmax(&c.x, c.d),
        "log_softmax" => |c| F::log_softmax(&c.x, c.d),
        "sdpa" => |c| F::scaled_dot_product_attention(&c.x, &c.w, &c.b, None, true, Some(c.p)),
        "sdpa_mask" => |c| F::scaled_dot_product_attention(&c.x, &c.x, &c.x, Some(&c.t), false, None),
        "cross_entropy" => |c| F::cross_entropy(&c.x, &c.idx),
        "cross_entropy_probs" => |c| F::cross_entropy(&c.x, &c.t),
        "cross_entropy_with" => |c| F::cross_entropy_with(&c.x, &c.idx, CrossEntropyOptions {
            weight: Some(c.w.clone()), ignore_index: c.d as i64, reduction: Reduction::Mean, label_smoothing: c.p,
        }),
        "nll_loss" => |c| F::nll_loss(&c.x, &c.idx),
        "mse_loss" => |c| F::mse_loss_with(&c.x, &c.t, Reduction::Sum),
        "l1_loss" => |c| F::l1_loss(&c.x, &c.t),
        "smooth_l1_loss" => |c| F::smooth_l1_loss_with(&c.x, &c.t, c.p, Reduction::None),
        "huber_loss" => |c| F::huber_loss_with(&c.x, &c.t, c.p, Reduction::Mean),
        "binary_cross_entropy" => |c| F::binary_cross_entropy(&c.x, &c.t),
        "bce_with_logits" => |c| F::binary_cross_entropy_with_logits(&c.x, &c.t),
        "kl_div" => |c| F::kl_div_with(&c.x, &c.t, Reduction::Sum, true),
        "kaiming_uniform_" => |c| unit(init::kaiming_uniform_(&c.x.detach(), c.p, true, "relu")),
        "xavier_normal_" => |c| unit(init::xavier_normal_(&c.x.detach(), c.p)),
        "trunc_normal_" => |c| unit(init::trunc_normal_(&c.x.detach(), 0.0, 1.0, c.p, -c.p)),
        "fans" => |c| unit(init::fans(c.x.shape())),
        "orthogonal_" => |c| unit(init::orthogonal_(&c.x.detach(), c.p)),
        "eye_" => |c| unit(init::eye_(&c.x.detach())),
        "dirac_" => |c| unit(init::dirac_(&c.x.detach(), c.n)),
        "sparse_" => |c| unit(init::sparse_(&c.x.detach(), c.p, 0.01)),
        "clip_grad_norm_" => |c| unit(utils::clip_grad_norm_(&[c.x.clone(), c.w.clone()], c.p)),
        "clip_grad_value_" => |c| unit(utils::clip_grad_value_(std::slice::from_ref(&c.x), c.p)),
        "cosine_similarity" => |c| F::cosine_similarity(&c.x, &c.t, c.d, c.p),
        "pairwise_distance" => |c| F::pairwise_distance(&c.x, &c.t, c.p, 1e-6, c.k > 1),
        "margin_ranking_loss" => |c| F::margin_ranking_loss(&c.x, &c.t, &c.w, c.p, Reduction::Mean),
        "hinge_embedding_loss" => |c| F::hinge_embedding_loss(&c.x, &c.t, c.p, Reduction::Sum),
        "soft_margin_loss" => |c| F::soft_margin_loss(&c.x, &c.t, Reduction::Mean),
        "multilabel_soft_margin_loss" => |c| F::multilabel_soft_margin_loss(&c.x, &c.t, Some(&c.w), Reduction::None),
        "cosine_embedding_loss" => |c| F::cosine_embedding_loss(&c.x, &c.t, &c.w, c.p, Reduction::Mean),
        "triplet_margin_loss" => |c| F::triplet_margin_loss(&c.x, &c.t, &c.w, c.p, 2.0, 1e-6, c.k > 1, Reduction::Mean),
        "multi_margin_loss" => |c| F::multi_margin_loss(&c.x, &c.idx, c.k as u32, c.p, Some(&c.w), Reduction::Mean),
        "multilabel_margin_loss" => |c| F::multilabel_margin_loss(&c.x, &c.idx, Reduction::Sum),
        "poisson_nll_loss" => |c| F::poisson_nll_loss(&c.x, &c.t, c.k > 1, c.n > 1, c.p, Reduction::Mean),
        "gaussian_nll_loss" => |c| F::gaussian_nll_loss(&c.x, &c.t, &c.w, c.k > 1, c.p, Reduction::Mean),
        "feature_dropout" => |c| F::feature_dropout(&c.x, c.p, true, c.k.clamp(1, 3)),
        "alpha_dropout" => |c| F::alpha_dropout(&c.x, c.p, c.k > 0),
        "feature_alpha_dropout" => |c| F::feature_alpha_dropout(&c.x, c.p, true),
        "leaky_relu" => |c| F::leaky_relu(&c.x, c.p),
        "elu" => |c| F::elu(&c.x, c.p),
        "celu" => |c| F::celu(&c.x, c.p),
        "softplus" => |c| F::softplus(&c.x, c.p, c.d as f64),
        "hardtanh" => |c| F::hardtanh(&c.x, -c.p, c.p),
        "hardswish" => |c| F::hardswish(&c.x),
        "mish" => |c| F::mish(&c.x),
        "logsigmoid" => |c| F::logsigmoid(&c.x),
        "softshrink" => |c| F::softshrink(&c.x, c.p),
        "hardshrink" => |c| F::hardshrink(&c.x, c.p),
        "threshold" => |c| F::threshold(&c.x, c.p, c.d as f64),
        "glu" => |c| F::glu(&c.x, c.d),
        "softmin" => |c| F::softmin(&c.x, c.d),
        "softmax2d" => |c| F::softmax2d(&c.x),
        "prelu" => |c| F::prelu(&c.x, &c.w),
        "rrelu" => |c| F::rrelu(&c.x, c.p, 0.5, c.k > 1),
        "rnn_layer" => |c| {
            let modes = [RnnMode::Lstm, RnnMode::Gru, RnnMode::RnnTanh, RnnMode::RnnRelu];
            let w = RnnWeights { w_ih: &c.t, w_hh: &c.w, b_ih: Some(&c.b), b_hh: None, w_hr: (c.k == 1).then_some(&c.b) };
            let cell = (c.n == 0).then_some(&c.b);
            let sizes = c.idx.to_vec::<i64>()?.iter().map(|&v| v as usize).collect::<Vec<_>>();
            let bs = (c.k == 2).then_some(&sizes[..]);
            rnn_layer(modes[c.n % 4], &c.x, &c.w, cell, w, c.d > 0, bs).map(|r| r.output)
        },
        "pack_padded_sequence" => |c| {
            let lengths: Vec<usize> = c.idx.to_vec::<i64>()?.iter().map(|&v| v as usize).collect();
            let seq = utils::rnn::pack_padded_sequence(&c.x, &lengths, c.d > 0, c.k > 1)?;
            Ok(utils::rnn::pad_packed_sequence(&seq, c.d < 0, c.p, Some(c.n))?.0)
        },
        "pad_sequence" => |c| utils::rnn::pad_sequence(&[c.x.clone(), c.t.clone()], c.d > 0, c.p),
        "lstm_module" => |c| {
            let m = ember_nn::LSTM::new(c.n.min(5), c.k.clamp(1, 4), ember_nn::RnnOptions { proj_size: c.k / 2, ..Default::default() })?;
            let x = c.x.to_dtype(DType::F32)?;
            Ok(m.forward_with(&x, None)?.0)
        },
    ]
}

fn ctx() -> impl Strategy<Value = Ctx> {
    (
        (spec(), spec(), spec(), spec()),
        proptest::collection::vec(-2i64..6, 0..6),
        (prop_oneof![4 => 0usize..4, 1 => (0..HUGE.len()).prop_map(|i| HUGE[i])], 0usize..4, -4isize..4),
        prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(-1.0), Just(f64::NAN), Just(1e300)],
        any::<bool>(),
    )
        .prop_map(|((sx, sw, sb, st), iv, (n, k, d), p, same)| {
            let x = build(&sx);
            let t = if same { build(&Spec { shape: sx.shape.clone(), ..st }) } else { build(&st) };
            let idx = Tensor::from_vec(iv.clone(), &[iv.len()]).unwrap();
            Ctx { x, w: build(&sw), b: build(&sb), t, idx, n, k, d, p }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_layer_function_panics_on_any_input(c in ctx()) {
        std::panic::set_hook(Box::new(|_| {}));
        let failed: Vec<String> = all_ops()
            .into_iter()
            .filter_map(|(name, f)| {
                if std::env::var_os("EMBER_TRACE").is_some() {
                    eprintln!("{name} {c:?}");
                }
                panic_message(|| drive_all(f(&c))).map(|m| format!("{name}: {m}"))
            })
            .collect();
        let _ = std::panic::take_hook();
        prop_assert!(failed.is_empty(), "panicked:\n{}\nwith {:?}", failed.join("\n"), c);
    }
}

#[test]
fn shapes_that_fit_still_compute() -> Result<()> {
    // The generator's ordinary case reaches the real computation, not only validation errors.
    let x = Tensor::randn(&[2, 3, 5, 5], DType::F32)?;
    let w = Tensor::randn(&[4, 3, 3, 3], DType::F32)?;
    assert_eq!(F::conv2d(&x, &w, None, (1, 1), (1, 1), (1, 1), 1)?.shape(), &[2, 4, 5, 5]);
    Ok(())
}

#[test]
fn trunc_normal_in_the_tails_ends_and_follows_the_distribution() -> Result<()> {
    // [8, 9] holds 6e-16 of a standard normal's mass: rejection sampling would never end.
    // (f64 cannot resolve that tail's CDF, so only the interval is checked, as PyTorch's own
    // inverse-CDF sampler degenerates there too.)
    let t = Tensor::zeros(&[1000], DType::F64)?;
    init::trunc_normal_(&t, 0.0, 1.0, 8.0, 9.0)?;
    assert!(t.to_vec::<f64>()?.iter().all(|x| (8.0..=9.0).contains(x)));
    // [2, 3] holds 2.1% (the inverse-CDF path): the mean is (phi(2) - phi(3)) / (Phi(3) - Phi(2))
    // = 2.3159, and the standard error of 20000 draws about 0.002.
    let t = Tensor::zeros(&[20000], DType::F64)?;
    init::trunc_normal_(&t, 0.0, 1.0, 2.0, 3.0)?;
    let v = t.to_vec::<f64>()?;
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean - 2.3159).abs() < 0.01, "{mean}");
    assert!(init::trunc_normal_(&t, 0.0, 1.0, f64::NAN, 1.0).is_err());
    assert!(init::trunc_normal_(&t, 0.0, -1.0, 0.0, 1.0).is_err());
    Ok(())
}

#[test]
fn transposed_convolutions_with_huge_padding_are_errors() -> Result<()> {
    // Found by the property test above: 2 * padding overflowed before the output size check.
    let x = Tensor::zeros(&[1, 0, 1], DType::F32)?;
    let w = Tensor::zeros(&[0, 1, 1], DType::F32)?;
    assert!(F::conv_transpose1d(&x, &w, None, 1, usize::MAX, 0, usize::MAX, 1).is_err());
    assert!(F::conv_transpose1d(&x, &w, None, 1, 0, usize::MAX - 1, 1, usize::MAX).is_err());
    Ok(())
}

#[test]
fn transposed_convolution_of_an_empty_batch_has_a_zero_weight_gradient() -> Result<()> {
    // Found by the property test above: the backward split zero images into zero-sized chunks
    // and divided by the chunk size.
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::zeros(&[0, 3, 2], dtype)?.set_requires_grad(true)?;
        let w = Tensor::ones(&[3, 2, 2], dtype)?.set_requires_grad(true)?;
        let y = F::conv_transpose1d(&x, &w, None, 1, 1, 0, 1, 1)?;
        assert_eq!(y.shape(), &[0, 2, 1]);
        y.sum()?.backward()?;
        assert_eq!(w.grad().expect("weight gradient").to_dtype(DType::F64)?.to_vec::<f64>()?, vec![0.0; 12]);
        assert_eq!(x.grad().expect("input gradient").shape(), &[0, 3, 2]);
    }
    Ok(())
}
