//! Initialisers (`torch.nn.init`): each `*_` function overwrites a tensor in place (under
//! `no_grad`) with PyTorch's distribution and scaling, drawing from the global generator.

use ember_core::{no_grad, rng, DType, Error, Result, Tensor};

/// Fan-in and fan-out of a weight shape (`[out, in, *kernel]`), as PyTorch computes them.
#[track_caller]
pub fn fans(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::shape(
            "init",
            format!(
                "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {shape:?})"
            ),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

/// The recommended gain for a nonlinearity (`torch.nn.init.calculate_gain`).
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> f64 {
    match nonlinearity {
        "tanh" => 5.0 / 3.0,
        "relu" => 2f64.sqrt(),
        "leaky_relu" => {
            let a = param.unwrap_or(0.01);
            (2.0 / (1.0 + a * a)).sqrt()
        }
        "selu" => 0.75,
        _ => 1.0, // linear, conv*, sigmoid
    }
}

fn overwrite(t: &Tensor, values: Tensor) -> Result<()> {
    no_grad(|| t.copy_(&values))
}

/// Uniform in [low, high).
pub fn uniform_(t: &Tensor, low: f64, high: f64) -> Result<()> {
    overwrite(t, Tensor::uniform(t.shape(), low, high, float_dtype(t))?)
}

/// Normal with `mean` and `std`.
pub fn normal_(t: &Tensor, mean: f64, std: f64) -> Result<()> {
    overwrite(t, Tensor::normal(t.shape(), mean, std, float_dtype(t))?)
}

/// A constant.
pub fn constant_(t: &Tensor, value: f64) -> Result<()> {
    no_grad(|| t.fill_(value))
}

/// Zeros.
pub fn zeros_(t: &Tensor) -> Result<()> {
    constant_(t, 0.0)
}

/// Ones.
pub fn ones_(t: &Tensor) -> Result<()> {
    constant_(t, 1.0)
}

/// He uniform: `U(-b, b)`, `b = gain * sqrt(3 / fan_in)` (`a` is the leaky-relu slope; PyTorch's
/// default layers use `a = sqrt(5)`).
pub fn kaiming_uniform_(t: &Tensor, a: f64, fan_out_mode: bool, nonlinearity: &str) -> Result<()> {
    let (fi, fo) = fans(t.shape())?;
    let fan = if fan_out_mode { fo } else { fi };
    let bound = calculate_gain(nonlinearity, Some(a)) * (3.0 / fan.max(1) as f64).sqrt();
    uniform_(t, -bound, bound)
}

/// He normal: `N(0, std)`, `std = gain / sqrt(fan)`.
pub fn kaiming_normal_(t: &Tensor, a: f64, fan_out_mode: bool, nonlinearity: &str) -> Result<()> {
    let (fi, fo) = fans(t.shape())?;
    let fan = if fan_out_mode { fo } else { fi };
    normal_(t, 0.0, calculate_gain(nonlinearity, Some(a)) / (fan.max(1) as f64).sqrt())
}

/// Glorot uniform: `U(-b, b)`, `b = gain * sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_uniform_(t: &Tensor, gain: f64) -> Result<()> {
    let (fi, fo) = fans(t.shape())?;
    let b = gain * (6.0 / (fi + fo).max(1) as f64).sqrt();
    uniform_(t, -b, b)
}

/// Glorot normal: `N(0, gain * sqrt(2 / (fan_in + fan_out)))`.
pub fn xavier_normal_(t: &Tensor, gain: f64) -> Result<()> {
    let (fi, fo) = fans(t.shape())?;
    normal_(t, 0.0, gain * (2.0 / (fi + fo).max(1) as f64).sqrt())
}

/// Normal with `mean` and `std`, redrawn until inside `[a, b]` (rejection sampling; PyTorch
/// uses the inverse CDF, the distribution is the same).
pub fn trunc_normal_(t: &Tensor, mean: f64, std: f64, a: f64, b: f64) -> Result<()> {
    let valid = a < b && mean.is_finite() && std.is_finite() && std > 0.0; // false for NaN too
    if !valid {
        return Err(Error::value(
            "trunc_normal_",
            format!("needs a < b and a finite mean and std > 0, got [{a}, {b}], mean {mean}, std {std}"),
        ));
    }
    let n = t.numel();
    let (lo, hi) =
        (ember_core::special::normal_cdf((a - mean) / std), ember_core::special::normal_cdf((b - mean) / std));
    if hi - lo < 0.05 {
        // Little probability mass in [a, b]: rejection would draw for ever. Invert the CDF
        // instead (bisection on a uniform in [Phi(a), Phi(b)]).
        let (seed, start) = rng::reserve(n as u64);
        let mut g = rng::Generator { seed, offset: start };
        let (za, zb) = ((a - mean) / std, (b - mean) / std);
        let out: Vec<f64> = (0..n)
            .map(|_| {
                let u = lo + (hi - lo) * g.uniform();
                let (mut l, mut h) = (za.max(-40.0), zb.min(40.0));
                for _ in 0..80 {
                    let m = 0.5 * (l + h);
                    if ember_core::special::normal_cdf(m) < u {
                        l = m
                    } else {
                        h = m
                    }
                }
                (mean + std * 0.5 * (l + h)).clamp(a, b)
            })
            .collect();
        return overwrite(t, Tensor::from_vec(out, t.shape())?);
    }
    // Two counters per draw and ~5% rejections: 8n + 64 reserved counters are plenty.
    let (seed, start) = rng::reserve(8 * n as u64 + 64);
    let mut g = rng::Generator { seed, offset: start };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let u1 = 1.0 - g.uniform();
        let u2 = g.uniform();
        let z = mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        if (a..=b).contains(&z) {
            out.push(z);
        }
    }
    overwrite(t, Tensor::from_vec(out, t.shape())?)
}

fn float_dtype(t: &Tensor) -> DType {
    if t.dtype().is_float() {
        t.dtype()
    } else {
        DType::F32
    }
}

/// A (semi-)orthogonal matrix scaled by `gain`, over `t` viewed as `[rows, numel / rows]`:
/// the Q of a QR of a standard normal matrix, signs fixed by R's diagonal (Saxe et al.).
#[track_caller]
pub fn orthogonal_(t: &Tensor, gain: f64) -> Result<()> {
    if t.dim() < 2 {
        return Err(Error::value("orthogonal_", "Only tensors with 2 or more dimensions are supported"));
    }
    let rows = t.shape()[0];
    let cols = t.numel() / rows.max(1);
    if rows * cols == 0 {
        return Ok(());
    }
    no_grad(|| {
        let mut flat = Tensor::randn(&[rows, cols], DType::F64)?;
        if rows < cols {
            flat = flat.t()?;
        }
        let (q, r) = flat.linalg_qr("reduced")?;
        let q = q.mul(&r.diagonal(0, -2, -1)?.sign()?.unsqueeze(0)?)?;
        let q = if rows < cols { q.t()? } else { q };
        t.copy_(&q.mul_scalar(gain)?.reshape(t.shape())?.to_dtype(float_dtype(t))?)
    })
}

/// The identity matrix (ones on the main diagonal of a 2-D `t`), keeping the inputs of a
/// linear layer.
#[track_caller]
pub fn eye_(t: &Tensor) -> Result<()> {
    if t.dim() != 2 {
        return Err(Error::value("eye_", "Only tensors with 2 dimensions are supported"));
    }
    let (r, c) = (t.shape()[0], t.shape()[1]);
    let v: Vec<f64> = (0..r * c).map(|i| if i / c == i % c { 1.0 } else { 0.0 }).collect();
    overwrite(t, Tensor::from_vec(v, &[r, c])?.to_dtype(float_dtype(t))?)
}

/// The Dirac delta for a 3-, 4- or 5-D convolution weight: each of the first `min(out /
/// groups, in)` output channels of every group copies its input channel unchanged.
#[track_caller]
pub fn dirac_(t: &Tensor, groups: usize) -> Result<()> {
    if !(3..=5).contains(&t.dim()) {
        return Err(Error::value("dirac_", "Only tensors with 3, 4, or 5 dimensions are supported"));
    }
    let s = t.shape().to_vec();
    if groups == 0 || !s[0].is_multiple_of(groups) {
        return Err(Error::value("dirac_", "dim 0 must be divisible by groups"));
    }
    if t.numel() == 0 {
        return Ok(());
    }
    let per = s[0] / groups;
    let spatial: usize = s[2..].iter().product();
    // The centre of the kernel, as a flat offset within one [k1, k2, ...] block.
    let mut centre = 0;
    for &k in &s[2..] {
        centre = centre * k + k / 2;
    }
    let mut v = vec![0.0f64; t.numel()];
    for g in 0..groups {
        for d in 0..per.min(s[1]) {
            v[((g * per + d) * s[1] + d) * spatial + centre] = 1.0;
        }
    }
    overwrite(t, Tensor::from_vec(v, &s)?.to_dtype(float_dtype(t))?)
}

/// A sparse 2-D matrix: entries normal with `std`, and in every column `ceil(sparsity *
/// rows)` entries (chosen at random) set to zero (Martens 2010).
#[track_caller]
pub fn sparse_(t: &Tensor, sparsity: f64, std: f64) -> Result<()> {
    if t.dim() != 2 {
        return Err(Error::value("sparse_", "Only tensors with 2 dimensions are supported"));
    }
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(Error::value("sparse_", format!("sparsity must be in [0, 1], got {sparsity}")));
    }
    let (rows, cols) = (t.shape()[0], t.shape()[1]);
    let zeros = (sparsity * rows as f64).ceil() as usize;
    let mut v = Tensor::randn(&[rows, cols], DType::F64)?.mul_scalar(std)?.to_vec::<f64>()?;
    let (seed, offset) = rng::reserve(cols as u64 * rows as u64);
    let mut g = rng::Generator { seed, offset };
    for c in 0..cols {
        for &r in g.permutation(rows).iter().take(zeros) {
            v[r * cols + c] = 0.0;
        }
    }
    overwrite(t, Tensor::from_vec(v, &[rows, cols])?.to_dtype(float_dtype(t))?)
}
