//! `scaled_dot_product_attention` without a mask tensor runs as one fused node
//! (`ember_core::fused::sdpa_node`): its values against the definition written in tensor ops,
//! its gradients by finite differences in f64 (causal with more queries than keys, and with
//! dropout, the generator reseeded so every evaluation draws the same mask), and its double
//! backward.

use ember_core::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use ember_core::{manual_seed, no_grad, DType, Result, Tensor};
use ember_nn::functional::{self as F, SdpaOptions};

/// `softmax(q kᵀ scale + causal mask) v` from its definition, top-left aligned as in PyTorch.
fn definition(q: &Tensor, k: &Tensor, v: &Tensor, causal: bool, scale: f64) -> Result<Tensor> {
    let (l, s) = (q.shape()[q.dim() - 2], k.shape()[k.dim() - 2]);
    let mut scores = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(scale)?;
    if causal {
        let mut bias = vec![0.0f64; l * s];
        for i in 0..l {
            for j in i + 1..s {
                bias[i * s + j] = f64::NEG_INFINITY;
            }
        }
        scores = scores.add(&Tensor::from_vec(bias, &[l, s])?.to_dtype(q.dtype())?)?;
    }
    scores.softmax(-1)?.matmul(v)
}

fn qkv(shape_q: &[usize], shape_k: &[usize], ev: usize, dtype: DType) -> [Tensor; 3] {
    let mut shape_v = shape_k.to_vec();
    *shape_v.last_mut().unwrap() = ev;
    [shape_q, shape_k, &shape_v[..]].map(|s| Tensor::randn(s, dtype).unwrap().set_requires_grad(true).unwrap())
}

#[test]
fn fused_attention_matches_its_definition() {
    manual_seed(11);
    for dtype in [DType::F32, DType::F64] {
        for (sq, sk, ev, causal) in [
            (vec![2, 3, 7, 5], vec![2, 3, 7, 5], 4, true),
            (vec![2, 3, 9, 5], vec![2, 3, 4, 5], 6, true), // more queries than keys
            (vec![3, 4, 16], vec![3, 33, 16], 16, false),
            (vec![6, 8], vec![10, 8], 3, true), // no batch dims
        ] {
            let [q, k, v] = qkv(&sq, &sk, ev, dtype);
            let got = F::scaled_dot_product_attention(&q, &k, &v, None, causal, Some(0.7)).unwrap();
            assert!(
                got.grad_fn_name().is_some_and(|n| n.contains("ScaledDotProductAttention")),
                "{sq:?}: not the node"
            );
            let want = definition(&q, &k, &v, causal, 0.7).unwrap();
            let tol = if dtype == DType::F32 { 2e-5 } else { 1e-12 };
            let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
            for (a, b) in g.iter().zip(&w) {
                assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{dtype:?} {sq:?} causal={causal}: {a} vs {b}");
            }
            // Inference gives the same values (no probabilities kept).
            let inf = no_grad(|| F::scaled_dot_product_attention(&q, &k, &v, None, causal, Some(0.7))).unwrap();
            assert_eq!(inf.to_f64_vec().unwrap(), g);
        }
    }
}

#[test]
fn fused_attention_gradients_match_finite_differences() {
    manual_seed(12);
    for (sq, sk, ev, causal) in [(vec![2, 2, 5, 3], vec![2, 2, 5, 3], 4, true), (vec![2, 6, 3], vec![2, 4, 3], 2, true)]
    {
        let inputs = qkv(&sq, &sk, ev, DType::F64);
        let f = |x: &[Tensor]| F::scaled_dot_product_attention(&x[0], &x[1], &x[2], None, causal, None);
        gradcheck(f, &inputs, GradcheckOptions::default()).unwrap();
        gradgradcheck(f, &inputs, GradcheckOptions::default()).unwrap();
    }
}

#[test]
fn fused_attention_with_dropout_differentiates_through_the_drawn_mask() {
    manual_seed(13);
    let inputs = qkv(&[2, 4, 3], &[2, 5, 3], 2, DType::F64);
    let f = |x: &[Tensor]| {
        manual_seed(99); // the same keep-mask on every evaluation
        let o = SdpaOptions { dropout_p: 0.4, ..Default::default() };
        F::scaled_dot_product_attention_with(&x[0], &x[1], &x[2], o)
    };
    gradcheck(f, &inputs, GradcheckOptions::default()).unwrap();
    gradgradcheck(f, &inputs, GradcheckOptions::default()).unwrap();
    // Dropped weights are zero and kept ones scaled: with v = identity rows the output is the
    // weight matrix itself, each entry 0 or P / (1 - p).
    let q = Tensor::randn(&[1, 6, 3], DType::F64).unwrap();
    let k = Tensor::randn(&[1, 6, 3], DType::F64).unwrap();
    let eye = Tensor::eye(6, DType::F64).unwrap().reshape(&[1, 6, 6]).unwrap();
    manual_seed(7);
    let o = SdpaOptions { dropout_p: 0.5, ..Default::default() };
    let y = F::scaled_dot_product_attention_with(&q, &k, &eye, o).unwrap().to_f64_vec().unwrap();
    let p = definition(&q, &k, &eye, false, 1.0 / 3f64.sqrt()).unwrap().to_f64_vec().unwrap();
    let dropped = y.iter().filter(|&&a| a == 0.0).count();
    assert!(dropped > 6 && dropped < 30, "{dropped} of 36 dropped at p = 0.5");
    for (a, b) in y.iter().zip(&p) {
        assert!(*a == 0.0 || (a - 2.0 * b).abs() < 1e-12, "{a} is neither 0 nor 2 x {b}");
    }
}
