//! ember-optim: PyTorch's `torch.optim` for Ember.
//!
//! [`Optimizer`] is the common interface and [`Optim`] the one implementation of it (groups,
//! state, state dict, the step loop); [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`],
//! [`Adamax`], [`NAdam`], [`RAdam`], [`Adadelta`], [`Rprop`] and [`Asgd`] are `Optim` with their configs,
//! [`Lbfgs`] (driven by a closure, with strong-Wolfe line search) stands on its own; each an [`UpdateRule`] with PyTorch's update
//! step for step (the single-tensor code path). [`lr_scheduler`] holds the schedulers, in
//! PyTorch's chainable (recursive) form so that `ChainedScheduler` composes them the same way.

mod adagrad;
mod adam;
mod adaptive;
mod lbfgs;
mod line_search;
pub mod lr_scheduler;
mod optimizer;
mod rmsprop;
mod sgd;
pub mod swa_utils;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use adaptive::{
    Adadelta, AdadeltaConfig, Adamax, AdamaxConfig, NAdam, NAdamConfig, RAdam, RAdamConfig, Rprop, RpropConfig,
};
pub use ember_nn::utils::{clip_grad_norm_, clip_grad_value_};
pub use lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
pub use optimizer::{Optim, Optimizer, ParamGroup, ParamState, UpdateRule};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Asgd, AsgdConfig, Sgd, SgdConfig};
