//! Llama-family models from llama.cpp's GGUF files: the config from the `{arch}.*` metadata,
//! llama.cpp's tensor names mapped back to Hugging Face's, the q/k rows llama.cpp's converter
//! permuted for its rope layout put back (Llama and Mistral; Qwen2 is stored unpermuted), and
//! Llama 3 rope scaling from the `rope_freqs` tensor (one divisor per frequency).
//!
//! With [`WeightFormat::AsStored`] (and when `format` names the file's own block format),
//! block-quantised matrices stay in their blocks, pointing into the mapped file, except where a
//! copy pays: Q4_0/Q5_0/Q8_0 are repacked in panels of 16 rows (`PackedWeight::from_blocks`)
//! and the permuted q/k rows are reordered block row by block row. The map's pages of every
//! tensor copied out are released ([`Gguf::release`]). Otherwise weights are dequantised and
//! stored as `format` asks.

use crate::linear::WeightFormat;
use crate::llama::{Llama, LlamaConfig};
use ember_core::fused::{BlockFormat, PackedWeight};
use ember_core::{DType, Error, Result, Tensor};
use ember_io::gguf::Gguf;
use std::collections::BTreeMap;

/// Whether a tensor stored in block format `stored` is kept as it is under `format`.
fn keeps(format: WeightFormat, stored: BlockFormat) -> bool {
    format == WeightFormat::AsStored || format == WeightFormat::Blocks(stored)
}

/// HF names of a layer's tensors, by llama.cpp's.
pub(crate) const LAYER_NAMES: &[(&str, &str)] = &[
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_q.bias", "self_attn.q_proj.bias"),
    ("attn_k.bias", "self_attn.k_proj.bias"),
    ("attn_v.bias", "self_attn.v_proj.bias"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

/// Undoes llama.cpp's `permute` of q/k rows (`[heads, 2, half, in]` -> `[heads, half, 2, in]`):
/// back to `[heads, 2, half, in]` order, i.e. rotate-half pairs `(i, i + half)`.
fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let &[out, inp] = w.shape() else {
        return Err(Error::format("gguf", format!("a q/k weight of shape {:?} is not a matrix", w.shape())));
    };
    if heads == 0 || out % (2 * heads) != 0 {
        return Err(Error::format("gguf", format!("q/k weight of {out} rows does not split into {heads} heads")));
    }
    w.reshape(&[heads, out / heads / 2, 2, inp])?.transpose(1, 2)?.contiguous()?.reshape(&[out, inp])
}

/// [`unpermute`] on rows of bytes (`row` bytes each): the same reordering of whole block rows.
fn unpermute_rows(bytes: &[u8], rows: usize, heads: usize, what: &str) -> Result<Vec<u8>> {
    if heads == 0 || rows == 0 || !rows.is_multiple_of(2 * heads) || !bytes.len().is_multiple_of(rows) {
        return Err(Error::format(
            what.to_string(),
            format!("q/k weight of {rows} rows does not split into {heads} heads"),
        ));
    }
    let (row, half) = (bytes.len() / rows, rows / heads / 2);
    let mut out = Vec::with_capacity(bytes.len());
    for h in 0..heads {
        for t in 0..2 {
            for j in 0..half {
                let src = h * 2 * half + j * 2 + t;
                out.extend_from_slice(&bytes[src * row..(src + 1) * row]);
            }
        }
    }
    Ok(out)
}

impl Llama {
    /// Loads a Llama, Mistral or Qwen2 GGUF file (f32/f16/bf16 or block-quantised tensors).
    pub fn from_gguf(path: impl AsRef<std::path::Path>, format: WeightFormat) -> Result<Llama> {
        let g = ember_io::load_gguf(path.as_ref())?;
        Llama::from_gguf_file(&g, format, &path.as_ref().display().to_string())
    }

    /// [`Llama::from_gguf`] for a parsed file.
    pub fn from_gguf_file(g: &Gguf, format: WeightFormat, what: &str) -> Result<Llama> {
        let bad = |m: String| Error::format(what.to_string(), m);
        let arch = g
            .get("general.architecture")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no general.architecture".into()))?;
        if !["llama", "mistral", "qwen2"].contains(&arch) {
            return Err(Error::unsupported(
                "gguf",
                format!("{what}: architecture {arch:?} (Ember reads llama, mistral and qwen2)"),
            ));
        }
        let num = |key: &str| -> Result<Option<f64>> {
            Ok(match g.get(&format!("{arch}.{key}")) {
                None => None,
                Some(v) => Some(match v {
                    ember_io::GgufValue::F32(x) => *x as f64,
                    ember_io::GgufValue::F64(x) => *x,
                    other => other.as_u64().ok_or_else(|| bad(format!("{arch}.{key} is not a number")))? as f64,
                }),
            })
        };
        let need = |key: &str| -> Result<usize> {
            num(key)?.map(|v| v as usize).ok_or_else(|| bad(format!("missing metadata {arch}.{key}")))
        };
        let embed = g.info("token_embd.weight").ok_or_else(|| bad("missing tensor token_embd.weight".into()))?;
        let &[vocab, _] = embed.shape.as_slice() else {
            return Err(bad(format!("token_embd.weight has shape {:?}, not [vocab, width]", embed.shape)));
        };
        let (d, heads) = (need("embedding_length")?, need("attention.head_count")?);
        let kv = num("attention.head_count_kv")?.map_or(heads, |v| v as usize);
        let mut config = serde_json::json!({
            "model_type": arch,
            "vocab_size": vocab,
            "hidden_size": d,
            "intermediate_size": need("feed_forward_length")?,
            "num_hidden_layers": need("block_count")?,
            "num_attention_heads": heads,
            "num_key_value_heads": kv,
            "rms_norm_eps": num("attention.layer_norm_rms_epsilon")?.unwrap_or(1e-6),
            "rope_theta": num("rope.freq_base")?.unwrap_or(10000.0),
            "max_position_embeddings": need("context_length")?,
            "tie_word_embeddings": g.info("output.weight").is_none(),
        });
        if let Some(hd) = num("attention.key_length")? {
            config["head_dim"] = serde_json::json!(hd as usize);
        }
        if g.get(&format!("{arch}.rope.scaling.type")).and_then(|v| v.as_str()) == Some("linear") {
            config["rope_scaling"] =
                serde_json::json!({"rope_type": "linear", "factor": num("rope.scaling.factor")?.unwrap_or(1.0)});
        }
        let config = LlamaConfig::from_json(&config.to_string(), what)?;

        let mut sd = BTreeMap::new();
        let mut packed = BTreeMap::new();
        let permuted = arch != "qwen2";
        for t in &g.tensors {
            let name = t.name.as_str();
            let hf = if name == "token_embd.weight" {
                "model.embed_tokens.weight".to_string()
            } else if name == "output_norm.weight" {
                "model.norm.weight".to_string()
            } else if name == "output.weight" {
                "lm_head.weight".to_string()
            } else if name == "rope_freqs.weight" {
                continue;
            } else if let Some(rest) = name.strip_prefix("blk.") {
                let (layer, field) = rest.split_once('.').ok_or_else(|| bad(format!("unexpected tensor {name}")))?;
                let hf_field = LAYER_NAMES
                    .iter()
                    .find(|(k, _)| *k == field)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| bad(format!("unexpected tensor {name}")))?;
                format!("model.layers.{layer}.{hf_field}")
            } else {
                return Err(bad(format!("unexpected tensor {name}")));
            };
            // The heads whose q/k rows llama.cpp's converter permuted.
            let heads = match name {
                _ if !permuted => None,
                _ if name.ends_with("attn_q.weight") => Some(config.num_attention_heads),
                _ if name.ends_with("attn_k.weight") => Some(config.kv_heads()),
                _ => None,
            };
            // Matrices stay in their blocks; anything else quantised (a 1-D norm, say) is
            // dequantised below and checked against the config like every tensor.
            let kept = g.shared_blocks(name).filter(|(f, _)| keeps(format, *f) && t.shape.len() == 2);
            if let Some((f, bytes)) = kept {
                let (n, k) = (t.shape[0], t.shape[1]);
                let bytes = match heads {
                    Some(heads) => unpermute_rows(bytes.as_slice(), n, heads, what)?.into(),
                    None => bytes,
                };
                let w = PackedWeight::from_blocks(f, n, k, bytes)?;
                // Copied out of the file (reordered or repacked): its mapped pages can go.
                if heads.is_some() || w.is_repacked() {
                    g.release(name);
                }
                packed.insert(hf, w);
                continue;
            }
            // An f32 tensor kept as stored borrows the file's pages (no copy); anything
            // converted or reordered is read out and its pages released.
            let w = if t.ggml_type.name() == "F32" && heads.is_none() {
                g.tensor(name)?
            } else {
                let w = g.tensor_copy(name)?.to_dtype(DType::F32)?;
                g.release(name);
                match heads {
                    Some(heads) => unpermute(&w, heads)?,
                    None => w,
                }
            };
            sd.insert(hf, w);
        }
        let rope_factors = match g.info("rope_freqs.weight") {
            Some(_) => Some(g.tensor_copy("rope_freqs.weight")?.to_f64_vec()?),
            None => None,
        };
        let mut model = Llama::from_parts(config, sd, packed, format, what)?;
        if let Some(f) = rope_factors {
            model.divide_rope_frequencies(&f, what)?;
        }
        Ok(model)
    }
}
