//! `ember bench --model file.gguf`: load time, resident memory, prompt and decode speed of a
//! GGUF Llama-family model with its weights as stored (the numbers `scripts/bench-inference.sh`
//! puts beside llama.cpp's for the same file). Token ids are random: speed does not depend on
//! them, so the file needs no tokenizer.

use ember::models::{CausalLm, Llama, WeightFormat};
use ember::{no_grad, DType, Result, Tensor};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::Instant;

/// A `/proc/self/status` field in MiB (Linux; `None` elsewhere).
fn proc_status_mib(field: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Loads `path`, then times a 128-token prompt and 64 decoded tokens (median of 3).
pub fn run(path: &Path, format: WeightFormat, r: &mut Map<String, Value>) -> Result<()> {
    let t0 = Instant::now();
    let model = Llama::from_gguf(path, format)?;
    let load_s = t0.elapsed().as_secs_f64();
    let c = &model.config;
    println!(
        "gguf {}: {} layers, width {}, vocab {}, weights {:.0} MB, loaded in {:.3} s, RSS {:.0} MiB",
        path.display(),
        c.num_hidden_layers,
        c.hidden_size,
        c.vocab_size,
        model.weight_bytes() as f64 / 1e6,
        load_s,
        proc_status_mib("VmRSS:").unwrap_or(f64::NAN)
    );
    let (prompt_len, n_new) = (128usize, 64usize);
    let ids = Tensor::randint(0, c.vocab_size as i64, &[1, prompt_len], DType::I64)?;
    let mut ttft = f64::NAN;
    let mut prompt_s = Vec::new();
    let mut decode_s = Vec::new();
    no_grad(|| -> Result<()> {
        for run in 0..4 {
            let mut cache = model.new_cache(1, prompt_len + n_new)?;
            let t = Instant::now();
            let out = model.forward_last(&ids, &mut cache)?;
            let mut next = out.select(1, -1)?.argmax(-1, true)?;
            let p = t.elapsed().as_secs_f64();
            if run == 0 {
                ttft = load_s + p;
                continue; // warm-up
            }
            prompt_s.push(p);
            let t = Instant::now();
            for _ in 0..n_new {
                next = model.forward_last(&next, &mut cache)?.select(1, -1)?.argmax(-1, true)?;
            }
            decode_s.push(t.elapsed().as_secs_f64());
        }
        Ok(())
    })?;
    prompt_s.sort_by(f64::total_cmp);
    decode_s.sort_by(f64::total_cmp);
    let (p, d) = (prompt_s[1], decode_s[1]);
    let peak = proc_status_mib("VmHWM:").unwrap_or(f64::NAN);
    println!(
        "gguf prompt {prompt_len} tok: {:.1} tok/s; decode: {:.2} tok/s; time to first token (load + prompt) {:.3} s; peak RSS {:.0} MiB",
        prompt_len as f64 / p,
        n_new as f64 / d,
        ttft,
        peak
    );
    r.insert("gguf_load_s".into(), json!(load_s));
    r.insert("gguf_prompt_tok_s".into(), json!(prompt_len as f64 / p));
    r.insert("gguf_decode_tok_s".into(), json!(n_new as f64 / d));
    r.insert("gguf_ttft_s".into(), json!(ttft));
    r.insert("gguf_peak_rss_mib".into(), json!(peak));
    r.insert("gguf_weight_bytes".into(), json!(model.weight_bytes()));
    Ok(())
}
