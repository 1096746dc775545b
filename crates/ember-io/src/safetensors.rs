//! The safetensors format: `u64` little-endian header length, a JSON header mapping names to
//! `{dtype, shape, data_offsets}` (plus optional `__metadata__` strings), then the bytes.
//!
//! Validation happens before any tensor is allocated: the header length fits the file (and
//! 100 MB), the JSON is UTF-8 with no duplicate names, every dtype is one Ember has, every
//! shape's byte size is computed with overflow checks and equals its offsets' span, and the
//! spans tile the data section exactly (no overlap, no hole, nothing out of range), as the
//! reference implementation requires. Tensors then total at most the file's size.
//!
//! Loading from a path maps the file privately (copy-on-write, `ember_kernels::mmap`): each
//! tensor's storage is its range of the map, so a load costs no copy of the weights and runs at
//! page-cache speed, and a tensor written later gets private copies of just the pages it
//! writes. Bool tensors (whose bytes are checked) and ranges misaligned for their dtype are
//! read into memory instead, as is everything with `EMBER_MMAP=0`.

use crate::atomic::write_atomic;
use ember_core::storage::buf::FileMap;
use ember_core::{bf16, f16, Buf, DType, Error, Result, Tensor};
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Largest header accepted (the reference implementation's limit).
pub const MAX_HEADER: u64 = 100_000_000;

/// One tensor's entry in the header.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Byte range within the data section.
    pub begin: u64,
    pub end: u64,
}

/// A validated header.
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// Entries in file order (by offset).
    pub entries: Vec<Entry>,
    pub metadata: BTreeMap<String, String>,
    /// Where the data section starts in the file.
    pub data_start: u64,
}

fn dtype_of(s: &str) -> Option<DType> {
    Some(match s {
        "F64" => DType::F64,
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "I64" => DType::I64,
        "I32" => DType::I32,
        "U8" => DType::U8,
        "I8" => DType::I8,
        "I16" => DType::I16,
        "BOOL" => DType::Bool,
        _ => return None,
    })
}

/// The header's top level as an ordered list, so duplicate names are seen (a map would keep
/// only the last).
struct Pairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<Pairs, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry::<String, serde_json::Value>()? {
                    v.push(kv);
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses and validates a header given its JSON bytes and the size of the data section.
pub fn parse_header(json: &[u8], data_len: u64, what: &str) -> Result<Header> {
    let bad = |msg: String| Error::format(what, msg);
    let Pairs(pairs) = serde_json::from_slice(json).map_err(|e| bad(format!("invalid header JSON: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    let mut header = Header::default();
    for (name, v) in pairs {
        if !seen.insert(name.clone()) {
            return Err(bad(format!("duplicate tensor name {name:?}")));
        }
        if name == "__metadata__" {
            let obj = v.as_object().ok_or_else(|| bad("__metadata__ must be an object of strings".into()))?;
            for (k, val) in obj {
                let s = val.as_str().ok_or_else(|| bad(format!("__metadata__[{k:?}] is not a string")))?;
                header.metadata.insert(k.clone(), s.to_string());
            }
            continue;
        }
        let obj = v.as_object().ok_or_else(|| bad(format!("entry {name:?} is not an object")))?;
        let dtype_s =
            obj.get("dtype").and_then(|d| d.as_str()).ok_or_else(|| bad(format!("{name:?}: missing dtype")))?;
        let dtype = dtype_of(dtype_s).ok_or_else(|| bad(format!("{name:?}: unsupported dtype {dtype_s:?}")))?;
        let shape_v =
            obj.get("shape").and_then(|s| s.as_array()).ok_or_else(|| bad(format!("{name:?}: missing shape")))?;
        let shape: Vec<usize> = shape_v
            .iter()
            .map(|d| {
                d.as_u64()
                    .and_then(|x| usize::try_from(x).ok())
                    .ok_or_else(|| bad(format!("{name:?}: shape {shape_v:?} is not a list of non-negative integers")))
            })
            .collect::<Result<_>>()?;
        let offs = obj
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .ok_or_else(|| bad(format!("{name:?}: missing data_offsets")))?;
        let (begin, end) = match offs.as_slice() {
            [b, e] => (
                b.as_u64().ok_or_else(|| bad(format!("{name:?}: bad data_offsets")))?,
                e.as_u64().ok_or_else(|| bad(format!("{name:?}: bad data_offsets")))?,
            ),
            _ => return Err(bad(format!("{name:?}: data_offsets must be [begin, end]"))),
        };
        let nbytes = shape
            .iter()
            .try_fold(dtype.size_in_bytes() as u64, |a, &d| a.checked_mul(d as u64))
            .ok_or_else(|| bad(format!("{name:?}: shape {shape:?} overflows")))?;
        if begin > end || end - begin != nbytes {
            return Err(bad(format!(
                "{name:?}: data_offsets [{begin}, {end}] do not hold {dtype_s} {shape:?} ({nbytes} bytes)"
            )));
        }
        if end > data_len {
            return Err(bad(format!(
                "{name:?}: data_offsets end {end} is past the data section ({data_len} bytes; truncated file?)"
            )));
        }
        header.entries.push(Entry { name, dtype, shape, begin, end });
    }
    header.entries.sort_by_key(|e| (e.begin, e.end));
    let mut pos = 0;
    for e in &header.entries {
        if e.begin != pos {
            let why =
                if e.begin < pos { "overlaps the previous tensor" } else { "leaves a gap after the previous tensor" };
            return Err(bad(format!("{:?}: data at offset {} {why} (expected {pos})", e.name, e.begin)));
        }
        pos = e.end;
    }
    if pos != data_len {
        return Err(bad(format!("tensors cover {pos} bytes but the data section has {data_len}")));
    }
    Ok(header)
}

/// Random access to the file's bytes (a file, or memory for tests and fuzzing).
trait Source {
    fn len(&self) -> u64;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

impl Source for File {
    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = self;
            f.seek(SeekFrom::Start(offset))?;
            f.read_exact(buf)
        }
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let s = usize::try_from(offset).ok().and_then(|o| self.get(o..o.checked_add(buf.len())?));
        match s {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end")),
        }
    }
}

fn read_header(src: &dyn Source, what: &str) -> Result<Header> {
    let len = src.len();
    if len < 8 {
        return Err(Error::format(
            what,
            format!("file is {len} bytes; a safetensors file starts with an 8-byte header length"),
        ));
    }
    let mut n = [0u8; 8];
    src.read_at(0, &mut n).map_err(|e| Error::io(what, e))?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER || n > len - 8 {
        return Err(Error::format(what, format!("header length {n} does not fit the file ({len} bytes)")));
    }
    let mut json = vec![0u8; n as usize];
    src.read_at(8, &mut json).map_err(|e| Error::io(what, e))?;
    let mut h = parse_header(&json, len - 8 - n, what)?;
    h.data_start = 8 + n;
    Ok(h)
}

fn read_tensor(src: &dyn Source, h: &Header, e: &Entry, what: &str) -> Result<Tensor> {
    let off = h.data_start + e.begin;
    let n: usize = e.shape.iter().product();
    let io = |err| Error::io(format!("{what}: {}", e.name), err);
    fn fill<T: bytemuck::Pod + Default + ember_core::Element>(
        src: &dyn Source,
        off: u64,
        n: usize,
        shape: &[usize],
        io: impl Fn(std::io::Error) -> Error,
    ) -> Result<Tensor> {
        let mut v = vec![T::default(); n];
        src.read_at(off, bytemuck::cast_slice_mut(&mut v)).map_err(io)?;
        Tensor::from_vec(v, shape)
    }
    match e.dtype {
        DType::F32 => fill::<f32>(src, off, n, &e.shape, io),
        DType::F64 => fill::<f64>(src, off, n, &e.shape, io),
        DType::F16 => fill::<f16>(src, off, n, &e.shape, io),
        DType::BF16 => fill::<bf16>(src, off, n, &e.shape, io),
        DType::I64 => fill::<i64>(src, off, n, &e.shape, io),
        DType::I32 => fill::<i32>(src, off, n, &e.shape, io),
        DType::U8 => fill::<u8>(src, off, n, &e.shape, io),
        DType::I8 => fill::<i8>(src, off, n, &e.shape, io),
        DType::I16 => fill::<i16>(src, off, n, &e.shape, io),
        DType::Bool => {
            let mut v = vec![0u8; n];
            src.read_at(off, &mut v).map_err(io)?;
            if let Some(b) = v.iter().find(|&&b| b > 1) {
                return Err(Error::format(what, format!("{}: BOOL byte {b} is neither 0 nor 1", e.name)));
            }
            Tensor::from_vec(v.into_iter().map(|b| b == 1).collect::<Vec<bool>>(), &e.shape)
        }
    }
}

fn load_from(src: &dyn Source, what: &str) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    let h = read_header(src, what)?;
    let mut out = BTreeMap::new();
    for e in &h.entries {
        out.insert(e.name.clone(), read_tensor(src, &h, e, what)?);
    }
    Ok((out, h.metadata))
}

/// Loads every tensor of a safetensors file.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    Ok(load_safetensors_with_metadata(path)?.0)
}

/// Loads every tensor and the `__metadata__` strings.
pub fn load_safetensors_with_metadata(
    path: impl AsRef<Path>,
) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    let path = path.as_ref();
    let what = path.display().to_string();
    let f = File::open(path).map_err(|e| Error::io(what.clone(), e))?;
    if !ember_kernels::mmap::enabled() || f.metadata().map_or(0, |m| m.len()) == 0 {
        return load_from(&f, &what);
    }
    let h = read_header(&f, &what)?;
    let map = Arc::new(FileMap::new(ember_kernels::mmap::map_private(&f).map_err(|e| Error::io(what.clone(), e))?));
    let mut out = BTreeMap::new();
    for e in &h.entries {
        let t = match mapped(&map, &h, e)? {
            Some(t) => t,
            None => read_tensor(&f, &h, e, &what)?,
        };
        out.insert(e.name.clone(), t);
    }
    Ok((out, h.metadata))
}

/// Tensor `e` over its range of the map, or `None` where it must be read instead (bool, or a
/// range misaligned for the dtype).
fn mapped(map: &Arc<FileMap>, h: &Header, e: &Entry) -> Result<Option<Tensor>> {
    let n: usize = e.shape.iter().product();
    let off = usize::try_from(h.data_start + e.begin).map_err(|_| Error::format("safetensors", "offset too large"))?;
    let strides = ember_core::layout::contiguous_strides(&e.shape);
    fn view<T: ember_core::Element>(
        map: &Arc<FileMap>,
        off: usize,
        n: usize,
        shape: &[usize],
        strides: &[usize],
    ) -> Result<Option<Tensor>> {
        Buf::<T>::from_file_map(map, off, n).map(|b| Tensor::from_buf(b, shape, strides, 0)).transpose()
    }
    match e.dtype {
        DType::F32 => view::<f32>(map, off, n, &e.shape, &strides),
        DType::F64 => view::<f64>(map, off, n, &e.shape, &strides),
        DType::F16 => view::<f16>(map, off, n, &e.shape, &strides),
        DType::BF16 => view::<bf16>(map, off, n, &e.shape, &strides),
        DType::I64 => view::<i64>(map, off, n, &e.shape, &strides),
        DType::I32 => view::<i32>(map, off, n, &e.shape, &strides),
        DType::I16 => view::<i16>(map, off, n, &e.shape, &strides),
        DType::I8 => view::<i8>(map, off, n, &e.shape, &strides),
        DType::U8 => view::<u8>(map, off, n, &e.shape, &strides),
        DType::Bool => Ok(None),
    }
}

/// Reads only the validated header (names, dtypes, shapes, offsets, metadata).
pub fn read_safetensors_header(path: impl AsRef<Path>) -> Result<Header> {
    let path = path.as_ref();
    let what = path.display().to_string();
    let f = File::open(path).map_err(|e| Error::io(what.clone(), e))?;
    read_header(&f, &what)
}

/// Loads from bytes in memory (for tests and fuzzing).
pub fn load_safetensors_bytes(bytes: &[u8]) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    load_from(&bytes, "<bytes>")
}

fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let t = t.detach().contiguous()?;
    Ok(match t.dtype() {
        DType::F32 => bytemuck::cast_slice(&t.to_vec::<f32>()?).to_vec(),
        DType::F64 => bytemuck::cast_slice(&t.to_vec::<f64>()?).to_vec(),
        DType::F16 => bytemuck::cast_slice(&t.to_vec::<f16>()?).to_vec(),
        DType::BF16 => bytemuck::cast_slice(&t.to_vec::<bf16>()?).to_vec(),
        DType::I64 => bytemuck::cast_slice(&t.to_vec::<i64>()?).to_vec(),
        DType::I32 => bytemuck::cast_slice(&t.to_vec::<i32>()?).to_vec(),
        DType::U8 => t.to_vec::<u8>()?,
        DType::I8 => bytemuck::cast_slice(&t.to_vec::<i8>()?).to_vec(),
        DType::I16 => bytemuck::cast_slice(&t.to_vec::<i16>()?).to_vec(),
        DType::Bool => t.to_vec::<bool>()?.into_iter().map(u8::from).collect(),
    })
}

/// Serialises tensors (and metadata) to safetensors bytes: header padded to 8 bytes, data in
/// name order.
pub fn to_safetensors_bytes(
    tensors: &BTreeMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).map_err(|e| Error::format("safetensors", e.to_string()))?,
        );
    }
    if tensors.contains_key("__metadata__") {
        return Err(Error::value("save_safetensors", "\"__metadata__\" is reserved and cannot name a tensor"));
    }
    // Widest elements first, then by name (the reference writer's order): with the header
    // padded to 8 bytes, every tensor starts aligned for its dtype, so a loader can map it.
    let mut order: Vec<(&String, &Tensor)> = tensors.iter().collect();
    order.sort_by(|(a, x), (b, y)| y.dtype().size_in_bytes().cmp(&x.dtype().size_in_bytes()).then(a.cmp(b)));
    let mut data = Vec::new();
    for (name, t) in order {
        let bytes = tensor_bytes(t)?;
        let begin = data.len();
        data.extend_from_slice(&bytes);
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": t.dtype().safetensors_name(), "shape": t.shape(), "data_offsets": [begin, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&header).map_err(|e| Error::format("safetensors", e.to_string()))?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data);
    Ok(out)
}

/// Saves tensors atomically (readable by `safetensors.torch.load_file`).
pub fn save_safetensors(tensors: &BTreeMap<String, Tensor>, path: impl AsRef<Path>) -> Result<()> {
    save_safetensors_with_metadata(tensors, &BTreeMap::new(), path)
}

/// Saves tensors and `__metadata__` strings atomically.
pub fn save_safetensors_with_metadata(
    tensors: &BTreeMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let bytes = to_safetensors_bytes(tensors, metadata)?;
    let p = path.as_ref();
    write_atomic(p, |w: &mut dyn Write| w.write_all(&bytes).map_err(|e| Error::io(p.display().to_string(), e)))
}
