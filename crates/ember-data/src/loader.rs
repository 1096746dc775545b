//! `DataLoader`: batches of a [`Dataset`] with seeded shuffling, `drop_last`, custom collation
//! and worker threads.
//!
//! With `num_workers > 0`, the iterator keeps up to `num_workers * prefetch_factor` batch jobs
//! in flight on a channel that the workers pull from, and reorders finished batches, so batches
//! arrive in order and memory stays bounded; dropping the iterator stops the workers.

use crate::Dataset;
use ember_core::{Error, Generator, Result, Tensor};
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `DataLoader` options (PyTorch's names and defaults).
#[derive(Clone, Copy, Debug)]
pub struct DataLoaderConfig {
    pub batch_size: usize,
    pub shuffle: bool,
    pub drop_last: bool,
    /// Background threads producing batches (0: on the calling thread).
    pub num_workers: usize,
    /// Batches each worker may have ready ahead of the consumer.
    pub prefetch_factor: usize,
    /// Seed of the shuffling stream (epoch `e` uses a permutation derived from it).
    pub seed: u64,
    /// `Some((rank, num_replicas))`: only this rank's share of every epoch, as PyTorch's
    /// `DistributedSampler` gives it (`shuffle`, `seed` and `drop_last` apply to the share).
    pub shard: Option<(usize, usize)>,
}

impl Default for DataLoaderConfig {
    fn default() -> Self {
        DataLoaderConfig {
            batch_size: 1,
            shuffle: false,
            drop_last: false,
            num_workers: 0,
            prefetch_factor: 2,
            seed: 0,
            shard: None,
        }
    }
}

/// Turns a list of sample indices into a batch.
type Batcher<B> = Arc<dyn Fn(&[usize]) -> Result<B> + Send + Sync>;

/// Batches of a data set. Each call to [`DataLoader::iter`] is one epoch.
pub struct DataLoader<D: Dataset, B = <D as Dataset>::Item> {
    dataset: Arc<D>,
    cfg: DataLoaderConfig,
    batcher: Batcher<B>,
    epoch: u64,
}

/// Stacks each position of `Vec<Tensor>` items along a new dim 0 (the default collation).
pub fn collate_stack(items: Vec<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    let Some(first) = items.first() else { return Ok(Vec::new()) };
    (0..first.len())
        .map(|k| {
            let col: Vec<&Tensor> = items.iter().map(|it| &it[k]).collect();
            Tensor::stack(&col, 0)
        })
        .collect()
}

impl<D: Dataset<Item = Vec<Tensor>> + 'static> DataLoader<D, Vec<Tensor>> {
    /// A loader with the default collation (stacking), using the data set's own batching
    /// when it has one (`TensorDataset`).
    #[track_caller]
    pub fn new(dataset: D, cfg: DataLoaderConfig) -> Result<Self> {
        Self::from_arc(Arc::new(dataset), cfg)
    }

    /// Like [`DataLoader::new`] for a shared data set.
    #[track_caller]
    pub fn from_arc(dataset: Arc<D>, cfg: DataLoaderConfig) -> Result<Self> {
        check(&cfg)?;
        let d = dataset.clone();
        let batcher: Batcher<Vec<Tensor>> = Arc::new(move |idx: &[usize]| match d.get_batch(idx) {
            Some(b) => b,
            None => collate_stack(idx.iter().map(|&i| d.get(i)).collect::<Result<_>>()?),
        });
        Ok(DataLoader { dataset, cfg, batcher, epoch: 0 })
    }
}

#[track_caller]
fn check(cfg: &DataLoaderConfig) -> Result<()> {
    if cfg.batch_size == 0 {
        return Err(Error::value("DataLoader", "batch_size should be a positive integer"));
    }
    if let Some((rank, replicas)) = cfg.shard {
        crate::DistributedSampler::new(0, replicas, rank, false, 0, false)?;
    }
    Ok(())
}

impl<D: Dataset + 'static, B: Send + 'static> DataLoader<D, B> {
    /// A loader with a custom collate function (PyTorch's `collate_fn`).
    #[track_caller]
    pub fn with_collate(
        dataset: Arc<D>,
        cfg: DataLoaderConfig,
        collate: impl Fn(Vec<D::Item>) -> Result<B> + Send + Sync + 'static,
    ) -> Result<Self> {
        check(&cfg)?;
        let d = dataset.clone();
        let batcher: Batcher<B> =
            Arc::new(move |idx: &[usize]| collate(idx.iter().map(|&i| d.get(i)).collect::<Result<_>>()?));
        Ok(DataLoader { dataset, cfg, batcher, epoch: 0 })
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.cfg.drop_last {
            n / self.cfg.batch_size
        } else {
            n.div_ceil(self.cfg.batch_size)
        }
    }

    /// Whether an epoch yields no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<D> {
        &self.dataset
    }

    /// Sets the epoch counter (the shuffle of epoch `e` is a function of (seed, e)).
    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    fn batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        let n = self.dataset.len();
        let order: Vec<usize> = if let Some((rank, replicas)) = self.cfg.shard {
            // The shard was checked when the loader was made, so `new` cannot fail here.
            crate::DistributedSampler::new(n, replicas, rank, self.cfg.shuffle, self.cfg.seed, self.cfg.drop_last)
                .map(|mut s| {
                    s.set_epoch(epoch);
                    s.indices()
                })
                .unwrap_or_default()
        } else if self.cfg.shuffle {
            Generator::new(self.cfg.seed ^ epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)).permutation(n)
        } else {
            (0..n).collect()
        };
        let mut out: Vec<Vec<usize>> = order.chunks(self.cfg.batch_size).map(|c| c.to_vec()).collect();
        if self.cfg.drop_last && out.last().is_some_and(|b| b.len() < self.cfg.batch_size) {
            out.pop();
        }
        out
    }

    /// The batches of the next epoch, in order.
    pub fn iter(&mut self) -> BatchIter<B> {
        let batches = self.batches(self.epoch);
        self.epoch += 1;
        let make = self.batcher.clone();
        if self.cfg.num_workers == 0 {
            return BatchIter { batches, next: 0, make, workers: None };
        }
        let window = self.cfg.num_workers * self.cfg.prefetch_factor.max(1);
        let (job_tx, job_rx) = sync_channel::<(usize, Vec<usize>)>(window);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, res_rx) = channel::<(usize, Result<B>)>();
        let handles = (0..self.cfg.num_workers)
            .map(|_| {
                let (rx, tx, make) = (job_rx.clone(), res_tx.clone(), make.clone());
                std::thread::spawn(move || worker(rx, tx, make))
            })
            .collect();
        let mut w = Workers { job_tx: Some(job_tx), res_rx, handles, sent: 0, ready: BTreeMap::new() };
        for _ in 0..window {
            w.send_next(&batches);
        }
        BatchIter { batches, next: 0, make, workers: Some(w) }
    }
}

fn worker<B>(jobs: Arc<Mutex<Receiver<(usize, Vec<usize>)>>>, results: Sender<(usize, Result<B>)>, make: Batcher<B>) {
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((k, idx)) = job else { return };
        if results.send((k, make(&idx))).is_err() {
            return;
        }
    }
}

struct Workers<B> {
    job_tx: Option<SyncSender<(usize, Vec<usize>)>>,
    res_rx: Receiver<(usize, Result<B>)>,
    handles: Vec<JoinHandle<()>>,
    sent: usize,
    ready: BTreeMap<usize, Result<B>>,
}

impl<B> Workers<B> {
    fn send_next(&mut self, batches: &[Vec<usize>]) {
        if self.sent < batches.len() {
            if let Some(tx) = &self.job_tx {
                if tx.send((self.sent, batches[self.sent].clone())).is_ok() {
                    self.sent += 1;
                }
            }
        }
    }
}

impl<B> Drop for Workers<B> {
    fn drop(&mut self) {
        self.job_tx = None; // workers see a closed job channel and exit
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// One epoch's batches.
pub struct BatchIter<B> {
    batches: Vec<Vec<usize>>,
    next: usize,
    make: Batcher<B>,
    workers: Option<Workers<B>>,
}

impl<B> Iterator for BatchIter<B> {
    type Item = Result<B>;

    fn next(&mut self) -> Option<Result<B>> {
        if self.next >= self.batches.len() {
            return None;
        }
        let k = self.next;
        self.next += 1;
        let Some(w) = &mut self.workers else {
            return Some((self.make)(&self.batches[k]));
        };
        loop {
            if let Some(b) = w.ready.remove(&k) {
                w.send_next(&self.batches);
                return Some(b);
            }
            match w.res_rx.recv() {
                Ok((i, b)) => {
                    w.ready.insert(i, b);
                }
                Err(_) => return Some(Err(Error::unsupported("DataLoader", "a worker thread stopped unexpectedly"))),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batches.len() - self.next;
        (left, Some(left))
    }
}
