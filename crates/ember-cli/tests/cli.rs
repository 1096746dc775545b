//! The `ember` binary end to end: tiny training runs write checkpoints that `sample` and `info`
//! read, `--resume` reproduces an uninterrupted run, `--json` and `--plot` produce valid
//! output, and bad input gives a one-line error with a non-zero exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ember");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn ember(args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(ROOT).env("EMBER_NUM_THREADS", "1").output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = ember(args);
    assert!(o.status.success(), "ember {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn last_json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().expect("some output")).expect("the last line is JSON")
}

/// A small text (the first 20k characters of the bundled corpus).
fn small_text() -> PathBuf {
    let p = tmp("small.txt");
    if !p.exists() {
        let text = std::fs::read_to_string(format!("{ROOT}/data/shakespeare/shakespeare_complete.txt")).unwrap();
        std::fs::write(&p, text.chars().take(20_000).collect::<String>()).unwrap();
    }
    p
}

fn char_args<'a>(data: &'a str, ckpt: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "char",
        "--data",
        data,
        "--layers",
        "1",
        "--heads",
        "2",
        "--dim",
        "16",
        "--context",
        "16",
        "--batch",
        "4",
        "--steps",
        steps,
        "--warmup",
        "2",
        "--eval-every",
        "3",
        "--eval-iters",
        "2",
        "--save-every",
        "3",
        "--checkpoint",
        ckpt,
        "--sample-chars",
        "20",
        "--json",
    ]
}

#[test]
fn train_sample_info_json_and_plot() {
    let data = small_text();
    let ckpt = tmp("tiny.safetensors");
    let png = tmp("loss.png");
    let (d, c, p) = (data.to_str().unwrap(), ckpt.to_str().unwrap(), png.to_str().unwrap());
    let mut args = char_args(d, c, "6");
    args.extend(["--plot", p]);
    let out = ok(&args);
    let j = last_json(&out);
    assert_eq!(j["steps"], 6);
    assert!(j["val_loss"].as_f64().unwrap().is_finite());
    assert!(out.contains("--- sample"));
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    assert!(png_bytes.len() > 1000);

    let s = ok(&["sample", "--checkpoint", c, "--prompt", "The ", "--tokens", "30", "--json"]);
    let j = last_json(&s);
    assert_eq!(j["prompt"], "The ");
    assert_eq!(j["text"].as_str().unwrap().chars().count(), 30);
    let info = ok(&["info", c, "--json"]);
    let j = last_json(&info);
    let names: Vec<&str> = j["tensors"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"model.transformer.wte.weight") && names.iter().any(|n| n.starts_with("optimizer.state.")));
    assert!(ok(&["info", c]).contains("model.transformer.h.0.attn.c_attn.weight"));
    let pt = format!("{ROOT}/crates/ember-io/tests/fixtures/torch_written.pt");
    assert!(ok(&["info", &pt]).contains("model.shared_a"));
}

#[test]
fn resume_continues_the_same_loss_curve() {
    let data = small_text();
    let (d, full, part) = (data.to_str().unwrap(), tmp("full.safetensors"), tmp("part.safetensors"));
    let straight = last_json(&ok(&char_args(d, full.to_str().unwrap(), "6")));
    let p = part.to_str().unwrap();
    ok(&char_args(d, p, "3"));
    let mut resume = char_args(d, p, "6");
    resume.extend(["--resume", p]);
    let resumed = last_json(&ok(&resume));
    assert_eq!(straight["train_loss"], resumed["train_loss"], "final training loss differs after --resume");
    assert_eq!(straight["val_loss"], resumed["val_loss"]);
}

#[test]
fn mnist_quick_run_reports_json() {
    let out = ok(&["train", "mnist", "--limit", "512", "--epochs", "1", "--batch", "64", "--json"]);
    let j = last_json(&out);
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.5, "{j}");
    assert!(out.contains("epoch 1: train loss"));
}

fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "no panic: {err}");
    assert!(err.contains(needle), "stderr {err:?} should mention {needle:?}");
}

#[test]
fn bad_input_gives_a_clear_error_and_exit_code() {
    assert_one_line_error(&ember(&["train", "char", "--no-such-flag"]), 2, "unexpected argument");
    assert_one_line_error(&ember(&["train", "char", "--steps", "ten"]), 2, "invalid value");
    let o = ember(&["train", "char", "--data", "/nonexistent/text.txt"]);
    assert_one_line_error(&o, 1, "/nonexistent/text.txt");
    assert_eq!(String::from_utf8_lossy(&o.stderr).trim().lines().count(), 1);
    // A truncated checkpoint.
    let data = small_text();
    let good = tmp("to-truncate.safetensors");
    ok(&char_args(data.to_str().unwrap(), good.to_str().unwrap(), "2"));
    let bytes = std::fs::read(&good).unwrap();
    let bad = tmp("truncated.safetensors");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    for args in [vec!["info", bad.to_str().unwrap()], vec!["sample", "--checkpoint", bad.to_str().unwrap()]] {
        let o = ember(&args);
        assert_one_line_error(&o, 1, "error:");
        assert_eq!(String::from_utf8_lossy(&o.stderr).trim().lines().count(), 1, "{args:?}");
    }
    assert_one_line_error(
        &ember(&["sample", "--checkpoint", good.to_str().unwrap(), "--prompt", "\u{2603}"]),
        1,
        "not in the vocabulary",
    );
    assert_one_line_error(&ember(&["info", Path::new(ROOT).join("README.md").to_str().unwrap()]), 1, "error:");
}

#[test]
fn generate_and_embed_commands() {
    let out = ok(&[
        "generate",
        "--model",
        "data/tiny-gpt2-random",
        "--tokenizer",
        "data/gpt2-bpe",
        "--prompt",
        "To be, or not to be: that is the question.",
        "--max-new-tokens",
        "5",
        "--json",
    ]);
    let j = last_json(&out);
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/crates/ember-models/tests/fixtures/tiny-gpt2-greedy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(j["prompt_ids"], want["prompt"], "the prompt tokenizes like GPT-2");
    assert_eq!(
        j["generated_ids"].as_array().unwrap()[..],
        want["greedy_ids"].as_array().unwrap()[..5],
        "greedy ids as transformers"
    );
    let o = ember(&["generate", "--model", "/nonexistent", "--prompt", "x"]);
    assert_one_line_error(&o, 1, "config.json");
    let o = ember(&["generate", "--model", "data/tiny-gpt2-random", "--prompt", "x", "--dtype", "fp8"]);
    assert_one_line_error(&o, 1, "unknown weight format");
    let minilm =
        std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ember/all-minilm-l6-v2");
    let minilm = std::env::var("EMBER_CACHE").map(|c| PathBuf::from(c).join("all-minilm-l6-v2")).unwrap_or(minilm);
    let out = ok(&["embed", "--model", minilm.to_str().unwrap(), "Hello world", "Good morning", "--json"]);
    let j = last_json(&out);
    let rows = j.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let norm: f64 = rows[0].as_array().unwrap().iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-4, "embeddings are L2-normalised");
}

#[test]
fn train_char_runs_from_any_directory_with_the_built_in_text() {
    let dir = tmp("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("c.safetensors");
    let o = Command::new(BIN)
        .args(["train", "char", "--steps", "1", "--layers", "1", "--heads", "2", "--dim", "16", "--context", "16"])
        .args(["--batch", "2", "--eval-iters", "1", "--sample-chars", "0", "--json", "--checkpoint"])
        .arg(&ckpt)
        .current_dir(&dir)
        .env("EMBER_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("vocab 84"), "the whole bundled Shakespeare (84 characters): {err}");
    assert!(ckpt.exists());
}

#[test]
fn sizes_the_machine_cannot_hold_are_refused_before_allocating() {
    for args in [
        vec!["train", "char", "--dim", "100000000"],
        vec!["train", "char", "--context", "100000000"],
        vec!["train", "char", "--layers", "100000"],
        vec!["train", "char", "--batch", "100000000"],
    ] {
        let o = ember(&args);
        assert_one_line_error(&o, 1, "needs about");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("more than this machine's"), "{err}");
        assert!(!err.contains(" at crates/") && !err.contains(".rs:"), "no Ember source location: {err}");
    }
}

#[test]
fn resume_with_no_steps_left_is_refused() {
    let data = small_text();
    let ck = tmp("done.safetensors");
    let c = ck.to_str().unwrap();
    ok(&char_args(data.to_str().unwrap(), c, "3"));
    let mut args = char_args(data.to_str().unwrap(), c, "2");
    args.extend(["--resume", c]);
    let o = ember(&args);
    assert_one_line_error(&o, 1, "is at step 3; --steps 2 leaves nothing to train (pass --steps 4 or more");
}

#[test]
fn info_lists_a_gguf_file_and_refuses_a_truncated_one() {
    let path = format!("{ROOT}/crates/ember-io/tests/fixtures/gguf/tiny.gguf");
    let j = last_json(&ok(&["info", &path, "--json"]));
    let q4k = j["tensors"].as_array().unwrap().iter().find(|t| t["name"] == "q4_k").unwrap();
    assert_eq!(q4k["dtype"], "Q4_K");
    assert_eq!(q4k["shape"], serde_json::json!([2, 256]));
    assert_eq!(q4k["bytes"], 288);
    assert_eq!(j["metadata"]["general.architecture"], "\"llama\"");
    let table = ok(&["info", &path]);
    assert!(table.contains("q6_k") && table.contains("metadata test.u32: 7"), "{table}");
    let bytes = std::fs::read(&path).unwrap();
    let bad = tmp("truncated.gguf");
    std::fs::write(&bad, &bytes[..1000]).unwrap();
    let o = ember(&["info", bad.to_str().unwrap()]);
    assert_one_line_error(&o, 1, "reach past the end of the file");
}

#[test]
fn generate_from_a_gguf_file_matches_the_model_folder() {
    let dir = format!("{ROOT}/crates/ember-models/tests/fixtures/tiny-llama");
    // A word-level tokenizer over the tiny model's 101 ids: "t0" .. "t100".
    let vocab: serde_json::Map<String, serde_json::Value> = (0..101).map(|i| (format!("t{i}"), i.into())).collect();
    let tok = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "t0"}
    });
    let tok_path = tmp("tiny-llama-tokenizer.json");
    std::fs::write(&tok_path, tok.to_string()).unwrap();
    let t = tok_path.to_str().unwrap();
    let run = |model: &str| {
        let j = last_json(&ok(&[
            "generate",
            "--model",
            model,
            "--tokenizer",
            t,
            "--prompt",
            "t1 t17 t45",
            "--max-new-tokens",
            "6",
            "--json",
        ]));
        j["generated_ids"].clone()
    };
    let from_folder = run(&dir);
    assert_eq!(from_folder.as_array().unwrap().len(), 6);
    assert_eq!(run(&format!("{dir}/model.gguf")), from_folder);
    // Q4_0 weights kept in their blocks (the default `--dtype auto`) generate too.
    assert_eq!(run(&format!("{dir}/model-q4_0.gguf")).as_array().unwrap().len(), 6);
    // `ember quantize` writes the folder as Q8_0 GGUF: the same ids as the gguf package's file.
    let q = tmp("tiny-llama-q8_0.gguf");
    let q = q.to_str().unwrap();
    let o = ok(&["quantize", "--model", &dir, "--out", q, "--type", "q8_0"]);
    assert!(o.contains("Q8_0"), "{o}");
    assert_eq!(run(q), run(&format!("{dir}/model-q8_0.gguf")));
    assert_one_line_error(&ember(&["quantize", "--model", &dir, "--out", q, "--type", "q3"]), 1, "unknown --type");
    let o = ember(&["generate", "--model", &format!("{dir}/model.gguf"), "--prompt", "t1"]);
    assert_one_line_error(&o, 1, "pass --tokenizer");
}
