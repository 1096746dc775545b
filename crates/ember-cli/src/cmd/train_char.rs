//! `ember train char`: a nanoGPT-style character model (GPT-2 blocks) trained on a text file
//! with AdamW (decay on matrices only), linear warm-up then cosine decay, gradient clipping,
//! periodic validation, atomic checkpoints (with optimiser and RNG state, so `--resume`
//! continues exactly) and Ctrl-C saving; it ends by sampling from the model. Under
//! `mpirun -np N` it trains data-parallel (`data_parallel.rs`): each rank its rows of every
//! batch, rank 0 validating, logging and saving.

use super::data_parallel::DataParallel;
use super::interrupted;
use crate::progress::{plot, Progress};
use ember::data::datasets::{text::random_windows, CharText};
use ember::io::{load_checkpoint, save_checkpoint, TrainingCheckpoint};
use ember::models::{generate, GenerateOptions, Gpt2, Gpt2Config, Sampler};
use ember::nn::{functional as F, Module};
use ember::optim::{clip_grad_norm_, AdamW, AdamWConfig, Optimizer, ParamGroup};
use ember::{no_grad, Error, Generator, Result, Tensor};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct CharArgs {
    /// Training text (default: the complete works of Shakespeare, built into the binary).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Transformer blocks.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Model width.
    #[arg(long, default_value_t = 128)]
    pub dim: usize,
    /// Context length in characters.
    #[arg(long, default_value_t = 128)]
    pub context: usize,
    /// Sequences per step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Total optimisation steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Final learning rate of the cosine decay.
    #[arg(long, default_value_t = 2e-4)]
    pub min_lr: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = 50)]
    pub warmup: u64,
    /// AdamW weight decay (matrices only).
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f64,
    /// Gradient-norm clip (0: off).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    /// Dropout probability.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Validate every N steps.
    #[arg(long, default_value_t = 100)]
    pub eval_every: u64,
    /// Batches per validation estimate.
    #[arg(long, default_value_t = 10)]
    pub eval_iters: usize,
    /// Where checkpoints go.
    #[arg(long, default_value = "runs/char.safetensors")]
    pub checkpoint: PathBuf,
    /// Save a checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    pub save_every: u64,
    /// Continue from a checkpoint written by this command.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Write training and validation loss curves to this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print the final metrics as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Characters to sample after training (0: none).
    #[arg(long, default_value_t = 500)]
    pub sample_chars: usize,
}

/// The bundled Shakespeare (`data/shakespeare`), gzip-compressed into the binary by `build.rs`.
static SHAKESPEARE_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/shakespeare.txt.gz"));

/// The training text: `--data`, or the built-in Shakespeare.
fn read_text(data: Option<&Path>) -> Result<String> {
    match data {
        Some(p) => std::fs::read_to_string(p).map_err(|e| Error::io(p.display().to_string(), e)),
        None => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(SHAKESPEARE_GZ), &mut text)
                .map_err(|e| Error::io("built-in Shakespeare", e))?;
            Ok(text)
        }
    }
}

/// Refuses a model or batch the machine cannot hold, before allocating anything: parameters
/// with their gradients and AdamW state (16 bytes each), plus the activations one step keeps
/// for backward (about 20 width-sized vectors per position and layer, and the attention
/// matrices). The estimate is rough; what it guards against is orders of magnitude.
fn check_size(a: &CharArgs, vocab: usize) -> Result<()> {
    let (l, d, t, b, h, v) =
        (a.layers as u128, a.dim as u128, a.context as u128, a.batch as u128, a.heads.max(1) as u128, vocab as u128);
    let params = l * 12 * d * d + (v + t) * d;
    let activations = l * b * t * (20 * d + 3 * h * t) * 4 + b * t * v * 12;
    let need = params * 16 + activations;
    let have = ember::storage::memory_limit() as u128;
    if need > have {
        return Err(Error::alloc(
            "train char",
            format!(
                "--layers {} --dim {} --context {} --batch {} needs about {} ({:.3e} parameters), more than this machine's {}",
                a.layers,
                a.dim,
                a.context,
                a.batch,
                ember::storage::human_bytes(need),
                params as f64,
                ember::storage::human_bytes(have)
            ),
        ));
    }
    Ok(())
}

/// Everything a checkpoint stores besides tensors.
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    config: Gpt2Config,
    vocab: String,
    data_rng: (u64, u64),
    train_history: Vec<(f64, f64)>,
    val_history: Vec<(f64, f64)>,
}

/// nanoGPT's schedule: linear warm-up, cosine decay to `min_lr` at the last step.
fn lr_at(a: &CharArgs, step: u64) -> f64 {
    if step < a.warmup {
        return a.lr * (step + 1) as f64 / (a.warmup + 1) as f64;
    }
    if step >= a.steps {
        return a.min_lr;
    }
    let ratio = (step - a.warmup) as f64 / (a.steps - a.warmup).max(1) as f64;
    a.min_lr + 0.5 * (1.0 + (std::f64::consts::PI * ratio).cos()) * (a.lr - a.min_lr)
}

fn loss_on(model: &Gpt2, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let logits = model.forward_ids(x, None)?; // [B, T, V]
    let v = logits.shape()[2] as isize;
    F::cross_entropy(&logits.reshape(&[-1, v])?, &y.reshape(&[-1])?)
}

fn evaluate(model: &mut Gpt2, ids: &[u32], a: &CharArgs, seed: u64) -> Result<f64> {
    model.eval();
    let mut g = Generator::new(seed);
    let r = no_grad(|| -> Result<f64> {
        let mut total = 0.0;
        for _ in 0..a.eval_iters.max(1) {
            let (x, y) = random_windows(ids, a.batch, a.context, &mut g)?;
            total += loss_on(model, &x, &y)?.item::<f32>()? as f64;
        }
        Ok(total / a.eval_iters.max(1) as f64)
    });
    model.train();
    r
}

fn save(path: &Path, model: &Gpt2, opt: &AdamW, step: u64, st: &State) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    }
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert(
        "ember.char_state".to_string(),
        serde_json::to_string(st).map_err(|e| Error::format("checkpoint", e.to_string()))?,
    );
    let ck = TrainingCheckpoint {
        model: model.state_dict(),
        optimizer: opt.state_dict(),
        step,
        rng: Some(ember::rng::global_state()),
        metadata,
    };
    save_checkpoint(&ck, path)
}

/// Loads a character-model checkpoint: model, its state, the checkpoint itself.
pub fn load_char_checkpoint(path: &Path) -> Result<(Gpt2, TrainingCheckpoint, CharText)> {
    let ck = load_checkpoint(path)?;
    let st: State = ck
        .metadata
        .get("ember.char_state")
        .ok_or_else(|| {
            Error::format(path.display().to_string(), "not a character-model checkpoint (no ember.char_state)")
        })
        .and_then(|s| {
            serde_json::from_str(s)
                .map_err(|e| Error::format(path.display().to_string(), format!("bad ember.char_state: {e}")))
        })?;
    let mut model = Gpt2::new(st.config.clone())?;
    model.load_state_dict(&ck.model, true)?;
    let vocab = CharText { chars: st.vocab.chars().collect(), ids: Vec::new() };
    Ok((model, ck, vocab))
}

pub fn run(a: CharArgs, seed: u64) -> Result<()> {
    if a.batch == 0 || a.context == 0 || a.steps == 0 || a.eval_every == 0 || a.save_every == 0 {
        return Err(Error::value(
            "train char",
            "--batch, --context, --steps, --eval-every and --save-every must be positive",
        ));
    }
    let mut dp = DataParallel::from_launcher()?;
    if let Some(dp) = &dp {
        dp.check_batch(a.batch)?;
    }
    let main = dp.as_ref().is_none_or(|d| d.rank() == 0);
    let text = read_text(a.data.as_deref())?;
    let start = Instant::now();
    let (mut model, mut opt, mut st, first_step) = match &a.resume {
        Some(p) => {
            let (model, ck, vocab) = load_char_checkpoint(p)?;
            if ck.step >= a.steps {
                return Err(Error::value(
                    "train char",
                    format!(
                        "{} is at step {}; --steps {} leaves nothing to train (pass --steps {} or more to continue it)",
                        p.display(),
                        ck.step,
                        a.steps,
                        ck.step + 1
                    ),
                ));
            }
            let st: State = serde_json::from_str(&ck.metadata["ember.char_state"])
                .map_err(|e| Error::format("checkpoint", e.to_string()))?;
            let mut opt = make_optimizer(&model, &a)?;
            opt.load_state_dict(&ck.optimizer)?;
            if let Some(g) = ck.rng {
                ember::rng::set_global_state(g);
            }
            let _ = vocab;
            (model, opt, st, ck.step)
        }
        None => {
            let corpus = CharText::new(&text)?;
            check_size(&a, corpus.vocab_size())?;
            let config = Gpt2Config {
                vocab_size: corpus.vocab_size(),
                n_positions: a.context,
                n_embd: a.dim,
                n_layer: a.layers,
                n_head: a.heads,
                layer_norm_epsilon: 1e-5,
                activation_function: "gelu_new".into(),
                tie_word_embeddings: true,
                embd_pdrop: a.dropout,
                attn_pdrop: a.dropout,
                resid_pdrop: a.dropout,
            };
            let model = Gpt2::new(config.clone())?;
            let opt = make_optimizer(&model, &a)?;
            let st = State {
                config,
                vocab: corpus.chars.iter().collect(),
                data_rng: (seed ^ 0xda7a, 0),
                train_history: Vec::new(),
                val_history: Vec::new(),
            };
            (model, opt, st, 0)
        }
    };
    let vocab: Vec<char> = st.vocab.chars().collect();
    let ids = CharText::encode_with(&vocab, &text)?;
    let split = ids.len() * 9 / 10;
    let (train_ids, val_ids) = (&ids[..split], &ids[split..]);
    if val_ids.len() <= a.context + 1 || train_ids.len() <= a.context + 1 {
        return Err(Error::value(
            "train char",
            format!("the text ({} characters) is too short for a context of {}", ids.len(), a.context),
        ));
    }
    let mut data_rng = Generator { seed: st.data_rng.0, offset: st.data_rng.1 };
    if let Some(dp) = &mut dp {
        dp.attach(&model)?;
    }
    let params = model.parameters();
    let n_params: usize = params.iter().map(|p| p.numel()).sum();
    if let Some(dp) = &dp.as_ref().filter(|_| main) {
        eprintln!("data-parallel over {} processes: {} sequences each per step", dp.size(), a.batch / dp.size());
    }
    if main {
        eprintln!(
        "char GPT: {} layers, {} heads, width {}, context {}, vocab {}, {:.2}M parameters; {} training characters; steps {}..{}",
        st.config.n_layer, st.config.n_head, st.config.n_embd, st.config.n_positions, st.config.vocab_size, n_params as f64 / 1e6, train_ids.len(), first_step, a.steps
    );
    }
    let stop = interrupted();
    let progress = main.then(|| Progress::new(a.steps, "train char"));
    let loop_start = Instant::now();
    let mut last_loss = f64::NAN;
    let mut last_val = st.val_history.last().map_or(f64::NAN, |v| v.1);
    let mut step = first_step;
    while step < a.steps {
        let lr = lr_at(&a, step);
        for g in opt.param_groups_mut() {
            g.lr = lr;
        }
        let (x, y) = random_windows(train_ids, a.batch, st.config.n_positions, &mut data_rng)?;
        let (x, y) = match &dp {
            Some(dp) => (dp.shard(&x)?, dp.shard(&y)?),
            None => (x, y),
        };
        let loss = loss_on(&model, &x, &y)?;
        opt.zero_grad();
        loss.backward()?;
        if a.grad_clip > 0.0 {
            clip_grad_norm_(&params, a.grad_clip)?;
        }
        opt.step()?;
        step += 1;
        last_loss = loss.item::<f32>()? as f64;
        let mut interrupt = stop.load(Ordering::SeqCst);
        if let Some(dp) = &dp {
            (last_loss, interrupt) = dp.agree(last_loss, interrupt)?;
        }
        st.train_history.push((step as f64, last_loss));
        if main && (step % a.eval_every == 0 || step == a.steps) {
            last_val = evaluate(&mut model, val_ids, &a, seed ^ step)?;
            st.val_history.push((step as f64, last_val));
            if let Some(p) = &progress {
                p.println(&format!("step {step}: train loss {last_loss:.4}, val loss {last_val:.4}"));
            }
        }
        let done_tokens = ((step - first_step) as usize * a.batch * st.config.n_positions) as f64;
        let tps = done_tokens / loop_start.elapsed().as_secs_f64().max(1e-9);
        if let Some(p) = &progress {
            p.step(step, || format!("loss {last_loss:.4} lr {lr:.2e} {tps:.0} tok/s"));
        }
        if main && (step % a.save_every == 0 || step == a.steps || interrupt) {
            st.data_rng = (data_rng.seed, data_rng.offset);
            save(&a.checkpoint, &model, &opt, step, &st)?;
        }
        if interrupt {
            if let Some(p) = &progress {
                p.finish();
            }
            if !main {
                std::process::exit(130);
            }
            eprintln!(
                "interrupted: checkpoint saved to {} at step {step}; continue with --resume {}",
                a.checkpoint.display(),
                a.checkpoint.display()
            );
            std::process::exit(130);
        }
    }
    if let Some(p) = &progress {
        p.finish();
    }
    if let Some(dp) = dp {
        dp.finish()?;
    }
    if !main {
        return Ok(());
    }
    let seconds = start.elapsed().as_secs_f64();
    let tokens = ((step - first_step) as usize * a.batch * st.config.n_positions) as f64;
    eprintln!(
        "done: {step} steps, train loss {last_loss:.4}, val loss {last_val:.4}, {seconds:.0} s, checkpoint {}",
        a.checkpoint.display()
    );
    if let Some(p) = &a.plot {
        plot(
            &p.display().to_string(),
            "character GPT: loss",
            &[("train", &st.train_history), ("validation", &st.val_history)],
        )?;
        eprintln!("loss curves written to {}", p.display());
    }
    if a.sample_chars > 0 {
        model.eval();
        let corpus = CharText { chars: vocab.clone(), ids: Vec::new() };
        let prompt = corpus.encode("\n").unwrap_or_else(|_| vec![0]);
        let out = generate(
            &model,
            &prompt,
            GenerateOptions {
                slide_when_full: true,
                ..GenerateOptions::new(a.sample_chars, Sampler::new(0.8, Some(40), None, seed)?)
            },
        )?;
        println!("--- sample (temperature 0.8, top-k 40) ---\n{}\n---", corpus.decode(&out));
    }
    if a.json {
        let j = serde_json::json!({
            "steps": step,
            "train_loss": last_loss,
            "val_loss": last_val,
            "seconds": seconds,
            "tokens_per_second": tokens / seconds.max(1e-9),
            "parameters": n_params,
            "checkpoint": a.checkpoint.display().to_string(),
        });
        println!("{j}");
    }
    Ok(())
}

fn make_optimizer(model: &Gpt2, a: &CharArgs) -> Result<AdamW> {
    // Decay matrices (weights, embeddings), not biases or norm gains, as nanoGPT does.
    let (decay, no_decay): (Vec<Tensor>, Vec<Tensor>) = model.parameters().into_iter().partition(|p| p.dim() >= 2);
    let groups = vec![ParamGroup::new(decay, a.lr, a.weight_decay), ParamGroup::new(no_decay, a.lr, 0.0)];
    AdamW::with_groups(
        groups,
        AdamWConfig { lr: a.lr, betas: (0.9, 0.99), weight_decay: a.weight_decay, ..Default::default() },
    )
}
