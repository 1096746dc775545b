//! Pooling layers (no parameters): `MaxPool1d/2d/3d`, `AvgPool1d/2d/3d`, `AdaptiveAvgPool1d/2d/3d`,
//! `AdaptiveMaxPool1d/2d`, `LPPool1d/2d`, `MaxUnpool2d`.

use crate::functional as F;
use crate::module::Forward;
use crate::Module;
use ember_core::{Result, Tensor};

/// Stride, padding and dilation of a pooling window (PyTorch's defaults: stride = the
/// kernel size, no padding, no dilation), as `ConvOptions` is for convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// `None`: the kernel size.
    pub stride: Option<usize>,
    pub padding: usize,
    /// Spacing of the window's elements (max pooling only).
    pub dilation: Option<usize>,
    /// Round the output size up (windows may start in the right padding's reach).
    pub ceil_mode: bool,
    /// Average pooling: count the zero padding in the divisor.
    pub count_include_pad: bool,
    /// Average pooling: divide by this instead of the window size.
    pub divisor_override: Option<usize>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            stride: None,
            padding: 0,
            dilation: None,
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }
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
        F::max_pool2d_ext(x, (k, k), (s, s), (o.padding, o.padding), (d, d), o.ceil_mode)
    }
}

/// Average pooling with a square window: `AvgPool2d(kernel_size, stride=None, padding=0,
/// ceil_mode=False, count_include_pad=True, divisor_override=None)`.
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
        let p = o.padding;
        F::avg_pool2d_ext(x, (k, k), (s, s), (p, p), o.ceil_mode, o.count_include_pad, o.divisor_override)
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

macro_rules! pool_layer {
    ($name:ident, $doc:expr, |$k:ident, $s:ident, $o:ident, $x:ident| $body:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, Module)]
        #[module(crate = "crate")]
        pub struct $name {
            pub kernel: usize,
            #[module(skip)]
            pub opts: PoolOptions,
        }

        impl $name {
            /// A cubic window of `kernel` with `opts` (`PoolOptions::default()`: PyTorch's).
            pub fn new(kernel: usize, opts: PoolOptions) -> $name {
                $name { kernel, opts }
            }
        }

        impl Forward for $name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                let ($k, $o) = (self.kernel, self.opts);
                let $s = $o.stride.unwrap_or($k);
                $body
            }
        }
    };
}

pool_layer!(MaxPool1d, "`nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode)`.", |k, s, o, x| {
    Ok(F::max_pool1d(x, k, s, o.padding, o.dilation.unwrap_or(1), o.ceil_mode, false)?.0)
});
pool_layer!(MaxPool3d, "`nn.MaxPool3d(kernel_size, stride, padding, dilation, ceil_mode)`.", |k, s, o, x| {
    F::max_pool3d(x, [k; 3], [s; 3], [o.padding; 3], [o.dilation.unwrap_or(1); 3], o.ceil_mode)
});
pool_layer!(AvgPool1d, "`nn.AvgPool1d(kernel_size, stride, padding, ceil_mode, count_include_pad)`.", |k, s, o, x| {
    F::avg_pool1d(x, k, s, o.padding, o.ceil_mode, o.count_include_pad)
});
pool_layer!(
    AvgPool3d,
    "`nn.AvgPool3d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)`.",
    |k, s, o, x| F::avg_pool3d(x, [k; 3], [s; 3], [o.padding; 3], o.ceil_mode, o.count_include_pad, o.divisor_override)
);

/// `nn.LPPool1d/2d(norm_type, kernel_size, stride=None, ceil_mode=False)` (`dims` 1 or 2).
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct LPPool {
    pub norm_type: f64,
    pub kernel: usize,
    pub stride: Option<usize>,
    pub ceil_mode: bool,
    pub dims: usize,
}

impl Forward for LPPool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (k, s) = (self.kernel, self.stride.unwrap_or(self.kernel));
        if self.dims == 1 {
            F::lp_pool1d(x, self.norm_type, k, s, self.ceil_mode)
        } else {
            F::lp_pool2d(x, self.norm_type, (k, k), (s, s), self.ceil_mode)
        }
    }
}

/// Adaptive pooling to a fixed output size over the last `output.len()` dims:
/// `nn.AdaptiveAvgPool1d/3d` (`max: false`) and `nn.AdaptiveMaxPool1d/2d` (`max: true`).
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct AdaptivePool {
    pub output: Vec<usize>,
    pub max: bool,
}

impl Forward for AdaptivePool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::adaptive_pool(x, &self.output, self.max)
    }
}

/// `nn.MaxUnpool2d(kernel_size, stride=None, padding=0)`; call [`MaxUnpool2d::unpool`].
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct MaxUnpool2d {
    pub kernel: usize,
    pub stride: Option<usize>,
    pub padding: usize,
}

impl MaxUnpool2d {
    /// `forward(input, indices, output_size=None)`.
    pub fn unpool(&self, x: &Tensor, indices: &Tensor, output_size: Option<(usize, usize)>) -> Result<Tensor> {
        let (k, s, p) = (self.kernel, self.stride.unwrap_or(self.kernel), self.padding);
        F::max_unpool2d(x, indices, (k, k), (s, s), (p, p), output_size)
    }
}
