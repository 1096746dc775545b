//! L-BFGS (`torch.optim.LBFGS`): a quasi-Newton method driven by a closure that re-evaluates
//! the loss and gradients, with PyTorch's two-loop recursion, history and optional strong-Wolfe
//! line search, step for step (its tolerances, evaluation counts and stopping rules).
//!
//! The parameters are handled as one flat f64 vector (as PyTorch flattens them); the
//! line search lives in [`crate::line_search`].

use crate::line_search::strong_wolfe;
use crate::{Optimizer, ParamGroup, ParamState};
use ember_core::{enable_grad, no_grad, DType, Error, Result, Tensor};

/// The line search L-BFGS uses between directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LineSearch {
    /// Cubic interpolation until the strong Wolfe conditions hold (`"strong_wolfe"`).
    StrongWolfe,
}

/// `LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
/// tolerance_change=1e-9, history_size=100, line_search_fn=None, maximize=False)`.
#[derive(Clone, Copy, Debug)]
pub struct LbfgsConfig {
    pub lr: f64,
    pub max_iter: usize,
    /// `None`: `max_iter * 5 / 4`.
    pub max_eval: Option<usize>,
    pub tolerance_grad: f64,
    pub tolerance_change: f64,
    pub history_size: usize,
    pub line_search_fn: Option<LineSearch>,
    pub maximize: bool,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search_fn: None,
            maximize: false,
        }
    }
}

/// What L-BFGS carries from one `step` to the next.
#[derive(Clone, Debug, Default)]
struct History {
    func_evals: usize,
    n_iter: usize,
    d: Vec<f64>,
    t: f64,
    old_dirs: Vec<Vec<f64>>,
    old_stps: Vec<Vec<f64>>,
    ro: Vec<f64>,
    h_diag: f64,
    prev_flat_grad: Vec<f64>,
    prev_loss: f64,
}

/// The L-BFGS optimiser; call [`Optimizer::step_with_closure`].
pub struct Lbfgs {
    groups: Vec<ParamGroup>,
    states: Vec<ParamState>,
    pub cfg: LbfgsConfig,
    h: History,
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn abs_max(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

impl Lbfgs {
    /// One group of parameters (L-BFGS has no per-group options, as in PyTorch).
    #[track_caller]
    pub fn new(params: Vec<Tensor>, cfg: LbfgsConfig) -> Result<Lbfgs> {
        if cfg.lr.is_nan() || cfg.lr < 0.0 {
            return Err(Error::value("LBFGS", format!("Invalid learning rate: {}", cfg.lr)));
        }
        if let Some(p) = params.iter().find(|p| !p.dtype().is_float()) {
            return Err(Error::dtype("LBFGS", format!("can only optimize floating point tensors, got {}", p.dtype())));
        }
        let n = params.len();
        Ok(Lbfgs {
            groups: vec![ParamGroup::new(params, cfg.lr, 0.0)],
            states: vec![ParamState::default(); n],
            cfg,
            h: History::default(),
        })
    }

    fn params(&self) -> &[Tensor] {
        &self.groups[0].params
    }

    /// The gradients of all parameters as one vector (zeros for a missing gradient).
    fn flat_grad(&self) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for p in self.params() {
            match p.grad() {
                Some(g) => out.extend(g.to_f64_vec()?),
                None => out.resize(out.len() + p.numel(), 0.0),
            }
        }
        if self.cfg.maximize {
            out.iter_mut().for_each(|g| *g = -*g);
        }
        Ok(out)
    }

    fn flat_params(&self) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for p in self.params() {
            out.extend(p.to_f64_vec()?);
        }
        Ok(out)
    }

    /// Writes `x` (one flat vector) into the parameters.
    fn set_params(&self, x: &[f64]) -> Result<()> {
        no_grad(|| {
            let mut off = 0;
            for p in self.params() {
                let n = p.numel();
                let v = Tensor::from_vec(x[off..off + n].to_vec(), p.shape())?;
                p.copy_(&if p.dtype() == DType::F64 { v } else { v.to_dtype(p.dtype())? })?;
                off += n;
            }
            Ok(())
        })
    }

    /// `p += t * d` for the flat direction `d`.
    fn add_dir(&self, x: &[f64], t: f64, d: &[f64]) -> Result<()> {
        let moved: Vec<f64> = x.iter().zip(d).map(|(x, d)| x + t * d).collect();
        self.set_params(&moved)
    }

    /// The closure under `enable_grad`, its loss negated when maximising.
    fn evaluate(&self, closure: &mut dyn FnMut() -> Result<f64>) -> Result<f64> {
        let loss = enable_grad(closure)?;
        Ok(if self.cfg.maximize { -loss } else { loss })
    }

    /// The two-loop recursion: the quasi-Newton direction from the history.
    fn direction(&self, g: &[f64]) -> Vec<f64> {
        let h = &self.h;
        let m = h.old_dirs.len();
        let mut al = vec![0.0; m];
        let mut q: Vec<f64> = g.iter().map(|x| -x).collect();
        for i in (0..m).rev() {
            al[i] = dot(&h.old_stps[i], &q) * h.ro[i];
            q.iter_mut().zip(&h.old_dirs[i]).for_each(|(q, y)| *q -= al[i] * y);
        }
        let mut r: Vec<f64> = q.iter().map(|q| q * h.h_diag).collect();
        for i in 0..m {
            let be = dot(&h.old_dirs[i], &r) * h.ro[i];
            r.iter_mut().zip(&h.old_stps[i]).for_each(|(r, s)| *r += (al[i] - be) * s);
        }
        r
    }

    fn lbfgs_step(&mut self, closure: &mut dyn FnMut() -> Result<f64>) -> Result<f64> {
        let c = self.cfg;
        let max_eval = c.max_eval.unwrap_or(c.max_iter * 5 / 4);
        let orig_loss = self.evaluate(closure)?;
        let mut loss = orig_loss;
        let mut current_evals = 1;
        self.h.func_evals += 1;
        let mut g = self.flat_grad()?;
        if abs_max(&g) <= c.tolerance_grad {
            return Ok(if c.maximize { -orig_loss } else { orig_loss });
        }
        let mut n_iter = 0;
        while n_iter < c.max_iter {
            n_iter += 1;
            self.h.n_iter += 1;
            if self.h.n_iter == 1 {
                self.h.d = g.iter().map(|x| -x).collect();
                self.h.old_dirs.clear();
                self.h.old_stps.clear();
                self.h.ro.clear();
                self.h.h_diag = 1.0;
            } else {
                let y: Vec<f64> = g.iter().zip(&self.h.prev_flat_grad).map(|(a, b)| a - b).collect();
                let s: Vec<f64> = self.h.d.iter().map(|d| d * self.h.t).collect();
                let ys = dot(&y, &s);
                if ys > 1e-10 {
                    if self.h.old_dirs.len() == c.history_size {
                        self.h.old_dirs.remove(0);
                        self.h.old_stps.remove(0);
                        self.h.ro.remove(0);
                    }
                    self.h.h_diag = ys / dot(&y, &y);
                    self.h.old_dirs.push(y);
                    self.h.old_stps.push(s);
                    self.h.ro.push(1.0 / ys);
                }
                self.h.d = self.direction(&g);
            }
            self.h.prev_flat_grad.clone_from(&g);
            self.h.prev_loss = loss;
            let mut t =
                if self.h.n_iter == 1 { (1.0 / g.iter().map(|x| x.abs()).sum::<f64>()).min(1.0) * c.lr } else { c.lr };
            let gtd = dot(&g, &self.h.d);
            if gtd > -c.tolerance_change {
                break;
            }
            let ls_evals;
            let mut opt_cond = false;
            let x0 = self.flat_params()?;
            let d = self.h.d.clone();
            match c.line_search_fn {
                Some(LineSearch::StrongWolfe) => {
                    let mut obj = |t: f64| -> Result<(f64, Vec<f64>)> {
                        self.add_dir(&x0, t, &d)?;
                        let f = self.evaluate(closure)?;
                        let g = self.flat_grad()?;
                        self.set_params(&x0)?;
                        Ok((f, g))
                    };
                    let r = strong_wolfe(&mut obj, t, &d, loss, &g, gtd, c.tolerance_change, max_eval - current_evals)?;
                    (loss, g, t, ls_evals) = (r.f, r.g, r.t, r.evals);
                    self.add_dir(&x0, t, &d)?;
                    opt_cond = abs_max(&g) <= c.tolerance_grad;
                }
                None => {
                    self.add_dir(&x0, t, &d)?;
                    if n_iter != c.max_iter {
                        loss = self.evaluate(closure)?;
                        g = self.flat_grad()?;
                        opt_cond = abs_max(&g) <= c.tolerance_grad;
                        ls_evals = 1;
                    } else {
                        ls_evals = 0;
                    }
                }
            }
            self.h.t = t;
            current_evals += ls_evals;
            self.h.func_evals += ls_evals;
            if n_iter == c.max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            if abs_max(&d) * t.abs() <= c.tolerance_change || (loss - self.h.prev_loss).abs() < c.tolerance_change {
                break;
            }
        }
        if let Some(s) = self.states.first_mut() {
            s.step = self.h.n_iter as u64;
        }
        Ok(if c.maximize { -orig_loss } else { orig_loss })
    }

    /// Function evaluations so far (PyTorch's `state["func_evals"]`).
    pub fn func_evals(&self) -> usize {
        self.h.func_evals
    }

    /// Iterations so far (PyTorch's `state["n_iter"]`).
    pub fn n_iter(&self) -> usize {
        self.h.n_iter
    }
}

impl Optimizer for Lbfgs {
    fn step(&mut self) -> Result<()> {
        Err(Error::value("LBFGS", "step() needs a closure that re-evaluates the model: use step_with_closure"))
    }
    fn step_with_closure(&mut self, closure: &mut dyn FnMut() -> Result<f64>) -> Result<f64> {
        if self.groups.len() != 1 {
            return Err(Error::value("LBFGS", "LBFGS doesn't support per-parameter options (parameter groups)"));
        }
        self.cfg.lr = self.groups[0].lr;
        if self.params().is_empty() {
            return closure();
        }
        self.lbfgs_step(closure)
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
}
