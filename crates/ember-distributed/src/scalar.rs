//! The element types that travel between ranks, and how reductions combine them. Half
//! precision and bool tensors travel as f32 and u8 (MPI has no half types), converted on the
//! way in and out by [`Wired`].

use crate::group::ReduceOp;
use ember_core::{no_grad, DType, Element, Error, Result, Tensor};

/// What MPI needs of an element type (its datatype), when built with MPI.
#[cfg(feature = "mpi")]
pub(crate) trait Wire: mpi::traits::Equivalence {}
#[cfg(feature = "mpi")]
impl<T: mpi::traits::Equivalence> Wire for T {}
#[cfg(not(feature = "mpi"))]
pub(crate) trait Wire {}
#[cfg(not(feature = "mpi"))]
impl<T> Wire for T {}

/// An element type collectives run on.
pub(crate) trait Scalar: Element + Wire + bytemuck::Pod + Send + Sync + 'static {
    /// `a op b` (`Avg` is summed here and divided by the group, in `backend.rs`).
    fn combine(a: Self, b: Self, op: ReduceOp) -> Self;
    /// `self / n` for `Avg`.
    fn div_count(self, n: usize) -> Self;
}

macro_rules! float_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn combine(a: Self, b: Self, op: ReduceOp) -> Self {
                match op {
                    ReduceOp::Sum | ReduceOp::Avg => a + b,
                    ReduceOp::Product => a * b,
                    ReduceOp::Min => a.min(b),
                    ReduceOp::Max => a.max(b),
                }
            }
            fn div_count(self, n: usize) -> Self {
                self / n as $t
            }
        }
    )*};
}
macro_rules! int_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn combine(a: Self, b: Self, op: ReduceOp) -> Self {
                match op {
                    ReduceOp::Sum | ReduceOp::Avg => a.wrapping_add(b),
                    ReduceOp::Product => a.wrapping_mul(b),
                    ReduceOp::Min => a.min(b),
                    ReduceOp::Max => a.max(b),
                }
            }
            fn div_count(self, n: usize) -> Self {
                self / n as $t
            }
        }
    )*};
}
float_scalar!(f32, f64);
int_scalar!(i64, i32, i16, i8, u8);

thread_local! {
    /// A reusable send buffer for in-place reductions (MPI's reductions write to another
    /// buffer than they read), on the communication thread; 8-byte words so any element type
    /// fits aligned.
    static SCRATCH: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f(copy, buf)` with a copy of `buf` held in a buffer reused across calls (no
/// allocation or page faults per collective).
pub(crate) fn with_copy<T: Scalar, R>(buf: &mut [T], f: impl FnOnce(&[T], &mut [T]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let bytes = std::mem::size_of_val(buf);
        let words = bytes.div_ceil(8);
        if s.len() < words {
            s.resize(words, 0);
        }
        let copy = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut s[..words])[..bytes];
        copy.copy_from_slice(bytemuck::cast_slice(buf));
        f(bytemuck::cast_slice(copy), buf)
    })
}

/// Runs `$body` with `$S` the Rust type of a wire dtype.
macro_rules! with_scalar {
    ($dtype:expr, $S:ident => $body:expr) => {
        match $dtype {
            ember_core::DType::F32 => {
                type $S = f32;
                $body
            }
            ember_core::DType::F64 => {
                type $S = f64;
                $body
            }
            ember_core::DType::I64 => {
                type $S = i64;
                $body
            }
            ember_core::DType::I32 => {
                type $S = i32;
                $body
            }
            ember_core::DType::U8 => {
                type $S = u8;
                $body
            }
            ember_core::DType::I8 => {
                type $S = i8;
                $body
            }
            ember_core::DType::I16 => {
                type $S = i16;
                $body
            }
            d => Err(ember_core::Error::dtype("collective", format!("no wire type for {d}"))),
        }
    };
}
pub(crate) use with_scalar;

/// A tensor as it travels: itself when its dtype is a wire type, otherwise an f32 (half
/// types) or u8 (bool) copy written back by [`Wired::finish`].
#[derive(Clone, Debug)]
pub(crate) struct Wired {
    orig: Tensor,
    pub(crate) wire: Tensor,
}

impl Wired {
    /// Checks `t` can travel (contiguous, on the CPU) and makes its wire form.
    pub(crate) fn new(op: &'static str, t: &Tensor) -> Result<Wired> {
        if !t.is_contiguous() {
            return Err(Error::value(op, "Tensors must be contiguous"));
        }
        let wire = match t.dtype() {
            DType::F16 | DType::BF16 => t.detach().to_dtype(DType::F32)?,
            DType::Bool => t.detach().to_dtype(DType::U8)?,
            _ => t.clone(),
        };
        Ok(Wired { orig: t.clone(), wire })
    }

    /// The dtype on the wire.
    pub(crate) fn dtype(&self) -> DType {
        self.wire.dtype()
    }

    /// Writes a converted wire form back into the original tensor.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.orig.dtype() == self.wire.dtype() {
            return Ok(());
        }
        no_grad(|| self.orig.copy_(&self.wire))
    }
}

/// Every tensor in `ts` has `shape` and `dtype` (PyTorch's "tensor list" checks).
pub(crate) fn check_like(op: &'static str, what: &str, ts: &[Tensor], like: &Tensor) -> Result<()> {
    for (i, t) in ts.iter().enumerate() {
        if t.shape() != like.shape() || t.dtype() != like.dtype() {
            return Err(Error::value(
                op,
                format!(
                    "{what}[{i}] has shape {:?} and dtype {}, expected shape {:?} and dtype {} (as the input)",
                    t.shape(),
                    t.dtype(),
                    like.shape(),
                    like.dtype()
                ),
            ));
        }
    }
    Ok(())
}
