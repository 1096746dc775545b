//! Hand-made malformed files, each a clear error (never a panic): safetensors and torch.save
//! defects here; IDX defects live in ember-data's tests. Together they cover more than 25
//! distinct defects.

use ember_io::pt::load_pt_bytes;
use ember_io::safetensors::load_safetensors_bytes;
use std::io::Write;

fn st(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn malformed_safetensors_files_are_errors() {
    let ok = st(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 8]);
    assert!(load_safetensors_bytes(&ok).is_ok(), "the baseline file is valid");
    let mut huge_len = ok.clone();
    huge_len[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut bad_utf8 = st(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 8]);
    bad_utf8[10] = 0xff;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", vec![], "8-byte header length"),
        ("header length past the end", huge_len, "does not fit the file"),
        ("truncated data", ok[..ok.len() - 3].to_vec(), "past the data section"),
        ("not JSON", st("{nope", &[]), "invalid header JSON"),
        ("non-UTF-8 header", bad_utf8, "invalid header JSON"),
        ("header is a list", st("[1,2]", &[]), "invalid header JSON"),
        (
            "unknown dtype",
            st(r#"{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, &[0]),
            "unsupported dtype",
        ),
        ("negative dim", st(r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, &[0; 4]), "non-negative"),
        (
            "shape overflows",
            st(r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#, &[0; 4]),
            "overflows",
        ),
        (
            "offsets do not match shape",
            st(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &[0; 8]),
            "do not hold",
        ),
        ("reversed offsets", st(r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, &[0; 8]), "do not hold"),
        (
            "overlapping tensors",
            st(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &[0; 8],
            ),
            "overlaps",
        ),
        ("gap between tensors", st(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, &[0; 8]), "gap"),
        ("trailing bytes", st(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &[0; 8]), "cover 4 bytes"),
        (
            "duplicate names",
            st(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &[0; 8],
            ),
            "duplicate",
        ),
        ("metadata not strings", st(r#"{"__metadata__":{"k":1}}"#, &[]), "not a string"),
        ("missing offsets", st(r#"{"a":{"dtype":"F32","shape":[1]}}"#, &[0; 4]), "missing data_offsets"),
        ("bool byte 2", st(r#"{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}"#, &[2]), "neither 0 nor 1"),
    ];
    for (what, bytes, want) in cases {
        let e = match load_safetensors_bytes(&bytes) {
            Ok(_) => panic!("{what}: loaded without error"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(want), "{what}: error {e:?} should mention {want:?}");
    }
}

/// A torch.save-style zip with the given pickle and storages.
fn pt_zip(pickle: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        z.start_file("archive/data.pkl", opts).unwrap();
        z.write_all(pickle).unwrap();
        for (k, b) in storages {
            z.start_file(format!("archive/data/{k}"), opts).unwrap();
            z.write_all(b).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// Pickle of `_rebuild_tensor_v2(storage(FloatStorage, "0", numel), offset, size, stride)`.
fn tensor_pickle(numel: u8, offset: u8, size: u8, stride: u8) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
    p.extend_from_slice(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK");
    p.push(numel);
    p.extend_from_slice(b"tQ");
    p.push(b'K');
    p.push(offset);
    p.push(b'K');
    p.push(size);
    p.push(0x85);
    p.push(b'K');
    p.push(stride);
    p.push(0x85);
    p.extend_from_slice(&[0x89]); // requires_grad False
    p.extend_from_slice(b"ctorch\nFloatStorage\n"); // stand-in for backward_hooks (ignored)
    p.extend_from_slice(b"tR.");
    p
}

#[test]
fn the_tensor_pickle_helper_builds_a_valid_file() {
    let ok = pt_zip(&tensor_pickle(4, 0, 4, 1), &[("0", &[0u8; 16])]);
    let v = load_pt_bytes(&ok).unwrap();
    assert_eq!(v.as_tensor().unwrap().shape(), &[4]);
}

#[test]
fn malformed_torch_save_files_are_errors() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not a zip", b"PK\x03\x04garbage".to_vec(), "not a torch.save zip"),
        ("legacy pickle file", vec![0x80, 2, b'K', 1, b'.'], "not a torch.save zip"),
        (
            "zip without data.pkl",
            {
                let mut buf = std::io::Cursor::new(Vec::new());
                let mut z = zip::ZipWriter::new(&mut buf);
                z.start_file("x/other", zip::write::SimpleFileOptions::default()).unwrap();
                z.finish().unwrap();
                buf.into_inner()
            },
            "no data.pkl",
        ),
        ("truncated pickle", pt_zip(&[0x80, 2, b'X', 0xff, 0, 0, 0, b'a'], &[]), "truncated"),
        ("unknown opcode", pt_zip(&[0x80, 2, 0xfe], &[]), "unsupported pickle opcode"),
        (
            "builtins.eval global",
            pt_zip(b"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.", &[]),
            "refusing to load global builtins.eval",
        ),
        ("stack underflow", pt_zip(b"\x80\x02s.", &[]), "stack underflow"),
        ("missing memo", pt_zip(b"\x80\x02h\x05.", &[]), "memo key 5 missing"),
        ("storage size mismatch", pt_zip(&tensor_pickle(4, 0, 4, 1), &[("0", &[0u8; 12])]), "holds 12 bytes"),
        ("storage missing", pt_zip(&tensor_pickle(4, 0, 4, 1), &[]), "storage archive/data/0"),
        (
            "tensor past its storage",
            pt_zip(&tensor_pickle(4, 2, 4, 1), &[("0", &[0u8; 16])]),
            "does not fit its storage",
        ),
        (
            "strides past its storage",
            pt_zip(&tensor_pickle(4, 0, 3, 2), &[("0", &[0u8; 16])]),
            "does not fit its storage",
        ),
        ("empty stack at STOP", pt_zip(b"\x80\x02.", &[]), "stack underflow"),
    ];
    for (what, bytes, want) in cases {
        let e = match load_pt_bytes(&bytes) {
            Ok(_) => panic!("{what}: loaded without error"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(want), "{what}: error {e:?} should mention {want:?}");
    }
}

#[test]
fn deeply_nested_pickles_are_refused_not_overflowed() {
    let mut p = vec![0x80, 2];
    p.extend(std::iter::repeat_n(b']', 10_000)); // 10,000 nested lists
    p.extend(std::iter::repeat_n(b'a', 9_999)); // each appended into the one before
    p.push(b'.');
    let e = load_pt_bytes(&pt_zip(&p, &[])).unwrap_err().to_string();
    assert!(e.contains("nested too deeply"), "{e}");
}
