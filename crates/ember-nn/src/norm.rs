//! Normalisation layers: `BatchNorm1d/2d/3d` and `InstanceNorm1d/2d/3d` (one per-channel state
//! with optional running statistics as buffers), `LocalResponseNorm`, `LayerNorm`, `RMSNorm`,
//! `GroupNorm`.

use crate::functional as F;
use crate::module::{param, Forward};
use crate::Module;
use ember_core::{no_grad, DType, Error, Result, Tensor};

/// Options of the batch and instance norms (PyTorch's constructor arguments).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormOptions {
    pub eps: f64,
    /// `None`: a cumulative average of the batch statistics (`momentum=None`).
    pub momentum: Option<f64>,
    /// Learnable per-channel weight and bias.
    pub affine: bool,
    /// Keep running statistics (and use them in eval mode).
    pub track_running_stats: bool,
}

impl NormOptions {
    /// `BatchNorm*d`'s defaults: eps 1e-5, momentum 0.1, affine, tracking.
    pub const BATCH: NormOptions =
        NormOptions { eps: 1e-5, momentum: Some(0.1), affine: true, track_running_stats: true };
    /// `InstanceNorm*d`'s defaults: eps 1e-5, momentum 0.1, no affine, no tracking.
    pub const INSTANCE: NormOptions =
        NormOptions { eps: 1e-5, momentum: Some(0.1), affine: false, track_running_stats: false };
}

impl Default for NormOptions {
    fn default() -> Self {
        NormOptions::BATCH
    }
}

/// Per-channel state shared by the batch and instance norms: optional affine parameters and
/// optional running statistics (buffers named as PyTorch's).
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct ChannelNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    #[module(buffer)]
    pub running_mean: Option<Tensor>,
    #[module(buffer)]
    pub running_var: Option<Tensor>,
    #[module(buffer)]
    pub num_batches_tracked: Option<Tensor>,
    pub momentum: Option<f64>,
    pub eps: f64,
    pub training: bool,
    dims: &'static [usize],
    name: &'static str,
}

/// The batch norms' shared state (kept under its old name).
pub type BatchNorm = ChannelNorm;

impl ChannelNorm {
    fn with_dims(c: usize, o: NormOptions, dims: &'static [usize], name: &'static str) -> Result<ChannelNorm> {
        let (affine, track) = (o.affine, o.track_running_stats);
        Ok(ChannelNorm {
            weight: if affine { Some(param(Tensor::ones(&[c], DType::F32)?)?) } else { None },
            bias: if affine { Some(param(Tensor::zeros(&[c], DType::F32)?)?) } else { None },
            running_mean: if track { Some(Tensor::zeros(&[c], DType::F32)?) } else { None },
            running_var: if track { Some(Tensor::ones(&[c], DType::F32)?) } else { None },
            num_batches_tracked: if track { Some(Tensor::zeros(&[], DType::I64)?) } else { None },
            momentum: o.momentum,
            eps: o.eps,
            training: true,
            dims,
            name,
        })
    }

    #[track_caller]
    fn check(&self, x: &Tensor) -> Result<()> {
        if !self.dims.contains(&x.dim()) {
            return Err(Error::shape(
                self.name,
                format!("expected {:?}-D input, got shape {:?}", self.dims, x.shape()),
            ));
        }
        Ok(())
    }

    /// The averaging factor of this step's statistics (PyTorch's `exponential_average_factor`):
    /// the momentum, or `1 / num_batches_tracked` for a cumulative average; counts the batch.
    fn factor(&self) -> Result<f64> {
        let mut factor = self.momentum.unwrap_or(0.0);
        if let (true, Some(nbt)) = (self.training, &self.num_batches_tracked) {
            no_grad(|| nbt.add_(&Tensor::scalar(1i64)))?;
            if self.momentum.is_none() {
                factor = 1.0 / nbt.to_dtype(DType::F64)?.item::<f64>()?;
            }
        }
        Ok(factor)
    }
}

macro_rules! channel_norm_layer {
    ($name:ident, $dims:expr, $defaults:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Module)]
        #[module(crate = "crate")]
        pub struct $name(#[module(transparent)] pub ChannelNorm);

        impl $name {
            /// `num_features` channels with PyTorch's defaults for this layer.
            pub fn new(num_features: usize) -> Result<$name> {
                Self::with_options(num_features, $defaults)
            }

            /// Any eps, momentum, affine and tracking.
            pub fn with_options(num_features: usize, opts: NormOptions) -> Result<$name> {
                Ok($name(ChannelNorm::with_dims(num_features, opts, $dims, stringify!($name))?))
            }
        }
    };
}

channel_norm_layer!(BatchNorm1d, &[2, 3], NormOptions::BATCH, "Batch norm over `[N, C]` or `[N, C, L]`.");
channel_norm_layer!(BatchNorm2d, &[4], NormOptions::BATCH, "Batch norm over `[N, C, H, W]`.");
channel_norm_layer!(BatchNorm3d, &[5], NormOptions::BATCH, "Batch norm over `[N, C, D, H, W]`.");
channel_norm_layer!(
    InstanceNorm1d,
    &[2, 3],
    NormOptions::INSTANCE,
    "Instance norm over `[N, C, L]` (or unbatched `[C, L]`)."
);
channel_norm_layer!(
    InstanceNorm2d,
    &[3, 4],
    NormOptions::INSTANCE,
    "Instance norm over `[N, C, H, W]` (or unbatched `[C, H, W]`)."
);
channel_norm_layer!(
    InstanceNorm3d,
    &[4, 5],
    NormOptions::INSTANCE,
    "Instance norm over `[N, C, D, H, W]` (or unbatched)."
);

/// The batch-norm call of PyTorch's `_BatchNorm.forward`.
fn batch_norm_forward(m: &ChannelNorm, x: &Tensor) -> Result<Tensor> {
    m.check(x)?;
    let factor = m.factor()?;
    // Batch statistics in training, or always when there are no running ones.
    let use_batch = m.training || m.running_mean.is_none();
    let (rm, rv) = if !m.training || m.num_batches_tracked.is_some() {
        (m.running_mean.as_ref(), m.running_var.as_ref())
    } else {
        (None, None)
    };
    F::batch_norm(x, rm, rv, m.weight.as_ref(), m.bias.as_ref(), use_batch, factor, m.eps)
}

/// The instance-norm call of PyTorch's `_InstanceNorm.forward` (unbatched inputs allowed).
fn instance_norm_forward(m: &ChannelNorm, x: &Tensor, spatial: usize) -> Result<Tensor> {
    m.check(x)?;
    if x.dim() == spatial + 1 {
        return instance_norm_forward(m, &x.unsqueeze(0)?, spatial)?.squeeze_dim(0);
    }
    let factor = m.factor()?;
    let use_input_stats = m.training || m.running_mean.is_none();
    F::instance_norm(
        x,
        m.running_mean.as_ref(),
        m.running_var.as_ref(),
        m.weight.as_ref(),
        m.bias.as_ref(),
        use_input_stats,
        factor,
        m.eps,
    )
}

macro_rules! forward_with {
    ($($name:ident => |$m:ident, $x:ident| $body:expr;)*) => {$(
        impl Forward for $name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                let $m = &self.0;
                $body
            }
        }
    )*};
}

forward_with! {
    BatchNorm1d => |m, x| batch_norm_forward(m, x);
    BatchNorm2d => |m, x| batch_norm_forward(m, x);
    BatchNorm3d => |m, x| batch_norm_forward(m, x);
    InstanceNorm1d => |m, x| instance_norm_forward(m, x, 1);
    InstanceNorm2d => |m, x| instance_norm_forward(m, x, 2);
    InstanceNorm3d => |m, x| instance_norm_forward(m, x, 3);
}

impl Forward for ChannelNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        batch_norm_forward(self, x)
    }
}

/// `nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1)`: each value divided by
/// `(k + alpha/size * sum of squares over `size` neighbouring channels)^beta`.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct LocalResponseNorm {
    pub size: usize,
    pub alpha: f64,
    pub beta: f64,
    pub k: f64,
}

impl LocalResponseNorm {
    /// PyTorch's defaults for the scale parameters.
    pub fn new(size: usize) -> LocalResponseNorm {
        LocalResponseNorm { size, alpha: 1e-4, beta: 0.75, k: 1.0 }
    }
}

impl Forward for LocalResponseNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::local_response_norm(x, self.size, self.alpha, self.beta, self.k)
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
