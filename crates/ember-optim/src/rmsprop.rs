//! RMSprop (with momentum and the centered variant).

use crate::optimizer::{buffer, group_defaults, with_weight_decay, Optim, ParamGroup, ParamState, UpdateRule};
use ember_core::{Result, Tensor};

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

/// `torch.optim.RMSprop`.
pub type RmsProp = Optim<RmsPropConfig>;

impl UpdateRule for RmsPropConfig {
    const NAME: &'static str = "RMSprop";
    group_defaults!();
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let d = with_weight_decay(g, p, grad)?;
        st.step += 1;
        let sq = buffer(st, "square_avg", || Tensor::zeros_like(p))?;
        sq.copy_(&sq.mul_scalar(self.alpha)?.add(&d.square()?.mul_scalar(1.0 - self.alpha)?)?)?;
        let avg = if self.centered {
            let ga = buffer(st, "grad_avg", || Tensor::zeros_like(p))?;
            ga.add_(&d.sub(&ga)?.mul_scalar(1.0 - self.alpha)?)?;
            sq.sub(&ga.square()?)?.sqrt()?.add_scalar(self.eps)?
        } else {
            sq.sqrt()?.add_scalar(self.eps)?
        };
        if self.momentum > 0.0 {
            let buf = buffer(st, "momentum_buffer", || Tensor::zeros_like(p))?;
            buf.copy_(&buf.mul_scalar(self.momentum)?.add(&d.div(&avg)?)?)?;
            p.sub_(&buf.mul_scalar(g.lr)?)
        } else {
            p.sub_(&d.div(&avg)?.mul_scalar(g.lr)?)
        }
    }
    fn set_momentum(&mut self, m: f64) {
        self.momentum = m;
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }
}
