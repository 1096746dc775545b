//! [`Buf`]: the elements of one storage, either a `Vec` Ember allocated or memory another
//! library owns (a NumPy array, a DLPack producer), borrowed for as long as the storage lives.
//!
//! Sharing foreign memory is what `torch.from_numpy` and `torch.from_dlpack` promise: no copy,
//! writes visible on both sides. Everything else in Ember sees a `&[T]`/`&mut [T]` through
//! `Deref`, so kernels never know the difference. This is the only `unsafe` in the core: a
//! slice built from a foreign pointer, valid because the owner that keeps that memory alive is
//! held (and dropped last) by the same value.

#![allow(unsafe_code)]

use crate::dtype::{DType, Element};
use ember_kernels::mmap::MmapMut;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

/// What keeps foreign memory alive; dropping it releases the memory (e.g. the NumPy array's
/// reference, or a DLPack deleter call).
pub type Owner = Box<dyn Send + Sync>;

/// The elements of a CPU buffer.
pub enum Buf<T> {
    /// Memory Ember allocated (pooled on drop when large).
    Owned(Vec<T>),
    /// `len` elements at `ptr`, kept alive by `owner`.
    Foreign {
        /// First element.
        ptr: NonNull<T>,
        /// Number of elements.
        len: usize,
        /// Releases the memory when dropped; never touched otherwise.
        owner: Owner,
    },
}

// SAFETY: a `Buf` is a uniquely owned buffer of `T`s, like a `Vec<T>`; the foreign variant's
// pointer is only dereferenced through `&self`/`&mut self`, so Rust's borrow rules on the `Buf`
// carry over to the memory. The owner is itself `Send + Sync`.
unsafe impl<T: Send> Send for Buf<T> {}
// SAFETY: as above; shared access only hands out `&[T]`, which is `Sync` when `T` is.
unsafe impl<T: Sync> Sync for Buf<T> {}

/// A private, writable (copy-on-write) file mapping whose ranges tensors borrow: a loaded
/// checkpoint's tensors live in the page cache until written (`ember_kernels::mmap`).
pub struct FileMap {
    /// The first byte, taken from the mapping by `&mut` before it was shared, so writes
    /// through it are through a unique pointer, never through a shared reference.
    base: NonNull<u8>,
    len: usize,
    /// Unmapped when the last borrowing tensor drops its `Arc<FileMap>`.
    _map: MmapMut,
}

// SAFETY: the mapping is plain process memory owned by this value; the pointer is only used
// to build `Buf`s over disjoint ranges (see `Buf::from_file_map`), which carry the aliasing
// rules from there.
unsafe impl Send for FileMap {}
// SAFETY: as above; `&FileMap` exposes nothing but its length.
unsafe impl Sync for FileMap {}

impl FileMap {
    /// Takes ownership of a private mapping.
    pub fn new(mut map: MmapMut) -> FileMap {
        let len = map.len();
        let base = NonNull::new(map.as_mut_ptr()).unwrap_or(NonNull::dangling());
        FileMap { base, len, _map: map }
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Element> Buf<T> {
    /// `len` elements of `T` at byte `offset` of `map`, borrowed (kept alive by a reference to
    /// the map): `None` when the range is outside the map or misaligned for `T`, and for bool
    /// (whose bytes must be checked to be 0 or 1). The caller gives each range to one buffer
    /// only (a checkpoint's tensors do not overlap), so no two buffers alias.
    pub fn from_file_map(map: &Arc<FileMap>, offset: usize, len: usize) -> Option<Buf<T>> {
        if T::DTYPE == DType::Bool {
            return None;
        }
        let end = len.checked_mul(std::mem::size_of::<T>())?.checked_add(offset)?;
        if end > map.len || !(map.base.as_ptr() as usize).wrapping_add(offset).is_multiple_of(std::mem::align_of::<T>())
        {
            return None;
        }
        if len == 0 {
            return Some(Buf::Owned(Vec::new()));
        }
        // SAFETY: `offset + len * size_of::<T>() <= map.len` (checked), so the range is inside
        // the mapping, which is readable and writable (a private copy-on-write map) and stays
        // mapped while `owner` holds the `Arc`. The start is aligned for `T` (checked), and every
        // bit pattern is a valid `T` for Ember's non-bool element types (integers, IEEE floats,
        // f16/bf16), so the bytes are initialised `T`s. Disjointness from other buffers is the
        // caller's contract above.
        unsafe {
            let ptr = NonNull::new_unchecked(map.base.as_ptr().add(offset).cast::<T>());
            Some(Buf::foreign(ptr, len, Box::new(map.clone())))
        }
    }
}

impl<T> Buf<T> {
    /// Wraps a vector Ember allocated.
    pub fn owned(v: Vec<T>) -> Buf<T> {
        Buf::Owned(v)
    }

    /// Borrows `len` elements of memory owned by another library.
    ///
    /// # Safety
    /// `ptr` must be aligned for `T` and point to `len` initialised, valid `T`s that stay
    /// allocated, and are not freed or moved, until `owner` is dropped. Other writers of that
    /// memory (the other library) race with Ember as they would with PyTorch: the caller
    /// documents that contract to its users.
    pub unsafe fn foreign(ptr: NonNull<T>, len: usize, owner: Owner) -> Buf<T> {
        Buf::Foreign { ptr, len, owner }
    }

    /// Whether Ember allocated this memory (only such buffers go back to the pool).
    pub fn is_owned(&self) -> bool {
        matches!(self, Buf::Owned(_))
    }

    /// Elements the allocation could hold without growing (0 for foreign memory, which Ember
    /// never reuses).
    pub fn capacity(&self) -> usize {
        match self {
            Buf::Owned(v) => v.capacity(),
            Buf::Foreign { .. } => 0,
        }
    }

    /// The elements as a slice.
    pub fn as_slice(&self) -> &[T] {
        self
    }

    /// The elements as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self
    }
}

impl<T: Clone> Buf<T> {
    /// The elements as a vector: the vector itself when owned, a copy of foreign memory.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Buf::Owned(v) => v,
            foreign => foreign.to_vec(),
        }
    }
}

impl<T> Deref for Buf<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Buf::Owned(v) => v,
            // SAFETY: `foreign`'s contract: `len` valid, aligned `T`s at `ptr` while `owner`
            // (a field of `self`) lives; the returned slice borrows `self`.
            Buf::Foreign { ptr, len, .. } => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) },
        }
    }
}

impl<T> DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Buf::Owned(v) => v,
            // SAFETY: as in `deref`; `&mut self` makes this the only Rust reference to the
            // memory for the slice's lifetime.
            Buf::Foreign { ptr, len, .. } => unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), *len) },
        }
    }
}

impl<T> From<Vec<T>> for Buf<T> {
    fn from(v: Vec<T>) -> Buf<T> {
        Buf::Owned(v)
    }
}

impl<T> FromIterator<T> for Buf<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Buf<T> {
        Buf::Owned(iter.into_iter().collect())
    }
}

/// A clone is always owned: copying foreign memory detaches it from its owner.
impl<T: Clone> Clone for Buf<T> {
    fn clone(&self) -> Buf<T> {
        Buf::Owned(self.to_vec())
    }
}

impl<T: fmt::Debug> fmt::Debug for Buf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: PartialEq> PartialEq for Buf<T> {
    fn eq(&self, other: &Buf<T>) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    // The memory lives in the owner, as a NumPy array's does.
    struct Flag(Arc<AtomicBool>, #[allow(dead_code)] Box<[f32]>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn foreign_memory_is_shared_and_released_by_its_owner() {
        let dropped = Arc::new(AtomicBool::new(false));
        let mut mem: Box<[f32]> = vec![1.0, 2.0, 3.0].into_boxed_slice();
        let ptr = NonNull::new(mem.as_mut_ptr()).unwrap();
        let owner = Flag(dropped.clone(), mem);
        // SAFETY: `ptr` points into `owner.1`, a boxed slice that does not move or free
        // before `owner` drops.
        let mut b = unsafe { Buf::foreign(ptr, 3, Box::new(owner)) };
        b[1] = 20.0;
        assert_eq!(&*b, &[1.0, 20.0, 3.0]);
        assert!(!b.is_owned() && b.capacity() == 0);
        let c = b.clone();
        assert!(c.is_owned());
        assert!(!dropped.load(Ordering::SeqCst));
        drop(b);
        assert!(dropped.load(Ordering::SeqCst));
        assert_eq!(c.into_vec(), vec![1.0, 20.0, 3.0]);
    }
}
