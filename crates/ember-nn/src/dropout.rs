//! `Dropout`: zeroes elements with probability `p` in training mode (seeded by
//! `ember::manual_seed`), the identity in eval mode.

use crate::functional as F;
use crate::module::Forward;
use crate::Module;
use ember_core::{Error, Result, Tensor};

/// Dropout layer.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct Dropout {
    pub p: f64,
    pub training: bool,
}

impl Dropout {
    /// `Dropout(p)`, in training mode.
    #[track_caller]
    pub fn new(p: f64) -> Result<Dropout> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::value("Dropout", format!("dropout probability has to be between 0 and 1, but got {p}")));
        }
        Ok(Dropout { p, training: true })
    }
}

impl Forward for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::dropout(x, self.p, self.training)
    }
}
