//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay; and its
//! averaged form (ASGD).

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

/// `torch.optim.ASGD` hyper-parameters (averaged SGD: the `ax` buffer holds the running
/// average of the iterates, which is the model to evaluate).
#[derive(Clone, Copy, Debug)]
pub struct AsgdConfig {
    pub lr: f64,
    /// Decay term.
    pub lambd: f64,
    /// Power of the step-size decay.
    pub alpha: f64,
    /// The step at which averaging starts.
    pub t0: f64,
    pub weight_decay: f64,
}

impl Default for AsgdConfig {
    fn default() -> Self {
        AsgdConfig { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weight_decay: 0.0 }
    }
}

/// `torch.optim.ASGD`.
pub type Asgd = Optim<AsgdConfig>;

impl UpdateRule for AsgdConfig {
    const NAME: &'static str = "ASGD";
    group_defaults!();
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let d = with_weight_decay(g, p, grad)?;
        st.step += 1;
        let eta_t = buffer(st, "eta", || Tensor::full(&[], g.lr, p.dtype()))?;
        let mu_t = buffer(st, "mu", || Tensor::ones(&[], p.dtype()))?;
        let ax = buffer(st, "ax", || Tensor::zeros_like(p))?;
        let (eta, mu) = (eta_t.to_f64_vec()?[0], mu_t.to_f64_vec()?[0]);
        p.mul_scalar_(1.0 - self.lambd * eta)?;
        p.sub_(&d.mul_scalar(eta)?)?;
        if mu != 1.0 {
            ax.add_(&p.sub(&ax)?.mul_scalar(mu)?)?;
        } else {
            ax.copy_(p)?;
        }
        let t = st.step as f64;
        eta_t.fill_(g.lr / (1.0 + self.lambd * g.lr * t).powf(self.alpha))?;
        mu_t.fill_(1.0 / (t - self.t0).max(1.0))
    }
}
