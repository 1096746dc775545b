//! Atomic file replacement: write a temporary file beside the target, flush and fsync it,
//! rename it over the target, and fsync the directory. Readers see the old file or the new
//! one, never a torn write; a crash before the rename leaves the old file untouched.

use ember_core::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes a file atomically: `write` produces the contents into a buffered writer.
pub fn write_atomic(path: impl AsRef<Path>, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(path.display().to_string(), std::io::Error::other("not a file path")))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let ctx = |e: std::io::Error| Error::io(tmp.display().to_string(), e);
    let result = (|| -> Result<()> {
        let f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(ctx)?;
        let mut w = BufWriter::new(f);
        write(&mut w)?;
        let f = w.into_inner().map_err(|e| ctx(e.into_error()))?;
        f.sync_all().map_err(ctx)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path.display().to_string(), e))?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_file() {
        let dir = std::env::temp_dir().join(format!("ember-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.bin");
        write_atomic(&p, |w| w.write_all(b"old").map_err(|e| Error::io("t", e))).unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"partial new contents").map_err(|e| Error::io("t", e))?;
            Err(Error::format("t", "simulated crash mid-save"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
