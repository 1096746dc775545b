//! `SequentialLR`: one scheduler after another, switching at milestone epochs (warm-up then
//! decay is the usual use).

use super::LrScheduler;
use crate::Optimizer;
use ember_core::{Error, Result};

/// Runs `schedulers[i]` between `milestones[i-1]` and `milestones[i]`; at each milestone the
/// next scheduler restarts from epoch 0 (PyTorch's `step(0)`).
pub struct SequentialLr {
    pub schedulers: Vec<Box<dyn LrScheduler>>,
    pub milestones: Vec<i64>,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl SequentialLr {
    /// `SequentialLR(opt, schedulers, milestones)`: the schedulers were constructed on `opt`;
    /// their construction steps are undone and only the first one's is replayed, as PyTorch.
    #[track_caller]
    pub fn new(
        opt: &mut dyn Optimizer,
        mut schedulers: Vec<Box<dyn LrScheduler>>,
        milestones: &[usize],
    ) -> Result<SequentialLr> {
        if schedulers.is_empty() {
            return Err(Error::value("SequentialLR", "expects at least one scheduler"));
        }
        if milestones.len() != schedulers.len() - 1 {
            return Err(Error::value(
                "SequentialLR",
                format!(
                    "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers {} and the number of milestones to be equal to {}",
                    schedulers.len(),
                    milestones.len()
                ),
            ));
        }
        // Back to the rates before any scheduler touched them (PyTorch's `initial_lr`).
        let base = schedulers[0].base_lrs();
        for (g, lr) in opt.param_groups_mut().iter_mut().zip(&base) {
            g.lr = *lr;
        }
        schedulers.iter_mut().for_each(|s| s.undo_initial());
        schedulers[0].initial_step(opt)?;
        let last_lr = schedulers[0].last_lr();
        Ok(SequentialLr {
            schedulers,
            milestones: milestones.iter().map(|&m| m as i64).collect(),
            last_epoch: 0,
            last_lr,
        })
    }
}

impl LrScheduler for SequentialLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.last_epoch += 1;
        // bisect_right: the number of milestones <= last_epoch.
        let idx = self.milestones.iter().filter(|&&m| m <= self.last_epoch).count();
        let s = &mut self.schedulers[idx];
        if idx > 0 && self.milestones[idx - 1] == self.last_epoch {
            s.restart(opt)?;
        } else {
            s.step(opt)?;
        }
        self.last_lr = s.last_lr();
        Ok(())
    }
    fn last_lr(&self) -> Vec<f64> {
        self.last_lr.clone()
    }
    fn last_epoch(&self) -> i64 {
        self.last_epoch
    }
    fn set_state(&mut self, last_epoch: i64, last_lr: Vec<f64>) {
        self.last_epoch = last_epoch;
        self.last_lr = last_lr;
    }
    fn base_lrs(&self) -> Vec<f64> {
        self.schedulers[0].base_lrs()
    }
    fn undo_initial(&mut self) {
        self.schedulers.iter_mut().for_each(|s| s.undo_initial());
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.last_epoch = 0;
        self.schedulers[0].initial_step(opt)
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.last_epoch = 0;
        self.schedulers[0].restart(opt)
    }
}
