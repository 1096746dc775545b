"""CPU inference side by side: Ember against llama.cpp on the same GGUF files.

Builds a random-weight Llama-family model (default: a Qwen2-0.5B-like body, ~0.4B parameters
with a 32k vocabulary) as an f32 GGUF with the `gguf` package, quantises it with llama.cpp's
own quantiser (through `llama-cpp-python`) to Q8_0, Q4_0 and Q4_K_M, then times on each file,
at 1 and 2 threads: llama.cpp (prompt of 128 tokens, then 64 decoded tokens) and
`ember bench --model FILE` (the same). Prints a table and writes JSON. Run by
`scripts/bench-inference.sh`, which installs the engines; not part of CI.
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


def ember_times(ember, path, threads):
    out = subprocess.run([ember, "--threads", str(threads), "bench", "--model", str(path), "--json"],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["gguf_prompt_tok_s"], r["gguf_decode_tok_s"], r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", required=True, help="path of the ember binary")
    ap.add_argument("--shape", default="0.5b", choices=sorted(SHAPES))
    ap.add_argument("--dir", default=os.path.expanduser("~/.cache/ember/bench-inference"))
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    import llama_cpp

    s = SHAPES[a.shape]
    d = pathlib.Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    f32 = d / f"{a.shape}-f32.gguf"
    if not f32.exists():
        print(f"writing {f32}", flush=True)
        write_f32(f32, s)
    files = {}
    for name, ftype in [("Q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0), ("Q4_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0),
                        ("Q4_K_M", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M)]:
        files[name] = d / f"{a.shape}-{name}.gguf"
        if not files[name].exists():
            print(f"quantising {files[name]}", flush=True)
            quantize(f32, files[name], ftype)
    rows = []
    for name, path in files.items():
        for t in (1, 2):
            lp, ld = llama_cpp_times(path, t, s["vocab"])
            ep, ed, er = ember_times(a.ember, path, t)
            rows.append(dict(file=name, threads=t, llama_cpp_prompt_tok_s=lp, llama_cpp_decode_tok_s=ld,
                             ember_prompt_tok_s=ep, ember_decode_tok_s=ed, ember_ttft_s=er["gguf_ttft_s"],
                             ember_load_s=er["gguf_load_s"], ember_peak_rss_mib=er["gguf_peak_rss_mib"]))
            print(f"{name:7} {t}t  decode tok/s: ember {ed:7.1f}  llama.cpp {ld:7.1f}  ratio {ed / ld:5.2f}   "
                  f"prompt tok/s: ember {ep:7.1f}  llama.cpp {lp:7.1f}  ratio {ep / lp:5.2f}   "
                  f"ember load {er['gguf_load_s']:.2f} s, peak RSS {er['gguf_peak_rss_mib']:.0f} MiB", flush=True)
    result = dict(shape=a.shape, llama_cpp=llama_cpp.__version__, rows=rows)
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
