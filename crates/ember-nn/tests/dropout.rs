//! The dropout family by its defining properties (random masks cannot match PyTorch's
//! generator): whole channels dropped, the keep rate, identity in eval mode, and alpha
//! dropout keeping a standard normal input at mean 0 and variance 1.

use ember_core::{DType, Tensor};
use ember_nn::functional as F;
use ember_nn::{AlphaDropout, Dropout2d, FeatureAlphaDropout, Forward, Module};

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
}

#[test]
fn dropout2d_zeroes_whole_channels_at_rate_p() {
    ember_core::manual_seed(11);
    let x = Tensor::ones(&[8, 50, 3, 3], DType::F64).unwrap();
    let mut m = Dropout2d::new(0.5).unwrap();
    let y = m.forward(&x).unwrap().to_vec::<f64>().unwrap();
    let mut dropped = 0;
    for ch in y.chunks(9) {
        assert!(ch.iter().all(|&v| v == ch[0]) && (ch[0] == 0.0 || ch[0] == 2.0), "{ch:?}");
        dropped += (ch[0] == 0.0) as usize;
    }
    // 400 channels at p = 0.5: standard deviation 10 channels.
    assert!((160..240).contains(&dropped), "{dropped} of 400 dropped");
    m.eval();
    assert_eq!(m.forward(&x).unwrap().to_vec::<f64>().unwrap(), x.to_vec::<f64>().unwrap());
    // Unbatched [C, L] for dropout1d: one draw per row.
    let y = F::dropout1d(&Tensor::ones(&[300, 4], DType::F64).unwrap(), 0.3, true).unwrap();
    for row in y.to_vec::<f64>().unwrap().chunks(4) {
        assert!(row.iter().all(|&v| v == row[0]));
    }
}

#[test]
fn alpha_dropout_keeps_a_standard_normal_standard() {
    ember_core::manual_seed(12);
    let x = Tensor::randn(&[200_000], DType::F64).unwrap();
    let (m0, v0) = mean_var(&x.to_vec::<f64>().unwrap());
    let y = AlphaDropout::new(0.2).unwrap().forward(&x).unwrap().to_vec::<f64>().unwrap();
    let (m, v) = mean_var(&y);
    // Sampling error of 200k draws: about 0.003 on the mean, 0.005 on the variance.
    assert!((m - m0).abs() < 0.02 && (v - v0).abs() < 0.03, "mean {m} var {v}");
    // Dropped units all sit at a * (-alpha) + a * alpha * p, with alpha = 1.7581 (SELU's
    // -scale * alpha) and a = 1 / sqrt((alpha^2 p + 1)(1 - p)).
    let (alpha, p) = (1.758_099_340_847_376_6f64, 0.2);
    let a = 1.0 / ((alpha * alpha * p + 1.0) * (1.0 - p)).sqrt();
    let dropped = -a * alpha + a * alpha * p;
    let share = y.iter().filter(|&&v| (v - dropped).abs() < 1e-12).count() as f64 / y.len() as f64;
    assert!((share - 0.2).abs() < 0.01, "{share} at the dropped value {dropped}");
}

#[test]
fn feature_alpha_dropout_is_constant_per_channel_on_zero_input() {
    ember_core::manual_seed(13);
    let y = FeatureAlphaDropout::new(0.5).unwrap().forward(&Tensor::zeros(&[4, 100, 5], DType::F64).unwrap()).unwrap();
    let values = y.to_vec::<f64>().unwrap();
    let mut distinct: Vec<f64> = Vec::new();
    for ch in values.chunks(5) {
        assert!(ch.iter().all(|&v| v == ch[0]));
        if !distinct.iter().any(|d| (d - ch[0]).abs() < 1e-12) {
            distinct.push(ch[0]);
        }
    }
    assert_eq!(distinct.len(), 2, "kept and dropped channels: {distinct:?}");
}

#[test]
fn bad_inputs_are_errors() {
    assert!(F::dropout2d(&Tensor::ones(&[3, 4], DType::F32).unwrap(), 0.5, true).is_err());
    assert!(F::dropout3d(&Tensor::ones(&[3, 4, 5], DType::F32).unwrap(), 0.5, true).is_err());
    assert!(F::alpha_dropout(&Tensor::ones(&[3], DType::F32).unwrap(), 1.5, true).is_err());
    assert!(Dropout2d::new(-0.1).is_err());
    assert_eq!(Dropout2d::new(0.1).unwrap().named_parameters().len(), 0);
}
