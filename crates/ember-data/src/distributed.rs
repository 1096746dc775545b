//! `DistributedSampler` (PyTorch's `torch.utils.data.distributed`): each rank of a
//! data-parallel job gets its own share of a data set. Every rank computes the same
//! permutation (seeded by `seed` and the epoch), pads it by repeating indices from its start so
//! it divides evenly (or, with `drop_last`, trims it), and takes every `num_replicas`-th index
//! from its rank on.

use ember_core::{Error, Generator, Result};

/// One rank's share of a data set's indices.
#[derive(Clone, Debug)]
pub struct DistributedSampler {
    len: usize,
    num_replicas: usize,
    rank: usize,
    shuffle: bool,
    seed: u64,
    drop_last: bool,
    epoch: u64,
}

impl DistributedSampler {
    /// The share of rank `rank` of `num_replicas` of a data set of `len` samples.
    pub fn new(
        len: usize,
        num_replicas: usize,
        rank: usize,
        shuffle: bool,
        seed: u64,
        drop_last: bool,
    ) -> Result<Self> {
        if num_replicas == 0 || rank >= num_replicas {
            return Err(Error::value(
                "DistributedSampler",
                format!("Invalid rank {rank}, rank should be in the interval [0, {}]", num_replicas as i64 - 1),
            ));
        }
        Ok(DistributedSampler { len, num_replicas, rank, shuffle, seed, drop_last, epoch: 0 })
    }

    /// Samples per rank: `ceil(len / replicas)`, or `floor` with `drop_last`.
    pub fn num_samples(&self) -> usize {
        if self.drop_last {
            self.len / self.num_replicas
        } else {
            self.len.div_ceil(self.num_replicas)
        }
    }

    /// Reshuffles for `epoch` (call it at the start of every epoch, on every rank).
    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// This rank's indices for the current epoch.
    pub fn indices(&self) -> Vec<usize> {
        let mut order: Vec<usize> = if self.shuffle {
            Generator::new(self.seed ^ self.epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)).permutation(self.len)
        } else {
            (0..self.len).collect()
        };
        let total = self.num_samples() * self.num_replicas;
        if order.is_empty() {
            return Vec::new();
        }
        while order.len() < total {
            let pad = (total - order.len()).min(order.len());
            order.extend_from_within(..pad);
        }
        order.truncate(total);
        order.into_iter().skip(self.rank).step_by(self.num_replicas).collect()
    }
}
