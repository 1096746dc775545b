//! ember-optim: PyTorch's `torch.optim` for Ember.
//!
//! [`Optimizer`] is the common interface; [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`] and
//! [`Adagrad`] implement PyTorch's update rules step for step (the single-tensor code path),
//! with parameter groups and a saveable state dict. [`lr_scheduler`] holds the schedulers, in
//! PyTorch's chainable (recursive) form so that `ChainedScheduler` composes them the same way.

mod adagrad;
mod adam;
pub mod lr_scheduler;
mod optimizer;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use ember_nn::utils::{clip_grad_norm_, clip_grad_value_};
pub use optimizer::{Optimizer, ParamGroup, ParamState};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};
