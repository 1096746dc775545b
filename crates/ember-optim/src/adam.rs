//! Adam (with AMSGrad) and AdamW (decoupled weight decay).

use crate::optimizer::{buffer, check_groups, for_each_param, Optimizer, ParamGroup, ParamState};
use ember_core::{fused, no_grad, Error, Result, Tensor};

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

#[derive(Debug)]
struct AdamCore {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    betas: (f64, f64),
    eps: f64,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
}

impl AdamCore {
    #[track_caller]
    fn new(
        op: &'static str,
        groups: Vec<ParamGroup>,
        betas: (f64, f64),
        eps: f64,
        amsgrad: bool,
        maximize: bool,
        decoupled: bool,
    ) -> Result<AdamCore> {
        check_groups(op, &groups)?;
        if !(0.0..1.0).contains(&betas.0) || !(0.0..1.0).contains(&betas.1) || eps < 0.0 {
            return Err(Error::value(op, format!("invalid betas {betas:?} or eps {eps}")));
        }
        let n = groups.iter().map(|g| g.params.len()).sum();
        Ok(AdamCore { groups, states: vec![ParamState::default(); n], betas, eps, amsgrad, maximize, decoupled })
    }

    fn step(&mut self) -> Result<()> {
        let (b1, b2) = self.betas;
        let (eps, amsgrad, maximize, decoupled) = (self.eps, self.amsgrad, self.maximize, self.decoupled);
        no_grad(|| {
            for_each_param(&self.groups, &mut self.states, |g, p, grad, st| {
                let d = grad;
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
            })
        })
    }
}

macro_rules! adam_optimizer {
    ($name:ident, $cfg:ident, $label:expr, $decoupled:expr) => {
        #[doc = concat!("`torch.optim.", $label, "`.")]
        #[derive(Debug)]
        pub struct $name {
            core: AdamCore,
        }

        impl $name {
            /// One group of `params`.
            #[track_caller]
            pub fn new(params: Vec<Tensor>, cfg: $cfg) -> Result<$name> {
                $name::with_groups(vec![ParamGroup::new(params, cfg.lr, cfg.weight_decay)], cfg)
            }

            /// Several groups (each with its own lr and weight decay).
            #[track_caller]
            pub fn with_groups(groups: Vec<ParamGroup>, cfg: $cfg) -> Result<$name> {
                Ok($name {
                    core: AdamCore::new($label, groups, cfg.betas, cfg.eps, cfg.amsgrad, cfg.maximize, $decoupled)?,
                })
            }
        }

        impl Optimizer for $name {
            fn step(&mut self) -> Result<()> {
                self.core.step()
            }
            fn param_groups(&self) -> &[ParamGroup] {
                &self.core.groups
            }
            fn param_groups_mut(&mut self) -> &mut [ParamGroup] {
                &mut self.core.groups
            }
            fn states(&self) -> &Vec<ParamState> {
                &self.core.states
            }
            fn states_mut(&mut self) -> &mut Vec<ParamState> {
                &mut self.core.states
            }
            fn set_momentum(&mut self, m: f64) {
                self.core.betas.0 = m;
            }
            fn momentum(&self) -> Option<f64> {
                Some(self.core.betas.0)
            }
        }
    };
}

adam_optimizer!(Adam, AdamConfig, "Adam", false);
adam_optimizer!(AdamW, AdamWConfig, "AdamW", true);
