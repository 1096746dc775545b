//! GPT-2 against Hugging Face `GPT2LMHeadModel`: the bundled tiny random GPT-2
//! (data/tiny-gpt2-random, real vocabulary, perturbed biases and norms) gives the reference
//! logits to 1e-4, and the KV-cached decode gives the same logits as a full forward.

use ember_core::{no_grad, DType, Tensor};
use ember_models::{generate, CausalLm, GenerateOptions, Gpt2, Sampler};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tiny-gpt2-random");

#[test]
fn tiny_gpt2_logits_match_transformers() {
    let model = Gpt2::from_pretrained(DIR).unwrap();
    let r = ember_io::load_safetensors(format!("{DIR}/reference_outputs.safetensors")).unwrap();
    let ids = &r["input_ids"];
    let logits = no_grad(|| model.forward_ids(ids, None)).unwrap();
    assert_eq!(logits.shape(), r["logits"].shape());
    let got = logits.to_vec::<f32>().unwrap();
    let want = r["logits"].to_vec::<f32>().unwrap();
    let max_err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_err < 1e-4, "max logit error {max_err}");
}

#[test]
fn cached_decoding_matches_the_full_forward() {
    let model = Gpt2::from_pretrained(DIR).unwrap();
    let ids: Vec<i64> = vec![2514, 307, 11, 393, 407, 284, 307];
    let full = no_grad(|| model.forward_ids(&Tensor::from_vec(ids.clone(), &[1, 7]).unwrap(), None)).unwrap();
    let mut cache = model.new_cache(1, 16).unwrap();
    let prefix =
        no_grad(|| model.forward_cached(&Tensor::from_vec(ids[..4].to_vec(), &[1, 4]).unwrap(), &mut cache)).unwrap();
    let mut rows = vec![prefix];
    for &t in &ids[4..] {
        rows.push(no_grad(|| model.forward_cached(&Tensor::from_vec(vec![t], &[1, 1]).unwrap(), &mut cache)).unwrap());
    }
    let refs: Vec<&Tensor> = rows.iter().collect();
    let inc = Tensor::cat(&refs, 1).unwrap();
    let d = full.sub(&inc).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
    assert!(d < 1e-5, "cached vs full logits differ by {d}");
    // forward_last: the prompt's last row only, as generation reads it.
    let mut cache = model.new_cache(1, 16).unwrap();
    let last = no_grad(|| model.forward_last(&Tensor::from_vec(ids.clone(), &[1, 7]).unwrap(), &mut cache)).unwrap();
    assert_eq!(last.shape(), &[1, 1, full.shape()[2]]);
    let d = full.narrow(1, 6, 1).unwrap().sub(&last).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
    assert!(d < 1e-5, "forward_last differs from the full forward's last row by {d}");
    assert_eq!(cache.len(), 7);
}

#[test]
fn greedy_generation_is_deterministic_and_respects_the_context() {
    let model = Gpt2::from_pretrained(DIR).unwrap();
    let prompt = [2514u32, 307, 11];
    let run = || generate(&model, &prompt, GenerateOptions::new(10, Sampler::greedy())).unwrap();
    let a = run();
    assert_eq!(a.len(), 10);
    assert_eq!(a, run());
    // Greedy = argmax of the full forward at each step.
    let mut seq: Vec<i64> = prompt.iter().map(|&x| x as i64).collect();
    for &tok in &a {
        let l = no_grad(|| model.forward_ids(&Tensor::from_vec(seq.clone(), &[1, seq.len()]).unwrap(), None)).unwrap();
        let next =
            l.select(1, -1).unwrap().argmax(-1, false).unwrap().reshape(&[-1]).unwrap().to_vec::<i64>().unwrap()[0];
        assert_eq!(next as u32, tok);
        seq.push(next);
    }
    let long = generate(&model, &prompt, GenerateOptions::new(1000, Sampler::greedy())).unwrap();
    assert_eq!(long.len(), 64 - 3, "generation stops at n_positions");
    let sliding = generate(
        &model,
        &prompt,
        GenerateOptions { slide_when_full: true, ..GenerateOptions::new(100, Sampler::greedy()) },
    )
    .unwrap();
    assert_eq!(sliding.len(), 100, "sliding generation goes past the context");
    assert_eq!(sliding[..61], long[..], "and agrees with plain generation until the context is full");
    let _ = DType::F32;
}

#[test]
fn tiny_gpt2_greedy_ids_match_transformers() {
    let model = Gpt2::from_pretrained(DIR).unwrap();
    let v: serde_json::Value = serde_json::from_str(include_str!("fixtures/tiny-gpt2-greedy.json")).unwrap();
    let ids = |k: &str| -> Vec<u32> { v[k].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect() };
    let out = generate(&model, &ids("prompt"), GenerateOptions::new(20, Sampler::greedy())).unwrap();
    assert_eq!(out, ids("greedy_ids"));
    // Packed weights keep the greedy path here (the random model's margins are wide).
    for format in [ember_models::WeightFormat::Bf16, ember_models::WeightFormat::Int8] {
        let packed = Gpt2::from_pretrained(DIR).unwrap().pack(format).unwrap();
        let r = ember_io::load_safetensors(format!("{DIR}/reference_outputs.safetensors")).unwrap();
        let l = no_grad(|| packed.forward_ids(&r["input_ids"], None)).unwrap();
        let top = l.argmax(-1, false).unwrap().to_vec::<i64>().unwrap();
        let want = r["logits"].argmax(-1, false).unwrap().to_vec::<i64>().unwrap();
        let agree = top.iter().zip(&want).filter(|(a, b)| a == b).count() as f64 / want.len() as f64;
        let err = l.sub(&r["logits"]).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
        eprintln!(
            "tiny-gpt2 {format:?}: top-1 agreement {agree:.3}, max logit error {err:.4}, weights {} bytes",
            packed.weight_bytes()
        );
        assert!(agree >= 0.9 && err < 0.1, "{format:?}: agreement {agree}, error {err}");
    }
}
