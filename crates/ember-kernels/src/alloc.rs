//! A global allocator that backs large buffers with transparent huge pages.
//!
//! Decoding a transformer streams every weight once per token, so it runs at memory bandwidth.
//! On the machines we measure, one thread reads ~17 GB/s through 4 KiB pages and ~29 GB/s
//! through 2 MiB pages (fewer TLB misses); Linux only uses huge pages for anonymous memory that
//! was `madvise(MADV_HUGEPAGE)`d when `/sys/kernel/mm/transparent_hugepage/enabled` is
//! `madvise` (the common default). [`HugePageAlloc`] wraps the system allocator: requests of
//! at least [`HUGE_THRESHOLD`] bytes are aligned to 2 MiB and advised before their first byte
//! is touched, so the kernel faults them in as huge pages. Smaller requests go straight to the
//! system allocator. It is opt-in, as allocators are: the `ember` binary installs it, and a
//! program using the library does the same with
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: ember::HugePageAlloc = ember::HugePageAlloc;
//! ```
//!
//! On other systems it is the system allocator with a larger alignment for large requests.

use std::alloc::{GlobalAlloc, Layout, System};

/// Size of a transparent huge page on x86-64 and (with 4 KiB base pages) aarch64 Linux.
pub const HUGE_PAGE: usize = 2 << 20;
/// Requests at least this large are huge-page aligned and advised.
pub const HUGE_THRESHOLD: usize = HUGE_PAGE;

/// The system allocator, with transparent huge pages for large buffers (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct HugePageAlloc;

/// The layout actually requested from the system for a large `layout`.
fn huge_layout(layout: Layout) -> Layout {
    // Cannot fail: HUGE_PAGE is a power of two, and the size is below isize::MAX - HUGE_PAGE
    // for any allocation the system could satisfy (the caller's layout was valid).
    Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
}

fn is_huge(size: usize) -> bool {
    size >= HUGE_THRESHOLD
}

/// Asks the kernel to back `[ptr, ptr + len)` with huge pages. Advice only: failure (an old
/// kernel, THP set to `never`) leaves ordinary pages, so the result is ignored.
#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr` is page aligned (it is HUGE_PAGE aligned) and the range lies inside one
    // allocation we own. MADV_HUGEPAGE changes how the kernel backs the pages, never their
    // contents or validity, so no Rust-visible memory changes.
    unsafe {
        libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _len: usize) {}

// SAFETY: every method forwards to `System` with a layout that satisfies the caller's (same
// size, equal or larger alignment), and `dealloc`/`realloc` recompute that same layout from the
// caller's layout, so each block is freed with the layout it was allocated with.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_huge(layout.size()) {
            // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: `huge_layout` keeps the size (non-zero) and only raises the alignment.
        let p = unsafe { System.alloc(huge_layout(layout)) };
        if !p.is_null() {
            advise_huge(p, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_huge(layout.size()) {
            // SAFETY: forwarded unchanged.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // Advise first, then zero: the zeroing is the first touch, which is what makes the
        // kernel fault in huge pages rather than 4 KiB ones.
        // SAFETY: as in `alloc`.
        let p = unsafe { self.alloc(layout) };
        if !p.is_null() {
            // SAFETY: `p` points to `layout.size()` writable bytes just allocated.
            unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let l = if is_huge(layout.size()) { huge_layout(layout) } else { layout };
        // SAFETY: `ptr` was allocated by `alloc` with exactly `l` (same rule, same size).
        unsafe { System.dealloc(ptr, l) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !is_huge(layout.size()) && !is_huge(new_size) {
            // SAFETY: both the old and the new block use the caller's alignment unchanged.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // Crossing or above the threshold: the alignment differs between the two sides, so
        // move the data by hand (the system's realloc cannot change alignment).
        // SAFETY: the caller guarantees `new_size`, with `layout.align()`, is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min(old, new)` bytes long.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(n: usize) -> Layout {
        Layout::from_size_align(n, 8).unwrap()
    }

    #[test]
    fn small_and_large_blocks_round_trip_through_realloc() {
        let a = HugePageAlloc;
        // SAFETY (test): every pointer is used within its current size and freed once with the
        // layout it was last (re)allocated with.
        unsafe {
            let mut size = 1000;
            let mut p = a.alloc(layout(size));
            assert!(!p.is_null());
            for i in 0..size {
                *p.add(i) = (i % 251) as u8;
            }
            // Grow across the threshold, grow above it, then shrink back below it.
            for new_size in [HUGE_THRESHOLD + 5000, 3 * HUGE_THRESHOLD, 700] {
                p = a.realloc(p, layout(size), new_size);
                assert!(!p.is_null());
                if is_huge(new_size) {
                    assert_eq!(p as usize % HUGE_PAGE, 0, "large blocks are huge-page aligned");
                }
                let kept = size.min(new_size).min(1000);
                assert!((0..kept).all(|i| *p.add(i) == (i % 251) as u8), "contents kept");
                size = new_size;
            }
            a.dealloc(p, layout(size));
            let z = a.alloc_zeroed(layout(3 * HUGE_PAGE + 17));
            assert!((0..3 * HUGE_PAGE + 17).step_by(4093).all(|i| *z.add(i) == 0));
            a.dealloc(z, layout(3 * HUGE_PAGE + 17));
        }
    }

    /// Where the kernel allows huge pages for advised memory, a large zeroed block is backed
    /// by them (read back from /proc/self/smaps).
    #[cfg(target_os = "linux")]
    #[test]
    fn large_blocks_are_backed_by_huge_pages_where_the_kernel_allows() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
        if !(mode.contains("[madvise]") || mode.contains("[always]")) {
            eprintln!("transparent huge pages are off here ({mode:?}): nothing to check");
            return;
        }
        if std::env::var_os("EMBER_EMULATED").is_some() {
            eprintln!("under emulation (qemu-user ignores madvise): nothing to check");
            return;
        }
        let a = HugePageAlloc;
        let n = 8 * HUGE_PAGE;
        // SAFETY (test): allocated, read while live, freed once with its layout.
        let p = unsafe { a.alloc_zeroed(layout(n)) };
        let start = p as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        // Find the mapping that contains the block and sum its AnonHugePages.
        let mut huge_kb = 0;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                        inside = lo <= start && start < hi;
                        continue;
                    }
                }
            }
            if inside && line.starts_with("AnonHugePages:") {
                huge_kb = line.split_whitespace().nth(1).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
            }
        }
        // SAFETY (test): freed once, with the layout it was allocated with.
        unsafe { a.dealloc(p, layout(n)) };
        // The kernel may be short of free huge pages on a busy machine; half is a clear signal
        // that the advice took effect (without it, a `madvise` system gives none at all).
        if mode.contains("[madvise]") {
            assert!(huge_kb * 1024 >= n / 2, "only {huge_kb} KiB of {n} bytes in huge pages");
        }
    }
}
