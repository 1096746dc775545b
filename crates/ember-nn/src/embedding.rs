//! `Embedding`: a lookup table `[num_embeddings, dim]` initialised `N(0, 1)`, with an optional
//! `padding_idx` row that starts at zero and receives no gradient.

use crate::functional as F;
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
}

impl Embedding {
    /// `Embedding(n, d)`.
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Result<Embedding> {
        let weight = param(Tensor::randn(&[num_embeddings, embedding_dim], DType::F32)?)?;
        Ok(Embedding { weight, padding_idx: None })
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
        Embedding { weight, padding_idx: None }
    }
}

impl Forward for Embedding {
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        F::embedding(idx, &self.weight, self.padding_idx)
    }
}
