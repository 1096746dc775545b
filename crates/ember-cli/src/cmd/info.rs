//! `ember info FILE`: the tensors (name, dtype, shape, bytes) and metadata of a safetensors,
//! `torch.save` or GGUF file (for GGUF the dtype is the ggml type, `Q4_K`, ...). Malformed
//! files give a one-line error and exit code 1.

use ember::io::{load_gguf, pt::load_pt, read_safetensors_header};
use ember::{Error, Result};
use std::io::Read;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// A .safetensors, .pt or .gguf file.
    pub file: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: InfoArgs) -> Result<()> {
    let what = a.file.display().to_string();
    let mut magic = [0u8; 4];
    std::fs::File::open(&a.file).and_then(|mut f| f.read(&mut magic)).map_err(|e| Error::io(what.clone(), e))?;
    let (rows, metadata): (Vec<(String, String, Vec<usize>, usize)>, Vec<(String, String)>) = if &magic[..2] == b"PK" {
        let v = load_pt(&a.file)?;
        let rows = v
            .tensors()
            .into_iter()
            .map(|(k, t)| (k, t.dtype().to_string(), t.shape().to_vec(), t.numel() * t.dtype().size_in_bytes()))
            .collect();
        (rows, Vec::new())
    } else if &magic == b"GGUF" {
        let g = load_gguf(&a.file)?;
        let rows =
            g.tensors.iter().map(|t| (t.name.clone(), t.ggml_type.to_string(), t.shape.clone(), t.nbytes)).collect();
        let mut meta = vec![("gguf.version".to_string(), g.version.to_string())];
        meta.extend(g.metadata.iter().map(|(k, v)| (k.clone(), v.summary())));
        (rows, meta)
    } else {
        let h = read_safetensors_header(&a.file)?;
        let rows = h
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.dtype.to_string(), e.shape.clone(), (e.end - e.begin) as usize))
            .collect();
        (rows, h.metadata.into_iter().collect())
    };
    let total: usize = rows.iter().map(|r| r.3).sum();
    if a.json {
        let tensors: Vec<_> = rows
            .iter()
            .map(|(n, d, s, b)| serde_json::json!({"name": n, "dtype": d, "shape": s, "bytes": b}))
            .collect();
        let meta: serde_json::Map<String, serde_json::Value> =
            metadata.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        println!("{}", serde_json::json!({"file": what, "tensors": tensors, "metadata": meta, "total_bytes": total}));
        return Ok(());
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    println!("{:<w$}  {:<8}  {:<20}  {:>12}", "name", "dtype", "shape", "bytes");
    for (n, d, s, b) in &rows {
        println!("{n:<w$}  {d:<8}  {:<20}  {b:>12}", format!("{s:?}"));
    }
    println!("{} tensors, {total} bytes", rows.len());
    for (k, v) in metadata {
        let v = if v.len() > 200 {
            format!("{}... ({} bytes)", &v[..v.char_indices().nth(200).map_or(v.len(), |c| c.0)], v.len())
        } else {
            v
        };
        println!("metadata {k}: {v}");
    }
    Ok(())
}
