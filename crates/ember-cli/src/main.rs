//! `ember`: the command-line face of Ember. `ember train char` trains a character-level GPT on
//! the bundled Shakespeare and samples from it; `ember train mnist` trains an MLP or CNN;
//! `ember sample` continues text from a checkpoint; `ember info` lists a checkpoint's tensors;
//! `ember bench` measures the workloads PyTorch's side runs in `bench/torch_bench.py`.
//!
//! Errors print one line (`error: ...`) and exit with code 1; bad arguments exit with code 2.

mod cmd;
mod progress;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ember", version, about = "Ember: PyTorch's programming model in pure Rust", propagate_version = true)]
struct Cli {
    /// Threads for Ember's kernels (default: all CPUs).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Seed for every random choice (initialisation, batches, dropout, sampling).
    #[arg(long, global = true, default_value_t = 1337)]
    seed: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model.
    #[command(subcommand)]
    Train(Train),
    /// Continue text from a character-model checkpoint.
    Sample(cmd::sample::SampleArgs),
    /// List the tensors and metadata of a .safetensors or .pt file.
    Info(cmd::info::InfoArgs),
    /// Run the benchmark workloads of bench/torch_bench.py.
    Bench(cmd::bench::BenchArgs),
    /// Generate text with a GPT-2 or Llama-family model folder.
    Generate(cmd::generate::GenerateArgs),
    /// Print sentence embeddings from a BERT model folder.
    Embed(cmd::generate::EmbedArgs),
    /// Write a Llama-family model folder as a quantised GGUF file (Q8_0, Q4_0, Q4_K).
    Quantize(cmd::quantize::QuantizeArgs),
}

#[derive(Subcommand)]
enum Train {
    /// A character-level GPT on a text file (default: the bundled Shakespeare).
    Char(cmd::train_char::CharArgs),
    /// An MLP or CNN on MNIST or Fashion-MNIST.
    Mnist(cmd::train_mnist::MnistArgs),
}

/// Large buffers (weights, activations) on transparent huge pages: decoding reads every weight
/// per token, and huge pages lift memory bandwidth (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOC: ember::HugePageAlloc = ember::HugePageAlloc;

fn main() {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            std::process::exit(2);
        }
        ember::set_num_threads(n);
    }
    ember::manual_seed(cli.seed);
    let result = ember::run_in_pool(move || match cli.command {
        Command::Train(Train::Char(a)) => cmd::train_char::run(a, cli.seed),
        Command::Train(Train::Mnist(a)) => cmd::train_mnist::run(a, cli.seed),
        Command::Sample(a) => cmd::sample::run(a, cli.seed),
        Command::Info(a) => cmd::info::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Generate(a) => cmd::generate::run_generate(a, cli.seed),
        Command::Embed(a) => cmd::generate::run_embed(a),
        Command::Quantize(a) => cmd::quantize::run(a),
    });
    if let Err(e) = result {
        // The message without Ember's source location: a command-line user did not write the
        // call (library users get `file:line` in `Display`).
        eprintln!("error: {}", e.message());
        std::process::exit(1);
    }
}
