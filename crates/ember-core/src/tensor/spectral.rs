//! `torch.linalg`'s orthogonal decompositions on `faer` (`backend/cpu/spectral.rs`): `qr`,
//! `svd`, `svdvals`, `eigh`, `eigvalsh`, and what is built from them: `lstsq`, `pinv`,
//! `matrix_rank` and the spectral matrix norms.
//!
//! A decomposition has several outputs but is one autograd node: the factors are computed
//! packed into one tensor (`[.., |Q| + |R|]`) that is recorded once, and the user gets views of
//! it. Backward then sees all the factors' gradients at once (zeros where a factor was not
//! used), as PyTorch's multi-output nodes do, and the saved factors stay in the graph, so
//! double backward works.

use super::decomp::{or_fail, with_real};
use super::Tensor;
use crate::backend::cpu::spectral as cpu;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};
use crate::op::Op;

/// Splits a packed `[.., total]` tensor into factors of the given matrix (or vector) shapes.
fn unpack(p: &Tensor, parts: &[&[usize]]) -> Result<Vec<Tensor>> {
    let batch = &p.shape()[..p.dim() - 1];
    let mut off = 0;
    parts
        .iter()
        .map(|shape| {
            let len: usize = shape.iter().product();
            let t = p.narrow(-1, off, len)?.reshape([batch, *shape].concat())?;
            off += len;
            Ok(t)
        })
        .collect()
}

/// Whether a factor's incoming gradient is all zeros (the factor was not used), which
/// PyTorch's formulas see as an undefined gradient: skipping its terms avoids `0 / 0` where
/// the formula divides by singular values.
fn unused(g: &Tensor) -> Result<bool> {
    Ok(g.numel() == 0 || g.detach().abs()?.max()?.to_dtype(DType::F64)?.item::<f64>()? == 0.0)
}

impl Tensor {
    /// `(batch shape, m, n)` of a batch of matrices of a float dtype.
    #[track_caller]
    pub(super) fn matrix_batch(&self, op: &'static str) -> Result<(Vec<usize>, usize, usize)> {
        let nd = self.dim();
        if nd < 2 {
            return Err(Error::shape(op, format!("linalg.{op}: The input tensor A must have at least 2 dimensions.")));
        }
        if !self.dtype().is_float() {
            return Err(Error::dtype(
                op,
                format!("linalg.{op}: Expected a floating point tensor as input. Got {}", self.dtype()),
            ));
        }
        Ok((self.shape()[..nd - 2].to_vec(), self.shape()[nd - 2], self.shape()[nd - 1]))
    }

    #[track_caller]
    fn no_convergence(op: &'static str, f: cpu::NoConvergence, batched: bool) -> Error {
        let which = if batched { format!("(Batch element {}): ", f.batch) } else { String::new() };
        let why = match (f.non_finite, op) {
            (true, _) => "the input matrix contained non-finite values",
            (false, "svd") => "the input matrix is ill-conditioned or has too many repeated singular values",
            _ => "the input matrix is ill-conditioned or has too many repeated eigenvalues",
        };
        Error::value(op, format!("linalg.{op}: {which}The algorithm failed to converge because {why}."))
    }

    /// `(Q, R)` with `A = Q R` (`torch.linalg.qr`). `mode`: `"reduced"` (Q `[m, k]`, R `[k, n]`,
    /// `k = min(m, n)`), `"complete"` (Q `[m, m]`, R `[m, n]`) or `"r"` (Q empty, R only).
    #[track_caller]
    pub fn linalg_qr(&self, mode: &str) -> Result<(Tensor, Tensor)> {
        let (batch, m, n) = self.matrix_batch("qr")?;
        let complete = match mode {
            "reduced" | "r" => false,
            "complete" => true,
            _ => {
                return Err(Error::value(
                    "qr",
                    format!("qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'"),
                ))
            }
        };
        let q = if complete { m } else { m.min(n) };
        let nb: usize = batch.iter().product();
        let p = {
            with_real!(self.dtype(), T => {
                let out = cpu::qr(&self.real_data::<T>()?, nb, m, n, complete);
                Tensor::from_vec(out, &[batch.clone(), vec![m * q + q * n]].concat())?.to_dtype(self.dtype())
            })
        }?;
        let p = p.record(&[self], || Op::Qr { m, n, complete });
        let f = unpack(&p, &[&[m, q], &[q, n]])?;
        let (qm, r) = (f[0].clone(), f[1].clone());
        if mode == "r" {
            return Ok((Tensor::zeros(&[0], self.dtype())?, r.detach()));
        }
        Ok((qm, r))
    }

    /// `(U, S, Vh)` with `A = U diag(S) Vh` (`torch.linalg.svd`), singular values descending;
    /// `full_matrices` makes U `[m, m]` and Vh `[n, n]` instead of `[m, k]` and `[k, n]`.
    #[track_caller]
    pub fn linalg_svd(&self, full_matrices: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let (batch, m, n) = self.matrix_batch("svd")?;
        let k = m.min(n);
        let (pu, pv) = if full_matrices { (m, n) } else { (k, k) };
        let nb: usize = batch.iter().product();
        let p = {
            with_real!(self.dtype(), T => {
                let out = or_fail!(cpu::svd(&self.real_data::<T>()?, nb, m, n, full_matrices, true), f => Tensor::no_convergence("svd", f, nb > 1));
                Tensor::from_vec(out, &[batch.clone(), vec![m * pu + k + pv * n]].concat())?.to_dtype(self.dtype())
            })
        }?;
        let p = p.record(&[self], || Op::Svd { m, n, full: full_matrices });
        let f = unpack(&p, &[&[m, pu], &[k], &[pv, n]])?;
        Ok((f[0].clone(), f[1].clone(), f[2].clone()))
    }

    /// The singular values, descending (`torch.linalg.svdvals`); differentiable (through the
    /// full SVD when a gradient is needed, as PyTorch).
    #[track_caller]
    pub fn svdvals(&self) -> Result<Tensor> {
        if self.requires_grad() && crate::autograd::is_grad_enabled() {
            return Ok(self.linalg_svd(false)?.1);
        }
        let (batch, m, n) = self.matrix_batch("svdvals")?;
        let nb: usize = batch.iter().product();
        with_real!(self.dtype(), T => {
            let s = or_fail!(cpu::svd(&self.real_data::<T>()?, nb, m, n, false, false), f => Tensor::no_convergence("svd", f, nb > 1));
            Tensor::from_vec(s, &[batch, vec![m.min(n)]].concat())?.to_dtype(self.dtype())
        })
    }

    /// `(L, V)` with `A = V diag(L) V^T` for symmetric `A` (`torch.linalg.eigh`): eigenvalues
    /// ascending, eigenvectors as columns; `uplo` `"L"` (default) or `"U"` names the triangle
    /// read.
    #[track_caller]
    pub fn linalg_eigh(&self, uplo: &str) -> Result<(Tensor, Tensor)> {
        let (batch, n, lower) = self.symmetric_batch("eigh", uplo)?;
        let nb: usize = batch.iter().product();
        let p = {
            with_real!(self.dtype(), T => {
                let out = or_fail!(cpu::eigh(&self.real_data::<T>()?, nb, n, lower, true), f => Tensor::no_convergence("eigh", f, nb > 1));
                Tensor::from_vec(out, &[batch.clone(), vec![n + n * n]].concat())?.to_dtype(self.dtype())
            })
        }?;
        let p = p.record(&[self], || Op::Eigh { n });
        let f = unpack(&p, &[&[n], &[n, n]])?;
        Ok((f[0].clone(), f[1].clone()))
    }

    /// The eigenvalues of a symmetric matrix, ascending (`torch.linalg.eigvalsh`).
    #[track_caller]
    pub fn eigvalsh(&self, uplo: &str) -> Result<Tensor> {
        if self.requires_grad() && crate::autograd::is_grad_enabled() {
            return Ok(self.linalg_eigh(uplo)?.0);
        }
        let (batch, n, lower) = self.symmetric_batch("eigvalsh", uplo)?;
        let nb: usize = batch.iter().product();
        with_real!(self.dtype(), T => {
            let l = or_fail!(cpu::eigh(&self.real_data::<T>()?, nb, n, lower, false), f => Tensor::no_convergence("eigh", f, nb > 1));
            Tensor::from_vec(l, &[batch, vec![n]].concat())?.to_dtype(self.dtype())
        })
    }

    #[track_caller]
    fn symmetric_batch(&self, op: &'static str, uplo: &str) -> Result<(Vec<usize>, usize, bool)> {
        let lower = match uplo {
            "L" | "l" => true,
            "U" | "u" => false,
            _ => return Err(Error::value(op, format!("Expected UPLO argument to be 'L' or 'U', but got {uplo}"))),
        };
        let (batch, m, n) = self.matrix_batch(op)?;
        if m != n {
            return Err(Error::shape(
                op,
                format!("linalg.{op}: A must be batches of square matrices, but they are {m} by {n} matrices"),
            ));
        }
        Ok((batch, n, lower))
    }

    /// The least-squares solution of `A X = B` (`torch.linalg.lstsq(A, B).solution`): for a
    /// full-rank tall or square A, `R^-1 Q^T B` from the QR of A; for a wide A, the
    /// minimum-norm solution `Q R^-T B` from the QR of `A^T`. Differentiable (through `qr`
    /// and `solve_triangular`).
    #[track_caller]
    pub fn lstsq(&self, b: &Tensor) -> Result<Tensor> {
        let (_, m, n) = self.matrix_batch("lstsq")?;
        let vector = b.dim() + 1 == self.dim();
        let b2 = if vector { at_caller(b.unsqueeze(-1))? } else { b.clone() };
        if b2.dim() < 2 || b2.shape()[b2.dim() - 2] != m {
            return Err(Error::shape(
                "lstsq",
                format!(
                    "torch.linalg.lstsq: input.size(-2) should match other.size(-2) ({:?} and {:?})",
                    self.shape(),
                    b.shape()
                ),
            ));
        }
        let dtype = DType::promote(self.dtype(), b.dtype());
        let (a, b2) = (self.to_dtype(dtype)?, b2.to_dtype(dtype)?);
        let x = if m >= n {
            let (q, r) = a.linalg_qr("reduced")?;
            r.solve_triangular(&q.transpose(-2, -1)?.matmul(&b2)?, true, true, false)?
        } else {
            let (q, r) = a.transpose(-2, -1)?.linalg_qr("reduced")?;
            q.matmul(&r.transpose(-2, -1)?.solve_triangular(&b2, false, true, false)?)?
        };
        if vector {
            at_caller(x.squeeze_dim(-1))
        } else {
            Ok(x)
        }
    }

    /// The default tolerance below which singular values count as zero:
    /// `max(atol, rtol * max(S))`, with `rtol = eps * max(m, n)` when neither is given.
    fn rank_tolerance(&self, s: &Tensor, atol: Option<f64>, rtol: Option<f64>) -> Result<Tensor> {
        let (m, n) = (self.shape()[self.dim() - 2], self.shape()[self.dim() - 1]);
        let eps = match self.dtype() {
            DType::F64 => f64::EPSILON,
            _ => f32::EPSILON as f64,
        };
        let rtol = match (atol, rtol) {
            (_, Some(r)) => r,
            (Some(a), None) if a > 0.0 => 0.0,
            _ => eps * m.max(n) as f64,
        };
        let smax = if s.shape()[s.dim() - 1] == 0 {
            Tensor::zeros(&[&s.shape()[..s.dim() - 1], &[1][..]].concat(), s.dtype())?
        } else {
            s.narrow(-1, 0, 1)?
        };
        smax.mul_scalar(rtol)?.clamp(Some(atol.unwrap_or(0.0)), None)
    }

    /// The pseudo-inverse (`torch.linalg.pinv(A, atol=, rtol=, hermitian=False)`) from the SVD:
    /// singular values at or below the tolerance are dropped. Differentiable (through `svd`).
    #[track_caller]
    pub fn pinv(&self, atol: Option<f64>, rtol: Option<f64>) -> Result<Tensor> {
        self.matrix_batch("pinv")?;
        let (u, s, vh) = self.linalg_svd(false)?;
        let tol = self.rank_tolerance(&s.detach(), atol, rtol)?;
        let keep = s.detach().gt(&tol)?;
        // 1/S where kept, 0 elsewhere (the reciprocal of a dropped value is never formed).
        let safe = Tensor::where_(&keep, &s, &Tensor::ones_like(&s)?)?;
        let sinv = Tensor::where_(&keep, &safe.reciprocal()?, &Tensor::zeros_like(&s)?)?;
        at_caller(vh.transpose(-2, -1)?.mul(&sinv.unsqueeze(-2)?)?.matmul(&u.transpose(-2, -1)?))
    }

    /// The number of singular values above the tolerance (`torch.linalg.matrix_rank`), as i64.
    #[track_caller]
    pub fn matrix_rank(&self, atol: Option<f64>, rtol: Option<f64>) -> Result<Tensor> {
        self.matrix_batch("matrix_rank")?;
        let s = self.detach().svdvals()?;
        let tol = self.rank_tolerance(&s, atol, rtol)?;
        at_caller(s.gt(&tol)?.to_dtype(DType::I64)?.sum_dim(-1, false))
    }
}

impl Tensor {
    /// The gradient of `A` from the packed gradient of `[Q | R]` (PyTorch's
    /// `linalg_qr_backward`; real case).
    pub(crate) fn qr_backward(p: &Tensor, g: &Tensor, m: usize, n: usize, complete: bool) -> Result<Tensor> {
        let q = if complete { m } else { m.min(n) };
        if complete && m > n {
            return Err(Error::autograd(
                "backward",
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols.",
            ));
        }
        let f = unpack(p, &[&[m, q], &[q, n]])?;
        let gf = unpack(g, &[&[m, q], &[q, n]])?;
        let (qm, r, gq, gr) = (&f[0], &f[1], &gf[0], &gf[1]);
        let mt = |t: &Tensor| t.transpose(-2, -1);
        // gA = gR R^T - Q^T gQ, the common start of both cases.
        let ga = gr.matmul(&mt(r)?)?.sub(&mt(qm)?.matmul(gq)?)?;
        if m >= n {
            // Q syminvadj(triu(gA)) + gQ, times R^-T: X + X^T with the diagonal halved.
            let x = ga.triu(0)?;
            let sym = x.add(&mt(&x)?)?;
            let half = Tensor::eye(q, sym.dtype())?.mul_scalar(-0.5)?.add_scalar(1.0)?;
            let ga = qm.matmul(&sym.mul(&half)?)?.add(gq)?;
            mt(r)?.solve_triangular(&ga, false, false, false)
        } else {
            // Q tril(Y - Y^T) with Y = -gA, times R1^-T, padded with zeros; plus Q gR.
            let y = ga.neg()?;
            let ga = qm.matmul(&y.sub(&mt(&y)?)?.tril(0)?)?;
            let r1 = r.narrow(-1, 0, m)?;
            let ga = mt(&r1)?.solve_triangular(&ga, false, false, false)?;
            let pad = Tensor::zeros(&[&ga.shape()[..ga.dim() - 1], &[n - m][..]].concat(), ga.dtype())?;
            Tensor::cat(&[&ga, &pad], -1)?.add(&qm.matmul(gr)?)
        }
    }

    /// The gradient of `A` from the packed gradient of `[U | S | Vh]` (PyTorch's
    /// `svd_backward`, real case; full matrices are narrowed to their first `k` vectors).
    pub(crate) fn svd_backward(p: &Tensor, g: &Tensor, m: usize, n: usize, full: bool) -> Result<Tensor> {
        let k = m.min(n);
        let (pu, pv) = if full { (m, n) } else { (k, k) };
        let f = unpack(p, &[&[m, pu], &[k], &[pv, n]])?;
        let gf = unpack(g, &[&[m, pu], &[k], &[pv, n]])?;
        let (u, s, vh) = (f[0].narrow(-1, 0, k)?, &f[1], f[2].narrow(-2, 0, k)?);
        let (gu, gs, gvh) = (gf[0].narrow(-1, 0, k)?, &gf[1], gf[2].narrow(-2, 0, k)?);
        let mt = |t: &Tensor| t.transpose(-2, -1);
        let (use_u, use_v) = (!unused(&gu)?, !unused(&gvh)?);
        if !use_u && !use_v {
            // Only S was used: gA = U diag(gS) Vh.
            return u.mul(&gs.unsqueeze(-2)?)?.matmul(&vh);
        }
        let s2 = s.mul(s)?;
        // E_jk = S_k^2 - S_j^2 off the diagonal, 1 on it (its entries divide zeros there).
        let e = s2.unsqueeze(-2)?.sub(&s2.unsqueeze(-1)?)?.add(&Tensor::eye(k, s.dtype())?)?;
        let skew = |t: Tensor| -> Result<Tensor> { t.sub(&mt(&t)?) };
        let mut inner: Option<Tensor> = None;
        if use_u {
            let uhgu = skew(mt(&u)?.matmul(&gu)?)?;
            inner = Some(uhgu.mul(&s.unsqueeze(-2)?)?);
        }
        if use_v {
            let vhgv = skew(vh.matmul(&mt(&gvh)?)?)?;
            let t = s.unsqueeze(-1)?.mul(&vhgv)?;
            inner = Some(match inner {
                Some(i) => i.add(&t)?,
                None => t,
            });
        }
        let ret = inner.expect("one factor is used").div(&e)?.add(&gs.diag_embed(0, -2, -1)?)?;
        if m > n && use_u {
            // [U ret + (I - U U^T) gU S^-1] Vh
            let gusinv = gu.div(&s.unsqueeze(-2)?)?;
            let ga = u.matmul(&ret)?.add(&gusinv)?.sub(&u.matmul(&mt(&u)?.matmul(&gusinv)?)?)?;
            ga.matmul(&vh)
        } else if m < n && use_v {
            // U [ret Vh + S^-1 gVh (I - V Vh)]
            let sinvgvh = gvh.div(&s.unsqueeze(-1)?)?;
            let ga = ret.matmul(&vh)?.add(&sinvgvh)?.sub(&sinvgvh.matmul(&mt(&vh)?)?.matmul(&vh)?)?;
            u.matmul(&ga)
        } else {
            u.matmul(&ret)?.matmul(&vh)
        }
    }

    /// The gradient of `A` from the packed gradient of `[L | V]` (PyTorch's
    /// `linalg_eig_backward` for Hermitian input, real case).
    pub(crate) fn eigh_backward(p: &Tensor, g: &Tensor, n: usize) -> Result<Tensor> {
        let f = unpack(p, &[&[n], &[n, n]])?;
        let gf = unpack(g, &[&[n], &[n, n]])?;
        let (l, v, gl, gv) = (&f[0], &f[1], &gf[0], &gf[1]);
        let vt = v.transpose(-2, -1)?;
        if unused(gv)? {
            return v.mul(&gl.unsqueeze(-2)?)?.matmul(&vt);
        }
        // V (skew(V^T gV) / 2 / E + diag(gL)) V^T, E_ij = L_j - L_i (1 on the diagonal).
        let vhgv = vt.matmul(gv)?;
        let vhgv = vhgv.sub(&vhgv.transpose(-2, -1)?)?.mul_scalar(0.5)?;
        let e = l.unsqueeze(-2)?.sub(&l.unsqueeze(-1)?)?.add(&Tensor::eye(n, l.dtype())?)?;
        let inner = vhgv.div(&e)?.add(&gl.diag_embed(0, -2, -1)?)?;
        v.matmul(&inner)?.matmul(&vt)
    }
}
