//! `Conv1d` and `Conv2d` layers (PyTorch's shapes, options and initialisation).

use crate::module::{param, Forward};
use crate::{functional as F, init, Module};
use ember_core::{DType, Error, Result, Tensor};

/// Stride, padding, dilation, groups and bias of a convolution (PyTorch's defaults).
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

fn conv_params(out: usize, in_per_group: usize, kernel: &[usize], bias: bool) -> Result<(Tensor, Option<Tensor>)> {
    let mut shape = vec![out, in_per_group];
    shape.extend_from_slice(kernel);
    let w = Tensor::zeros(&shape, DType::F32)?;
    init::kaiming_uniform_(&w, 5f64.sqrt(), false, "leaky_relu")?;
    let b = if bias {
        let fan_in = in_per_group * kernel.iter().product::<usize>();
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        let b = Tensor::zeros(&[out], DType::F32)?;
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

/// 2-D convolution over `[N, C, H, W]`.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Conv2d {
    /// `[out, in / groups, kh, kw]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Option<Tensor>,
    #[module(skip)]
    pub opts: ConvOptions,
}

impl Conv2d {
    /// A square-kernel convolution.
    #[track_caller]
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, opts: ConvOptions) -> Result<Conv2d> {
        check_groups("Conv2d", in_channels, out_channels, opts.groups)?;
        let (weight, bias) = conv_params(out_channels, in_channels / opts.groups, &[kernel, kernel], opts.bias)?;
        Ok(Conv2d { weight, bias, opts })
    }
}

impl Forward for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let o = &self.opts;
        F::conv2d(
            x,
            &self.weight,
            self.bias.as_ref(),
            (o.stride, o.stride),
            (o.padding, o.padding),
            (o.dilation, o.dilation),
            o.groups,
        )
    }
}

/// 1-D convolution over `[N, C, L]`.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct Conv1d {
    /// `[out, in / groups, k]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Option<Tensor>,
    #[module(skip)]
    pub opts: ConvOptions,
}

impl Conv1d {
    /// A convolution with kernel size `kernel`.
    #[track_caller]
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, opts: ConvOptions) -> Result<Conv1d> {
        check_groups("Conv1d", in_channels, out_channels, opts.groups)?;
        let (weight, bias) = conv_params(out_channels, in_channels / opts.groups, &[kernel], opts.bias)?;
        Ok(Conv1d { weight, bias, opts })
    }
}

impl Forward for Conv1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let o = &self.opts;
        F::conv1d(x, &self.weight, self.bias.as_ref(), o.stride, o.padding, o.dilation, o.groups)
    }
}
