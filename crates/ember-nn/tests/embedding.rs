//! Embedding options as PyTorch defines them: `from_pretrained` copies and freezes, `max_norm`
//! renormalises only the rows looked up, bags reject what PyTorch rejects. (Values against
//! PyTorch are in the nn golden table.)

use ember_core::{DType, Result, Tensor};
use ember_nn::functional::{self as F, BagMode, EmbeddingOptions};
use ember_nn::{Embedding, EmbeddingBag, Forward, Module};

fn ids(v: &[i64]) -> Tensor {
    Tensor::from_slice(v, &[v.len()]).unwrap()
}

#[test]
fn from_pretrained_copies_and_freezes() -> Result<()> {
    let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    let e = Embedding::from_pretrained(&w, true, EmbeddingOptions::default())?;
    assert!(!e.weight.requires_grad());
    assert_eq!(e.forward(&ids(&[1]))?.to_f64_vec()?, vec![3.0, 4.0]);
    let t = Embedding::from_pretrained(&w, false, EmbeddingOptions::default())?;
    assert!(t.weight.requires_grad() && t.parameters().len() == 1);
    assert!(Embedding::from_pretrained(&ids(&[1, 2]), true, EmbeddingOptions::default()).is_err());
    Ok(())
}

#[test]
fn max_norm_renormalises_only_the_rows_looked_up() -> Result<()> {
    let w = Tensor::from_vec(vec![3.0f64, 4.0, 6.0, 8.0], &[2, 2])?;
    let y = F::embedding_with(&ids(&[1]), &w, EmbeddingOptions { max_norm: Some(1.0), ..Default::default() })?;
    let v = w.to_f64_vec()?;
    assert_eq!(&v[..2], &[3.0, 4.0], "row 0 was not looked up");
    assert!((v[2] - 0.6).abs() < 1e-6 && (v[3] - 0.8).abs() < 1e-6, "{v:?}");
    assert_eq!(y.to_f64_vec()?, v[2..].to_vec());
    Ok(())
}

#[test]
fn bags_and_their_errors() -> Result<()> {
    let bag = EmbeddingBag::new(5, 3, BagMode::Mean)?;
    assert_eq!(bag.forward(&Tensor::from_slice(&[0i64, 1, 2, 3], &[2, 2])?)?.shape(), &[2, 3]);
    let out = bag.forward_bags(&ids(&[0, 1, 2]), Some(&ids(&[0, 0, 2])), None)?;
    assert_eq!(out.shape(), &[3, 3]);
    assert_eq!(out.narrow(0, 0, 1)?.to_f64_vec()?, vec![0.0; 3], "an empty bag is zeros");
    let w = bag.weight.clone();
    assert!(F::embedding_bag(&ids(&[0, 9]), &w, Some(&ids(&[0])), BagMode::Sum, None, false, None).is_err());
    assert!(F::embedding_bag(&ids(&[0, 1]), &w, Some(&ids(&[1])), BagMode::Sum, None, false, None).is_err());
    let psw = Tensor::ones(&[2], DType::F32)?;
    assert!(F::embedding_bag(&ids(&[0, 1]), &w, Some(&ids(&[0])), BagMode::Max, Some(&psw), false, None).is_err());
    assert!(BagMode::parse("median").is_err());
    Ok(())
}

#[test]
fn ctc_with_only_empty_targets_is_the_all_blank_path() -> Result<()> {
    // Every target empty: the extended labels are one blank, the loss -sum_t log p(blank).
    let lp = Tensor::from_vec(vec![0.25f64.ln(), 0.75f64.ln(), 0.5f64.ln(), 0.5f64.ln()], &[2, 1, 2])?;
    let l = F::ctc_loss(&lp, &Tensor::zeros(&[1, 0], DType::I64)?, &[2], &[0], 0, F::Reduction::Sum, false)?;
    assert!((l.item::<f64>()? - -(0.25f64.ln() + 0.5f64.ln())).abs() < 1e-12);
    Ok(())
}
