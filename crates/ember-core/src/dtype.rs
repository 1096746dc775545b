//! Element types: the runtime [`DType`], PyTorch's promotion rules, and the [`Element`] trait
//! that ties a Rust type to its dtype and storage variant.

use crate::storage::{Buf, CpuStorage};
use half::{bf16, f16};
use std::fmt;

/// The element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool` (1 byte).
    Bool,
    /// `u8`.
    U8,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`, PyTorch's default integer type.
    I64,
    /// IEEE half precision, computed with f32 accumulation.
    F16,
    /// bfloat16, computed with f32 accumulation.
    BF16,
    /// `f32`, the default float type.
    F32,
    /// `f64`.
    F64,
}

/// All dtypes, in promotion order within each category.
pub const ALL_DTYPES: [DType; 10] = [
    DType::Bool,
    DType::U8,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::F16,
    DType::BF16,
    DType::F32,
    DType::F64,
];

impl DType {
    /// Bytes per element.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// Floating point (the only dtypes that can require grad).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Integer (not bool).
    pub fn is_int(self) -> bool {
        matches!(self, DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// PyTorch's name (`torch.float32` prints as `float32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The safetensors name (`F32`, `BF16`, `I64`, `BOOL`, ...).
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DType::Bool => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::I16 => "I16",
            DType::I32 => "I32",
            DType::I64 => "I64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
        }
    }

    pub(crate) fn category(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => 1,
            _ => 2,
        }
    }

    /// The result dtype of a binary op on tensors of dtypes `a` and `b` (`torch.promote_types`).
    pub fn promote(a: DType, b: DType) -> DType {
        if a == b {
            return a;
        }
        match a.category().cmp(&b.category()) {
            std::cmp::Ordering::Less => b,
            std::cmp::Ordering::Greater => a,
            std::cmp::Ordering::Equal => match (a, b) {
                // Neither half type holds the other: PyTorch promotes the pair to f32.
                (DType::F16, DType::BF16) | (DType::BF16, DType::F16) => DType::F32,
                // Neither holds the other's range: the pair needs 16 bits.
                (DType::U8, DType::I8) | (DType::I8, DType::U8) => DType::I16,
                _ => a.max(b),
            },
        }
    }

    /// The dtype of `tensor op python_float`: floats keep their dtype, integers and bools
    /// become the default float (f32), as in PyTorch.
    pub fn promote_with_float_scalar(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::F32
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust element type with a tensor dtype. Sealed: implemented for the ten dtypes only.
pub trait Element: Copy + Send + Sync + fmt::Debug + PartialOrd + Default + 'static + private::Sealed {
    /// The dtype of this type.
    const DTYPE: DType;
    /// Converts to f64 (exact for all but i64 beyond 2^53).
    fn to_f64(self) -> f64;
    /// Converts from f64 as `as` does (saturating for integers; bool is `v != 0`).
    fn from_f64(v: f64) -> Self;
    /// Wraps a vector into storage.
    fn into_storage(v: Vec<Self>) -> CpuStorage;
    /// Wraps a buffer (owned or foreign) into storage.
    fn into_buf_storage(v: Buf<Self>) -> CpuStorage;
    /// The storage's elements, if it holds this type.
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    /// The storage's elements, mutably, if it holds this type.
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]>;
    /// The storage's vector, if it holds this type.
    fn take_vec(s: CpuStorage) -> Option<Vec<Self>>;
}

mod private {
    pub trait Sealed {}
}

macro_rules! element {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl private::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            #[inline]
            fn to_f64(self) -> f64 {
                let f: fn($t) -> f64 = $to;
                f(self)
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                let f: fn(f64) -> $t = $from;
                f(v)
            }
            fn into_storage(v: Vec<Self>) -> CpuStorage {
                CpuStorage::$variant(Buf::owned(v))
            }
            fn into_buf_storage(v: Buf<Self>) -> CpuStorage {
                CpuStorage::$variant(v)
            }
            fn slice(s: &CpuStorage) -> Option<&[Self]> {
                match s {
                    CpuStorage::$variant(v) => Some(v.as_slice()),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
                match s {
                    CpuStorage::$variant(v) => Some(v.as_mut_slice()),
                    _ => None,
                }
            }
            fn take_vec(s: CpuStorage) -> Option<Vec<Self>> {
                match s {
                    CpuStorage::$variant(v) => Some(v.into_vec()),
                    _ => None,
                }
            }
        }
    };
}

element!(f32, F32, |x| x as f64, |v| v as f32);
element!(f64, F64, |x| x, |v| v);
element!(f16, F16, |x| x.to_f64(), f16::from_f64);
// f64 -> bf16 rounds through f32, as PyTorch's conversion does (a direct rounding differs on ties).
element!(bf16, BF16, |x| x.to_f64(), |v| bf16::from_f32(v as f32));
element!(i64, I64, |x| x as f64, |v| v as i64);
element!(i32, I32, |x| x as f64, |v| v as i32);
element!(i16, I16, |x| x as f64, |v| v as i16);
element!(i8, I8, |x| x as f64, |v| v as i8);
element!(u8, U8, |x| x as f64, |v| v as u8);
element!(bool, Bool, |x| if x { 1.0 } else { 0.0 }, |v| v != 0.0);

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn promotion_follows_torch_promote_types() {
        // Expected values are torch.promote_types(a, b) for each pair.
        let cases = [
            (Bool, U8, U8),
            (Bool, F16, F16),
            (U8, I32, I32),
            (U8, I8, I16),
            (I8, I16, I16),
            (U8, I16, I16),
            (Bool, I8, I8),
            (I16, I32, I32),
            (I8, F16, F16),
            (I32, I64, I64),
            (U8, I64, I64),
            (I64, F16, F16),
            (I64, BF16, BF16),
            (F16, BF16, F32),
            (F16, F32, F32),
            (BF16, F64, F64),
            (F32, F64, F64),
            (I32, F32, F32),
        ];
        for (a, b, want) in cases {
            assert_eq!(DType::promote(a, b), want, "{a} {b}");
            assert_eq!(DType::promote(b, a), want, "{b} {a}");
        }
        assert_eq!(I64.promote_with_float_scalar(), F32);
        assert_eq!(F16.promote_with_float_scalar(), F16);
    }
}
