//! Adagrad.

use crate::optimizer::{buffer, check_groups, for_each_param, Optimizer, ParamGroup, ParamState};
use ember_core::{no_grad, Result, Tensor};

/// `torch.optim.Adagrad` hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdagradConfig {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig { lr: 1e-2, lr_decay: 0.0, weight_decay: 0.0, initial_accumulator_value: 0.0, eps: 1e-10 }
    }
}

/// Adagrad.
#[derive(Debug)]
pub struct Adagrad {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    pub cfg: AdagradConfig,
}

impl Adagrad {
    /// One group of `params`.
    #[track_caller]
    pub fn new(params: Vec<Tensor>, cfg: AdagradConfig) -> Result<Adagrad> {
        Adagrad::with_groups(vec![ParamGroup::new(params, cfg.lr, cfg.weight_decay)], cfg)
    }

    /// Several groups.
    #[track_caller]
    pub fn with_groups(groups: Vec<ParamGroup>, cfg: AdagradConfig) -> Result<Adagrad> {
        check_groups("Adagrad", &groups)?;
        let n = groups.iter().map(|g| g.params.len()).sum();
        Ok(Adagrad { groups, states: vec![ParamState::default(); n], cfg })
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self) -> Result<()> {
        let c = self.cfg;
        no_grad(|| {
            for_each_param(&self.groups, &mut self.states, |g, p, grad, st| {
                let mut d = grad;
                if g.weight_decay != 0.0 {
                    d = d.add(&p.mul_scalar(g.weight_decay)?)?;
                }
                st.step += 1;
                let clr = g.lr / (1.0 + (st.step - 1) as f64 * c.lr_decay);
                let sum = buffer(st, "sum", || Tensor::full_like(p, c.initial_accumulator_value))?;
                sum.add_(&d.square()?)?;
                p.sub_(&d.div(&sum.sqrt()?.add_scalar(c.eps)?)?.mul_scalar(clr)?)
            })
        })
    }
    fn param_groups(&self) -> &[ParamGroup] {
        &self.groups
    }
    fn param_groups_mut(&mut self) -> &mut [ParamGroup] {
        &mut self.groups
    }
    fn states(&self) -> &Vec<ParamState> {
        &self.states
    }
    fn states_mut(&mut self) -> &mut Vec<ParamState> {
        &mut self.states
    }
}
