//! Random tensors for the no-panic property tests (shared by `ember-core` and `ember-nn`
//! through `#[path]`): every dtype, 0-d, empty and ordinary shapes, contiguous, transposed,
//! strided and broadcast layouts; and the runner that turns a panic into a message.

#![allow(dead_code)]

use ember_core::{DType, Result, Tensor};
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub const DTYPES: [DType; 10] = ember_core::dtype::ALL_DTYPES;

/// Sizes that overflow `usize` when multiplied, or need more bytes than any machine has.
pub const HUGE: [usize; 3] = [usize::MAX, usize::MAX / 2 + 1, 1 << 40];

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Contiguous,
    /// A permuted (transposed) view.
    Transposed,
    /// Every other element of a wider buffer.
    Strided,
    /// Size-1 dims expanded (stride 0).
    Broadcast,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub kind: Kind,
    pub grad: bool,
}

pub fn spec() -> impl Strategy<Value = Spec> {
    let dim = prop_oneof![4 => 1usize..4, 1 => Just(0usize), 1 => Just(5usize)];
    (
        proptest::collection::vec(dim, 0..5),
        0..DTYPES.len(),
        prop_oneof![Just(Kind::Contiguous), Just(Kind::Transposed), Just(Kind::Strided), Just(Kind::Broadcast)],
        any::<bool>(),
    )
        .prop_map(|(shape, d, kind, grad)| Spec { shape, dtype: DTYPES[d], kind, grad })
}

/// Values -3..3 (zeros and negatives included) in `shape`, converted to `dtype`.
pub fn values(shape: &[usize], dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| ((i * 5 + 2) % 7) as f64 - 3.0).collect();
    Tensor::from_vec(v, shape).unwrap().to_dtype(dtype).unwrap()
}

pub fn build(s: &Spec) -> Tensor {
    let t = match s.kind {
        Kind::Contiguous => values(&s.shape, s.dtype),
        Kind::Transposed => {
            let rev: Vec<usize> = s.shape.iter().rev().copied().collect();
            let perm: Vec<isize> = (0..s.shape.len() as isize).rev().collect();
            values(&rev, s.dtype).permute(&perm).unwrap()
        }
        Kind::Strided if !s.shape.is_empty() => {
            let mut wide = s.shape.clone();
            *wide.last_mut().unwrap() *= 2;
            values(&wide, s.dtype).slice(-1, 0, isize::MAX, 2).unwrap()
        }
        Kind::Broadcast => {
            let ones: Vec<usize> = s.shape.iter().enumerate().map(|(i, &d)| if i % 2 == 0 { 1 } else { d }).collect();
            values(&ones, s.dtype).broadcast_to(&s.shape).unwrap()
        }
        Kind::Strided => values(&s.shape, s.dtype),
    };
    assert_eq!(t.shape(), s.shape.as_slice());
    if s.grad && s.dtype.is_float() {
        t.detach().set_requires_grad(true).unwrap()
    } else {
        t
    }
}

/// Backward through an op's float results.
pub fn drive(r: Result<Tensor>) {
    drive_all(r.map(|t| vec![t]))
}

pub fn drive_all(r: Result<Vec<Tensor>>) {
    if let Ok(outs) = r {
        for o in outs.iter().filter(|o| o.requires_grad()) {
            let _ = o.sum().and_then(|s| s.backward());
        }
    }
}

/// The panic message of `f`, if it panics.
pub fn panic_message(f: impl FnOnce()) -> Option<String> {
    catch_unwind(AssertUnwindSafe(f)).err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}
