//! In-place ops (PyTorch's trailing underscore). Each bumps the storage's version counter, so
//! a graph that saved this tensor's old values refuses to backpropagate through them.
//!
//! With recording on and a tensor in the graph, the new value is computed out of place from a
//! snapshot of the old one and written back, and the tensor's node is rebased onto that
//! computation (PyTorch's history rewriting for non-leaf tensors). Leaves that require grad
//! cannot be modified in place while recording, as in PyTorch. When the new value's gradient
//! needs the old one (`x.mul_(y)` differentiates to `y` and the old `x`), the computation reads
//! a recorded copy of it, so the write cannot invalidate what backward saved (PyTorch saves
//! `original_self` for such formulas); ops whose gradient ignores the old value skip the copy.

use super::inplace_fast::Update;
use super::Tensor;
use crate::autograd::{self, no_grad};
use crate::backend::cpu::{index::copy_into, map::cast};
use crate::error::{at_caller, Error, Result};
use std::sync::atomic::Ordering;

impl Tensor {
    /// A second handle on the same storage, layout and history (the "old value" of `self`).
    fn snapshot(&self) -> Tensor {
        let t = self.with_layout(self.layout().clone());
        t.set_node(self.node());
        t.0.requires_grad.store(self.requires_grad(), Ordering::Relaxed);
        t
    }

    #[track_caller]
    fn inplace(
        &self,
        name: &'static str,
        others: &[&Tensor],
        keep_old: bool,
        compute: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<()> {
        if self.layout().has_internal_overlap() {
            return Err(Error::unsupported(
                name,
                format!(
                    "unsupported operation: more than one element of the written-to tensor refers to a single memory location (shape {:?}, strides {:?}); clone() the tensor before writing to it",
                    self.shape(),
                    self.strides()
                ),
            ));
        }
        let recording =
            autograd::is_grad_enabled() && (self.requires_grad() || others.iter().any(|t| t.requires_grad()));
        if recording && self.is_leaf() && self.requires_grad() {
            return Err(Error::autograd(
                name,
                "a leaf tensor that requires grad is being used in an in-place operation; wrap it in no_grad",
            ));
        }
        let (r, snap) = if recording {
            let snap = self.snapshot();
            let old = if keep_old { at_caller(snap.deep_clone())? } else { snap.clone() };
            (at_caller(compute(&old))?, Some(snap))
        } else {
            (at_caller(no_grad(|| compute(self)))?, None)
        };
        if r.shape() != self.shape() {
            return Err(Error::shape(
                name,
                format!("output with shape {:?} doesn't match the broadcast shape {:?}", self.shape(), r.shape()),
            ));
        }
        if r.dtype().is_float() && !self.dtype().is_float() {
            return Err(Error::dtype(
                name,
                format!("result type {} can't be cast to the desired output type {}", r.dtype(), self.dtype()),
            ));
        }
        let src = cast(&*r.cpu_read(name)?, r.layout(), self.dtype());
        let contiguous = crate::layout::Layout::contiguous(self.shape());
        {
            let mut dst = self.storage().write();
            copy_into(&mut dst, self.layout(), &src, &contiguous);
        }
        if let Some(_snap) = snap {
            if let Some(node) = r.node() {
                node.retarget_output(self);
            }
            self.set_node(r.node());
            self.0.requires_grad.store(r.requires_grad(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// `self = f(self)` in place, for any op (Python's `x += y`, `x.exp_()`): the result is
    /// written into this tensor's storage (it must keep the shape, and may not turn an
    /// integer tensor into a float one), and when recording, its history is rewritten. `others`
    /// are the other inputs of `f` (so recording is on when one of them requires grad). While
    /// recording, `f` reads a copy of the old value, which its gradient may keep.
    #[track_caller]
    pub fn update_(
        &self,
        name: &'static str,
        others: &[&Tensor],
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<()> {
        self.inplace(name, others, true, f)
    }

    /// [`Tensor::update_`] for an `f` whose gradient never needs the old value of `self` (sums,
    /// overwrites, scalings by constants): no copy of it is made.
    #[track_caller]
    pub fn update_overwriting_(
        &self,
        name: &'static str,
        others: &[&Tensor],
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<()> {
        self.inplace(name, others, false, f)
    }

    /// `self += other` (broadcasting `other`).
    #[track_caller]
    pub fn add_(&self, other: &Tensor) -> Result<()> {
        if self.try_fast_update(Some(other), Update::Axpy(1.0)) {
            return Ok(());
        }
        self.inplace("add_", &[other], false, |s| s.add(other))
    }

    /// `self += alpha * other` (PyTorch's `add_(other, alpha=)`), in one pass where it can.
    #[track_caller]
    pub fn add_scaled_(&self, other: &Tensor, alpha: f64) -> Result<()> {
        let fast = match other.scalar_value() {
            Some(v) => self.try_fast_update(None, Update::Shift(alpha * v)),
            None => self.try_fast_update(Some(other), Update::Axpy(alpha)),
        };
        if fast {
            return Ok(());
        }
        if alpha == 1.0 {
            return self.inplace("add_", &[other], false, |s| s.add(other));
        }
        if alpha == -1.0 {
            return self.inplace("sub_", &[other], false, |s| s.sub(other));
        }
        self.inplace("add_", &[other], false, |s| s.add(&other.mul_scalar(alpha)?))
    }

    /// `self -= other`.
    #[track_caller]
    pub fn sub_(&self, other: &Tensor) -> Result<()> {
        if self.try_fast_update(Some(other), Update::Axpy(-1.0)) {
            return Ok(());
        }
        self.inplace("sub_", &[other], false, |s| s.sub(other))
    }

    /// `self *= other`.
    #[track_caller]
    pub fn mul_(&self, other: &Tensor) -> Result<()> {
        if self.try_fast_update(Some(other), Update::Mul) {
            return Ok(());
        }
        self.inplace("mul_", &[other], true, |s| s.mul(other))
    }

    /// `self /= other`.
    #[track_caller]
    pub fn div_(&self, other: &Tensor) -> Result<()> {
        if self.try_fast_update(Some(other), Update::Div) {
            return Ok(());
        }
        self.inplace("div_", &[other], true, |s| s.div(other))
    }

    /// `self += s`.
    #[track_caller]
    pub fn add_scalar_(&self, s: f64) -> Result<()> {
        if self.try_fast_update(None, Update::Shift(s)) {
            return Ok(());
        }
        self.inplace("add_scalar_", &[], false, |t| t.add_scalar(s))
    }

    /// `self *= s`.
    #[track_caller]
    pub fn mul_scalar_(&self, s: f64) -> Result<()> {
        if self.try_fast_update(None, Update::Scale(s)) {
            return Ok(());
        }
        self.inplace("mul_scalar_", &[], false, |t| t.mul_scalar(s))
    }

    /// Sets every element to `value`.
    #[track_caller]
    pub fn fill_(&self, value: f64) -> Result<()> {
        self.inplace("fill_", &[], false, |t| {
            Tensor::where_cond(&Tensor::scalar(true), &Tensor::full(&[], value, t.dtype())?, t)
        })
    }

    /// Sets every element to zero.
    #[track_caller]
    pub fn zero_(&self) -> Result<()> {
        self.fill_(0.0)
    }

    /// Copies `src` (broadcast, converted to this dtype) into `self`.
    #[track_caller]
    pub fn copy_(&self, src: &Tensor) -> Result<()> {
        let src_c = src.to_dtype(self.dtype())?;
        self.inplace("copy_", &[src], false, |t| Tensor::where_cond(&Tensor::scalar(true), &src_c, t))
    }

    /// `self[index] = values` (Python's `__setitem__`): values broadcast to the indexed shape.
    /// Without recording, a basic index writes straight into the view; otherwise the tensor's
    /// history is rewritten like every in-place op.
    #[track_caller]
    pub fn index_put_(&self, index: &[crate::TensorIndex], values: &Tensor) -> Result<()> {
        let basic = !index.iter().any(|i| matches!(i, crate::TensorIndex::Tensor(_)));
        let recording = autograd::is_grad_enabled() && (self.requires_grad() || values.requires_grad());
        if basic && !recording {
            let view = self.index(index)?;
            if view.shape() != values.shape() && values.expand_to(view.shape()).is_err() {
                return Err(Error::shape(
                    "index_put_",
                    format!(
                        "shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {:?}",
                        values.shape(),
                        view.shape()
                    ),
                ));
            }
            return view.copy_(values);
        }
        self.inplace("index_put_", &[values], false, |s| s.index_put(index, values))
    }
}
