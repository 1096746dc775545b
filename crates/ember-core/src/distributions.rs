//! `torch.distributions` for Rust programs: `Normal`, `Uniform`, `Exponential`, `Bernoulli`,
//! `Categorical` and `MultivariateNormal`, with `sample`, `rsample` (reparameterised, where
//! PyTorch has it), `log_prob`, `entropy`, `mean`, `variance`, and the KL divergences of the
//! same-family pairs. Everything is written over differentiable tensor ops, so gradients flow
//! through `log_prob`, `entropy`, `kl` and `rsample` to the parameters. (The Python package
//! has more families: `ember/distributions/`.)

use crate::error::{Error, Result};
use crate::{DType, Tensor};
use std::f64::consts::PI;

/// What every distribution offers. Shapes follow PyTorch: a draw of `sample_shape` has shape
/// `sample_shape ++ batch_shape ++ event_shape`.
pub trait Distribution {
    /// The shape of independent parameter sets.
    fn batch_shape(&self) -> Vec<usize>;
    /// The shape of one draw (empty for scalar distributions).
    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }
    /// A draw, differentiable in the parameters (an error where PyTorch has no `rsample`).
    fn rsample(&self, sample_shape: &[usize]) -> Result<Tensor>;
    /// A draw without gradient.
    fn sample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        crate::no_grad(|| self.rsample(sample_shape)).map(|t| t.detach())
    }
    /// The log density (or mass) of `value`.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor>;
    fn entropy(&self) -> Result<Tensor>;
    fn mean(&self) -> Result<Tensor>;
    fn variance(&self) -> Result<Tensor>;
    fn stddev(&self) -> Result<Tensor> {
        self.variance()?.sqrt()
    }
    /// `sample_shape ++ batch_shape ++ event_shape`.
    fn extended_shape(&self, sample_shape: &[usize]) -> Vec<usize> {
        [sample_shape, &self.batch_shape(), &self.event_shape()].concat()
    }
}

/// Two parameters broadcast to one shape.
fn broadcast(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let shape = a.detach().add(&b.detach())?.shape().to_vec();
    Ok((a.broadcast_to(&shape)?, b.broadcast_to(&shape)?))
}

fn float_dtype(t: &Tensor) -> DType {
    if t.dtype().is_float() {
        t.dtype()
    } else {
        DType::F32
    }
}

/// The normal distribution `N(loc, scale^2)`.
#[derive(Clone, Debug)]
pub struct Normal {
    pub loc: Tensor,
    pub scale: Tensor,
}

impl Normal {
    pub fn new(loc: &Tensor, scale: &Tensor) -> Result<Normal> {
        let (loc, scale) = broadcast(loc, scale)?;
        Ok(Normal { loc, scale })
    }

    /// `KL(self || q)`.
    pub fn kl(&self, q: &Normal) -> Result<Tensor> {
        let var_ratio = self.scale.div(&q.scale)?.pow(2.0)?;
        let t1 = self.loc.sub(&q.loc)?.div(&q.scale)?.pow(2.0)?;
        var_ratio.add(&t1)?.sub_scalar(1.0)?.sub(&var_ratio.log()?)?.mul_scalar(0.5)
    }
}

impl Distribution for Normal {
    fn batch_shape(&self) -> Vec<usize> {
        self.loc.shape().to_vec()
    }
    fn rsample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        let eps = Tensor::randn(&self.extended_shape(sample_shape), float_dtype(&self.loc))?;
        self.loc.add(&eps.mul(&self.scale)?)
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let z = value.sub(&self.loc)?.div(&self.scale)?;
        z.pow(2.0)?.mul_scalar(-0.5)?.sub(&self.scale.log()?)?.sub_scalar(0.5 * (2.0 * PI).ln())
    }
    fn entropy(&self) -> Result<Tensor> {
        self.scale.log()?.add_scalar(0.5 + 0.5 * (2.0 * PI).ln())
    }
    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.clone())
    }
    fn variance(&self) -> Result<Tensor> {
        self.scale.pow(2.0)
    }
}

/// The uniform distribution on `[low, high)`.
#[derive(Clone, Debug)]
pub struct Uniform {
    pub low: Tensor,
    pub high: Tensor,
}

impl Uniform {
    pub fn new(low: &Tensor, high: &Tensor) -> Result<Uniform> {
        let (low, high) = broadcast(low, high)?;
        Ok(Uniform { low, high })
    }
}

impl Distribution for Uniform {
    fn batch_shape(&self) -> Vec<usize> {
        self.low.shape().to_vec()
    }
    fn rsample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        let u = Tensor::rand(&self.extended_shape(sample_shape), float_dtype(&self.low))?;
        self.low.add(&u.mul(&self.high.sub(&self.low)?)?)
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let inside = value.ge(&self.low)?.logical_and(&value.lt(&self.high)?)?;
        let lp = self.high.sub(&self.low)?.log()?.neg()?;
        let lp = lp.broadcast_to(inside.shape())?;
        Tensor::where_cond(&inside, &lp, &Tensor::full_like(&lp, f64::NEG_INFINITY)?)
    }
    fn entropy(&self) -> Result<Tensor> {
        self.high.sub(&self.low)?.log()
    }
    fn mean(&self) -> Result<Tensor> {
        self.low.add(&self.high)?.mul_scalar(0.5)
    }
    fn variance(&self) -> Result<Tensor> {
        self.high.sub(&self.low)?.pow(2.0)?.div_scalar(12.0)
    }
}

/// The exponential distribution with `rate`.
#[derive(Clone, Debug)]
pub struct Exponential {
    pub rate: Tensor,
}

impl Exponential {
    pub fn new(rate: &Tensor) -> Result<Exponential> {
        Ok(Exponential { rate: rate.clone() })
    }
}

impl Distribution for Exponential {
    fn batch_shape(&self) -> Vec<usize> {
        self.rate.shape().to_vec()
    }
    fn rsample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        let e = Tensor::zeros(&self.extended_shape(sample_shape), float_dtype(&self.rate))?;
        e.exponential_(1.0)?;
        e.div(&self.rate)
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        self.rate.log()?.sub(&self.rate.mul(value)?)
    }
    fn entropy(&self) -> Result<Tensor> {
        self.rate.log()?.neg()?.add_scalar(1.0)
    }
    fn mean(&self) -> Result<Tensor> {
        self.rate.reciprocal()
    }
    fn variance(&self) -> Result<Tensor> {
        self.rate.pow(-2.0)
    }
}

/// The Bernoulli distribution with success probability `probs`.
#[derive(Clone, Debug)]
pub struct Bernoulli {
    pub probs: Tensor,
}

impl Bernoulli {
    pub fn new(probs: &Tensor) -> Result<Bernoulli> {
        Ok(Bernoulli { probs: probs.clone() })
    }

    /// The probabilities kept off 0 and 1 by the dtype's epsilon (PyTorch's `clamp_probs`).
    fn clamped(&self) -> Result<Tensor> {
        let eps = if self.probs.dtype() == DType::F64 { f64::EPSILON } else { f32::EPSILON as f64 };
        self.probs.clamp(Some(eps), Some(1.0 - eps))
    }
}

impl Distribution for Bernoulli {
    fn batch_shape(&self) -> Vec<usize> {
        self.probs.shape().to_vec()
    }
    fn rsample(&self, _sample_shape: &[usize]) -> Result<Tensor> {
        Err(Error::unsupported("rsample", "Bernoulli has no reparameterised sample (use sample)"))
    }
    fn sample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        self.probs.detach().broadcast_to(&self.extended_shape(sample_shape))?.contiguous()?.bernoulli()
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let p = self.clamped()?;
        let q = p.neg()?.add_scalar(1.0)?;
        value.mul(&p.log()?)?.add(&value.neg()?.add_scalar(1.0)?.mul(&q.log()?)?)
    }
    fn entropy(&self) -> Result<Tensor> {
        let p = self.clamped()?;
        let q = p.neg()?.add_scalar(1.0)?;
        p.mul(&p.log()?)?.add(&q.mul(&q.log()?)?)?.neg()
    }
    fn mean(&self) -> Result<Tensor> {
        Ok(self.probs.clone())
    }
    fn variance(&self) -> Result<Tensor> {
        self.probs.mul(&self.probs.neg()?.add_scalar(1.0)?)
    }
}

/// The categorical distribution over the last dim of `logits` (unnormalised log-probabilities).
#[derive(Clone, Debug)]
pub struct Categorical {
    /// Normalised: `logits - logsumexp(logits)`.
    pub logits: Tensor,
}

impl Categorical {
    pub fn from_logits(logits: &Tensor) -> Result<Categorical> {
        if logits.dim() == 0 {
            return Err(Error::value("Categorical", "logits must be at least one-dimensional."));
        }
        Ok(Categorical { logits: logits.sub(&logits.logsumexp(-1, true)?)? })
    }

    /// From probabilities (normalised along the last dim).
    pub fn from_probs(probs: &Tensor) -> Result<Categorical> {
        if probs.dim() == 0 {
            return Err(Error::value("Categorical", "probs must be at least one-dimensional."));
        }
        Categorical::from_logits(&probs.log()?)
    }

    pub fn probs(&self) -> Result<Tensor> {
        self.logits.exp()
    }

    fn num_events(&self) -> usize {
        self.logits.shape()[self.logits.dim() - 1]
    }

    /// `KL(self || q)`.
    pub fn kl(&self, q: &Categorical) -> Result<Tensor> {
        self.probs()?.mul(&self.logits.sub(&q.logits)?)?.sum_dim(-1, false)
    }
}

impl Distribution for Categorical {
    fn batch_shape(&self) -> Vec<usize> {
        self.logits.shape()[..self.logits.dim() - 1].to_vec()
    }
    fn rsample(&self, _sample_shape: &[usize]) -> Result<Tensor> {
        Err(Error::unsupported("rsample", "Categorical has no reparameterised sample (use sample)"))
    }
    fn sample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        let n: usize = sample_shape.iter().product();
        let k = self.num_events();
        let probs = self.probs()?.detach().reshape(&[-1, k as isize])?;
        let rows = probs.shape()[0];
        // [rows, n] draws, moved to sample_shape ++ batch_shape.
        let draws = if n == 0 { Tensor::zeros(&[rows, 0], DType::I64)? } else { probs.multinomial(n, true)? };
        draws.transpose(0, 1)?.contiguous()?.reshape(&self.extended_shape(sample_shape))
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let k = self.num_events();
        let v = value.to_dtype(DType::I64)?;
        let shape =
            v.detach().to_dtype(DType::F32)?.add(&Tensor::zeros(&self.batch_shape(), DType::F32)?)?.shape().to_vec();
        let v = v.broadcast_to(&shape)?.contiguous()?;
        let logits = self.logits.broadcast_to(&[shape.clone(), vec![k]].concat())?;
        logits.gather(-1, &v.unsqueeze(-1)?)?.squeeze_dim(-1)
    }
    fn entropy(&self) -> Result<Tensor> {
        self.probs()?.mul(&self.logits)?.sum_dim(-1, false)?.neg()
    }
    /// NaN, as PyTorch's.
    fn mean(&self) -> Result<Tensor> {
        Tensor::full(&self.batch_shape(), f64::NAN, self.logits.dtype())
    }
    fn variance(&self) -> Result<Tensor> {
        Tensor::full(&self.batch_shape(), f64::NAN, self.logits.dtype())
    }
}

/// The multivariate normal `N(loc, L L^T)`, from the lower Cholesky factor `scale_tril` (or a
/// covariance matrix, factorised on construction).
#[derive(Clone, Debug)]
pub struct MultivariateNormal {
    pub loc: Tensor,
    pub scale_tril: Tensor,
}

impl MultivariateNormal {
    pub fn from_scale_tril(loc: &Tensor, scale_tril: &Tensor) -> Result<MultivariateNormal> {
        if loc.dim() < 1 || scale_tril.dim() < 2 {
            return Err(Error::shape(
                "MultivariateNormal",
                "loc must be at least one-dimensional and scale_tril at least two-dimensional",
            ));
        }
        let n = loc.shape()[loc.dim() - 1];
        let l = scale_tril.shape();
        if l[l.len() - 1] != n || l[l.len() - 2] != n {
            return Err(Error::shape(
                "MultivariateNormal",
                format!("scale_tril {l:?} does not match loc {:?}", loc.shape()),
            ));
        }
        let batch = loc.detach().unsqueeze(-1)?.add(&scale_tril.detach())?.shape().to_vec();
        let batch = &batch[..batch.len() - 2];
        Ok(MultivariateNormal {
            loc: loc.broadcast_to(&[batch, &[n]].concat())?,
            scale_tril: scale_tril.broadcast_to(&[batch, &[n, n]].concat())?,
        })
    }

    pub fn from_covariance(loc: &Tensor, covariance: &Tensor) -> Result<MultivariateNormal> {
        MultivariateNormal::from_scale_tril(loc, &covariance.cholesky(false)?)
    }

    fn n(&self) -> usize {
        self.loc.shape()[self.loc.dim() - 1]
    }

    fn half_log_det(&self) -> Result<Tensor> {
        self.scale_tril.diagonal(0, -2, -1)?.log()?.sum_dim(-1, false)
    }

    /// `|L^-1 x|^2`, solving with the triangle.
    fn mahalanobis(l: &Tensor, x: &Tensor) -> Result<Tensor> {
        let z = l.solve_triangular(&x.unsqueeze(-1)?, false, true, false)?;
        z.pow(2.0)?.sum_dim(-2, false)?.squeeze_dim(-1)
    }

    /// `KL(self || q)`.
    pub fn kl(&self, q: &MultivariateNormal) -> Result<Tensor> {
        let n = self.n() as f64;
        let m = q.scale_tril.solve_triangular(&self.scale_tril, false, true, false)?;
        let term2 = m.pow(2.0)?.sum_dim(-1, false)?.sum_dim(-1, false)?;
        let term3 = MultivariateNormal::mahalanobis(&q.scale_tril, &q.loc.sub(&self.loc)?)?;
        q.half_log_det()?.sub(&self.half_log_det()?)?.add(&term2.add(&term3)?.sub_scalar(n)?.mul_scalar(0.5)?)
    }
}

impl Distribution for MultivariateNormal {
    fn batch_shape(&self) -> Vec<usize> {
        self.loc.shape()[..self.loc.dim() - 1].to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.n()]
    }
    fn rsample(&self, sample_shape: &[usize]) -> Result<Tensor> {
        let eps = Tensor::randn(&self.extended_shape(sample_shape), float_dtype(&self.loc))?;
        self.loc.add(&self.scale_tril.matmul(&eps.unsqueeze(-1)?)?.squeeze_dim(-1)?)
    }
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let diff = value.sub(&self.loc)?;
        let m = MultivariateNormal::mahalanobis(&self.scale_tril, &diff)?;
        let n = self.n() as f64;
        m.add_scalar(n * (2.0 * PI).ln())?.mul_scalar(-0.5)?.sub(&self.half_log_det()?)
    }
    fn entropy(&self) -> Result<Tensor> {
        let n = self.n() as f64;
        self.half_log_det()?.add_scalar(0.5 * n * (1.0 + (2.0 * PI).ln()))
    }
    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.clone())
    }
    fn variance(&self) -> Result<Tensor> {
        self.scale_tril.pow(2.0)?.sum_dim(-1, false)
    }
}
