//! Normalisation: batch norm (with running statistics), layer norm, RMS norm, group norm.
//! All are composites of differentiable primitives; statistics are biased (divide by n) for
//! normalising, and running variance is updated with the unbiased estimate, as in PyTorch.

use ember_core::fused::{norm_last_dim, RowNorm};
use ember_core::{autograd, no_grad, DType, Error, Result, Tensor};

/// The fused inference kernel when it applies (f32, one normalised dim, nothing recording).
fn fused_norm(
    x: &Tensor,
    k: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
    kind: RowNorm,
) -> Result<Option<Tensor>> {
    let recording = autograd::is_grad_enabled()
        && (x.requires_grad() || weight.is_some_and(|w| w.requires_grad()) || bias.is_some_and(|b| b.requires_grad()));
    let f32s = x.dtype() == DType::F32 && [weight, bias].iter().flatten().all(|t| t.dtype() == DType::F32);
    if k != 1 || recording || !f32s {
        return Ok(None);
    }
    norm_last_dim(x, weight, bias, eps, kind).map(Some)
}

fn affine(y: Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>, shape: &[isize]) -> Result<Tensor> {
    let y = match weight {
        Some(w) => y.mul(&w.reshape(shape)?)?,
        None => y,
    };
    match bias {
        Some(b) => y.add(&b.reshape(shape)?),
        None => Ok(y),
    }
}

/// Batch norm over `[N, C, *]`: per-channel statistics over every dim but 1. In training the
/// batch statistics normalise and update `running_mean`/`running_var` in place with
/// `momentum`; in eval the running statistics normalise.
#[track_caller]
pub fn batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    if x.dim() < 2 {
        return Err(Error::shape(
            "batch_norm",
            format!("expected at least 2-D input [N, C, ...], got {:?}", x.shape()),
        ));
    }
    let c = x.shape()[1];
    let mut shape = vec![1isize; x.dim()];
    shape[1] = c as isize;
    let dims: Vec<isize> = (0..x.dim() as isize).filter(|&d| d != 1).collect();
    let n = x.numel() / c.max(1);
    let (mean, var) = if training {
        if n <= 1 {
            return Err(Error::value(
                "batch_norm",
                format!("expected more than 1 value per channel when training, got input size {:?}", x.shape()),
            ));
        }
        let same = [weight, bias].iter().flatten().all(|t| t.dtype() == x.dtype() && t.shape() == [c]);
        if matches!(x.dtype(), DType::F32 | DType::F64) && same {
            // One fused node (statistics, output, and a two-pass backward).
            let (y, mean, var) = ember_core::fused::batch_norm_train(x, weight, bias, eps)?;
            if let (Some(rm), Some(rv)) = (running_mean, running_var) {
                no_grad(|| -> Result<()> {
                    let m = Tensor::from_vec(mean, &[c])?.to_dtype(rm.dtype())?;
                    let unbiased: Vec<f64> = var.iter().map(|v| v * n as f64 / (n - 1) as f64).collect();
                    let v = Tensor::from_vec(unbiased, &[c])?.to_dtype(rv.dtype())?;
                    rm.copy_(&rm.mul_scalar(1.0 - momentum)?.add(&m.mul_scalar(momentum)?)?)?;
                    rv.copy_(&rv.mul_scalar(1.0 - momentum)?.add(&v.mul_scalar(momentum)?)?)
                })?;
            }
            return Ok(y);
        }
        let mean = x.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n as f64)?;
        let d = x.sub(&mean)?;
        let var = d.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n as f64)?;
        if let (Some(rm), Some(rv)) = (running_mean, running_var) {
            no_grad(|| -> Result<()> {
                let m = mean.detach().reshape(&[c as isize])?;
                let v = var.detach().reshape(&[c as isize])?.mul_scalar(n as f64 / (n - 1) as f64)?;
                rm.copy_(&rm.mul_scalar(1.0 - momentum)?.add(&m.mul_scalar(momentum)?)?)?;
                rv.copy_(&rv.mul_scalar(1.0 - momentum)?.add(&v.mul_scalar(momentum)?)?)
            })?;
        }
        (mean, var)
    } else {
        match (running_mean, running_var) {
            (Some(rm), Some(rv)) => (rm.reshape(&shape)?, rv.reshape(&shape)?),
            _ => return Err(Error::value("batch_norm", "running_mean and running_var are required in eval mode")),
        }
    };
    let y = x.sub(&mean)?.mul(&var.add_scalar(eps)?.rsqrt()?)?;
    affine(y, weight, bias, &shape)
}

/// Layer norm over the trailing `normalized_shape` dims.
#[track_caller]
pub fn layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let k = normalized_shape.len();
    if k == 0 || k > x.dim() || &x.shape()[x.dim() - k..] != normalized_shape {
        return Err(Error::shape(
            "layer_norm",
            format!("normalized_shape {normalized_shape:?} does not match the trailing dims of input {:?}", x.shape()),
        ));
    }
    if let Some(y) = fused_norm(x, k, weight, bias, eps, RowNorm::Layer)? {
        return Ok(y);
    }
    // Recording gradients (or f64): one node with a fused backward.
    if let Some(y) = ember_core::fused::layer_norm_node(x, k, weight, bias, eps)? {
        return Ok(y);
    }
    let dims: Vec<isize> = (x.dim() - k..x.dim()).map(|d| d as isize).collect();
    let n: usize = normalized_shape.iter().product();
    let mean = x.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n as f64)?;
    let d = x.sub(&mean)?;
    let var = d.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n as f64)?;
    let y = d.mul(&var.add_scalar(eps)?.rsqrt()?)?;
    let shape: Vec<isize> = normalized_shape.iter().map(|&s| s as isize).collect();
    affine(y, weight, bias, &shape)
}

/// RMS norm over the trailing `normalized_shape` dims: `x / sqrt(mean(x^2) + eps) * weight`.
/// `eps = None` uses the dtype's machine epsilon, as `torch.nn.RMSNorm` does.
#[track_caller]
pub fn rms_norm(x: &Tensor, normalized_shape: &[usize], weight: Option<&Tensor>, eps: Option<f64>) -> Result<Tensor> {
    let k = normalized_shape.len();
    if k == 0 || k > x.dim() || &x.shape()[x.dim() - k..] != normalized_shape {
        return Err(Error::shape(
            "rms_norm",
            format!("normalized_shape {normalized_shape:?} does not match the trailing dims of input {:?}", x.shape()),
        ));
    }
    let eps = eps.unwrap_or(match x.dtype() {
        DType::F64 => f64::EPSILON,
        DType::F16 => 9.765625e-4,
        DType::BF16 => 0.0078125,
        _ => f32::EPSILON as f64,
    });
    if let Some(y) = fused_norm(x, k, weight, None, eps, RowNorm::Rms)? {
        return Ok(y);
    }
    let dims: Vec<isize> = (x.dim() - k..x.dim()).map(|d| d as isize).collect();
    let n: usize = normalized_shape.iter().product();
    let ms = x.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / n as f64)?;
    let y = x.mul(&ms.add_scalar(eps)?.rsqrt()?)?;
    let shape: Vec<isize> = normalized_shape.iter().map(|&s| s as isize).collect();
    affine(y, weight, None, &shape)
}

/// Group norm over `[N, C, *]` with `num_groups` groups of channels.
#[track_caller]
pub fn group_norm(
    x: &Tensor,
    num_groups: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    if x.dim() < 2 || num_groups == 0 || !x.shape()[1].is_multiple_of(num_groups) {
        return Err(Error::shape(
            "group_norm",
            format!("expected [N, C, ...] with C divisible by num_groups={num_groups}, got {:?}", x.shape()),
        ));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let g = x.reshape(&[n as isize, num_groups as isize, -1])?;
    let m = g.shape()[2];
    let mean = g.sum_dim(2, true)?.mul_scalar(1.0 / m as f64)?;
    let d = g.sub(&mean)?;
    let var = d.square()?.sum_dim(2, true)?.mul_scalar(1.0 / m as f64)?;
    let y =
        d.mul(&var.add_scalar(eps)?.rsqrt()?)?.reshape(&x.shape().iter().map(|&s| s as isize).collect::<Vec<_>>())?;
    let mut shape = vec![1isize; x.dim()];
    shape[1] = c as isize;
    affine(y, weight, bias, &shape)
}

/// Instance norm (`F.instance_norm`): each sample's channels normalised over their own spatial
/// dims (`x [N, C, *]`). With `use_input_stats` false the running statistics are used instead;
/// when given and used, they are updated with the batch average of the instance statistics
/// (unbiased variance), as PyTorch.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn instance_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    use_input_stats: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    if x.dim() < 3 {
        return Err(Error::shape("instance_norm", format!("expected an [N, C, *] input, got {:?}", x.shape())));
    }
    let c = x.shape()[1];
    let mut shape = vec![1isize; x.dim()];
    shape[1] = c as isize;
    if !use_input_stats {
        return batch_norm(x, running_mean, running_var, weight, bias, false, 0.0, eps);
    }
    let dims: Vec<isize> = (2..x.dim() as isize).collect();
    let m = x.shape()[2..].iter().product::<usize>();
    if m <= 1 {
        return Err(Error::value(
            "instance_norm",
            format!("expected more than 1 spatial element when training, got input size {:?}", x.shape()),
        ));
    }
    let mean = x.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / m as f64)?;
    let d = x.sub(&mean)?;
    let var = d.square()?.sum_dims_keep(&dims, true)?.mul_scalar(1.0 / m as f64)?;
    if let (Some(rm), Some(rv)) = (running_mean, running_var) {
        no_grad(|| -> Result<()> {
            let bm = mean.detach().reshape(&[-1, c as isize])?.mean_dim(0, false)?.to_dtype(rm.dtype())?;
            let uv = var.detach().mul_scalar(m as f64 / (m - 1) as f64)?;
            let bv = uv.reshape(&[-1, c as isize])?.mean_dim(0, false)?.to_dtype(rv.dtype())?;
            rm.copy_(&rm.mul_scalar(1.0 - momentum)?.add(&bm.mul_scalar(momentum)?)?)?;
            rv.copy_(&rv.mul_scalar(1.0 - momentum)?.add(&bv.mul_scalar(momentum)?)?)
        })?;
    }
    let y = d.mul(&var.add_scalar(eps)?.rsqrt()?)?;
    affine(y, weight, bias, &shape)
}

/// Local response norm over channels (`F.local_response_norm`, AlexNet's): `x / (k + alpha *
/// mean of x^2 over a window of `size` channels, zero-padded)^beta`, for `x [N, C, *]`.
#[track_caller]
pub fn local_response_norm(x: &Tensor, size: usize, alpha: f64, beta: f64, k: f64) -> Result<Tensor> {
    if x.dim() < 3 || size == 0 {
        return Err(Error::shape(
            "local_response_norm",
            format!("expected a 3-D or higher input and a positive size, got {:?} and size {size}", x.shape()),
        ));
    }
    // Window of channel `ch`: channels `ch - size/2 .. ch - size/2 + size`, clipped to the
    // real ones (the rest is zero padding); as differences of a cumulative sum with a leading 0.
    let c = x.shape()[1];
    let mut shape = x.shape().to_vec();
    shape[1] = 1;
    let zero = Tensor::zeros(&shape, x.dtype())?;
    let cs = Tensor::cat(&[&zero, &x.square()?.cumsum(1)?], 1)?; // [N, C + 1, *]
    let pb = size / 2;
    let lo: Vec<i64> = (0..c).map(|ch| ch.saturating_sub(pb) as i64).collect();
    let hi: Vec<i64> =
        (0..c).map(|ch| (ch + 1).saturating_add(size - 1 - pb).min(c).max(ch.saturating_sub(pb)) as i64).collect();
    let at = |v: Vec<i64>| -> Result<Tensor> { cs.index_select(1, &Tensor::from_vec(v, &[c])?) };
    let sum = at(hi)?.sub(&at(lo)?)?;
    let div = sum.mul_scalar(alpha / size as f64)?.add_scalar(k)?.pow(beta)?;
    x.div(&div)
}
