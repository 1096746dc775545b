//! Convolution over `[N, C, H, W]` (and `[N, C, L]` for 1-D), written as patch extraction
//! (`unfold2d`) + GEMM, so gradients come from those primitives; the classic pooling entry
//! points, which forward to `pool.rs`.

use ember_core::{Conv2dArgs, Error, Result, Tensor};

fn pair_geom(
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Conv2dArgs {
    Conv2dArgs { kernel, stride, padding, dilation }
}

/// 2-D convolution: `x [N, C, H, W]`, `weight [O, C/groups, kh, kw]`, optional `bias [O]`.
#[track_caller]
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> Result<Tensor> {
    if x.dim() != 4 || weight.dim() != 4 {
        return Err(Error::shape(
            "conv2d",
            format!("expected 4-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (o, cg, kh, kw) = (weight.shape()[0], weight.shape()[1], weight.shape()[2], weight.shape()[3]);
    if groups == 0 || c % groups != 0 || o % groups != 0 || cg.checked_mul(groups) != Some(c) {
        return Err(Error::shape(
            "conv2d",
            format!(
                "weight {:?} with groups={groups} expects input channels {} but input {:?} has {c}",
                weight.shape(),
                cg.saturating_mul(groups),
                x.shape()
            ),
        ));
    }
    let args = pair_geom((kh, kw), stride, padding, dilation);
    let (oh, ow) = args.geom("conv2d", (h, w))?.output();
    let cols = x.unfold2d(args)?; // [N, C*kh*kw, L]
    let k = cg * kh * kw;
    let l = oh * ow;
    // [N, G, K, L] x [G, O/G, K] -> [N, G, O/G, L]
    let cols = cols.reshape(&[n as isize, groups as isize, k as isize, l as isize])?;
    let wg = weight.reshape(&[groups as isize, (o / groups) as isize, k as isize])?;
    let mut out = wg.matmul(&cols)?.reshape(&[n as isize, o as isize, oh as isize, ow as isize])?;
    if let Some(b) = bias {
        out = out.add(&b.reshape(&[1, o as isize, 1, 1])?)?;
    }
    Ok(out)
}

/// 1-D convolution: `x [N, C, L]`, `weight [O, C/groups, k]`.
#[track_caller]
pub fn conv1d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    if x.dim() != 3 || weight.dim() != 3 {
        return Err(Error::shape(
            "conv1d",
            format!("expected 3-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    let y = conv2d(&x.unsqueeze(2)?, &weight.unsqueeze(2)?, bias, (1, stride), (0, padding), (1, dilation), groups)?;
    y.squeeze_dim(2)
}

/// Max pooling (padding counts as -inf, as in PyTorch); every option in
/// [`super::pool::max_pool2d_ext`].
#[track_caller]
pub fn max_pool2d(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Result<Tensor> {
    super::pool::max_pool2d_ext(x, kernel, stride, padding, dilation, false)
}

/// Average pooling (zero padding counted in the average: `count_include_pad=True`); every
/// option in [`super::pool::avg_pool2d_ext`].
#[track_caller]
pub fn avg_pool2d(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Result<Tensor> {
    super::pool::avg_pool2d_ext(x, kernel, stride, padding, false, true, None)
}

/// Adaptive average pooling to `(oh, ow)`: bin `i` covers `[floor(i H / oh), ceil((i+1) H / oh))`
/// (one average pool when the sizes divide, else [`super::pool::adaptive_pool`]).
#[track_caller]
pub fn adaptive_avg_pool2d(x: &Tensor, output: (usize, usize)) -> Result<Tensor> {
    if x.dim() == 4 && output.0 > 0 && output.1 > 0 {
        let (h, w) = (x.shape()[2], x.shape()[3]);
        if h > 0 && w > 0 && h % output.0 == 0 && w % output.1 == 0 {
            let k = (h / output.0, w / output.1);
            return avg_pool2d(x, k, k, (0, 0));
        }
    }
    super::pool::adaptive_pool(x, &[output.0, output.1], false)
}
