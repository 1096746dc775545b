//! `ember quantize`: a Hugging Face Llama/Mistral/Qwen2 folder written as a GGUF file in
//! llama.cpp's layout (its tensor names and metadata keys, q/k rows permuted for its rope,
//! Llama 3 rope scaling as a `rope_freqs` tensor, the tokenizer from `tokenizer.json`), with
//! the matrices quantised to Q8_0, Q4_0 or Q4_K (Ember's quantisers; llama.cpp's rule for
//! Q8_0 and Q4_0, so those bytes are the ones llama.cpp's converter writes). A matrix whose
//! rows do not split into the format's blocks falls back as llama.cpp's quantiser does: Q4_K
//! to Q8_0 when rows are not a multiple of 256, anything to f32 when not a multiple of 32.

use crate::llama::LlamaConfig;
use ember_core::fused::{quantize_blocks as quantize, BlockFormat};
use ember_core::{DType, Error, Result, Tensor};
use ember_io::gguf_write::{write_gguf, GgufTensorOut};
use ember_io::GgufValue as V;
use std::collections::BTreeMap;
use std::path::Path;

/// What one export wrote.
#[derive(Clone, Debug, Default)]
pub struct ExportSummary {
    pub tensors: usize,
    /// Tensors per ggml type name.
    pub types: BTreeMap<String, usize>,
    pub bytes: usize,
}

/// llama.cpp's `permute` of q/k rows (`[heads, 2, half, in]` -> `[heads, half, 2, in]`).
fn permute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let &[out, inp] = w.shape() else { return Err(Error::shape("quantize", "q/k weight is not a matrix")) };
    if heads == 0 || !out.is_multiple_of(2 * heads) {
        return Err(Error::shape("quantize", format!("{out} q/k rows do not split into {heads} heads")));
    }
    w.reshape(&[heads, 2, out / heads / 2, inp])?.transpose(1, 2)?.contiguous()?.reshape(&[out, inp])
}

fn tensor_out(name: &str, w: &Tensor, format: Option<BlockFormat>) -> Result<GgufTensorOut> {
    let v = w.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?;
    let k = *w.shape().last().unwrap_or(&1);
    let format = format.filter(|_| w.dim() == 2).and_then(|f| match f {
        _ if k.is_multiple_of(f.block_len()) => Some(f),
        BlockFormat::Q4_K if k.is_multiple_of(32) => Some(BlockFormat::Q8_0),
        _ => None,
    });
    let (ggml_type, data) = match format.and_then(|f| Some((f, quantize(f, &v)?))) {
        Some((f, bytes)) => (f.ggml_type(), bytes),
        None => (0, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    Ok(GgufTensorOut { name: name.to_string(), shape: w.shape().to_vec(), ggml_type, data })
}

/// `tokenizer.ggml.*` from a `tokenizer.json` holding a BPE model: byte-level (`gpt2`) or
/// SentencePiece-style with byte fallback (`llama`). `None` for other tokenizers.
fn tokenizer_metadata(dir: &Path, model_type: &str) -> Result<Option<Vec<(String, V)>>> {
    let p = dir.join("tokenizer.json");
    let Ok(text) = std::fs::read_to_string(&p) else { return Ok(None) };
    let bad = |m: &str| Error::format(p.display().to_string(), m.to_string());
    let j: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let m = &j["model"];
    if m["type"] != "BPE" {
        return Ok(None);
    }
    let vocab = m["vocab"].as_object().ok_or_else(|| bad("model.vocab is not an object"))?;
    let mut tokens = vec![String::new(); vocab.len()];
    for (t, id) in vocab {
        let i = id
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < tokens.len())
            .ok_or_else(|| bad("vocab ids are not 0..n"))?;
        tokens[i] = t.clone();
    }
    let mut types = vec![1i32; tokens.len()];
    for a in j["added_tokens"].as_array().into_iter().flatten() {
        if let (Some(id), Some(content)) = (a["id"].as_u64(), a["content"].as_str()) {
            let id = id as usize;
            if id >= tokens.len() {
                tokens.resize(id + 1, String::new());
                types.resize(id + 1, 1);
            }
            tokens[id] = content.to_string();
            types[id] = if a["special"].as_bool() == Some(true) { 3 } else { 4 };
        }
    }
    let spm = m["byte_fallback"].as_bool() == Some(true);
    let mut meta = vec![("tokenizer.ggml.model".to_string(), V::String(if spm { "llama" } else { "gpt2" }.into()))];
    if spm {
        for (i, t) in tokens.iter().enumerate() {
            if t.len() == 6 && t.starts_with("<0x") && t.ends_with('>') {
                types[i] = 6;
            }
        }
        meta.push(("tokenizer.ggml.scores".into(), V::Array((0..tokens.len()).map(|i| V::F32(-(i as f32))).collect())));
    } else {
        let merges: Vec<V> = m["merges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| match x {
                serde_json::Value::String(s) => Some(V::String(s.clone())),
                serde_json::Value::Array(p) => {
                    Some(V::String(format!("{} {}", p.first()?.as_str()?, p.get(1)?.as_str()?)))
                }
                _ => None,
            })
            .collect();
        meta.push(("tokenizer.ggml.merges".into(), V::Array(merges)));
        let pre = if model_type == "qwen2" {
            "qwen2"
        } else if model_type == "gpt2" {
            "gpt-2"
        } else {
            "llama-bpe"
        };
        meta.push(("tokenizer.ggml.pre".into(), V::String(pre.into())));
    }
    meta.push(("tokenizer.ggml.tokens".into(), V::Array(tokens.into_iter().map(V::String).collect())));
    meta.push(("tokenizer.ggml.token_type".into(), V::Array(types.into_iter().map(V::I32).collect())));
    Ok(Some(meta))
}

/// Writes the Llama-family folder `dir` (config.json, safetensors weights, optionally
/// tokenizer.json) to `out` as GGUF with matrices in `format` (Q8_0, Q4_0 or Q4_K).
pub fn llama_to_gguf(dir: impl AsRef<Path>, out: impl AsRef<Path>, format: BlockFormat) -> Result<ExportSummary> {
    let dir = dir.as_ref();
    if ![BlockFormat::Q8_0, BlockFormat::Q4_0, BlockFormat::Q4_K].contains(&format) {
        return Err(Error::unsupported("quantize", format!("Ember writes q8_0, q4_0 and q4_k, not {}", format.name())));
    }
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(cfg_path.display().to_string(), e))?;
    let c = LlamaConfig::from_json(&text, &cfg_path.display().to_string())?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(cfg_path.display().to_string(), e.to_string()))?;
    let arch = if c.model_type == "qwen2" { "qwen2" } else { "llama" };
    let key = |k: &str| format!("{arch}.{k}");
    let u32v = |v: usize| V::U32(v as u32);
    let mut meta: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String(arch.into())),
        (
            "general.file_type".into(),
            V::U32(match format {
                BlockFormat::Q8_0 => 7,
                BlockFormat::Q4_0 => 2,
                _ => 15,
            }),
        ),
        (key("context_length"), u32v(c.max_position_embeddings)),
        (key("embedding_length"), u32v(c.hidden_size)),
        (key("block_count"), u32v(c.num_hidden_layers)),
        (key("feed_forward_length"), u32v(c.intermediate_size)),
        (key("attention.head_count"), u32v(c.num_attention_heads)),
        (key("attention.head_count_kv"), u32v(c.kv_heads())),
        (key("attention.key_length"), u32v(c.head_dim())),
        (key("attention.value_length"), u32v(c.head_dim())),
        (key("rope.dimension_count"), u32v(c.head_dim())),
        (key("rope.freq_base"), V::F32(c.rope_theta as f32)),
        (key("attention.layer_norm_rms_epsilon"), V::F32(c.rms_norm_eps as f32)),
        (key("vocab_size"), u32v(c.vocab_size)),
    ];
    for (k, name) in [("bos_token_id", "tokenizer.ggml.bos_token_id"), ("eos_token_id", "tokenizer.ggml.eos_token_id")]
    {
        if let Some(id) = raw[k].as_u64() {
            meta.push((name.into(), V::U32(id as u32)));
        }
    }
    if let Some(t) = tokenizer_metadata(dir, &c.model_type)? {
        meta.extend(t);
    }
    let mut tensors = Vec::new();
    // Rope scaling: linear as metadata; any other as one divisor per frequency (Llama 3).
    let d = c.head_dim();
    let base: Vec<f64> = (0..d / 2).map(|i| 1.0 / c.rope_theta.powf(2.0 * i as f64 / d as f64)).collect();
    match c.rope_scaling.as_ref().map(|s| s.rope_type.as_str()) {
        Some("linear") => {
            meta.push((key("rope.scaling.type"), V::String("linear".into())));
            let f = c.rope_scaling.as_ref().and_then(|s| s.factor).unwrap_or(1.0);
            meta.push((key("rope.scaling.factor"), V::F32(f as f32)));
        }
        Some(_) => {
            let factors: Vec<f32> = base.iter().zip(c.inv_freq()).map(|(b, s)| (b / s) as f32).collect();
            let t = Tensor::from_vec(factors, &[d / 2])?;
            tensors.push(tensor_out("rope_freqs.weight", &t, None)?);
        }
        None => {}
    }
    let mut sd = crate::generate::load_weights(dir)?;
    let mut take = |hf: &str| {
        sd.remove(hf).ok_or_else(|| Error::format(dir.display().to_string(), format!("missing tensor {hf}")))
    };
    tensors.push(tensor_out("token_embd.weight", &take("model.embed_tokens.weight")?, Some(format))?);
    let qkv_bias = c.attention_bias.unwrap_or(c.model_type == "qwen2");
    for i in 0..c.num_hidden_layers {
        let p = format!("model.layers.{i}");
        for (gg, hf) in crate::gguf::LAYER_NAMES {
            if gg.ends_with(".bias") && !qkv_bias {
                continue;
            }
            let mut w = take(&format!("{p}.{hf}"))?;
            if arch != "qwen2" && *gg == "attn_q.weight" {
                w = permute(&w, c.num_attention_heads)?;
            } else if arch != "qwen2" && *gg == "attn_k.weight" {
                w = permute(&w, c.kv_heads())?;
            }
            let f = if w.dim() == 2 { Some(format) } else { None };
            tensors.push(tensor_out(&format!("blk.{i}.{gg}"), &w, f)?);
        }
    }
    tensors.push(tensor_out("output_norm.weight", &take("model.norm.weight")?, None)?);
    if !c.tie_word_embeddings {
        if let Ok(w) = take("lm_head.weight") {
            tensors.push(tensor_out("output.weight", &w, Some(format))?);
        }
    }
    let mut summary = ExportSummary { tensors: tensors.len(), ..Default::default() };
    for t in &tensors {
        let name = BlockFormat::ALL.iter().find(|f| f.ggml_type() == t.ggml_type).map_or("F32", |f| f.name());
        *summary.types.entry(name.to_string()).or_default() += 1;
        summary.bytes += t.data.len();
    }
    write_gguf(out, &meta, &tensors)?;
    Ok(summary)
}
