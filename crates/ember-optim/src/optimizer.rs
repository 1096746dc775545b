//! The `Optimizer` trait, parameter groups, the per-parameter state with its state dict, and
//! the one optimiser skeleton, [`Optim`]: groups, states, validation and the step loop are
//! written once; each optimiser is its hyper-parameters and update rule ([`UpdateRule`]).

use ember_core::{no_grad, DType, Error, Result, Tensor};
use std::collections::BTreeMap;

/// Parameters sharing hyper-parameters. `lr` and `weight_decay` may differ between groups.
#[derive(Clone, Debug)]
pub struct ParamGroup {
    pub params: Vec<Tensor>,
    pub lr: f64,
    pub weight_decay: f64,
    /// The rate before any scheduler changed it (PyTorch's `initial_lr`, set by the first
    /// scheduler built on the optimiser and used as every later scheduler's base rate).
    pub initial_lr: Option<f64>,
}

impl ParamGroup {
    /// A group with its own learning rate and weight decay.
    pub fn new(params: Vec<Tensor>, lr: f64, weight_decay: f64) -> ParamGroup {
        ParamGroup { params, lr, weight_decay, initial_lr: None }
    }
}

/// Per-parameter optimiser state: the step count and named buffers (`exp_avg`,
/// `momentum_buffer`, ...).
#[derive(Clone, Debug, Default)]
pub struct ParamState {
    pub step: u64,
    pub buffers: BTreeMap<String, Tensor>,
}

/// The interface every optimiser implements (`torch.optim.Optimizer`).
pub trait Optimizer {
    /// Applies one update to every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;

    /// `step(closure)`: evaluates `closure` (which recomputes the loss and its gradients, with
    /// recording on) and then steps; returns the loss. L-BFGS calls it several times per step.
    fn step_with_closure(&mut self, closure: &mut dyn FnMut() -> Result<f64>) -> Result<f64> {
        let loss = ember_core::enable_grad(closure)?;
        self.step()?;
        Ok(loss)
    }

    /// The parameter groups.
    fn param_groups(&self) -> &[ParamGroup];

    /// The parameter groups, mutably (schedulers set `lr` here).
    fn param_groups_mut(&mut self) -> &mut [ParamGroup];

    /// Per-parameter state, indexed like the parameters across groups.
    fn states(&self) -> &Vec<ParamState>;

    /// Per-parameter state, mutably.
    fn states_mut(&mut self) -> &mut Vec<ParamState>;

    /// Sets the momentum (SGD) or `beta1` (Adam family); used by `OneCycleLr`. Optimisers
    /// without momentum ignore it.
    fn set_momentum(&mut self, _momentum: f64) {}

    /// The current momentum or `beta1`, if the optimiser has one.
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// Clears every parameter's gradient (`set_to_none=True`).
    fn zero_grad(&mut self) {
        for g in self.param_groups() {
            for p in &g.params {
                p.zero_grad();
            }
        }
    }

    /// The learning rate of the first group.
    fn lr(&self) -> f64 {
        self.param_groups().first().map_or(0.0, |g| g.lr)
    }

    /// Sets the learning rate of every group.
    fn set_lr(&mut self, lr: f64) {
        for g in self.param_groups_mut() {
            g.lr = lr;
        }
    }

    /// Optimiser state as tensors: `state.{i}.step`, `state.{i}.{buffer}` and
    /// `param_groups.{g}.lr` / `.weight_decay` (0-d f64), plus `momentum` when there is one.
    fn state_dict(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for (i, s) in self.states().iter().enumerate() {
            out.insert(format!("state.{i}.step"), Tensor::scalar(s.step as f64));
            for (k, t) in &s.buffers {
                out.insert(format!("state.{i}.{k}"), t.detach());
            }
        }
        for (g, pg) in self.param_groups().iter().enumerate() {
            out.insert(format!("param_groups.{g}.lr"), Tensor::scalar(pg.lr));
            out.insert(format!("param_groups.{g}.weight_decay"), Tensor::scalar(pg.weight_decay));
        }
        if let Some(m) = self.momentum() {
            out.insert("momentum".into(), Tensor::scalar(m));
        }
        out
    }

    /// Restores [`Optimizer::state_dict`] (buffers are copied, so later steps continue
    /// exactly).
    fn load_state_dict(&mut self, sd: &BTreeMap<String, Tensor>) -> Result<()> {
        let scalar = |k: &str| -> Result<f64> {
            let t = sd.get(k).ok_or_else(|| Error::format("optimizer state dict", format!("missing key {k}")))?;
            t.to_dtype(DType::F64)?.item::<f64>()
        };
        let n_groups = self.param_groups().len();
        for g in 0..n_groups {
            let lr = scalar(&format!("param_groups.{g}.lr"))?;
            let wd = scalar(&format!("param_groups.{g}.weight_decay"))?;
            let pg = &mut self.param_groups_mut()[g];
            pg.lr = lr;
            pg.weight_decay = wd;
        }
        if self.momentum().is_some() {
            if let Ok(m) = scalar("momentum") {
                self.set_momentum(m);
            }
        }
        let n = self.states().len();
        for i in 0..n {
            let prefix = format!("state.{i}.");
            let mut st = ParamState::default();
            if let Some(step) = sd.get(&format!("{prefix}step")) {
                st.step = step.to_dtype(DType::F64)?.item::<f64>()? as u64;
            }
            for (k, t) in sd.range(prefix.clone()..) {
                let Some(name) = k.strip_prefix(&prefix) else { break };
                if name != "step" {
                    st.buffers.insert(name.to_string(), t.detach().contiguous()?.mul_scalar(1.0)?);
                }
            }
            self.states_mut()[i] = st;
        }
        Ok(())
    }
}

/// One optimiser's hyper-parameters and its update of one parameter: the only part that
/// differs between SGD, Adam, RMSprop, ... ([`Optim`] is the rest).
pub trait UpdateRule {
    /// PyTorch's class name (`"SGD"`), for errors.
    const NAME: &'static str;

    /// The learning rate of the default group.
    fn lr(&self) -> f64;

    /// The weight decay of the default group.
    fn weight_decay(&self) -> f64;

    /// Checks the hyper-parameters (groups are checked by [`Optim`]).
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Updates `param` in place from its gradient and state (called with recording off, for
    /// parameters that have a gradient).
    fn update(&self, group: &ParamGroup, param: &Tensor, grad: Tensor, state: &mut ParamState) -> Result<()>;

    /// The momentum or `beta1`, for optimisers that have one (`OneCycleLr` cycles it).
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// Sets the momentum or `beta1`.
    fn set_momentum(&mut self, _momentum: f64) {}
}

/// An optimiser: parameter groups, per-parameter state and the update rule `C` (its config).
/// `Sgd`, `Adam`, `AdamW`, `RmsProp` and `Adagrad` are this with their configs.
#[derive(Debug)]
pub struct Optim<C> {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    /// The hyper-parameters (PyTorch's `defaults`); group-level `lr`/`weight_decay` live in
    /// the groups.
    pub cfg: C,
}

impl<C: UpdateRule> Optim<C> {
    /// One group of `params` with the config's learning rate and weight decay.
    #[track_caller]
    pub fn new(params: Vec<Tensor>, cfg: C) -> Result<Optim<C>> {
        let group = ParamGroup::new(params, cfg.lr(), cfg.weight_decay());
        Optim::with_groups(vec![group], cfg)
    }

    /// Several groups (each with its own lr and weight decay).
    #[track_caller]
    pub fn with_groups(groups: Vec<ParamGroup>, cfg: C) -> Result<Optim<C>> {
        check_groups(C::NAME, &groups)?;
        cfg.validate()?;
        let n = groups.iter().map(|g| g.params.len()).sum();
        Ok(Optim { groups, states: vec![ParamState::default(); n], cfg })
    }
}

impl<C: UpdateRule> Optimizer for Optim<C> {
    fn step(&mut self) -> Result<()> {
        let cfg = &self.cfg;
        no_grad(|| {
            let mut i = 0;
            for g in &self.groups {
                for p in &g.params {
                    // Parameters without a gradient are skipped, as in PyTorch.
                    if let Some(grad) = p.grad() {
                        cfg.update(g, p, grad, &mut self.states[i])?;
                    }
                    i += 1;
                }
            }
            Ok(())
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
        self.cfg.set_momentum(m);
    }
    fn momentum(&self) -> Option<f64> {
        self.cfg.momentum()
    }
}

/// Groups with validation: a learning rate must be finite and non-negative.
#[track_caller]
fn check_groups(op: &'static str, groups: &[ParamGroup]) -> Result<()> {
    for (i, g) in groups.iter().enumerate() {
        if !(g.lr >= 0.0 && g.lr.is_finite()) {
            return Err(Error::value(op, format!("invalid learning rate {} in group {i}", g.lr)));
        }
        if g.weight_decay < 0.0 {
            return Err(Error::value(op, format!("invalid weight_decay {} in group {i}", g.weight_decay)));
        }
        if let Some(p) = g.params.iter().find(|p| !p.dtype().is_float()) {
            return Err(Error::dtype(op, format!("can only optimize floating point tensors, got {}", p.dtype())));
        }
    }
    Ok(())
}

/// `UpdateRule::lr` and `weight_decay` for a config with fields of those names.
macro_rules! group_defaults {
    () => {
        fn lr(&self) -> f64 {
            self.lr
        }
        fn weight_decay(&self) -> f64 {
            self.weight_decay
        }
    };
}
pub(crate) use group_defaults;

/// `grad + weight_decay * param` (L2 regularisation folded into the gradient), or `grad`.
pub(crate) fn with_weight_decay(g: &ParamGroup, p: &Tensor, grad: Tensor) -> Result<Tensor> {
    if g.weight_decay == 0.0 {
        return Ok(grad);
    }
    grad.add(&p.mul_scalar(g.weight_decay)?)
}

/// A buffer of the state, created by `init` on first use.
pub(crate) fn buffer(st: &mut ParamState, name: &str, init: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    if let Some(t) = st.buffers.get(name) {
        return Ok(t.clone());
    }
    let t = init()?;
    st.buffers.insert(name.to_string(), t.clone());
    Ok(t)
}
