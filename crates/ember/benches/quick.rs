use ember::{DType, Tensor};
use std::time::Instant;
fn bench(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    f();
    let one = t.elapsed().as_secs_f64().max(1e-7);
    let inner = ((0.1 / one).ceil() as usize).max(1);
    let mut ts = vec![];
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..inner {
            f();
        }
        ts.push(t.elapsed().as_secs_f64() / inner as f64);
    }
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ts[3]
}
fn main() {
    let threads: usize = std::env::var("T").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    ember::set_num_threads(threads);
    for n in [128, 256, 512, 1024, 2048] {
        let a = Tensor::randn(&[n, n], DType::F32).unwrap();
        let b = Tensor::randn(&[n, n], DType::F32).unwrap();
        let m = bench(|| {
            a.matmul(&b).unwrap();
        });
        println!("matmul {n}: {:.1} GFLOP/s", 2.0 * (n as f64).powi(3) / m / 1e9);
    }
    let x = Tensor::randn(&[16 << 20], DType::F32).unwrap();
    let m = bench(|| {
        x.gelu().unwrap();
    });
    println!("gelu 16M: {:.2} ms", m * 1e3);
    let m = bench(|| {
        x.add(&x).unwrap();
    });
    println!("add 16M: {:.2} ms", m * 1e3);
    let s = Tensor::randn(&[4096, 4096], DType::F32).unwrap();
    let m = bench(|| {
        s.softmax(-1).unwrap();
    });
    println!("softmax 4096^2: {:.2} ms", m * 1e3);
    let a = Tensor::ones(&[1], DType::F32).unwrap();
    let b = a.clone();
    let m = bench(|| {
        for _ in 0..10000 {
            let _ = (&a + &b).unwrap();
        }
    });
    println!("tiny add: {:.3} us/op", m / 1e4 * 1e6);
}
