//! 3-D convolution and transposed convolutions (1-D, 2-D, 3-D).
//!
//! `conv_transpose2d` is the adjoint of `conv2d`: per image and group a GEMM turns each input
//! pixel into a `C_out * kh * kw` patch and col2im sums the overlapping patches into the
//! output (the fused node `ember_core::fused::conv`, which also does the backward image by
//! image; integer dtypes use the same product from tensor ops). The 3-D forms run the 2-D kernels once per depth tap and combine the depth slices
//! (slicing for `conv3d`, `index_add` for the transpose), so every gradient comes from those
//! primitives.

use super::conv::conv2d;
use ember_core::{Conv2dArgs, DType, Error, Result, Tensor};

/// The output size of a transposed convolution along one dim.
#[track_caller]
fn transposed_len(op: &'static str, n: usize, k: usize, s: usize, p: usize, d: usize, op_pad: usize) -> Result<usize> {
    if s == 0 || d == 0 {
        return Err(Error::value(op, "stride and dilation must be positive"));
    }
    if op_pad >= s && op_pad >= d {
        return Err(Error::value(
            op,
            format!("output padding must be smaller than either stride or dilation, got output_padding={op_pad}, stride={s}, dilation={d}"),
        ));
    }
    // Every step checked: stride, dilation and padding come from callers unbounded.
    let span = d.checked_mul(k.saturating_sub(1)).and_then(|v| v.checked_add(op_pad)).and_then(|v| v.checked_add(1));
    let full = (n.saturating_sub(1)).checked_mul(s).and_then(|v| v.checked_add(span?));
    match full.and_then(|f| f.checked_sub(p.checked_mul(2)?)) {
        Some(len) if len > 0 && n > 0 => Ok(len),
        _ => {
            Err(Error::shape(op, format!("input length {n} with kernel {k}, stride {s}, padding {p} gives no output")))
        }
    }
}

/// `F.conv_transpose2d`: `x [N, C_in, H, W]`, `weight [C_in, C_out/groups, kh, kw]`, optional
/// `bias [C_out]`; output `[N, C_out, (H-1)s - 2p + d(k-1) + output_padding + 1, ...]`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn conv_transpose2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
    groups: usize,
    dilation: (usize, usize),
) -> Result<Tensor> {
    let op = "conv_transpose2d";
    if x.dim() != 4 || weight.dim() != 4 {
        return Err(Error::shape(
            op,
            format!("expected 4-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cw, og, kh, kw) = (weight.shape()[0], weight.shape()[1], weight.shape()[2], weight.shape()[3]);
    if groups == 0 || cw != c || !c.is_multiple_of(groups) {
        return Err(Error::shape(
            op,
            format!(
                "weight {:?} with groups={groups} expects {cw} input channels, but input {:?} has {c}",
                weight.shape(),
                x.shape()
            ),
        ));
    }
    let oh = transposed_len(op, h, kh, stride.0, padding.0, dilation.0, output_padding.0)?;
    let ow = transposed_len(op, w, kw, stride.1, padding.1, dilation.1, output_padding.1)?;
    let o = og.checked_mul(groups).ok_or_else(|| Error::shape(op, "output channels overflow"))?;
    ember_core::storage::checked_numel(op, &[n, o, oh, ow], x.dtype())?;
    let args = Conv2dArgs { kernel: (kh, kw), stride, padding, dilation };
    let geom = args.geom(op, (oh, ow))?;
    let mut out = if x.dtype().is_float() && weight.dtype() == x.dtype() {
        ember_core::fused::conv::conv_transpose2d(x, weight, geom, groups)?
    } else {
        composite(x, weight, args, (oh, ow), groups)?
    };
    if let Some(b) = bias {
        out = out.add(&b.reshape(&[1, o as isize, 1, 1])?)?;
    }
    Ok(out)
}

/// The same product from tensor ops (for dtypes the fused node does not take): one GEMM per
/// group over the whole batch, `[G, k, C_in/G] x [G, C_in/G, N*HW] -> [G, k, N*HW]`, the
/// patches laid out per image (`[N, G*k, HW]`) and summed by `fold2d`.
fn composite(x: &Tensor, weight: &Tensor, args: Conv2dArgs, out: (usize, usize), groups: usize) -> Result<Tensor> {
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (og, kh, kw) = (weight.shape()[1], weight.shape()[2], weight.shape()[3]);
    let k = (og * kh * kw) as isize;
    let (g, cg, hw) = (groups as isize, (c / groups) as isize, (h * w) as isize);
    let wg = weight.reshape(&[g, cg, k])?.transpose(1, 2)?;
    let xt = x.reshape(&[n as isize, g, cg, hw])?.permute(&[1, 2, 0, 3])?.reshape(&[g, cg, n as isize * hw])?;
    let cols = wg.matmul(&xt)?.reshape(&[g * k, n as isize, hw])?.permute(&[1, 0, 2])?;
    cols.fold2d(out, args)
}

/// `F.conv_transpose1d`: `x [N, C_in, L]`, `weight [C_in, C_out/groups, k]`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn conv_transpose1d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    padding: usize,
    output_padding: usize,
    groups: usize,
    dilation: usize,
) -> Result<Tensor> {
    if x.dim() != 3 || weight.dim() != 3 {
        return Err(Error::shape(
            "conv_transpose1d",
            format!("expected 3-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    let y = conv_transpose2d(
        &x.unsqueeze(2)?,
        &weight.unsqueeze(2)?,
        bias,
        (1, stride),
        (0, padding),
        (0, output_padding),
        groups,
        (1, dilation),
    )?;
    y.squeeze_dim(2)
}

/// `[N, C, D, H, W] -> [N*D, C, H, W]` (depth slices as a batch of images).
fn depth_to_batch(x: &Tensor) -> Result<Tensor> {
    let s = x.shape();
    x.permute(&[0, 2, 1, 3, 4])?.reshape(&[(s[0] * s[2]) as isize, s[1] as isize, s[3] as isize, s[4] as isize])
}

/// `[N*D, C, H, W] -> [N, C, D, H, W]`.
fn batch_to_depth(y: &Tensor, n: usize, d: usize) -> Result<Tensor> {
    let s = y.shape();
    y.reshape(&[n as isize, d as isize, s[1] as isize, s[2] as isize, s[3] as isize])?.permute(&[0, 2, 1, 3, 4])
}

/// `F.conv3d`: `x [N, C, D, H, W]`, `weight [O, C/groups, kd, kh, kw]`: for each depth tap,
/// a 2-D convolution over the strided depth slices it sees; the taps are summed.
#[track_caller]
pub fn conv3d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
    groups: usize,
) -> Result<Tensor> {
    let op = "conv3d";
    if x.dim() != 5 || weight.dim() != 5 {
        return Err(Error::shape(
            op,
            format!("expected 5-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    if stride.contains(&0) || dilation.contains(&0) {
        return Err(Error::value(op, "stride and dilation must be positive"));
    }
    let (n, kd) = (x.shape()[0], weight.shape()[2]);
    let xp = if padding[0] > 0 {
        super::pad::pad_with(x, &[0, 0, 0, 0, padding[0] as isize, padding[0] as isize], super::PadMode::Constant(0.0))?
    } else {
        x.clone()
    };
    let span = dilation[0] * (kd.max(1) - 1) + 1;
    let dp = xp.shape()[2];
    if kd == 0 || dp < span {
        return Err(Error::shape(op, format!("kernel depth {kd} does not fit an input of depth {}", x.shape()[2])));
    }
    let od = (dp - span) / stride[0] + 1;
    let mut acc: Option<Tensor> = None;
    for t in 0..kd {
        let start = (t * dilation[0]) as isize;
        let slices = xp.slice(2, start, start + ((od - 1) * stride[0] + 1) as isize, stride[0])?;
        let w2 = weight.select(2, t as isize)?;
        let y = conv2d(
            &depth_to_batch(&slices)?,
            &w2,
            None,
            (stride[1], stride[2]),
            (padding[1], padding[2]),
            (dilation[1], dilation[2]),
            groups,
        )?;
        acc = Some(match acc {
            None => y,
            Some(a) => a.add(&y)?,
        });
    }
    let mut out = batch_to_depth(&acc.expect("kd > 0"), n, od)?;
    if let Some(b) = bias {
        out = out.add(&b.reshape(&[1, -1, 1, 1, 1])?)?;
    }
    Ok(out)
}

/// `F.conv_transpose3d`: `x [N, C_in, D, H, W]`, `weight [C_in, C_out/groups, kd, kh, kw]`:
/// each depth tap is a 2-D transposed convolution of every input slice, added at depth
/// `i * stride + tap * dilation` and cropped by the padding.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn conv_transpose3d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: [usize; 3],
    padding: [usize; 3],
    output_padding: [usize; 3],
    groups: usize,
    dilation: [usize; 3],
) -> Result<Tensor> {
    let op = "conv_transpose3d";
    if x.dim() != 5 || weight.dim() != 5 {
        return Err(Error::shape(
            op,
            format!("expected 5-D input and weight, got {:?} and {:?}", x.shape(), weight.shape()),
        ));
    }
    let (n, d, kd) = (x.shape()[0], x.shape()[2], weight.shape()[2]);
    if kd == 0 {
        return Err(Error::shape(op, format!("kernel depth must be positive, got weight {:?}", weight.shape())));
    }
    let od = transposed_len(op, d, kd, stride[0], padding[0], dilation[0], output_padding[0])?;
    let full = od + 2 * padding[0];
    let xb = depth_to_batch(x)?;
    let mut acc: Option<Tensor> = None;
    for t in 0..kd {
        let y = conv_transpose2d(
            &xb,
            &weight.select(2, t as isize)?,
            None,
            (stride[1], stride[2]),
            (padding[1], padding[2]),
            (output_padding[1], output_padding[2]),
            groups,
            (dilation[1], dilation[2]),
        )?;
        let y = batch_to_depth(&y, n, d)?; // [N, C_out, D, OH, OW]
        let idx: Vec<i64> = (0..d).map(|i| (i * stride[0] + t * dilation[0]) as i64).collect();
        let idx = Tensor::from_vec(idx, &[d])?.to_dtype(DType::I64)?;
        let base = match acc {
            Some(a) => a,
            None => {
                let mut shape = y.shape().to_vec();
                shape[2] = full;
                Tensor::zeros(&shape, y.dtype())?
            }
        };
        acc = Some(base.index_add(2, &idx, &y)?);
    }
    let mut out = acc.expect("kd > 0 checked by transposed_len").narrow(2, padding[0], od)?;
    if let Some(b) = bias {
        out = out.add(&b.reshape(&[1, -1, 1, 1, 1])?)?;
    }
    Ok(out)
}
