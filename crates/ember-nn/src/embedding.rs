//! `Embedding`: a lookup table `[num_embeddings, dim]` initialised `N(0, 1)`, with an optional
//! `padding_idx` row that starts at zero and receives no gradient, `max_norm` and
//! `scale_grad_by_freq`; `EmbeddingBag`: sums, means or maxima over bags of rows.

use crate::functional::{self as F, BagMode, EmbeddingOptions};
use crate::module::{param, Forward};
use crate::Module;
use ember_core::{no_grad, DType, Error, Result, Tensor};

/// A learned lookup table.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Embedding {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Tensor,
    pub padding_idx: Option<usize>,
    /// Rows looked up with a larger `norm_type`-norm are rescaled to this, in place.
    pub max_norm: Option<f64>,
    pub norm_type: f64,
    pub scale_grad_by_freq: bool,
}

impl Embedding {
    /// `Embedding(n, d)`.
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Result<Embedding> {
        let weight = param(Tensor::randn(&[num_embeddings, embedding_dim], DType::F32)?)?;
        Ok(Embedding::from_weights(weight))
    }

    /// `Embedding(n, d, padding_idx=p)`.
    #[track_caller]
    pub fn with_padding_idx(num_embeddings: usize, embedding_dim: usize, padding_idx: usize) -> Result<Embedding> {
        if padding_idx >= num_embeddings {
            return Err(Error::index(
                "Embedding",
                format!("padding_idx {padding_idx} must be within num_embeddings {num_embeddings}"),
            ));
        }
        let e = Embedding::new(num_embeddings, embedding_dim)?;
        no_grad(|| e.weight.select(0, padding_idx as isize)?.fill_(0.0))?;
        Ok(Embedding { padding_idx: Some(padding_idx), ..e })
    }

    /// A table from existing weights.
    pub fn from_weights(weight: Tensor) -> Embedding {
        Embedding { weight, padding_idx: None, max_norm: None, norm_type: 2.0, scale_grad_by_freq: false }
    }

    /// `Embedding.from_pretrained(embeddings, freeze=True, padding_idx, max_norm, norm_type,
    /// scale_grad_by_freq)`: the table is a copy of `embeddings`, trained unless `freeze`.
    #[track_caller]
    pub fn from_pretrained(embeddings: &Tensor, freeze: bool, opts: EmbeddingOptions) -> Result<Embedding> {
        if embeddings.dim() != 2 {
            return Err(Error::shape(
                "Embedding.from_pretrained",
                "Embeddings parameter is expected to be 2-dimensional",
            ));
        }
        if opts.padding_idx.is_some_and(|p| p >= embeddings.shape()[0]) {
            return Err(Error::index("Embedding.from_pretrained", "padding_idx must be within num_embeddings"));
        }
        let weight = embeddings.detach().contiguous()?.mul_scalar(1.0)?.set_requires_grad(!freeze)?;
        Ok(Embedding {
            weight,
            padding_idx: opts.padding_idx,
            max_norm: opts.max_norm,
            norm_type: opts.norm_type,
            scale_grad_by_freq: opts.scale_grad_by_freq,
        })
    }

    fn options(&self) -> EmbeddingOptions {
        EmbeddingOptions {
            padding_idx: self.padding_idx,
            max_norm: self.max_norm,
            norm_type: self.norm_type,
            scale_grad_by_freq: self.scale_grad_by_freq,
        }
    }
}

impl Forward for Embedding {
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        if self.max_norm.is_none() && !self.scale_grad_by_freq {
            return F::embedding(idx, &self.weight, self.padding_idx);
        }
        F::embedding_with(idx, &self.weight, self.options())
    }
}

/// `nn.EmbeddingBag(num_embeddings, embedding_dim, max_norm=None, norm_type=2, mode='mean',
/// include_last_offset=False, padding_idx=None)`.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct EmbeddingBag {
    /// `[num_embeddings, embedding_dim]`, initialised `N(0, 1)`.
    pub weight: Tensor,
    #[module(skip)]
    pub mode: BagMode,
    pub max_norm: Option<f64>,
    pub norm_type: f64,
    pub include_last_offset: bool,
    pub padding_idx: Option<usize>,
}

impl EmbeddingBag {
    /// A bag table with `mode` (PyTorch's default is `Mean`).
    pub fn new(num_embeddings: usize, embedding_dim: usize, mode: BagMode) -> Result<EmbeddingBag> {
        let weight = param(Tensor::randn(&[num_embeddings, embedding_dim], DType::F32)?)?;
        Ok(EmbeddingBag { weight, mode, max_norm: None, norm_type: 2.0, include_last_offset: false, padding_idx: None })
    }

    /// `forward(input, offsets, per_sample_weights)`.
    #[track_caller]
    pub fn forward_bags(
        &self,
        input: &Tensor,
        offsets: Option<&Tensor>,
        per_sample_weights: Option<&Tensor>,
    ) -> Result<Tensor> {
        if let Some(m) = self.max_norm {
            let ids = input.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?;
            if ids.iter().all(|&i| i >= 0 && (i as usize) < self.weight.shape()[0]) {
                F::embedding_renorm_(&self.weight, &ids, m, self.norm_type)?;
            }
        }
        F::embedding_bag(
            input,
            &self.weight,
            offsets,
            self.mode,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )
    }
}

impl Forward for EmbeddingBag {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        self.forward_bags(input, None, None)
    }
}
