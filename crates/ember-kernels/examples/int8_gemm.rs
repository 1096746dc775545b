//! Prompt-shaped int8 GEMM timings: `m` activation rows times an `n x k` int8 weight, the
//! per-row-scale kernel (`int8_panel`) against the Q8_0 panel kernel with per-block activation
//! scales (`blockq_panel`), in GMAC/s on one thread. Not a test; for A/B work on the kernels:
//!     cargo run --release -p ember-kernels --example int8_gemm [m] [n] [k]
use ember_kernels::blockq::BlockFormat;
use ember_kernels::blockq_int::QuantizedRow;
use ember_kernels::int8_panel::{self, RowQuant};
use ember_kernels::{blockq_panel, isa};

mod common;
use common::median_s;

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let (m, n, k) =
        (a.first().copied().unwrap_or(128), a.get(1).copied().unwrap_or(4864), a.get(2).copied().unwrap_or(896));
    let one = half::f16::ONE.to_bits().to_le_bytes();
    let codes: Vec<u8> = (0..n * k).map(|i| (i * 7919 % 251) as u8).collect();
    let blocks: Vec<u8> = codes.chunks_exact(32).flat_map(|c| one.into_iter().chain(c.iter().copied())).collect();
    let w = blockq_panel::repack(BlockFormat::Q8_0, &blocks, n, k).expect("panels");
    let (scale, sums) = (vec![0.01f32; n], int8_panel::row_sums(&w, k));
    let x: Vec<Vec<f32>> = (0..m).map(|t| (0..k).map(|i| ((i * 31 + t) % 97) as f32 / 50.0 - 0.97).collect()).collect();
    let xr: Vec<RowQuant> = x.iter().map(|r| RowQuant::new(r)).collect();
    let xq: Vec<QuantizedRow> = x.iter().map(|r| QuantizedRow::new(r)).collect();
    let mut out = vec![0.0f32; m * n];
    let macs = (m * n * k) as f64;
    for lvl in isa::available() {
        let t = median_s(7, || int8_panel::matmul_isa(lvl, &xr, &w, &scale, &sums, &mut out, n));
        let q = median_s(7, || blockq_panel::matmul_isa(lvl, BlockFormat::Q8_0, &xq, &w, &mut out));
        println!(
            "{lvl:?} m={m} n={n} k={k}: int8 per-row {:.1} GMAC/s, Q8_0 panels {:.1} GMAC/s",
            macs / t / 1e9,
            macs / q / 1e9
        );
    }
}
