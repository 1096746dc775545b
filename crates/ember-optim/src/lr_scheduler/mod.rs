//! Learning-rate schedulers (`torch.optim.lr_scheduler`).
//!
//! Each follows PyTorch's chainable form: `step()` derives the new rate of every group from
//! its current rate (not only from the base rate), so [`ChainedScheduler`] composes several
//! schedulers exactly as PyTorch does. Constructors record the groups' base rates and apply
//! the epoch-0 rate, as PyTorch's constructors do.

use crate::Optimizer;
use ember_core::{Error, Result};
use std::f64::consts::PI;

mod cyclic;
mod factor;
mod sequential;

pub use cyclic::{CosineAnnealingWarmRestarts, CyclicLr, CyclicLrOptions, CyclicMode};
pub use factor::{ConstantLr, LambdaLr, LrLambda, MultiplicativeLr, PolynomialLr};
pub use sequential::SequentialLr;

/// A learning-rate schedule driven by `step()` once per epoch (or per batch).
pub trait LrScheduler {
    /// Advances one epoch and writes the new rates into the optimiser's groups.
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()>;
    /// The rates set by the last step.
    fn last_lr(&self) -> Vec<f64>;
    /// The epoch counter (`last_epoch`).
    fn last_epoch(&self) -> i64;
    /// Restores the epoch counter and rates (for resuming; the optimiser restores its own
    /// group rates from its state dict).
    fn set_state(&mut self, last_epoch: i64, last_lr: Vec<f64>);

    /// The groups' base rates (`base_lrs`, the rates before any schedule).
    fn base_lrs(&self) -> Vec<f64>;

    /// The factor this schedule applies to the base rate at epoch 0 (`LinearLR`'s
    /// `start_factor`, `ConstantLR`'s `factor`; 1 for most).
    fn initial_factor(&self) -> f64 {
        1.0
    }

    /// Undoes the step the constructor took (`last_epoch -= 1`); [`SequentialLr`] calls it on
    /// every scheduler it is given, as PyTorch's `recursive_undo`.
    fn undo_initial(&mut self);

    /// The constructor's step (`_initial_step`): epoch 0, the epoch-0 factor applied to the
    /// current rates.
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()>;

    /// Jumps to epoch 0 in closed form from the base rates (PyTorch's `step(0)`, which
    /// [`SequentialLr`] uses at each milestone).
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()>;
}

/// Shared bookkeeping: base rates, epoch counter, last rates.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub base_lrs: Vec<f64>,
    pub last_epoch: i64,
    pub last_lr: Vec<f64>,
}

impl Schedule {
    pub(crate) fn new(opt: &mut dyn Optimizer) -> Schedule {
        let base: Vec<f64> = opt.param_groups_mut().iter_mut().map(|g| *g.initial_lr.get_or_insert(g.lr)).collect();
        let last_lr = opt.param_groups().iter().map(|g| g.lr).collect();
        Schedule { last_lr, base_lrs: base, last_epoch: 0 }
    }

    pub(crate) fn apply(&mut self, opt: &mut dyn Optimizer, f: impl Fn(usize, f64, f64) -> f64) {
        for (i, g) in opt.param_groups_mut().iter_mut().enumerate() {
            g.lr = f(i, g.lr, self.base_lrs[i]);
        }
        self.last_lr = opt.param_groups().iter().map(|g| g.lr).collect();
    }
}

macro_rules! scheduler_common {
    () => {
        $crate::lr_scheduler::scheduler_common!(custom_restart);
        fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
            self.s.last_epoch += 1;
            let f = self.initial_factor();
            self.s.apply(opt, |_, lr, _| lr * f);
            Ok(())
        }
        fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
            self.s.last_epoch = 0;
            let f = self.initial_factor();
            self.s.apply(opt, |_, _, base| base * f);
            Ok(())
        }
    };
    (custom_restart) => {
        fn last_lr(&self) -> Vec<f64> {
            self.s.last_lr.clone()
        }
        fn last_epoch(&self) -> i64 {
            self.s.last_epoch
        }
        fn set_state(&mut self, last_epoch: i64, last_lr: Vec<f64>) {
            self.s.last_epoch = last_epoch;
            self.s.last_lr = last_lr;
        }
        fn base_lrs(&self) -> Vec<f64> {
            self.s.base_lrs.clone()
        }
        fn undo_initial(&mut self) {
            self.s.last_epoch -= 1;
        }
    };
}
pub(crate) use scheduler_common;

/// Multiplies the rate by `gamma` every `step_size` epochs.
#[derive(Clone, Debug)]
pub struct StepLr {
    pub s: Schedule,
    pub step_size: i64,
    pub gamma: f64,
}

impl StepLr {
    /// `StepLR(opt, step_size, gamma)`.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, step_size: usize, gamma: f64) -> Result<StepLr> {
        if step_size == 0 {
            return Err(Error::value("StepLR", "step_size must be positive"));
        }
        Ok(StepLr { s: Schedule::new(opt), step_size: step_size as i64, gamma })
    }
}

impl LrScheduler for StepLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let e = self.s.last_epoch;
        let (k, g) = (self.step_size, self.gamma);
        self.s.apply(opt, |_, lr, _| if e == 0 || e % k != 0 { lr } else { lr * g });
        Ok(())
    }
    scheduler_common!();
}

/// Multiplies the rate by `gamma` at each milestone epoch.
#[derive(Clone, Debug)]
pub struct MultiStepLr {
    pub s: Schedule,
    pub milestones: Vec<i64>,
    pub gamma: f64,
}

impl MultiStepLr {
    /// `MultiStepLR(opt, milestones, gamma)`.
    pub fn new(opt: &mut dyn Optimizer, milestones: &[usize], gamma: f64) -> MultiStepLr {
        let mut m: Vec<i64> = milestones.iter().map(|&x| x as i64).collect();
        m.sort_unstable();
        MultiStepLr { s: Schedule::new(opt), milestones: m, gamma }
    }
}

impl LrScheduler for MultiStepLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let e = self.s.last_epoch;
        let hits = self.milestones.iter().filter(|&&m| m == e).count() as i32;
        let g = self.gamma.powi(hits);
        self.s.apply(opt, |_, lr, _| lr * g);
        Ok(())
    }
    scheduler_common!();
}

/// Multiplies the rate by `gamma` every epoch.
#[derive(Clone, Debug)]
pub struct ExponentialLr {
    pub s: Schedule,
    pub gamma: f64,
}

impl ExponentialLr {
    /// `ExponentialLR(opt, gamma)`.
    pub fn new(opt: &mut dyn Optimizer, gamma: f64) -> ExponentialLr {
        ExponentialLr { s: Schedule::new(opt), gamma }
    }
}

impl LrScheduler for ExponentialLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let g = self.gamma;
        self.s.apply(opt, |_, lr, _| lr * g);
        Ok(())
    }
    scheduler_common!();
}

/// Cosine annealing from the base rate to `eta_min` over `t_max` epochs.
#[derive(Clone, Debug)]
pub struct CosineAnnealingLr {
    pub s: Schedule,
    pub t_max: i64,
    pub eta_min: f64,
}

impl CosineAnnealingLr {
    /// `CosineAnnealingLR(opt, T_max, eta_min)`.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, t_max: usize, eta_min: f64) -> Result<CosineAnnealingLr> {
        if t_max == 0 {
            return Err(Error::value("CosineAnnealingLR", "T_max must be positive"));
        }
        Ok(CosineAnnealingLr { s: Schedule::new(opt), t_max: t_max as i64, eta_min })
    }
}

impl LrScheduler for CosineAnnealingLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let (e, t, m) = (self.s.last_epoch as f64, self.t_max as f64, self.eta_min);
        let le = self.s.last_epoch;
        self.s.apply(opt, |_, lr, base| {
            if (le - 1 - self.t_max) % (2 * self.t_max) == 0 {
                lr + (base - m) * (1.0 - (PI / t).cos()) / 2.0
            } else {
                (1.0 + (PI * e / t).cos()) / (1.0 + (PI * (e - 1.0) / t).cos()) * (lr - m) + m
            }
        });
        Ok(())
    }
    scheduler_common!();
}

/// Linear ramp of the rate's factor from `start_factor` to `end_factor` over `total_iters`
/// (warm-up).
#[derive(Clone, Debug)]
pub struct LinearLr {
    pub s: Schedule,
    pub start_factor: f64,
    pub end_factor: f64,
    pub total_iters: i64,
}

impl LinearLr {
    /// `LinearLR(opt, start_factor, end_factor, total_iters)`; applies `start_factor` now.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, start_factor: f64, end_factor: f64, total_iters: usize) -> Result<LinearLr> {
        if !(start_factor > 0.0 && start_factor <= 1.0 && (0.0..=1.0).contains(&end_factor)) {
            return Err(Error::value("LinearLR", "start_factor must be in (0, 1] and end_factor in [0, 1]"));
        }
        let mut s = Schedule::new(opt);
        s.apply(opt, |_, lr, _| lr * start_factor);
        Ok(LinearLr { s, start_factor, end_factor, total_iters: total_iters as i64 })
    }
}

impl LrScheduler for LinearLr {
    fn initial_factor(&self) -> f64 {
        self.start_factor
    }
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let e = self.s.last_epoch;
        let (a, b, n) = (self.start_factor, self.end_factor, self.total_iters);
        self.s.apply(
            opt,
            |_, lr, _| {
                if e > n {
                    lr
                } else {
                    lr * (1.0 + (b - a) / (n as f64 * a + (e - 1) as f64 * (b - a)))
                }
            },
        );
        Ok(())
    }
    scheduler_common!();
}

/// The one-cycle policy: warm up to `max_lr` over `pct_start` of `total_steps`, then anneal
/// (cosine) to `max_lr / div_factor / final_div_factor`; momentum cycles inversely.
#[derive(Clone, Debug)]
pub struct OneCycleLr {
    pub s: Schedule,
    pub max_lrs: Vec<f64>,
    pub total_steps: i64,
    pub pct_start: f64,
    pub div_factor: f64,
    pub final_div_factor: f64,
    /// (base_momentum, max_momentum) when momentum is cycled.
    pub momentum: Option<(f64, f64)>,
}

impl OneCycleLr {
    /// `OneCycleLR(opt, max_lr, total_steps)` with PyTorch's defaults (pct_start 0.3, cosine,
    /// div_factor 25, final_div_factor 1e4, momentum cycled between 0.85 and 0.95).
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, max_lr: f64, total_steps: usize) -> Result<OneCycleLr> {
        Self::with_options(opt, max_lr, total_steps, 0.3, 25.0, 1e4, true)
    }

    /// All options.
    #[track_caller]
    pub fn with_options(
        opt: &mut dyn Optimizer,
        max_lr: f64,
        total_steps: usize,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
        cycle_momentum: bool,
    ) -> Result<OneCycleLr> {
        if total_steps == 0 || !(0.0..=1.0).contains(&pct_start) {
            return Err(Error::value("OneCycleLR", "total_steps must be positive and pct_start in [0, 1]"));
        }
        let n = opt.param_groups().len();
        let momentum = if cycle_momentum && opt.momentum().is_some() { Some((0.85, 0.95)) } else { None };
        let mut sched = OneCycleLr {
            s: Schedule::new(opt),
            max_lrs: vec![max_lr; n],
            total_steps: total_steps as i64,
            pct_start,
            div_factor,
            final_div_factor,
            momentum,
        };
        sched.s.base_lrs = vec![max_lr / div_factor; n];
        sched.s.last_epoch = -1;
        sched.step(opt)?;
        Ok(sched)
    }

    fn anneal(start: f64, end: f64, pct: f64) -> f64 {
        end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
    }
}

impl LrScheduler for OneCycleLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let step = self.s.last_epoch as f64;
        if self.s.last_epoch > self.total_steps {
            return Err(Error::value(
                "OneCycleLR",
                format!("tried to step {} times; total_steps is {}", self.s.last_epoch, self.total_steps),
            ));
        }
        let warm_end = self.pct_start * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        let mut momentum = None;
        for (i, g) in opt.param_groups_mut().iter_mut().enumerate() {
            let initial = self.max_lrs[i] / self.div_factor;
            let min_lr = initial / self.final_div_factor;
            let (lr, m) = if step <= warm_end {
                let pct = step / warm_end;
                (Self::anneal(initial, self.max_lrs[i], pct), self.momentum.map(|(lo, hi)| Self::anneal(hi, lo, pct)))
            } else {
                let pct = (step - warm_end) / (last - warm_end);
                (Self::anneal(self.max_lrs[i], min_lr, pct), self.momentum.map(|(lo, hi)| Self::anneal(lo, hi, pct)))
            };
            g.lr = lr;
            momentum = m;
        }
        if let Some(m) = momentum {
            opt.set_momentum(m);
        }
        self.s.last_lr = opt.param_groups().iter().map(|g| g.lr).collect();
        Ok(())
    }
    scheduler_common!();
}

/// Several schedulers stepped together each epoch (their factors multiply).
pub struct ChainedScheduler {
    pub schedulers: Vec<Box<dyn LrScheduler>>,
}

impl ChainedScheduler {
    /// Chains schedulers already constructed on the same optimiser.
    pub fn new(schedulers: Vec<Box<dyn LrScheduler>>) -> ChainedScheduler {
        ChainedScheduler { schedulers }
    }
}

impl LrScheduler for ChainedScheduler {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.schedulers.iter_mut().try_for_each(|s| s.step(opt))
    }
    fn last_lr(&self) -> Vec<f64> {
        self.schedulers.last().map(|s| s.last_lr()).unwrap_or_default()
    }
    fn last_epoch(&self) -> i64 {
        self.schedulers.first().map_or(0, |s| s.last_epoch())
    }
    fn set_state(&mut self, last_epoch: i64, last_lr: Vec<f64>) {
        for s in &mut self.schedulers {
            s.set_state(last_epoch, last_lr.clone());
        }
    }
    fn base_lrs(&self) -> Vec<f64> {
        self.schedulers.first().map(|s| s.base_lrs()).unwrap_or_default()
    }
    fn undo_initial(&mut self) {
        self.schedulers.iter_mut().for_each(|s| s.undo_initial());
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.schedulers.iter_mut().try_for_each(|s| s.initial_step(opt))
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.schedulers.iter_mut().try_for_each(|s| s.restart(opt))
    }
}

/// Reduces the rate by `factor` when a metric stops improving for `patience` epochs.
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    /// Minimise (`true`) or maximise the metric.
    pub mode_min: bool,
    pub factor: f64,
    pub patience: usize,
    /// Relative improvement threshold.
    pub threshold: f64,
    pub cooldown: usize,
    pub min_lr: f64,
    pub eps: f64,
    best: f64,
    bad_epochs: usize,
    cooldown_left: usize,
    pub last_epoch: i64,
}

impl ReduceLrOnPlateau {
    /// PyTorch's defaults: mode "min", factor 0.1, patience 10, threshold 1e-4 (relative),
    /// cooldown 0, min_lr 0, eps 1e-8.
    pub fn new() -> ReduceLrOnPlateau {
        ReduceLrOnPlateau {
            mode_min: true,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            best: f64::INFINITY,
            bad_epochs: 0,
            cooldown_left: 0,
            last_epoch: 0,
        }
    }

    /// Mode "max": the metric should grow (accuracy).
    pub fn maximize(mut self) -> ReduceLrOnPlateau {
        self.mode_min = false;
        self.best = f64::NEG_INFINITY;
        self
    }

    /// Records `metric` for this epoch and reduces the rates when it has plateaued.
    pub fn step_with(&mut self, opt: &mut dyn Optimizer, metric: f64) {
        self.last_epoch += 1;
        // PyTorch's "rel" threshold mode.
        let better = if self.mode_min {
            metric < self.best * (1.0 - self.threshold)
        } else {
            metric > self.best * (1.0 + self.threshold)
        };
        if better {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.patience {
            for g in opt.param_groups_mut() {
                let new = (g.lr * self.factor).max(self.min_lr);
                if g.lr - new > self.eps {
                    g.lr = new;
                }
            }
            self.cooldown_left = self.cooldown;
            self.bad_epochs = 0;
        }
    }
}

impl Default for ReduceLrOnPlateau {
    fn default() -> Self {
        Self::new()
    }
}
