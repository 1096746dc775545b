//! `mpirun -np 2 ember train char`: data-parallel training equals one process training on the
//! whole batch, and a checkpoint written at one world size resumes at another.
#![cfg(feature = "mpi")]

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ember");

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-mpi");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// `ember args` alone (`np == 1`) or under `mpirun -np np`.
fn ember(np: usize, args: &[&str]) -> Output {
    let mut c = if np == 1 {
        Command::new(BIN)
    } else {
        let mut c = Command::new("mpirun");
        c.args(["--oversubscribe", "--allow-run-as-root", "-np", &np.to_string(), BIN]);
        c
    };
    c.args(args).env("EMBER_NUM_THREADS", "1").output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "failed:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
    // Only rank 0 prints the summary.
    assert_eq!(out.matches("\"steps\"").count(), 1, "{out}");
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

fn text() -> PathBuf {
    let p = tmp("small.txt");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let t = std::fs::read_to_string(format!("{root}/data/shakespeare/shakespeare_complete.txt")).unwrap();
    std::fs::write(&p, t.chars().take(20_000).collect::<String>()).unwrap();
    p
}

fn args<'a>(data: &'a str, ckpt: &'a str, steps: &'a str, warmup: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "char",
        "--data",
        data,
        "--layers",
        "2",
        "--heads",
        "2",
        "--dim",
        "32",
        "--context",
        "16",
        "--batch",
        "8",
        "--steps",
        steps,
        "--warmup",
        warmup,
        "--eval-every",
        "10",
        "--eval-iters",
        "2",
        "--save-every",
        "100",
        "--checkpoint",
        ckpt,
        "--sample-chars",
        "0",
        "--json",
    ]
}

fn weights(path: &str) -> Vec<(String, Vec<f64>)> {
    let ck = ember::io::load_checkpoint(std::path::Path::new(path)).unwrap();
    ck.model.iter().map(|(k, t)| (k.clone(), t.to_f64_vec().unwrap())).collect()
}

fn assert_close(a: &[(String, Vec<f64>)], b: &[(String, Vec<f64>)], rel: f64) {
    for ((n, x), (_, y)) in a.iter().zip(b) {
        let scale = y.iter().fold(0f64, |m, v| m.max(v.abs()));
        let err = x.iter().zip(y).fold(0f64, |m, (p, q)| m.max((p - q).abs()));
        assert!(err <= rel * scale, "{n}: max difference {err:e} vs scale {scale:e}");
    }
}

#[test]
fn two_processes_train_as_one_on_the_whole_batch() {
    let data = text();
    let d = data.to_str().unwrap();
    let (one, two) = (tmp("one.safetensors"), tmp("two.safetensors"));
    let j1 = json(&ember(1, &args(d, one.to_str().unwrap(), "20", "2")));
    let o = ember(2, &args(d, two.to_str().unwrap(), "20", "2"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("data-parallel over 2 processes"));
    let j2 = json(&o);
    let (l1, l2) = (j1["train_loss"].as_f64().unwrap(), j2["train_loss"].as_f64().unwrap());
    assert!((l1 - l2).abs() <= 1e-5 * l1, "{l1} vs {l2}");
    // The two runs sum the batch in a different order (two halves, then the all-reduce), so
    // gradients differ by f32 rounding; AdamW's m / sqrt(v) turns that into up to a learning-rate
    // step for gradients near zero, so after 20 steps weights agree to ~1e-4 of each tensor's
    // scale (measured), not to rounding. Without the gradient averaging they differ by ~1e-1.
    assert_close(&weights(two.to_str().unwrap()), &weights(one.to_str().unwrap()), 1e-3);
}

#[test]
fn a_checkpoint_resumes_at_another_world_size() {
    let data = text();
    let d = data.to_str().unwrap();
    let (straight, part) = (tmp("straight.safetensors"), tmp("part.safetensors"));
    // Steps inside the warm-up, so the learning rate does not depend on --steps.
    let (s, p) = (straight.to_str().unwrap(), part.to_str().unwrap());
    let want = json(&ember(1, &args(d, s, "8", "20")));
    json(&ember(2, &args(d, p, "4", "20")));
    let mut resume = args(d, p, "8", "20");
    resume.extend(["--resume", p]);
    let got = json(&ember(1, &resume));
    let (a, b) = (want["train_loss"].as_f64().unwrap(), got["train_loss"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-5 * a, "{a} vs {b}");
    assert_close(&weights(p), &weights(s), 1e-3);
}

#[test]
fn a_batch_that_does_not_split_is_refused_on_every_rank() {
    let data = text();
    let d = data.to_str().unwrap();
    let ck = tmp("odd.safetensors");
    let mut a = args(d, ck.to_str().unwrap(), "2", "2");
    a[13] = "7"; // --batch 7 over 2 processes
    let o = ember(2, &a);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--batch 7 does not split evenly over 2 processes"));
}
