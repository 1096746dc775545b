//! Sliding windows over images: `unfold2d` (im2col) and `fold2d` (col2im), the primitives
//! that `nn::functional::conv2d` and the pooling layers are written with.

use super::Tensor;
use crate::backend::cpu::conv as cpu;
use crate::error::{Error, Result};
use crate::op::{ConvGeom, Op};

/// Kernel, stride, padding and dilation of a 2-D window (PyTorch's defaults: stride 1,
/// padding 0, dilation 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dArgs {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Conv2dArgs {
    /// A `kh x kw` window with stride 1, no padding, no dilation.
    pub fn new(kernel: (usize, usize)) -> Conv2dArgs {
        Conv2dArgs { kernel, stride: (1, 1), padding: (0, 0), dilation: (1, 1) }
    }

    /// The geometry for an input of spatial size `(h, w)`, or an error when the window does
    /// not fit.
    #[track_caller]
    pub fn geom(&self, op: &'static str, input: (usize, usize)) -> Result<ConvGeom> {
        let g = ConvGeom {
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            input,
        };
        let bad = |i: usize, k: usize, s: usize, p: usize, d: usize| {
            k == 0 || s == 0 || d == 0 || i + 2 * p < d * (k - 1) + 1
        };
        if bad(input.0, self.kernel.0, self.stride.0, self.padding.0, self.dilation.0)
            || bad(input.1, self.kernel.1, self.stride.1, self.padding.1, self.dilation.1)
        {
            return Err(Error::shape(op, format!("window {self:?} does not fit an input of spatial size {input:?}")));
        }
        Ok(g)
    }
}

impl Tensor {
    /// `[N, C, H, W] -> [N, C*kh*kw, OH*OW]` patches (`torch.nn.functional.unfold`).
    #[track_caller]
    pub fn unfold2d(&self, args: Conv2dArgs) -> Result<Tensor> {
        if self.dim() != 4 {
            return Err(Error::shape(
                "unfold2d",
                format!("expected a 4-D [N, C, H, W] input, got shape {:?}", self.shape()),
            ));
        }
        let g = args.geom("unfold2d", (self.shape()[2], self.shape()[3]))?;
        self.im2col(g)
    }

    pub(crate) fn im2col(&self, g: ConvGeom) -> Result<Tensor> {
        let (n, c) = (self.shape()[0], self.shape()[1]);
        let (oh, ow) = g.output();
        let out = cpu::im2col(&*self.cpu_read("unfold2d")?, self.layout(), n, c, &g);
        Ok(Tensor::from_storage(out, &[n, c * g.kernel.0 * g.kernel.1, oh * ow])
            .record(&[self], || Op::Im2col { geom: g }))
    }

    /// `[N, C*kh*kw, OH*OW] -> [N, C, H, W]`, summing overlaps (`torch.nn.functional.fold`).
    #[track_caller]
    pub fn fold2d(&self, output_size: (usize, usize), args: Conv2dArgs) -> Result<Tensor> {
        let g = args.geom("fold2d", output_size)?;
        let k = g.kernel.0 * g.kernel.1;
        let (oh, ow) = g.output();
        if self.dim() != 3 || !self.shape()[1].is_multiple_of(k) || self.shape()[2] != oh * ow {
            return Err(Error::shape(
                "fold2d",
                format!("expected [N, C*{k}, {}] patches, got shape {:?}", oh * ow, self.shape()),
            ));
        }
        self.col2im(g)
    }

    pub(crate) fn col2im(&self, g: ConvGeom) -> Result<Tensor> {
        let n = self.shape()[0];
        let c = self.shape()[1] / (g.kernel.0 * g.kernel.1);
        let out = cpu::col2im(&*self.cpu_read("fold2d")?, self.layout(), n, c, &g);
        Ok(Tensor::from_storage(out, &[n, c, g.input.0, g.input.1]).record(&[self], || Op::Col2im { geom: g }))
    }
}
