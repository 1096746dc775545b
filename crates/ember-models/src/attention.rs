//! Scaled dot-product attention for the models: causal masking with a cache offset, grouped
//! query attention by broadcasting (no copy of the shared key/value heads), an optional
//! additive padding mask. Inference without autograd on f32 goes to the fused kernel
//! (`ember_kernels::attention`), which never materialises the `T x S` score matrix.

use ember_core::autograd::is_grad_enabled;
use ember_core::{DType, Error, Result, Tensor};

/// `[T, past + T]` additive mask: 0 where query `i` may see key `j` (`j <= past + i`), -inf
/// elsewhere.
pub fn causal_mask(t: usize, past: usize) -> Result<Tensor> {
    let s = past + t;
    let v: Vec<f32> = (0..t * s).map(|k| if k % s <= past + k / s { 0.0 } else { f32::NEG_INFINITY }).collect();
    Tensor::from_vec(v, &[t, s])
}

/// `softmax(q k^T * scale + masks) v`: q `[B, H, T, hd]`, k and v `[B, KV, S, hd]` with `H` a
/// multiple of `KV`; `past = S - T` positions precede the queries. `pad_mask` is additive,
/// broadcastable to `[B, 1, 1, S]` (0 keep, -inf drop). Returns `[B, H, T, hd]`.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, causal: bool, pad_mask: Option<&Tensor>) -> Result<Tensor> {
    let (b, h, t, hd) = (q.shape()[0], q.shape()[1], q.shape()[2], q.shape()[3]);
    let (kv, s) = (k.shape()[1], k.shape()[2]);
    if kv == 0 || h % kv != 0 || s < t {
        return Err(Error::shape(
            "attention",
            format!(
                "q {:?} and k {:?}: heads must be a multiple of kv heads and keys cover the queries",
                q.shape(),
                k.shape()
            ),
        ));
    }
    let past = s - t;
    let scale = 1.0 / (hd as f64).sqrt();
    if !is_grad_enabled() && q.dtype() == DType::F32 && k.dtype() == DType::F32 && pad_mask.is_none() && t > 1 {
        return Tensor::flash_attention(q, k, v, causal, scale);
    }
    let rep = h / kv;
    if rep == 1 {
        // Plain multi-head attention: [B, H, T, hd] x [B, H, hd, S] -> [B, H, T, S].
        let mut att = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(scale)?;
        if causal && t > 1 {
            att = att.add(&causal_mask(t, past)?)?;
        }
        if let Some(m) = pad_mask {
            att = att.add(&m.reshape(&[b as isize, 1, 1, s as isize])?)?;
        }
        return att.softmax(-1)?.matmul(v);
    }
    let (bi, kvi, ti, hdi, si) = (b as isize, kv as isize, t as isize, hd as isize, s as isize);
    // [B, KV, rep, T, hd] x [B, KV, 1, hd, S] -> [B, KV, rep, T, S]
    let qg = q.reshape(&[bi, kvi, rep as isize, ti, hdi])?;
    let mut att = qg.matmul(&k.unsqueeze(2)?.transpose(-2, -1)?)?.mul_scalar(scale)?;
    if causal && t > 1 {
        att = att.add(&causal_mask(t, past)?)?;
    }
    if let Some(m) = pad_mask {
        att = att.add(&m.reshape(&[bi, 1, 1, 1, si])?)?;
    }
    let y = att.softmax(-1)?.matmul(&v.unsqueeze(2)?)?; // [B, KV, rep, T, hd]
    y.reshape(&[bi, h as isize, ti, hdi])
}
