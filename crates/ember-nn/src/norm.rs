//! Normalisation layers: `BatchNorm1d/2d` (running statistics as buffers), `LayerNorm`,
//! `RMSNorm`, `GroupNorm`.

use crate::functional as F;
use crate::module::{param, Forward};
use crate::Module;
use ember_core::{no_grad, DType, Error, Result, Tensor};

/// Batch normalisation state shared by [`BatchNorm1d`] and [`BatchNorm2d`].
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct BatchNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    #[module(buffer)]
    pub running_mean: Tensor,
    #[module(buffer)]
    pub running_var: Tensor,
    #[module(buffer)]
    pub num_batches_tracked: Tensor,
    pub momentum: f64,
    pub eps: f64,
    pub training: bool,
    dims: &'static [usize],
    name: &'static str,
}

impl BatchNorm {
    fn with_dims(c: usize, dims: &'static [usize], name: &'static str) -> Result<BatchNorm> {
        Ok(BatchNorm {
            weight: Some(param(Tensor::ones(&[c], DType::F32)?)?),
            bias: Some(param(Tensor::zeros(&[c], DType::F32)?)?),
            running_mean: Tensor::zeros(&[c], DType::F32)?,
            running_var: Tensor::ones(&[c], DType::F32)?,
            num_batches_tracked: Tensor::zeros(&[], DType::I64)?,
            momentum: 0.1,
            eps: 1e-5,
            training: true,
            dims,
            name,
        })
    }
}

macro_rules! batch_norm_layer {
    ($name:ident, $dims:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Module)]
        #[module(crate = "crate")]
        pub struct $name(#[module(transparent)] pub BatchNorm);

        impl $name {
            /// `c` channels: momentum 0.1, eps 1e-5, affine, tracking running statistics.
            pub fn new(c: usize) -> Result<$name> {
                Ok($name(BatchNorm::with_dims(c, $dims, stringify!($name))?))
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                self.0.forward(x)
            }
        }
    };
}

batch_norm_layer!(BatchNorm1d, &[2, 3], "Batch norm over `[N, C]` or `[N, C, L]`.");
batch_norm_layer!(BatchNorm2d, &[4], "Batch norm over `[N, C, H, W]`.");

impl Forward for BatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.dims.contains(&x.dim()) {
            return Err(Error::shape(
                self.name,
                format!("expected {:?}-D input, got shape {:?}", self.dims, x.shape()),
            ));
        }
        if self.training {
            no_grad(|| self.num_batches_tracked.add_(&Tensor::scalar(1i64)))?;
        }
        F::batch_norm(
            x,
            Some(&self.running_mean),
            Some(&self.running_var),
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.training,
            self.momentum,
            self.eps,
        )
    }
}

/// Layer normalisation over the last dims (`elementwise_affine` weight and bias).
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct LayerNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub normalized_shape: Vec<usize>,
    pub eps: f64,
}

impl LayerNorm {
    /// `LayerNorm(d)`: eps 1e-5, weight ones, bias zeros.
    pub fn new(d: usize) -> Result<LayerNorm> {
        Self::with_options(&[d], 1e-5, true, true)
    }

    /// Any normalised shape, eps, and whether weight/bias exist.
    pub fn with_options(shape: &[usize], eps: f64, affine: bool, bias: bool) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: if affine { Some(param(Tensor::ones(shape, DType::F32)?)?) } else { None },
            bias: if affine && bias { Some(param(Tensor::zeros(shape, DType::F32)?)?) } else { None },
            normalized_shape: shape.to_vec(),
            eps,
        })
    }
}

impl Forward for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::layer_norm(x, &self.normalized_shape, self.weight.as_ref(), self.bias.as_ref(), self.eps)
    }
}

/// RMS normalisation over the last dims (`eps = None`: the dtype's epsilon, as PyTorch).
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct RMSNorm {
    pub weight: Option<Tensor>,
    pub normalized_shape: Vec<usize>,
    pub eps: Option<f64>,
}

impl RMSNorm {
    /// `RMSNorm(d)` with a weight of ones.
    pub fn new(d: usize) -> Result<RMSNorm> {
        Ok(RMSNorm { weight: Some(param(Tensor::ones(&[d], DType::F32)?)?), normalized_shape: vec![d], eps: None })
    }

    /// With an explicit eps (Llama uses 1e-5 or 1e-6).
    pub fn with_eps(d: usize, eps: f64) -> Result<RMSNorm> {
        Ok(RMSNorm { eps: Some(eps), ..RMSNorm::new(d)? })
    }
}

impl Forward for RMSNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::rms_norm(x, &self.normalized_shape, self.weight.as_ref(), self.eps)
    }
}

/// Group normalisation.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct GroupNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub num_groups: usize,
    pub eps: f64,
}

impl GroupNorm {
    /// `GroupNorm(num_groups, num_channels)`: eps 1e-5, affine.
    #[track_caller]
    pub fn new(num_groups: usize, num_channels: usize) -> Result<GroupNorm> {
        if num_groups == 0 || !num_channels.is_multiple_of(num_groups) {
            return Err(Error::value(
                "GroupNorm",
                format!("num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"),
            ));
        }
        Ok(GroupNorm {
            weight: Some(param(Tensor::ones(&[num_channels], DType::F32)?)?),
            bias: Some(param(Tensor::zeros(&[num_channels], DType::F32)?)?),
            num_groups,
            eps: 1e-5,
        })
    }
}

impl Forward for GroupNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::group_norm(x, self.num_groups, self.weight.as_ref(), self.bias.as_ref(), self.eps)
    }
}
