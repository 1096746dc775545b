//! Read-only memory maps of files, for loading weights without copying them: the model's
//! tensors point into the page cache, so a load costs no second copy of the file and runs at
//! page-cache speed, and processes serving the same file share its pages.
//!
//! The one hazard of any file mapping: if another process truncates the file while it is
//! mapped, reading the vanished pages raises SIGBUS. Loaders that cannot accept that read the
//! file instead (`EMBER_MMAP=0`).

use std::fs::File;
use std::io;

pub use memmap2::Mmap;

/// Whether loaders should map files (`EMBER_MMAP=0` turns mapping off).
pub fn enabled() -> bool {
    std::env::var("EMBER_MMAP").map_or(true, |v| v != "0")
}

/// Maps `file` read-only and asks the kernel to read ahead and, where it can, to back the map
/// with huge pages (weights are streamed once per token; fewer TLB misses).
pub fn map_readonly(file: &File) -> io::Result<Mmap> {
    // SAFETY: the map is read-only and private to this process; the file is opened read-only.
    // Its contents can still change under us only if another process writes or truncates the
    // file, which the module docs name as the caller's risk (as for every mmap-based loader).
    let map = unsafe { memmap2::MmapOptions::new().map(file)? };
    #[cfg(target_os = "linux")]
    {
        // Advice only: failures (old kernels, filesystems without huge-page support) are fine.
        let _ = map.advise(memmap2::Advice::WillNeed);
        let _ = map.advise(memmap2::Advice::HugePage);
    }
    Ok(map)
}
