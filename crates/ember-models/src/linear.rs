//! `AnyLinear`: a linear layer whose weight is f32 (trainable, an ordinary `nn::Linear`) or
//! packed for inference as bf16, weight-only int8 (per-output-channel scales) or one of
//! llama.cpp's block formats, chosen when a model is loaded (`--dtype`); `AnyEmbedding`, a
//! token table that may stay block-quantised (rows dequantised as they are looked up).

use ember_core::fused::{BlockFormat, PackedWeight};
use ember_core::{DType, Error, Result, Tensor};
use ember_nn::{Embedding, Forward, Linear, Module};

/// How a model stores its linear weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// f32, trainable.
    #[default]
    F32,
    /// bf16, computed with f32 accumulation.
    Bf16,
    /// int8 with one f32 scale per output row, dequantised inside the product.
    Int8,
    /// One of llama.cpp's block formats, dequantised inside the product (Ember quantises to
    /// Q8_0, Q4_0 and Q4_K; a GGUF file's blocks of any format load unchanged with
    /// [`WeightFormat::AsStored`]).
    Blocks(BlockFormat),
    /// As the file stores them: a GGUF file's block-quantised weights stay in their blocks
    /// (pointing into the mapped file), everything else is f32.
    AsStored,
}

impl std::str::FromStr for WeightFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<WeightFormat> {
        match s {
            "f32" => Ok(WeightFormat::F32),
            "bf16" => Ok(WeightFormat::Bf16),
            "int8" => Ok(WeightFormat::Int8),
            "q8_0" => Ok(WeightFormat::Blocks(BlockFormat::Q8_0)),
            "q4_0" => Ok(WeightFormat::Blocks(BlockFormat::Q4_0)),
            "q4_k" => Ok(WeightFormat::Blocks(BlockFormat::Q4_K)),
            "auto" => Ok(WeightFormat::AsStored),
            other => Err(Error::value(
                "WeightFormat",
                format!("unknown weight format {other:?} (f32, bf16, int8, q8_0, q4_0, q4_k, auto)"),
            )),
        }
    }
}

/// A linear layer `y = x W^T + b` with `W [out, in]` in any [`WeightFormat`].
#[derive(Debug, Clone, Module)]
#[module(crate = "ember_nn")]
pub enum AnyLinear {
    F32(#[module(transparent)] Linear),
    /// Packed weights are not tensors (inference-only); the bias still is.
    Packed {
        #[module(skip)]
        weight: PackedWeight,
        bias: Option<Tensor>,
    },
}

impl AnyLinear {
    /// From an f32 weight `[out, in]` and optional bias, packed as `format`.
    pub fn new(weight: Tensor, bias: Option<Tensor>, format: WeightFormat) -> Result<AnyLinear> {
        Ok(match format {
            WeightFormat::F32 | WeightFormat::AsStored => AnyLinear::F32(Linear::from_weights(weight, bias)),
            WeightFormat::Bf16 => AnyLinear::Packed { weight: PackedWeight::bf16(&weight)?, bias },
            WeightFormat::Int8 => AnyLinear::Packed { weight: PackedWeight::int8(&weight)?, bias },
            WeightFormat::Blocks(f) => AnyLinear::Packed { weight: PackedWeight::blocks(f, &weight)?, bias },
        })
    }

    /// Repacks an f32 layer (a no-op for `F32`).
    pub fn pack(self, format: WeightFormat) -> Result<AnyLinear> {
        match self {
            AnyLinear::F32(l) if !matches!(format, WeightFormat::F32 | WeightFormat::AsStored) => {
                AnyLinear::new(l.weight.detach(), l.bias.map(|b| b.detach()), format)
            }
            other => Ok(other),
        }
    }

    /// `[out, in]`.
    pub fn shape(&self) -> [usize; 2] {
        match self {
            AnyLinear::F32(l) => [l.weight.shape()[0], l.weight.shape()[1]],
            AnyLinear::Packed { weight, .. } => weight.shape(),
        }
    }

    /// The output rows `start..start + len` only (e.g. q, k or v of a fused projection).
    pub fn forward_rows(&self, x: &Tensor, start: usize, len: usize) -> Result<Tensor> {
        match self {
            AnyLinear::F32(l) => {
                let b = l.bias.as_ref().map(|b| b.narrow(0, start, len)).transpose()?;
                ember_nn::functional::linear(x, &l.weight.narrow(0, start, len)?, b.as_ref())
            }
            AnyLinear::Packed { weight, bias } => {
                let y = weight.matmul_t(x, Some((start, len)))?;
                match bias {
                    Some(b) => y.add(&b.narrow(0, start, len)?),
                    None => Ok(y),
                }
            }
        }
    }

    /// Bytes of weight storage.
    pub fn weight_bytes(&self) -> usize {
        match self {
            AnyLinear::F32(l) => l.weight.numel() * 4,
            AnyLinear::Packed { weight, .. } => weight.nbytes(),
        }
    }
}

impl Forward for AnyLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            AnyLinear::F32(l) => l.forward(x),
            AnyLinear::Packed { weight, bias } => {
                let y = weight.matmul_t(x, None)?;
                match bias {
                    Some(b) => y.add(b),
                    None => Ok(y),
                }
            }
        }
    }
}

/// A token embedding table: f32 (trainable) or packed, whose rows are dequantised as they are
/// looked up (a quantised GGUF table stays quantised; tied output heads share it).
#[derive(Debug, Clone, Module)]
#[module(crate = "ember_nn")]
pub enum AnyEmbedding {
    F32(#[module(transparent)] Embedding),
    Packed(#[module(skip)] PackedWeight),
}

impl Forward for AnyEmbedding {
    /// `idx [...]` (integer ids) to `[..., D]`.
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        match self {
            AnyEmbedding::F32(e) => e.forward(idx),
            AnyEmbedding::Packed(w) => {
                let ids: Vec<i64> = idx.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?;
                let ids: Vec<usize> = ids
                    .iter()
                    .map(|&i| {
                        usize::try_from(i).map_err(|_| Error::index("Embedding", format!("index {i} is out of range")))
                    })
                    .collect::<Result<_>>()?;
                let mut shape = idx.shape().to_vec();
                shape.push(w.shape()[1]);
                w.rows(&ids)?.reshape(&shape)
            }
        }
    }
}
