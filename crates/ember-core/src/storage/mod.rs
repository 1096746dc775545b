//! Tensor storage: a typed, reference-counted buffer shared by all views of a tensor, with the
//! version counter that autograd checks and a global count of live bytes.
//!
//! Buffers are `Vec`s of the element type, or memory another library owns ([`Buf`], for
//! `from_numpy`/`from_dlpack`); the count of live bytes
//! (`live_bytes()`) is how tests prove that a training loop's memory stays flat.

pub mod buf;
pub mod pool;

pub use buf::Buf;

use crate::dtype::DType;
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The elements of a CPU buffer, one variant per dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum CpuStorage {
    /// bool elements.
    Bool(Buf<bool>),
    /// u8 elements.
    U8(Buf<u8>),
    /// i8 elements.
    I8(Buf<i8>),
    /// i16 elements.
    I16(Buf<i16>),
    /// i32 elements.
    I32(Buf<i32>),
    /// i64 elements.
    I64(Buf<i64>),
    /// f16 elements.
    F16(Buf<f16>),
    /// bf16 elements.
    BF16(Buf<bf16>),
    /// f32 elements.
    F32(Buf<f32>),
    /// f64 elements.
    F64(Buf<f64>),
}

/// `match` on a [`CpuStorage`], binding the vector as `$v` in every arm.
#[macro_export]
#[doc(hidden)]
macro_rules! with_storage {
    ($s:expr, $v:ident => $e:expr) => {
        match $s {
            $crate::storage::CpuStorage::Bool($v) => $e,
            $crate::storage::CpuStorage::U8($v) => $e,
            $crate::storage::CpuStorage::I8($v) => $e,
            $crate::storage::CpuStorage::I16($v) => $e,
            $crate::storage::CpuStorage::I32($v) => $e,
            $crate::storage::CpuStorage::I64($v) => $e,
            $crate::storage::CpuStorage::F16($v) => $e,
            $crate::storage::CpuStorage::BF16($v) => $e,
            $crate::storage::CpuStorage::F32($v) => $e,
            $crate::storage::CpuStorage::F64($v) => $e,
        }
    };
}

/// `match` on a [`CpuStorage`] producing a new storage of the same variant from `$e`.
#[macro_export]
#[doc(hidden)]
macro_rules! map_storage {
    ($s:expr, $v:ident => $e:expr) => {
        match $s {
            $crate::storage::CpuStorage::Bool($v) => $crate::storage::CpuStorage::Bool($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::U8($v) => $crate::storage::CpuStorage::U8($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::I8($v) => $crate::storage::CpuStorage::I8($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::I16($v) => $crate::storage::CpuStorage::I16($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::I32($v) => $crate::storage::CpuStorage::I32($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::I64($v) => $crate::storage::CpuStorage::I64($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::F16($v) => $crate::storage::CpuStorage::F16($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::BF16($v) => $crate::storage::CpuStorage::BF16($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::F32($v) => $crate::storage::CpuStorage::F32($crate::storage::Buf::owned($e)),
            $crate::storage::CpuStorage::F64($v) => $crate::storage::CpuStorage::F64($crate::storage::Buf::owned($e)),
        }
    };
}

impl CpuStorage {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::Bool(_) => DType::Bool,
            CpuStorage::U8(_) => DType::U8,
            CpuStorage::I8(_) => DType::I8,
            CpuStorage::I16(_) => DType::I16,
            CpuStorage::I32(_) => DType::I32,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::F16(_) => DType::F16,
            CpuStorage::BF16(_) => DType::BF16,
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_storage!(self, v => v.len())
    }

    /// Whether the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `src`'s elements into this buffer; false (nothing copied) when the dtypes or
    /// lengths differ.
    pub fn copy_from(&mut self, src: &CpuStorage) -> bool {
        macro_rules! same {
            ($($v:ident),*) => {
                match (self, src) {
                    $((CpuStorage::$v(d), CpuStorage::$v(s)) if d.len() == s.len() => {
                        d.copy_from_slice(s);
                        true
                    })*
                    _ => false,
                }
            };
        }
        same!(Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64)
    }

    /// `n` zero elements of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> CpuStorage {
        match dtype {
            DType::Bool => CpuStorage::Bool(Buf::owned(vec![false; n])),
            DType::U8 => CpuStorage::U8(Buf::owned(vec![0; n])),
            DType::I8 => CpuStorage::I8(Buf::owned(vec![0; n])),
            DType::I16 => CpuStorage::I16(Buf::owned(vec![0; n])),
            DType::I32 => CpuStorage::I32(Buf::owned(vec![0; n])),
            DType::I64 => CpuStorage::I64(Buf::owned(vec![0; n])),
            DType::F16 => CpuStorage::F16(Buf::owned(vec![f16::ZERO; n])),
            DType::BF16 => CpuStorage::BF16(Buf::owned(vec![bf16::ZERO; n])),
            DType::F32 => CpuStorage::F32(Buf::owned(vec![0.0; n])),
            DType::F64 => CpuStorage::F64(Buf::owned(vec![0.0; n])),
        }
    }

    /// `n` zero elements of `dtype`, reusing a pooled buffer when one is free.
    pub fn zeros_pooled(dtype: DType, n: usize) -> CpuStorage {
        match dtype {
            DType::Bool => CpuStorage::Bool(Buf::owned(pool::take_zeroed(n))),
            DType::U8 => CpuStorage::U8(Buf::owned(pool::take_zeroed(n))),
            DType::I8 => CpuStorage::I8(Buf::owned(pool::take_zeroed(n))),
            DType::I16 => CpuStorage::I16(Buf::owned(pool::take_zeroed(n))),
            DType::I32 => CpuStorage::I32(Buf::owned(pool::take_zeroed(n))),
            DType::I64 => CpuStorage::I64(Buf::owned(pool::take_zeroed(n))),
            DType::F16 => CpuStorage::F16(Buf::owned(pool::take_zeroed(n))),
            DType::BF16 => CpuStorage::BF16(Buf::owned(pool::take_zeroed(n))),
            DType::F32 => CpuStorage::F32(Buf::owned(pool::take_zeroed(n))),
            DType::F64 => CpuStorage::F64(Buf::owned(pool::take_zeroed(n))),
        }
    }
}

/// The most bytes one tensor may describe: the machine's RAM plus swap (read once from
/// `/proc/meminfo`; `isize::MAX` where that is not available). A larger request could only
/// abort the process (Rust aborts when an allocation fails), so ops refuse it as an error.
pub fn memory_limit() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let kib = |info: &str, key: &str| -> Option<usize> {
            let line = info.lines().find(|l| l.starts_with(key))?;
            line[key.len()..].trim().trim_end_matches("kB").trim().parse::<usize>().ok()?.checked_mul(1024)
        };
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| kib(&info, "MemTotal:")?.checked_add(kib(&info, "SwapTotal:").unwrap_or(0)))
            .unwrap_or(isize::MAX as usize)
    })
}

/// `bytes` in KiB/MiB/GiB/TiB for messages.
pub fn human_bytes(bytes: u128) -> String {
    let mut v = bytes as f64;
    for unit in ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"] {
        if v < 1024.0 || unit == "PiB" {
            return if unit == "bytes" { format!("{bytes} bytes") } else { format!("{v:.1} {unit}") };
        }
        v /= 1024.0;
    }
    unreachable!("the loop returns at PiB")
}

/// The element count of `shape`, checked to fit in memory as `dtype` elements: an
/// [`Error::Alloc`] naming the bytes needed otherwise (also when the count overflows `usize`).
#[track_caller]
pub fn checked_numel(op: &'static str, shape: &[usize], dtype: DType) -> Result<usize> {
    let n = shape.iter().try_fold(1u128, |a, &d| a.checked_mul(d as u128));
    let bytes = n.and_then(|n| n.checked_mul(dtype.size_in_bytes() as u128));
    // Every loop bound (the sizes before, at and after a dim) is a product of the non-zero
    // sizes, so those must fit in memory too: an empty `[0, 2^40]` tensor would have kernels
    // count to 2^40 (PyTorch accepts such shapes; Ember refuses them rather than hang).
    let span = shape.iter().try_fold(1u128, |a, &d| a.checked_mul(d.max(1) as u128));
    let fits = |b: Option<u128>| b.is_some_and(|b| b <= memory_limit() as u128);
    match (n, bytes) {
        (Some(n), b) if fits(b) && fits(span.and_then(|s| s.checked_mul(dtype.size_in_bytes() as u128))) => {
            Ok(n as usize)
        }
        (_, b) => Err(Error::alloc(
            op,
            format!(
                "a {dtype} tensor of shape {shape:?} needs {}, more than this machine's {} of memory",
                b.map_or_else(|| "more than 2^128 bytes".to_string(), human_bytes),
                human_bytes(memory_limit() as u128)
            ),
        )),
    }
}

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes held by all live tensor storages in this process.
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// The largest value [`live_bytes`] has reached.
pub fn peak_bytes() -> usize {
    PEAK_BYTES.load(Ordering::Relaxed)
}

/// A shared buffer: the elements behind a lock (views read concurrently; in-place ops write)
/// and the version counter bumped by every in-place write.
#[derive(Debug)]
pub struct Storage {
    data: RwLock<CpuStorage>,
    version: AtomicU64,
    nbytes: usize,
}

impl Storage {
    /// Wraps a buffer.
    pub fn new(data: CpuStorage) -> Storage {
        let nbytes = data.len() * data.dtype().size_in_bytes();
        let now = LIVE_BYTES.fetch_add(nbytes, Ordering::Relaxed) + nbytes;
        // A plain load first: the peak rarely moves, and `fetch_max` is a locked
        // compare-exchange loop on every tensor creation.
        if now > PEAK_BYTES.load(Ordering::Relaxed) {
            PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
        }
        Storage { data: RwLock::new(data), version: AtomicU64::new(0), nbytes }
    }

    /// Shared access to the elements. A poisoned lock (a panic elsewhere while writing) still
    /// yields the data: kernels never leave a buffer half-typed.
    pub fn read(&self) -> RwLockReadGuard<'_, CpuStorage> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive access for in-place ops; bumps the version counter.
    pub fn write(&self) -> RwLockWriteGuard<'_, CpuStorage> {
        self.version.fetch_add(1, Ordering::Relaxed);
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Copies this storage's elements into `other` and swaps the two buffers, so this
    /// storage's users now read and write `other`'s former memory. False (nothing done) when
    /// the dtypes or lengths differ. Both are locked, in address order, so two swaps of the
    /// same pair cannot deadlock.
    pub fn move_into(&self, other: &Storage) -> bool {
        if std::ptr::eq(self, other) {
            return true;
        }
        let (first, second) =
            if (self as *const Storage) < (other as *const Storage) { (self, other) } else { (other, self) };
        let (mut a, mut b) = (first.write(), second.write());
        let (mine, theirs) = if std::ptr::eq(first, self) { (&mut *a, &mut *b) } else { (&mut *b, &mut *a) };
        if !theirs.copy_from(mine) {
            return false;
        }
        std::mem::swap(mine, theirs);
        true
    }

    /// How many in-place writes this buffer has seen.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Size in bytes.
    pub fn nbytes(&self) -> usize {
        self.nbytes
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        LIVE_BYTES.fetch_sub(self.nbytes, Ordering::Relaxed);
        let data = std::mem::replace(
            self.data.get_mut().unwrap_or_else(|e| e.into_inner()),
            CpuStorage::Bool(Buf::owned(Vec::new())),
        );
        pool::give(data);
    }
}
