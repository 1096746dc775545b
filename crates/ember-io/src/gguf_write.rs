//! Writing GGUF files (version 3, little-endian), for `ember quantize` and for tests that need
//! a GGUF built from other files: metadata in the given order, tensor descriptions, then each
//! tensor's bytes at the next multiple of the alignment (32). Saved atomically.

use crate::atomic::write_atomic;
use crate::gguf::GgufValue;
use ember_core::{Error, Result};
use std::io::Write;
use std::path::Path;

/// GGUF's default alignment of tensor data.
pub const GGUF_ALIGNMENT: usize = 32;

/// One tensor to write: row-major shape, ggml type id and its bytes in that type.
#[derive(Clone, Debug)]
pub struct GgufTensorOut {
    pub name: String,
    pub shape: Vec<usize>,
    pub ggml_type: u32,
    pub data: Vec<u8>,
}

fn type_id(v: &GgufValue) -> u32 {
    match v {
        GgufValue::U8(_) => 0,
        GgufValue::I8(_) => 1,
        GgufValue::U16(_) => 2,
        GgufValue::I16(_) => 3,
        GgufValue::U32(_) => 4,
        GgufValue::I32(_) => 5,
        GgufValue::F32(_) => 6,
        GgufValue::Bool(_) => 7,
        GgufValue::String(_) => 8,
        GgufValue::Array(_) => 9,
        GgufValue::U64(_) => 10,
        GgufValue::I64(_) => 11,
        GgufValue::F64(_) => 12,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &GgufValue, key: &str) -> Result<()> {
    match v {
        GgufValue::U8(x) => out.push(*x),
        GgufValue::I8(x) => out.push(*x as u8),
        GgufValue::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::Bool(x) => out.push(*x as u8),
        GgufValue::String(s) => put_str(out, s),
        GgufValue::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        GgufValue::Array(items) => {
            let ty = items.first().map_or(4, type_id);
            if items.iter().any(|i| type_id(i) != ty) {
                return Err(Error::value("write_gguf", format!("metadata array {key:?} mixes value types")));
            }
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for i in items {
                put_value(out, i, key)?;
            }
        }
    }
    Ok(())
}

/// Everything before the tensor data: header, metadata, tensor descriptions, padding.
fn header(metadata: &[(String, GgufValue)], tensors: &[GgufTensorOut]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_str(&mut out, k);
        out.extend_from_slice(&type_id(v).to_le_bytes());
        put_value(&mut out, v, k)?;
    }
    let mut offset = 0usize;
    for t in tensors {
        put_str(&mut out, &t.name);
        out.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
        // ggml's dims run fastest-varying first: the row-major shape reversed.
        for &d in t.shape.iter().rev() {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&t.ggml_type.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset = (offset + t.data.len()).next_multiple_of(GGUF_ALIGNMENT);
    }
    out.resize(out.len().next_multiple_of(GGUF_ALIGNMENT), 0);
    Ok(out)
}

fn write_to(w: &mut dyn Write, metadata: &[(String, GgufValue)], tensors: &[GgufTensorOut]) -> std::io::Result<()> {
    let head = header(metadata, tensors).map_err(std::io::Error::other)?;
    w.write_all(&head)?;
    for t in tensors {
        w.write_all(&t.data)?;
        let pad = t.data.len().next_multiple_of(GGUF_ALIGNMENT) - t.data.len();
        w.write_all(&[0u8; GGUF_ALIGNMENT][..pad])?;
    }
    Ok(())
}

/// The bytes of a GGUF file holding `metadata` and `tensors`.
pub fn gguf_bytes(metadata: &[(String, GgufValue)], tensors: &[GgufTensorOut]) -> Result<Vec<u8>> {
    header(metadata, tensors)?;
    let mut out = Vec::new();
    write_to(&mut out, metadata, tensors).map_err(|e| Error::value("write_gguf", e.to_string()))?;
    Ok(out)
}

/// Writes a GGUF file atomically (a crash leaves the old file or none, never half of one),
/// streaming the tensors.
pub fn write_gguf(path: impl AsRef<Path>, metadata: &[(String, GgufValue)], tensors: &[GgufTensorOut]) -> Result<()> {
    header(metadata, tensors)?;
    let what = path.as_ref().display().to_string();
    write_atomic(path, |w: &mut dyn Write| write_to(w, metadata, tensors).map_err(|e| Error::io(what.clone(), e)))
}
