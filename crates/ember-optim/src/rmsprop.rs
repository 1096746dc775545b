//! RMSprop (with momentum and the centered variant).

use crate::optimizer::{buffer, check_groups, for_each_param, Optimizer, ParamGroup, ParamState};
use ember_core::{no_grad, Result, Tensor};

/// `torch.optim.RMSprop` hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct RmsPropConfig {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
    }
}

/// RMSprop.
#[derive(Debug)]
pub struct RmsProp {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    pub cfg: RmsPropConfig,
}

impl RmsProp {
    /// One group of `params`.
    #[track_caller]
    pub fn new(params: Vec<Tensor>, cfg: RmsPropConfig) -> Result<RmsProp> {
        RmsProp::with_groups(vec![ParamGroup::new(params, cfg.lr, cfg.weight_decay)], cfg)
    }

    /// Several groups.
    #[track_caller]
    pub fn with_groups(groups: Vec<ParamGroup>, cfg: RmsPropConfig) -> Result<RmsProp> {
        check_groups("RMSprop", &groups)?;
        let n = groups.iter().map(|g| g.params.len()).sum();
        Ok(RmsProp { groups, states: vec![ParamState::default(); n], cfg })
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self) -> Result<()> {
        let c = self.cfg;
        no_grad(|| {
            for_each_param(&self.groups, &mut self.states, |g, p, grad, st| {
                let mut d = grad;
                if g.weight_decay != 0.0 {
                    d = d.add(&p.mul_scalar(g.weight_decay)?)?;
                }
                st.step += 1;
                let sq = buffer(st, "square_avg", || Tensor::zeros_like(p))?;
                sq.copy_(&sq.mul_scalar(c.alpha)?.add(&d.square()?.mul_scalar(1.0 - c.alpha)?)?)?;
                let avg = if c.centered {
                    let ga = buffer(st, "grad_avg", || Tensor::zeros_like(p))?;
                    ga.add_(&d.sub(&ga)?.mul_scalar(1.0 - c.alpha)?)?;
                    sq.sub(&ga.square()?)?.sqrt()?.add_scalar(c.eps)?
                } else {
                    sq.sqrt()?.add_scalar(c.eps)?
                };
                if c.momentum > 0.0 {
                    let buf = buffer(st, "momentum_buffer", || Tensor::zeros_like(p))?;
                    buf.copy_(&buf.mul_scalar(c.momentum)?.add(&d.div(&avg)?)?)?;
                    p.sub_(&buf.mul_scalar(g.lr)?)
                } else {
                    p.sub_(&d.div(&avg)?.mul_scalar(g.lr)?)
                }
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
    fn set_momentum(&mut self, m: f64) {
        self.cfg.momentum = m;
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.cfg.momentum)
    }
}
