//! Low-precision packed weights for inference: bf16, or int8 with one scale per output row,
//! multiplied with f32 activations by `ember-kernels`' low-precision GEMMs. No autograd: train
//! with ordinary tensors and `matmul`.

use crate::autograd::is_grad_enabled;
use crate::error::{Error, Result};
use crate::{bf16, DType, Tensor};
use ember_kernels::quant::{matmul_lowp, quantize_rows_i8, Weights};
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Packed {
    Bf16(Arc<Vec<bf16>>),
    Int8(Arc<Vec<i8>>, Arc<Vec<f32>>),
}

/// A weight matrix `[N, K]` stored in low precision for `x W^T` products.
#[derive(Clone, Debug)]
pub struct PackedWeight {
    n: usize,
    k: usize,
    data: Packed,
}

#[track_caller]
fn matrix_f32(w: &Tensor, op: &'static str) -> Result<(usize, usize, Vec<f32>)> {
    if w.dim() != 2 {
        return Err(Error::shape(op, format!("expected a 2-D weight [out, in], got {:?}", w.shape())));
    }
    Ok((w.shape()[0], w.shape()[1], w.detach().to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?))
}

impl PackedWeight {
    /// bf16 storage (half the bytes of f32).
    #[track_caller]
    pub fn bf16(w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::bf16")?;
        Ok(PackedWeight { n, k, data: Packed::Bf16(Arc::new(v.into_iter().map(bf16::from_f32).collect())) })
    }

    /// Weight-only int8 with per-output-row scales (a quarter of the bytes of f32).
    #[track_caller]
    pub fn int8(w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::int8")?;
        let (q, s) = quantize_rows_i8(&v, n, k);
        Ok(PackedWeight { n, k, data: Packed::Int8(Arc::new(q), Arc::new(s)) })
    }

    /// `[N, K]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.n, self.k]
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match &self.data {
            Packed::Bf16(w) => w.len() * 2,
            Packed::Int8(w, s) => w.len() + s.len() * 4,
        }
    }

    /// The weights as f32 `[N, K]` (dequantised).
    pub fn to_tensor(&self) -> Result<Tensor> {
        let v: Vec<f32> = match &self.data {
            Packed::Bf16(w) => w.iter().map(|b| b.to_f32()).collect(),
            Packed::Int8(w, s) => w.iter().enumerate().map(|(i, &q)| q as f32 * s[i / self.k]).collect(),
        };
        Tensor::from_vec(v, &[self.n, self.k])
    }

    /// `x W[rows]^T` for `x [..., K]` (f32): output `[..., len]` for rows `start..start + len`
    /// of the weight (`None`: all rows).
    #[track_caller]
    pub fn matmul_t(&self, x: &Tensor, rows: Option<(usize, usize)>) -> Result<Tensor> {
        let (start, len) = rows.unwrap_or((0, self.n));
        if start + len > self.n {
            return Err(Error::index(
                "PackedWeight::matmul_t",
                format!("rows {start}..{} of a [{}, {}] weight", start + len, self.n, self.k),
            ));
        }
        if x.dim() == 0 || x.shape()[x.dim() - 1] != self.k {
            return Err(Error::shape(
                "PackedWeight::matmul_t",
                format!("input {:?} does not end in {} (weight [{}, {}])", x.shape(), self.k, self.n, self.k),
            ));
        }
        if x.requires_grad() && is_grad_enabled() {
            return Err(Error::unsupported(
                "PackedWeight::matmul_t",
                "packed low-precision weights are inference-only (no gradients)",
            ));
        }
        let m = x.numel() / self.k;
        let xs = x.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?;
        let mut out = vec![0.0f32; m * len];
        let k = self.k;
        let w = match &self.data {
            Packed::Bf16(w) => Weights::Bf16(&w[start * k..(start + len) * k]),
            Packed::Int8(w, s) => Weights::Int8(&w[start * k..(start + len) * k], &s[start..start + len]),
        };
        matmul_lowp(&xs, m, k, w, len, &mut out);
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("x.dim() > 0 checked above") = len;
        Tensor::from_vec(out, &shape)
    }
}
