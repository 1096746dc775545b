//! Any bytes given to the GGUF parser, and every tensor it then accepts read back: an error or
//! values, never a panic or abort.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(g) = ember_io::gguf::parse_gguf(data.to_vec(), "fuzz.gguf") {
        for t in &g.tensors {
            let _ = g.tensor(&t.name);
        }
    }
});
