//! Distributed benchmarks (docs/PERFORMANCE.md), run under `mpirun -np 2`:
//!
//! - `dist_bench allreduce ember|raw`: all-reduce bandwidth of Ember's DDP path (a bucket
//!   tensor through the process group and its communication thread) or of Open MPI's own
//!   `MPI_Allreduce` on the same sizes; medians of repeated calls, algorithm bandwidth
//!   (bytes / time).
//! - `dist_bench ddp BATCH [--no-ddp]`: a GPT training step (forward, backward with the
//!   gradient all-reduce overlapping it, AdamW) with BATCH sequences per process; median
//!   milliseconds per step. `--no-ddp` runs the same step without a process group (a single
//!   process, for the 1-process baseline with half the batch).

use ember_core::{DType, Generator, Result, Tensor};
use ember_distributed::{mpi_world, ReduceOp, Reducer, ReducerOptions};
use ember_models::{Gpt2, Gpt2Config};
use ember_nn::Module;
use ember_optim::{AdamW, AdamWConfig, Optimizer};
use mpi::traits::*;
use std::time::{Duration, Instant};

const SIZES: [usize; 7] = [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22]; // f32 elements

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn reps(n: usize) -> usize {
    (4 << 22) / n.max(1) * 2 / 4 + 5
}

fn report(rank: usize, mode: &str, n: usize, secs: f64) {
    if rank == 0 {
        let bytes = (n * 4) as f64;
        println!("{mode:6} {:>9} B  {:>9.1} us  {:>7.2} GB/s", n * 4, secs * 1e6, bytes / secs / 1e9);
    }
}

fn allreduce_ember() -> Result<()> {
    let g = mpi_world(Duration::from_secs(600))?;
    for n in SIZES {
        // As a DDP bucket: the gradients in one buffer, their sum arriving in another.
        let (t, sum) = (Tensor::ones(&[n], DType::F32)?, Tensor::zeros(&[n], DType::F32)?);
        let mut times = Vec::new();
        for i in 0..reps(n) + 3 {
            g.barrier()?.wait()?;
            let s = Instant::now();
            g.all_reduce_into(&t, &sum, ReduceOp::Sum)?.wait()?;
            if i >= 3 {
                times.push(s.elapsed().as_secs_f64());
            }
        }
        report(g.rank(), "ember", n, median(times));
    }
    g.shutdown();
    Ok(())
}

fn allreduce_raw() {
    let universe = mpi::initialize().expect("MPI starts");
    let world = universe.world();
    for n in SIZES {
        let send = vec![1f32; n];
        let mut recv = vec![0f32; n];
        let mut times = Vec::new();
        for i in 0..reps(n) + 3 {
            world.barrier();
            let s = Instant::now();
            world.all_reduce_into(&send[..], &mut recv[..], mpi::collective::SystemOperation::sum());
            if i >= 3 {
                times.push(s.elapsed().as_secs_f64());
            }
        }
        report(world.rank() as usize, "raw", n, median(times));
    }
}

fn ddp(batch: usize, with_ddp: bool) -> Result<()> {
    let config = Gpt2Config {
        vocab_size: 65,
        n_positions: 64,
        n_embd: 256,
        n_layer: 4,
        n_head: 4,
        layer_norm_epsilon: 1e-5,
        activation_function: "gelu_new".into(),
        tie_word_embeddings: true,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    };
    let model = Gpt2::new(config)?;
    let group = if with_ddp { Some(mpi_world(Duration::from_secs(600))?) } else { None };
    let _reducer = match &group {
        Some(g) => Some(Reducer::new(model.parameters(), g.clone(), ReducerOptions::default())?),
        None => None,
    };
    let mut opt = AdamW::new(model.parameters(), AdamWConfig::default())?;
    let mut gen = Generator::new(1);
    let mut times = Vec::new();
    for i in 0..15 {
        let x = ember_core::rng::with_generator(&mut gen, || Tensor::randint(0, 65, &[batch, 64], DType::I64))?;
        let s = Instant::now();
        let logits = model.forward_ids(&x, None)?;
        let loss = ember_nn::functional::cross_entropy(&logits.reshape(&[-1, 65])?, &x.reshape(&[-1])?)?;
        opt.zero_grad();
        loss.backward()?;
        opt.step()?;
        if i >= 3 {
            times.push(s.elapsed().as_secs_f64());
        }
    }
    let rank = group.as_ref().map_or(0, |g| g.rank());
    if rank == 0 {
        let params: usize = model.parameters().iter().map(|p| p.numel()).sum();
        println!(
            "ddp={with_ddp} batch/process={batch} params={:.2}M step {:.1} ms (median of 12)",
            params as f64 / 1e6,
            median(times) * 1e3
        );
    }
    if let Some(g) = group {
        g.shutdown();
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2).map(String::as_str)) {
        (Some("allreduce"), Some("raw")) => {
            allreduce_raw();
            Ok(())
        }
        (Some("allreduce"), _) => allreduce_ember(),
        (Some("ddp"), Some(b)) => ddp(b.parse().expect("a batch size"), !args.iter().any(|a| a == "--no-ddp")),
        _ => {
            eprintln!("usage: dist_bench allreduce ember|raw | dist_bench ddp BATCH [--no-ddp]");
            std::process::exit(2);
        }
    }
}
