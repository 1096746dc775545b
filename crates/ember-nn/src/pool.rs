//! Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` (no parameters).

use crate::functional as F;
use crate::module::Forward;
use crate::Module;
use ember_core::{Result, Tensor};

/// Stride, padding and dilation of a pooling window (PyTorch's defaults: stride = the
/// kernel size, no padding, no dilation), as `ConvOptions` is for convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PoolOptions {
    /// `None`: the kernel size.
    pub stride: Option<usize>,
    pub padding: usize,
    /// Spacing of the window's elements (max pooling only).
    pub dilation: Option<usize>,
}

/// Max pooling with a square window: `MaxPool2d(kernel_size, stride=None, padding=0,
/// dilation=1)`.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct MaxPool2d {
    pub kernel: usize,
    #[module(skip)]
    pub opts: PoolOptions,
}

impl MaxPool2d {
    /// `MaxPool2d(kernel, ...)` with the given options (`PoolOptions::default()` for PyTorch's
    /// defaults).
    pub fn new(kernel: usize, opts: PoolOptions) -> MaxPool2d {
        MaxPool2d { kernel, opts }
    }
}

impl Forward for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (k, o) = (self.kernel, self.opts);
        let (s, d) = (o.stride.unwrap_or(k), o.dilation.unwrap_or(1));
        F::max_pool2d(x, (k, k), (s, s), (o.padding, o.padding), (d, d))
    }
}

/// Average pooling with a square window: `AvgPool2d(kernel_size, stride=None, padding=0)`
/// (padding counts towards the average, as `count_include_pad=True`).
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct AvgPool2d {
    pub kernel: usize,
    #[module(skip)]
    pub opts: PoolOptions,
}

impl AvgPool2d {
    /// `AvgPool2d(kernel, ...)`; `opts.dilation` must be `None` (PyTorch has none).
    pub fn new(kernel: usize, opts: PoolOptions) -> AvgPool2d {
        AvgPool2d { kernel, opts }
    }
}

impl Forward for AvgPool2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (k, o) = (self.kernel, self.opts);
        if o.dilation.is_some_and(|d| d != 1) {
            return Err(ember_core::Error::value("AvgPool2d", "average pooling has no dilation"));
        }
        let s = o.stride.unwrap_or(k);
        F::avg_pool2d(x, (k, k), (s, s), (o.padding, o.padding))
    }
}

/// Average pooling to a fixed output size.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct AdaptiveAvgPool2d {
    pub output: (usize, usize),
}

impl AdaptiveAvgPool2d {
    /// Pools to `(h, w)`.
    pub fn new(output: (usize, usize)) -> AdaptiveAvgPool2d {
        AdaptiveAvgPool2d { output }
    }
}

impl Forward for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::adaptive_avg_pool2d(x, self.output)
    }
}
