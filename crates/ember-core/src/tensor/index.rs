//! Indexing ops that copy: `index_select`, `index_add`, `gather`, `scatter_add`, `cat`,
//! `stack`. Index tensors must be i64 or i32 and in range; errors say which value and where.

use super::Tensor;
use crate::backend::cpu::gather;
use crate::backend::cpu::index as cpu;
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};
use crate::layout::Layout;
use crate::op::Op;

/// The error for an index value outside `0..size`.
#[track_caller]
fn out_of_bounds(op: &'static str, v: i64, size: usize) -> Error {
    Error::index(op, format!("index {v} is out of bounds for dimension with size {size}"))
}

/// Index values as `usize`, checked against `size`.
#[track_caller]
fn index_values(idx: &Tensor, size: usize, op: &'static str) -> Result<Vec<usize>> {
    let vals: Vec<i64> = match idx.dtype() {
        DType::I64 => idx.to_vec::<i64>()?,
        DType::I32 => idx.to_vec::<i32>()?.into_iter().map(i64::from).collect(),
        d => return Err(Error::dtype(op, format!("index must be an int64 or int32 tensor, got {d}"))),
    };
    let mut out = Vec::with_capacity(vals.len());
    for v in vals {
        if v < 0 || v as u64 >= size as u64 {
            return Err(Error::index(op, format!("index {v} is out of bounds for dimension with size {size}")));
        }
        out.push(v as usize);
    }
    Ok(out)
}

impl Tensor {
    /// Slices `index[i]` of `dim`, stacked along `dim` (`index` is 1-D).
    #[track_caller]
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let d = self.norm_dim(dim, "index_select")?;
        if index.dim() > 1 {
            return Err(Error::shape(
                "index_select",
                format!("index should have at most 1 dimension, got shape {:?}", index.shape()),
            ));
        }
        if self.dim() == 0 {
            return self.reshape_to(&[1])?.index_select(0, index)?.reshape_to(&[]);
        }
        self.index_select_u(d, index)
    }

    #[track_caller]
    pub(crate) fn index_select_u(&self, d: usize, index: &Tensor) -> Result<Tensor> {
        let idx = index_values(index, self.shape()[d], "index_select")?;
        let mut shape = self.shape().to_vec();
        shape[d] = idx.len();
        crate::storage::checked_numel("index_select", &shape, self.dtype())?;
        let out = cpu::index_select(&*self.cpu_read("index_select")?, self.layout(), d, &idx);
        let index = index.reshape_to(&[idx.len()])?;
        Ok(Tensor::from_storage(out, &shape).record(&[self], || Op::IndexSelect { dim: d, index }))
    }

    /// `self` with `src[.., j, ..]` added at row `index[j]` of `dim` (`Tensor.index_add`).
    #[track_caller]
    pub fn index_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let d = self.norm_dim(dim, "index_add")?;
        if self.dim() == 0 {
            // A 0-d tensor is indexed as one element along dim 0.
            let flat_src = if src.dim() == 0 { src.reshape_to(&[1])? } else { src.clone() };
            return self.reshape_to(&[1])?.index_add(0, index, &flat_src)?.reshape_to(&[]);
        }
        self.check_index_add_source(d, index, src, "index_add")?;
        self.index_add_u(d, index, src)
    }

    /// `src` (as `dtype`) cut to `index`'s shape: the scatters read `src` at the index's
    /// positions, so it may be larger but not smaller in any dim.
    #[track_caller]
    pub(crate) fn scatter_source(src: &Tensor, index: &Tensor, dtype: DType, op: &'static str) -> Result<Tensor> {
        if src.dim() != index.dim() || index.shape().iter().zip(src.shape()).any(|(a, b)| a > b) {
            return Err(Error::shape(
                op,
                format!("index {:?} must not be larger than src {:?} in any dimension", index.shape(), src.shape()),
            ));
        }
        let mut s = src.to_dtype(dtype)?;
        for (i, &n) in index.shape().iter().enumerate() {
            s = s.slice_u(i, 0, n, 1)?;
        }
        Ok(s)
    }

    /// `src` must have `self`'s shape with `index.numel()` rows at dim `d`.
    #[track_caller]
    fn check_index_add_source(&self, d: usize, index: &Tensor, src: &Tensor, op: &'static str) -> Result<()> {
        let mut want = self.shape().to_vec();
        if let Some(w) = want.get_mut(d) {
            *w = index.numel();
        }
        if src.shape() != want.as_slice() {
            return Err(Error::shape(
                op,
                format!(
                    "source shape {:?} does not match {:?} (self {:?} with {} indices at dim {d})",
                    src.shape(),
                    want,
                    self.shape(),
                    index.numel()
                ),
            ));
        }
        Ok(())
    }

    #[track_caller]
    pub(crate) fn index_add_u(&self, d: usize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let idx = index_values(index, self.shape()[d], "index_add")?;
        let src = src.to_dtype(self.dtype())?;
        let mut out = crate::backend::cpu::contiguous(&*self.cpu_read("index_add")?, self.layout());
        cpu::index_add(&mut out, self.shape(), d, &idx, &*src.cpu_read("index_add")?, src.layout());
        let index = index.reshape_to(&[idx.len()])?;
        Ok(Tensor::from_storage(out, self.shape()).record(&[self, &src], || Op::IndexAdd { dim: d, index }))
    }

    /// Checks a gather/scatter index against `self` (same number of dims, no larger than
    /// `self` outside `d`, int64 or int32) and returns, per index position in row-major
    /// order, the storage offset in `view` (a layout of `self`'s shape) that it selects.
    #[track_caller]
    pub(crate) fn scatter_positions_in(
        &self,
        d: usize,
        index: &Tensor,
        view: &Layout,
        op: &'static str,
    ) -> Result<Vec<usize>> {
        self.check_scatter_index(d, index, op)?;
        let idx = index.cpu_read(op)?;
        let g = gather::Geometry {
            shape: index.shape(),
            dim: d,
            dim_size: self.shape()[d],
            data: view,
            index: index.layout(),
        };
        // A `match`, not `map_err`: a closure would hide the caller's location.
        match gather::positions(&g, &idx) {
            Ok(p) => Ok(p),
            Err(v) => Err(out_of_bounds(op, v, self.shape()[d])),
        }
    }

    #[track_caller]
    fn check_scatter_index(&self, d: usize, index: &Tensor, op: &'static str) -> Result<()> {
        if index.dim() != self.dim() {
            return Err(Error::shape(
                op,
                format!(
                    "index tensor must have the same number of dimensions as input: index {:?} vs input {:?}",
                    index.shape(),
                    self.shape()
                ),
            ));
        }
        for (i, (&a, &b)) in index.shape().iter().zip(self.shape()).enumerate() {
            if i != d && a > b {
                return Err(Error::shape(
                    op,
                    format!(
                        "size does not match at dimension {i}: index {:?} vs input {:?}",
                        index.shape(),
                        self.shape()
                    ),
                ));
            }
        }
        if !matches!(index.dtype(), DType::I64 | DType::I32) {
            return Err(Error::dtype(op, format!("index must be an int64 or int32 tensor, got {}", index.dtype())));
        }
        Ok(())
    }

    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `dim = 1` (and likewise for any dim).
    #[track_caller]
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let d = self.norm_dim(dim, "gather")?;
        if self.dim() == 0 {
            return self.reshape_to(&[1])?.gather(0, &index.reshape_to(&[index.numel()])?)?.reshape_to(index.shape());
        }
        self.gather_u(d, index)
    }

    #[track_caller]
    pub(crate) fn gather_u(&self, d: usize, index: &Tensor) -> Result<Tensor> {
        self.check_scatter_index(d, index, "gather")?;
        crate::storage::checked_numel("gather", index.shape(), self.dtype())?;
        let idx = index.cpu_read("gather")?;
        let g = gather::Geometry {
            shape: index.shape(),
            dim: d,
            dim_size: self.shape()[d],
            data: self.layout(),
            index: index.layout(),
        };
        let out = match gather::gather(&*self.cpu_read("gather")?, &g, &idx) {
            Ok(o) => o,
            Err(v) => return Err(out_of_bounds("gather", v, self.shape()[d])),
        };
        drop(idx);
        let index = index.clone();
        Ok(Tensor::from_storage(out, index.shape()).record(&[self], || Op::Gather { dim: d, index }))
    }

    /// `self` with `src[p]` added at the position `p` with its `dim` coordinate replaced by
    /// `index[p]` (`Tensor.scatter_add`).
    #[track_caller]
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let d = self.norm_dim(dim, "scatter_add")?;
        Tensor::scatter_source(src, index, self.dtype(), "scatter_add")?;
        self.scatter_add_u(d, index, src)
    }

    #[track_caller]
    pub(crate) fn scatter_add_u(&self, d: usize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let contiguous = Layout::contiguous(self.shape());
        let pos = self.scatter_positions_in(d, index, &contiguous, "scatter_add")?;
        let src_v = Tensor::scatter_source(src, index, self.dtype(), "scatter_add")?;
        let mut out = crate::backend::cpu::contiguous(&*self.cpu_read("scatter_add")?, self.layout());
        cpu::scatter_add(&mut out, &pos, &*src_v.cpu_read("scatter_add")?, src_v.layout());
        let index = index.clone();
        Ok(Tensor::from_storage(out, self.shape()).record(&[self, &src_v], || Op::ScatterAdd { dim: d, index }))
    }

    /// `zeros(shape).scatter_add(d, index, src)` (the backward of `gather` and of `max`/`min`
    /// along a dim) with the sums added straight into a fresh zeroed buffer; through
    /// [`Tensor::scatter_add_u`], the zeros were written once and copied once more (a
    /// `[700, 10000]` log-probability gradient of an LSTM language model: 28 MB twice).
    #[track_caller]
    pub(crate) fn zeros_scatter_add(shape: &[usize], d: usize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let dtype = src.dtype();
        let n = crate::storage::checked_numel("scatter_add", shape, dtype)?;
        // The base as the op's first input: a stride-0 view of one zero, nothing to copy.
        let base = Tensor::zeros(&[], dtype)?.expand_to(shape)?;
        let pos = base.scatter_positions_in(d, index, &Layout::contiguous(shape), "scatter_add")?;
        let src_v = Tensor::scatter_source(src, index, dtype, "scatter_add")?;
        let mut out = crate::storage::CpuStorage::zeros_pooled(dtype, n);
        cpu::scatter_add(&mut out, &pos, &*src_v.cpu_read("scatter_add")?, src_v.layout());
        let index = index.clone();
        Ok(Tensor::from_storage(out, shape).record(&[&base, &src_v], || Op::ScatterAdd { dim: d, index }))
    }

    /// `self[.., index[p], ..] += src[p]` in place (`Tensor.scatter_add_`). Outside autograd on
    /// a contiguous tensor the sums go straight into its storage (no copy of `self`); otherwise
    /// through the general in-place path, which records the op.
    #[track_caller]
    pub fn scatter_add_(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<()> {
        let recording = crate::autograd::is_grad_enabled() && (self.requires_grad() || src.requires_grad());
        if recording || !self.is_contiguous() || src.shares_storage(self) || index.shares_storage(self) {
            return self.update_overwriting_("scatter_add_", &[src], |s| s.scatter_add(dim, index, src));
        }
        let d = self.norm_dim(dim, "scatter_add_")?;
        let src_v = Tensor::scatter_source(src, index, self.dtype(), "scatter_add_")?;
        let pos = self.scatter_positions_in(d, index, self.layout(), "scatter_add_")?;
        let s = src_v.cpu_read("scatter_add_")?;
        cpu::scatter_add(&mut self.storage().write(), &pos, &s, src_v.layout());
        Ok(())
    }

    /// `self[.., index[j], ..] += src[.., j, ..]` in place (`Tensor.index_add_`), straight into
    /// the storage outside autograd when `self` is contiguous from its storage's start.
    #[track_caller]
    pub fn index_add_(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<()> {
        let recording = crate::autograd::is_grad_enabled() && (self.requires_grad() || src.requires_grad());
        let direct = !recording
            && self.is_contiguous()
            && self.storage_offset() == 0
            && self.dim() > 0
            && !src.shares_storage(self)
            && !index.shares_storage(self);
        if !direct {
            return self.update_overwriting_("index_add_", &[src], |s| s.index_add(dim, index, src));
        }
        let d = self.norm_dim(dim, "index_add_")?;
        self.check_index_add_source(d, index, src, "index_add_")?;
        let idx = index_values(index, self.shape()[d], "index_add_")?;
        let src = src.to_dtype(self.dtype())?;
        let s = src.cpu_read("index_add_")?;
        cpu::index_add(&mut self.storage().write(), self.shape(), d, &idx, &s, src.layout());
        Ok(())
    }

    /// `self` (1-D) with `values` (1-D, one per position) written at `index` (1-D int):
    /// the primitive behind `index_put` and Python's `x[idx] = v`. Repeated positions: the
    /// last write wins, as PyTorch's CPU kernel.
    #[track_caller]
    pub(crate) fn put_u(&self, index: &Tensor, values: &Tensor) -> Result<Tensor> {
        let pos = index_values(index, self.numel(), "index_put")?;
        if values.numel() != pos.len() {
            return Err(Error::shape(
                "index_put",
                format!("shape mismatch: {} values for {} indexed positions", values.numel(), pos.len()),
            ));
        }
        let values = values.to_dtype(self.dtype())?;
        let mut out = crate::backend::cpu::contiguous(&*self.cpu_read("index_put")?, self.layout());
        cpu::put(&mut out, &pos, &*values.cpu_read("index_put")?, values.layout());
        let index = index.reshape_to(&[pos.len()])?;
        Ok(Tensor::from_storage(out, self.shape()).record(&[self, &values], || Op::IndexPut { index }))
    }

    /// The positions of the nonzero elements, `[n, ndim]` int64 in row-major order
    /// (`torch.nonzero`; not differentiable).
    #[track_caller]
    pub fn nonzero(&self) -> Result<Tensor> {
        let mask = self.detach().ne_scalar(0.0)?.to_vec::<bool>()?;
        let (shape, nd) = (self.shape().to_vec(), self.dim());
        let mut out = Vec::new();
        let mut coord = vec![0usize; nd];
        for (i, &m) in mask.iter().enumerate() {
            if m {
                let mut rest = i;
                for d in (0..nd).rev() {
                    coord[d] = rest % shape[d];
                    rest /= shape[d];
                }
                out.extend(coord.iter().map(|&c| c as i64));
            }
        }
        let n = out.len() / nd.max(1);
        let n = if nd == 0 { mask.iter().filter(|&&m| m).count() } else { n };
        Tensor::from_vec(out, &[n, nd])
    }

    /// Concatenation along `dim` (dtypes promote; all other dims must match).
    #[track_caller]
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            return Err(Error::value("cat", "expected a non-empty list of tensors"));
        };
        let d = first.norm_dim(dim, "cat")?;
        if first.dim() == 0 {
            return Err(Error::shape("cat", "zero-dimensional tensor cannot be concatenated"));
        }
        let dtype = tensors.iter().map(|t| t.dtype()).reduce(DType::promote).unwrap_or(DType::F32);
        let mut shape = first.shape().to_vec();
        shape[d] = 0;
        for (i, t) in tensors.iter().enumerate() {
            let ok = t.dim() == first.dim()
                && t.shape().iter().zip(first.shape()).enumerate().all(|(j, (a, b))| j == d || a == b);
            if !ok {
                let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
                return Err(Error::shape("cat", format!("sizes of tensors must match except in dimension {d}: tensor 0 has shape {:?} but tensor {i} has shape {:?} (all: {shapes:?})", first.shape(), t.shape())));
            }
            shape[d] += t.shape()[d];
        }
        crate::storage::checked_numel("cat", &shape, dtype)?;
        let cast: Vec<Tensor> = tensors.iter().map(|t| t.to_dtype(dtype)).collect::<Result<_>>()?;
        let guards: Vec<_> = cast.iter().map(|t| t.cpu_read("cat")).collect::<Result<_>>()?;
        let parts: Vec<_> = guards.iter().zip(&cast).map(|(g, t)| (&**g, t.layout())).collect();
        let out = cpu::cat(&parts, d, &shape);
        drop(parts);
        drop(guards);
        let refs: Vec<&Tensor> = cast.iter().collect();
        Ok(Tensor::from_storage(out, &shape).record(&refs, || Op::Cat { dim: d }))
    }

    /// Stacks same-shape tensors along a new dim.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            return Err(Error::value("stack", "expected a non-empty list of tensors"));
        };
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(Error::shape(
                "stack",
                format!("stack expects each tensor to be equal size, but got {:?} and {:?}", first.shape(), t.shape()),
            ));
        }
        let un: Vec<Tensor> = at_caller(tensors.iter().map(|t| t.unsqueeze(dim)).collect::<Result<_>>())?;
        let refs: Vec<&Tensor> = un.iter().collect();
        Tensor::cat(&refs, dim)
    }
}
