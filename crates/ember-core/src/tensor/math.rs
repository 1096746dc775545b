//! Elementwise and scan math that PyTorch programs call, composed of table ops so gradients
//! come from them: `hypot`, `fmod`, `copysign`, `heaviside`, `nan_to_num`, `sinc`, `cumprod`,
//! `logcumsumexp`, `diff`, `nanmean`, `histc`.

use super::Tensor;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};

impl Tensor {
    /// `sqrt(self^2 + other^2)` (`torch.hypot`).
    #[track_caller]
    pub fn hypot(&self, other: &Tensor) -> Result<Tensor> {
        at_caller(self.square()?.add(&other.square()?)?.sqrt())
    }

    /// The remainder of truncated division, with the sign of the dividend (`torch.fmod`; C's
    /// `fmod`, unlike `remainder`).
    #[track_caller]
    pub fn fmod(&self, other: &Tensor) -> Result<Tensor> {
        let ints = !self.dtype().is_float() && !other.dtype().is_float();
        let (a, b) = if ints {
            (self.to_dtype(DType::F64)?, other.to_dtype(DType::F64)?)
        } else {
            (self.clone(), other.clone())
        };
        let r = at_caller(a.sub(&a.div(&b)?.trunc()?.mul(&b)?))?;
        if ints {
            r.to_dtype(DType::promote(self.dtype(), other.dtype()))
        } else {
            Ok(r)
        }
    }

    /// `|self|` with the sign of `other`, including the sign of zero (`torch.copysign`).
    #[track_caller]
    pub fn copysign(&self, other: &Tensor) -> Result<Tensor> {
        let o = other.detach();
        let negative = o
            .lt_scalar(0.0)?
            .logical_or(&o.eq_scalar(0.0)?.logical_and(&o.to_dtype(DType::F64)?.reciprocal()?.lt_scalar(0.0)?)?)?;
        let a = if self.dtype().is_float() { self.clone() } else { self.to_dtype(DType::F32)? };
        let m = a.abs()?;
        at_caller(Tensor::where_cond(&negative, &m.neg()?, &m))
    }

    /// 0 below zero, 1 above, `values` at zero (`torch.heaviside`; not differentiable).
    #[track_caller]
    pub fn heaviside(&self, values: &Tensor) -> Result<Tensor> {
        let x = self.detach();
        let dtype = DType::promote(self.dtype(), values.dtype());
        let step = x.gt_scalar(0.0)?.to_dtype(dtype)?;
        at_caller(Tensor::where_cond(&x.eq_scalar(0.0)?, &values.detach().to_dtype(dtype)?, &step))
    }

    /// NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values
    /// unless given) (`torch.nan_to_num`).
    #[track_caller]
    pub fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return Ok(self.clone());
        }
        let big = match self.dtype() {
            DType::F16 => 65504.0,
            DType::BF16 => 3.389_531_389_251_535_5e38,
            DType::F32 => f32::MAX as f64,
            _ => f64::MAX,
        };
        let full = |v: f64| Tensor::full(&[], v, self.dtype());
        let mut out = Tensor::where_cond(&self.isnan()?, &full(nan)?, self)?;
        out = Tensor::where_cond(&self.eq_scalar(f64::INFINITY)?, &full(posinf.unwrap_or(big))?, &out)?;
        at_caller(Tensor::where_cond(&self.eq_scalar(f64::NEG_INFINITY)?, &full(neginf.unwrap_or(-big))?, &out))
    }

    /// `sin(pi x) / (pi x)`, 1 at 0 (`torch.sinc`).
    #[track_caller]
    pub fn sinc(&self) -> Result<Tensor> {
        let x = if self.dtype().is_float() { self.clone() } else { self.to_dtype(DType::F32)? };
        let zero = x.detach().eq_scalar(0.0)?;
        // Evaluate at 1 where x is 0, so the unused branch has no 0/0 for backward to meet.
        let safe = Tensor::where_cond(&zero, &Tensor::ones(&[], x.dtype())?, &x)?;
        let px = safe.mul_scalar(std::f64::consts::PI)?;
        at_caller(Tensor::where_cond(&zero, &Tensor::ones(&[], x.dtype())?, &px.sin()?.div(&px)?))
    }

    /// A scan along `dim`: `f(previous, current)` for each position after the first.
    #[track_caller]
    fn scan(&self, dim: isize, op: &'static str, f: impl Fn(&Tensor, &Tensor) -> Result<Tensor>) -> Result<Tensor> {
        let d = self.norm_dim(dim, op)?;
        if self.dim() == 0 || self.shape()[d] <= 1 {
            return Ok(self.clone());
        }
        let n = self.shape()[d];
        let mut parts = vec![self.narrow(d as isize, 0, 1)?];
        for i in 1..n {
            let next = f(&parts[i - 1], &self.narrow(d as isize, i, 1)?)?;
            parts.push(next);
        }
        at_caller(Tensor::cat(&parts.iter().collect::<Vec<_>>(), d as isize))
    }

    /// Cumulative product along `dim` (`torch.cumprod`; exact with zeros, gradients included).
    #[track_caller]
    pub fn cumprod(&self, dim: isize) -> Result<Tensor> {
        let x = if self.dtype().is_float() || self.dtype() == DType::I64 {
            self.clone()
        } else {
            self.to_dtype(DType::I64)?
        };
        x.scan(dim, "cumprod", |a, b| a.mul(b))
    }

    /// `log(cumsum(exp(x)))` along `dim`, without overflow (`torch.logcumsumexp`).
    #[track_caller]
    pub fn logcumsumexp(&self, dim: isize) -> Result<Tensor> {
        self.require_float("logcumsumexp")?;
        self.scan(dim, "logcumsumexp", |a, b| a.logaddexp(b))
    }

    /// The `n`-th forward difference along `dim`, after `prepend`/`append` are concatenated
    /// (`torch.diff`).
    #[track_caller]
    pub fn diff(&self, n: usize, dim: isize, prepend: Option<&Tensor>, append: Option<&Tensor>) -> Result<Tensor> {
        let d = self.norm_dim_strict(dim, "diff")?;
        let mut parts: Vec<&Tensor> = Vec::new();
        parts.extend(prepend);
        parts.push(self);
        parts.extend(append);
        let mut x = if parts.len() > 1 { Tensor::cat(&parts, d as isize)? } else { self.clone() };
        for _ in 0..n {
            let len = x.shape()[d];
            if len == 0 {
                break;
            }
            let (hi, lo) = (x.narrow(d as isize, 1, len - 1)?, x.narrow(d as isize, 0, len - 1)?);
            x = if x.dtype() == DType::Bool { hi.ne(&lo)? } else { hi.sub(&lo)? };
        }
        Ok(x)
    }

    /// The mean of the non-NaN elements over `dims` (all when empty) (`torch.nanmean`).
    #[track_caller]
    pub fn nanmean(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.require_float("nanmean")?;
        let nan = self.isnan()?;
        let clean = Tensor::where_cond(&nan, &Tensor::zeros(&[], self.dtype())?, self)?;
        let all: Vec<isize> = (0..self.dim() as isize).collect();
        let dims = if dims.is_empty() { &all[..] } else { dims };
        let count = nan.logical_not()?.to_dtype(self.dtype())?.sum_dims_keep(dims, keepdim)?;
        at_caller(clean.sum_dims_keep(dims, keepdim)?.div(&count))
    }

    /// A histogram of `bins` equal bins over `[min, max]` (the data's range when both are 0);
    /// elements outside are ignored (`torch.histc`; not differentiable).
    #[track_caller]
    pub fn histc(&self, bins: usize, min: f64, max: f64) -> Result<Tensor> {
        if bins == 0 {
            return Err(Error::value("histc", "torch.histc(): bins must be > 0"));
        }
        self.require_float("histc")?;
        crate::storage::checked_numel("histc", &[bins], self.dtype())?;
        let v = self.detach().to_f64_vec()?;
        let (mut lo, mut hi) = (min, max);
        if lo == 0.0 && hi == 0.0 && !v.is_empty() {
            lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
        if lo == hi {
            (lo, hi) = (lo - 1.0, hi + 1.0);
        }
        if lo >= hi || !lo.is_finite() || !hi.is_finite() {
            return Err(Error::value("histc", format!("torch.histc(): max must be larger than min, got [{lo}, {hi}]")));
        }
        let mut counts = vec![0f64; bins];
        for x in v.into_iter().filter(|x| (lo..=hi).contains(x)) {
            let b = (((x - lo) / (hi - lo)) * bins as f64) as usize;
            counts[b.min(bins - 1)] += 1.0;
        }
        Tensor::from_vec(counts, &[bins])?.to_dtype(self.dtype())
    }
}

impl Tensor {
    /// `ψ^(n)(x)` (`torch.polygamma(n, x)`): `digamma` for 0, `trigamma` for 1.
    #[track_caller]
    pub fn polygamma(&self, n: u32) -> Result<Tensor> {
        match n {
            0 => self.digamma(),
            1 => self.trigamma(),
            _ => self.unary_op(crate::op::UnaryOp::Polygamma(f64::from(n))),
        }
    }
}

impl Tensor {
    /// `dz/dalpha` for `Gamma(alpha, 1)` draws `z` (same shape), the implicit reparameterisation
    /// gradient (`torch._standard_gamma_grad`); not itself differentiable.
    #[track_caller]
    pub fn standard_gamma_grad(alpha: &Tensor, z: &Tensor) -> Result<Tensor> {
        if alpha.shape() != z.shape() {
            return Err(Error::shape(
                "standard_gamma_grad",
                format!("alpha {:?} and samples {:?} must have one shape", alpha.shape(), z.shape()),
            ));
        }
        let (a, v) = (alpha.detach().to_f64_vec()?, z.detach().to_f64_vec()?);
        let g: Vec<f64> = a.iter().zip(&v).map(|(&a, &z)| ember_kernels::special::standard_gamma_grad(a, z)).collect();
        Tensor::from_vec(g, alpha.shape())?.to_dtype(alpha.dtype())
    }
}
