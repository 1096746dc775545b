//! Indexing as PyTorch's `t[...]`: integers (negative count from the end), ranges with steps,
//! `NEW_AXIS` (`None`), `ELLIPSIS` (`...`), and (advanced indexing) integer and bool tensors.
//! Basic indices give a view built from `select`, `slice` and `unsqueeze`; tensor indices
//! gather with `index_select` over the indexed dims merged into one, following NumPy's rule for
//! where the broadcast index dims go. Everything carries gradients. `index_put` writes through
//! any such index (`x[idx] = v`).
//!
//! ```
//! use ember_core::{s, DType, IndexOp, Tensor};
//! let x = Tensor::arange(0.0, 24.0, 1.0, DType::F32)?.reshape(&[2, 3, 4])?;
//! assert_eq!(x.i((.., 1..3, 0))?.shape(), &[2, 2]);      // x[:, 1:3, 0]
//! assert_eq!(x.i(-1)?.shape(), &[3, 4]);                  // x[-1]
//! assert_eq!(x.index(&s![.., ..;2, -1])?.shape(), &[2, 2]); // x[:, ::2, -1]
//! # Ok::<(), ember_core::Error>(())
//! ```

use super::Tensor;
use crate::error::{Error, Result};
use crate::shape::DimValue;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// One entry of an index expression.
#[derive(Clone, Debug)]
pub enum TensorIndex {
    /// An integer: selects one position and removes the dim.
    Select(isize),
    /// `start:stop:step` (Python's rules: negative bounds count from the end, out-of-range
    /// bounds clamp; the step must be positive).
    Slice { start: Option<isize>, stop: Option<isize>, step: isize },
    /// `None`: a new dim of size 1.
    NewAxis,
    /// `...`: as many full slices as the other entries leave dims.
    Ellipsis,
    /// A step given to an integer, `NEW_AXIS` or `ELLIPSIS` (`s![0; 2]`): an error when
    /// applied.
    StepOnNonRange,
    /// An integer tensor (positions along one dim, broadcast with the other tensor indices)
    /// or a bool mask (its `nonzero()` positions over as many dims as it has).
    Tensor(Tensor),
}

impl From<Tensor> for TensorIndex {
    fn from(t: Tensor) -> TensorIndex {
        TensorIndex::Tensor(t)
    }
}

impl From<&Tensor> for TensorIndex {
    fn from(t: &Tensor) -> TensorIndex {
        TensorIndex::Tensor(t.clone())
    }
}

/// `None` in an index: a new dim of size 1.
pub const NEW_AXIS: TensorIndex = TensorIndex::NewAxis;
/// `...` in an index.
pub const ELLIPSIS: TensorIndex = TensorIndex::Ellipsis;

impl TensorIndex {
    /// The same slice with another step (`s![a..b; step]`).
    pub fn step(self, step: isize) -> TensorIndex {
        match self {
            TensorIndex::Slice { start, stop, .. } => TensorIndex::Slice { start, stop, step },
            _ => TensorIndex::StepOnNonRange,
        }
    }
}

macro_rules! index_from {
    ($($t:ty),*) => {$(
        impl From<$t> for TensorIndex {
            fn from(i: $t) -> TensorIndex {
                TensorIndex::Select(i.to_isize())
            }
        }
        impl From<Range<$t>> for TensorIndex {
            fn from(r: Range<$t>) -> TensorIndex {
                TensorIndex::Slice { start: Some(r.start.to_isize()), stop: Some(r.end.to_isize()), step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for TensorIndex {
            fn from(r: RangeFrom<$t>) -> TensorIndex {
                TensorIndex::Slice { start: Some(r.start.to_isize()), stop: None, step: 1 }
            }
        }
        impl From<RangeTo<$t>> for TensorIndex {
            fn from(r: RangeTo<$t>) -> TensorIndex {
                TensorIndex::Slice { start: None, stop: Some(r.end.to_isize()), step: 1 }
            }
        }
        impl From<RangeInclusive<$t>> for TensorIndex {
            fn from(r: RangeInclusive<$t>) -> TensorIndex {
                let end = r.end().to_isize();
                // `a..=-1` runs to the end, as Python's `a:`.
                let stop = if end == -1 { None } else { Some(end.saturating_add(1)) };
                TensorIndex::Slice { start: Some(r.start().to_isize()), stop, step: 1 }
            }
        }
        impl From<RangeToInclusive<$t>> for TensorIndex {
            fn from(r: RangeToInclusive<$t>) -> TensorIndex {
                let end = r.end.to_isize();
                let stop = if end == -1 { None } else { Some(end.saturating_add(1)) };
                TensorIndex::Slice { start: None, stop, step: 1 }
            }
        }
    )*};
}
index_from!(usize, isize, i32, i64);

impl From<RangeFull> for TensorIndex {
    fn from(_: RangeFull) -> TensorIndex {
        TensorIndex::Slice { start: None, stop: None, step: 1 }
    }
}

/// The argument of [`IndexOp::i`]: one index entry or a tuple of them.
pub trait Indexer {
    /// The entries, left to right.
    fn entries(self) -> Vec<TensorIndex>;
}

impl<T: Into<TensorIndex>> Indexer for T {
    fn entries(self) -> Vec<TensorIndex> {
        vec![self.into()]
    }
}

macro_rules! tuple_indexer {
    ($($name:ident),+) => {
        impl<$($name: Into<TensorIndex>),+> Indexer for ($($name,)+) {
            #[allow(non_snake_case)]
            fn entries(self) -> Vec<TensorIndex> {
                let ($($name,)+) = self;
                vec![$($name.into()),+]
            }
        }
    };
}
tuple_indexer!(A);
tuple_indexer!(A, B);
tuple_indexer!(A, B, C);
tuple_indexer!(A, B, C, D);
tuple_indexer!(A, B, C, D, E);
tuple_indexer!(A, B, C, D, E, F);

/// `t.i((.., 1..3, 0))`: PyTorch's `t[:, 1:3, 0]` for Rust tuples.
pub trait IndexOp {
    /// The view at `index` (integers, ranges, `NEW_AXIS`, `ELLIPSIS`, or a tuple of them).
    fn i(&self, index: impl Indexer) -> Result<Tensor>;
}

impl IndexOp for Tensor {
    #[track_caller]
    fn i(&self, index: impl Indexer) -> Result<Tensor> {
        self.index(&index.entries())
    }
}

/// An index expression with steps: `s![.., 1..7; 2, -1, NEW_AXIS]` is PyTorch's
/// `[:, 1:7:2, -1, None]` (an array of [`TensorIndex`] for [`Tensor::index`]).
#[macro_export]
macro_rules! s {
    ($($e:expr $(; $step:expr)?),* $(,)?) => {
        [$( $crate::TensorIndex::from($e) $(.step($step))? ),*]
    };
}

/// How many dims of the indexed tensor an entry consumes.
fn consumes(ix: &TensorIndex) -> usize {
    match ix {
        TensorIndex::Select(_) | TensorIndex::Slice { .. } => 1,
        TensorIndex::Tensor(t) if t.dtype() == crate::DType::Bool => t.dim(),
        TensorIndex::Tensor(_) => 1,
        _ => 0,
    }
}

impl Tensor {
    /// The result of `self[index]` (PyTorch's indexing): a view for integers, slices, `None`
    /// and `...`; a gathered copy when the index holds tensors.
    #[track_caller]
    pub fn index(&self, index: &[TensorIndex]) -> Result<Tensor> {
        let ellipses = index.iter().filter(|i| matches!(i, TensorIndex::Ellipsis)).count();
        if ellipses > 1 {
            return Err(Error::index("index", "an index can only have a single ellipsis ('...')"));
        }
        let consumed: usize = index.iter().map(consumes).sum();
        if consumed > self.dim() {
            return Err(Error::index(
                "index",
                format!("too many indices for tensor of dimension {} (got {consumed})", self.dim()),
            ));
        }
        if index.iter().any(|i| matches!(i, TensorIndex::Tensor(_))) {
            return self.index_advanced(index, consumed);
        }
        self.index_basic(index, consumed)
    }

    #[track_caller]
    fn index_basic(&self, index: &[TensorIndex], consumed: usize) -> Result<Tensor> {
        let mut out = self.clone();
        let mut d = 0isize; // the dim of `out` the next entry applies to
        for ix in index {
            match *ix {
                TensorIndex::Select(i) => out = out.select(d, i)?,
                TensorIndex::Slice { start, stop, step } => {
                    out = slice_entry(&out, d, start, stop, step)?;
                    d += 1;
                }
                TensorIndex::NewAxis => {
                    out = out.unsqueeze(d)?;
                    d += 1;
                }
                TensorIndex::Ellipsis => d += (self.dim() - consumed) as isize,
                TensorIndex::StepOnNonRange => return Err(step_error()),
                TensorIndex::Tensor(_) => return self.index_advanced(index, consumed),
            }
        }
        Ok(out)
    }

    /// Advanced indexing: basic entries first (as views, keeping the dims tensors index),
    /// then one `index_select` over the tensor-indexed dims merged into one.
    #[track_caller]
    fn index_advanced(&self, index: &[TensorIndex], consumed: usize) -> Result<Tensor> {
        let mut out = self.clone();
        let mut d = 0usize;
        let mut adv: Vec<(usize, Tensor)> = Vec::new(); // (dim of `out`, int64 positions)
        for ix in index {
            match ix {
                TensorIndex::Select(i) => {
                    // With tensor indices present, integers index as 0-d tensors (NumPy's rule).
                    adv.push((d, Tensor::scalar(*i as i64)));
                    d += 1;
                }
                TensorIndex::Slice { start, stop, step } => {
                    out = slice_entry(&out, d as isize, *start, *stop, *step)?;
                    d += 1;
                }
                TensorIndex::NewAxis => {
                    out = out.unsqueeze(d as isize)?;
                    d += 1;
                }
                TensorIndex::Ellipsis => d += self.dim() - consumed,
                TensorIndex::StepOnNonRange => return Err(step_error()),
                TensorIndex::Tensor(t) if t.dtype() == crate::DType::Bool => {
                    let k = t.dim();
                    if k == 0 {
                        return Err(Error::unsupported("index", "indexing with a 0-d bool tensor"));
                    }
                    let dims = &out.shape()[d..d + k];
                    if t.shape() != dims {
                        return Err(Error::index(
                            "index",
                            format!(
                                "the shape of the mask {:?} does not match the shape of the indexed tensor {dims:?}",
                                t.shape()
                            ),
                        ));
                    }
                    let nz = t.nonzero()?; // [n, k]
                    for j in 0..k {
                        adv.push((d + j, nz.select(1, j as isize)?));
                    }
                    d += k;
                }
                TensorIndex::Tensor(t) => {
                    if t.dtype().is_float() || t.dtype() == crate::DType::Bool {
                        return Err(Error::index(
                            "index",
                            format!(
                                "tensors used as indices must be long, int, byte or bool tensors, got {}",
                                t.dtype()
                            ),
                        ));
                    }
                    adv.push((d, t.detach().to_dtype(crate::DType::I64)?));
                    d += 1;
                }
            }
        }
        // Broadcast the positions and wrap negatives.
        let mut bshape: Vec<usize> = Vec::new();
        for (_, t) in &adv {
            bshape = super::arith::broadcast_pair("index", &bshape, t.shape())?;
        }
        let sizes: Vec<usize> = adv.iter().map(|(dim, _)| out.shape()[*dim]).collect();
        let mut lin: Option<Tensor> = None;
        for ((_, t), &n) in adv.iter().zip(&sizes) {
            let t = t.expand_to(&bshape)?;
            let wrapped = t.add(&t.lt_scalar(0.0)?.to_dtype(crate::DType::I64)?.mul(&Tensor::scalar(n as i64))?)?;
            let bad = wrapped.lt_scalar(0.0)?.logical_or(&wrapped.ge_scalar(n as f64)?)?;
            if bad.to_dtype(crate::DType::I64)?.sum()?.item::<i64>()? > 0 {
                return Err(Error::index("index", format!("index is out of bounds for dimension with size {n}")));
            }
            lin = Some(match lin {
                None => wrapped,
                Some(l) => l.mul(&Tensor::scalar(n as i64))?.add(&wrapped)?,
            });
        }
        let Some(lin) = lin else { return Ok(out) };
        // Where the index dims go: in place when the indexed dims are adjacent, first otherwise.
        let dims: Vec<usize> = adv.iter().map(|(dim, _)| *dim).collect();
        let adjacent = dims.windows(2).all(|w| w[1] == w[0] + 1);
        let at = if adjacent { dims[0] } else { 0 };
        let rest: Vec<usize> = (0..out.dim()).filter(|x| !dims.contains(x)).collect();
        let mut perm: Vec<usize> = rest[..at].to_vec();
        perm.extend(&dims);
        perm.extend(&rest[at..]);
        let moved = out.permute_u(&perm)?;
        let mut merged: Vec<usize> = moved.shape()[..at].to_vec();
        merged.push(sizes.iter().product());
        merged.extend_from_slice(&moved.shape()[at + dims.len()..]);
        let picked = moved.reshape_to(&merged)?.index_select_u(at, &lin.reshape_to(&[lin.numel()])?)?;
        let mut final_shape: Vec<usize> = merged[..at].to_vec();
        final_shape.extend(&bshape);
        final_shape.extend_from_slice(&merged[at + 1..]);
        picked.reshape_to(&final_shape)
    }

    /// `self` with `values` (broadcast to the shape of `self[index]`) written at `index`, as a
    /// new tensor (PyTorch's `index_put`; differentiable in both).
    #[track_caller]
    pub fn index_put(&self, index: &[TensorIndex], values: &Tensor) -> Result<Tensor> {
        // The indexed elements' positions: the same index applied to their flat offsets.
        let n = self.numel();
        let positions =
            Tensor::arange(0.0, n as f64, 1.0, crate::DType::I64)?.reshape_to(self.shape())?.index(index)?;
        let values = match values.expand_to(positions.shape()) {
            Ok(v) => v,
            Err(_) => {
                return Err(Error::shape(
                    "index_put",
                    format!(
                    "shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {:?}",
                    values.shape(),
                    positions.shape()
                ),
                ))
            }
        };
        let flat_pos = positions.contiguous()?.reshape_to(&[positions.numel()])?;
        let flat_vals = values.contiguous()?.reshape_to(&[positions.numel()])?;
        self.reshape_to(&[n])?.put_u(&flat_pos, &flat_vals)?.reshape_to(self.shape())
    }

    /// `self` with `values` added at the indexed elements, repeated positions adding up
    /// (`index_put(indices, values, accumulate=True)`; differentiable in both, as `index_add`).
    #[track_caller]
    pub fn index_put_accumulate(&self, index: &[TensorIndex], values: &Tensor) -> Result<Tensor> {
        let n = self.numel();
        let positions =
            Tensor::arange(0.0, n as f64, 1.0, crate::DType::I64)?.reshape_to(self.shape())?.index(index)?;
        let values = values.expand_to(positions.shape()).map_err(|_| {
            Error::shape(
                "index_put",
                format!(
                    "shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {:?}",
                    values.shape(),
                    positions.shape()
                ),
            )
        })?;
        let flat_pos = positions.contiguous()?.reshape_to(&[positions.numel()])?;
        let flat_vals = values.contiguous()?.reshape_to(&[positions.numel()])?;
        self.reshape_to(&[n])?.index_add_u(0, &flat_pos, &flat_vals)?.reshape_to(self.shape())
    }
}

fn step_error() -> Error {
    Error::value("index", "a step applies to a range, not to an integer, None or ...")
}

#[track_caller]
fn slice_entry(t: &Tensor, d: isize, start: Option<isize>, stop: Option<isize>, step: isize) -> Result<Tensor> {
    if step <= 0 {
        return Err(Error::value("index", format!("slice step must be positive, got {step}")));
    }
    t.slice(d, start.unwrap_or(0), stop.unwrap_or(isize::MAX), step as usize)
}
