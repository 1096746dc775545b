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
        let fits = g.checked_output().is_some() && self.kernel.0.checked_mul(self.kernel.1).is_some();
        if !fits {
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

    #[track_caller]
    pub(crate) fn im2col(&self, g: ConvGeom) -> Result<Tensor> {
        let (n, c) = (self.shape()[0], self.shape()[1]);
        let (oh, ow) = g.output();
        let shape = [n, c.saturating_mul(g.kernel.0.saturating_mul(g.kernel.1)), oh.saturating_mul(ow)];
        crate::storage::checked_numel("unfold2d", &shape, self.dtype())?;
        let out = cpu::im2col(&*self.cpu_read("unfold2d")?, self.layout(), n, c, &g);
        Ok(Tensor::from_storage(out, &shape).record(&[self], || Op::Im2col { geom: g }))
    }

    /// `[N, C*kh*kw, OH*OW] -> [N, C, H, W]`, summing overlaps (`torch.nn.functional.fold`).
    #[track_caller]
    pub fn fold2d(&self, output_size: (usize, usize), args: Conv2dArgs) -> Result<Tensor> {
        let g = args.geom("fold2d", output_size)?;
        let k = g.kernel.0 * g.kernel.1; // checked by `geom`
        let (oh, ow) = g.output();
        let l = oh.checked_mul(ow);
        if self.dim() != 3 || !self.shape()[1].is_multiple_of(k) || Some(self.shape()[2]) != l {
            return Err(Error::shape(
                "fold2d",
                format!("expected [N, C*{k}, {oh}*{ow}] patches, got shape {:?}", self.shape()),
            ));
        }
        let (n, c) = (self.shape()[0], self.shape()[1] / k);
        crate::storage::checked_numel("fold2d", &[n, c, output_size.0, output_size.1], self.dtype())?;
        self.col2im(g)
    }

    #[track_caller]
    pub(crate) fn col2im(&self, g: ConvGeom) -> Result<Tensor> {
        let n = self.shape()[0];
        let c = self.shape()[1] / (g.kernel.0 * g.kernel.1);
        let out = cpu::col2im(&*self.cpu_read("fold2d")?, self.layout(), n, c, &g);
        Ok(Tensor::from_storage(out, &[n, c, g.input.0, g.input.1]).record(&[self], || Op::Col2im { geom: g }))
    }
}
