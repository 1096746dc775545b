//! GGUF, llama.cpp's model format: a header (magic `GGUF`, version 2 or 3, counts), metadata
//! key-value pairs (typed scalars, strings, arrays), tensor descriptions (name, dims with the
//! fastest-varying first, ggml type, offset), then the aligned tensor data.
//!
//! The parser trusts nothing: every count and length is checked against the bytes that remain
//! before anything is allocated, sizes are computed with overflow checks, arrays nest at most
//! a few levels, types outside ggml's table are errors, every tensor's bytes must lie inside
//! the file at an aligned offset, and names are unique UTF-8. It is fuzzed
//! (`fuzz/fuzz_targets/gguf.rs`). Tensors are read as Ember tensors in row-major order: dims
//! are reversed (ggml's `ne[0]` is the last dim), f32/f16/bf16 keep their dtype, and the block
//! formats (Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) are dequantised to f32 by
//! `ember_kernels::blockq`, or handed out as they are ([`Gguf::blocks`]) for the quantised
//! matmul kernels.

use ember_core::fused::Bytes;
use ember_core::storage::buf::FileMap;
use ember_core::{Buf, Element, Error, Result, Tensor};
use ember_kernels::blockq::{self, BlockFormat};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum GgufValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<GgufValue>),
}

impl GgufValue {
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v),
            GgufValue::I8(v) => u64::try_from(v).ok(),
            GgufValue::I16(v) => u64::try_from(v).ok(),
            GgufValue::I32(v) => u64::try_from(v).ok(),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short rendering for listings (long arrays summarised).
    pub fn summary(&self) -> String {
        match self {
            GgufValue::String(s) if s.chars().count() > 80 => {
                format!("{:?}...", s.chars().take(80).collect::<String>())
            }
            GgufValue::String(s) => format!("{s:?}"),
            GgufValue::Array(a) if a.len() > 8 => {
                let head: Vec<String> = a.iter().take(4).map(|v| v.summary()).collect();
                format!("[{}, ... ({} items)]", head.join(", "), a.len())
            }
            GgufValue::Array(a) => format!("[{}]", a.iter().map(|v| v.summary()).collect::<Vec<_>>().join(", ")),
            GgufValue::Bool(b) => b.to_string(),
            GgufValue::F32(v) => v.to_string(),
            GgufValue::F64(v) => v.to_string(),
            other => other.as_u64().map_or_else(|| format!("{other:?}"), |v| v.to_string()),
        }
    }
}

/// ggml's tensor types: `(name, elements per block, bytes per block)` by type id. Types this
/// table lacks are errors; types it has but Ember cannot read yet are listed by `info` and
/// refused when read.
const GGML_TYPES: &[(u32, &str, usize, usize)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (30, "BF16", 1, 2),
];

/// A tensor's ggml type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GgmlType(pub u32);

impl GgmlType {
    fn entry(self) -> Option<&'static (u32, &'static str, usize, usize)> {
        GGML_TYPES.iter().find(|t| t.0 == self.0)
    }

    /// ggml's name (`Q4_K`, `F16`, ...).
    pub fn name(self) -> &'static str {
        self.entry().map_or("unknown", |t| t.1)
    }

    /// Elements per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        self.entry().map_or((1, 0), |t| (t.2, t.3))
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor's description.
#[derive(Clone, Debug)]
pub struct GgufTensorInfo {
    pub name: String,
    /// Row-major shape (ggml's dims reversed).
    pub shape: Vec<usize>,
    pub ggml_type: GgmlType,
    /// Where its bytes start in the file.
    pub offset: usize,
    pub nbytes: usize,
}

/// A parsed GGUF file: metadata, tensor descriptions and the bytes they point into.
#[derive(Debug)]
pub struct Gguf {
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, GgufValue)>,
    pub tensors: Vec<GgufTensorInfo>,
    pub alignment: usize,
    /// The whole file: a memory map (see [`load_gguf`]) or bytes read into memory.
    data: Bytes,
    /// The map itself, when mapped (to release pages of tensors copied out of it).
    map: Option<Arc<ember_kernels::mmap::Mmap>>,
    /// A private copy-on-write map of the same file that f32/f16/bf16/... tensors borrow.
    views: Option<Views>,
    what: String,
}

/// The byte ranges of a private map already lent to tensors. Each range is lent once (two
/// tensors over the same bytes would alias, and a crafted file can make ranges overlap):
/// asking again, or for an overlapping range, reads a copy instead.
struct Views {
    map: Arc<FileMap>,
    /// Lent ranges, start -> end.
    lent: Mutex<BTreeMap<usize, usize>>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Views({} bytes mapped)", self.map.len())
    }
}

impl Views {
    /// Claims `start..end` if it overlaps no lent range.
    fn claim(&self, start: usize, end: usize) -> bool {
        let mut lent = self.lent.lock().unwrap_or_else(|e| e.into_inner());
        // The lent ranges are disjoint, so only the last one starting before `end` can reach
        // past `start`.
        if lent.range(..end).next_back().is_some_and(|(_, &e)| e > start) {
            return false;
        }
        lent.insert(start, end);
        true
    }

    fn unclaim(&self, start: usize) {
        self.lent.lock().unwrap_or_else(|e| e.into_inner()).remove(&start);
    }
}

/// Arrays inside arrays deeper than this are refused (GGUF files use one level).
const MAX_DEPTH: usize = 4;
/// ggml tensors have at most four dims.
const MAX_DIMS: usize = 4;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::format(self.what, format!("{msg} (at byte {})", self.pos))
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(self.err(format!("truncated: {n} bytes needed, {} left", self.left())));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A count of items each at least `min_bytes` long: refused if the rest of the file
    /// cannot hold them (so nothing is allocated for a forged count).
    fn count(&mut self, what: &str, min_bytes: usize) -> Result<usize> {
        let n = self.u64()?;
        let fits = usize::try_from(n).ok().filter(|&n| n.checked_mul(min_bytes).is_some_and(|b| b <= self.left()));
        fits.ok_or_else(|| self.err(format!("{what} count {n} is more than the file can hold")))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.count("string length", 1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("a string is not UTF-8"))
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<GgufValue> {
        Ok(match ty {
            0 => GgufValue::U8(self.array::<1>()?[0]),
            1 => GgufValue::I8(self.array::<1>()?[0] as i8),
            2 => GgufValue::U16(u16::from_le_bytes(self.array()?)),
            3 => GgufValue::I16(i16::from_le_bytes(self.array()?)),
            4 => GgufValue::U32(self.u32()?),
            5 => GgufValue::I32(i32::from_le_bytes(self.array()?)),
            6 => GgufValue::F32(f32::from_le_bytes(self.array()?)),
            7 => match self.array::<1>()?[0] {
                0 => GgufValue::Bool(false),
                1 => GgufValue::Bool(true),
                b => return Err(self.err(format!("a bool holds {b}"))),
            },
            8 => GgufValue::String(self.string()?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("arrays nested too deeply"));
                }
                let inner = self.u32()?;
                let min = match inner {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8..=12 => 8,
                    t => return Err(self.err(format!("unknown metadata value type {t}"))),
                };
                let n = self.count("array", min)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(inner, depth + 1)?);
                }
                GgufValue::Array(v)
            }
            10 => GgufValue::U64(self.u64()?),
            11 => GgufValue::I64(i64::from_le_bytes(self.array()?)),
            12 => GgufValue::F64(f64::from_le_bytes(self.array()?)),
            t => return Err(self.err(format!("unknown metadata value type {t}"))),
        })
    }
}

/// Parses a whole GGUF file held in memory.
pub fn parse_gguf(data: Vec<u8>, what: &str) -> Result<Gguf> {
    parse_gguf_shared(Arc::new(data), what)
}

/// [`parse_gguf`] over bytes owned elsewhere (a memory map); tensors handed out by
/// [`Gguf::shared_blocks`] keep the owner alive.
pub fn parse_gguf_shared(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, what: &str) -> Result<Gguf> {
    let data: &[u8] = (*owner).as_ref();
    let mut r = Reader { bytes: data, pos: 0, what };
    if r.take(4).map_err(|_| r.err("not a GGUF file (too short)"))? != b"GGUF" {
        return Err(Error::format(what, "not a GGUF file (no GGUF magic)"));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        let hint = if version.swap_bytes() <= 3 { " (a big-endian file?)" } else { "" };
        return Err(r.err(format!("GGUF version {version} is not supported (2 and 3 are){hint}")));
    }
    // Each tensor description takes at least 8 + 4 + 8 + 4 + 8 bytes; each pair 8 + 4.
    let n_tensors = r.count("tensor", 32)?;
    let n_kv = r.count("metadata", 12)?;
    let mut metadata = Vec::with_capacity(n_kv);
    for _ in 0..n_kv {
        let key = r.string()?;
        let ty = r.u32()?;
        let v = r.value(ty, 0)?;
        if metadata.iter().any(|(k, _): &(String, GgufValue)| *k == key) {
            return Err(r.err(format!("metadata key {key:?} appears twice")));
        }
        metadata.push((key, v));
    }
    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        Some((_, v)) => v
            .as_u64()
            .and_then(|a| usize::try_from(a).ok())
            .filter(|a| a.is_power_of_two())
            .ok_or_else(|| r.err(format!("general.alignment {} is not a power of two", v.summary())))?,
        None => 32,
    };
    let mut raw = Vec::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let name = r.string()?;
        let n_dims = r.u32()? as usize;
        if n_dims > MAX_DIMS {
            return Err(r.err(format!("tensor {name:?} has {n_dims} dims (ggml allows {MAX_DIMS})")));
        }
        let mut ne = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            let d = r.u64()?;
            ne.push(usize::try_from(d).map_err(|_| r.err(format!("tensor {name:?} has a dim of {d}")))?);
        }
        let ty = GgmlType(r.u32()?);
        if ty.entry().is_none() {
            return Err(r.err(format!("tensor {name:?} has unknown ggml type {}", ty.0)));
        }
        let offset = r.u64()?;
        raw.push((name, ne, ty, offset));
    }
    let data_start = r.pos.div_ceil(alignment).checked_mul(alignment).ok_or_else(|| r.err("data offset overflows"))?;
    let mut tensors: Vec<GgufTensorInfo> = Vec::with_capacity(n_tensors);
    let mut names = std::collections::HashSet::new();
    for (name, ne, ty, offset) in raw {
        if !names.insert(name.clone()) {
            return Err(Error::format(what, format!("tensor {name:?} appears twice")));
        }
        let bad = |msg: String| Error::format(what, format!("tensor {name:?}: {msg}"));
        let numel = ne.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("size overflows".into()))?;
        let (block, block_bytes) = ty.block();
        if ne.first().is_some_and(|&d| d % block != 0) {
            return Err(bad(format!("first dim {} is not a multiple of {}'s block of {block}", ne[0], ty)));
        }
        let nbytes = (numel / block).checked_mul(block_bytes).ok_or_else(|| bad("size overflows".into()))?;
        if offset % alignment as u64 != 0 {
            return Err(bad(format!("offset {offset} is not a multiple of the alignment {alignment}")));
        }
        let start = usize::try_from(offset).ok().and_then(|o| o.checked_add(data_start));
        match start.and_then(|s| s.checked_add(nbytes)) {
            Some(end) if end <= data.len() => {}
            _ => return Err(bad(format!("{nbytes} bytes at offset {offset} reach past the end of the file"))),
        }
        let shape: Vec<usize> = ne.iter().rev().copied().collect();
        tensors.push(GgufTensorInfo { name, shape, ggml_type: ty, offset: start.unwrap_or(0), nbytes });
    }
    Ok(Gguf {
        version,
        metadata,
        tensors,
        alignment,
        data: Bytes::view(owner.clone(), 0, data.len()).ok_or_else(|| Error::format(what, "file changed size"))?,
        map: None,
        views: None,
        what: what.to_string(),
    })
}

/// Maps (or, with `EMBER_MMAP=0`, reads) and parses a GGUF file. Block-quantised tensors taken
/// with [`Gguf::shared_blocks`] point into the map, and f32/f16/bf16/f64/i32/i64 tensors from
/// [`Gguf::tensor`] into a private copy-on-write map of the same file: no second copy of the
/// weights (writing to such a tensor copies only the pages written, never the file).
pub fn load_gguf(path: impl AsRef<Path>) -> Result<Gguf> {
    let p = path.as_ref();
    let what = p.display().to_string();
    let io = |e| Error::io(what.clone(), e);
    if ember_kernels::mmap::enabled() {
        let file = std::fs::File::open(p).map_err(io)?;
        let map = Arc::new(ember_kernels::mmap::map_readonly(&file).map_err(io)?);
        let mut g = parse_gguf_shared(map.clone(), &what)?;
        g.map = Some(map);
        let private = ember_kernels::mmap::map_private(&file).map_err(io)?;
        g.views = Some(Views { map: Arc::new(FileMap::new(private)), lent: Mutex::new(BTreeMap::new()) });
        return Ok(g);
    }
    parse_gguf(std::fs::read(p).map_err(io)?, &what)
}

impl Gguf {
    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The description of tensor `name`.
    pub fn info(&self, name: &str) -> Option<&GgufTensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Tensor `name` as an Ember tensor (row-major; block formats dequantised to f32). From a
    /// mapped file, the first request for an f32/f16/bf16/f64/i32/i64 tensor borrows its bytes
    /// from a private map; later requests for the same tensor get a copy.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let t = self.find(name)?;
        match self.view(t)? {
            Some(v) => Ok(v),
            None => self.read(t),
        }
    }

    /// Tensor `name` copied out of the file, never lent the map: for a caller that converts
    /// it at once (to another dtype, reordered) and then [`Gguf::release`]s its pages, so that
    /// no mapped page of it stays resident.
    pub fn tensor_copy(&self, name: &str) -> Result<Tensor> {
        self.read(self.find(name)?)
    }

    fn find(&self, name: &str) -> Result<&GgufTensorInfo> {
        self.info(name).ok_or_else(|| Error::format(&self.what, format!("no tensor named {name:?}")))
    }

    /// Tensor `t` decoded from the file's bytes into a new buffer.
    fn read(&self, t: &GgufTensorInfo) -> Result<Tensor> {
        let bytes = &self.bytes()[t.offset..t.offset + t.nbytes];
        let shape = &t.shape;
        let le16 = |b: &[u8]| -> Vec<u16> { b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect() };
        match t.ggml_type.name() {
            "F32" => Tensor::from_vec(
                bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<_>>(),
                shape,
            ),
            "F64" => Tensor::from_vec(
                bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect::<Vec<_>>(),
                shape,
            ),
            "F16" => Tensor::from_vec(le16(bytes).into_iter().map(half::f16::from_bits).collect::<Vec<_>>(), shape),
            "BF16" => Tensor::from_vec(le16(bytes).into_iter().map(half::bf16::from_bits).collect::<Vec<_>>(), shape),
            "I32" => Tensor::from_vec(
                bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<_>>(),
                shape,
            ),
            "I64" => Tensor::from_vec(
                bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect::<Vec<_>>(),
                shape,
            ),
            "I8" => Tensor::from_vec(bytes.iter().map(|&b| b as i8 as i32).collect::<Vec<_>>(), shape),
            name => match BlockFormat::from_name(name) {
                Some(f) => Tensor::from_vec(blockq::dequantize(f, bytes), shape),
                None => Err(Error::unsupported(
                    "gguf",
                    format!("tensor {:?} has ggml type {name}, which Ember cannot read yet", t.name),
                )),
            },
        }
    }

    /// Tensor `name`'s block format and bytes when it is stored in one of the block formats
    /// Ember computes with (`None` for f32, f16, ... and formats Ember cannot read).
    pub fn blocks(&self, name: &str) -> Option<(BlockFormat, &[u8])> {
        let t = self.info(name)?;
        let f = BlockFormat::from_name(t.ggml_type.name())?;
        Some((f, &self.bytes()[t.offset..t.offset + t.nbytes]))
    }

    /// [`Gguf::blocks`] as a shared view of the file (no copy).
    pub fn shared_blocks(&self, name: &str) -> Option<(BlockFormat, Bytes)> {
        let t = self.info(name)?;
        let f = BlockFormat::from_name(t.ggml_type.name())?;
        Some((f, self.data.slice(t.offset, t.nbytes)?))
    }

    fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// Tensor `t` over its range of the private map, when there is one, the type is stored as
    /// Ember holds it in memory (the file is little-endian, like the machine), the range is
    /// aligned for it and not lent already.
    fn view(&self, t: &GgufTensorInfo) -> Result<Option<Tensor>> {
        fn over<T: Element>(map: &Arc<FileMap>, t: &GgufTensorInfo) -> Result<Option<Tensor>> {
            let strides = ember_core::layout::contiguous_strides(&t.shape);
            let n = t.nbytes / std::mem::size_of::<T>();
            Buf::<T>::from_file_map(map, t.offset, n).map(|b| Tensor::from_buf(b, &t.shape, &strides, 0)).transpose()
        }
        let Some(v) = self.views.as_ref().filter(|_| cfg!(target_endian = "little")) else { return Ok(None) };
        let make = match t.ggml_type.name() {
            "F32" => over::<f32>,
            "F64" => over::<f64>,
            "F16" => over::<half::f16>,
            "BF16" => over::<half::bf16>,
            "I32" => over::<i32>,
            "I64" => over::<i64>,
            _ => return Ok(None),
        };
        if t.nbytes == 0 || !v.claim(t.offset, t.offset + t.nbytes) {
            return Ok(None);
        }
        let r = make(&v.map, t);
        if !matches!(r, Ok(Some(_))) {
            v.unclaim(t.offset);
        }
        r
    }

    /// Tells the OS this process no longer needs tensor `name`'s pages of the mapped file (a
    /// loader that copied it out: repacked, dequantised). Resident memory then holds the
    /// model once. Nothing happens for a file read into memory; reading the tensor again
    /// still works (the pages come back from the file).
    pub fn release(&self, name: &str) {
        if let (Some(map), Some(t)) = (&self.map, self.info(name)) {
            ember_kernels::mmap::release(map, t.offset, t.nbytes);
        }
    }

    /// Every tensor by name.
    pub fn tensors_map(&self) -> Result<BTreeMap<String, Tensor>> {
        self.tensors.iter().map(|t| Ok((t.name.clone(), self.tensor(&t.name)?))).collect()
    }
}

/// Whether `bytes` start like a GGUF file.
pub fn is_gguf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"GGUF")
}
