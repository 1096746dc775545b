//! `ember quantize --model DIR --out FILE.gguf --type q8_0|q4_0|q4_k`: a Hugging Face
//! Llama/Mistral/Qwen2 folder written as a quantised GGUF file in llama.cpp's layout (loads in
//! `ember generate` and in llama.cpp).

use ember::models::gguf_export::llama_to_gguf;
use ember::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct QuantizeArgs {
    /// A Llama, Mistral or Qwen2 model folder (config.json, safetensors weights, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// The GGUF file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Block format of the matrices: q8_0, q4_0 or q4_k.
    #[arg(long = "type", default_value = "q8_0")]
    pub format: String,
}

pub fn run(a: QuantizeArgs) -> Result<()> {
    let format = ember::fused::BlockFormat::from_name(&a.format)
        .ok_or_else(|| Error::value("quantize", format!("unknown --type {:?} (q8_0, q4_0, q4_k)", a.format)))?;
    let t = std::time::Instant::now();
    let s = llama_to_gguf(&a.model, &a.out, format)?;
    let types: Vec<String> = s.types.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "wrote {} ({} tensors: {}; {:.1} MB) in {:.1} s",
        a.out.display(),
        s.tensors,
        types.join(", "),
        s.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
