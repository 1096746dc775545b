"""CPU inference side by side: Ember against llama.cpp, PyTorch and ONNX Runtime.

Builds a random-weight Llama-family model (default: a Qwen2-0.5B-like body, ~0.4B parameters
with a 32k vocabulary) as an f32 GGUF with the `gguf` package, quantises it with llama.cpp's
own quantiser (through `llama-cpp-python`) to Q8_0, Q4_0 and Q4_K_M, builds the same weights
as ONNX models (bench/onnx_llama.py: f32, int8, int4) and loads them in eager PyTorch
(bench/torch_llama.py: f32, bf16, int8), then times every engine on every format it has, at
1 and 2 threads, the same way: a 128-token prompt (logits of its last position), then 64
decoded tokens with a KV cache, median of 3 after a warm-up. Each decode figure is also given
as a fraction of the machine's read-bandwidth ceiling (weight bytes per token x tokens/s /
the STREAM-style read bandwidth of bench/stream_read.c at the same thread count). First it
checks that the PyTorch and ONNX builds compute llama.cpp's function (f32 logits). Prints the
table and Ember's ratios, writes JSON. Run by `scripts/bench-inference.sh`, which installs
the engines; not part of CI.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import gguf
import numpy as np

SHAPES = {
    # Qwen2-0.5B's body (d 896, 24 layers, 14 heads, 2 KV heads, FFN 4864), a 32k vocabulary.
    "0.5b": dict(d=896, layers=24, heads=14, kv=2, ffn=4864, vocab=32000),
    # A small shape for a quick check of the script.
    "tiny": dict(d=256, layers=4, heads=4, kv=2, ffn=768, vocab=4096),
}


def write_f32(path, s, seed=0):
    rng = np.random.default_rng(seed)
    hd = s["d"] // s["heads"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("llama.context_length", 2048)
    w.add_uint32("llama.embedding_length", s["d"])
    w.add_uint32("llama.block_count", s["layers"])
    w.add_uint32("llama.feed_forward_length", s["ffn"])
    w.add_uint32("llama.attention.head_count", s["heads"])
    w.add_uint32("llama.attention.head_count_kv", s["kv"])
    w.add_uint32("llama.rope.dimension_count", hd)
    w.add_float32("llama.rope.freq_base", 1e6)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_uint32("llama.vocab_size", s["vocab"])
    # A placeholder SentencePiece vocabulary: llama.cpp needs one to load; speed ignores it.
    w.add_tokenizer_model("llama")
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    toks += [f"t{i}" for i in range(s["vocab"] - len(toks))]
    w.add_token_list(toks)
    w.add_token_scores([0.0] * len(toks))
    w.add_token_types([2, 3, 3] + [6] * 256 + [1] * (len(toks) - 259))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    def mat(o, i):
        return (rng.standard_normal((o, i), dtype=np.float32) * 0.02).astype(np.float32)

    d, kvd = s["d"], s["kv"] * hd
    w.add_tensor("token_embd.weight", mat(s["vocab"], d))
    for i in range(s["layers"]):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(d, np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", mat(d, d))
        w.add_tensor(f"blk.{i}.attn_k.weight", mat(kvd, d))
        w.add_tensor(f"blk.{i}.attn_v.weight", mat(kvd, d))
        w.add_tensor(f"blk.{i}.attn_output.weight", mat(d, d))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(d, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", mat(s["ffn"], d))
        w.add_tensor(f"blk.{i}.ffn_up.weight", mat(s["ffn"], d))
        w.add_tensor(f"blk.{i}.ffn_down.weight", mat(d, s["ffn"]))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def quantize(src, dst, ftype):
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count() or 1
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise SystemExit(f"llama.cpp could not quantise {src} to ftype {ftype}")


def same_function(f32, here, onnx_dir, torch_python, engines, vocab, prompt_len=128):
    """The engines' f32 logits for the prompt's last position, against llama.cpp's: the
    ONNX graph and the PyTorch model compute the function llama.cpp computes on the file
    (Ember's GGUF path is tested against transformers in its own test suite)."""
    import tempfile

    from llama_cpp import Llama

    llm = Llama(model_path=str(f32), n_ctx=prompt_len + 8, n_threads=2, n_batch=prompt_len, verbose=False,
                logits_all=True)
    prompt = np.random.default_rng(1).integers(3, vocab, prompt_len).tolist()
    llm.eval(prompt)
    ref = np.array(llm.scores[prompt_len - 1], dtype=np.float32)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine, cmd in [("torch", [torch_python, str(here / "torch_llama.py"), str(f32), "--new", "1"]),
                            ("onnxruntime", [sys.executable, str(here / "onnx_llama.py"), "time",
                                             str(onnx_dir / "f32.onnx")])]:
            if engine not in engines:
                continue
            path = pathlib.Path(tmp) / f"{engine}.npy"
            if last_json(cmd + ["--logits", str(path)]) is None:
                continue
            got = np.load(path)
            out[engine] = dict(max_abs_diff=float(np.abs(got - ref).max()), logit_scale=float(np.abs(ref).max()),
                               same_argmax=bool(got.argmax() == ref.argmax()))
            print(f"f32 logits, {engine} vs llama.cpp: max |diff| {out[engine]['max_abs_diff']:.2e} "
                  f"(logits up to {out[engine]['logit_scale']:.2f}), same argmax: {out[engine]['same_argmax']}",
                  flush=True)
    return out


def llama_cpp_times(path, threads, vocab, prompt_len=128, n_new=64, runs=3):
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=prompt_len + n_new + 8, n_threads=threads, n_threads_batch=threads,
                n_batch=prompt_len, verbose=False, use_mmap=True)
    rng = np.random.default_rng(1)
    prompt = rng.integers(3, vocab, prompt_len).tolist()
    ps, ds = [], []
    for run in range(runs + 1):
        llm.reset()
        t = time.perf_counter()
        llm.eval(prompt)
        p = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(n_new):
            llm.eval([int(prompt[i % prompt_len])])
        d = time.perf_counter() - t
        if run:
            ps.append(p)
            ds.append(d)
    return prompt_len / statistics.median(ps), n_new / statistics.median(ds)


def ember_times(ember, path, threads, dtype="auto"):
    out = subprocess.run([ember, "--threads", str(threads), "bench", "--model", str(path), "--dtype", dtype, "--json"],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return dict(prompt=r["gguf_prompt_tok_s"], decode=r["gguf_decode_tok_s"], bytes=r["gguf_weight_bytes"],
                load_s=r["gguf_load_s"], ttft_s=r["gguf_ttft_s"], peak_rss_mib=r["gguf_peak_rss_mib"])


def last_json(cmd):
    """Runs a helper script; its last stdout line is a JSON object (None if it failed)."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  ({' '.join(map(str, cmd[:3]))} failed: {res.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def stream_gbs(here, threads):
    """The read-bandwidth ceiling (bench/stream_read.c): the best of 4 KiB and huge pages."""
    exe = pathlib.Path(here) / "stream_read"
    src = pathlib.Path(__file__).with_name("stream_read.c")
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", str(src), "-o", str(exe)], check=True)
    r = json.loads(subprocess.run([str(exe), str(threads)], check=True, capture_output=True, text=True).stdout)
    return max(r["read_gb_s_4k"], r["read_gb_s_huge"])


def matrix_params(s):
    """Weights read per decoded token: every layer matrix and the (tied) head."""
    hd = s["d"] // s["heads"]
    per_layer = 2 * s["d"] * s["d"] + 2 * s["d"] * s["kv"] * hd + 3 * s["d"] * s["ffn"]
    return s["layers"] * per_layer + s["vocab"] * s["d"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", required=True, help="path of the ember binary")
    ap.add_argument("--shape", default="0.5b", choices=sorted(SHAPES))
    ap.add_argument("--dir", default=os.path.expanduser("~/.cache/ember/bench-inference"))
    ap.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", "python3"),
                    help="a Python with torch and gguf for the PyTorch column (skipped if it has none)")
    ap.add_argument("--engines", default="ember,llama.cpp,torch,onnxruntime")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    import llama_cpp

    engines = set(a.engines.split(","))
    s = SHAPES[a.shape]
    d = pathlib.Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    f32 = d / f"{a.shape}-f32.gguf"
    if not f32.exists():
        print(f"writing {f32}", flush=True)
        write_f32(f32, s)
    files = {"f32": f32}
    for name, ftype in [("Q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0), ("Q4_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0),
                        ("Q4_K_M", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M)]:
        files[name] = d / f"{a.shape}-{name}.gguf"
        if not files[name].exists():
            print(f"quantising {files[name]}", flush=True)
            quantize(f32, files[name], ftype)
    here = pathlib.Path(__file__).resolve().parent
    onnx_dir = d / f"{a.shape}-onnx"
    if "onnxruntime" in engines and not (onnx_dir / "int4.onnx").exists():
        print(f"building ONNX models in {onnx_dir}", flush=True)
        subprocess.run([sys.executable, str(here / "onnx_llama.py"), "build", str(f32), str(onnx_dir)], check=True,
                       stderr=subprocess.DEVNULL)
    if "torch" in engines and subprocess.run([a.torch_python, "-c", "import torch, gguf"],
                                             capture_output=True).returncode != 0:
        print(f"({a.torch_python} has no torch or gguf: no PyTorch column)", flush=True)
        engines.discard("torch")
    check = same_function(f32, here, onnx_dir, a.torch_python, engines, s["vocab"])
    p = matrix_params(s)
    # (format, engine, how to run it, weight bytes read per token when the engine does not say)
    plan = [("f32", "ember", ("ember", files["f32"], "f32"), None),
            ("f32", "llama.cpp", ("llama.cpp", files["f32"]), files["f32"].stat().st_size),
            ("f32", "torch", ("torch", "f32"), 4 * p),
            ("f32", "onnxruntime", ("onnxruntime", "f32"), 4 * p),
            ("bf16", "ember", ("ember", files["f32"], "bf16"), None),
            ("bf16", "torch", ("torch", "bf16"), 2 * p),
            ("int8 per row", "ember", ("ember", files["f32"], "int8"), None),
            ("int8 per row", "torch", ("torch", "int8"), p),
            ("int8 per row", "onnxruntime", ("onnxruntime", "int8"), p),
            ("Q8_0", "ember", ("ember", files["Q8_0"], "auto"), None),
            ("Q8_0", "llama.cpp", ("llama.cpp", files["Q8_0"]), files["Q8_0"].stat().st_size),
            ("Q4_0 / int4 b32", "ember", ("ember", files["Q4_0"], "auto"), None),
            ("Q4_0 / int4 b32", "llama.cpp", ("llama.cpp", files["Q4_0"]), files["Q4_0"].stat().st_size),
            ("Q4_0 / int4 b32", "onnxruntime", ("onnxruntime", "int4"), p * 20 // 32),
            ("Q4_K_M", "ember", ("ember", files["Q4_K_M"], "auto"), None),
            ("Q4_K_M", "llama.cpp", ("llama.cpp", files["Q4_K_M"]), files["Q4_K_M"].stat().st_size)]
    rows = []
    for t in (1, 2):
        ceiling = stream_gbs(d, t)
        print(f"--- {t} thread(s): read bandwidth ceiling {ceiling:.1f} GB/s", flush=True)
        for fmt, engine, how, nbytes in plan:
            if engine not in engines:
                continue
            r = None
            if how[0] == "ember":
                r = ember_times(a.ember, how[1], t, how[2])
                nbytes = r["bytes"]
            elif how[0] == "llama.cpp":
                lp, ld = llama_cpp_times(how[1], t, s["vocab"])
                r = dict(prompt=lp, decode=ld)
            elif how[0] == "torch":
                j = last_json([a.torch_python, str(here / "torch_llama.py"), str(f32), "--threads", str(t),
                               "--dtype", how[1]])
                r = j and dict(prompt=j["prompt_tok_s"], decode=j["decode_tok_s"])
            else:
                j = last_json([sys.executable, str(here / "onnx_llama.py"), "time", str(onnx_dir / f"{how[1]}.onnx"),
                               "--threads", str(t)])
                r = j and dict(prompt=j["prompt_tok_s"], decode=j["decode_tok_s"])
            if r is None:
                continue
            frac = r["decode"] * nbytes / (ceiling * 1e9)
            rows.append(dict(format=fmt, engine=engine, threads=t, decode_tok_s=r["decode"], prompt_tok_s=r["prompt"],
                             weight_bytes=nbytes, read_gb_s=ceiling, decode_bandwidth_fraction=frac,
                             **{k: v for k, v in r.items() if k not in ("prompt", "decode", "bytes")}))
            print(f"{fmt:16} {engine:12} {t}t  decode {r['decode']:7.1f} tok/s ({frac:4.0%} of bandwidth)  "
                  f"prompt {r['prompt']:7.1f} tok/s", flush=True)
    print_ratios(rows)
    result = dict(shape=a.shape, llama_cpp=llama_cpp.__version__, f32_logits_vs_llama_cpp=check, rows=rows)
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


def print_ratios(rows):
    """Ember tok/s over each peer's, per format and thread count (higher is better)."""
    print("\nEmber tok/s / peer tok/s (decode, prompt); above 1 Ember is faster:")
    for r in rows:
        if r["engine"] == "ember":
            continue
        e = next((x for x in rows if x["engine"] == "ember" and x["format"] == r["format"] and
                  x["threads"] == r["threads"]), None)
        if e:
            print(f"  {r['format']:16} {r['threads']}t vs {r['engine']:12} decode {e['decode_tok_s'] / r['decode_tok_s']:5.2f}"
                  f"  prompt {e['prompt_tok_s'] / r['prompt_tok_s']:5.2f}")


if __name__ == "__main__":
    sys.exit(main())
