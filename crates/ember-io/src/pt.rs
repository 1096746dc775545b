//! `torch.save` files (the zip format PyTorch writes since 1.6), loaded without running code.
//!
//! The archive holds `<name>/data.pkl` (a pickle describing the object) and
//! `<name>/data/<key>` (raw storage bytes). The pickle is interpreted by a small data-only VM:
//! it builds containers and scalars, and calls only the allow-listed globals needed for
//! tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, typed storages,
//! `collections.OrderedDict`). Any other global (`os.system`, `builtins.eval`, ...) is an
//! error naming it; nothing is executed. Every length is checked against the bytes left, and
//! storages against their zip entries, before anything is allocated.

use ember_core::{bf16, f16, DType, Error, Result, Tensor};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// A loaded object, walkable: nested dicts of tensors (state dicts, `{"model": .., "optimizer":
/// ..}`), lists, and scalars.
#[derive(Clone, Debug)]
pub enum PtValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tensor(Tensor),
    List(Vec<PtValue>),
    /// Keys converted to strings (ints become their decimal form), in file order.
    Dict(Vec<(String, PtValue)>),
}

impl PtValue {
    /// The value at a dotted path of dict keys (`"model.fc1.weight"` finds nested dicts or a
    /// key containing dots).
    pub fn get(&self, key: &str) -> Option<&PtValue> {
        let PtValue::Dict(items) = self else { return None };
        if let Some((_, v)) = items.iter().find(|(k, _)| k == key) {
            return Some(v);
        }
        items.iter().find_map(|(k, v)| {
            key.strip_prefix(k.as_str()).and_then(|r| r.strip_prefix('.')).and_then(|rest| v.get(rest))
        })
    }

    /// The tensor, if this is one.
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            PtValue::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// Every tensor under this value, keyed by its dotted path (list items by index).
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        fn walk(v: &PtValue, prefix: &str, out: &mut BTreeMap<String, Tensor>) {
            let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
            match v {
                PtValue::Tensor(t) => {
                    out.insert(prefix.to_string(), t.clone());
                }
                PtValue::Dict(items) => items.iter().for_each(|(k, v)| walk(v, &join(k), out)),
                PtValue::List(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &join(&i.to_string()), out)),
                _ => {}
            }
        }
        let mut out = BTreeMap::new();
        walk(self, "", &mut out);
        out
    }
}

#[derive(Clone, Debug)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Rc<Vec<V>>),
    List(Rc<RefCell<Vec<V>>>),
    Dict(Rc<RefCell<Vec<(V, V)>>>),
    Global(String),
    Storage { dtype: DType, key: String, numel: usize },
    Tensor(Tensor),
    Mark,
}

const ALLOWED: &[&str] = &[
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "collections.OrderedDict",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ByteStorage",
    "torch.CharStorage",
    "torch.ShortStorage",
    "torch.BoolStorage",
];

fn storage_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "torch.FloatStorage" => DType::F32,
        "torch.DoubleStorage" => DType::F64,
        "torch.HalfStorage" => DType::F16,
        "torch.BFloat16Storage" => DType::BF16,
        "torch.LongStorage" => DType::I64,
        "torch.IntStorage" => DType::I32,
        "torch.ByteStorage" => DType::U8,
        "torch.CharStorage" => DType::I8,
        "torch.ShortStorage" => DType::I16,
        "torch.BoolStorage" => DType::Bool,
        _ => return None,
    })
}

/// Reads the raw bytes of a storage; the caller checks the size.
trait StorageSource {
    fn storage(&mut self, key: &str, dtype: DType, numel: usize) -> Result<Tensor>;
}

struct Unpickler<'a, S: StorageSource> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<V>,
    memo: HashMap<u32, V>,
    storages: &'a mut S,
    loaded: HashMap<String, Tensor>,
    what: String,
}

impl<'a, S: StorageSource> Unpickler<'a, S> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::format(self.what.clone(), format!("pickle at byte {}: {}", self.pos, msg.into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(format!("needs {n} more bytes; truncated")))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32le(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64le(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("take(8) returns 8 bytes")))
    }

    fn pop(&mut self) -> Result<V> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<V>> {
        let at = self.stack.iter().rposition(|v| matches!(v, V::Mark)).ok_or_else(|| self.err("MARK not found"))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn line(&mut self) -> Result<String> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated GLOBAL line"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| self.err("GLOBAL name is not UTF-8"))?.to_string();
        self.pos += n + 1;
        Ok(s)
    }

    fn text(&mut self, n: usize) -> Result<String> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("string is not UTF-8"))
    }

    fn global(&self, module: &str, name: &str) -> Result<V> {
        let full = format!("{module}.{name}");
        if !ALLOWED.contains(&full.as_str()) {
            return Err(Error::format(self.what.clone(), format!("refusing to load global {full}: not on the allow-list of data-only globals (the file may try to run code)")));
        }
        Ok(V::Global(full))
    }

    fn ints(&self, v: &V, what: &str) -> Result<Vec<usize>> {
        let V::Tuple(items) = v else { return Err(self.err(format!("{what} is not a tuple"))) };
        items
            .iter()
            .map(|x| match x {
                V::Int(i) if *i >= 0 => Ok(*i as usize),
                _ => Err(self.err(format!("{what} holds a non-negative integer only"))),
            })
            .collect()
    }

    fn call(&mut self, f: V, args: V) -> Result<V> {
        let V::Global(name) = f else { return Err(self.err("REDUCE on a value that is not an allowed global")) };
        let V::Tuple(args) = args else { return Err(self.err("REDUCE arguments are not a tuple")) };
        match name.as_str() {
            "collections.OrderedDict" => Ok(V::Dict(Rc::new(RefCell::new(Vec::new())))),
            "torch._utils._rebuild_parameter" => {
                args.first().cloned().ok_or_else(|| self.err("_rebuild_parameter without a tensor"))
            }
            "torch._utils._rebuild_tensor_v2" => {
                if args.len() < 4 {
                    return Err(self.err("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)"));
                }
                let V::Storage { dtype, key, numel } = &args[0] else {
                    return Err(self.err("_rebuild_tensor_v2: first argument is not a storage"));
                };
                let V::Int(offset) = args[1] else { return Err(self.err("_rebuild_tensor_v2: bad storage offset")) };
                let size = self.ints(&args[2], "size")?;
                let stride = self.ints(&args[3], "stride")?;
                if offset < 0 || size.len() != stride.len() {
                    return Err(self.err(format!(
                        "_rebuild_tensor_v2: offset {offset}, size {size:?} and stride {stride:?} disagree"
                    )));
                }
                let base = match self.loaded.get(key) {
                    Some(t) => t.clone(),
                    None => {
                        let t = self.storages.storage(key, *dtype, *numel)?;
                        self.loaded.insert(key.clone(), t.clone());
                        t
                    }
                };
                if base.dtype() != *dtype {
                    return Err(self.err(format!("storage {key} is used with dtypes {} and {dtype}", base.dtype())));
                }
                Ok(V::Tensor(
                    base.as_strided(&size, &stride, offset as usize)
                        .map_err(|e| self.err(format!("tensor does not fit its storage: {e}")))?,
                ))
            }
            other => Err(self.err(format!("global {other} cannot be called"))),
        }
    }

    fn run(&mut self) -> Result<V> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {p}")));
                    }
                }
                0x95 => {
                    self.u64le()?;
                }
                b'c' => {
                    let (m, n) = (self.line()?, self.line()?);
                    let g = self.global(&m, &n)?;
                    self.stack.push(g);
                }
                0x93 => {
                    let (n, m) = (self.pop()?, self.pop()?);
                    let (V::Str(m), V::Str(n)) = (m, n) else { return Err(self.err("STACK_GLOBAL needs two strings")) };
                    let g = self.global(&m, &n)?;
                    self.stack.push(g);
                }
                b'}' => self.stack.push(V::Dict(Rc::new(RefCell::new(Vec::new())))),
                b']' => self.stack.push(V::List(Rc::new(RefCell::new(Vec::new())))),
                b')' => self.stack.push(V::Tuple(Rc::new(Vec::new()))),
                b'(' => self.stack.push(V::Mark),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(V::Tuple(Rc::new(items)));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(V::Tuple(Rc::new(items)));
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let (v, k) = (self.pop()?, self.pop()?);
                        vec![k, v]
                    } else {
                        self.pop_mark()?
                    };
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd number of items"));
                    }
                    let Some(V::Dict(d)) = self.stack.last() else {
                        return Err(self.err("SETITEM on a value that is not a dict"));
                    };
                    let mut d = d.borrow_mut();
                    for kv in items.chunks(2) {
                        d.push((kv[0].clone(), kv[1].clone()));
                    }
                }
                b'a' | b'e' | 0x90 => {
                    let items = if op == b'a' { vec![self.pop()?] } else { self.pop_mark()? };
                    match self.stack.last() {
                        Some(V::List(l)) => l.borrow_mut().extend(items),
                        _ => return Err(self.err("APPEND on a value that is not a list")),
                    }
                }
                0x8f => self.stack.push(V::List(Rc::new(RefCell::new(Vec::new())))),
                b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'q' => self.u8()? as u32,
                        b'r' => self.u32le()?,
                        _ => self.memo.len() as u32,
                    };
                    let top = self.stack.last().cloned().ok_or_else(|| self.err("PUT on an empty stack"))?;
                    self.memo.insert(idx, top);
                }
                b'h' | b'j' => {
                    let idx = if op == b'h' { self.u8()? as u32 } else { self.u32le()? };
                    let v = self.memo.get(&idx).cloned().ok_or_else(|| self.err(format!("memo key {idx} missing")))?;
                    self.stack.push(v);
                }
                b'K' => {
                    let v = self.u8()? as i64;
                    self.stack.push(V::Int(v));
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.stack.push(V::Int(u16::from_le_bytes([b[0], b[1]]) as i64));
                }
                b'J' => {
                    let v = self.u32le()? as i32 as i64;
                    self.stack.push(V::Int(v));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(self.err("integer wider than 64 bits"));
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) { [0xffu8; 8] } else { [0u8; 8] };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(V::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let b = self.take(8)?;
                    self.stack.push(V::Float(f64::from_be_bytes(b.try_into().expect("take(8) returns 8 bytes"))));
                }
                b'X' => {
                    let n = self.u32le()? as usize;
                    let s = self.text(n)?;
                    self.stack.push(V::Str(s));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.text(n)?;
                    self.stack.push(V::Str(s));
                }
                0x8d => {
                    let n = usize::try_from(self.u64le()?).map_err(|_| self.err("string too long"))?;
                    let s = self.text(n)?;
                    self.stack.push(V::Str(s));
                }
                b'B' | b'C' | 0x8e | b'T' | b'U' => {
                    let n = match op {
                        b'C' | b'U' => self.u8()? as usize,
                        0x8e => usize::try_from(self.u64le()?).map_err(|_| self.err("bytes too long"))?,
                        _ => self.u32le()? as usize,
                    };
                    let b = self.take(n)?.to_vec();
                    self.stack.push(V::Bytes(b));
                }
                0x88 => self.stack.push(V::Bool(true)),
                0x89 => self.stack.push(V::Bool(false)),
                b'N' => self.stack.push(V::None),
                b'R' | 0x81 => {
                    let (args, f) = (self.pop()?, self.pop()?);
                    let r = self.call(f, args)?;
                    self.stack.push(r);
                }
                b'b' => {
                    // BUILD sets attributes (e.g. OrderedDict._metadata); data-only: ignore.
                    self.pop()?;
                    if self.stack.is_empty() {
                        return Err(self.err("BUILD on an empty stack"));
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let V::Tuple(t) = pid else { return Err(self.err("persistent id is not a tuple")) };
                    match t.as_slice() {
                        [V::Str(kind), V::Global(ty), V::Str(key), V::Str(_location), V::Int(numel)]
                            if kind == "storage" && *numel >= 0 =>
                        {
                            let dtype =
                                storage_dtype(ty).ok_or_else(|| self.err(format!("unknown storage type {ty}")))?;
                            self.stack.push(V::Storage { dtype, key: key.clone(), numel: *numel as usize });
                        }
                        _ => {
                            return Err(self
                                .err("unsupported persistent id (expected ('storage', type, key, location, numel))"))
                        }
                    }
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.stack.last().cloned().ok_or_else(|| self.err("DUP on an empty stack"))?;
                    self.stack.push(v);
                }
                b'.' => return self.pop(),
                other => return Err(self.err(format!("unsupported pickle opcode 0x{other:02x}"))),
            }
        }
    }
}

fn convert(v: &V, depth: usize) -> Result<PtValue> {
    if depth > 64 {
        return Err(Error::format("pickle", "object nested too deeply (or cyclic)"));
    }
    let key = |k: &V| -> Result<String> {
        match k {
            V::Str(s) => Ok(s.clone()),
            V::Int(i) => Ok(i.to_string()),
            _ => Err(Error::format("pickle", "dict key is not a string or integer")),
        }
    };
    Ok(match v {
        V::None => PtValue::None,
        V::Bool(b) => PtValue::Bool(*b),
        V::Int(i) => PtValue::Int(*i),
        V::Float(f) => PtValue::Float(*f),
        V::Str(s) => PtValue::Str(s.clone()),
        V::Bytes(b) => PtValue::Bytes(b.clone()),
        V::Tensor(t) => PtValue::Tensor(t.clone()),
        V::Tuple(items) => PtValue::List(items.iter().map(|x| convert(x, depth + 1)).collect::<Result<_>>()?),
        V::List(items) => PtValue::List(items.borrow().iter().map(|x| convert(x, depth + 1)).collect::<Result<_>>()?),
        V::Dict(items) => PtValue::Dict(
            items.borrow().iter().map(|(k, x)| Ok((key(k)?, convert(x, depth + 1)?))).collect::<Result<_>>()?,
        ),
        V::Global(g) => return Err(Error::format("pickle", format!("result holds the global {g}, not data"))),
        V::Storage { .. } => return Err(Error::format("pickle", "result holds a bare storage")),
        V::Mark => return Err(Error::format("pickle", "result holds a MARK")),
    })
}

struct ZipStorages<'a, R: Read + std::io::Seek> {
    zip: &'a mut zip::ZipArchive<R>,
    prefix: String,
    what: String,
}

impl<R: Read + std::io::Seek> StorageSource for ZipStorages<'_, R> {
    fn storage(&mut self, key: &str, dtype: DType, numel: usize) -> Result<Tensor> {
        let name = format!("{}data/{key}", self.prefix);
        let bad = |m: String| Error::format(self.what.clone(), m);
        let mut f = self.zip.by_name(&name).map_err(|e| bad(format!("storage {name}: {e}")))?;
        let want =
            numel.checked_mul(dtype.size_in_bytes()).ok_or_else(|| bad(format!("storage {key}: size overflows")))?;
        if f.size() != want as u64 {
            return Err(bad(format!("storage {key} holds {} bytes; {numel} x {dtype} needs {want}", f.size())));
        }
        let mut bytes = Vec::with_capacity(want);
        f.by_ref().take(want as u64).read_to_end(&mut bytes).map_err(|e| bad(format!("storage {key}: {e}")))?;
        if bytes.len() != want {
            return Err(bad(format!("storage {key}: truncated ({} of {want} bytes)", bytes.len())));
        }
        fn cast<T: bytemuck::Pod + ember_core::Element>(b: &[u8], n: usize) -> Result<Tensor> {
            // The zip entry may be unaligned for T: copy into a typed, aligned buffer.
            let mut v = vec![T::default(); n];
            bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(b);
            Tensor::from_vec(v, &[n])
        }
        match dtype {
            DType::F32 => cast::<f32>(&bytes, numel),
            DType::F64 => cast::<f64>(&bytes, numel),
            DType::F16 => cast::<f16>(&bytes, numel),
            DType::BF16 => cast::<bf16>(&bytes, numel),
            DType::I64 => cast::<i64>(&bytes, numel),
            DType::I32 => cast::<i32>(&bytes, numel),
            DType::U8 => cast::<u8>(&bytes, numel),
            DType::I8 => cast::<i8>(&bytes, numel),
            DType::I16 => cast::<i16>(&bytes, numel),
            DType::Bool => {
                if bytes.iter().any(|&b| b > 1) {
                    return Err(bad(format!("storage {key}: bool bytes must be 0 or 1")));
                }
                Tensor::from_vec(bytes.iter().map(|&b| b == 1).collect::<Vec<bool>>(), &[numel])
            }
        }
    }
}

fn load_reader<R: Read + std::io::Seek>(reader: R, what: &str) -> Result<PtValue> {
    let bad = |m: String| Error::format(what, m);
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| bad(format!("not a torch.save zip archive ({e}); the legacy pre-1.6 format is not supported")))?;
    let pkl = zip
        .file_names()
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
        .map(str::to_string)
        .ok_or_else(|| bad("no data.pkl in the archive".into()))?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    if let Ok(mut f) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut s = String::new();
        f.by_ref().take(16).read_to_string(&mut s).map_err(|e| bad(format!("byteorder: {e}")))?;
        if s.trim() != "little" {
            return Err(bad(format!("byteorder {s:?} is not supported")));
        }
    }
    let data = {
        let mut f = zip.by_name(&pkl).map_err(|e| bad(format!("{pkl}: {e}")))?;
        let mut d = Vec::with_capacity(f.size().min(1 << 26) as usize);
        f.by_ref().take(1 << 30).read_to_end(&mut d).map_err(|e| bad(format!("{pkl}: {e}")))?;
        d
    };
    let mut storages = ZipStorages { zip: &mut zip, prefix, what: what.to_string() };
    let mut vm = Unpickler {
        data: &data,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        storages: &mut storages,
        loaded: HashMap::new(),
        what: what.to_string(),
    };
    let v = vm.run()?;
    convert(&v, 0)
}

/// Loads a `torch.save` file as a walkable value.
pub fn load_pt(path: impl AsRef<Path>) -> Result<PtValue> {
    let path = path.as_ref();
    let what = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io(what.clone(), e))?;
    load_reader(f, &what)
}

/// Loads a `torch.save` file from memory (tests and fuzzing).
pub fn load_pt_bytes(bytes: &[u8]) -> Result<PtValue> {
    load_reader(std::io::Cursor::new(bytes), "<bytes>")
}

/// Loads a `torch.save` file and returns every tensor by dotted path (a plain state dict
/// gives its own keys).
pub fn load_pt_state_dict(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let v = load_pt(&path)?;
    let t = v.tensors();
    if t.is_empty() {
        return Err(Error::format(path.as_ref().display().to_string(), "the file holds no tensors"));
    }
    Ok(t)
}
