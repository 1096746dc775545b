//! The normalisation cases of the nn golden table: batch-norm options, instance norm, local
//! response norm (modules loaded with the fixture's parameters and running statistics).

use super::{flat, with_params, Case, P};
use ember_core::{Result, Tensor};
use ember_nn::{
    BatchNorm1d, BatchNorm2d, BatchNorm3d, Forward, InstanceNorm1d, InstanceNorm2d, LocalResponseNorm, Module,
    NormOptions,
};

macro_rules! e {
    ($name:expr, |$x:ident, $p:ident| $body:expr) => {
        ($name, Box::new(|$x: &[Tensor], $p: &P| -> Result<Tensor> { $body }) as Case)
    };
}

fn run(m: &impl Forward, x: &Tensor) -> Result<Tensor> {
    flat(&[m.forward(x)?])
}

pub fn table() -> Vec<(&'static str, Case)> {
    vec![
        e!("bn3d_train", |x, p| run(&with_params(BatchNorm3d::new(3)?, p), &x[0])),
        e!("bn_momentum_none", |x, p| {
            let o = NormOptions { momentum: None, ..NormOptions::BATCH };
            run(&with_params(BatchNorm1d::with_options(4, o)?, p), &x[0])
        }),
        e!("bn_no_track_eval", |x, p| {
            let o = NormOptions { track_running_stats: false, ..NormOptions::BATCH };
            let mut m = with_params(BatchNorm2d::with_options(3, o)?, p);
            m.eval();
            run(&m, &x[0])
        }),
        e!("inorm2d_affine_track", |x, p| {
            let o = NormOptions { affine: true, track_running_stats: true, ..NormOptions::INSTANCE };
            run(&with_params(InstanceNorm2d::with_options(3, o)?, p), &x[0])
        }),
        e!("inorm1d", |x, _p| run(&InstanceNorm1d::new(2)?, &x[0])),
        e!("inorm1d_unbatched", |x, _p| run(&InstanceNorm1d::new(2)?, &x[0])),
        e!("inorm2d_eval_running", |x, p| {
            let o = NormOptions { track_running_stats: true, ..NormOptions::INSTANCE };
            let mut m = with_params(InstanceNorm2d::with_options(3, o)?, p);
            m.eval();
            run(&m, &x[0])
        }),
        e!("lrn3d", |x, _p| run(&LocalResponseNorm { size: 3, alpha: 0.5, beta: 0.75, k: 2.0 }, &x[0])),
        e!("lrn4d", |x, _p| run(&LocalResponseNorm { size: 2, alpha: 0.3, beta: 0.6, k: 1.5 }, &x[0])),
    ]
}

/// Embedding cases: `max_norm`, `scale_grad_by_freq`, bags.
pub fn embedding_table() -> Vec<(&'static str, Case)> {
    use ember_nn::functional::{self as F, BagMode, EmbeddingOptions};
    vec![
        e!("emb_max_norm", |x, p| {
            F::embedding_with(&x[0], &p["weight"], EmbeddingOptions { max_norm: Some(1.0), ..Default::default() })
        }),
        e!("emb_scale_grad_freq", |x, p| {
            let o = EmbeddingOptions { padding_idx: Some(1), scale_grad_by_freq: true, ..Default::default() };
            F::embedding_with(&x[0], &p["weight"], o)
        }),
        e!("embbag_sum_offsets", |x, p| F::embedding_bag(
            &x[0],
            &p["weight"],
            Some(&x[1]),
            BagMode::Sum,
            Some(&x[2]),
            false,
            None
        )),
        e!("embbag_mean_2d_padding", |x, p| F::embedding_bag(
            &x[0],
            &p["weight"],
            None,
            BagMode::Mean,
            None,
            false,
            Some(0)
        )),
        e!("embbag_max_last_offset", |x, p| F::embedding_bag(
            &x[0],
            &p["weight"],
            Some(&x[1]),
            BagMode::Max,
            None,
            true,
            None
        )),
    ]
}

/// Attention cases: MultiheadAttention's options and SDPA's.
pub fn attention_table() -> Vec<(&'static str, Case)> {
    use ember_core::DType;
    use ember_nn::functional::{self as F, SdpaOptions};
    use ember_nn::{AttendOptions, MhaOptions, MultiheadAttention};
    vec![
        e!("mha_kdim_vdim_heads", |x, p| {
            let o = MhaOptions { kdim: Some(3), vdim: Some(5), ..Default::default() };
            let m = with_params(MultiheadAttention::with_config(4, 2, o)?, p);
            let a = AttendOptions { average_attn_weights: false, ..Default::default() };
            let (y, w) = m.attend_with(&x[0], &x[1], &x[2], a)?;
            flat(&[y, w.unwrap()])
        }),
        e!("mha_bias_kv_zero_attn_masks", |x, p| {
            let o = MhaOptions { add_bias_kv: true, add_zero_attn: true, batch_first: true, ..Default::default() };
            let m = with_params(MultiheadAttention::with_config(4, 2, o)?, p);
            let a = AttendOptions { key_padding_mask: Some(&x[3]), attn_mask: Some(&x[4]), ..Default::default() };
            let (y, w) = m.attend_with(&x[0], &x[1], &x[2], a)?;
            flat(&[y, w.unwrap()])
        }),
        e!("mha_causal_unbatched", |x, p| {
            let m = with_params(MultiheadAttention::new(4, 2)?, p);
            let mask = Tensor::ones(&[3, 3], DType::Bool)?.triu(1)?;
            let a = AttendOptions { attn_mask: Some(&mask), is_causal: true, ..Default::default() };
            let (y, w) = m.attend_with(&x[0], &x[1], &x[2], a)?;
            flat(&[y, w.unwrap()])
        }),
        e!("sdpa_dropout0_gqa", |x, _p| {
            let o = SdpaOptions { scale: Some(0.7), enable_gqa: true, ..Default::default() };
            F::scaled_dot_product_attention_with(&x[0], &x[1], &x[2], o)
        }),
    ]
}

/// CTC loss cases (the input is logits; log_softmax over classes first).
pub fn ctc_table() -> Vec<(&'static str, Case)> {
    use ember_nn::functional::{self as F, Reduction};
    vec![
        e!("ctc_mean_padded", |x, _p| {
            F::ctc_loss(&x[0].log_softmax(2)?, &x[1], &[6, 5, 6], &[3, 2, 3], 0, Reduction::Mean, false)
        }),
        e!("ctc_none_concat_blank", |x, _p| {
            F::ctc_loss(&x[0].log_softmax(2)?, &x[1], &[5, 4], &[1, 3], 2, Reduction::None, false)
        }),
        e!("ctc_sum_zero_infinity", |x, _p| {
            F::ctc_loss(&x[0].log_softmax(2)?, &x[1], &[3, 3], &[3, 1], 0, Reduction::Sum, true)
        }),
    ]
}

/// Spatial transformer cases: affine_grid and grid_sample.
pub fn grid_table() -> Vec<(&'static str, Case)> {
    use ember_nn::functional::{self as F, GridMode as M, GridPadding as G};
    vec![
        e!("affine_grid", |x, _p| F::affine_grid(&x[0], &[2, 3, 4, 5], false)),
        e!("affine_grid_align", |x, _p| F::affine_grid(&x[0], &[1, 1, 3, 2], true)),
        e!("pair_grid_sample_zeros", |x, _p| F::grid_sample(&x[0], &x[1], M::Bilinear, G::Zeros, false)),
        e!("pair_grid_sample_border_align", |x, _p| F::grid_sample(&x[0], &x[1], M::Bilinear, G::Border, true)),
        e!("pair_grid_sample_reflection", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.7)?, M::Bilinear, G::Reflection, false)
        }),
        e!("pair_grid_sample_nearest", |x, _p| F::grid_sample(&x[0], &x[1], M::Nearest, G::Zeros, false)),
        e!("pair_grid_sample_nearest_reflection", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.7)?, M::Nearest, G::Reflection, true)
        }),
        e!("pair_grid_sample_reflection_align", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(2.3)?, M::Bilinear, G::Reflection, true)
        }),
        e!("pair_grid_sample_bicubic_zeros", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.2)?, M::Bicubic, G::Zeros, false)
        }),
        e!("pair_grid_sample_bicubic_border_align", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.4)?, M::Bicubic, G::Border, true)
        }),
        e!("pair_grid_sample_bicubic_reflection", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.7)?, M::Bicubic, G::Reflection, false)
        }),
        e!("pair_grid_sample_batch2", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.3)?, M::Bilinear, G::Zeros, false)
        }),
        e!("pair_grid_sample_bicubic_batch2", |x, _p| {
            F::grid_sample(&x[0], &x[1].mul_scalar(1.2)?, M::Bicubic, G::Border, false)
        }),
    ]
}

/// Weight normalisation cases.
pub fn weight_norm_table() -> Vec<(&'static str, Case)> {
    use ember_nn::utils::weight_norm;
    vec![
        e!("weight_norm_dim0", |x, p| {
            let w = weight_norm(&p["v"], &p["g"], Some(0))?; // [4, 3, 2]
                                                             // einsum("oik,bik->bo")
            x[0].reshape(&[2, 6])?.matmul(&w.reshape(&[4, 6])?.t()?)
        }),
        e!("weight_norm_dim1", |x, p| weight_norm(&p["v"], &p["g"], Some(1))?.mul(&x[0].sum()?)),
    ]
}
