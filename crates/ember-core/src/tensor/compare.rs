//! Whole-tensor comparisons and counting: `isclose`, `allclose`, `equal`, `bincount`
//! (PyTorch's names and tolerances).

use super::Tensor;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};

impl Tensor {
    /// `|self - other| <= atol + rtol * |other|` elementwise, with broadcasting; NaNs compare
    /// equal only with `equal_nan` (`torch.isclose`).
    #[track_caller]
    pub fn isclose(&self, other: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> Result<Tensor> {
        if rtol < 0.0 || atol < 0.0 {
            return Err(Error::value("isclose", format!("rtol ({rtol}) and atol ({atol}) must be non-negative")));
        }
        let dtype = DType::promote(self.dtype(), other.dtype());
        let (a, b) = (self.detach().to_dtype(dtype)?, other.detach().to_dtype(dtype)?);
        let exact = at_caller(a.eq(&b))?;
        if !dtype.is_float() {
            return Ok(exact);
        }
        let (a, b) = (a.to_dtype(DType::F64)?, b.to_dtype(DType::F64)?);
        let near = a.sub(&b)?.abs()?.le(&b.abs()?.mul_scalar(rtol)?.add_scalar(atol)?)?;
        let mut close = exact.logical_or(&near)?;
        if equal_nan {
            close = close.logical_or(&a.isnan()?.logical_and(&b.isnan()?)?)?;
        }
        Ok(close)
    }

    /// Whether every element is close (`torch.allclose`).
    #[track_caller]
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> Result<bool> {
        let c = self.isclose(other, rtol, atol, equal_nan)?;
        Ok(c.logical_not()?.to_dtype(DType::I64)?.sum()?.item::<i64>()? == 0)
    }

    /// Same shape and the same elements (`torch.equal`; NaN is unequal to itself).
    #[track_caller]
    pub fn equal(&self, other: &Tensor) -> Result<bool> {
        if self.shape() != other.shape() {
            return Ok(false);
        }
        let ne = at_caller(self.detach().ne(&other.detach()))?;
        Ok(ne.to_dtype(DType::I64)?.sum()?.item::<i64>()? == 0)
    }

    /// Counts of each value `0..=max` of a 1-D non-negative integer tensor, at least
    /// `minlength` of them; with `weights`, their sums instead (`torch.bincount`).
    #[track_caller]
    pub fn bincount(&self, weights: Option<&Tensor>, minlength: usize) -> Result<Tensor> {
        let op = "bincount";
        if self.dim() != 1 || self.dtype().is_float() || self.dtype() == DType::Bool {
            return Err(Error::shape(
                op,
                format!(
                    "bincount only supports 1-d non-negative integral inputs, got {}-d {}",
                    self.dim(),
                    self.dtype()
                ),
            ));
        }
        let v = self.to_dtype(DType::I64)?.to_vec::<i64>()?;
        if let Some(bad) = v.iter().find(|&&x| x < 0) {
            return Err(Error::value(
                op,
                format!("bincount only supports 1-d non-negative integral inputs, got {bad}"),
            ));
        }
        let len = (v.iter().max().map_or(0, |&m| m as usize + 1)).max(minlength);
        crate::storage::checked_numel(op, &[len], DType::F64)?;
        match weights {
            None => {
                let mut c = vec![0i64; len];
                v.iter().for_each(|&x| c[x as usize] += 1);
                Tensor::from_vec(c, &[len])
            }
            Some(w) => {
                if w.shape() != self.shape() {
                    return Err(Error::shape(
                        op,
                        format!(
                            "weights should be 1-d and have the same length as input, got {:?} and {:?}",
                            w.shape(),
                            self.shape()
                        ),
                    ));
                }
                let wd = if w.dtype().is_float() { w.dtype() } else { DType::F64 };
                let wv = w.to_dtype(DType::F64)?.to_vec::<f64>()?;
                let mut c = vec![0f64; len];
                v.iter().zip(&wv).for_each(|(&x, &wt)| c[x as usize] += wt);
                Tensor::from_vec(c, &[len])?.to_dtype(if wd == DType::F32 { DType::F32 } else { DType::F64 })
            }
        }
    }
}
