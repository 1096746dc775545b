//! `ember generate` and `ember embed`: text generation with GPT-2 or Llama-family checkpoints
//! (Hugging Face model folders, or llama.cpp GGUF files for Llama/Mistral/Qwen2) and sentence
//! embeddings with BERT models.

use ember::models::bert::{embed as bert_embed, Bert};
use ember::models::{generate, CausalLm, GenerateOptions, Gpt2, Llama, Sampler, Tokenizer, WeightFormat};
use ember::{no_grad, Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// A Hugging Face model folder (config.json, model.safetensors, tokenizer), or a GGUF file
    /// (Llama, Mistral, Qwen2; its own tokenizer unless --tokenizer is given).
    #[arg(long)]
    pub model: PathBuf,
    /// Tokenizer folder or tokenizer.json, when not in the model folder.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f64,
    /// Stop when the text ends with this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Weight storage: auto (a GGUF file's quantised weights as stored, read from the mapped
    /// file; otherwise f32), f32, bf16, int8, or llama.cpp's blocks q8_0, q4_0, q4_k.
    #[arg(long, default_value = "auto")]
    pub dtype: String,
    /// Print prompt ids, generated ids and text as JSON instead of streaming.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct EmbedArgs {
    /// A BERT model folder (e.g. all-MiniLM-L6-v2).
    #[arg(long)]
    pub model: PathBuf,
    /// Texts to embed.
    #[arg(required = true)]
    pub texts: Vec<String>,
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Print a JSON list of vectors.
    #[arg(long)]
    pub json: bool,
}

fn model_type(dir: &Path) -> Result<(String, serde_json::Value)> {
    let p = dir.join("config.json");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(p.display().to_string(), e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(p.display().to_string(), e.to_string()))?;
    let t =
        v["model_type"].as_str().ok_or_else(|| Error::format(p.display().to_string(), "no model_type"))?.to_string();
    Ok((t, v))
}

fn tokenizer(model: &Path, explicit: Option<&Path>) -> Result<Tokenizer> {
    match explicit {
        Some(p) if p.is_file() => Tokenizer::from_file(p),
        Some(p) if p.join("encoder.json").exists() => Tokenizer::gpt2_bpe(p.join("encoder.json"), p.join("vocab.bpe")),
        Some(p) => Tokenizer::from_dir(p),
        None => Tokenizer::from_dir(model),
    }
}

/// A GGUF model, its end-of-text id and its tokenizer: the file's own (`tokenizer.ggml.*`)
/// unless `--tokenizer` names another.
fn gguf_model(a: &GenerateArgs, format: WeightFormat) -> Result<Loaded> {
    let g = ember::io::load_gguf(&a.model)?;
    let what = a.model.display().to_string();
    let eos = g.get("tokenizer.ggml.eos_token_id").and_then(|v| v.as_u64()).map(|v| v as u32);
    let tok = match &a.tokenizer {
        Some(p) => (tokenizer(&a.model, Some(p))?, false),
        // The file says whether a BOS token leads (`add_bos_token`).
        None => (Tokenizer::from_gguf(&g, &what)?, true),
    };
    Ok((Box::new(Llama::from_gguf_file(&g, format, &what)?), eos, tok))
}

/// A model, its end-of-text id, its tokenizer and whether prompts get its special tokens.
type Loaded = (Box<dyn CausalLm>, Option<u32>, (Tokenizer, bool));

fn is_gguf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    path.is_file()
        && std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic)).is_ok()
        && &magic == b"GGUF"
}

pub fn run_generate(a: GenerateArgs, seed: u64) -> Result<()> {
    let format: WeightFormat = a.dtype.parse()?;
    let (model, eos, tok) = if is_gguf(&a.model) { gguf_model(&a, format)? } else { hf_model(&a, format)? };
    run_model(a, model, eos, tok, seed)
}

fn hf_model(a: &GenerateArgs, format: WeightFormat) -> Result<Loaded> {
    let (ty, cfg) = model_type(&a.model)?;
    let model: Box<dyn CausalLm> = match ty.as_str() {
        "gpt2" => Box::new(Gpt2::from_pretrained(&a.model)?.pack(format)?),
        "llama" | "mistral" | "qwen2" => Box::new(Llama::from_pretrained(&a.model, format)?),
        other => {
            return Err(Error::unsupported(
                "generate",
                format!("model_type {other:?} (supported: gpt2, llama, mistral, qwen2)"),
            ))
        }
    };
    let tok = tokenizer(&a.model, a.tokenizer.as_deref())?;
    Ok((model, cfg["eos_token_id"].as_u64().map(|x| x as u32), (tok, false)))
}

fn run_model(
    a: GenerateArgs,
    model: Box<dyn CausalLm>,
    eos: Option<u32>,
    tok: (Tokenizer, bool),
    seed: u64,
) -> Result<()> {
    let (tok, special) = tok;
    let prompt = tok.encode(&a.prompt, special)?;
    if prompt.is_empty() {
        return Err(Error::value("generate", "the prompt encodes to no tokens"));
    }
    let mut sampler =
        if a.temperature == 0.0 { Sampler::greedy() } else { Sampler::new(a.temperature, a.top_k, a.top_p, seed)? };
    sampler.repetition_penalty = a.repetition_penalty;
    let mut ids: Vec<u32> = Vec::new();
    let mut shown = String::new();
    let stream = !a.json;
    let mut on_token = |id: u32| -> bool {
        ids.push(id);
        let text = tok.decode(&ids).unwrap_or_default();
        if stream && text.len() > shown.len() && text.starts_with(&shown) {
            print!("{}", &text[shown.len()..]);
            let _ = std::io::stdout().flush();
            shown = text.clone();
        }
        !a.stop.iter().any(|s| text.ends_with(s.as_str()))
    };
    if stream {
        print!("{}", a.prompt);
    }
    let start = std::time::Instant::now();
    let out = no_grad(|| {
        generate(
            model.as_ref(),
            &prompt,
            GenerateOptions { eos, on_token: Some(&mut on_token), ..GenerateOptions::new(a.max_new_tokens, sampler) },
        )
    })?;
    let secs = start.elapsed().as_secs_f64();
    let text = tok.decode(&out)?;
    if a.json {
        println!("{}", serde_json::json!({"prompt_ids": prompt, "generated_ids": out, "text": text, "seconds": secs}));
    } else {
        println!();
        eprintln!("{} tokens in {secs:.2} s ({:.1} tok/s)", out.len(), out.len() as f64 / secs.max(1e-9));
    }
    Ok(())
}

pub fn run_embed(a: EmbedArgs) -> Result<()> {
    let format: WeightFormat = a.dtype.parse()?;
    let (ty, _) = model_type(&a.model)?;
    if ty != "bert" {
        return Err(Error::unsupported("embed", format!("model_type {ty:?} (supported: bert)")));
    }
    let model = Bert::from_pretrained(&a.model, format)?;
    let tok = Tokenizer::from_dir(&a.model)?;
    let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
    let emb = no_grad(|| bert_embed(&model, &tok, &texts))?;
    let d = emb.shape()[1];
    let v = emb.to_vec::<f32>()?;
    if a.json {
        let rows: Vec<&[f32]> = v.chunks(d).collect();
        println!("{}", serde_json::json!(rows));
    } else {
        for (t, row) in texts.iter().zip(v.chunks(d)) {
            let head: Vec<String> = row.iter().take(6).map(|x| format!("{x:.4}")).collect();
            println!("{t:?}: [{}, ...] ({d} dims)", head.join(", "));
        }
    }
    Ok(())
}
