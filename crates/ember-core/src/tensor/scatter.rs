//! Writes at indexed positions, PyTorch's `scatter` family, built on the `IndexPut` primitive
//! (`put_u`: values written at flat positions, differentiable in the base and the values):
//! `scatter` (tensor or number source), `scatter_reduce` (`sum`/`mean`, and `prod`/`amax`/`amin`
//! with PyTorch's gradients through a custom node), `index_fill`,
//! `index_copy`, `masked_scatter`. Repeated positions: the last write wins (PyTorch leaves the
//! winner unspecified).

use super::Tensor;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};
use crate::layout::Layout;

impl Tensor {
    /// Flat (row-major) positions in `self` of each element of `index` along `d`.
    #[track_caller]
    fn scatter_positions(&self, d: usize, index: &Tensor, op: &'static str) -> Result<Tensor> {
        let contiguous = Layout::contiguous(self.shape());
        let pos: Vec<i64> =
            self.scatter_positions_in(d, index, &contiguous, op)?.into_iter().map(|p| p as i64).collect();
        let n = pos.len();
        Tensor::from_vec(pos, &[n])
    }

    /// `src` cut to `index`'s shape and flattened (PyTorch reads `src` at the index's positions).
    #[track_caller]
    fn source_values(src: &Tensor, index: &Tensor, op: &'static str) -> Result<Tensor> {
        let s = Tensor::scatter_source(src, index, src.dtype(), op)?;
        at_caller(s.reshape(&[index.numel()][..]))
    }

    /// `self` with `src[p]` written where `index[p]` points along `dim` (`Tensor.scatter`).
    #[track_caller]
    pub fn scatter(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let x = if self.dim() == 0 { at_caller(self.reshape(&[1usize][..]))? } else { self.clone() };
        let d = self.norm_dim(dim, "scatter")?;
        let pos = x.scatter_positions(d, index, "scatter")?;
        let vals = Tensor::source_values(&src.to_dtype(self.dtype())?, index, "scatter")?;
        at_caller(x.reshape(&[x.numel()][..])?.put_u(&pos, &vals)?.reshape(self.shape()))
    }

    /// `scatter` with one number for every indexed position.
    #[track_caller]
    pub fn scatter_value(&self, dim: isize, index: &Tensor, value: f64) -> Result<Tensor> {
        let src = at_caller(Tensor::full(&[], value, self.dtype())?.expand(index.shape()))?;
        self.scatter(dim, index, &src)
    }

    /// Reduces `src` into `self` at `index` along `dim` with `"sum"` or `"mean"`
    /// (`Tensor.scatter_reduce`); without `include_self`, indexed positions start from nothing.
    #[track_caller]
    pub fn scatter_reduce(
        &self,
        dim: isize,
        index: &Tensor,
        src: &Tensor,
        reduce: &str,
        include_self: bool,
    ) -> Result<Tensor> {
        let op = "scatter_reduce";
        if matches!(reduce, "prod" | "amax" | "amin") {
            return self.scatter_reduce_extreme(dim, index, src, reduce, include_self);
        }
        if !matches!(reduce, "sum" | "mean") {
            return Err(Error::value(
                op,
                format!("reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"),
            ));
        }
        let d = self.norm_dim(dim, op)?;
        let src = Tensor::source_values(&src.to_dtype(self.dtype())?, index, op)?.reshape(index.shape())?;
        let hits = at_caller(Tensor::zeros(self.shape(), self.dtype())?.scatter_add(
            d as isize,
            index,
            &Tensor::ones(index.shape(), self.dtype())?,
        ))?;
        let hit = hits.gt_scalar(0.0)?;
        let zero = Tensor::zeros(&[], self.dtype())?;
        let start = if include_self { self.clone() } else { Tensor::where_cond(&hit, &zero, self)? };
        let sum = at_caller(start.scatter_add(d as isize, index, &src))?;
        if reduce == "sum" {
            return Ok(sum);
        }
        let count = if include_self { hits.add_scalar(1.0)? } else { hits.clamp(Some(1.0), None)? };
        let mean = sum.div(&count)?;
        if self.dtype().is_float() {
            Ok(mean)
        } else {
            // Integer means round towards negative infinity (PyTorch's floor division).
            mean.floor()?.to_dtype(self.dtype())
        }
    }

    /// `scatter_reduce` with `"prod"`, `"amax"` or `"amin"`: the reduction per target in f64,
    /// and PyTorch's gradients, computed with the forward as each contributor's weight:
    /// amax/amin split the gradient evenly among the contributors equal to the result; prod
    /// gives each the product of the others (exact with zeros present).
    #[track_caller]
    fn scatter_reduce_extreme(
        &self,
        dim: isize,
        index: &Tensor,
        src: &Tensor,
        reduce: &str,
        include_self: bool,
    ) -> Result<Tensor> {
        let op = "scatter_reduce";
        let x = if self.dim() == 0 { at_caller(self.reshape(&[1usize][..]))? } else { self.clone() };
        let d = self.norm_dim(dim, op)?;
        let pos: Vec<usize> = x.scatter_positions(d, index, op)?.to_vec::<i64>()?.iter().map(|&p| p as usize).collect();
        let vals = Tensor::source_values(&src.to_dtype(self.dtype())?, index, op)?;
        let base = x.detach().contiguous()?.to_f64_vec()?;
        let v = vals.detach().to_f64_vec()?;
        let n = base.len();
        // Per target: the contributors (self when kept, then the hits).
        let mut hit = vec![false; n];
        for &p in &pos {
            hit[p] = true;
        }
        let self_in = |t: usize| include_self || !hit[t];
        let mut out = base.clone();
        let (mut w_self, mut w_src) = (vec![0.0; n], vec![0.0; v.len()]);
        match reduce {
            "prod" => {
                // The product of the non-zero contributors and the count of zeros, so each
                // contributor's weight (the product of the others) needs no division by zero.
                let (mut nz, mut zeros) = (vec![1.0f64; n], vec![0usize; n]);
                for t in 0..n {
                    if self_in(t) {
                        if base[t] == 0.0 {
                            zeros[t] += 1
                        } else {
                            nz[t] *= base[t]
                        }
                    }
                }
                for (&p, &s) in pos.iter().zip(&v) {
                    if s == 0.0 {
                        zeros[p] += 1
                    } else {
                        nz[p] *= s
                    }
                }
                let weight = |t: usize, x: f64| match (zeros[t], x == 0.0) {
                    (0, _) => nz[t] / x,
                    (1, true) => nz[t],
                    _ => 0.0,
                };
                for t in 0..n {
                    out[t] = if zeros[t] > 0 { 0.0 } else { nz[t] };
                    if self_in(t) {
                        w_self[t] = weight(t, base[t]);
                    }
                }
                for (e, (&p, &s)) in pos.iter().zip(&v).enumerate() {
                    w_src[e] = weight(p, s);
                }
            }
            _ => {
                let better = |a: f64, b: f64| if reduce == "amax" { a > b } else { a < b };
                for t in 0..n {
                    if !self_in(t) {
                        out[t] = if reduce == "amax" { f64::NEG_INFINITY } else { f64::INFINITY };
                    }
                }
                for (&p, &s) in pos.iter().zip(&v) {
                    if better(s, out[p]) || s.is_nan() {
                        out[p] = s;
                    }
                }
                let mut count = vec![0.0f64; n];
                let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
                for t in 0..n {
                    if self_in(t) && same(base[t], out[t]) {
                        count[t] += 1.0;
                    }
                }
                for (&p, &s) in pos.iter().zip(&v) {
                    if same(s, out[p]) {
                        count[p] += 1.0;
                    }
                }
                for t in 0..n {
                    if self_in(t) && same(base[t], out[t]) {
                        w_self[t] = 1.0 / count[t];
                    }
                }
                for (e, (&p, &s)) in pos.iter().zip(&v).enumerate() {
                    if same(s, out[p]) {
                        w_src[e] = 1.0 / count[p];
                    }
                }
            }
        }
        let y = Tensor::from_vec(out, &[n])?.to_dtype(self.dtype())?;
        let y = if self.dtype().is_float() { y } else { y.round()?.to_dtype(self.dtype())? };
        let y = y.reshape(self.shape())?;
        if !(self.requires_grad() || vals.requires_grad())
            || !crate::autograd::is_grad_enabled()
            || !self.dtype().is_float()
        {
            return Ok(y);
        }
        let (shape, dtype, prod) = (self.shape().to_vec(), self.dtype(), reduce == "prod");
        let w_self = Tensor::from_vec(w_self, &shape)?.to_dtype(dtype)?;
        let w_src = Tensor::from_vec(w_src, &[v.len()])?.to_dtype(dtype)?;
        let pos_t = Tensor::from_vec(pos.iter().map(|&p| p as i64).collect::<Vec<_>>(), &[pos.len()])?;
        let src_shape = src.shape().to_vec();
        let index = index.clone();
        let backward = move |g: &Tensor| -> Result<Vec<Option<Tensor>>> {
            if prod && crate::autograd::is_grad_enabled() {
                // The weights depend on the values; a second derivative would need them recorded.
                return Err(Error::autograd(
                    "backward",
                    "double backward of scatter_reduce(reduce=\"prod\") is not implemented",
                ));
            }
            let gs = g.mul(&w_self)?;
            let gflat = g.reshape(&[g.numel()][..])?.index_select(0, &pos_t)?.mul(&w_src)?;
            // Back to src's shape: zeros outside the index's extent.
            let gsrc = Tensor::zeros(&src_shape, gflat.dtype())?.scatter_positions_put(&index, &gflat)?;
            Ok(vec![Some(gs), Some(gsrc)])
        };
        Ok(crate::autograd::custom(&[self.clone(), src.clone()], y, "ScatterReduce", std::sync::Arc::new(backward)))
    }

    /// `self` (shaped like `src` of a scatter) with `values` (flat, in `index`'s row-major
    /// order) written at `index`'s own positions: the inverse of `source_values`.
    fn scatter_positions_put(&self, index: &Tensor, values: &Tensor) -> Result<Tensor> {
        let contiguous = Layout::contiguous(self.shape());
        let strides = contiguous.strides().to_vec();
        let mut pos = Vec::with_capacity(index.numel());
        let ishape = index.shape();
        let mut at = vec![0usize; ishape.len()];
        for _ in 0..index.numel() {
            pos.push(at.iter().zip(&strides).map(|(&i, &s)| i as i64 * s as i64).sum::<i64>());
            for dd in (0..at.len()).rev() {
                at[dd] += 1;
                if at[dd] < ishape[dd] {
                    break;
                }
                at[dd] = 0;
            }
        }
        let n = pos.len();
        self.reshape(&[self.numel()][..])?.put_u(&Tensor::from_vec(pos, &[n])?, values)?.reshape(self.shape())
    }

    /// `self` with the slices `index` along `dim` set to `value` (`Tensor.index_fill`).
    #[track_caller]
    pub fn index_fill(&self, dim: isize, index: &Tensor, value: f64) -> Result<Tensor> {
        let d = self.norm_dim(dim, "index_fill")?;
        if self.dim() == 0 {
            return at_caller(self.reshape(&[1usize][..])?.index_fill(0, index, value)?.reshape_to(&[]));
        }
        let n = self.shape()[d];
        let flat_index = at_caller(index.reshape(&[index.numel()][..]))?;
        let mask = at_caller(
            Tensor::zeros(&[n], DType::F64)?.put_u(&flat_index, &Tensor::ones(&[index.numel()], DType::F64)?),
        )?;
        let mut shape = vec![1usize; self.dim()];
        shape[d] = n;
        let mask = mask.reshape(&shape[..])?.gt_scalar(0.0)?;
        Tensor::where_cond(&mask, &Tensor::full(&[], value, self.dtype())?, self)
    }

    /// `self` with slice `index[i]` along `dim` replaced by slice `i` of `source`
    /// (`Tensor.index_copy`).
    #[track_caller]
    pub fn index_copy(&self, dim: isize, index: &Tensor, source: &Tensor) -> Result<Tensor> {
        let d = self.norm_dim(dim, "index_copy")?;
        if index.dim() > 1
            || source.dim() != self.dim().max(1)
            || (self.dim() > 0 && source.shape()[d] != index.numel())
        {
            return Err(Error::shape(
                "index_copy",
                format!(
                    "index_copy(): source {:?} must have the input's dims with index.numel() = {} slices along dim {d}",
                    source.shape(),
                    index.numel()
                ),
            ));
        }
        if self.dim() == 0 {
            return at_caller(
                self.reshape(&[1usize][..])?.index_copy(0, index, &source.reshape(&[1usize][..])?)?.reshape_to(&[]),
            );
        }
        let mut shape = vec![1usize; self.dim()];
        shape[d] = index.numel();
        let idx = at_caller(index.to_dtype(DType::I64)?.reshape(&shape[..])?.expand(source.shape())?.contiguous())?;
        self.scatter(d as isize, &idx, source)
    }

    /// `self` with the positions where `mask` (broadcast) is true filled, in row-major order,
    /// from the first elements of `source` (`Tensor.masked_scatter`).
    #[track_caller]
    pub fn masked_scatter(&self, mask: &Tensor, source: &Tensor) -> Result<Tensor> {
        let m = at_caller(mask.to_dtype(DType::Bool)?.broadcast_to(self.shape()))?;
        let flat_mask = at_caller(m.contiguous()?.reshape(&[self.numel()][..]))?;
        let pos = flat_mask.nonzero()?.reshape(&[-1isize][..])?;
        let k = pos.numel();
        if source.numel() < k {
            return Err(Error::shape(
                "masked_scatter",
                format!(
                    "masked_scatter: expected source to have at least {k} elements (the mask's true count), got {}",
                    source.numel()
                ),
            ));
        }
        let vals = at_caller(source.to_dtype(self.dtype())?.reshape(&[source.numel()][..])?.narrow(0, 0, k))?;
        at_caller(self.reshape(&[self.numel()][..])?.put_u(&pos, &vals)?.reshape(self.shape()))
    }
}
