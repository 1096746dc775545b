//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use crate::optimizer::{buffer, group_defaults, with_weight_decay, Optim, ParamGroup, ParamState, UpdateRule};
use ember_core::{Error, Result, Tensor};

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

/// `torch.optim.SGD`.
pub type Sgd = Optim<SgdConfig>;

impl UpdateRule for SgdConfig {
    const NAME: &'static str = "SGD";
    group_defaults!();
    #[track_caller]
    fn validate(&self) -> Result<()> {
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::value("SGD", "Nesterov momentum requires a momentum and zero dampening"));
        }
        Ok(())
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let mut d = with_weight_decay(g, p, if self.maximize { grad.neg()? } else { grad })?;
        if self.momentum != 0.0 {
            let fresh = !st.buffers.contains_key("momentum_buffer");
            let buf = buffer(st, "momentum_buffer", || d.contiguous()?.mul_scalar(1.0))?;
            if !fresh {
                buf.copy_(&buf.mul_scalar(self.momentum)?.add(&d.mul_scalar(1.0 - self.dampening)?)?)?;
            }
            d = if self.nesterov { d.add(&buf.mul_scalar(self.momentum)?)? } else { buf };
        }
        st.step += 1;
        p.sub_(&d.mul_scalar(g.lr)?)
    }
    fn set_momentum(&mut self, m: f64) {
        self.momentum = m;
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }
}
