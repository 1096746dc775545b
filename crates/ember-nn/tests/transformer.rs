//! Transformer modules beyond the PyTorch fixtures (`nn_golden.rs`): independent layer copies,
//! the causal mask, `bias = false`, and errors.

use ember_core::{DType, Tensor};
use ember_nn::{
    generate_square_subsequent_mask, Forward, Module, Transformer, TransformerEncoder, TransformerEncoderLayer,
    TransformerOptions,
};

#[test]
fn stacked_layers_are_independent_copies() {
    let layer =
        TransformerEncoderLayer::new(TransformerOptions { dim_feedforward: 8, ..TransformerOptions::new(4, 2) })
            .unwrap();
    let enc = TransformerEncoder::new(&layer, 3, None).unwrap();
    let w0 = &enc.layers[0].linear1.weight;
    let w1 = &enc.layers[1].linear1.weight;
    assert!(!w0.shares_storage(w1) && !w0.shares_storage(&layer.linear1.weight));
    assert_eq!(w0.to_f64_vec().unwrap(), w1.to_f64_vec().unwrap(), "copies start equal");
    assert!(w0.requires_grad());
    assert_eq!(enc.parameters().len(), 3 * layer.parameters().len());
    assert!(enc.named_parameters().iter().any(|(n, _)| n == "layers.2.self_attn.out_proj.weight"));
}

#[test]
fn causal_mask_is_minus_infinity_above_the_diagonal() {
    let m = generate_square_subsequent_mask(3, DType::F32).unwrap().to_vec::<f32>().unwrap();
    let inf = f32::NEG_INFINITY;
    assert_eq!(m, vec![0.0, inf, inf, 0.0, 0.0, inf, 0.0, 0.0, 0.0]);
}

#[test]
fn bias_false_drops_every_bias_and_eval_is_deterministic() {
    let o = TransformerOptions { bias: false, dim_feedforward: 8, ..TransformerOptions::new(4, 2) };
    let mut t = Transformer::new(o, 1, 1).unwrap();
    let names: Vec<String> = t.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| !n.contains("bias")), "{names:?}");
    assert!(
        names.contains(&"encoder.norm.weight".to_string())
            && names.contains(&"decoder.layers.0.norm3.weight".to_string())
    );
    t.eval();
    let (src, tgt) = (Tensor::randn(&[5, 2, 4], DType::F32).unwrap(), Tensor::randn(&[3, 2, 4], DType::F32).unwrap());
    let run = || t.forward_with(&src, &tgt, Default::default(), Default::default(), Default::default()).unwrap();
    assert_eq!(run().to_vec::<f32>().unwrap(), run().to_vec::<f32>().unwrap());
    assert_eq!(run().shape(), &[3, 2, 4]);
}

#[test]
fn bad_shapes_and_options_are_errors() {
    assert!(TransformerEncoderLayer::new(TransformerOptions::new(6, 4)).is_err(), "6 is not divisible by 4");
    assert!(TransformerEncoderLayer::new(TransformerOptions { dropout: 2.0, ..TransformerOptions::new(4, 2) }).is_err());
    let l = TransformerEncoderLayer::new(TransformerOptions { dim_feedforward: 8, ..TransformerOptions::new(4, 2) })
        .unwrap();
    assert!(l.forward(&Tensor::zeros(&[3, 2, 5], DType::F32).unwrap()).is_err());
    let t = Transformer::new(TransformerOptions { dim_feedforward: 8, ..TransformerOptions::new(4, 2) }, 1, 1).unwrap();
    let e = t
        .forward_with(
            &Tensor::zeros(&[5, 2, 4], DType::F32).unwrap(),
            &Tensor::zeros(&[3, 3, 4], DType::F32).unwrap(),
            Default::default(),
            Default::default(),
            Default::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch number"), "{e}");
}
