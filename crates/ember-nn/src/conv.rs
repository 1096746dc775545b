//! Convolution layers: `Conv1d/2d/3d` and `ConvTranspose1d/2d/3d` (PyTorch's shapes, options,
//! parameter names and initialisation), one generic type per family over the number of
//! spatial dims, `D`.

use crate::functional::{self as F, PadMode};
use crate::module::{param, Forward};
use crate::{init, Module};
use ember_core::{DType, Error, Result, Tensor};

/// Stride, padding, dilation, groups and bias of a convolution with the same value in every
/// spatial dim (the common case; [`ConvNdOptions`] has all of PyTorch's options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvOptions {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
    pub bias: bool,
}

impl Default for ConvOptions {
    fn default() -> Self {
        ConvOptions { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true }
    }
}

/// A convolution's `padding=`: per-dim amounts, or PyTorch's `'same'` / `'valid'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPadding<const D: usize> {
    Explicit([usize; D]),
    /// Output as large as the input (stride 1 only); odd totals put the extra at the end.
    Same,
    /// No padding.
    Valid,
}

/// A convolution's `padding_mode=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PaddingMode {
    #[default]
    Zeros,
    Reflect,
    Replicate,
    Circular,
}

/// Every option of `ConvNd`/`ConvTransposeNd`, per spatial dim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvNdOptions<const D: usize> {
    pub stride: [usize; D],
    pub padding: ConvPadding<D>,
    /// Extra size on one side of a transposed convolution's output.
    pub output_padding: [usize; D],
    pub dilation: [usize; D],
    pub groups: usize,
    pub bias: bool,
    pub padding_mode: PaddingMode,
}

impl<const D: usize> Default for ConvNdOptions<D> {
    fn default() -> Self {
        ConvOptions::default().into()
    }
}

impl<const D: usize> From<ConvOptions> for ConvNdOptions<D> {
    fn from(o: ConvOptions) -> Self {
        ConvNdOptions {
            stride: [o.stride; D],
            padding: ConvPadding::Explicit([o.padding; D]),
            output_padding: [0; D],
            dilation: [o.dilation; D],
            groups: o.groups,
            bias: o.bias,
            padding_mode: PaddingMode::Zeros,
        }
    }
}

/// Weight and bias initialised as PyTorch's `reset_parameters`: kaiming-uniform with
/// `a = sqrt(5)` (fan-in from the weight's second dim) and a bias uniform in `±1/sqrt(fan_in)`.
fn conv_params(weight_shape: &[usize], bias_len: usize, bias: bool) -> Result<(Tensor, Option<Tensor>)> {
    let w = Tensor::zeros(weight_shape, DType::F32)?;
    init::kaiming_uniform_(&w, 5f64.sqrt(), false, "leaky_relu")?;
    let b = if bias {
        let fan_in: usize = weight_shape[1..].iter().product();
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        let b = Tensor::zeros(&[bias_len], DType::F32)?;
        init::uniform_(&b, -bound, bound)?;
        Some(param(b)?)
    } else {
        None
    };
    Ok((param(w)?, b))
}

#[track_caller]
fn check_groups(op: &'static str, cin: usize, cout: usize, groups: usize) -> Result<()> {
    if groups == 0 || !cin.is_multiple_of(groups) || !cout.is_multiple_of(groups) {
        return Err(Error::value(
            op,
            format!("in_channels ({cin}) and out_channels ({cout}) must be divisible by groups ({groups})"),
        ));
    }
    Ok(())
}

/// Runs `f` on a batched input, adding and removing the batch dim for an unbatched one
/// (`[C, *spatial]`), as PyTorch's layers accept both.
fn batched(op: &'static str, x: &Tensor, d: usize, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    if x.dim() == d + 2 {
        f(x)
    } else if x.dim() == d + 1 {
        f(&x.unsqueeze(0)?)?.squeeze_dim(0)
    } else {
        Err(Error::shape(
            op,
            format!("expected a {}-D (unbatched) or {}-D (batched) input, got shape {:?}", d + 1, d + 2, x.shape()),
        ))
    }
}

/// `ConvNd(in_channels, out_channels, kernel_size, ...)` over `D` spatial dims.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct ConvNd<const D: usize> {
    /// `[out, in / groups, *kernel]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Option<Tensor>,
    #[module(skip)]
    pub opts: ConvNdOptions<D>,
}

/// `nn.Conv1d` over `[N, C, L]`.
pub type Conv1d = ConvNd<1>;
/// `nn.Conv2d` over `[N, C, H, W]`.
pub type Conv2d = ConvNd<2>;
/// `nn.Conv3d` over `[N, C, D, H, W]`.
pub type Conv3d = ConvNd<3>;

const CONV_NAMES: [&str; 4] = ["Conv0d", "Conv1d", "Conv2d", "Conv3d"];
const CONVT_NAMES: [&str; 4] = ["ConvTranspose0d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"];

impl<const D: usize> ConvNd<D> {
    /// A convolution with a cubic kernel and the same option in every dim.
    #[track_caller]
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, opts: ConvOptions) -> Result<ConvNd<D>> {
        ConvNd::with_options(in_channels, out_channels, [kernel; D], opts.into())
    }

    /// Any kernel shape and every option.
    #[track_caller]
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; D],
        opts: ConvNdOptions<D>,
    ) -> Result<ConvNd<D>> {
        let name = CONV_NAMES[D];
        check_groups(name, in_channels, out_channels, opts.groups)?;
        if opts.padding == ConvPadding::Same && opts.stride.iter().any(|&s| s != 1) {
            return Err(Error::value(name, "padding='same' is not supported for strided convolutions"));
        }
        let mut shape = vec![out_channels, in_channels / opts.groups];
        shape.extend_from_slice(&kernel);
        let (weight, bias) = conv_params(&shape, out_channels, opts.bias)?;
        Ok(ConvNd { weight, bias, opts })
    }

    /// (before, after) padding per spatial dim.
    fn pads(&self) -> [(usize, usize); D] {
        let k = &self.weight.shape()[2..];
        std::array::from_fn(|i| match self.opts.padding {
            ConvPadding::Explicit(p) => (p[i], p[i]),
            ConvPadding::Valid => (0, 0),
            ConvPadding::Same => {
                let total = self.opts.dilation[i] * (k[i].max(1) - 1);
                (total / 2, total - total / 2)
            }
        })
    }
}

/// The functional convolution for `D` spatial dims with symmetric `padding`.
fn conv_nd<const D: usize>(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    o: &ConvNdOptions<D>,
    padding: [usize; D],
) -> Result<Tensor> {
    let (s, d, g) = (o.stride, o.dilation, o.groups);
    match D {
        1 => F::conv1d(x, w, b, s[0], padding[0], d[0], g),
        2 => F::conv2d(x, w, b, (s[0], s[1]), (padding[0], padding[1]), (d[0], d[1]), g),
        3 => F::conv3d(x, w, b, [s[0], s[1], s[2]], [padding[0], padding[1], padding[2]], [d[0], d[1], d[2]], g),
        _ => Err(Error::shape("conv", format!("{D}-D convolution is not supported"))),
    }
}

impl<const D: usize> Forward for ConvNd<D> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        batched(CONV_NAMES[D], x, D, |x| {
            let pads = self.pads();
            let symmetric = pads.iter().all(|(a, b)| a == b);
            if self.opts.padding_mode == PaddingMode::Zeros && symmetric {
                return conv_nd(x, &self.weight, self.bias.as_ref(), &self.opts, pads.map(|p| p.0));
            }
            // Pad explicitly (PyTorch's `_reversed_padding_repeated_twice`), then convolve.
            let mode = match self.opts.padding_mode {
                PaddingMode::Zeros => PadMode::Constant(0.0),
                PaddingMode::Reflect => PadMode::Reflect,
                PaddingMode::Replicate => PadMode::Replicate,
                PaddingMode::Circular => PadMode::Circular,
            };
            let flat: Vec<isize> = pads.iter().rev().flat_map(|&(a, b)| [a as isize, b as isize]).collect();
            let xp = F::pad_with(x, &flat, mode)?;
            conv_nd(&xp, &self.weight, self.bias.as_ref(), &self.opts, [0; D])
        })
    }
}

/// `ConvTransposeNd(in_channels, out_channels, kernel_size, stride, padding, output_padding,
/// groups, bias, dilation)` over `D` spatial dims (padding mode zeros only, as PyTorch).
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct ConvTransposeNd<const D: usize> {
    /// `[in, out / groups, *kernel]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Option<Tensor>,
    #[module(skip)]
    pub opts: ConvNdOptions<D>,
}

/// `nn.ConvTranspose1d`.
pub type ConvTranspose1d = ConvTransposeNd<1>;
/// `nn.ConvTranspose2d`.
pub type ConvTranspose2d = ConvTransposeNd<2>;
/// `nn.ConvTranspose3d`.
pub type ConvTranspose3d = ConvTransposeNd<3>;

impl<const D: usize> ConvTransposeNd<D> {
    /// A transposed convolution with a cubic kernel and the same option in every dim.
    #[track_caller]
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, opts: ConvOptions) -> Result<Self> {
        Self::with_options(in_channels, out_channels, [kernel; D], opts.into())
    }

    /// Any kernel shape and every option (`padding` must be explicit).
    #[track_caller]
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; D],
        opts: ConvNdOptions<D>,
    ) -> Result<Self> {
        let name = CONVT_NAMES[D];
        check_groups(name, in_channels, out_channels, opts.groups)?;
        if opts.padding_mode != PaddingMode::Zeros {
            return Err(Error::value(name, "Only \"zeros\" padding mode is supported for ConvTranspose"));
        }
        if !matches!(opts.padding, ConvPadding::Explicit(_)) {
            return Err(Error::value(name, "padding must be explicit sizes for transposed convolutions"));
        }
        let mut shape = vec![in_channels, out_channels / opts.groups];
        shape.extend_from_slice(&kernel);
        let (weight, bias) = conv_params(&shape, out_channels, opts.bias)?;
        Ok(ConvTransposeNd { weight, bias, opts })
    }

    fn padding(&self) -> [usize; D] {
        match self.opts.padding {
            ConvPadding::Explicit(p) => p,
            _ => [0; D],
        }
    }

    /// `forward(x, output_size)`: picks the output padding that gives `output_size` (the
    /// spatial size), as PyTorch's `_output_padding`.
    #[track_caller]
    pub fn forward_with_output_size(&self, x: &Tensor, output_size: [usize; D]) -> Result<Tensor> {
        let name = CONVT_NAMES[D];
        let spatial = &x.shape()[x.dim().saturating_sub(D)..];
        let k = &self.weight.shape()[2..];
        let p = self.padding();
        let mut op = [0; D];
        for i in 0..D {
            let (s, d) = (self.opts.stride[i], self.opts.dilation[i]);
            let min = (spatial[i].saturating_sub(1) * s + d * (k[i].saturating_sub(1)) + 1).saturating_sub(2 * p[i]);
            if output_size[i] < min || output_size[i] >= min + s {
                return Err(Error::value(
                    name,
                    format!(
                        "requested an output size of {output_size:?}, but valid sizes range from {min} to {} (for an input of {spatial:?})",
                        min + s - 1
                    ),
                ));
            }
            op[i] = output_size[i] - min;
        }
        self.run(x, op)
    }

    fn run(&self, x: &Tensor, op: [usize; D]) -> Result<Tensor> {
        let (o, p) = (&self.opts, self.padding());
        let (s, d, g, w, b) = (o.stride, o.dilation, o.groups, &self.weight, self.bias.as_ref());
        batched(CONVT_NAMES[D], x, D, |x| match D {
            1 => F::conv_transpose1d(x, w, b, s[0], p[0], op[0], g, d[0]),
            2 => F::conv_transpose2d(x, w, b, (s[0], s[1]), (p[0], p[1]), (op[0], op[1]), g, (d[0], d[1])),
            3 => F::conv_transpose3d(
                x,
                w,
                b,
                [s[0], s[1], s[2]],
                [p[0], p[1], p[2]],
                [op[0], op[1], op[2]],
                g,
                [d[0], d[1], d[2]],
            ),
            _ => Err(Error::shape("conv_transpose", format!("{D}-D transposed convolution is not supported"))),
        })
    }
}

impl<const D: usize> Forward for ConvTransposeNd<D> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, self.opts.output_padding)
    }
}
