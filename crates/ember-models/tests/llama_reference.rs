//! Llama- and Qwen2-style models against transformers (tiny random checkpoints written by
//! tools/gen_fixtures.py: GQA, Llama 3 rope scaling, untied head; Qwen2 biases, tied head):
//! logits to 1e-4, greedy ids equal, cached decoding equal to the full forward, and bf16/int8
//! weights agreeing with f32 on the top-1 token.

use ember_core::fused::BlockFormat;
use ember_core::{no_grad, Tensor};
use ember_models::{generate, CausalLm, GenerateOptions, Llama, Sampler, WeightFormat};

fn dir(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    a.sub(b).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap()
}

#[test]
fn logits_and_greedy_ids_match_transformers() {
    for name in ["tiny-llama", "tiny-qwen2"] {
        let model = Llama::from_pretrained(dir(name), WeightFormat::F32).unwrap();
        let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir(name))).unwrap();
        let logits = no_grad(|| model.forward_ids(&r["input_ids"], None)).unwrap();
        let d = max_diff(&logits, &r["logits"].to_dtype(ember_core::DType::F32).unwrap());
        assert!(d < 1e-4, "{name}: max logit error {d}");
        let prompt: Vec<u32> = r["input_ids"].to_vec::<i64>().unwrap().iter().map(|&x| x as u32).collect();
        let ids = generate(&model, &prompt, GenerateOptions::new(12, Sampler::greedy())).unwrap();
        let want: Vec<u32> = r["greedy_ids"].to_vec::<i64>().unwrap().iter().map(|&x| x as u32).collect();
        assert_eq!(ids, want, "{name}: greedy ids differ from transformers");
    }
}

#[test]
fn cached_decoding_matches_the_full_forward() {
    let model = Llama::from_pretrained(dir("tiny-llama"), WeightFormat::F32).unwrap();
    let ids: Vec<i64> = vec![1, 17, 45, 3, 99, 23, 8, 61];
    let full = no_grad(|| model.forward_ids(&Tensor::from_vec(ids.clone(), &[1, 8]).unwrap(), None)).unwrap();
    let mut cache = model.new_cache(1, 16).unwrap();
    let mut rows =
        vec![no_grad(|| model.forward_cached(&Tensor::from_vec(ids[..5].to_vec(), &[1, 5]).unwrap(), &mut cache))
            .unwrap()];
    for &t in &ids[5..] {
        rows.push(no_grad(|| model.forward_cached(&Tensor::from_vec(vec![t], &[1, 1]).unwrap(), &mut cache)).unwrap());
    }
    let inc = Tensor::cat(&rows.iter().collect::<Vec<_>>(), 1).unwrap();
    assert!(max_diff(&full, &inc) < 1e-5);
    // forward_last: the prompt's last row only, as generation reads it.
    let mut cache = model.new_cache(1, 16).unwrap();
    let last = no_grad(|| model.forward_last(&Tensor::from_vec(ids.clone(), &[1, 8]).unwrap(), &mut cache)).unwrap();
    assert_eq!(last.shape(), &[1, 1, full.shape()[2]]);
    assert!(max_diff(&full.narrow(1, 7, 1).unwrap(), &last) < 1e-5);
    assert_eq!(cache.len(), 8);
}

#[test]
fn bf16_and_int8_weights_agree_with_f32() {
    for name in ["tiny-llama", "tiny-qwen2"] {
        let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir(name))).unwrap();
        let f32m = Llama::from_pretrained(dir(name), WeightFormat::F32).unwrap();
        let base = no_grad(|| f32m.forward_ids(&r["input_ids"], None)).unwrap();
        let top = base.argmax(-1, false).unwrap().to_vec::<i64>().unwrap();
        for format in [WeightFormat::Bf16, WeightFormat::Int8] {
            let m = Llama::from_pretrained(dir(name), format).unwrap();
            let l = no_grad(|| m.forward_ids(&r["input_ids"], None)).unwrap();
            let t = l.argmax(-1, false).unwrap().to_vec::<i64>().unwrap();
            let agree = top.iter().zip(&t).filter(|(a, b)| a == b).count() as f64 / top.len() as f64;
            let err = max_diff(&l, &base);
            eprintln!("{name} {format:?}: top-1 agreement {agree:.3}, max logit error {err:.4}");
            assert!(agree >= 0.9, "{name} {format:?}: top-1 agreement {agree}");
            assert!(err < 0.1, "{name} {format:?}: max logit error {err}");
        }
    }
}

#[test]
fn bad_configs_are_clear_errors() {
    use ember_models::LlamaConfig;
    let base = std::fs::read_to_string(format!("{}/config.json", dir("tiny-llama"))).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&base).unwrap();
    v["num_key_value_heads"] = 3.into();
    let e = LlamaConfig::from_json(&v.to_string(), "cfg").unwrap_err().to_string();
    assert!(e.contains("multiple of num_key_value_heads"), "{e}");
    let mut m: serde_json::Value = serde_json::from_str(&base).unwrap();
    m["model_type"] = "mistral".into();
    m["sliding_window"] = 16.into();
    let e = LlamaConfig::from_json(&m.to_string(), "cfg").unwrap_err().to_string();
    assert!(e.contains("sliding-window"), "{e}");
    let e = Llama::from_pretrained("/nonexistent/model", WeightFormat::F32).unwrap_err().to_string();
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn batched_left_padded_generation_equals_one_prompt_at_a_time() {
    use ember_models::generate_batch;
    let prompts: Vec<Vec<u32>> = vec![vec![1, 17, 45, 3, 99, 23], vec![1, 8], vec![1, 61, 5, 42]];
    let llama = Llama::from_pretrained(dir("tiny-llama"), WeightFormat::F32).unwrap();
    let gpt2 = ember_models::Gpt2::from_pretrained(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tiny-gpt2-random"))
        .unwrap();
    for model in [&llama as &dyn CausalLm, &gpt2 as &dyn CausalLm] {
        let batched = generate_batch(model, &prompts, 8, &mut Sampler::greedy(), None, 0).unwrap();
        for (p, got) in prompts.iter().zip(&batched) {
            let alone = generate(model, p, GenerateOptions::new(8, Sampler::greedy())).unwrap();
            assert_eq!(got, &alone, "prompt {p:?}");
        }
    }
}

/// The same checkpoint converted to GGUF as llama.cpp's converter does (tools/gen_gguf_llama.py:
/// llama.cpp names, permuted q/k, rope scaling as `rope_freqs`): the transformers logits in f32,
/// and within Q8_0's quantisation error when the weights are Q8_0.
#[test]
fn gguf_files_give_the_transformers_logits() {
    let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir("tiny-llama"))).unwrap();
    let want = r["logits"].to_dtype(ember_core::DType::F32).unwrap();
    let model = Llama::from_gguf(format!("{}/model.gguf", dir("tiny-llama")), WeightFormat::F32).unwrap();
    let logits = no_grad(|| model.forward_ids(&r["input_ids"], None)).unwrap();
    let d = max_diff(&logits, &want);
    assert!(d < 1e-4, "f32 GGUF: max logit error {d}");
    let prompt: Vec<u32> = r["input_ids"].to_vec::<i64>().unwrap().iter().map(|&x| x as u32).collect();
    let ids = generate(&model, &prompt, GenerateOptions::new(12, Sampler::greedy())).unwrap();
    let greedy: Vec<u32> = r["greedy_ids"].to_vec::<i64>().unwrap().iter().map(|&x| x as u32).collect();
    assert_eq!(ids, greedy);

    let q8 = Llama::from_gguf(format!("{}/model-q8_0.gguf", dir("tiny-llama")), WeightFormat::F32).unwrap();
    let logits = no_grad(|| q8.forward_ids(&r["input_ids"], None)).unwrap();
    let scale = want.abs().unwrap().max().unwrap().item::<f32>().unwrap();
    let d = max_diff(&logits, &want);
    eprintln!("Q8_0 GGUF: max logit error {d} (logits up to {scale})");
    assert!(d < 0.02 * scale, "Q8_0 GGUF: max logit error {d} vs logit scale {scale}");

    // Kept in Q8_0: the same weights, multiplied in integers with the activations rounded to
    // int8 per block of 32 (llama.cpp's method; exact products of the rounded values are
    // checked in ember-kernels and tests/packed_weight.rs). Each activation moves by at most
    // 1/254 of its block's largest: the logits stay within the bound Q8_0's own weight error
    // is held to above.
    for format in [WeightFormat::Blocks(BlockFormat::Q8_0), WeightFormat::AsStored] {
        let packed = Llama::from_gguf(format!("{}/model-q8_0.gguf", dir("tiny-llama")), format).unwrap();
        let packed_logits = no_grad(|| packed.forward_ids(&r["input_ids"], None)).unwrap();
        let d = max_diff(&packed_logits, &logits);
        assert!(d < 0.02 * scale, "{format:?}: Q8_0 kernel vs dequantised f32: {d} (logits up to {scale})");
    }
}

/// A Q4_0 file whose embedding and output tables are Q4_1 (files mix types), as the `gguf`
/// package quantises it: kept in its blocks (the embedding rows dequantised on lookup, q/k
/// block rows un-permuted), the logits match those of the same file dequantised to f32, and
/// stay near the transformers logits (4-bit error).
#[test]
fn a_q4_gguf_runs_on_its_blocks() {
    let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir("tiny-llama"))).unwrap();
    let want = r["logits"].to_dtype(ember_core::DType::F32).unwrap();
    let path = format!("{}/model-q4_0.gguf", dir("tiny-llama"));
    let dense = Llama::from_gguf(&path, WeightFormat::F32).unwrap();
    let dense_logits = no_grad(|| dense.forward_ids(&r["input_ids"], None)).unwrap();
    let packed = Llama::from_gguf(&path, WeightFormat::AsStored).unwrap();
    let logits = no_grad(|| packed.forward_ids(&r["input_ids"], None)).unwrap();
    // Products with int8-rounded activations (as for Q8_0 above).
    let scale = want.abs().unwrap().max().unwrap().item::<f32>().unwrap();
    let d = max_diff(&logits, &dense_logits);
    assert!(d < 0.02 * scale, "Q4_0/Q4_1 kernels vs dequantised f32: {d} (logits up to {scale})");
    let d = max_diff(&logits, &want);
    eprintln!("Q4_0 GGUF: max logit error {d} (logits up to {scale})");
    assert!(d < 0.25 * scale, "Q4_0 GGUF: max logit error {d} vs logit scale {scale}");
    // Kept as stored, the weights take about a sixth of f32's bytes.
    assert!(packed.weight_bytes() * 5 < dense.weight_bytes(), "{} vs {}", packed.weight_bytes(), dense.weight_bytes());
}

/// A GGUF whose tensors have the wrong ranks for a Llama is an error, not a panic.
#[test]
fn a_gguf_with_wrong_tensor_ranks_is_refused() {
    let path = format!("{}/model.gguf", dir("tiny-llama"));
    let g = ember_io::load_gguf(&path).unwrap();
    assert!(Llama::from_gguf_file(&g, WeightFormat::F32, "ok.gguf").is_ok());
    // Rename a 1-D norm weight as the embedding: the loader must say what is wrong.
    let mut bad = ember_io::load_gguf(&path).unwrap();
    for t in bad.tensors.iter_mut() {
        if t.name == "token_embd.weight" {
            t.name = "unused".into();
        } else if t.name == "output_norm.weight" {
            t.name = "token_embd.weight".into();
        }
    }
    let err = Llama::from_gguf_file(&bad, WeightFormat::F32, "bad.gguf").unwrap_err().to_string();
    assert!(err.contains("not [vocab, width]"), "{err}");
}

/// `ember quantize`'s export: the tiny Llama written as Q8_0 GGUF holds, tensor for tensor,
/// the bytes llama.cpp's `gguf` package wrote for the same checkpoint (same names, same q/k
/// permutation, same Q8_0 rule; f32 tensors equal to f32 rounding), and loads back to the
/// same logits. Q4_K on rows of 32 and 64 values falls back to Q8_0, as llama.cpp's does.
#[test]
fn quantize_export_matches_the_gguf_package_bytes() {
    use ember_models::gguf_export::llama_to_gguf;
    let out = std::env::temp_dir().join(format!("ember-export-{}.gguf", std::process::id()));
    let s = llama_to_gguf(dir("tiny-llama"), &out, BlockFormat::Q8_0).unwrap();
    assert!(s.types["Q8_0"] > 0 && s.types["F32"] > 0, "{s:?}");
    let ours = ember_io::load_gguf(&out).unwrap();
    let theirs = ember_io::load_gguf(format!("{}/model-q8_0.gguf", dir("tiny-llama"))).unwrap();
    assert_eq!(ours.tensors.len(), theirs.tensors.len());
    for t in &theirs.tensors {
        let mine = ours.info(&t.name).unwrap_or_else(|| panic!("{} missing", t.name));
        assert_eq!((mine.shape.clone(), mine.ggml_type), (t.shape.clone(), t.ggml_type), "{}", t.name);
        match theirs.blocks(&t.name) {
            Some((_, bytes)) => assert_eq!(ours.blocks(&t.name).unwrap().1, bytes, "{}", t.name),
            None => {
                let (a, b) = (
                    ours.tensor(&t.name).unwrap().to_f64_vec().unwrap(),
                    theirs.tensor(&t.name).unwrap().to_f64_vec().unwrap(),
                );
                assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0)), "{}", t.name);
            }
        }
    }
    let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir("tiny-llama"))).unwrap();
    let a = Llama::from_gguf(&out, WeightFormat::AsStored).unwrap();
    let b = Llama::from_gguf(format!("{}/model-q8_0.gguf", dir("tiny-llama")), WeightFormat::AsStored).unwrap();
    let (la, lb) =
        no_grad(|| (a.forward_ids(&r["input_ids"], None).unwrap(), b.forward_ids(&r["input_ids"], None).unwrap()));
    assert!(max_diff(&la, &lb) < 1e-5);

    let s = llama_to_gguf(dir("tiny-llama"), &out, BlockFormat::Q4_K).unwrap();
    assert!(!s.types.contains_key("Q4_K") && s.types["Q8_0"] > 0, "{s:?}");
    assert!(llama_to_gguf(dir("tiny-llama"), &out, BlockFormat::Q6_K)
        .unwrap_err()
        .to_string()
        .contains("q8_0, q4_0 and q4_k"));
    assert!(llama_to_gguf("/nonexistent", &out, BlockFormat::Q8_0).is_err());
    std::fs::remove_file(&out).unwrap();
}

/// A quantised 1-D tensor (a norm stored in Q8_0, which llama.cpp never writes but the format
/// allows) is dequantised rather than refused or taken for a matrix: the file, rewritten with
/// `blk.0.attn_norm.weight` in Q8_0, loads as stored and gives nearly the same logits.
#[test]
fn a_quantised_vector_in_a_gguf_is_dequantised() {
    use ember_io::gguf_write::{write_gguf, GgufTensorOut};
    let src = format!("{}/model-q4_0.gguf", dir("tiny-llama"));
    let g = ember_io::load_gguf(&src).unwrap();
    let tensors: Vec<GgufTensorOut> = g
        .tensors
        .iter()
        .map(|t| {
            let (ggml_type, data) = match (t.name.as_str(), g.blocks(&t.name)) {
                ("blk.0.attn_norm.weight", _) => {
                    let v = g.tensor(&t.name).unwrap().to_vec::<f32>().unwrap();
                    (8, ember_core::fused::quantize_blocks(BlockFormat::Q8_0, &v).unwrap())
                }
                (_, Some((f, b))) => (f.ggml_type(), b.to_vec()),
                _ => (
                    0,
                    g.tensor(&t.name).unwrap().to_vec::<f32>().unwrap().iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
            };
            GgufTensorOut { name: t.name.clone(), shape: t.shape.clone(), ggml_type, data }
        })
        .collect();
    let out = std::env::temp_dir().join(format!("ember-q8-norm-{}.gguf", std::process::id()));
    write_gguf(&out, &g.metadata, &tensors).unwrap();
    assert_eq!(ember_io::load_gguf(&out).unwrap().info("blk.0.attn_norm.weight").unwrap().ggml_type.name(), "Q8_0");
    let r = ember_io::load_safetensors(format!("{}/reference_outputs.safetensors", dir("tiny-llama"))).unwrap();
    let a = Llama::from_gguf(&out, WeightFormat::AsStored).unwrap();
    let b = Llama::from_gguf(&src, WeightFormat::AsStored).unwrap();
    let (la, lb) =
        no_grad(|| (a.forward_ids(&r["input_ids"], None).unwrap(), b.forward_ids(&r["input_ids"], None).unwrap()));
    let scale = lb.abs().unwrap().max().unwrap().item::<f32>().unwrap();
    assert!(max_diff(&la, &lb) < 0.02 * scale, "{} vs {scale}", max_diff(&la, &lb));
    std::fs::remove_file(&out).unwrap();
}
