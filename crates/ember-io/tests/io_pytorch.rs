//! Files written by PyTorch load with the right dtypes, shapes, values, shared storage and
//! strides; files written by Ember load back identically (and are checked with
//! `safetensors.torch` by tools/gen_fixtures.py --check-ember-file); a pickle that calls
//! `os.system` is refused without running.

use ember_core::{bf16, DType, Tensor};
use ember_io::pt::PtValue;
use ember_io::*;
use serde_json::Value;
use std::collections::BTreeMap;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn expected() -> BTreeMap<String, (DType, Vec<usize>, Vec<f64>)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(format!("{FIX}/expected.json")).unwrap()).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, e)| {
            let dtype = match e["dtype"].as_str().unwrap() {
                "float32" => DType::F32,
                "float64" => DType::F64,
                "bfloat16" => DType::BF16,
                "float16" => DType::F16,
                "int64" => DType::I64,
                "int32" => DType::I32,
                "uint8" => DType::U8,
                "int8" => DType::I8,
                "int16" => DType::I16,
                "bool" => DType::Bool,
                d => panic!("{d}"),
            };
            let shape = e["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let data = e["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap()).collect();
            (k.clone(), (dtype, shape, data))
        })
        .collect()
}

fn check(name: &str, t: &Tensor, want: &(DType, Vec<usize>, Vec<f64>)) {
    assert_eq!(t.dtype(), want.0, "{name} dtype");
    assert_eq!(t.shape(), want.1.as_slice(), "{name} shape");
    let got = t.to_dtype(DType::F32).unwrap().to_f64_vec().unwrap();
    assert_eq!(got, want.2, "{name} values");
}

#[test]
fn safetensors_written_by_pytorch_load_exactly() {
    let (t, meta) = load_safetensors_with_metadata(format!("{FIX}/torch_written.safetensors")).unwrap();
    let want = expected();
    for (k, w) in &want {
        if let Some(x) = t.get(k) {
            check(k, x, w);
        }
    }
    assert_eq!(t.len(), 12);
    assert_eq!(meta.get("note").map(String::as_str), Some("from gen_fixtures"));
}

#[test]
fn torch_save_files_load_as_walkable_data() {
    let v = load_pt(format!("{FIX}/torch_written.pt")).unwrap();
    let want = expected();
    let model = v.get("model").unwrap();
    for (k, w) in &want {
        check(k, model.get(k).and_then(PtValue::as_tensor).unwrap_or_else(|| panic!("{k} missing")), w);
    }
    let a = model.get("shared_a").unwrap().as_tensor().unwrap();
    let b = model.get("shared_b").unwrap().as_tensor().unwrap();
    assert!(a.shares_storage(b), "two views of one storage stay shared");
    let tr = model.get("transposed").unwrap().as_tensor().unwrap();
    assert!(!tr.is_contiguous(), "saved strides are kept");
    assert!(matches!(v.get("optimizer.step"), Some(PtValue::Int(3))));
    assert!(matches!(v.get("optimizer.lr"), Some(PtValue::Float(x)) if *x == 0.01));
    assert!(matches!(v.get("epoch"), Some(PtValue::Int(2))));
    let sd = load_pt_state_dict(format!("{FIX}/torch_written.pt")).unwrap();
    assert!(sd.contains_key("model.f32") && sd.contains_key("model.param"));
}

#[test]
fn a_pickle_calling_os_system_is_refused_without_running() {
    let marker = std::path::Path::new("/tmp/ember-evil-pt-ran");
    let _ = std::fs::remove_file(marker);
    let e = load_pt(format!("{FIX}/evil_os_system.pt")).unwrap_err().to_string();
    assert!(e.contains("refusing to load global") && e.contains("system"), "{e}");
    assert!(!marker.exists(), "the command must never run");
}

#[test]
fn ember_files_round_trip_and_are_readable_by_safetensors_torch() {
    let w = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let mut m = BTreeMap::new();
    m.insert("w".to_string(), w.clone());
    m.insert("t".to_string(), w.t().unwrap());
    m.insert("h".to_string(), Tensor::from_slice(&[bf16::from_f32(0.5), bf16::from_f32(-2.0)], &[2]).unwrap());
    m.insert("i".to_string(), Tensor::from_slice(&[-1i64, 7], &[2]).unwrap());
    m.insert("b".to_string(), Tensor::from_slice(&[true, false], &[2]).unwrap());
    m.insert("c".to_string(), Tensor::from_slice(&[-128i8, 5], &[2]).unwrap());
    m.insert("s".to_string(), Tensor::from_slice(&[-32768i16, 300], &[2]).unwrap());
    let meta: BTreeMap<String, String> = [("written_by".to_string(), "ember".to_string())].into();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let p = dir.join("ember_written.safetensors");
    save_safetensors_with_metadata(&m, &meta, &p).unwrap();
    let (back, meta2) = load_safetensors_with_metadata(&p).unwrap();
    assert_eq!(meta2, meta);
    for (k, t) in &m {
        assert_eq!(back[k].dtype(), t.dtype());
        assert_eq!(back[k].shape(), t.shape());
        assert_eq!(back[k].to_f64_vec().unwrap(), t.to_f64_vec().unwrap(), "{k}");
    }
    // The header is 8-byte aligned, as the reference writer makes it.
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()) % 8, 0);
    eprintln!("check with: python3 tools/gen_fixtures.py --check-ember-file {}", p.display());
}

/// Loading from a path maps the file copy-on-write: tensors read the file's bytes in place,
/// writing one changes only this process's copy (the file and a later load are unchanged),
/// and tensors the map cannot hold (bool, a misaligned f32 after an odd-sized u8) are read.
/// Ember writes the widest dtypes first, so its own files are aligned throughout.
#[test]
fn mapped_tensors_are_private_copies_on_write() {
    let mut m = BTreeMap::new();
    m.insert("a_bytes".to_string(), Tensor::from_slice(&[1u8, 2, 3], &[3]).unwrap());
    m.insert("b_f32".to_string(), Tensor::from_slice(&[0.5f32, -1.5, 2.25, 8.0], &[2, 2]).unwrap());
    m.insert("c_mask".to_string(), Tensor::from_slice(&[true, false, true], &[3]).unwrap());
    m.insert("d_f64".to_string(), Tensor::from_slice(&[3.0f64; 600], &[600]).unwrap());
    let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember_mapped.safetensors");
    save_safetensors(&m, &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let loaded = load_safetensors(&p).unwrap();
    for (k, t) in &m {
        assert_eq!(loaded[k].to_f64_vec().unwrap(), t.to_f64_vec().unwrap(), "{k}");
    }
    loaded["d_f64"].fill_(-7.0).unwrap();
    loaded["b_f32"].add_(&Tensor::ones(&[2, 2], DType::F32).unwrap()).unwrap();
    assert_eq!(loaded["d_f64"].to_f64_vec().unwrap(), vec![-7.0; 600]);
    assert_eq!(loaded["b_f32"].to_f64_vec().unwrap(), vec![1.5, -0.5, 3.25, 9.0]);
    assert_eq!(std::fs::read(&p).unwrap(), before, "writes must not reach the file");
    let again = load_safetensors(&p).unwrap();
    assert_eq!(again["d_f64"].to_f64_vec().unwrap(), vec![3.0; 600]);
    drop(loaded);
    assert_eq!(again["b_f32"].to_f64_vec().unwrap(), vec![0.5, -1.5, 2.25, 8.0]);
    let h = read_safetensors_header(&p).unwrap();
    let begin = |n: &str| h.entries.iter().find(|e| e.name == n).unwrap().begin;
    assert_eq!((begin("d_f64"), begin("b_f32"), begin("a_bytes"), begin("c_mask")), (0, 4800, 4816, 4819));

    // A file from another writer with an f32 at data offset 3 (misaligned: read, not mapped).
    let json = br#"{"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"f":{"dtype":"F32","shape":[1],"data_offsets":[3,7]}}"#;
    let mut raw = (json.len() as u64).to_le_bytes().to_vec();
    raw.extend_from_slice(json);
    raw.extend_from_slice(&[9, 8, 7]);
    raw.extend_from_slice(&1.75f32.to_le_bytes());
    let q = p.with_file_name("ember_misaligned.safetensors");
    std::fs::write(&q, &raw).unwrap();
    let odd = load_safetensors(&q).unwrap();
    assert_eq!(odd["f"].to_f64_vec().unwrap(), vec![1.75]);
    assert_eq!(odd["u"].to_f64_vec().unwrap(), vec![9.0, 8.0, 7.0]);
}
