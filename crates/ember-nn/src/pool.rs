//! Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` (no parameters).

use crate::functional as F;
use crate::module::Forward;
use crate::Module;
use ember_core::{Result, Tensor};

/// Max pooling with a square window (`stride` defaults to the kernel size in PyTorch).
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl MaxPool2d {
    /// `MaxPool2d(kernel)` with stride = kernel, no padding.
    pub fn new(kernel: usize) -> MaxPool2d {
        MaxPool2d { kernel, stride: kernel, padding: 0 }
    }
}

impl Forward for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::max_pool2d(x, (self.kernel, self.kernel), (self.stride, self.stride), (self.padding, self.padding), (1, 1))
    }
}

/// Average pooling with a square window.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct AvgPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl AvgPool2d {
    /// `AvgPool2d(kernel)` with stride = kernel, no padding.
    pub fn new(kernel: usize) -> AvgPool2d {
        AvgPool2d { kernel, stride: kernel, padding: 0 }
    }
}

impl Forward for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::avg_pool2d(x, (self.kernel, self.kernel), (self.stride, self.stride), (self.padding, self.padding))
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
