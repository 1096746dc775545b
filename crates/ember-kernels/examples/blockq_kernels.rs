//! Decode-shaped kernel timings for the block formats: one activation row (and four) times an
//! `n x k` weight, row-major blocks (`blockq_int`) against 16-row panels (`blockq_panel`), in
//! GB/s of weight bytes streamed. Not a test; for A/B work on the kernels:
//!     cargo run --release -p ember-kernels --example blockq_kernels [n] [k]
use ember_kernels::blockq::{self, BlockFormat};
use ember_kernels::blockq_int::{self, QuantizedRow};
use ember_kernels::blockq_panel;

mod common;
use common::median_s;

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let (n, k) = (a.first().copied().unwrap_or(16384), a.get(1).copied().unwrap_or(4096));
    let w: Vec<f32> = (0..n * k).map(|i| ((i * 7919 % 1999) as f32 - 999.0) / 1000.0).collect();
    let x: Vec<f32> = (0..k).map(|i| ((i * 31 % 97) as f32 - 48.0) / 50.0).collect();
    let xq = QuantizedRow::new(&x);
    let x4: Vec<QuantizedRow> = (0..4).map(|_| QuantizedRow::new(&x)).collect();
    for format in [BlockFormat::Q8_0, BlockFormat::Q4_0, BlockFormat::Q4_K] {
        let rows = blockq::quantize(format, &w).expect("a format Ember writes");
        let panels = blockq_panel::repack(format, &rows, n, k).expect("a panel format");
        let gb = rows.len() as f64 / 1e9;
        let mut out = vec![0.0f32; n];
        let mut out4 = vec![0.0f32; 4 * n];
        let t_rows = median_s(9, || blockq_int::dot_rows(format, &xq, &rows, &mut out));
        let t_pan = median_s(9, || blockq_panel::matmul(format, std::slice::from_ref(&xq), &panels, &mut out));
        let t_pan4 = median_s(9, || blockq_panel::matmul(format, &x4, &panels, &mut out4));
        println!(
            "{:5} {n}x{k}: rows {:6.1} GB/s, panels {:6.1} GB/s, panels x4 rows {:6.1} GB/s",
            format.name(),
            gb / t_rows,
            gb / t_pan,
            gb / t_pan4
        );
    }
}
