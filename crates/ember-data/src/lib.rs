//! ember-data: PyTorch's `torch.utils.data` for Ember.
//!
//! [`Dataset`] is an indexable collection; [`DataLoader`] batches it with seeded shuffling,
//! `drop_last`, custom collation and `num_workers` background threads that prefetch batches
//! in order. [`datasets`] reads MNIST/Fashion-MNIST (IDX, gzip or raw) and character text.

pub mod datasets;
mod distributed;
mod loader;

pub use distributed::DistributedSampler;
pub use loader::{collate_stack, DataLoader, DataLoaderConfig};

use ember_core::{Error, Result, Tensor};
use std::sync::Arc;

/// An indexable collection of samples (`torch.utils.data.Dataset`).
pub trait Dataset: Send + Sync {
    /// One sample.
    type Item: Send;
    /// Number of samples.
    fn len(&self) -> usize;
    /// Sample `i` (an error when out of range).
    fn get(&self, i: usize) -> Result<Self::Item>;
    /// Whether the data set is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A whole batch at once, when the data set can do better than collating single items
    /// (e.g. one `index_select` per tensor). `None` means "collate items".
    fn get_batch(&self, _indices: &[usize]) -> Option<Result<Self::Item>> {
        None
    }
}

/// Samples are the rows of equally long tensors (`torch.utils.data.TensorDataset`); an item is
/// one row of each tensor.
#[derive(Clone, Debug)]
pub struct TensorDataset {
    tensors: Vec<Tensor>,
}

impl TensorDataset {
    /// Wraps tensors that share their first dim.
    #[track_caller]
    pub fn new(tensors: Vec<Tensor>) -> Result<TensorDataset> {
        let Some(first) = tensors.first() else {
            return Err(Error::value("TensorDataset", "at least one tensor is required"));
        };
        let n = first.shape().first().copied().unwrap_or(0);
        if let Some(t) = tensors.iter().find(|t| t.shape().first().copied() != Some(n)) {
            return Err(Error::shape(
                "TensorDataset",
                format!("size mismatch between tensors: {:?} vs {:?}", first.shape(), t.shape()),
            ));
        }
        Ok(TensorDataset { tensors })
    }

    /// The wrapped tensors.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }
}

impl Dataset for TensorDataset {
    type Item = Vec<Tensor>;
    fn len(&self) -> usize {
        self.tensors[0].shape()[0]
    }
    fn get(&self, i: usize) -> Result<Vec<Tensor>> {
        if i >= self.len() {
            return Err(Error::index("TensorDataset", format!("index {i} out of range for {} samples", self.len())));
        }
        self.tensors.iter().map(|t| t.select(0, i as isize)).collect()
    }
    fn get_batch(&self, indices: &[usize]) -> Option<Result<Vec<Tensor>>> {
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        Some(
            Tensor::from_vec(idx, &[indices.len()])
                .and_then(|idx| self.tensors.iter().map(|t| t.index_select(0, &idx)).collect()),
        )
    }
}

/// A view of some samples of another data set (from [`random_split`]).
pub struct Subset<D: Dataset> {
    pub dataset: Arc<D>,
    pub indices: Vec<usize>,
}

impl<D: Dataset> Dataset for Subset<D> {
    type Item = D::Item;
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, i: usize) -> Result<D::Item> {
        let j = *self.indices.get(i).ok_or_else(|| {
            Error::index("Subset", format!("index {i} out of range for {} samples", self.indices.len()))
        })?;
        self.dataset.get(j)
    }
    fn get_batch(&self, indices: &[usize]) -> Option<Result<D::Item>> {
        let mapped: Option<Vec<usize>> = indices.iter().map(|&i| self.indices.get(i).copied()).collect();
        match mapped {
            Some(m) => self.dataset.get_batch(&m),
            None => Some(Err(Error::index("Subset", "batch index out of range"))),
        }
    }
}

/// Splits a data set into non-overlapping random subsets of the given lengths (seeded).
#[track_caller]
pub fn random_split<D: Dataset>(dataset: Arc<D>, lengths: &[usize], seed: u64) -> Result<Vec<Subset<D>>> {
    if lengths.iter().sum::<usize>() != dataset.len() {
        return Err(Error::value(
            "random_split",
            format!(
                "sum of input lengths {lengths:?} does not equal the length of the input dataset ({})",
                dataset.len()
            ),
        ));
    }
    let perm = ember_core::Generator::new(seed).permutation(dataset.len());
    let mut start = 0;
    Ok(lengths
        .iter()
        .map(|&n| {
            let s = Subset { dataset: dataset.clone(), indices: perm[start..start + n].to_vec() };
            start += n;
            s
        })
        .collect())
}
