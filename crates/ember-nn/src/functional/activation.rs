//! The activations of `torch.nn.functional` beyond the fused core ones (`relu`, `gelu`,
//! `silu`, `sigmoid`, `tanh`): each is written from differentiable tensor ops, so its
//! gradient (and double gradient) follows, matching PyTorch's formulas away from the kinks.
//! Branches that could overflow in the unused side of a `where` (`softplus`) are fed a safe
//! input, so a huge input never turns the gradient into `0 * inf = NaN`.

use ember_core::{Error, Result, Tensor};

/// `SELU`'s constants (Klambauer et al., as in PyTorch).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

fn zeros(x: &Tensor) -> Result<Tensor> {
    Tensor::zeros_like(x)
}

/// `x` where `x > 0`, else `negative_slope * x`.
pub fn leaky_relu(x: &Tensor, negative_slope: f64) -> Result<Tensor> {
    Tensor::where_cond(&x.gt_scalar(0.0)?, x, &x.mul_scalar(negative_slope)?)
}

/// `x` with its positive entries (`pos`) replaced by 0: what the exponential branches see,
/// since a huge positive input would overflow there.
fn non_positive(x: &Tensor, pos: &Tensor) -> Result<Tensor> {
    Tensor::where_cond(pos, &zeros(x)?, x)
}

/// `x` where `x > 0`, else `alpha * (e^x - 1)`.
pub fn elu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    let pos = x.gt_scalar(0.0)?;
    Tensor::where_cond(&pos, x, &non_positive(x, &pos)?.expm1()?.mul_scalar(alpha)?)
}

/// `scale * elu(x, alpha)` with the self-normalising constants.
pub fn selu(x: &Tensor) -> Result<Tensor> {
    elu(x, SELU_ALPHA)?.mul_scalar(SELU_SCALE)
}

/// `max(0, x) + min(0, alpha * (e^(x/alpha) - 1))` (alpha > 0; the branches split at 0).
#[track_caller]
pub fn celu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    if alpha == 0.0 {
        return Err(Error::value("celu", "ZeroDivisionError: alpha cannot be 0 for CELU"));
    }
    let pos = x.gt_scalar(0.0)?;
    let neg = non_positive(x, &pos)?;
    Tensor::where_cond(&pos, x, &neg.mul_scalar(1.0 / alpha)?.expm1()?.mul_scalar(alpha)?)
}

/// `log(1 + e^(beta x)) / beta`, and `x` itself where `beta x > threshold`.
pub fn softplus(x: &Tensor, beta: f64, threshold: f64) -> Result<Tensor> {
    let bx = x.mul_scalar(beta)?;
    let linear = bx.gt_scalar(threshold)?;
    // The smooth branch sees 0 where the linear one is taken, so it never overflows.
    let safe = Tensor::where_cond(&linear, &zeros(&bx)?, &bx)?;
    let smooth = safe.exp()?.log1p()?.mul_scalar(1.0 / beta)?;
    Tensor::where_cond(&linear, x, &smooth)
}

/// `x / (1 + |x|)`.
pub fn softsign(x: &Tensor) -> Result<Tensor> {
    x.div(&x.abs()?.add_scalar(1.0)?)
}

/// `x` clamped to `[min_val, max_val]` (gradient 0 outside and at the bounds, as PyTorch).
#[track_caller]
pub fn hardtanh(x: &Tensor, min_val: f64, max_val: f64) -> Result<Tensor> {
    if min_val > max_val {
        return Err(Error::value("hardtanh", "min_val cannot be greater than max_val"));
    }
    x.clamp(Some(min_val), Some(max_val))
}

/// `min(max(0, x), 6)`.
pub fn relu6(x: &Tensor) -> Result<Tensor> {
    hardtanh(x, 0.0, 6.0)
}

/// `relu6(x + 3) / 6`.
pub fn hardsigmoid(x: &Tensor) -> Result<Tensor> {
    x.mul_scalar(1.0 / 6.0)?.add_scalar(0.5)?.clamp(Some(0.0), Some(1.0))
}

/// `x * relu6(x + 3) / 6`.
pub fn hardswish(x: &Tensor) -> Result<Tensor> {
    x.mul(&hardsigmoid(x)?)
}

/// `x * tanh(softplus(x))`.
pub fn mish(x: &Tensor) -> Result<Tensor> {
    x.mul(&softplus(x, 1.0, 20.0)?.tanh()?)
}

/// `log(sigmoid(x)) = -softplus(-x)`, stable for large `|x|`.
pub fn logsigmoid(x: &Tensor) -> Result<Tensor> {
    softplus(&x.neg()?, 1.0, 20.0)?.neg()
}

/// `x - tanh(x)`.
pub fn tanhshrink(x: &Tensor) -> Result<Tensor> {
    x.sub(&x.tanh()?)
}

/// `x - lambd` above `lambd`, `x + lambd` below `-lambd`, else 0.
#[track_caller]
pub fn softshrink(x: &Tensor, lambd: f64) -> Result<Tensor> {
    if lambd < 0.0 {
        return Err(Error::value(
            "softshrink",
            format!("lambda must be greater or equal to 0, but found to be {lambd}."),
        ));
    }
    let inner = Tensor::where_cond(&x.lt_scalar(-lambd)?, &x.add_scalar(lambd)?, &zeros(x)?)?;
    Tensor::where_cond(&x.gt_scalar(lambd)?, &x.add_scalar(-lambd)?, &inner)
}

/// `x` where `|x| > lambd`, else 0.
pub fn hardshrink(x: &Tensor, lambd: f64) -> Result<Tensor> {
    let keep = x.gt_scalar(lambd)?.logical_or(&x.lt_scalar(-lambd)?)?;
    Tensor::where_cond(&keep, x, &zeros(x)?)
}

/// `x` where `x > threshold`, else `value`.
pub fn threshold(x: &Tensor, threshold: f64, value: f64) -> Result<Tensor> {
    Tensor::where_cond(&x.gt_scalar(threshold)?, x, &Tensor::full_like(x, value)?)
}

/// The gated linear unit: `a * sigmoid(b)` for the halves `a, b` of `dim`.
#[track_caller]
pub fn glu(x: &Tensor, dim: isize) -> Result<Tensor> {
    if x.dim() == 0 {
        return Err(Error::shape("glu", "glu does not support scalars because halving size must be even"));
    }
    let nd = x.dim() as isize;
    if !(-nd..nd).contains(&dim) {
        return Err(Error::index(
            "glu",
            format!("Dimension out of range (expected to be in range of [{}, {}], but got {dim})", -nd, nd - 1),
        ));
    }
    let d = if dim < 0 { dim + nd } else { dim } as usize;
    let n = x.shape()[d];
    if !n.is_multiple_of(2) {
        return Err(Error::shape("glu", format!("Halving dimension must be even, but dimension {d} is size {n}")));
    }
    let (a, b) = (x.narrow(d as isize, 0, n / 2)?, x.narrow(d as isize, n / 2, n / 2)?);
    a.mul(&b.sigmoid()?)
}

/// `softmax(-x, dim)`.
pub fn softmin(x: &Tensor, dim: isize) -> Result<Tensor> {
    x.neg()?.softmax(dim)
}

/// Softmax over the channels of `[C, H, W]` or `[N, C, H, W]` (dim -3).
#[track_caller]
pub fn softmax2d(x: &Tensor) -> Result<Tensor> {
    if !(3..=4).contains(&x.dim()) {
        return Err(Error::shape(
            "Softmax2d",
            format!("Softmax2d: expected input to be 3D or 4D, got {}D instead", x.dim()),
        ));
    }
    x.softmax(-3)
}

/// `x` where `x > 0`, else `weight * x`, with one learned slope per channel (dim 1) or one
/// for all (`weight [1]`).
#[track_caller]
pub fn prelu(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let c = weight.numel();
    let w = if c == 1 || x.dim() < 2 {
        if c != 1 && x.dim() < 2 && x.shape().first() != Some(&c) {
            return Err(Error::shape("prelu", format!("weight of {c} slopes for input {:?}", x.shape())));
        }
        weight.reshape(if c == 1 { vec![1usize; x.dim().max(1)] } else { vec![c] })?
    } else {
        if x.shape()[1] != c {
            return Err(Error::shape(
                "prelu",
                format!(
                    "Mismatch of parameter numbers and input channel size. Found parameter numbers = {c} and channel size = {}.",
                    x.shape()[1]
                ),
            ));
        }
        let mut shape = vec![1usize; x.dim()];
        shape[1] = c;
        weight.reshape(shape)?
    };
    Tensor::where_cond(&x.gt_scalar(0.0)?, x, &x.mul(&w)?)
}

/// Randomised leaky ReLU: in training, each negative element gets a slope drawn from
/// `U(lower, upper)`; in evaluation the mean slope `(lower + upper) / 2`.
#[track_caller]
pub fn rrelu(x: &Tensor, lower: f64, upper: f64, training: bool) -> Result<Tensor> {
    if lower > upper {
        return Err(Error::value(
            "rrelu",
            format!("Lower bound should be less than or equal to the upper bound, got {lower} and {upper}"),
        ));
    }
    if !training {
        return leaky_relu(x, (lower + upper) / 2.0);
    }
    let slopes = Tensor::uniform(x.shape(), lower, upper, x.dtype())?;
    Tensor::where_cond(&x.ge_scalar(0.0)?, x, &x.mul(&slopes)?)
}
