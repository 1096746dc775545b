//! GEMM throughput at the shapes the MLP, CNN and GPT-2 workloads use, at 1 and 2 threads.
//! `cargo run --release --example matmul_gflops`
use ember::{DType, Tensor};
use std::time::Instant;
fn main() {
    for t in [1, 2] {
        ember::set_num_threads(t);
        for (m, k, n) in
            [(128, 784, 512), (128, 512, 512), (128, 512, 10), (512, 128, 784), (1, 768, 2304), (1, 768, 50257)]
        {
            let a = Tensor::randn(&[m, k], DType::F32).unwrap();
            let b = Tensor::randn(&[n, k], DType::F32).unwrap().t().unwrap();
            for _ in 0..20 {
                a.matmul(&b).unwrap();
            }
            let it = 200;
            let s = Instant::now();
            for _ in 0..it {
                a.matmul(&b).unwrap();
            }
            let dt = s.elapsed().as_secs_f64() / it as f64;
            println!("t={t} {m}x{k}x{n}: {:.1} us, {:.1} GFLOP/s", dt * 1e6, 2.0 * (m * k * n) as f64 / dt / 1e9);
        }
    }
}
