#!/usr/bin/env python3
"""Prints Ember vs PyTorch as one table of ratios (Ember time / PyTorch time; lower is better).

Usage: python3 bench/compare.py ember-1t.json torch-1t.json [ember-2t.json torch-2t.json ...]
Each pair of files is one thread count. Throughputs (GFLOP/s, tok/s) are converted to times.
"""
import json, sys

ROWS = [
    # (key, label, kind): kind "ms" = time, "rate" = higher is better (ratio = torch/ember)
    ("matmul_f32_128_gflops", "matmul f32 N=128", "rate"),
    ("matmul_f32_256_gflops", "matmul f32 N=256", "rate"),
    ("matmul_f32_512_gflops", "matmul f32 N=512", "rate"),
    ("matmul_f32_1024_gflops", "matmul f32 N=1024", "rate"),
    ("matmul_f32_2048_gflops", "matmul f32 N=2048", "rate"),
    ("matmul_bf16_1024_gflops", "matmul bf16 N=1024", "rate"),
    ("matmul_bf16_2048_gflops", "matmul bf16 N=2048", "rate"),
    ("conv2d_fwd_ms", "conv2d forward", "ms"),
    ("conv2d_fwd_bwd_ms", "conv2d forward+backward", "ms"),
    ("mlp_fwd_ms", "MLP forward", "ms"),
    ("mlp_step_ms", "MLP training step (Adam)", "ms"),
    ("nanogpt_step_ms", "nanoGPT-char training step", "ms"),
    ("lstm_fwd_bwd_ms", "LSTM 2L h512 seq64 b32 fwd+bwd", "ms"),
    ("lstm_fwd_ms", "LSTM 2L h512 seq64 b32 forward", "ms"),
    ("gru_fwd_bwd_ms", "GRU 2L h512 seq64 b32 fwd+bwd", "ms"),
    ("transformer_enc_fwd_bwd_ms", "TransformerEncoder 6L d256 seq128 b16 fwd+bwd", "ms"),
    ("dcgan_gen_fwd_bwd_ms", "DCGAN generator b64 64x64 fwd+bwd", "ms"),
    ("gpt2_prompt128_ms", "GPT-2 small, 128-token prompt", "ms"),
    ("gpt2_decode_tok_s", "GPT-2 small decode (tok/s)", "rate"),
    ("gpt2_decode_bf16_tok_s", "GPT-2 decode, Ember bf16 vs PyTorch f32 (tok/s)", "rate_vs:gpt2_decode_tok_s"),
    ("gpt2_decode_int8_tok_s", "GPT-2 decode, Ember int8 vs PyTorch f32 (tok/s)", "rate_vs:gpt2_decode_tok_s"),
    ("gelu16M_ms", "GELU 16M (allocating)", "ms"),
    ("gelu_tanh16M_ms", "GELU-tanh 16M (allocating)", "ms"),
    ("add16M_ms", "add 16M (torch: out=, ember: allocating)", "ms"),
    ("softmax4096_ms", "softmax 4096x4096 (allocating)", "ms"),
    ("tiny_add_x10000_ms", "tiny op overhead (10k adds)", "ms"),
]


def fmt(v, kind):
    if v is None:
        return "-"
    return f"{v:.3g}" + (" ms" if kind == "ms" else "")


def main(paths):
    pairs = [(json.load(open(paths[i])), json.load(open(paths[i + 1]))) for i in range(0, len(paths), 2)]
    head = "| workload |" + "".join(f" Ember {p[0].get('threads')}t | PyTorch {p[1].get('threads')}t | ratio |" for p in pairs)
    print(head)
    print("|---|" + "---|---|---|" * len(pairs))
    for key, label, kind in ROWS:
        cells = []
        for e, t in pairs:
            tkey = kind.split(":", 1)[1] if kind.startswith("rate_vs:") else key
            ev, tv = e.get(key), t.get(tkey)
            if ev is None or tv is None:
                cells.append(f" {fmt(ev, kind)} | {fmt(tv, kind)} | - |")
                continue
            ratio = ev / tv if kind == "ms" else tv / ev  # rates: time ratio = torch rate / ember rate
            cells.append(f" {fmt(ev, kind)} | {fmt(tv, kind)} | {ratio:.2f} |")
        print(f"| {label} |" + "".join(cells))
    print("\nratio = Ember time / PyTorch time on the same machine in the same run (lower is better).")


if __name__ == "__main__":
    if len(sys.argv) < 3 or len(sys.argv) % 2 == 0:
        sys.exit(__doc__)
    main(sys.argv[1:])
