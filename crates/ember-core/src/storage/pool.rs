//! A size-bucketed pool of large CPU buffers.
//!
//! A fresh 64 MiB allocation costs 18-28 ms on this kind of machine (the kernel maps and zeroes
//! every page on first touch), against 4-5 ms to write an existing buffer; an eager framework
//! allocates a new output per op, so reuse matters as much as the kernels. Freed buffers of at
//! least [`MIN_POOLED_BYTES`] go back to a bucket keyed by dtype and capacity class (powers of
//! two and 1.5x powers of two, so at most a third is wasted); outputs of the same size take them
//! back without touching the OS. The pool holds at most [`MAX_POOL_BYTES`] or an eighth of
//! the machine's memory, whichever is less, and [`MAX_PER_BUCKET`] buffers per class; when full,
//! it frees the classes used longest ago. `EMBER_POOL=0` turns it off.
//!
//! Why that much: a training step frees its activations at the end of backward and allocates
//! the same sizes again in the next forward. A pool smaller than a step's activations sends the
//! rest back to the OS, and every step faults them in again (nanoGPT-char at 2 threads: 2-5% of
//! each step in the kernel's page clearing with a 256 MiB pool, none with 2 GiB; the step got
//! 5-8% faster and peak RSS fell from 1.64 to 1.60 GB, since reused buffers are never doubled).
//! In steady state the pool plus the live tensors stay under one step's peak.
//!
//! Buffers come back with their old contents (initialised memory, so no `unsafe`): callers that
//! need zeros ask for [`take_zeroed`].

use super::CpuStorage;
use crate::dtype::{DType, Element};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Buffers smaller than this go straight to the system allocator (fast for small sizes).
pub const MIN_POOLED_BYTES: usize = 64 << 10;
/// Most bytes the pool holds while they are unused (less on machines with under 16 GiB).
pub const MAX_POOL_BYTES: usize = 2 << 30;
/// Most buffers kept per (dtype, capacity class): a training step holds dozens of same-sized
/// activations at once, and all of them come back when the graph is freed.
pub const MAX_PER_BUCKET: usize = 256;

/// Buffers of one (dtype, capacity class), and when the class was last used (for eviction).
#[derive(Default)]
struct Bucket {
    buffers: Vec<CpuStorage>,
    last_used: u64,
}

struct Pool {
    buckets: Mutex<HashMap<(DType, usize), Bucket>>,
    tick: AtomicUsize,
    held: AtomicUsize,
    enabled: bool,
    cap: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cap = MAX_POOL_BYTES.min(total_memory().map_or(MAX_POOL_BYTES, |m| m / 8));
        Pool::new(cap, std::env::var("EMBER_POOL").map_or(true, |v| v != "0"))
    })
}

/// Physical memory in bytes, where the OS says (Linux: `MemTotal` in /proc/meminfo).
fn total_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bytes currently held (unused) by the pool.
pub fn pooled_bytes() -> usize {
    pool().held.load(Ordering::Relaxed)
}

/// Capacity class of `n` elements: the next power of two or 1.5 x power of two.
fn class(n: usize) -> usize {
    if n <= 2 {
        return n;
    }
    let p = n.next_power_of_two();
    let three_quarters = p / 4 * 3;
    if n <= three_quarters {
        three_quarters
    } else {
        p
    }
}

fn pooled_size(n: usize, elem: usize) -> bool {
    n.saturating_mul(elem) >= MIN_POOLED_BYTES
}

/// A vector of `n` elements with arbitrary (initialised) contents: a pooled buffer when one of
/// the right class is free, otherwise a fresh one filled with `T::default()`.
pub fn take<T: Element>(n: usize) -> Vec<T> {
    pool().take(n)
}

/// Like [`take`], but every element is `T::default()` (zero).
pub fn take_zeroed<T: Element>(n: usize) -> Vec<T> {
    let mut v = take::<T>(n);
    v.fill(T::default());
    v
}

/// Returns a buffer to the pool (or frees it when it is small, odd-sized or the pool is full).
pub(crate) fn give(s: CpuStorage) {
    pool().give(s)
}

impl Pool {
    fn new(cap: usize, enabled: bool) -> Pool {
        Pool { buckets: Mutex::new(HashMap::new()), tick: AtomicUsize::new(0), held: AtomicUsize::new(0), enabled, cap }
    }

    fn take<T: Element>(&self, n: usize) -> Vec<T> {
        let elem = T::DTYPE.size_in_bytes();
        if !pooled_size(n, elem) || !self.enabled {
            return vec![T::default(); n];
        }
        let cap = class(n);
        let reused = {
            let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            b.get_mut(&(T::DTYPE, cap)).and_then(|bucket| {
                bucket.last_used = self.tick.fetch_add(1, Ordering::Relaxed) as u64;
                bucket.buffers.pop()
            })
        };
        if let Some(s) = reused {
            self.held.fetch_sub(cap * elem, Ordering::Relaxed);
            if let Some(mut v) = T::take_vec(s) {
                if v.len() >= n {
                    v.truncate(n);
                } else {
                    v.resize(n, T::default());
                }
                return v;
            }
        }
        let mut v = Vec::with_capacity(cap);
        v.resize(n, T::default());
        v
    }

    fn give(&self, s: CpuStorage) {
        let (dtype, cap) = (s.dtype(), crate::with_storage!(&s, v => v.capacity()));
        let bytes = cap * dtype.size_in_bytes();
        if !self.enabled || !pooled_size(cap, dtype.size_in_bytes()) || class(cap) != cap || bytes > self.cap {
            return;
        }
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Make room by freeing buffers of the classes used longest ago: workloads change sizes
        // (one model, then another), and stale classes must not block the current ones.
        while self.held.load(Ordering::Relaxed) + bytes > self.cap {
            let oldest = b
                .iter()
                .filter(|(k, v)| **k != (dtype, cap) && !v.buffers.is_empty())
                .min_by_key(|(_, v)| v.last_used)
                .map(|(k, _)| *k);
            let Some(key) = oldest else { return };
            if let Some(victim) = b.get_mut(&key).and_then(|v| v.buffers.pop()) {
                self.held.fetch_sub(key.1 * key.0.size_in_bytes(), Ordering::Relaxed);
                drop(victim);
            }
        }
        let bucket = b.entry((dtype, cap)).or_default();
        bucket.last_used = self.tick.fetch_add(1, Ordering::Relaxed) as u64;
        if bucket.buffers.len() < MAX_PER_BUCKET {
            bucket.buffers.push(s);
            self.held.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

/// Frees every pooled buffer (e.g. before measuring peak memory).
pub fn clear() {
    pool().buckets.lock().unwrap_or_else(|e| e.into_inner()).clear();
    pool().held.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_bound_the_waste() {
        for n in [3, 5, 100, 1000, 65_537, 1 << 20, (1 << 20) + 1, 3 << 19] {
            let c = class(n);
            assert!(c >= n && (c as f64) <= n as f64 * 1.5 + 2.0, "{n} -> {c}");
            assert_eq!(class(c), c, "classes are fixed points");
        }
    }

    #[test]
    fn stale_classes_are_evicted_for_current_ones() {
        // Fill a pool with one class, then free a buffer of another: it must be kept.
        let pool = Pool::new(64 << 20, true);
        let big = (64 << 20) / 4 / 4; // f32 elements filling a quarter of the pool
        let mut vs: Vec<Vec<f32>> = (0..4).map(|_| pool.take::<f32>(big)).collect();
        for v in vs.drain(..) {
            pool.give(CpuStorage::F32(crate::storage::Buf::owned(v)));
        }
        assert_eq!(pool.held.load(Ordering::Relaxed), 64 << 20, "four quarters fill it");
        // big / 2 + 7 elements fall in the 3/4 class of the same power of two: another class.
        let n = big / 2 + 7;
        assert_eq!(class(n), big / 4 * 3);
        let other = pool.take::<f32>(n);
        let ptr = other.as_ptr();
        pool.give(CpuStorage::F32(crate::storage::Buf::owned(other)));
        // One big buffer evicted (16 MiB), the 12 MiB one kept.
        assert_eq!(pool.held.load(Ordering::Relaxed), (48 << 20) + (12 << 20), "the cap holds");
        let back = pool.take::<f32>(n);
        assert_eq!(back.as_ptr(), ptr, "the newer class was pooled despite a full pool");
    }

    #[test]
    fn freed_buffers_are_reused() {
        let n = 1 << 20;
        let v = take::<f32>(n);
        let ptr = v.as_ptr();
        give(CpuStorage::F32(crate::storage::Buf::owned(v)));
        let w = take::<f32>(n - 5);
        assert_eq!(w.len(), n - 5);
        assert_eq!(w.as_ptr(), ptr, "the same allocation came back");
        let z = take_zeroed::<f32>(16);
        assert!(z.iter().all(|&x| x == 0.0));
    }
}
