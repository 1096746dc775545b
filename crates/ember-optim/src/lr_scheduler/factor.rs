//! Schedules given as a factor of the rate: `LambdaLR` and `MultiplicativeLR` (user
//! functions of the epoch), `ConstantLR` and `PolynomialLR`.

use super::{scheduler_common, LrScheduler, Schedule};
use crate::Optimizer;
use ember_core::{Error, Result};

/// A function of the epoch giving a rate factor.
pub type LrLambda = Box<dyn Fn(i64) -> f64 + Send + Sync>;

/// One lambda for every group, or one per group (PyTorch accepts either).
fn per_group(name: &'static str, opt: &dyn Optimizer, mut lambdas: Vec<LrLambda>) -> Result<Vec<LrLambda>> {
    let n = opt.param_groups().len();
    if lambdas.len() == n {
        return Ok(lambdas);
    }
    if lambdas.len() == 1 {
        let f = lambdas.pop().expect("one lambda");
        let shared = std::sync::Arc::new(f);
        return Ok((0..n)
            .map(|_| {
                let f = shared.clone();
                Box::new(move |e| f(e)) as LrLambda
            })
            .collect());
    }
    Err(Error::value(name, format!("expected 1 or {n} lr_lambdas, but got {}", lambdas.len())))
}

/// `LambdaLR`: the rate is `base_lr * lr_lambda(epoch)`.
pub struct LambdaLr {
    pub s: Schedule,
    lambdas: Vec<LrLambda>,
}

impl LambdaLr {
    /// `LambdaLR(opt, lr_lambda)`: `lambdas` holds one function for all groups or one per group.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, lambdas: Vec<LrLambda>) -> Result<LambdaLr> {
        let lambdas = per_group("LambdaLR", opt, lambdas)?;
        let mut sched = LambdaLr { s: Schedule::new(opt), lambdas };
        sched.restart(opt)?;
        Ok(sched)
    }
}

impl LrScheduler for LambdaLr {
    // Closed form, so the constructor's step and every later one are the same.
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let (e, l) = (self.s.last_epoch, &self.lambdas);
        self.s.apply(opt, |i, _, base| base * l[i](e));
        Ok(())
    }
    fn initial_step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.step(opt)
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch = -1;
        self.initial_step(opt)
    }
    scheduler_common!(custom_restart);
}

/// `MultiplicativeLR`: each epoch multiplies the rate by `lr_lambda(epoch)`.
pub struct MultiplicativeLr {
    pub s: Schedule,
    lambdas: Vec<LrLambda>,
}

impl MultiplicativeLr {
    /// `MultiplicativeLR(opt, lr_lambda)`.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, lambdas: Vec<LrLambda>) -> Result<MultiplicativeLr> {
        let lambdas = per_group("MultiplicativeLR", opt, lambdas)?;
        Ok(MultiplicativeLr { s: Schedule::new(opt), lambdas })
    }
}

impl LrScheduler for MultiplicativeLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let (e, l) = (self.s.last_epoch, &self.lambdas);
        self.s.apply(opt, |i, lr, _| if e > 0 { lr * l[i](e) } else { lr });
        Ok(())
    }
    scheduler_common!();
}

/// `ConstantLR`: the rate is `factor * base_lr` until epoch `total_iters`, then the base rate.
#[derive(Clone, Debug)]
pub struct ConstantLr {
    pub s: Schedule,
    pub factor: f64,
    pub total_iters: i64,
}

impl ConstantLr {
    /// `ConstantLR(opt, factor=1/3, total_iters=5)`; applies `factor` now.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, factor: f64, total_iters: usize) -> Result<ConstantLr> {
        if !(0.0..=1.0).contains(&factor) {
            return Err(Error::value("ConstantLR", "Constant multiplicative factor expected to be between 0 and 1."));
        }
        let mut s = Schedule::new(opt);
        s.apply(opt, |_, lr, _| lr * factor);
        Ok(ConstantLr { s, factor, total_iters: total_iters as i64 })
    }
}

impl LrScheduler for ConstantLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let (e, n, f) = (self.s.last_epoch, self.total_iters, self.factor);
        self.s.apply(opt, |_, lr, _| if e == n { lr / f } else { lr });
        Ok(())
    }
    fn initial_factor(&self) -> f64 {
        self.factor
    }
    scheduler_common!();
}

/// `PolynomialLR`: the rate decays as `base_lr * (1 - epoch / total_iters)^power`, then stays.
#[derive(Clone, Debug)]
pub struct PolynomialLr {
    pub s: Schedule,
    pub total_iters: i64,
    pub power: f64,
}

impl PolynomialLr {
    /// `PolynomialLR(opt, total_iters=5, power=1.0)`.
    #[track_caller]
    pub fn new(opt: &mut dyn Optimizer, total_iters: usize, power: f64) -> Result<PolynomialLr> {
        if total_iters == 0 {
            return Err(Error::value("PolynomialLR", "total_iters must be positive"));
        }
        Ok(PolynomialLr { s: Schedule::new(opt), total_iters: total_iters as i64, power })
    }
}

impl LrScheduler for PolynomialLr {
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
        self.s.last_epoch += 1;
        let (e, n, p) = (self.s.last_epoch as f64, self.total_iters as f64, self.power);
        let past = self.s.last_epoch > self.total_iters || self.s.last_epoch == 0;
        let decay = ((1.0 - e / n) / (1.0 - (e - 1.0) / n)).powf(p);
        self.s.apply(opt, |_, lr, _| if past { lr } else { lr * decay });
        Ok(())
    }
    scheduler_common!();
}
