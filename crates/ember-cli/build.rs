//! Embeds the main job's default data, the bundled Shakespeare, gzip-compressed in the binary
//! (5.1 MB of text, about 1.9 MB compressed), so `ember train char` works from any directory
//! and after `cargo install`.

use std::io::Write;

fn main() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/shakespeare/shakespeare_complete.txt");
    println!("cargo:rerun-if-changed={src}");
    let text = std::fs::read(src).unwrap_or_else(|e| panic!("reading {src}: {e}"));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shakespeare.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&text).expect("compressing in memory");
    std::fs::write(&out, gz.finish().expect("compressing in memory"))
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
