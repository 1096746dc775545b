//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use crate::optimizer::{buffer, check_groups, for_each_param, Optimizer, ParamGroup, ParamState};
use ember_core::{no_grad, Error, Result, Tensor};

/// `torch.optim.SGD` hyper-parameters (`lr` is required in PyTorch; 1e-3 here).
#[derive(Clone, Copy, Debug)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 1e-3, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, maximize: false }
    }
}

/// SGD.
#[derive(Debug)]
pub struct Sgd {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    pub cfg: SgdConfig,
}

impl Sgd {
    /// One group of `params`.
    #[track_caller]
    pub fn new(params: Vec<Tensor>, cfg: SgdConfig) -> Result<Sgd> {
        Sgd::with_groups(vec![ParamGroup::new(params, cfg.lr, cfg.weight_decay)], cfg)
    }

    /// Several groups (each with its own lr and weight decay).
    #[track_caller]
    pub fn with_groups(groups: Vec<ParamGroup>, cfg: SgdConfig) -> Result<Sgd> {
        check_groups("SGD", &groups)?;
        if cfg.nesterov && (cfg.momentum <= 0.0 || cfg.dampening != 0.0) {
            return Err(Error::value("SGD", "Nesterov momentum requires a momentum and zero dampening"));
        }
        let n = groups.iter().map(|g| g.params.len()).sum();
        Ok(Sgd { groups, states: vec![ParamState::default(); n], cfg })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let c = self.cfg;
        no_grad(|| {
            for_each_param(&self.groups, &mut self.states, |g, p, grad, st| {
                let mut d = if c.maximize { grad.neg()? } else { grad };
                if g.weight_decay != 0.0 {
                    d = d.add(&p.mul_scalar(g.weight_decay)?)?;
                }
                if c.momentum != 0.0 {
                    let fresh = !st.buffers.contains_key("momentum_buffer");
                    let buf = buffer(st, "momentum_buffer", || d.contiguous()?.mul_scalar(1.0))?;
                    if !fresh {
                        buf.copy_(&buf.mul_scalar(c.momentum)?.add(&d.mul_scalar(1.0 - c.dampening)?)?)?;
                    }
                    d = if c.nesterov { d.add(&buf.mul_scalar(c.momentum)?)? } else { buf };
                }
                st.step += 1;
                p.sub_(&d.mul_scalar(g.lr)?)
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
