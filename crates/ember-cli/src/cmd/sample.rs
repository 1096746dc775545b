//! `ember sample`: continue a prompt with a character model trained by `ember train char`.

use super::train_char::load_char_checkpoint;
use ember::data::datasets::CharText;
use ember::models::{generate, GenerateOptions, Sampler};
use ember::nn::Module;
use ember::Result;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// A checkpoint written by `ember train char`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Text to continue (must use characters the model knows).
    #[arg(long, default_value = "\n")]
    pub prompt: String,
    /// Characters to generate.
    #[arg(long, default_value_t = 500)]
    pub tokens: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// Keep only the k most likely characters.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Print the result as JSON (`{"prompt": .., "text": ..}`) on the last line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SampleArgs, seed: u64) -> Result<()> {
    let (mut model, _, vocab) = load_char_checkpoint(&a.checkpoint)?;
    model.eval();
    let corpus = CharText { chars: vocab.chars, ids: Vec::new() };
    let prompt = corpus.encode(&a.prompt)?;
    if prompt.is_empty() {
        return Err(ember::Error::value("sample", "--prompt must not be empty"));
    }
    let sampler = Sampler::new(a.temperature, a.top_k, None, seed)?;
    let stream = !a.json;
    if stream {
        print!("{}", a.prompt);
    }
    let mut on_token = |id: u32| {
        if stream {
            print!("{}", corpus.decode(&[id]));
            let _ = std::io::stdout().flush();
        }
        true
    };
    let out = generate(
        &model,
        &prompt,
        GenerateOptions {
            on_token: Some(&mut on_token),
            slide_when_full: true,
            ..GenerateOptions::new(a.tokens, sampler)
        },
    )?;
    if stream {
        println!();
    } else {
        println!("{}", serde_json::json!({"prompt": a.prompt, "text": corpus.decode(&out)}));
    }
    Ok(())
}
