//! Parameter-free image layers: `Upsample` (and `UpsamplingNearest2d`,
//! `UpsamplingBilinear2d`), `PixelShuffle`, `PixelUnshuffle`, `Unfold`, `Fold`, and the padding
//! layers (`ReflectionPad1d/2d/3d`, `ReplicationPad*`, `CircularPad*`, `ZeroPad*`,
//! `ConstantPad*`).

use crate::functional::{self as F, InterpolateMode, PadMode};
use crate::module::Forward;
use crate::Module;
use ember_core::{Conv2dArgs, Error, Result, Tensor};

/// `nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None)`.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Upsample {
    #[module(skip)]
    pub size: Option<Vec<usize>>,
    #[module(skip)]
    pub scale_factor: Option<Vec<f64>>,
    #[module(skip)]
    pub mode: InterpolateMode,
    #[module(skip)]
    pub align_corners: Option<bool>,
}

impl Upsample {
    /// Upsampling by `scale_factor` (one per spatial dim, or one for all).
    pub fn scale(scale_factor: &[f64], mode: InterpolateMode, align_corners: Option<bool>) -> Upsample {
        Upsample { size: None, scale_factor: Some(scale_factor.to_vec()), mode, align_corners }
    }

    /// Resampling to a fixed spatial `size`.
    pub fn size(size: &[usize], mode: InterpolateMode, align_corners: Option<bool>) -> Upsample {
        Upsample { size: Some(size.to_vec()), scale_factor: None, mode, align_corners }
    }

    /// `nn.UpsamplingNearest2d(scale_factor=s)`.
    pub fn nearest2d(scale_factor: f64) -> Upsample {
        Upsample::scale(&[scale_factor], InterpolateMode::Nearest, None)
    }

    /// `nn.UpsamplingBilinear2d(scale_factor=s)` (corners aligned, as PyTorch).
    pub fn bilinear2d(scale_factor: f64) -> Upsample {
        Upsample::scale(&[scale_factor], InterpolateMode::Bilinear, Some(true))
    }
}

impl Forward for Upsample {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::interpolate(x, self.size.as_deref(), self.scale_factor.as_deref(), self.mode, self.align_corners)
    }
}

/// `nn.PixelShuffle(upscale_factor)`.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct PixelShuffle {
    #[module(skip)]
    pub upscale_factor: usize,
}

impl Forward for PixelShuffle {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::pixel_shuffle(x, self.upscale_factor)
    }
}

/// `nn.PixelUnshuffle(downscale_factor)`.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct PixelUnshuffle {
    #[module(skip)]
    pub downscale_factor: usize,
}

impl Forward for PixelUnshuffle {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::pixel_unshuffle(x, self.downscale_factor)
    }
}

/// `nn.Unfold(kernel_size, dilation=1, padding=0, stride=1)`: `[N, C, H, W] -> [N, C k, L]`.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct Unfold {
    #[module(skip)]
    pub args: Conv2dArgs,
}

impl Forward for Unfold {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim() == 3 {
            return x.unsqueeze(0)?.unfold2d(self.args)?.squeeze_dim(0);
        }
        x.unfold2d(self.args)
    }
}

/// `nn.Fold(output_size, kernel_size, dilation=1, padding=0, stride=1)`:
/// `[N, C k, L] -> [N, C, H, W]`, summing overlaps.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct Fold {
    #[module(skip)]
    pub output_size: (usize, usize),
    #[module(skip)]
    pub args: Conv2dArgs,
}

impl Forward for Fold {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim() == 2 {
            return x.unsqueeze(0)?.fold2d(self.output_size, self.args)?.squeeze_dim(0);
        }
        x.fold2d(self.output_size, self.args)
    }
}

/// A padding layer: `pads` as `F.pad` takes them (last dim first), and the mode.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Pad {
    #[module(skip)]
    pub pads: Vec<isize>,
    #[module(skip)]
    pub mode: PadMode,
    /// Spatial dims the layer pads (1, 2 or 3), for its input check.
    #[module(skip)]
    pub dims: usize,
}

impl Pad {
    /// `D` spatial dims, `padding` as one value for every side or the `2 D` values
    /// `(left, right, top, bottom, front, back)`.
    #[track_caller]
    pub fn new(dims: usize, padding: &[isize], mode: PadMode) -> Result<Pad> {
        let pads = match padding.len() {
            1 => vec![padding[0]; 2 * dims],
            n if n == 2 * dims => padding.to_vec(),
            n => {
                return Err(Error::value(
                    "Pad",
                    format!("expected 1 or {} padding values for a {dims}-D padding layer, got {n}", 2 * dims),
                ))
            }
        };
        Ok(Pad { pads, mode, dims })
    }
}

impl Forward for Pad {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim() != self.dims + 1 && x.dim() != self.dims + 2 {
            return Err(Error::shape(
                "Pad",
                format!("expected a {}-D or {}-D input, got shape {:?}", self.dims + 1, self.dims + 2, x.shape()),
            ));
        }
        F::pad_with(x, &self.pads, self.mode)
    }
}

macro_rules! pad_layers {
    ($($name:ident: $dims:expr, $mode:expr;)*) => {$(
        #[doc = concat!("`nn.", stringify!($name), "(padding)`: a [`Pad`] over ", stringify!($dims), " spatial dims.")]
        #[allow(non_snake_case)]
        #[track_caller]
        pub fn $name(padding: &[isize]) -> Result<Pad> {
            Pad::new($dims, padding, $mode)
        }
    )*};
}

pad_layers! {
    ReflectionPad1d: 1, PadMode::Reflect;
    ReflectionPad2d: 2, PadMode::Reflect;
    ReflectionPad3d: 3, PadMode::Reflect;
    ReplicationPad1d: 1, PadMode::Replicate;
    ReplicationPad2d: 2, PadMode::Replicate;
    ReplicationPad3d: 3, PadMode::Replicate;
    CircularPad1d: 1, PadMode::Circular;
    CircularPad2d: 2, PadMode::Circular;
    CircularPad3d: 3, PadMode::Circular;
    ZeroPad1d: 1, PadMode::Constant(0.0);
    ZeroPad2d: 2, PadMode::Constant(0.0);
    ZeroPad3d: 3, PadMode::Constant(0.0);
}

/// `nn.ConstantPad1d/2d/3d(padding, value)`.
#[track_caller]
pub fn constant_pad(dims: usize, padding: &[isize], value: f64) -> Result<Pad> {
    Pad::new(dims, padding, PadMode::Constant(value))
}
