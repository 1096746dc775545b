//! The other adaptive-rate optimisers of `torch.optim`: Adamax, NAdam, RAdam, Adadelta and
//! Rprop, each PyTorch's single-tensor update step for step, with its state-dict buffer names.

use crate::optimizer::{buffer, group_defaults, with_weight_decay, Optim, ParamGroup, ParamState, UpdateRule};
use ember_core::{Error, Result, Tensor};

/// `buf = beta * buf + (1 - beta) * x` in place (PyTorch's `buf.lerp_(x, 1 - beta)`).
fn ema_(buf: &Tensor, x: &Tensor, beta: f64) -> Result<()> {
    buf.copy_(&buf.mul_scalar(beta)?.add(&x.mul_scalar(1.0 - beta)?)?)
}

/// `beta1` as the momentum that `OneCycleLr` cycles.
macro_rules! beta1_momentum {
    () => {
        fn momentum(&self) -> Option<f64> {
            Some(self.betas.0)
        }
        fn set_momentum(&mut self, m: f64) {
            self.betas.0 = m;
        }
    };
}

#[track_caller]
fn check_betas(name: &'static str, betas: (f64, f64), eps: f64) -> Result<()> {
    for (i, b) in [betas.0, betas.1].into_iter().enumerate() {
        if !(0.0..1.0).contains(&b) {
            return Err(Error::value(name, format!("Invalid beta parameter at index {i}: {b}")));
        }
    }
    if eps < 0.0 {
        return Err(Error::value(name, format!("Invalid epsilon value: {eps}")));
    }
    Ok(())
}

/// `torch.optim.Adamax` hyper-parameters (Adam with the infinity norm).
#[derive(Clone, Copy, Debug)]
pub struct AdamaxConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamaxConfig {
    fn default() -> Self {
        AdamaxConfig { lr: 2e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0 }
    }
}

/// `torch.optim.Adamax`.
pub type Adamax = Optim<AdamaxConfig>;

impl UpdateRule for AdamaxConfig {
    const NAME: &'static str = "Adamax";
    group_defaults!();
    fn validate(&self) -> Result<()> {
        check_betas(Self::NAME, self.betas, self.eps)
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let (b1, b2) = self.betas;
        let d = with_weight_decay(g, p, grad)?;
        st.step += 1;
        let m = buffer(st, "exp_avg", || Tensor::zeros_like(p))?;
        let u = buffer(st, "exp_inf", || Tensor::zeros_like(p))?;
        ema_(&m, &d, b1)?;
        u.copy_(&u.mul_scalar(b2)?.maximum(&d.abs()?.add_scalar(self.eps)?)?)?;
        let clr = g.lr / (1.0 - b1.powi(st.step as i32));
        p.sub_(&m.div(&u)?.mul_scalar(clr)?)
    }
    beta1_momentum!();
}

/// `torch.optim.NAdam` hyper-parameters (Adam with Nesterov momentum and a momentum schedule).
#[derive(Clone, Copy, Debug)]
pub struct NAdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    /// AdamW-style decay (`p *= 1 - lr * wd`) instead of adding `wd * p` to the gradient.
    pub decoupled_weight_decay: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        NAdamConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
        }
    }
}

/// `torch.optim.NAdam`.
pub type NAdam = Optim<NAdamConfig>;

/// Weight decay applied to the gradient (L2) or to the parameter (decoupled).
fn decay(g: &ParamGroup, p: &Tensor, grad: Tensor, decoupled: bool) -> Result<Tensor> {
    if decoupled {
        if g.weight_decay != 0.0 {
            p.mul_scalar_(1.0 - g.lr * g.weight_decay)?;
        }
        Ok(grad)
    } else {
        with_weight_decay(g, p, grad)
    }
}

impl UpdateRule for NAdamConfig {
    const NAME: &'static str = "NAdam";
    group_defaults!();
    fn validate(&self) -> Result<()> {
        if self.momentum_decay < 0.0 {
            return Err(Error::value(Self::NAME, format!("Invalid momentum_decay value: {}", self.momentum_decay)));
        }
        check_betas(Self::NAME, self.betas, self.eps)
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let (b1, b2) = self.betas;
        let d = decay(g, p, grad, self.decoupled_weight_decay)?;
        st.step += 1;
        let t = st.step as f64;
        let mu_product = buffer(st, "mu_product", || Tensor::ones(&[], p.dtype()))?;
        let m = buffer(st, "exp_avg", || Tensor::zeros_like(p))?;
        let v = buffer(st, "exp_avg_sq", || Tensor::zeros_like(p))?;
        let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t * self.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1.0) * self.momentum_decay));
        let prod = mu_product.to_f64_vec()?[0] * mu;
        mu_product.fill_(prod)?;
        ema_(&m, &d, b1)?;
        ema_(&v, &d.square()?, b2)?;
        let denom = v.mul_scalar(1.0 / (1.0 - b2.powf(t)))?.sqrt()?.add_scalar(self.eps)?;
        p.sub_(&d.div(&denom)?.mul_scalar(g.lr * (1.0 - mu) / (1.0 - prod))?)?;
        p.sub_(&m.div(&denom)?.mul_scalar(g.lr * mu_next / (1.0 - prod * mu_next))?)
    }
    beta1_momentum!();
}

/// `torch.optim.RAdam` hyper-parameters (Adam with the variance rectification term).
#[derive(Clone, Copy, Debug)]
pub struct RAdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        RAdamConfig { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, decoupled_weight_decay: false }
    }
}

/// `torch.optim.RAdam`.
pub type RAdam = Optim<RAdamConfig>;

impl UpdateRule for RAdamConfig {
    const NAME: &'static str = "RAdam";
    group_defaults!();
    fn validate(&self) -> Result<()> {
        check_betas(Self::NAME, self.betas, self.eps)
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let (b1, b2) = self.betas;
        let d = decay(g, p, grad, self.decoupled_weight_decay)?;
        st.step += 1;
        let t = st.step as f64;
        let m = buffer(st, "exp_avg", || Tensor::zeros_like(p))?;
        let v = buffer(st, "exp_avg_sq", || Tensor::zeros_like(p))?;
        ema_(&m, &d, b1)?;
        ema_(&v, &d.square()?, b2)?;
        let (bc1, bc2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
        let m_hat = m.mul_scalar(1.0 / bc1)?;
        // The length of the approximated simple moving average, and its limit.
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bc2;
        if rho_t > 5.0 {
            let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt();
            let adaptive = v.sqrt()?.add_scalar(self.eps)?.reciprocal()?.mul_scalar(bc2.sqrt())?;
            p.sub_(&m_hat.mul(&adaptive)?.mul_scalar(g.lr * rect)?)
        } else {
            p.sub_(&m_hat.mul_scalar(g.lr)?)
        }
    }
    beta1_momentum!();
}

/// `torch.optim.Adadelta` hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdadeltaConfig {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0 }
    }
}

/// `torch.optim.Adadelta`.
pub type Adadelta = Optim<AdadeltaConfig>;

impl UpdateRule for AdadeltaConfig {
    const NAME: &'static str = "Adadelta";
    group_defaults!();
    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.rho) {
            return Err(Error::value(Self::NAME, format!("Invalid rho value: {}", self.rho)));
        }
        if self.eps < 0.0 {
            return Err(Error::value(Self::NAME, format!("Invalid epsilon value: {}", self.eps)));
        }
        Ok(())
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let rho = self.rho;
        st.step += 1;
        let sq = buffer(st, "square_avg", || Tensor::zeros_like(p))?;
        let acc = buffer(st, "acc_delta", || Tensor::zeros_like(p))?;
        if ember_core::fused::adam_supported(&[p, &grad, &sq, &acc]) {
            // One pass over parameter, gradient and state (same arithmetic as below).
            let s = ember_core::fused::AdadeltaStep { lr: g.lr, rho, eps: self.eps, weight_decay: g.weight_decay };
            return ember_core::fused::adadelta_update(p, &grad, &sq, &acc, &s);
        }
        let d = with_weight_decay(g, p, grad)?;
        ema_(&sq, &d.square()?, rho)?;
        let std = sq.add_scalar(self.eps)?.sqrt()?;
        let delta = acc.add_scalar(self.eps)?.sqrt()?.div(&std)?.mul(&d)?;
        ema_(&acc, &delta.square()?, rho)?;
        p.sub_(&delta.mul_scalar(g.lr)?)
    }
}

/// `torch.optim.Rprop` hyper-parameters (resilient backpropagation: only gradient signs).
#[derive(Clone, Copy, Debug)]
pub struct RpropConfig {
    pub lr: f64,
    /// `(etaminus, etaplus)`: step-size factors after a sign change / no change.
    pub etas: (f64, f64),
    /// `(min, max)` step sizes.
    pub step_sizes: (f64, f64),
}

impl Default for RpropConfig {
    fn default() -> Self {
        RpropConfig { lr: 1e-2, etas: (0.5, 1.2), step_sizes: (1e-6, 50.0) }
    }
}

/// `torch.optim.Rprop`.
pub type Rprop = Optim<RpropConfig>;

impl UpdateRule for RpropConfig {
    const NAME: &'static str = "Rprop";
    fn lr(&self) -> f64 {
        self.lr
    }
    fn weight_decay(&self) -> f64 {
        0.0
    }
    fn validate(&self) -> Result<()> {
        let (lo, hi) = self.etas;
        if !(0.0 < lo && lo < 1.0 && 1.0 < hi) {
            return Err(Error::value(Self::NAME, format!("Invalid eta values: {lo}, {hi}")));
        }
        Ok(())
    }
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let (etaminus, etaplus) = self.etas;
        st.step += 1;
        let prev = buffer(st, "prev", || Tensor::zeros_like(p))?;
        let size = buffer(st, "step_size", || Tensor::full_like(p, g.lr))?;
        let s = grad.mul(&prev)?.sign()?;
        let factor = Tensor::where_cond(
            &s.gt_scalar(0.0)?,
            &Tensor::full_like(p, etaplus)?,
            &Tensor::where_cond(&s.lt_scalar(0.0)?, &Tensor::full_like(p, etaminus)?, &Tensor::ones_like(p)?)?,
        )?;
        size.copy_(&size.mul(&factor)?.clamp(Some(self.step_sizes.0), Some(self.step_sizes.1))?)?;
        // After a sign change the step is skipped and the gradient forgotten.
        let grad = Tensor::where_cond(&s.lt_scalar(0.0)?, &Tensor::zeros_like(p)?, &grad)?;
        p.sub_(&grad.sign()?.mul(&size)?)?;
        prev.copy_(&grad)
    }
}
