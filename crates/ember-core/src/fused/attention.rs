//! Fused attention for inference: `softmax(q k^T * scale [+ causal]) v` without storing the
//! score matrix (no autograd: asking for it while recording gradients is an error).

use crate::autograd::is_grad_enabled;
use crate::error::{Error, Result};
use crate::{DType, Tensor};
use ember_kernels::attention::{attention, AttnDims};

impl Tensor {
    /// Fused attention `softmax(q k^T * scale [+ causal]) v` for inference (f32; no gradients):
    /// q `[B, H, T, hd]`, k and v `[B, KV, S, hd]` (`H` a multiple of `KV`; query `i` sits at
    /// position `S - T + i`). Memory stays O(S) per thread: no `T x S` scores are stored.
    #[track_caller]
    pub fn flash_attention(q: &Tensor, k: &Tensor, v: &Tensor, causal: bool, scale: f64) -> Result<Tensor> {
        if q.dim() != 4 || k.dim() != 4 || v.shape() != k.shape() {
            return Err(Error::shape(
                "flash_attention",
                format!(
                    "expected q [B, H, T, hd] and k, v [B, KV, S, hd]; got {:?}, {:?}, {:?}",
                    q.shape(),
                    k.shape(),
                    v.shape()
                ),
            ));
        }
        let (b, h, t, hd) = (q.shape()[0], q.shape()[1], q.shape()[2], q.shape()[3]);
        let (kv, s) = (k.shape()[1], k.shape()[2]);
        if k.shape()[0] != b || k.shape()[3] != hd || kv == 0 || h % kv != 0 || s < t {
            return Err(Error::shape(
                "flash_attention",
                format!("q {:?} and k {:?} do not fit (heads a multiple of kv heads, S >= T)", q.shape(), k.shape()),
            ));
        }
        if (q.requires_grad() || k.requires_grad() || v.requires_grad()) && is_grad_enabled() {
            return Err(Error::unsupported(
                "flash_attention",
                "the fused kernel has no backward; use the composite attention when training",
            ));
        }
        let f = |x: &Tensor| -> Result<Vec<f32>> { x.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>() };
        let (qv, kv_, vv) = (f(q)?, f(k)?, f(v)?);
        let mut out = vec![0.0f32; qv.len()];
        attention(&qv, &kv_, &vv, &mut out, AttnDims { b, h, kv, t, s, hd, causal, scale: scale as f32 });
        Tensor::from_vec(out, q.shape())
    }
}
