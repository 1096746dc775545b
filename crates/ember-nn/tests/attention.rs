//! `scaled_dot_product_attention` (without a mask or with a broadcast one) runs as one fused node
//! (`ember_core::fused::sdpa_node`): its values against the definition written in tensor ops,
//! its gradients by finite differences in f64 (causal with more queries than keys, and with
//! dropout, the generator reseeded so every evaluation draws the same mask), and its double
//! backward.

use ember_core::autograd::{gradcheck, gradgradcheck, GradcheckOptions};
use ember_core::{manual_seed, no_grad, DType, Result, Tensor};
use ember_nn::functional::{self as F, SdpaOptions};
use ember_nn::{AttendOptions, MhaOptions, Module, MultiheadAttention};

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

/// nanoGPT's head split: q, k and v are `[B, T, 3C]` split and viewed as `[B, H, T, D]` (rows
/// `3C` apart), read in place by the node; the output (and each input gradient) is laid out as
/// `[B, T, H, D]`, so `transpose(1, 2)` of it is contiguous, as PyTorch's.
#[test]
fn attention_on_head_views_of_a_split_projection() -> Result<()> {
    manual_seed(13);
    // Small heads (every batch in one parallel task) and heads big enough for a task per
    // batch.
    for ((b, t, h, d), dtype) in [((3, 6, 2, 4), DType::F32), ((3, 6, 2, 4), DType::F64), ((3, 64, 2, 16), DType::F32)]
    {
        let c = h * d;
        let qkv = Tensor::randn(&[b, t, 3 * c], dtype)?.set_requires_grad(true)?;
        let heads = |x: &Tensor| -> Result<[Tensor; 3]> {
            let parts = x.split(c, 2)?;
            let view = |p: &Tensor| p.reshape(&[b as isize, t as isize, h as isize, d as isize])?.transpose(1, 2);
            Ok([view(&parts[0])?, view(&parts[1])?, view(&parts[2])?])
        };
        let [q, k, v] = heads(&qkv)?;
        assert!(!q.is_contiguous());
        let got = F::scaled_dot_product_attention(&q, &k, &v, None, true, None)?;
        assert!(got.grad_fn_name().is_some_and(|n| n.contains("ScaledDotProductAttention")));
        assert!(got.transpose(1, 2)?.is_contiguous(), "the output is not laid out as [B, T, H, D]");
        let [q2, k2, v2] = heads(&qkv)?; // a graph of its own
        let want = definition(&q2, &k2, &v2, true, 1.0 / (d as f64).sqrt())?;
        let tol = if dtype == DType::F32 { 2e-5 } else { 1e-12 };
        let w = Tensor::randn(&[b, h, t, d], dtype)?;
        // Gradients through the split and the views, against the definition's.
        let g_got = ember_core::autograd::grad(&[&got.mul(&w)?.sum()?], &[&qkv], false)?.remove(0);
        let g_want = ember_core::autograd::grad(&[&want.mul(&w)?.sum()?], &[&qkv], false)?.remove(0);
        for (x, y) in [(&got, &want), (&g_got, &g_want)] {
            for (a, e) in x.to_f64_vec()?.iter().zip(&y.to_f64_vec()?) {
                assert!((a - e).abs() <= tol * (1.0 + e.abs()), "{dtype:?}: {a} vs {e}");
            }
        }
    }
    let (h, d) = (2, 4);
    let c = h * d;
    let qkv = Tensor::randn(&[2, 5, 3 * c], DType::F64)?.set_requires_grad(true)?;
    let f = |x: &[Tensor]| {
        let parts = x[0].split(c, 2)?;
        let view = |p: &Tensor| p.reshape(&[2, 5, h as isize, d as isize])?.transpose(1, 2);
        F::scaled_dot_product_attention(&view(&parts[0])?, &view(&parts[1])?, &view(&parts[2])?, None, true, None)
    };
    gradcheck(f, &[qkv], GradcheckOptions::default())?;
    Ok(())
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

/// A bool `[L, S]` mask (row `i` sees key `j` unless `(7i + 3j) % 5 == 0`, and always key 0)
/// with its additive form, and a float key-padding mask `[B, 1, 1, S]` (batch 1 cannot see
/// its last two keys) that is its own additive form.
fn masks(b: usize, l: usize, s: usize, dtype: DType) -> Result<Vec<(Tensor, Tensor)>> {
    let allowed: Vec<f64> = (0..l * s)
        .map(|i| if !(7 * (i / s) + 3 * (i % s)).is_multiple_of(5) || i % s == 0 { 1.0 } else { 0.0 })
        .collect();
    let bias: Vec<f64> = allowed.iter().map(|&a| if a == 1.0 { 0.0 } else { f64::NEG_INFINITY }).collect();
    let bool_mask = Tensor::from_vec(allowed, &[l, s])?.ne_scalar(0.0)?;
    let pad: Vec<f64> = (0..b * s)
        .map(|i| if i / s == 1 && i % s >= s - 2 { f64::NEG_INFINITY } else { 0.1 * (i % 4) as f64 })
        .collect();
    let pad = Tensor::from_vec(pad, &[b, 1, 1, s])?.to_dtype(dtype)?;
    Ok(vec![(bool_mask, Tensor::from_vec(bias, &[l, s])?.to_dtype(dtype)?), (pad.clone(), pad)])
}

#[test]
fn masked_attention_runs_as_the_node_and_matches_its_definition() -> Result<()> {
    manual_seed(13);
    let (b, h, l, s, e) = (2, 3, 5, 7, 4);
    for dtype in [DType::F32, DType::F64] {
        let [q, k, v] = qkv(&[b, h, l, e], &[b, h, s, e], 6, dtype);
        for (mask, bias) in masks(b, l, s, dtype)? {
            let got = F::scaled_dot_product_attention(&q, &k, &v, Some(&mask), false, Some(0.7))?;
            assert!(got.grad_fn_name().is_some_and(|n| n.contains("ScaledDotProductAttention")), "not the node");
            let want = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(0.7)?.add(&bias)?.softmax(-1)?.matmul(&v)?;
            let tol = if dtype == DType::F32 { 2e-5 } else { 1e-12 };
            for (a, w) in got.to_f64_vec()?.iter().zip(want.to_f64_vec()?) {
                assert!((a - w).abs() <= tol * (1.0 + w.abs()), "{dtype:?} {:?}: {a} vs {w}", mask.shape());
            }
        }
    }
    Ok(())
}

#[test]
fn masked_attention_gradients_match_finite_differences() -> Result<()> {
    manual_seed(14);
    let (b, h, l, s, e) = (2, 2, 4, 5, 3);
    let inputs = qkv(&[b, h, l, e], &[b, h, s, e], 2, DType::F64);
    for (mask, _) in masks(b, l, s, DType::F64)? {
        let f = |x: &[Tensor]| F::scaled_dot_product_attention(&x[0], &x[1], &x[2], Some(&mask), false, None);
        gradcheck(f, &inputs, GradcheckOptions::default())?;
        gradgradcheck(f, &inputs, GradcheckOptions::default())?;
    }
    Ok(())
}

#[test]
fn a_query_that_sees_no_key_gets_zero_output_and_zero_gradient() -> Result<()> {
    // PyTorch returns zeros for such a row (its `_safe_softmax`), where a plain softmax of
    // only `-inf` gives NaN. Row 2 sees nothing: through the node (bool mask), and through
    // the composite form (a float mask that itself requires grad).
    manual_seed(15);
    let (l, s) = (4, 6);
    let rows: Vec<f64> = (0..l * s).map(|i| if i / s == 2 { f64::NEG_INFINITY } else { 0.0 }).collect();
    for dtype in [DType::F32, DType::F64] {
        let bias = Tensor::from_vec(rows.clone(), &[l, s])?.to_dtype(dtype)?;
        let bool_mask = bias.eq_scalar(0.0)?;
        for (mask, node) in [(bool_mask, true), (bias.set_requires_grad(true)?, false)] {
            let [q, k, v] = qkv(&[2, 3, l, 5], &[2, 3, s, 5], 4, dtype);
            let y = F::scaled_dot_product_attention(&q, &k, &v, Some(&mask), false, None)?;
            let is_node = y.grad_fn_name().is_some_and(|n| n.contains("ScaledDotProductAttention"));
            assert_eq!(is_node, node, "{dtype:?}");
            y.mul(&Tensor::randn(y.shape(), dtype)?)?.sum()?.backward()?;
            let dead = |t: &Tensor| -> Result<Vec<f64>> { t.narrow(-2, 2, 1)?.to_f64_vec() };
            assert!(dead(&y)?.iter().all(|&v| v == 0.0), "{dtype:?} node={node}: output row");
            assert!(dead(&q.grad().unwrap())?.iter().all(|&v| v == 0.0), "{dtype:?} node={node}: dq row");
            for t in [&q, &k, &v] {
                assert!(t.grad().unwrap().to_f64_vec()?.iter().all(|v| v.is_finite()), "{dtype:?} node={node}: NaN");
            }
            if !node {
                assert!(mask.grad().unwrap().to_f64_vec()?.iter().all(|v| v.is_finite()), "{dtype:?}: mask grad");
            }
        }
    }
    Ok(())
}

/// A `MultiheadAttention` in `dtype` with random (not zero) biases.
fn mha(e: usize, h: usize, o: MhaOptions, dtype: DType) -> Result<MultiheadAttention> {
    let mut m = MultiheadAttention::with_config(e, h, o)?;
    m.to_dtype(dtype)?;
    m.in_proj_bias = Some(Tensor::randn(&[3 * e], dtype)?.set_requires_grad(true)?);
    m.out_proj.bias = Some(Tensor::randn(&[e], dtype)?.set_requires_grad(true)?);
    Ok(m)
}

/// `[L, S]` bool mask: query 1 sees no key; the others see every key but `j = (i + 1) % S`.
fn mha_bool_mask(l: usize, s: usize) -> Result<Tensor> {
    let masked: Vec<f64> = (0..l * s).map(|i| if i / s == 1 || i % s == (i / s + 1) % s { 1.0 } else { 0.0 }).collect();
    Tensor::from_vec(masked, &[l, s])?.ne_scalar(0.0)
}

#[test]
fn multihead_attention_without_weights_matches_the_weighted_path() -> Result<()> {
    // need_weights=false runs the heads through the fused node with both masks summed into
    // one; need_weights=true is the composite form (checked against PyTorch by nn_golden).
    // Where a query sees a key, the two agree; the query that sees none gives the output
    // projection's bias (zero attention output, as PyTorch's SDPA path), where the composite
    // softmax gives NaN (as PyTorch's weighted path).
    manual_seed(16);
    let (l, s, n, e, h) = (4, 5, 2, 6, 3);
    let configs = [
        MhaOptions::default(),
        MhaOptions { add_bias_kv: true, add_zero_attn: true, batch_first: true, ..Default::default() },
        MhaOptions { kdim: Some(3), vdim: Some(5), ..Default::default() },
    ];
    for dtype in [DType::F32, DType::F64] {
        for (ci, cfg) in configs.iter().enumerate() {
            let m = mha(e, h, *cfg, dtype)?;
            let shape = |len: usize, f: usize| if cfg.batch_first { vec![n, len, f] } else { vec![len, n, f] };
            let q = Tensor::randn(&shape(l, e), dtype)?;
            let k = Tensor::randn(&shape(s, cfg.kdim.unwrap_or(e)), dtype)?;
            let v = Tensor::randn(&shape(s, cfg.vdim.unwrap_or(e)), dtype)?;
            // Batch 1 cannot see key 0; a float [N*H, L, S] mask adds a bias per head.
            let kpm = Tensor::from_vec((0..n * s).map(|i| i == s).collect::<Vec<_>>(), &[n, s])?;
            let extra = if cfg.add_bias_kv { 1 } else { 0 } + if cfg.add_zero_attn { 1 } else { 0 };
            let float_mask = Tensor::randn(&[n * h, l, s], dtype)?;
            let bool_mask = mha_bool_mask(l, s)?;
            for (mask, kpm, dead_row) in [(Some(&bool_mask), Some(&kpm), extra == 0), (Some(&float_mask), None, false)]
            {
                let with = |need_weights| {
                    let a =
                        AttendOptions { attn_mask: mask, key_padding_mask: kpm, need_weights, ..Default::default() };
                    m.attend_with(&q, &k, &v, a)
                };
                let (fast, w) = with(false)?;
                assert!(w.is_none());
                let slow = with(true)?.0;
                let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
                let (fv, sv) = (fast.to_f64_vec()?, slow.to_f64_vec()?);
                let row = |i: usize| if cfg.batch_first { (i / e) % l } else { i / (n * e) };
                let bias = m.out_proj.bias.as_ref().unwrap().to_f64_vec()?;
                for (i, (a, b)) in fv.iter().zip(&sv).enumerate() {
                    if dead_row && row(i) == 1 {
                        assert!(b.is_nan(), "config {ci}: the weighted path's dead row");
                        assert!((a - bias[i % e]).abs() <= tol, "config {ci}: dead row {a} vs bias {}", bias[i % e]);
                    } else {
                        assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{dtype:?} config {ci}: {a} vs {b}");
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn multihead_attention_without_weights_gradients_match_finite_differences() -> Result<()> {
    manual_seed(17);
    let (l, s, n, e, h) = (3, 4, 2, 4, 2);
    let m = mha(e, h, MhaOptions { add_bias_kv: true, ..Default::default() }, DType::F64)?;
    let kpm = Tensor::from_vec((0..n * s).map(|i| i == s + 2).collect::<Vec<_>>(), &[n, s])?;
    let mask = Tensor::randn(&[l, s], DType::F64)?; // padded for bias_k inside
    let inputs = [&[l, n, e], &[s, n, e], &[s, n, e]]
        .map(|sh| Tensor::randn(sh, DType::F64).unwrap().set_requires_grad(true).unwrap());
    let f = |x: &[Tensor]| {
        let a = AttendOptions {
            attn_mask: Some(&mask),
            key_padding_mask: Some(&kpm),
            need_weights: false,
            ..Default::default()
        };
        Ok(m.attend_with(&x[0], &x[1], &x[2], a)?.0)
    };
    gradcheck(f, &inputs, GradcheckOptions::default())?;
    Ok(())
}
