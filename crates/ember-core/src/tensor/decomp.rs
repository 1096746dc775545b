//! `torch.linalg` decompositions on `faer` (`backend/cpu/linalg.rs`): `inv`, `solve`, `det`,
//! `slogdet`, `cholesky`, batched over leading dims, each a primitive of the op table with
//! PyTorch's backward formula. f32/f16/bf16 inputs are factorised in f64 and returned in their
//! dtype. A singular (or, for Cholesky, non-positive-definite) matrix is an error naming it.

use super::Tensor;
use crate::backend::cpu::linalg as cpu;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};
use crate::op::Op;

impl Tensor {
    /// `(batch, n)` of a batch of square matrices, or the error PyTorch gives.
    #[track_caller]
    fn square_batch(&self, op: &'static str) -> Result<(usize, usize)> {
        let nd = self.dim();
        if nd < 2 || self.shape()[nd - 1] != self.shape()[nd - 2] {
            return Err(Error::shape(
                op,
                format!("linalg.{op}: A must be batches of square matrices, but they are {:?}", self.shape()),
            ));
        }
        if !self.dtype().is_float() {
            return Err(Error::dtype(
                op,
                format!("linalg.{op}: Expected a floating point tensor as input. Got {}", self.dtype()),
            ));
        }
        let n = self.shape()[nd - 1];
        Ok((self.shape()[..nd - 2].iter().product(), n))
    }

    fn f64_data(&self) -> Result<Vec<f64>> {
        self.detach().contiguous()?.to_dtype(DType::F64)?.to_vec::<f64>()
    }

    #[track_caller]
    fn singular(op: &'static str, f: cpu::Failed, batched: bool) -> Error {
        let which = if batched { format!("(Batch element {}): ", f.batch) } else { String::new() };
        Error::value(op, format!("linalg.{op}: {which}The diagonal element {} is zero, the inversion could not be completed because the input matrix is singular.", f.pivot))
    }

    /// The inverse of each square matrix (`torch.linalg.inv`).
    #[track_caller]
    pub fn inv(&self) -> Result<Tensor> {
        let (batch, n) = self.square_batch("inv")?;
        let out = cpu::inv(&self.f64_data()?, n).map_err(|f| Tensor::singular("inv", f, batch > 1))?;
        let y = Tensor::from_vec(out, self.shape())?.to_dtype(self.dtype())?;
        Ok(y.record(&[self], || Op::Inv))
    }

    /// `X` with `A X = B` (`torch.linalg.solve(A, B)`, left side): `B` is `[.., n, k]` or a
    /// vector `[.., n]`; batch dims broadcast.
    #[track_caller]
    pub fn linalg_solve(&self, b: &Tensor) -> Result<Tensor> {
        let (_, n) = self.square_batch("solve")?;
        let vector = b.dim() == 1 || (b.dim() == self.dim() - 1 && b.shape()[..] == self.shape()[..self.dim() - 1]);
        let b2 = if vector { at_caller(b.unsqueeze(-1))? } else { b.clone() };
        if b2.dim() < 2 || b2.shape()[b2.dim() - 2] != n {
            return Err(Error::shape(
                "solve",
                format!(
                    "linalg.solve: Incompatible shapes of A and B for the equation AX = B ({:?} and {:?})",
                    self.shape(),
                    b.shape()
                ),
            ));
        }
        let dtype = DType::promote(self.dtype(), b.dtype());
        let (a, b2) = (self.to_dtype(dtype)?, b2.to_dtype(dtype)?);
        let k = b2.shape()[b2.dim() - 1];
        let batch = super::arith::broadcast_pair("solve", &a.shape()[..a.dim() - 2], &b2.shape()[..b2.dim() - 2])?;
        let a = at_caller(a.expand(&[batch.clone(), vec![n, n]].concat()[..]))?;
        let b2 = at_caller(b2.expand(&[batch.clone(), vec![n, k]].concat()[..]))?;
        let nb: usize = batch.iter().product();
        let x = cpu::solve(&a.f64_data()?, &b2.f64_data()?, n, k).map_err(|f| Tensor::singular("solve", f, nb > 1))?;
        let x = Tensor::from_vec(x, b2.shape())?.to_dtype(dtype)?;
        let x = x.record(&[&a, &b2], || Op::Solve);
        if vector {
            at_caller(x.squeeze_dim(-1))
        } else {
            Ok(x)
        }
    }

    /// The determinant of each square matrix (`torch.linalg.det`).
    #[track_caller]
    pub fn det(&self) -> Result<Tensor> {
        let (batch, n) = self.square_batch("det")?;
        let shape = &self.shape()[..self.dim() - 2];
        let d = if n == 0 { vec![1.0; batch] } else { cpu::det(&self.f64_data()?, n) };
        let y = Tensor::from_vec(d, shape)?.to_dtype(self.dtype())?;
        Ok(y.record(&[self], || Op::Det))
    }

    /// `(sign, log|det|)` of each square matrix (`torch.linalg.slogdet`; from `det`, so very
    /// large or small determinants overflow to inf / underflow to -inf).
    #[track_caller]
    pub fn slogdet(&self) -> Result<(Tensor, Tensor)> {
        let d = self.det()?;
        Ok((d.detach().sign()?, at_caller(d.abs()?.log())?))
    }

    /// The lower Cholesky factor of each symmetric positive-definite matrix
    /// (`torch.linalg.cholesky`; `upper` returns its transpose).
    #[track_caller]
    pub fn cholesky(&self, upper: bool) -> Result<Tensor> {
        let (batch, n) = self.square_batch("cholesky")?;
        let l = cpu::cholesky(&self.f64_data()?, n).map_err(|f| {
            let which = if batch > 1 { format!("(Batch element {}): ", f.batch) } else { String::new() };
            Error::value("cholesky", format!("linalg.cholesky: {which}The factorization could not be completed because the input is not positive-definite (the leading minor of order {} is not positive-definite).", f.pivot))
        })?;
        let l = Tensor::from_vec(l, self.shape())?.to_dtype(self.dtype())?.record(&[self], || Op::Cholesky);
        if upper {
            at_caller(l.transpose(-2, -1))
        } else {
            Ok(l)
        }
    }
}
