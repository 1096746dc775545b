//! Read-only memory maps of files, for loading weights without copying them: the model's
//! tensors point into the page cache, so a load costs no second copy of the file and runs at
//! page-cache speed, and processes serving the same file share its pages.
//!
//! The one hazard of any file mapping: if another process truncates the file while it is
//! mapped, reading the vanished pages raises SIGBUS. Loaders that cannot accept that read the
//! file instead (`EMBER_MMAP=0`).

use std::fs::File;
use std::io;

pub use memmap2::{Mmap, MmapMut};

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
    read_ahead(|a| map.advise(a));
    Ok(map)
}

/// Maps `file` privately and writably (copy-on-write: a page this process writes becomes its
/// own copy; the file never changes), with the same read-ahead advice as [`map_readonly`]:
/// for tensors that live in the map and may be written like any other tensor.
pub fn map_private(file: &File) -> io::Result<MmapMut> {
    // SAFETY: a private mapping: writes go to this process's copies of the pages, never to the
    // file. The file changing underneath (another process truncating it) is the caller's risk
    // named in the module docs, as for every mmap-based loader.
    let map = unsafe { memmap2::MmapOptions::new().map_copy(file)? };
    read_ahead(|a| map.advise(a));
    Ok(map)
}

/// Asks the kernel to read a new map ahead and to back it with huge pages where it can.
/// Advice only: failures (old kernels, filesystems without huge-page support) are fine.
fn read_ahead(advise: impl Fn(memmap2::Advice) -> io::Result<()>) {
    #[cfg(target_os = "linux")]
    {
        let _ = advise(memmap2::Advice::WillNeed);
        let _ = advise(memmap2::Advice::HugePage);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = advise;
}

/// Drops this process's pages of `map[offset..offset + len]` (whole pages inside the range):
/// for weights copied out of the map (repacked, dequantised), so that resident memory holds
/// one copy, not two. The file's pages stay in the page cache; reading the range again maps
/// them back unchanged.
pub fn release(map: &Mmap, offset: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let base = map.as_ptr() as usize;
        // Whole pages only: a page shared with a neighbouring tensor stays.
        let start = (base + offset).next_multiple_of(PAGE) - base;
        let end = (base + offset + len.min(map.len().saturating_sub(offset))) / PAGE * PAGE - base;
        if end > start {
            // SAFETY: the map is read-only and never written, so its pages equal the file's;
            // MADV_DONTNEED only unmaps them from this process and a later read faults the same
            // bytes back in from the file (the hazard the advice is "unchecked" for, losing
            // private modifications, cannot arise). The range lies inside the map.
            let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (map, offset, len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn released_pages_read_back_unchanged() {
        let path = std::env::temp_dir().join(format!("ember-mmap-release-{}", std::process::id()));
        let bytes: Vec<u8> = (0..5 * 4096 + 123).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
        let map = map_readonly(&std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(&map[..], &bytes[..]);
        release(&map, 100, 3 * 4096);
        release(&map, 4 * 4096, 10 * 4096); // past the end: clipped to the map
        assert_eq!(&map[..], &bytes[..], "the file's bytes come back after release");
        std::fs::remove_file(&path).unwrap();
    }
}
