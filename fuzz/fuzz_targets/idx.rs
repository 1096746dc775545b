//! Any bytes given to the MNIST IDX parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ember_data::datasets::mnist::parse_idx(data, "fuzz");
});
