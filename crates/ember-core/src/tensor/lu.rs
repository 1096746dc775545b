//! LU factorisation with partial pivoting (`torch.linalg.lu_factor`, `lu_factor_ex`, `lu`,
//! `lu_solve`, `torch.lu_unpack`) on `faer` (`backend/cpu/linalg.rs`).
//!
//! `A = P L U` for any `m x n` matrix: `L` is `m x k` unit lower triangular, `U` is `k x n`
//! upper triangular (`k = min(m, n)`), packed together into one `m x n` tensor as LAPACK
//! returns them, with LAPACK's 1-based row swaps (`pivots`, int32) describing `P`. The packed
//! factorisation is one primitive of the op table with PyTorch's `linalg_lu_backward`; `L`,
//! `U` and `lu_solve` are ordinary differentiable ops on the packed tensor (triangles of it,
//! triangular solves that read one triangle), so their gradients come by composition.

use super::decomp::with_real;
use super::Tensor;
use crate::backend::cpu::linalg as cpu;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};
use crate::op::Op;

impl Tensor {
    /// `(LU, pivots, info)` of each `m x n` matrix (`torch.linalg.lu_factor_ex`): `info` is
    /// the 1-based index of the first zero pivot of `U` (`0` where there is none); a singular
    /// matrix is not an error here. Only `pivot = true` exists on the CPU, as in PyTorch.
    #[track_caller]
    pub fn linalg_lu_factor_ex(&self, pivot: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let (batch, m, n) = self.matrix_batch("lu_factor")?;
        if !pivot {
            return Err(Error::value(
                "lu_factor",
                "linalg.lu_factor: LU without pivoting is not implemented on the CPU",
            ));
        }
        let k = m.min(n);
        let nb: usize = batch.iter().product();
        let (lu, pivots, info) = match nb * m * n {
            // Nothing to factorise: empty factors, no swaps, no zero pivots.
            0 => (self.detach().contiguous()?, vec![0i32; nb * k], vec![0i32; nb]),
            _ => with_real!(self.dtype(), T => {
                let f = cpu::lu_factor(&self.real_data::<T>()?, m, n);
                let lu: Vec<T> = f.iter().flat_map(|x| x.lu.iter().copied()).collect();
                let pivots: Vec<i32> = f.iter().flat_map(|x| x.pivots.iter().copied()).collect();
                let info: Vec<i32> = f.iter().map(|x| x.info).collect();
                (Tensor::from_vec(lu, self.shape())?.to_dtype(self.dtype())?, pivots, info)
            }),
        };
        let pivots = Tensor::from_vec(pivots, &[batch.clone(), vec![k]].concat())?;
        let info = Tensor::from_vec(info, &batch)?;
        // The pivots ride in the op; backward builds the permutation matrix from them.
        let lu = lu.record(&[self], || Op::LuFactor { m, n, pivots: pivots.clone() });
        Ok((lu, pivots, info))
    }

    /// `(LU, pivots)` (`torch.linalg.lu_factor`): as [`Tensor::linalg_lu_factor_ex`], but a
    /// zero pivot is an error naming it, since `lu_solve` would divide by it.
    #[track_caller]
    pub fn linalg_lu_factor(&self, pivot: bool) -> Result<(Tensor, Tensor)> {
        let (lu, pivots, info) = self.linalg_lu_factor_ex(pivot)?;
        let info = info.to_dtype(DType::I64)?.flatten(0, -1)?.to_vec::<i64>()?;
        if let Some((b, &i)) = info.iter().enumerate().find(|(_, &i)| i != 0) {
            let which = if info.len() > 1 && self.dim() > 2 { format!("(Batch element {b}): ") } else { String::new() };
            return Err(Error::value(
                "lu_factor",
                format!("torch.linalg.lu_factor: {which}U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"),
            ));
        }
        Ok((lu, pivots))
    }

    /// `(P, L, U)` with `A = P L U` (`torch.linalg.lu`); differentiable in `L` and `U`.
    #[track_caller]
    pub fn linalg_lu(&self, pivot: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let (lu, pivots, _) = self.linalg_lu_factor_ex(pivot)?;
        Tensor::lu_unpack(&lu, &pivots)
    }

    /// `(P, L, U)` from a packed factorisation and its pivots (`torch.lu_unpack`).
    #[track_caller]
    pub fn lu_unpack(lu: &Tensor, pivots: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        if lu.dim() < 2 {
            return Err(Error::shape(
                "lu_unpack",
                format!(
                    "torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: {:?} instead",
                    lu.shape()
                ),
            ));
        }
        let (m, n) = (lu.shape()[lu.dim() - 2], lu.shape()[lu.dim() - 1]);
        let k = m.min(n);
        let p = Tensor::lu_permutation_matrix(pivots, m, lu.dtype())?;
        let l = lu.narrow(-1, 0, k)?.tril(-1)?.add(&Tensor::eye_rect(m, k, lu.dtype())?)?;
        let u = lu.narrow(-2, 0, k)?.triu(0)?;
        Ok((p, l, u))
    }

    /// The `m x m` permutation matrix `P` of LAPACK row swaps (`[.., k]`, 1-based): the
    /// swaps applied in order to the rows of the identity give `P^T`.
    #[track_caller]
    pub(crate) fn lu_permutation_matrix(pivots: &Tensor, m: usize, dtype: DType) -> Result<Tensor> {
        if !pivots.dtype().is_int() || pivots.dim() < 1 {
            return Err(Error::dtype(
                "lu_unpack",
                "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.",
            ));
        }
        let k = pivots.shape()[pivots.dim() - 1];
        let batch = pivots.shape()[..pivots.dim() - 1].to_vec();
        let piv = pivots.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?;
        let nb: usize = batch.iter().product();
        let mut perm = Vec::with_capacity(nb * m);
        for b in 0..nb {
            let mut order: Vec<i64> = (0..m as i64).collect();
            for (i, &s) in piv[b * k..(b + 1) * k].iter().enumerate() {
                let j = s.checked_sub(1).and_then(|j| usize::try_from(j).ok()).filter(|&j| j < m && i < m);
                let j = j.ok_or_else(|| {
                    Error::value(
                        "lu_unpack",
                        format!("torch.lu_unpack: LU_pivots values must be between 1 and {m}, but got {s}"),
                    )
                })?;
                order.swap(i, j);
            }
            perm.extend(order);
        }
        // P[r, c] = 1 where row c of P^T A is row r of A: order[c] == r.
        let perm = Tensor::from_vec(perm, &[batch, vec![1, m]].concat())?;
        let rows = Tensor::arange(0.0, m as f64, 1.0, DType::I64)?.reshape([m, 1])?;
        perm.eq(&rows)?.to_dtype(dtype)
    }

    /// `X` with `A X = B` (or `X A = B` unless `left`; `A^T` for `adjoint`) from `A`'s packed
    /// factorisation (`torch.linalg.lu_solve`); batch dims broadcast, differentiable in `LU`
    /// and `B`.
    #[track_caller]
    pub fn lu_solve(lu: &Tensor, pivots: &Tensor, b: &Tensor, left: bool, adjoint: bool) -> Result<Tensor> {
        let nd = lu.dim();
        if nd < 2 || lu.shape()[nd - 1] != lu.shape()[nd - 2] {
            return Err(Error::shape(
                "lu_solve",
                format!("linalg.lu_solve: A must be batches of square matrices, but they are {:?}", lu.shape()),
            ));
        }
        let n = lu.shape()[nd - 1];
        let side = if left { b.dim().checked_sub(2) } else { b.dim().checked_sub(1) };
        if b.dim() < 2 || side.map(|d| b.shape()[d]) != Some(n) {
            let eq = if left { "AX = B" } else { "XA = B" };
            return Err(Error::shape(
                "lu_solve",
                format!(
                    "linalg.lu_solve: Incompatible shapes of A and B for the equation {eq} ({:?} and {:?})",
                    lu.shape(),
                    b.shape()
                ),
            ));
        }
        if pivots.dim() != nd - 1 || pivots.shape()[nd - 2] != n {
            return Err(Error::shape("lu_solve", "linalg.lu_solve: Expected LU.shape[:-1] == pivots.shape"));
        }
        let p = Tensor::lu_permutation_matrix(pivots, n, lu.dtype())?;
        let lut = lu.transpose_last()?;
        // A = P L U, L unit lower and U upper, both read straight from the packed LU.
        at_caller(match (left, adjoint) {
            // X = U^-1 L^-1 P^T B
            (true, false) => {
                let y = lu.solve_triangular(&p.transpose_last()?.matmul(b)?, false, true, true)?;
                lu.solve_triangular(&y, true, true, false)
            }
            // A^T X = B: X = P L^-T U^-T B
            (true, true) => {
                let y = lut.solve_triangular(b, false, true, false)?;
                p.matmul(&lut.solve_triangular(&y, true, true, true)?)
            }
            // X A = B: X = B U^-1 L^-1 P^T
            (false, false) => {
                let y = lu.solve_triangular(b, true, false, false)?;
                lu.solve_triangular(&y, false, false, true)?.matmul(&p.transpose_last()?)
            }
            // X A^T = B: X = B P L^-T U^-T
            (false, true) => {
                let y = lut.solve_triangular(&b.matmul(&p)?, true, false, true)?;
                lut.solve_triangular(&y, false, false, false)
            }
        })
    }

    /// The `m x k` identity (ones on the main diagonal).
    fn eye_rect(m: usize, k: usize, dtype: DType) -> Result<Tensor> {
        Tensor::eye(m.max(k), dtype)?.narrow(0, 0, m)?.narrow(1, 0, k)
    }

    /// PyTorch's `linalg_lu_backward` for the packed factors (`lu_factor_ex_backward`): the
    /// gradient of `A` from the gradient `g` of the packed `LU`, whose strict lower part of the
    /// first `k` columns is `L`'s and whose upper part of the first `k` rows is `U`'s.
    pub(crate) fn lu_factor_backward(lu: &Tensor, pivots: &Tensor, g: &Tensor, m: usize, n: usize) -> Result<Tensor> {
        let k = m.min(n);
        let p = Tensor::lu_permutation_matrix(pivots, m, lu.dtype())?;
        let (l, u) =
            (lu.narrow(-1, 0, k)?.tril(-1)?.add(&Tensor::eye_rect(m, k, lu.dtype())?)?, lu.narrow(-2, 0, k)?.triu(0)?);
        let (gl, gu) = (g.narrow(-1, 0, k)?.tril(-1)?, g.narrow(-2, 0, k)?.triu(0)?);
        let (lh, uh) = (l.transpose_last()?, u.transpose_last()?);
        let a = if m == n {
            // P L^-H [L^H gL o 1_L + gU U^H o 1_U] U^-H
            let phi = lh.matmul(&gl)?.tril(-1)?.add(&gu.matmul(&uh)?.triu(0)?)?;
            let x = uh.solve_triangular(&phi, false, false, false)?;
            lh.solve_triangular(&x, true, true, true)?
        } else if m < n {
            // Wide: [A1 | A2] = P L^-H [gU1 + (L^H gL o 1_L - gU U^H o 1_U) U1^-H | gU2]
            let u1h = u.narrow(-1, 0, k)?.transpose_last()?;
            let phi = lh.matmul(&gl)?.sub(&gu.matmul(&uh)?)?.tril(-1)?;
            let x = u1h.solve_triangular(&phi, false, false, false)?;
            let x = Tensor::cat(&[&x.add(&gu.narrow(-1, 0, k)?)?, &gu.narrow(-1, k, n - k)?], -1)?;
            lh.solve_triangular(&x, true, true, true)?
        } else {
            // Tall: [A1; A2] = P [gL1 + L1^-H (gU U^H o 1_U - L^H gL o 1_L); gL2] U^-H
            let l1h = l.narrow(-2, 0, k)?.transpose_last()?;
            let phi = gu.matmul(&uh)?.sub(&lh.matmul(&gl)?)?.triu(0)?;
            let x = l1h.solve_triangular(&phi, true, true, true)?;
            let x = Tensor::cat(&[&x.add(&gl.narrow(-2, 0, k)?)?, &gl.narrow(-2, k, m - k)?], -2)?;
            uh.solve_triangular(&x, false, false, false)?
        };
        p.matmul(&a)
    }
}
