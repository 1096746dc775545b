//! Adam (with AMSGrad) and AdamW (decoupled weight decay).

use crate::optimizer::{buffer, group_defaults, Optim, ParamGroup, ParamState, UpdateRule};
use ember_core::{fused, Error, Result, Tensor};

/// `torch.optim.Adam` hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, amsgrad: false, maximize: false }
    }
}

/// `torch.optim.AdamW` hyper-parameters (weight decay 0.01 by default).
#[derive(Clone, Copy, Debug)]
pub struct AdamWConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 1e-2, amsgrad: false, maximize: false }
    }
}

/// The Adam/AdamW update (`decoupled`: AdamW's weight decay on the parameter).
fn adam_update(
    (b1, b2): (f64, f64),
    eps: f64,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
    g: &ParamGroup,
    p: &Tensor,
    d: Tensor,
    st: &mut ParamState,
) -> Result<()> {
    let m = buffer(st, "exp_avg", || Tensor::zeros_like(p))?;
    let v = buffer(st, "exp_avg_sq", || Tensor::zeros_like(p))?;
    let vmax = if amsgrad { Some(buffer(st, "max_exp_avg_sq", || Tensor::zeros_like(p))?) } else { None };
    st.step += 1;
    let t = st.step as i32;
    let mut group: Vec<&Tensor> = vec![p, &d, &m, &v];
    group.extend(vmax.as_ref());
    if fused::adam_supported(&group) {
        // One pass over parameter, gradient and state (same arithmetic as below).
        let s = fused::AdamStep {
            lr: g.lr,
            beta1: b1,
            beta2: b2,
            eps,
            weight_decay: g.weight_decay,
            decoupled,
            maximize,
            bias_correction1: 1.0 - b1.powi(t),
            bias_correction2_sqrt: (1.0 - b2.powi(t)).sqrt(),
        };
        return fused::adam_update(p, &d, &m, &v, vmax.as_ref(), &s);
    }
    // The unfused path handles the rest (half-precision parameters, views).
    let mut d = if maximize { d.neg()? } else { d };
    if g.weight_decay != 0.0 {
        if decoupled {
            p.mul_scalar_(1.0 - g.lr * g.weight_decay)?;
        } else {
            d = d.add(&p.mul_scalar(g.weight_decay)?)?;
        }
    }
    // exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
    m.add_(&d.sub(&m)?.mul_scalar(1.0 - b1)?)?;
    v.copy_(&v.mul_scalar(b2)?.add(&d.square()?.mul_scalar(1.0 - b2)?)?)?;
    let bc1 = 1.0 - b1.powi(t);
    let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
    let second = match vmax {
        Some(vmax) => {
            vmax.copy_(&vmax.maximum(&v)?)?;
            vmax
        }
        None => v,
    };
    let denom = second.sqrt()?.mul_scalar(1.0 / bc2_sqrt)?.add_scalar(eps)?;
    p.sub_(&m.div(&denom)?.mul_scalar(g.lr / bc1)?)
}

macro_rules! adam_rule {
    ($name:ident, $cfg:ident, $label:expr, $decoupled:expr) => {
        #[doc = concat!("`torch.optim.", $label, "`.")]
        pub type $name = Optim<$cfg>;

        impl UpdateRule for $cfg {
            const NAME: &'static str = $label;
            group_defaults!();
            #[track_caller]
            fn validate(&self) -> Result<()> {
                let (b, eps) = (self.betas, self.eps);
                if !(0.0..1.0).contains(&b.0) || !(0.0..1.0).contains(&b.1) || eps < 0.0 {
                    return Err(Error::value($label, format!("invalid betas {b:?} or eps {eps}")));
                }
                Ok(())
            }
            fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
                adam_update(self.betas, self.eps, self.amsgrad, self.maximize, $decoupled, g, p, grad, st)
            }
            fn set_momentum(&mut self, m: f64) {
                self.betas.0 = m;
            }
            fn momentum(&self) -> Option<f64> {
                Some(self.betas.0)
            }
        }
    };
}

adam_rule!(Adam, AdamConfig, "Adam", false);
adam_rule!(AdamW, AdamWConfig, "AdamW", true);
