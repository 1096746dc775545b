//! Low-precision packed weights for inference: bf16, int8 with one scale per output row, or
//! llama.cpp's Q8_0 blocks (GGUF's format), multiplied with f32 activations by `ember-kernels`'
//! low-precision GEMMs. No autograd: train with ordinary tensors and `matmul`.

use crate::autograd::is_grad_enabled;
use crate::error::{Error, Result};
use crate::{bf16, DType, Tensor};
use ember_kernels::quant::{matmul_lowp, quantize_q8_0, quantize_rows_i8, Weights, Q8_0_BLOCK, Q8_0_BLOCK_BYTES};
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Packed {
    Bf16(Arc<Vec<bf16>>),
    Int8(Arc<Vec<i8>>, Arc<Vec<f32>>),
    Q8_0(Arc<Vec<u8>>),
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

    /// llama.cpp's Q8_0 (blocks of 32 int8 values with an f16 scale; 34 bytes per 32 weights),
    /// quantised from `w`, whose rows must hold whole blocks.
    #[track_caller]
    pub fn q8_0(w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::q8_0")?;
        if !k.is_multiple_of(Q8_0_BLOCK) {
            return Err(Error::shape(
                "PackedWeight::q8_0",
                format!("rows of {k} values do not split into blocks of 32"),
            ));
        }
        Ok(PackedWeight { n, k, data: Packed::Q8_0(Arc::new(quantize_q8_0(&v))) })
    }

    /// Q8_0 blocks as a GGUF file stores them (`[N, K]` row by row), kept as they are.
    #[track_caller]
    pub fn from_q8_0_blocks(n: usize, k: usize, blocks: Vec<u8>) -> Result<PackedWeight> {
        let want = (k / Q8_0_BLOCK).checked_mul(Q8_0_BLOCK_BYTES).and_then(|r| r.checked_mul(n));
        if !k.is_multiple_of(Q8_0_BLOCK) || want != Some(blocks.len()) {
            return Err(Error::shape(
                "PackedWeight::from_q8_0_blocks",
                format!("{} bytes are not the Q8_0 blocks of a [{n}, {k}] matrix", blocks.len()),
            ));
        }
        Ok(PackedWeight { n, k, data: Packed::Q8_0(Arc::new(blocks)) })
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
            Packed::Q8_0(b) => b.len(),
        }
    }

    /// The weights as f32 `[N, K]` (dequantised).
    pub fn to_tensor(&self) -> Result<Tensor> {
        let v: Vec<f32> = match &self.data {
            Packed::Bf16(w) => w.iter().map(|b| b.to_f32()).collect(),
            Packed::Int8(w, s) => w.iter().enumerate().map(|(i, &q)| q as f32 * s[i / self.k]).collect(),
            Packed::Q8_0(b) => b
                .chunks_exact(Q8_0_BLOCK_BYTES)
                .flat_map(|blk| {
                    let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                    blk[2..].iter().map(move |&q| d * q as i8 as f32)
                })
                .collect(),
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
            Packed::Q8_0(b) => {
                let row = k / Q8_0_BLOCK * Q8_0_BLOCK_BYTES;
                Weights::Q8_0(&b[start * row..(start + len) * row])
            }
        };
        matmul_lowp(&xs, m, k, w, len, &mut out);
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("x.dim() > 0 checked above") = len;
        Tensor::from_vec(out, &shape)
    }
}
