//! GGUF: a file written by llama.cpp's `gguf` Python package reads back with its metadata and
//! with every tensor equal to the package's own dequantisation (`tools/gen_gguf_fixture.py`);
//! malformed files (truncations, forged counts, unknown types, misaligned or out-of-file
//! tensors, ...) are errors, never panics.

use ember_core::DType;
use ember_io::gguf::{parse_gguf, GgufValue};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gguf/");

fn fixture() -> Vec<u8> {
    std::fs::read(format!("{FIXTURE}tiny.gguf")).unwrap()
}

#[test]
fn the_gguf_package_file_reads_back() {
    let g = ember_io::load_gguf(format!("{FIXTURE}tiny.gguf")).unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.alignment, 32);
    assert_eq!(g.get("general.architecture").and_then(GgufValue::as_str), Some("llama"));
    assert_eq!(g.get("test.u32"), Some(&GgufValue::U32(7)));
    assert_eq!(g.get("test.i32"), Some(&GgufValue::I32(-3)));
    assert_eq!(g.get("test.f32"), Some(&GgufValue::F32(0.5)));
    assert_eq!(g.get("test.bool"), Some(&GgufValue::Bool(true)));
    assert_eq!(g.get("test.string").and_then(GgufValue::as_str), Some("héllo"));
    assert_eq!(g.get("test.u64").and_then(GgufValue::as_u64), Some(1 << 40));
    assert_eq!(g.get("test.f64"), Some(&GgufValue::F64(-2.25)));
    assert_eq!(g.get("test.i8"), Some(&GgufValue::I8(-5)));
    assert_eq!(g.get("test.u16"), Some(&GgufValue::U16(65535)));
    assert_eq!(
        g.get("test.strings"),
        Some(&GgufValue::Array(vec![GgufValue::String("a".into()), GgufValue::String("bc".into())]))
    );
    assert!(
        matches!(g.get("test.array"), Some(GgufValue::Array(a)) if a.iter().filter_map(GgufValue::as_u64).collect::<Vec<_>>() == [1, 2, 3])
    );

    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURE}expected.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(g.tensors.len(), expected.len());
    for (name, e) in expected {
        let t = g.tensor(name).unwrap();
        let shape: Vec<usize> = e["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(t.shape(), &shape[..], "{name}");
        let want_dtype = match name.as_str() {
            "f16" => DType::F16,
            "bf16" => DType::BF16,
            _ => DType::F32,
        };
        assert_eq!(t.dtype(), want_dtype, "{name}");
        assert_eq!(g.info(name).unwrap().ggml_type.name(), e["type"].as_str().unwrap());
        let got = t.to_f64_vec().unwrap();
        let want: Vec<f64> = e["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{name}[{i}]: {a} vs {b}");
        }
    }
    assert!(g.tensor("missing").unwrap_err().to_string().contains("no tensor named"));
}

/// A GGUF file built field by field, to break one field at a time.
#[derive(Clone)]
struct Builder {
    version: u32,
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data: Vec<u8>,
}

fn gstr(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

impl Builder {
    fn new() -> Builder {
        Builder { version: 3, kv: Vec::new(), n_kv: 0, infos: Vec::new(), n_tensors: 0, data: Vec::new() }
    }

    fn kv(mut self, key: &str, ty: u32, value: &[u8]) -> Builder {
        self.kv.extend(gstr(key.as_bytes()));
        self.kv.extend(ty.to_le_bytes());
        self.kv.extend_from_slice(value);
        self.n_kv += 1;
        self
    }

    fn tensor(mut self, name: &str, ne: &[u64], ty: u32, offset: u64) -> Builder {
        self.infos.extend(gstr(name.as_bytes()));
        self.infos.extend((ne.len() as u32).to_le_bytes());
        for d in ne {
            self.infos.extend(d.to_le_bytes());
        }
        self.infos.extend(ty.to_le_bytes());
        self.infos.extend(offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend(self.version.to_le_bytes());
        v.extend(self.n_tensors.to_le_bytes());
        v.extend(self.n_kv.to_le_bytes());
        v.extend_from_slice(&self.kv);
        v.extend_from_slice(&self.infos);
        v.resize(v.len().div_ceil(32) * 32, 0);
        v.extend_from_slice(&self.data);
        v
    }
}

/// One f32 tensor of 4 values, valid.
fn valid() -> Builder {
    let mut b = Builder::new().kv("k", 4, &7u32.to_le_bytes()).tensor("w", &[4], 0, 0);
    b.data = [1f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    b
}

fn err(bytes: Vec<u8>) -> String {
    parse_gguf(bytes, "t.gguf").unwrap_err().to_string()
}

#[test]
fn the_builder_makes_a_valid_file() {
    let g = parse_gguf(valid().bytes(), "t.gguf").unwrap();
    assert_eq!(g.tensor("w").unwrap().to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn every_truncation_of_a_real_file_is_an_error() {
    let f = fixture();
    // The file may end in alignment padding after its last tensor; cutting that is harmless.
    let g = parse_gguf(f.clone(), "tiny.gguf").unwrap();
    let end = g.tensors.iter().map(|t| t.offset + t.nbytes).max().unwrap();
    for n in 0..end {
        assert!(parse_gguf(f[..n].to_vec(), "cut.gguf").is_err(), "a file cut at {n} bytes was accepted");
    }
}

#[test]
fn malformed_files_are_errors_naming_the_problem() {
    let mut bad_magic = valid().bytes();
    bad_magic[0] = b'X';
    assert!(err(bad_magic).contains("no GGUF magic"));
    let v1 = Builder { version: 1, ..valid() };
    assert!(err(v1.bytes()).contains("version 1 is not supported"));
    let be = Builder { version: 3u32.swap_bytes(), ..valid() };
    assert!(err(be.bytes()).contains("big-endian"));
    let forged = Builder { n_tensors: u64::MAX, ..valid() };
    assert!(err(forged.bytes()).contains("more than the file can hold"));
    let forged = Builder { n_kv: 1 << 40, ..valid() };
    assert!(err(forged.bytes()).contains("more than the file can hold"));
    assert!(err(valid().kv("x", 99, &[]).bytes()).contains("unknown metadata value type 99"));
    assert!(err(valid().kv("b", 7, &[2]).bytes()).contains("a bool holds 2"));
    assert!(err(valid().kv("s", 8, &gstr(&[0xff, 0xfe])).bytes()).contains("UTF-8"));
    // A string claiming more bytes than remain.
    assert!(err(valid().kv("s", 8, &u64::MAX.to_le_bytes()).bytes()).contains("more than the file can hold"));
    // Arrays of arrays, nested past the limit.
    let mut nested = Vec::new();
    for _ in 0..6 {
        nested.extend(9u32.to_le_bytes());
        nested.extend(1u64.to_le_bytes());
    }
    nested.extend(4u32.to_le_bytes());
    nested.extend(1u64.to_le_bytes());
    nested.extend(1u32.to_le_bytes());
    assert!(err(valid().kv("a", 9, &nested).bytes()).contains("nested too deeply"));
    assert!(err(valid().kv("k", 4, &1u32.to_le_bytes()).bytes()).contains("appears twice"));
    assert!(err(valid().kv("general.alignment", 4, &24u32.to_le_bytes()).bytes()).contains("power of two"));

    assert!(err(valid().tensor("u", &[4], 77, 32).bytes()).contains("unknown ggml type 77"));
    assert!(err(valid().tensor("u", &[4], 0, 8).bytes()).contains("not a multiple of the alignment"));
    assert!(err(valid().tensor("u", &[4], 0, 4096).bytes()).contains("past the end"));
    assert!(err(valid().tensor("w", &[4], 0, 0).bytes()).contains("appears twice"));
    assert!(err(valid().tensor("u", &[1, 1, 1, 1, 1], 0, 0).bytes()).contains("5 dims"));
    assert!(err(valid().tensor("u", &[u64::MAX, 4], 0, 0).bytes()).contains("overflows"));
    assert!(err(valid().tensor("q", &[16], 8, 0).bytes()).contains("not a multiple of Q8_0's block of 32"));
    // Types ggml has that Ember cannot read yet are listed, and refused when read.
    let mut b = valid().tensor("q2", &[256], 10, 32);
    b.data.resize(32 + 84, 0);
    let g = parse_gguf(b.bytes(), "t.gguf").unwrap();
    assert!(g.tensor("q2").unwrap_err().to_string().contains("Q2_K, which Ember cannot read yet"));
    assert!(g.blocks("q2").is_none());
}

/// From a path, f32/f16/bf16 tensors borrow the file's bytes from a private map: two tensors
/// lie as far apart in memory as in the file (no copy), writing one changes neither the file
/// nor a second request for it (a copy), and block formats are still dequantised.
#[test]
fn float_tensors_borrow_a_private_map_of_the_file() {
    let src = format!("{FIXTURE}tiny.gguf");
    let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember_mapped.gguf");
    std::fs::copy(&src, &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let g = ember_io::load_gguf(&p).unwrap();
    let floats: Vec<&str> = ["f16", "bf16", "f32"].into_iter().filter(|n| g.info(n).is_some()).collect();
    assert!(floats.len() >= 2, "the fixture has f16, bf16 and f32 tensors");
    let ts: Vec<_> = floats.iter().map(|n| g.tensor(n).unwrap()).collect();
    let (a, b) = (g.info(floats[0]).unwrap().offset, g.info(floats[1]).unwrap().offset);
    assert_eq!(ts[1].data_ptr().wrapping_sub(ts[0].data_ptr()), b.wrapping_sub(a), "mapped, not copied");
    let values = ts[0].to_f64_vec().unwrap();
    ts[0].fill_(3.0).unwrap();
    assert!(ts[0].to_f64_vec().unwrap().iter().all(|&v| v == 3.0));
    let again = g.tensor(floats[0]).unwrap();
    assert_ne!(again.data_ptr(), ts[0].data_ptr(), "a second request is a copy");
    assert_eq!(again.to_f64_vec().unwrap(), values, "from the file, not the written view");
    assert_eq!(std::fs::read(&p).unwrap(), before, "writes must not reach the file");
    // `tensor_copy` reads out, never lends the map.
    let copied = g.tensor_copy(floats[1]).unwrap();
    assert_ne!(copied.data_ptr(), ts[1].data_ptr());
    assert_eq!(copied.to_f64_vec().unwrap(), ts[1].to_f64_vec().unwrap());
    // The same file read into memory gives the same values.
    let read = parse_gguf(before, "read").unwrap();
    for n in &floats[1..] {
        assert_eq!(read.tensor(n).unwrap().to_f64_vec().unwrap(), g.tensor(n).unwrap().to_f64_vec().unwrap(), "{n}");
    }
}

/// A crafted file whose tensors share bytes: only the first is lent the map, the overlapping
/// one is a copy, so writing one never changes the other.
#[test]
fn overlapping_tensors_are_not_both_lent_the_map() {
    let mut b = Builder::new().tensor("w", &[4], 0, 0).tensor("v", &[2], 0, 0).tensor("u", &[2], 0, 32);
    b.data = (1..=12).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember_overlap.gguf");
    std::fs::write(&p, b.bytes()).unwrap();
    let g = ember_io::load_gguf(&p).unwrap();
    let (w, v, u) = (g.tensor("w").unwrap(), g.tensor("v").unwrap(), g.tensor("u").unwrap());
    assert_eq!(u.data_ptr().wrapping_sub(w.data_ptr()), 32, "w and u are disjoint: both mapped");
    assert_ne!(v.data_ptr(), w.data_ptr());
    w.fill_(0.0).unwrap();
    assert_eq!(v.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    assert_eq!(u.to_vec::<f32>().unwrap(), vec![9.0, 10.0]);
}
