//! `Dropout`: zeroes elements with probability `p` in training mode (seeded by
//! `ember::manual_seed`), the identity in eval mode; and the channel and alpha variants
//! (`Dropout1d/2d/3d`, `AlphaDropout`, `FeatureAlphaDropout`).

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

macro_rules! dropout_module {
    ($(#[$doc:meta])* $name:ident => $f:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Module)]
        #[module(crate = "crate")]
        pub struct $name {
            pub p: f64,
            pub training: bool,
        }

        impl $name {
            /// The layer with drop probability `p`, in training mode.
            #[track_caller]
            pub fn new(p: f64) -> Result<$name> {
                if !(0.0..=1.0).contains(&p) {
                    return Err(Error::value(
                        stringify!($name),
                        format!("dropout probability has to be between 0 and 1, but got {p}"),
                    ));
                }
                Ok($name { p, training: true })
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                $f(x, self.p, self.training)
            }
        }
    };
}

dropout_module!(
    /// `nn.Dropout1d`: zeroes whole channels of `[N, C, L]`.
    Dropout1d => F::dropout1d
);
dropout_module!(
    /// `nn.Dropout2d`: zeroes whole channels of `[N, C, H, W]`.
    Dropout2d => F::dropout2d
);
dropout_module!(
    /// `nn.Dropout3d`: zeroes whole channels of `[N, C, D, H, W]`.
    Dropout3d => F::dropout3d
);
dropout_module!(
    /// `nn.AlphaDropout`: dropout that keeps SELU's self-normalisation.
    AlphaDropout => F::alpha_dropout
);
dropout_module!(
    /// `nn.FeatureAlphaDropout`: alpha dropout of whole channels.
    FeatureAlphaDropout => F::feature_alpha_dropout
);
