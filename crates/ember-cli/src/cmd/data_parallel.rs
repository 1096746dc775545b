//! Data-parallel training for the `train` commands under an MPI launcher
//! (`mpirun -np N ember train char ...`): every rank draws the same global batch (the data
//! generator is shared, so a checkpoint resumes the same way at any world size), trains on its
//! rows, and a gradient reducer averages the gradients during backward (DDP's reducer). Rank 0
//! alone validates, logs, plots, samples and saves. Run alone, none of this happens.

use ember::distributed::{self as dist, ProcessGroup, ReduceOp, Reducer, ReducerOptions};
use ember::nn::Module;
use ember::{DType, Error, Result, Tensor};
use std::sync::Arc;

/// This process's part in a data-parallel job.
pub struct DataParallel {
    group: Arc<dyn ProcessGroup>,
    _reducer: Option<Reducer>,
}

impl DataParallel {
    /// Joins the job an MPI launcher started; `None` when the program runs alone.
    pub fn from_launcher() -> Result<Option<DataParallel>> {
        match dist::launcher_world_size() {
            Some(n) if n > 1 => {
                let group = dist::init_process_group("mpi")?;
                Ok(Some(DataParallel { group, _reducer: None }))
            }
            _ => Ok(None),
        }
    }

    pub fn rank(&self) -> usize {
        self.group.rank()
    }

    pub fn size(&self) -> usize {
        self.group.size()
    }

    /// Checks every rank has the same model, copies rank 0's weights to all, and starts
    /// averaging `model`'s gradients in every backward from now on.
    pub fn attach(&mut self, model: &dyn Module) -> Result<()> {
        let named = model.named_parameters();
        dist::verify_params_across_ranks(&*self.group, &named)?;
        let state: Vec<Tensor> = named.iter().map(|(_, t)| t.clone()).chain(model.buffers()).collect();
        dist::broadcast_from_rank0(&*self.group, &state)?;
        let opts = ReducerOptions { names: named.iter().map(|(n, _)| n.clone()).collect(), ..Default::default() };
        self._reducer = Some(Reducer::new(named.into_iter().map(|(_, t)| t).collect(), self.group.clone(), opts)?);
        Ok(())
    }

    /// This rank's rows of a global batch (`[B, ...]` -> `[B / world, ...]`).
    pub fn shard(&self, t: &Tensor) -> Result<Tensor> {
        let rows = t.shape()[0] / self.size();
        t.narrow(0, self.rank() * rows, rows)
    }

    /// Every rank's batch size must split evenly.
    pub fn check_batch(&self, batch: usize) -> Result<()> {
        if !batch.is_multiple_of(self.size()) {
            return Err(Error::value(
                "train",
                format!("--batch {batch} does not split evenly over {} processes", self.size()),
            ));
        }
        Ok(())
    }

    /// The step's loss averaged over the ranks, and whether any rank was interrupted (so all
    /// stop at the same step and rank 0's checkpoint is the state every rank holds).
    pub fn agree(&self, loss: f64, interrupted: bool) -> Result<(f64, bool)> {
        let t = Tensor::from_vec(vec![loss, if interrupted { 1.0 } else { 0.0 }], &[2])?;
        self.group.all_reduce(&t, ReduceOp::Sum)?.wait()?;
        let v = t.to_dtype(DType::F64)?.to_vec::<f64>()?;
        Ok((v[0] / self.size() as f64, v[1] > 0.0))
    }

    /// Waits for every rank, then ends the job's communication (MPI is finalised).
    pub fn finish(self) -> Result<()> {
        self.group.barrier()?.wait()?;
        drop(self._reducer);
        dist::destroy_process_group();
        Ok(())
    }
}
