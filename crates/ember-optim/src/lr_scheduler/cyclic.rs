//! Cyclical schedules: `CyclicLR` (triangular waves between two rates, momentum cycled
//! inversely) and `CosineAnnealingWarmRestarts` (SGDR).

use super::{scheduler_common, LrScheduler, Schedule};
use crate::Optimizer;
use ember_core::{Error, Result};
use std::f64::consts::PI;

/// How `CyclicLR` scales the amplitude of each cycle (PyTorch's `mode`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CyclicMode {
    /// Constant amplitude.
    Triangular,
    /// Amplitude halved every cycle.
    Triangular2,
    /// Amplitude scaled by `gamma^iteration`.
    ExpRange(f64),
}

/// `CyclicLR`'s options beyond the two rates, with PyTorch's defaults.
#[derive(Clone, Copy, Debug)]
pub struct CyclicLrOptions {
    pub step_size_up: usize,
    /// `None`: same as `step_size_up`.
    pub step_size_down: Option<usize>,
    pub mode: CyclicMode,
    pub cycle_momentum: bool,
    pub base_momentum: f64,
    pub max_momentum: f64,
}

impl Default for CyclicLrOptions {
    fn default() -> Self {
        CyclicLrOptions {
            step_size_up: 2000,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            cycle_momentum: true,
            base_momentum: 0.8,
            max_momentum: 0.9,
        }
    }
}

/// `CyclicLR`: the rate moves linearly between `base_lr` and `max_lr` and back, stepped per
/// batch; with `cycle_momentum` the momentum moves the opposite way.
#[derive(Clone, Debug)]
pub struct CyclicLr {
    pub s: Schedule,
    pub max_lrs: Vec<f64>,
    pub options: CyclicLrOptions,
    total_size: f64,
    step_ratio: f64,
}

impl CyclicLr {
    /// `CyclicLR(opt, base_lr, max_lr, ...)`; sets the rates to `base_lr` (and the momentum
    /// to `max_momentum`) now.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, base_lr: f64, max_lr: f64, options: CyclicLrOptions) -> Result<CyclicLr> {
        if options.step_size_up == 0 && options.step_size_down.unwrap_or(0) == 0 {
            return Err(Error::value("CyclicLR", "step_size_up + step_size_down must be positive"));
        }
        if options.cycle_momentum && opt.momentum().is_none() {
            return Err(Error::value(
                "CyclicLR",
                "optimizer must support momentum or beta1 with `cycle_momentum` option enabled",
            ));
        }
        let up = options.step_size_up as f64;
        let down = options.step_size_down.map_or(up, |d| d as f64);
        opt.set_lr(base_lr);
        let n = opt.param_groups().len();
        let mut sched = CyclicLr {
            s: Schedule::new(opt),
            max_lrs: vec![max_lr; n],
            options,
            total_size: up + down,
            step_ratio: up / (up + down),
        };
        sched.s.base_lrs = vec![base_lr; n];
        sched.s.last_epoch = -1;
        sched.step(opt)?;
        Ok(sched)
    }

    fn scale(&self, cycle: f64, iteration: f64) -> f64 {
        match self.options.mode {
            CyclicMode::Triangular => 1.0,
            CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
            CyclicMode::ExpRange(gamma) => gamma.powf(iteration),
        }
    }
}

impl LrScheduler for CyclicLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let e = self.s.last_epoch as f64;
        let cycle = (1.0 + e / self.total_size).floor();
        let x = 1.0 + e / self.total_size - cycle;
        let factor = if x <= self.step_ratio { x / self.step_ratio } else { (x - 1.0) / (self.step_ratio - 1.0) };
        let scale = self.scale(cycle, e);
        let max = &self.max_lrs;
        self.s.apply(opt, |i, _, base| base + (max[i] - base) * factor * scale);
        if self.options.cycle_momentum {
            let (lo, hi) = (self.options.base_momentum, self.options.max_momentum);
            opt.set_momentum(hi - (hi - lo) * factor * scale);
        }
        Ok(())
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step(opt)
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch = -1;
        self.step(opt)
    }
    scheduler_common!(custom_restart);
}

/// `CosineAnnealingWarmRestarts` (SGDR): cosine annealing from the base rate to `eta_min`
/// over `T_i` epochs, then a restart with `T_i *= T_mult`.
#[derive(Clone, Debug)]
pub struct CosineAnnealingWarmRestarts {
    pub s: Schedule,
    pub t_0: usize,
    pub t_mult: usize,
    pub eta_min: f64,
    /// Epochs (possibly fractional) since the last restart.
    pub t_cur: f64,
    /// The length of the current period.
    pub t_i: f64,
}

impl CosineAnnealingWarmRestarts {
    /// `CosineAnnealingWarmRestarts(opt, T_0, T_mult=1, eta_min=0)`.
    #[track_caller]
    pub fn new(
        opt: &mut dyn Optimizer,
        t_0: usize,
        t_mult: usize,
        eta_min: f64,
    ) -> Result<CosineAnnealingWarmRestarts> {
        if t_0 == 0 {
            return Err(Error::value(
                "CosineAnnealingWarmRestarts",
                format!("Expected positive integer T_0, but got {t_0}"),
            ));
        }
        if t_mult == 0 {
            return Err(Error::value(
                "CosineAnnealingWarmRestarts",
                format!("Expected integer T_mult >= 1, but got {t_mult}"),
            ));
        }
        let mut sched =
            CosineAnnealingWarmRestarts { s: Schedule::new(opt), t_0, t_mult, eta_min, t_cur: 0.0, t_i: t_0 as f64 };
        sched.step_epoch(opt, 0.0)?;
        Ok(sched)
    }

    /// `step(epoch)`: jumps to a (possibly fractional) epoch, as in
    /// `scheduler.step(epoch + i / iters)` inside a batch loop.
    #[track_caller]
    pub fn step_epoch(&mut self, opt: &mut dyn Optimizer, epoch: f64) -> Result<()> {
        if epoch.is_nan() || epoch < 0.0 {
            return Err(Error::value(
                "CosineAnnealingWarmRestarts",
                format!("Expected non-negative epoch, but got {epoch}"),
            ));
        }
        let (t0, m) = (self.t_0 as f64, self.t_mult as f64);
        if epoch >= t0 {
            if self.t_mult == 1 {
                self.t_cur = epoch % t0;
            } else {
                let n = (epoch / t0 * (m - 1.0) + 1.0).log(m).floor();
                self.t_cur = epoch - t0 * (m.powf(n) - 1.0) / (m - 1.0);
                self.t_i = t0 * m.powf(n);
            }
        } else {
            self.t_i = t0;
            self.t_cur = epoch;
        }
        self.s.last_epoch = epoch.floor() as i64;
        self.set_rates(opt);
        Ok(())
    }

    fn set_rates(&mut self, opt: &mut dyn Optimizer) {
        let (m, c) = (self.eta_min, (1.0 + (PI * self.t_cur / self.t_i).cos()) / 2.0);
        self.s.apply(opt, |_, _, base| m + (base - m) * c);
    }
}

impl LrScheduler for CosineAnnealingWarmRestarts {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        if self.s.last_epoch < 0 {
            return self.step_epoch(opt, 0.0);
        }
        self.s.last_epoch += 1;
        self.t_cur += 1.0;
        if self.t_cur >= self.t_i {
            self.t_cur %= self.t_i;
            self.t_i *= self.t_mult as f64;
        }
        self.set_rates(opt);
        Ok(())
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step_epoch(opt, 0.0)
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step_epoch(opt, 0.0)
    }
    scheduler_common!(custom_restart);
}
