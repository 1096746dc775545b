//! `matmul` with `torch.matmul` semantics: 1-D operands are promoted and squeezed back,
//! batch dims broadcast, and `[..., m, k] x [k, n]` folds the batch into one GEMM.

use super::arith::{broadcast_pair, read_two};
use super::Tensor;
use crate::backend::cpu::matmul as cpu;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::Op;

impl Tensor {
    /// The batched primitive: `[..., m, k] x [..., k, n]` with identical batch dims and dtype.
    #[track_caller]
    pub(crate) fn matmul_prim(&self, rhs: &Tensor) -> Result<Tensor> {
        let nd = self.dim();
        let mut shape = self.shape()[..nd - 2].to_vec();
        shape.extend_from_slice(&[self.shape()[nd - 2], rhs.shape()[nd - 1]]);
        crate::storage::checked_numel("matmul", &shape, self.dtype())?;
        let out = read_two(self, rhs, "matmul", |a, b| cpu::matmul(a, self.layout(), b, rhs.layout()))?;
        Ok(Tensor::from_storage(out, &shape).record(&[self, rhs], || Op::Matmul))
    }

    /// Matrix product with `torch.matmul` semantics (1-D, 2-D and batched with broadcast batch
    /// dims).
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let (da, db) = (self.dim(), rhs.dim());
        if da == 0 || db == 0 {
            return Err(Error::shape(
                "matmul",
                format!("both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"),
            ));
        }
        let k_a = self.shape()[da - 1];
        let k_b = rhs.shape()[if db == 1 { 0 } else { db - 2 }];
        if k_a != k_b {
            return Err(Error::shape(
                "matmul",
                format!("shapes {:?} and {:?} cannot be multiplied ({k_a} != {k_b})", self.shape(), rhs.shape()),
            ));
        }
        let dtype = DType::promote(self.dtype(), rhs.dtype());
        if dtype == DType::Bool {
            return Err(Error::dtype("matmul", "not supported for bool tensors"));
        }
        let a = self.to_dtype(dtype)?;
        let b = rhs.to_dtype(dtype)?;
        match (da, db) {
            (1, 1) => a.reshape_to(&[1, k_a])?.matmul_prim(&b.reshape_to(&[k_b, 1])?)?.reshape_to(&[]),
            (2, 1) => a.matmul_prim(&b.reshape_to(&[k_b, 1])?)?.reshape_to(&[self.shape()[0]]),
            (1, 2) => a.reshape_to(&[1, k_a])?.matmul_prim(&b)?.reshape_to(&[rhs.shape()[1]]),
            (2, 2) => a.matmul_prim(&b),
            (_, 2) => {
                // [..., m, k] x [k, n]: one GEMM of [(...) m, k] x [k, n].
                let mut out_shape = self.shape()[..da - 1].to_vec();
                out_shape.push(rhs.shape()[1]);
                a.reshape_to(&[self.shape()[..da - 1].iter().product(), k_a])?.matmul_prim(&b)?.reshape_to(&out_shape)
            }
            _ => {
                let a2 = if da == 1 { a.reshape_to(&[1, k_a])? } else { a };
                let b2 = if db == 1 { b.reshape_to(&[k_b, 1])? } else { b };
                let (na, nb) = (a2.dim(), b2.dim());
                let batch = broadcast_pair("matmul", &a2.shape()[..na - 2], &b2.shape()[..nb - 2])?;
                let (m, n) = (a2.shape()[na - 2], b2.shape()[nb - 1]);
                let mut sa = batch.clone();
                sa.extend_from_slice(&[m, k_a]);
                let mut sb = batch.clone();
                sb.extend_from_slice(&[k_b, n]);
                let out = a2.expand_to(&sa)?.matmul_prim(&b2.expand_to(&sb)?)?;
                let mut shape = batch;
                if da > 1 {
                    shape.push(m);
                }
                if db > 1 {
                    shape.push(n);
                }
                out.reshape_to(&shape)
            }
        }
    }

    /// `self Wᵀ + b` over the last dim (`torch.nn.functional.linear`): `self [.., K]`, `weight
    /// [N, K]`, `bias [N]` give `[.., N]`. For float inputs of one dtype the bias is folded into
    /// the product (each output row starts as the bias and the GEMM accumulates onto it, as
    /// PyTorch's `addmm`) and recorded as one op; otherwise `matmul` then `add`, with their
    /// promotions and errors.
    #[track_caller]
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let dt = self.dtype();
        let fused = |b: &Tensor| {
            matches!(dt, DType::F32 | DType::F64)
                && weight.dtype() == dt
                && b.dtype() == dt
                && self.dim() >= 1
                && weight.dim() == 2
                && b.dim() == 1
                && self.shape()[self.dim() - 1] == weight.shape()[1]
                && b.shape()[0] == weight.shape()[0]
        };
        let b = match bias {
            Some(b) if fused(b) => b,
            Some(b) => return self.matmul(&weight.t()?)?.add(b),
            None => return self.matmul(&weight.t()?),
        };
        let (n, k) = (weight.shape()[0], weight.shape()[1]);
        let m: usize = self.shape()[..self.dim() - 1].iter().product();
        let mut shape = self.shape().to_vec();
        shape[self.dim() - 1] = n;
        crate::storage::checked_numel("linear", &shape, dt)?;
        let x2 = self.detach().reshape_to(&[m, k])?;
        let wt = weight.detach().t()?;
        // A bias sharing storage with an operand is copied first: one read lock per storage.
        let b2 = if b.shares_storage(self) || b.shares_storage(weight) { b.detach().deep_clone()? } else { b.detach() };
        let out = read_two(&x2, &wt, "linear", |xs, ws| -> Result<_> {
            let bs = b2.cpu_read("linear")?;
            Ok(cpu::matmul_bias(xs, x2.layout(), ws, wt.layout(), &bs, b2.layout()))
        })??;
        let Some(out) = out else { return self.matmul(&weight.t()?)?.add(b) };
        Ok(Tensor::from_storage(out, &shape).record(&[self, weight, b], || Op::Linear))
    }

    /// 2-D matrix product (`torch.mm`).
    #[track_caller]
    pub fn mm(&self, rhs: &Tensor) -> Result<Tensor> {
        if self.dim() != 2 || rhs.dim() != 2 {
            return Err(Error::shape(
                "mm",
                format!("expected 2-D tensors, got shapes {:?} and {:?}", self.shape(), rhs.shape()),
            ));
        }
        self.matmul(rhs)
    }
}
