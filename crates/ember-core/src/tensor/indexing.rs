//! Basic indexing as PyTorch's `t[...]`: integers (negative count from the end), ranges with
//! steps, `NEW_AXIS` (`None`) and `ELLIPSIS` (`...`). The result is always a view built from
//! `select`, `slice` and `unsqueeze`, so it shares storage and carries gradients.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl Tensor {
    /// The view at a basic index (PyTorch's `t[...]` with integers, slices, `None` and `...`).
    #[track_caller]
    pub fn index(&self, index: &[TensorIndex]) -> Result<Tensor> {
        let consumed = index.iter().filter(|i| matches!(i, TensorIndex::Select(_) | TensorIndex::Slice { .. })).count();
        let ellipses = index.iter().filter(|i| **i == TensorIndex::Ellipsis).count();
        if ellipses > 1 {
            return Err(Error::index("index", "an index can only have a single ellipsis ('...')"));
        }
        if consumed > self.dim() {
            return Err(Error::index(
                "index",
                format!("too many indices for tensor of dimension {} (got {consumed})", self.dim()),
            ));
        }
        let mut out = self.clone();
        let mut d = 0isize; // the dim of `out` the next entry applies to
        for ix in index {
            match *ix {
                TensorIndex::Select(i) => out = out.select(d, i)?,
                TensorIndex::Slice { start, stop, step } => {
                    if step <= 0 {
                        return Err(Error::value("index", format!("slice step must be positive, got {step}")));
                    }
                    out = out.slice(d, start.unwrap_or(0), stop.unwrap_or(isize::MAX), step as usize)?;
                    d += 1;
                }
                TensorIndex::NewAxis => {
                    out = out.unsqueeze(d)?;
                    d += 1;
                }
                TensorIndex::Ellipsis => d += (self.dim() - consumed) as isize,
                TensorIndex::StepOnNonRange => {
                    return Err(Error::value("index", "a step applies to a range, not to an integer, None or ..."))
                }
            }
        }
        Ok(out)
    }
}
