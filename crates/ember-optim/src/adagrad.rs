//! Adagrad.

use crate::optimizer::{buffer, group_defaults, with_weight_decay, Optim, ParamGroup, ParamState, UpdateRule};
use ember_core::{Result, Tensor};

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

/// `torch.optim.Adagrad`.
pub type Adagrad = Optim<AdagradConfig>;

impl UpdateRule for AdagradConfig {
    const NAME: &'static str = "Adagrad";
    group_defaults!();
    fn update(&self, g: &ParamGroup, p: &Tensor, grad: Tensor, st: &mut ParamState) -> Result<()> {
        let d = with_weight_decay(g, p, grad)?;
        st.step += 1;
        let clr = g.lr / (1.0 + (st.step - 1) as f64 * self.lr_decay);
        let sum = buffer(st, "sum", || Tensor::full_like(p, self.initial_accumulator_value))?;
        sum.add_(&d.square()?)?;
        p.sub_(&d.div(&sum.sqrt()?.add_scalar(self.eps)?)?.mul_scalar(clr)?)
    }
}
