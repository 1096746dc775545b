//! Atomic file replacement: write a temporary file beside the target, flush and fsync it,
//! rename it over the target, and fsync the directory. Readers see the old file or the new
//! one, never a torn write; a crash before the rename leaves the old file untouched (and its
//! temporary, `.NAME.tmp-PID`, which the next save of the same file removes once process PID
//! is gone).

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
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    remove_stale_temporaries(&dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
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

/// Removes `prefix` + PID temporaries in `dir` left by processes that no longer run (a crash
/// or `kill -9` mid-save). A temporary of a live process (a concurrent save) is kept; where
/// liveness cannot be checked (no `/proc`), nothing is removed.
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
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

    #[test]
    fn a_save_removes_temporaries_of_dead_processes_only() {
        let dir = std::env::temp_dir().join(format!("ember-atomic-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("ck.safetensors");
        // PID 4194304 is above Linux's pid_max (2^22), so no process has it; PID 1 always runs.
        let dead = dir.join(".ck.safetensors.tmp-4194304");
        let live = dir.join(".ck.safetensors.tmp-1");
        let other = dir.join(".other.bin.tmp-4194304");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"torn").unwrap();
        }
        write_atomic(&p, |w| w.write_all(b"new").map_err(|e| Error::io("t", e))).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert!(!dead.exists(), "a dead process's temporary is removed");
        assert!(live.exists(), "a live process's temporary is kept");
        assert!(other.exists(), "another file's temporary is not touched");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
