//! `torch.linalg` decompositions on `faer` (`backend/cpu/linalg.rs`): `inv`, `solve`, `det`,
//! `slogdet`, `cholesky`, `solve_triangular`, batched over leading dims, each a primitive of
//! the op table with PyTorch's backward formula. f64 tensors are factorised in f64, the others
//! in f32 (PyTorch's CPU path: f32 LAPACK for f32, half types upcast) and returned in their
//! dtype. A singular (or, for Cholesky, non-positive-definite) matrix is an error naming it.

use super::Tensor;
use crate::backend::cpu::linalg::{self as cpu, Real};
use crate::dtype::{DType, Element};
use crate::error::{at_caller, Error, Result};
use crate::op::Op;

/// Runs `$body` with `$t` the type faer computes in for tensors of `$dtype`: f64 for f64,
/// f32 for every other float dtype.
macro_rules! with_real {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::F64 => {
                type $t = f64;
                $body
            }
            _ => {
                type $t = f32;
                $body
            }
        }
    };
}
pub(super) use with_real;

/// `$e`'s value, or a return of the error `$err` built from its failure `$f`. Not a
/// `map_err` closure: closures do not pass `#[track_caller]` through, and the error must
/// name the caller's line.
macro_rules! or_fail {
    ($e:expr, $f:ident => $err:expr) => {
        match $e {
            Ok(v) => v,
            Err($f) => return Err($err),
        }
    };
}
pub(super) use or_fail;

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

    /// The values as a contiguous vector of `T` (the input of a factorisation).
    pub(super) fn real_data<T: Real>(&self) -> Result<Vec<T>> {
        self.detach().contiguous()?.to_dtype(T::DTYPE)?.to_vec::<T>()
    }

    #[track_caller]
    fn singular(op: &'static str, f: cpu::Failed, batched: bool) -> Error {
        let which = if batched { format!("(Batch element {}): ", f.batch) } else { String::new() };
        Error::value(op, format!("linalg.{op}: {which}The diagonal element {} is zero, the inversion could not be completed because the input matrix is singular.", f.pivot))
    }

    #[track_caller]
    fn not_positive_definite(f: cpu::Failed, batched: bool) -> Error {
        let which = if batched { format!("(Batch element {}): ", f.batch) } else { String::new() };
        Error::value("cholesky", format!("linalg.cholesky: {which}The factorization could not be completed because the input is not positive-definite (the leading minor of order {} is not positive-definite).", f.pivot))
    }

    /// The inverse of each square matrix (`torch.linalg.inv`).
    #[track_caller]
    pub fn inv(&self) -> Result<Tensor> {
        let (batch, n) = self.square_batch("inv")?;
        let y = with_real!(self.dtype(), T => {
            let out = or_fail!(cpu::inv(&self.real_data::<T>()?, n), f => Tensor::singular("inv", f, batch > 1));
            Tensor::from_vec(out, self.shape())?.to_dtype(self.dtype())?
        });
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
        let x = with_real!(dtype, T => {
            let x = or_fail!(cpu::solve(&a.real_data::<T>()?, &b2.real_data::<T>()?, n, k), f => Tensor::singular("solve", f, nb > 1));
            Tensor::from_vec(x, b2.shape())?.to_dtype(dtype)?
        });
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
        let y = with_real!(self.dtype(), T => {
            let d = if n == 0 { vec![T::from_f64(1.0); batch] } else { cpu::det(&self.real_data::<T>()?, n) };
            Tensor::from_vec(d, shape)?.to_dtype(self.dtype())?
        });
        Ok(y.record(&[self], || Op::Det))
    }

    /// `(sign, log|det|)` of each square matrix (`torch.linalg.slogdet`), from the LU factors:
    /// determinants far beyond the dtype's range keep a finite logarithm.
    #[track_caller]
    pub fn slogdet(&self) -> Result<(Tensor, Tensor)> {
        let (batch, n) = self.square_batch("slogdet")?;
        let shape = &self.shape()[..self.dim() - 2];
        let (sign, log) = with_real!(self.dtype(), T => {
            let (s, l) = if n == 0 {
                (vec![T::from_f64(1.0); batch], vec![T::from_f64(0.0); batch])
            } else {
                cpu::slogdet(&self.real_data::<T>()?, n)
            };
            (Tensor::from_vec(s, shape)?.to_dtype(self.dtype())?, Tensor::from_vec(l, shape)?.to_dtype(self.dtype())?)
        });
        Ok((sign, log.record(&[self], || Op::LogAbsDet)))
    }

    /// The lower Cholesky factor of each symmetric positive-definite matrix
    /// (`torch.linalg.cholesky`; `upper` returns its transpose).
    #[track_caller]
    pub fn cholesky(&self, upper: bool) -> Result<Tensor> {
        let (batch, n) = self.square_batch("cholesky")?;
        let l = with_real!(self.dtype(), T => {
            let l = or_fail!(cpu::cholesky(&self.real_data::<T>()?, n), f => Tensor::not_positive_definite(f, batch > 1));
            Tensor::from_vec(l, self.shape())?.to_dtype(self.dtype())?
        });
        let l = l.record(&[self], || Op::Cholesky);
        if upper {
            at_caller(l.transpose(-2, -1))
        } else {
            Ok(l)
        }
    }

    /// `(L, info)` (`torch.linalg.cholesky_ex`): as [`Tensor::cholesky`], but a matrix that is
    /// not positive-definite is not an error: `info` holds the order of its first
    /// non-positive-definite leading minor (`0` where the factorisation succeeded), and its
    /// factor is left as zeros (PyTorch leaves LAPACK's partial factor, which is not defined).
    #[track_caller]
    pub fn cholesky_ex(&self, upper: bool) -> Result<(Tensor, Tensor)> {
        let (batch, n) = self.square_batch("cholesky")?;
        let shape = &self.shape()[..self.dim() - 2];
        if let Ok(l) = self.cholesky(upper) {
            return Ok((l, Tensor::zeros(shape, DType::I32)?));
        }
        let (l, info) = with_real!(self.dtype(), T => {
            let data = self.real_data::<T>()?;
            let (mut l, mut info) = (vec![T::default(); data.len()], vec![0i32; batch]);
            for (b, (m, o)) in data.chunks(n * n).zip(l.chunks_mut(n * n)).enumerate() {
                match cpu::cholesky(m, n) {
                    Ok(f) => o.copy_from_slice(&f),
                    Err(f) => info[b] = f.pivot as i32,
                }
            }
            (Tensor::from_vec(l, self.shape())?.to_dtype(self.dtype())?, info)
        });
        let l = if upper { l.transpose(-2, -1)? } else { l };
        Ok((l, Tensor::from_vec(info, shape)?))
    }
}

impl Tensor {
    /// `X` with `A X = B` (`left`) or `X A = B` for triangular `A` (`self`, `[.., n, n]`;
    /// `torch.linalg.solve_triangular`): only the `upper` (or lower) triangle is read, and with
    /// `unitriangular` the diagonal is taken as ones. Batch dims broadcast.
    #[track_caller]
    pub fn solve_triangular(&self, b: &Tensor, upper: bool, left: bool, unitriangular: bool) -> Result<Tensor> {
        if !left {
            // X A = B  <=>  A^T X^T = B^T, and A^T has the other triangle.
            let x = at_caller(self.transpose(-2, -1))?.solve_triangular(
                &b.transpose(-2, -1)?,
                !upper,
                true,
                unitriangular,
            )?;
            return at_caller(x.transpose(-2, -1));
        }
        let (_, n) = self.square_batch("solve_triangular")?;
        if b.dim() < 2 || b.shape()[b.dim() - 2] != n {
            return Err(Error::shape(
                "solve_triangular",
                format!(
                    "linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B ({:?} and {:?})",
                    self.shape(),
                    b.shape()
                ),
            ));
        }
        let dtype = DType::promote(self.dtype(), b.dtype());
        let k = b.shape()[b.dim() - 1];
        let batch = super::arith::broadcast_pair(
            "solve_triangular",
            &self.shape()[..self.dim() - 2],
            &b.shape()[..b.dim() - 2],
        )?;
        let a = at_caller(self.to_dtype(dtype)?.expand(&[batch.clone(), vec![n, n]].concat()[..]))?;
        let b = at_caller(b.to_dtype(dtype)?.expand(&[batch, vec![n, k]].concat()[..]))?;
        let x = with_real!(dtype, T => {
            let x = cpu::solve_triangular(&a.real_data::<T>()?, &b.real_data::<T>()?, n, k, upper, unitriangular);
            Tensor::from_vec(x, b.shape())?.to_dtype(dtype)?
        });
        Ok(x.record(&[&a, &b], || Op::SolveTriangular { upper, unit: unitriangular }))
    }
}
