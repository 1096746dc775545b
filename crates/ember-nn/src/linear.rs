//! `Linear`: `y = x W^T + b` with `W: [out, in]` (PyTorch's layout and initialisation).

use crate::module::{param, Forward};
use crate::Module;
use crate::{functional as F, init};
use ember_core::{DType, Result, Tensor};

/// A fully connected layer.
///
/// ```
/// use ember_core::{DType, Tensor};
/// use ember_nn::{Forward, Linear, Module};
/// let fc = Linear::new(3, 2, true)?;
/// let y = fc.forward(&Tensor::ones(&[4, 3], DType::F32)?)?;
/// assert_eq!(y.shape(), &[4, 2]);
/// assert_eq!(fc.named_parameters()[0].0, "weight");
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Tensor,
    /// `[out_features]`.
    pub bias: Option<Tensor>,
}

impl Linear {
    /// A layer initialised as PyTorch does: `U(-1/sqrt(in), 1/sqrt(in))` for weight and bias.
    pub fn new(in_features: usize, out_features: usize, bias: bool) -> Result<Linear> {
        let weight = Tensor::zeros(&[out_features, in_features], DType::F32)?;
        init::kaiming_uniform_(&weight, 5f64.sqrt(), false, "leaky_relu")?;
        let bias = if bias {
            let b = Tensor::zeros(&[out_features], DType::F32)?;
            let bound = 1.0 / (in_features.max(1) as f64).sqrt();
            init::uniform_(&b, -bound, bound)?;
            Some(param(b)?)
        } else {
            None
        };
        Ok(Linear { weight: param(weight)?, bias })
    }

    /// A layer from existing tensors (e.g. loaded weights).
    pub fn from_weights(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear { weight, bias }
    }
}

impl Forward for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::linear(x, &self.weight, self.bias.as_ref())
    }
}
