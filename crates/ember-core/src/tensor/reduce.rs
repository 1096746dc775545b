//! Reductions: sums, means, extrema (with indices), products, variance, logsumexp, softmax and
//! cumulative sums, over all elements or one dim, with PyTorch's `keepdim` and dtype rules
//! (integer sums give i64; mean/var/softmax need floats).

use super::Tensor;
use crate::backend::cpu::reduce as cpu;
use crate::backend::ReduceOp;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::storage::{Buf, CpuStorage};

impl Tensor {
    /// Sum over `dims` (already normalised, any order), the primitive behind every sum.
    #[track_caller]
    pub(crate) fn sum_dims(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let mut sorted = dims.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        // Reducing an empty dim can give an output larger than the input ([0, n] -> [n]).
        let mut kept = self.shape().to_vec();
        sorted.iter().for_each(|&d| kept[d] = 1);
        crate::storage::checked_numel("sum", &kept, self.dtype())?;
        let guard = self.cpu_read("sum")?;
        let mut cur: Option<(CpuStorage, crate::layout::Layout)> = None;
        let mut shape = self.shape().to_vec();
        // Reduce from the last dim back so earlier dim indices stay valid.
        for &d in sorted.iter().rev() {
            let (s, l) = match &cur {
                Some((s, l)) => (s, l),
                None => (&*guard, self.layout()),
            };
            let (out, _) = cpu::reduce_dim(s, l, d, ReduceOp::Sum);
            shape[d] = 1;
            // The previous step's output is only an intermediate: back to the buffer pool (a
            // plain drop frees it to the OS, and the next call faults it in again; the
            // [128, 16, 2048] -> [2048] bias-gradient sums of a transformer block did each
            // step).
            if let Some((done, _)) = cur.replace((out, crate::layout::Layout::contiguous(&shape))) {
                crate::storage::pool::give(done);
            }
        }
        let out = match cur {
            Some((s, _)) => s,
            None => {
                let c = crate::backend::cpu::contiguous(&guard, self.layout());
                if self.dtype().is_float() {
                    c
                } else {
                    crate::backend::cpu::map::cast(&c, &crate::layout::Layout::contiguous(self.shape()), DType::I64)
                }
            }
        };
        drop(guard);
        let out_shape: Vec<usize> = if keepdim {
            shape
        } else {
            self.shape().iter().enumerate().filter(|(i, _)| !sorted.contains(i)).map(|(_, &d)| d).collect()
        };
        Ok(Tensor::from_storage(out, &out_shape).record(&[self], || Op::Sum { dims: sorted, keepdim }))
    }

    /// Sum of all elements (a 0-d tensor; integer inputs give i64).
    #[track_caller]
    pub fn sum(&self) -> Result<Tensor> {
        let all: Vec<usize> = (0..self.dim()).collect();
        self.sum_dims(&all, false)
    }

    /// Sum over `dim`.
    #[track_caller]
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let d = self.norm_dim(dim, "sum_dim")?;
        if self.dim() == 0 {
            return self.sum_dims(&[], keepdim);
        }
        self.sum_dims(&[d], keepdim)
    }

    /// Sum over several dims.
    #[track_caller]
    pub fn sum_dims_keep(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let ds: Vec<usize> =
            crate::error::at_caller(dims.iter().map(|&d| self.norm_dim(d, "sum")).collect::<Result<_>>())?;
        // A 0-d tensor accepts dim 0 / -1 but has no dim to reduce.
        self.sum_dims(if self.dim() == 0 { &[] } else { &ds }, keepdim)
    }

    #[track_caller]
    pub(crate) fn require_float(&self, op: &'static str) -> Result<()> {
        if !self.dtype().is_float() {
            return Err(Error::dtype(
                op,
                format!("could not infer output dtype; input dtype must be floating point, got {}", self.dtype()),
            ));
        }
        Ok(())
    }

    /// Mean of all elements.
    #[track_caller]
    pub fn mean(&self) -> Result<Tensor> {
        self.require_float("mean")?;
        self.sum()?.mul_scalar(1.0 / self.numel() as f64)
    }

    /// Mean over `dim`.
    #[track_caller]
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.require_float("mean_dim")?;
        let n = if self.dim() == 0 { 1 } else { self.shape()[self.norm_dim(dim, "mean_dim")?] };
        self.sum_dim(dim, keepdim)?.mul_scalar(1.0 / n as f64)
    }

    #[track_caller]
    fn select_dim(&self, dim: isize, keepdim: bool, op: ReduceOp, name: &'static str) -> Result<(Tensor, Tensor)> {
        let d = self.norm_dim(dim, name)?;
        if self.dim() == 0 {
            let flat = self.reshape_to(&[1])?;
            let (v, i) = flat.select_dim(0, false, op, name)?;
            return Ok(if keepdim { (v.reshape_to(&[])?, i.reshape_to(&[])?) } else { (v, i) });
        }
        if self.shape()[d] == 0 {
            return Err(Error::index(
                name,
                format!(
                    "cannot reduce over dim {dim} of size 0 (shape {:?}): the operation has no identity",
                    self.shape()
                ),
            ));
        }
        let (vals, idx) = cpu::reduce_dim(&*self.cpu_read(name)?, self.layout(), d, op);
        let mut shape = self.shape().to_vec();
        if keepdim {
            shape[d] = 1;
        } else {
            shape.remove(d);
        }
        let indices = Tensor::from_storage(CpuStorage::I64(Buf::owned(idx.unwrap_or_default())), &shape);
        let ic = indices.clone();
        let values =
            Tensor::from_storage(vals, &shape).record(&[self], || Op::SelectDim { dim: d, keepdim, indices: ic });
        Ok((values, indices))
    }

    /// Largest values over `dim` and their indices (first occurrence on ties; NaN wins).
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.select_dim(dim, keepdim, ReduceOp::Max, "max_dim")
    }

    /// Smallest values over `dim` and their indices.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.select_dim(dim, keepdim, ReduceOp::Min, "min_dim")
    }

    /// Index of the largest value over `dim` (i64).
    #[track_caller]
    pub fn argmax(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.detach().select_dim(dim, keepdim, ReduceOp::Max, "argmax")?.1)
    }

    /// Index of the smallest value over `dim` (i64).
    #[track_caller]
    pub fn argmin(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.detach().select_dim(dim, keepdim, ReduceOp::Min, "argmin")?.1)
    }

    #[track_caller]
    fn extreme(&self, op: ReduceOp, name: &'static str) -> Result<Tensor> {
        if self.numel() == 0 {
            return Err(Error::index(name, "max(): expected a non-empty tensor (the operation has no identity)"));
        }
        let flat = self.reshape_to(&[self.numel()])?;
        let (m, _) = flat.detach().select_dim(0, false, op, name)?;
        if !self.requires_grad() {
            return Ok(m);
        }
        // Differentiable form with PyTorch's gradient (split evenly among ties) and the exact
        // value: m + sum(where(x == m, x - m, 0)) / count, where every x - m is exactly 0.
        let m_safe = Tensor::where_cond(&m.abs()?.eq_scalar(f64::INFINITY)?, &Tensor::zeros_like(&m)?, &m)?;
        let ties = flat.eq(&m)?;
        let count = ties.to_dtype(self.dtype())?.sum()?;
        let hits = Tensor::where_cond(&ties, &flat.sub(&m_safe)?, &Tensor::zeros(&[], self.dtype())?)?.sum()?;
        m_safe.add(&hits.div(&count)?)
    }

    /// Largest element (0-d). Gradient is shared evenly among ties, as in PyTorch.
    #[track_caller]
    pub fn max(&self) -> Result<Tensor> {
        self.extreme(ReduceOp::Max, "max")
    }

    /// Smallest element (0-d).
    #[track_caller]
    pub fn min(&self) -> Result<Tensor> {
        self.extreme(ReduceOp::Min, "min")
    }

    #[track_caller]
    pub(crate) fn prod_u(&self, d: usize, keepdim: bool) -> Result<Tensor> {
        let (out, _) = cpu::reduce_dim(&*self.cpu_read("prod_dim")?, self.layout(), d, ReduceOp::Prod);
        let mut shape = self.shape().to_vec();
        if keepdim {
            shape[d] = 1;
        } else {
            shape.remove(d);
        }
        Ok(Tensor::from_storage(out, &shape).record(&[self], || Op::Prod { dim: d, keepdim }))
    }

    /// Product over `dim`.
    #[track_caller]
    pub fn prod_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let d = self.norm_dim(dim, "prod_dim")?;
        if self.dim() == 0 {
            return Ok(self.clone());
        }
        self.prod_u(d, keepdim)
    }

    /// Variance over `dim` (`unbiased` divides by n - 1).
    #[track_caller]
    pub fn var_dim(&self, dim: isize, unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.require_float("var_dim")?;
        let n = if self.dim() == 0 { 1 } else { self.shape()[self.norm_dim(dim, "var_dim")?] };
        let diff = self.sub(&self.mean_dim(dim, true)?)?;
        let ddof = if unbiased { 1 } else { 0 };
        diff.mul(&diff)?.sum_dim(dim, keepdim)?.mul_scalar(1.0 / (n as f64 - ddof as f64))
    }

    /// Standard deviation over `dim`.
    #[track_caller]
    pub fn std_dim(&self, dim: isize, unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.var_dim(dim, unbiased, keepdim)?.sqrt()
    }

    /// Variance of all elements.
    #[track_caller]
    pub fn var(&self, unbiased: bool) -> Result<Tensor> {
        self.reshape_to(&[self.numel()])?.var_dim(0, unbiased, false)
    }

    /// Standard deviation of all elements.
    #[track_caller]
    pub fn std(&self, unbiased: bool) -> Result<Tensor> {
        self.var(unbiased)?.sqrt()
    }

    /// `log(sum(exp(x)))` over `dim`, computed stably.
    #[track_caller]
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.require_float("logsumexp")?;
        let (m, _) = self.detach().max_dim(dim, true)?;
        let m = Tensor::where_cond(&m.abs()?.eq_scalar(f64::INFINITY)?, &Tensor::zeros_like(&m)?, &m)?;
        let out = self.sub(&m)?.exp()?.sum_dim(dim, true)?.log()?.add(&m)?;
        if keepdim {
            Ok(out)
        } else {
            out.squeeze_dim(dim)
        }
    }

    #[track_caller]
    fn softmax_impl(&self, dim: isize, log: bool) -> Result<Tensor> {
        let name = if log { "log_softmax" } else { "softmax" };
        self.require_float(name)?;
        let d = self.norm_dim(dim, name)?;
        if self.dim() == 0 {
            let r = self.reshape_to(&[1])?.softmax_impl(0, log)?;
            return r.reshape_to(&[]);
        }
        let last = self.dim() - 1;
        let x = self.detach();
        // Move `dim` last (a view), compute rows, move it back.
        let mut perm: Vec<usize> = (0..self.dim()).collect();
        perm.swap(d, last);
        let xp = x.permute_u(&perm)?;
        let out = cpu::softmax_last(&*xp.cpu_read(name)?, xp.layout(), log);
        let y = Tensor::from_storage(out, xp.shape()).permute_u(&perm)?;
        Ok(y.record(&[self], || if log { Op::LogSoftmax { dim: d } } else { Op::Softmax { dim: d } }))
    }

    /// Softmax over `dim`.
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl(dim, false)
    }

    /// Log-softmax over `dim`.
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl(dim, true)
    }

    #[track_caller]
    pub(crate) fn cumsum_u(&self, d: usize) -> Result<Tensor> {
        let out = cpu::cumsum(&*self.cpu_read("cumsum")?, self.layout(), d);
        Ok(Tensor::from_storage(out, self.shape()).record(&[self], || Op::Cumsum { dim: d }))
    }

    /// Cumulative sum over `dim` (integer inputs give i64).
    #[track_caller]
    pub fn cumsum(&self, dim: isize) -> Result<Tensor> {
        let d = self.norm_dim(dim, "cumsum")?;
        if self.dim() == 0 {
            return self.to_dtype(if self.dtype().is_float() { self.dtype() } else { DType::I64 })?.contiguous();
        }
        self.cumsum_u(d)
    }

    /// NaN positions (Bool).
    #[track_caller]
    pub fn isnan(&self) -> Result<Tensor> {
        self.ne(self)
    }

    /// ±inf positions (Bool).
    #[track_caller]
    pub fn isinf(&self) -> Result<Tensor> {
        self.abs()?.eq_scalar(f64::INFINITY)
    }

    /// Finite positions (Bool).
    #[track_caller]
    pub fn isfinite(&self) -> Result<Tensor> {
        self.isnan()?.logical_or(&self.isinf()?)?.logical_not()
    }
}
