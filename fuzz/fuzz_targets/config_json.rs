//! Any bytes given to the model-config parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ember_models::Gpt2Config::from_json(s, "fuzz");
    }
});
