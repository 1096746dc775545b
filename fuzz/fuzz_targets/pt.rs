//! Any bytes given to the torch.save loader (zip + data-only unpickler).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ember_io::pt::load_pt_bytes(data);
});
