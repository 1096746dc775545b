//! Norms and small linear-algebra compositions (`torch.linalg`'s that need no decomposition):
//! `vector_norm`, `matrix_norm` (Frobenius, 1, -1, inf, -inf), `cross`, `matrix_power` (n >= 0),
//! all differentiable through the ops they are made of.

use super::Tensor;
use crate::error::{at_caller, Error, Result};
use crate::DType;

impl Tensor {
    /// `(sum |x|^ord)^(1/ord)` over `dims` (all when empty); `ord` inf/-inf is the max/min of
    /// `|x|`, 0 counts nonzeros (`torch.linalg.vector_norm`).
    #[track_caller]
    pub fn vector_norm(&self, ord: f64, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.require_float("vector_norm")?;
        let all: Vec<isize> = (0..self.dim() as isize).collect();
        let dims = if dims.is_empty() { &all[..] } else { dims };
        let a = self.abs()?;
        if ord.is_infinite() {
            let mut ds: Vec<usize> = dims.iter().map(|&d| self.norm_dim(d, "vector_norm")).collect::<Result<_>>()?;
            ds.sort_unstable();
            ds.dedup();
            let mut out = a;
            for &d in ds.iter().rev() {
                if out.dim() == 0 {
                    break;
                }
                if out.shape()[d] == 0 {
                    return Err(Error::index("vector_norm", "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation does not have an identity"));
                }
                out = if ord > 0.0 { out.max_dim(d as isize, true)?.0 } else { out.min_dim(d as isize, true)?.0 };
            }
            if !keepdim {
                for &d in ds.iter().rev() {
                    if out.dim() > d {
                        out = out.squeeze_dim(d as isize)?;
                    }
                }
            }
            return Ok(out);
        }
        if ord == 0.0 {
            return at_caller(a.ne_scalar(0.0)?.to_dtype(self.dtype())?.sum_dims_keep(dims, keepdim));
        }
        if matches!(self.dtype(), DType::F16 | DType::BF16) {
            // Half types: powers, sum and root in f32, one rounding at the end (PyTorch's
            // opmath; rounding the sum of squares first can land a ulp off).
            let wide = at_caller(self.to_dtype(DType::F32)?.vector_norm(ord, dims, keepdim))?;
            return at_caller(wide.to_dtype(self.dtype()));
        }
        if ord == 2.0 {
            return at_caller(a.square()?.sum_dims_keep(dims, keepdim)?.sqrt());
        }
        if ord == 1.0 {
            return at_caller(a.sum_dims_keep(dims, keepdim));
        }
        at_caller(a.pow(ord)?.sum_dims_keep(dims, keepdim)?.pow(1.0 / ord))
    }

    /// Matrix norms over dims `(d0, d1)`: `"fro"` (Frobenius), or `ord` 1 / -1 (max / min
    /// column sum of `|x|`) and inf / -inf (max / min row sum) (`torch.linalg.matrix_norm`;
    /// the nuclear and spectral norms need an SVD, not built yet).
    #[track_caller]
    pub fn matrix_norm(&self, ord: &str, dims: [isize; 2], keepdim: bool) -> Result<Tensor> {
        if self.dim() < 2 {
            return Err(Error::shape(
                "matrix_norm",
                format!("linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {}", self.dim()),
            ));
        }
        let (d0, d1) = (self.norm_dim(dims[0], "matrix_norm")?, self.norm_dim(dims[1], "matrix_norm")?);
        if d0 == d1 {
            return Err(Error::shape("matrix_norm", "linalg.matrix_norm: dims must be different"));
        }
        let (r, c) = (d0 as isize, d1 as isize);
        let reduce = |sum_dim: isize, other: isize, max: bool| -> Result<Tensor> {
            let s = self.abs()?.sum_dim(sum_dim, true)?;
            let m = if max { s.max_dim(other, true)?.0 } else { s.min_dim(other, true)?.0 };
            if keepdim {
                Ok(m)
            } else {
                let (hi, lo) = if r > c { (r, c) } else { (c, r) };
                m.squeeze_dim(hi)?.squeeze_dim(lo)
            }
        };
        at_caller(match ord {
            "fro" => self.vector_norm(2.0, &[r, c], keepdim),
            "1" => reduce(r, c, true),
            "-1" => reduce(r, c, false),
            "inf" => reduce(c, r, true),
            "-inf" => reduce(c, r, false),
            "nuc" | "2" | "-2" => (|| {
                // From the singular values of the matrices moved to the last two dims.
                let s = self.movedim(&[r, c], &[-2, -1])?.svdvals()?;
                let v = match ord {
                    "nuc" => s.sum_dim(-1, false)?,
                    "2" => s.max_dim(-1, false)?.0,
                    _ => s.min_dim(-1, false)?.0,
                };
                match keepdim {
                    true => v.unsqueeze(r.min(c))?.unsqueeze(r.max(c)),
                    false => Ok(v),
                }
            })(),
            _ => Err(Error::value("matrix_norm", format!("linalg.matrix_norm: Order {ord} not supported."))),
        })
    }

    /// The cross product of 3-vectors along `dim` (`torch.linalg.cross`), with broadcasting.
    #[track_caller]
    pub fn cross(&self, other: &Tensor, dim: isize) -> Result<Tensor> {
        if self.dim() != other.dim() {
            return Err(Error::shape(
                "cross",
                format!(
                    "linalg.cross: inputs must have the same number of dimensions, got {} and {}",
                    self.dim(),
                    other.dim()
                ),
            ));
        }
        let shape = super::arith::broadcast_pair("cross", self.shape(), other.shape())?;
        let (a, b) = (at_caller(self.expand(&shape[..]))?, at_caller(other.expand(&shape[..]))?);
        let d = a.norm_dim_strict(dim, "cross")?;
        if shape[d] != 3 {
            return Err(Error::shape(
                "cross",
                format!(
                    "linalg.cross: inputs dimension {d} must have length 3. Got {} and {}",
                    self.shape().get(d).copied().unwrap_or(1),
                    other.shape().get(d).copied().unwrap_or(1)
                ),
            ));
        }
        let c = |t: &Tensor, i: usize| t.narrow(d as isize, i, 1);
        let (a0, a1, a2) = (c(&a, 0)?, c(&a, 1)?, c(&a, 2)?);
        let (b0, b1, b2) = (c(&b, 0)?, c(&b, 1)?, c(&b, 2)?);
        let x = a1.mul(&b2)?.sub(&a2.mul(&b1)?)?;
        let y = a2.mul(&b0)?.sub(&a0.mul(&b2)?)?;
        let z = a0.mul(&b1)?.sub(&a1.mul(&b0)?)?;
        at_caller(Tensor::cat(&[&x, &y, &z], d as isize))
    }

    /// `self` multiplied by itself `n` times (the identity for 0), by repeated squaring
    /// (`torch.linalg.matrix_power` for n >= 0; negative powers need an inverse).
    #[track_caller]
    pub fn matrix_power(&self, n: i64) -> Result<Tensor> {
        let nd = self.dim();
        if nd < 2 || self.shape()[nd - 1] != self.shape()[nd - 2] {
            return Err(Error::shape(
                "matrix_power",
                format!("linalg.matrix_power: A must be batches of square matrices, but they are {:?}", self.shape()),
            ));
        }
        if n < 0 {
            return Err(Error::unsupported(
                "matrix_power",
                "negative powers need linalg.inv, which Ember does not have yet",
            ));
        }
        let k = self.shape()[nd - 1];
        let mut result: Option<Tensor> = None;
        let (mut base, mut e) = (self.clone(), n as u64);
        while e > 0 {
            if e & 1 == 1 {
                result = Some(match result {
                    None => base.clone(),
                    Some(r) => r.matmul(&base)?,
                });
            }
            e >>= 1;
            if e > 0 {
                base = base.matmul(&base)?;
            }
        }
        match result {
            Some(r) => Ok(r),
            None => at_caller(Tensor::eye(k, self.dtype())?.expand(self.shape())?.contiguous()),
        }
    }
}

impl Tensor {
    /// Each slice along `dim` with a `p`-norm above `maxnorm` scaled down to it
    /// (`torch.renorm`; the factor is `maxnorm / (norm + 1e-7)`, as PyTorch's).
    #[track_caller]
    pub fn renorm(&self, p: f64, dim: isize, maxnorm: f64) -> Result<Tensor> {
        if self.dim() < 2 {
            return Err(Error::shape(
                "renorm",
                format!("renorm: input needs at least 2 dimensions, got {} dimensions", self.dim()),
            ));
        }
        if p <= 0.0 || maxnorm < 0.0 {
            return Err(Error::value(
                "renorm",
                format!("renorm: non-positive-norm not supported (p={p}, maxnorm={maxnorm})"),
            ));
        }
        let d = self.norm_dim(dim, "renorm")?;
        let others: Vec<isize> = (0..self.dim()).filter(|&i| i != d).map(|i| i as isize).collect();
        let norm = self.vector_norm(p, &others, true)?;
        let scaled = norm.add_scalar(1e-7)?.reciprocal()?.mul_scalar(maxnorm)?;
        let factor = Tensor::where_cond(&norm.gt_scalar(maxnorm)?, &scaled, &Tensor::ones_like(&norm)?)?;
        at_caller(self.mul(&factor))
    }
}
