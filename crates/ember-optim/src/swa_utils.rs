//! `torch.optim.swa_utils`: [`AveragedModel`] (stochastic weight averaging, or an exponential
//! moving average of the parameters) and the [`SwaLr`] schedule that anneals to the SWA rate.

use crate::lr_scheduler::{LrScheduler, Schedule};
use crate::Optimizer;
use ember_core::{no_grad, Error, Result, Tensor};
use std::f64::consts::PI;

/// How [`AveragedModel`] combines a new parameter value with the average so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Averaging {
    /// The running mean of every value seen (`avg += (p - avg) / (n + 1)`), PyTorch's default.
    Swa,
    /// `avg = decay * avg + (1 - decay) * p` (`get_ema_multi_avg_fn(decay)`).
    Ema(f64),
}

/// `AveragedModel(model, avg_fn)`: detached copies of the model's tensors that follow their
/// average. Pass the same tensors (`model.parameters()`, or with buffers for `use_buffers`) to
/// every [`AveragedModel::update_parameters`]; load [`AveragedModel::averaged`] into a copy of
/// the model to evaluate it.
#[derive(Debug)]
pub struct AveragedModel {
    pub averaged: Vec<Tensor>,
    pub n_averaged: u64,
    pub averaging: Averaging,
}

impl AveragedModel {
    /// Copies of `params` (their current values).
    #[track_caller]
    pub fn new(params: &[Tensor], averaging: Averaging) -> Result<AveragedModel> {
        if let Averaging::Ema(d) = averaging {
            if !(0.0..=1.0).contains(&d) {
                return Err(Error::value(
                    "AveragedModel",
                    format!("Invalid decay value {d} provided. Please provide a value in [0,1] range."),
                ));
            }
        }
        let averaged = params.iter().map(|p| p.detach().contiguous()?.mul_scalar(1.0)).collect::<Result<_>>()?;
        Ok(AveragedModel { averaged, n_averaged: 0, averaging })
    }

    /// Folds the current values of `params` into the average (the first call copies them).
    #[track_caller]
    pub fn update_parameters(&mut self, params: &[Tensor]) -> Result<()> {
        if params.len() != self.averaged.len() {
            return Err(Error::value(
                "AveragedModel",
                format!("expected {} tensors, got {}", self.averaged.len(), params.len()),
            ));
        }
        no_grad(|| {
            for (avg, p) in self.averaged.iter().zip(params) {
                if avg.shape() != p.shape() {
                    return Err(Error::shape("AveragedModel", format!("shape {:?} vs {:?}", p.shape(), avg.shape())));
                }
                let p = p.detach().to_dtype(avg.dtype())?;
                if self.n_averaged == 0 {
                    avg.copy_(&p)?;
                    continue;
                }
                let w = match self.averaging {
                    Averaging::Swa => 1.0 / (self.n_averaged as f64 + 1.0),
                    Averaging::Ema(decay) => 1.0 - decay,
                };
                // lerp(avg, p, w)
                avg.copy_(&avg.add(&p.sub(avg)?.mul_scalar(w)?)?)?;
            }
            Ok(())
        })?;
        self.n_averaged += 1;
        Ok(())
    }
}

/// How [`SwaLr`] moves from the current rate to the SWA rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnealStrategy {
    Cos,
    Linear,
}

/// `SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos')`: anneals every group's
/// rate to `swa_lr` over `anneal_epochs` steps, then holds it.
#[derive(Clone, Debug)]
pub struct SwaLr {
    pub s: Schedule,
    pub swa_lrs: Vec<f64>,
    pub anneal_epochs: usize,
    pub strategy: AnnealStrategy,
    step_count: i64,
}

impl SwaLr {
    /// The schedule, with its first step taken (as PyTorch's constructor).
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, swa_lr: f64, anneal_epochs: usize, strategy: AnnealStrategy) -> Result<SwaLr> {
        let n = opt.param_groups().len();
        let mut s = SwaLr { s: Schedule::new(opt), swa_lrs: vec![swa_lr; n], anneal_epochs, strategy, step_count: 0 };
        s.s.last_epoch = -1;
        s.step(opt)?;
        Ok(s)
    }

    fn anneal(&self, t: f64) -> f64 {
        match self.strategy {
            AnnealStrategy::Cos => (1.0 - (PI * t).cos()) / 2.0,
            AnnealStrategy::Linear => t,
        }
    }
}

impl LrScheduler for SwaLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step_count += 1;
        self.s.last_epoch += 1;
        let mut step = (self.step_count - 1) as f64;
        if self.anneal_epochs == 0 {
            step = step.max(1.0);
        }
        let span = self.anneal_epochs.max(1) as f64;
        let prev_alpha = self.anneal(((step - 1.0) / span).clamp(0.0, 1.0));
        let alpha = self.anneal((step / span).clamp(0.0, 1.0));
        let swa = &self.swa_lrs;
        self.s.apply(opt, |i, lr, _| {
            // The rate before annealing, recovered from the current one.
            let prev = if prev_alpha == 1.0 { swa[i] } else { (lr - prev_alpha * swa[i]) / (1.0 - prev_alpha) };
            swa[i] * alpha + prev * (1.0 - alpha)
        });
        Ok(())
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step(opt)
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step_count = 0;
        self.s.last_epoch = -1;
        self.step(opt)
    }
    crate::lr_scheduler::scheduler_common!(custom_restart);
}
