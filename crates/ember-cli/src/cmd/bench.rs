//! `ember bench`: the workloads of `bench/torch_bench.py` (PyTorch's side), with the same
//! shapes and the same timing method (warm-up, then the median of several samples, each long
//! enough for tiny ops), printing one line per workload and, with `--json`, the same result
//! keys as the PyTorch script so `scripts/bench-vs-torch.sh` can put them side by side.

use ember::models::{Gpt2, Gpt2Config, KvCache, WeightFormat};
use ember::nn::{self, functional as F, ConvOptions, Forward, Module};
use ember::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer};
use ember::{no_grad, DType, Result, Tensor};
use serde_json::{json, Map, Value};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Workloads: matmul,bf16,conv,mlp,gpt2,nanogpt,lstm,transformer,dcgan,elementwise,overhead (default: all).
    #[arg(long, default_value = "matmul,bf16,conv,mlp,gpt2,nanogpt,lstm,transformer,dcgan,elementwise,overhead")]
    pub only: String,
    /// Print the results as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Instead of the workloads: load this GGUF Llama-family model and time its prompt and
    /// decode (with `--dtype`).
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Weight storage for `--model`: auto (as stored), f32, bf16, int8, q8_0, q4_0, q4_k.
    #[arg(long, default_value = "auto")]
    pub dtype: String,
}

/// Median and best seconds per call: warm-up, then `samples` samples of enough calls to last
/// `min_sample_s` (torch_bench.py's method).
fn bench(mut f: impl FnMut() -> Result<()>, samples: usize, warmup: usize, min_sample_s: f64) -> Result<(f64, f64)> {
    for _ in 0..warmup {
        f()?;
    }
    let t = Instant::now();
    f()?;
    let one = t.elapsed().as_secs_f64().max(1e-7);
    let inner = ((min_sample_s / one).ceil() as usize).max(1);
    let mut ts = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..inner {
            f()?;
        }
        ts.push(t.elapsed().as_secs_f64() / inner as f64);
    }
    ts.sort_by(|a, b| a.total_cmp(b));
    Ok((ts[ts.len() / 2], ts[0]))
}

#[derive(nn::Module)]
struct Mlp {
    l1: nn::Linear,
    l2: nn::Linear,
    l3: nn::Linear,
}

impl Forward for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.l3.forward(&self.l2.forward(&self.l1.forward(x)?.relu()?)?.relu()?)
    }
}

pub fn run(a: BenchArgs) -> Result<()> {
    let which: Vec<&str> = a.only.split(',').map(str::trim).collect();
    let has = |w: &str| which.contains(&w);
    let mut r = Map::new();
    r.insert("threads".into(), json!(ember::get_num_threads()));
    r.insert("ember".into(), json!(env!("CARGO_PKG_VERSION")));
    let mut put = |k: &str, v: f64| {
        r.insert(k.to_string(), json!(v));
    };
    println!("# ember {} threads={}", env!("CARGO_PKG_VERSION"), ember::get_num_threads());
    ember::manual_seed(0);
    if let Some(path) = &a.model {
        super::bench_gguf::run(path, a.dtype.parse()?, &mut r)?;
        if a.json {
            println!("{}", Value::Object(r));
        }
        return Ok(());
    }

    if has("matmul") {
        for n in [128usize, 256, 512, 1024, 2048] {
            let x = Tensor::randn(&[n, n], DType::F32)?;
            let y = Tensor::randn(&[n, n], DType::F32)?;
            let (med, best) = bench(|| x.matmul(&y).map(drop), 7, 3, 0.1)?;
            let gf = 2.0 * (n as f64).powi(3) / med / 1e9;
            put(&format!("matmul_f32_{n}_gflops"), gf);
            println!(
                "matmul f32 N={n:5}  median {:9.3} ms  {gf:7.1} GFLOP/s  (best {:.1})",
                med * 1e3,
                2.0 * (n as f64).powi(3) / best / 1e9
            );
        }
    }
    if has("bf16") {
        for n in [1024usize, 2048] {
            let x = Tensor::randn(&[n, n], DType::F32)?.to_dtype(DType::BF16)?;
            let y = Tensor::randn(&[n, n], DType::F32)?.to_dtype(DType::BF16)?;
            let (med, _) = bench(|| x.matmul(&y).map(drop), 7, 3, 0.1)?;
            let gf = 2.0 * (n as f64).powi(3) / med / 1e9;
            put(&format!("matmul_bf16_{n}_gflops"), gf);
            println!("matmul bf16 N={n:5}  median {:9.3} ms  {gf:7.1} GFLOP/s", med * 1e3);
        }
    }
    if has("conv") {
        let x = Tensor::randn(&[32, 3, 32, 32], DType::F32)?.set_requires_grad(true)?;
        let conv = nn::Conv2d::new(3, 64, 3, ConvOptions { padding: 1, ..Default::default() })?;
        let (med, _) = bench(
            || {
                conv.forward(&x)?.sum()?.backward()?;
                x.zero_grad();
                conv.zero_grad();
                Ok(())
            },
            9,
            3,
            0.1,
        )?;
        put("conv2d_fwd_bwd_ms", med * 1e3);
        println!("conv2d b32 3->64 3x3 32x32 pad1 fwd+bwd: median {:.3} ms", med * 1e3);
        let (med, _) = no_grad(|| bench(|| conv.forward(&x).map(drop), 9, 3, 0.1))?;
        put("conv2d_fwd_ms", med * 1e3);
        println!("conv2d b32 3->64 3x3 32x32 pad1 fwd only (no_grad): median {:.3} ms", med * 1e3);
    }
    if has("mlp") {
        let model = Mlp {
            l1: nn::Linear::new(784, 512, true)?,
            l2: nn::Linear::new(512, 512, true)?,
            l3: nn::Linear::new(512, 10, true)?,
        };
        let mut opt = Adam::new(model.parameters(), AdamConfig { lr: 1e-3, ..Default::default() })?;
        let xb = Tensor::randn(&[128, 784], DType::F32)?;
        let yb = Tensor::randint(0, 10, &[128], DType::I64)?;
        let (med, _) = bench(
            || {
                opt.zero_grad();
                let loss = F::cross_entropy(&model.forward(&xb)?, &yb)?;
                loss.backward()?;
                opt.step()
            },
            9,
            3,
            0.1,
        )?;
        put("mlp_step_ms", med * 1e3);
        println!("MLP 784-512-512-10 b128 train step (Adam): median {:.3} ms", med * 1e3);
        let (med, _) = no_grad(|| bench(|| model.forward(&xb).map(drop), 9, 3, 0.1))?;
        put("mlp_fwd_ms", med * 1e3);
        println!("MLP 784-512-512-10 b128 forward only (no_grad): median {:.3} ms", med * 1e3);
    }
    if has("gpt2") {
        let cfg = Gpt2Config {
            vocab_size: 50257,
            n_positions: 1024,
            n_embd: 768,
            n_layer: 12,
            n_head: 12,
            layer_norm_epsilon: 1e-5,
            activation_function: "gelu_new".into(),
            tie_word_embeddings: true,
            embd_pdrop: 0.0,
            attn_pdrop: 0.0,
            resid_pdrop: 0.0,
        };
        let mut model = no_grad(|| Gpt2::new(cfg.clone()))?;
        model.eval();
        println!("gpt2 impl: ember_models::Gpt2 (random init), params(M)= {:.2}", model.num_parameters() as f64 / 1e6);
        let ids = Tensor::randint(0, 50257, &[1, 128], DType::I64)?;
        no_grad(|| -> Result<()> {
            let (med, _) = bench(
                || {
                    let mut cache = model.new_cache(1, 128)?;
                    model.forward_ids(&ids, Some(&mut cache)).map(drop)
                },
                7,
                2,
                0.0,
            )?;
            put("gpt2_prompt128_ms", med * 1e3);
            println!("GPT-2 small prompt fwd 128 tok b1: median {:.2} ms", med * 1e3);
            let decode = |n_new: usize| -> Result<f64> {
                let mut cache: KvCache = model.new_cache(1, 128 + n_new)?;
                let out = model.forward_ids(&ids, Some(&mut cache))?;
                let mut next = out.select(1, -1)?.argmax(-1, true)?;
                let t0 = Instant::now();
                for _ in 0..n_new {
                    let out = model.forward_ids(&next, Some(&mut cache))?;
                    next = out.select(1, -1)?.argmax(-1, true)?;
                }
                Ok(t0.elapsed().as_secs_f64())
            };
            decode(8)?;
            let mut runs = [decode(128)?, decode(128)?, decode(128)?];
            runs.sort_by(|a, b| a.total_cmp(b));
            let dt = runs[1];
            put("gpt2_decode_tok_s", 128.0 / dt);
            put("gpt2_decode_ms_per_tok", dt / 128.0 * 1e3);
            println!("GPT-2 small decode 128 new tokens after 128-token prompt (KV cache): median {:.1} tok/s ({:.2} ms/tok)", 128.0 / dt, dt / 128.0 * 1e3);
            Ok(())
        })?;
        // The same model with packed weights (inference formats of `ember generate --dtype`).
        for name in ["bf16", "int8", "q8_0", "q4_0", "q4_k"] {
            let format: WeightFormat = name.parse()?;
            let packed = no_grad(|| Gpt2::new(cfg.clone()))?.pack(format)?;
            let mb = packed.weight_bytes() as f64 / 1e6;
            no_grad(|| -> Result<()> {
                let decode = |n_new: usize| -> Result<f64> {
                    let mut cache: KvCache = packed.new_cache(1, 128 + n_new)?;
                    let out = packed.forward_ids(&ids, Some(&mut cache))?;
                    let mut next = out.select(1, -1)?.argmax(-1, true)?;
                    let t0 = Instant::now();
                    for _ in 0..n_new {
                        next = packed.forward_ids(&next, Some(&mut cache))?.select(1, -1)?.argmax(-1, true)?;
                    }
                    Ok(t0.elapsed().as_secs_f64())
                };
                decode(8)?;
                let mut runs = [decode(128)?, decode(128)?, decode(128)?];
                runs.sort_by(|a, b| a.total_cmp(b));
                put(&format!("gpt2_decode_{name}_tok_s"), 128.0 / runs[1]);
                println!("GPT-2 small decode, {name} weights ({mb:.0} MB): median {:.1} tok/s", 128.0 / runs[1]);
                Ok(())
            })?;
        }
    }
    if has("nanogpt") {
        let cfg = Gpt2Config {
            vocab_size: 65,
            n_positions: 256,
            n_embd: 384,
            n_layer: 6,
            n_head: 6,
            layer_norm_epsilon: 1e-5,
            activation_function: "gelu".into(),
            tie_word_embeddings: true,
            embd_pdrop: 0.0,
            attn_pdrop: 0.0,
            resid_pdrop: 0.0,
        };
        let model = Gpt2::new(cfg)?;
        println!("nanoGPT char params(M)= {:.2}", model.num_parameters() as f64 / 1e6);
        let mut opt =
            AdamW::new(model.parameters(), AdamWConfig { lr: 1e-3, weight_decay: 0.1, ..Default::default() })?;
        let idx = Tensor::randint(0, 65, &[16, 256], DType::I64)?;
        let tgt = Tensor::randint(0, 65, &[16, 256], DType::I64)?;
        let (med, _) = bench(
            || {
                opt.zero_grad();
                let logits = model.forward_ids(&idx, None)?;
                let loss = F::cross_entropy(&logits.reshape(&[-1, 65])?, &tgt.reshape(&[-1])?)?;
                loss.backward()?;
                opt.step()
            },
            5,
            2,
            0.0,
        )?;
        put("nanogpt_step_ms", med * 1e3);
        println!("nanoGPT char (6L d384 6H ctx256 b16 vocab65) train step AdamW: median {:.1} ms", med * 1e3);
    }
    if has("lstm") {
        // 2-layer LSTM and GRU, input 256, hidden 512, seq 64, batch 32 (issue 15's shape).
        let x = Tensor::randn(&[64, 32, 256], DType::F32)?.set_requires_grad(true)?;
        let opts = nn::RnnOptions { num_layers: 2, ..Default::default() };
        let lstm = nn::LSTM::new(256, 512, opts)?;
        let gru = nn::GRU::new(256, 512, opts)?;
        let step = |params: Vec<Tensor>, y: &dyn Fn() -> Result<Tensor>| -> Result<()> {
            params.iter().for_each(|p| p.set_grad(None));
            y()?.sum()?.backward()
        };
        let (med, _) = bench(|| step(lstm.parameters(), &|| lstm.forward(&x)), 5, 2, 0.0)?;
        put("lstm_fwd_bwd_ms", med * 1e3);
        println!("LSTM 2L in256 h512 seq64 b32 fwd+bwd: median {:.1} ms", med * 1e3);
        let (med, _) = no_grad(|| bench(|| lstm.forward(&x).map(drop), 5, 2, 0.0))?;
        put("lstm_fwd_ms", med * 1e3);
        println!("LSTM 2L in256 h512 seq64 b32 forward (no_grad): median {:.1} ms", med * 1e3);
        let (med, _) = bench(|| step(gru.parameters(), &|| gru.forward(&x)), 5, 2, 0.0)?;
        put("gru_fwd_bwd_ms", med * 1e3);
        println!("GRU 2L in256 h512 seq64 b32 fwd+bwd: median {:.1} ms", med * 1e3);
    }
    if has("transformer") {
        // nn.TransformerEncoder(nn.TransformerEncoderLayer(256, 8), 6), seq 128, batch 16,
        // training mode (dropout 0.1), forward + backward of the sum.
        let layer = nn::TransformerEncoderLayer::new(nn::TransformerOptions::new(256, 8))?;
        let enc = nn::TransformerEncoder::new(&layer, 6, None)?;
        let x = Tensor::randn(&[128, 16, 256], DType::F32)?.set_requires_grad(true)?;
        let params = enc.parameters();
        let (med, _) = bench(
            || {
                params.iter().for_each(|p| p.set_grad(None));
                enc.forward(&x)?.sum()?.backward()
            },
            5,
            2,
            0.0,
        )?;
        put("transformer_enc_fwd_bwd_ms", med * 1e3);
        println!("TransformerEncoder 6L d256 8H ff2048 seq128 b16 fwd+bwd: median {:.1} ms", med * 1e3);
    }
    if has("dcgan") {
        // pytorch/examples' DCGAN generator: nz 100, ngf 64, 64x64 RGB, batch 64, fwd + bwd.
        let (nz, ngf) = (100, 64);
        let widths = [nz, ngf * 8, ngf * 4, ngf * 2, ngf, 3];
        let mut layers: Vec<(nn::ConvTranspose2d, Option<nn::BatchNorm2d>)> = Vec::new();
        for i in 0..5 {
            let (s, p) = if i == 0 { (1, 0) } else { (2, 1) };
            let o = nn::ConvOptions { stride: s, padding: p, bias: false, ..Default::default() };
            let conv = nn::ConvTranspose2d::new(widths[i], widths[i + 1], 4, o)?;
            let bn = if i < 4 { Some(nn::BatchNorm2d::new(widths[i + 1])?) } else { None };
            layers.push((conv, bn));
        }
        let z = Tensor::randn(&[64, nz, 1, 1], DType::F32)?;
        let params: Vec<Tensor> = layers
            .iter()
            .flat_map(|(c, b)| c.parameters().into_iter().chain(b.iter().flat_map(|b| b.parameters())))
            .collect();
        let (med, _) = bench(
            || {
                params.iter().for_each(|p| p.set_grad(None));
                let mut h = z.clone();
                for (c, b) in &layers {
                    h = c.forward(&h)?;
                    h = match b {
                        Some(b) => b.forward(&h)?.relu()?,
                        None => h.tanh()?,
                    };
                }
                h.sum()?.backward()
            },
            5,
            2,
            0.0,
        )?;
        put("dcgan_gen_fwd_bwd_ms", med * 1e3);
        println!("DCGAN generator (nz100 ngf64 64x64) b64 fwd+bwd: median {:.1} ms", med * 1e3);
    }
    if has("elementwise") {
        let x = Tensor::randn(&[16 * 1024 * 1024], DType::F32)?;
        let gb = |ms: f64| 8.0 * x.numel() as f64 / (ms / 1e3) / 1e9;
        let (med, _) = bench(|| x.gelu().map(drop), 9, 3, 0.1)?;
        put("gelu16M_ms", med * 1e3);
        println!("gelu(erf) 16M f32: median {:.2} ms  eff {:.1} GB/s (read+write)", med * 1e3, gb(med * 1e3));
        let (med, _) = bench(|| x.gelu_tanh().map(drop), 9, 3, 0.1)?;
        put("gelu_tanh16M_ms", med * 1e3);
        println!("gelu(tanh) 16M f32: median {:.2} ms  eff {:.1} GB/s", med * 1e3, gb(med * 1e3));
        let (med, _) = bench(|| x.add(&x).map(drop), 9, 3, 0.1)?;
        put("add16M_ms", med * 1e3);
        println!("add x+x 16M f32: median {:.2} ms  eff {:.1} GB/s", med * 1e3, 12.0 * x.numel() as f64 / med / 1e9);
        let m = Tensor::randn(&[4096, 4096], DType::F32)?;
        let (med, _) = bench(|| m.softmax(-1).map(drop), 9, 3, 0.1)?;
        put("softmax4096_ms", med * 1e3);
        println!(
            "softmax rows 4096x4096 f32: median {:.2} ms  eff {:.1} GB/s",
            med * 1e3,
            8.0 * m.numel() as f64 / med / 1e9
        );
    }
    if has("overhead") {
        let a = Tensor::ones(&[1], DType::F32)?;
        let b = Tensor::ones(&[1], DType::F32)?;
        let (med, _) = bench(
            || {
                for _ in 0..10_000 {
                    (&a + &b)?;
                }
                Ok(())
            },
            7,
            3,
            0.0,
        )?;
        put("tiny_add_x10000_ms", med * 1e3);
        println!(
            "tiny op overhead: 10,000 adds of 1-element tensors: median {:.2} ms ({:.3} us/op)",
            med * 1e3,
            med / 1e4 * 1e6
        );
    }
    if a.json {
        println!("{}", Value::Object(r));
    }
    Ok(())
}
