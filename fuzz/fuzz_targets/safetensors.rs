//! Any bytes given to the safetensors loader: an error or tensors, never a panic or abort.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ember_io::safetensors::load_safetensors_bytes(data);
});
