"""PyTorch side of scripts/bench-inference.sh: the Llama-family model of an f32 GGUF file (as
bench/inference_bench.py writes it) in eager PyTorch, timed as llama.cpp and Ember are (a
128-token prompt whose last position's logits are computed, then 64 decoded tokens with a KV
cache; median of 3 after a warm-up), with weights in f32, bf16, or int8 (`quantize_dynamic`:
per-channel int8 `nn.Linear`, fbgemm, which is what PyTorch offers for int8 CPU inference).

The model is written out here (not `transformers`) so it runs the same function as llama.cpp on
the same file: GGUF "llama" rotary embedding on adjacent pairs, RMSNorm, SwiGLU, grouped-query
attention through `F.scaled_dot_product_attention`, the head tied to the token table.

    python3 bench/torch_llama.py FILE.gguf --threads 1 --dtype f32 [--logits out.npy]

prints one JSON object (tok/s) on its last line; `--logits` also writes the prompt's last-row
logits for the script's cross-check against llama.cpp and ONNX Runtime.
"""

import argparse
import json
import statistics
import sys
import time

import gguf
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def field(reader, key):
    f = reader.fields[key]
    return f.parts[f.data[0]].tolist()[0]


class Layer(nn.Module):
    def __init__(self, d, heads, kv, ffn):
        super().__init__()
        hd = d // heads
        self.heads, self.kv, self.hd = heads, kv, hd
        self.attn_norm, self.ffn_norm = nn.RMSNorm(d, eps=1e-6), nn.RMSNorm(d, eps=1e-6)
        self.q, self.k = nn.Linear(d, d, bias=False), nn.Linear(d, kv * hd, bias=False)
        self.v, self.o = nn.Linear(d, kv * hd, bias=False), nn.Linear(d, d, bias=False)
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, cache, pos):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(b, t, self.heads, self.hd).transpose(1, 2)  # [B, H, T, hd]
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        kc, vc = cache
        kc[:, :, pos:pos + t] = k
        vc[:, :, pos:pos + t] = v
        k, v = kc[:, :, :pos + t], vc[:, :, :pos + t]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1, enable_gqa=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, t, -1))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rope(x, cos, sin):
    # GGUF "llama" rope: pairs (x[2i], x[2i+1]) rotated by pos * base^(-2i / hd).
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class Model(nn.Module):
    def __init__(self, path):
        super().__init__()
        r = gguf.GGUFReader(path)
        d = field(r, "llama.embedding_length")
        self.heads = field(r, "llama.attention.head_count")
        kv = field(r, "llama.attention.head_count_kv")
        ffn = field(r, "llama.feed_forward_length")
        n = field(r, "llama.block_count")
        base = field(r, "llama.rope.freq_base")
        t = {x.name: torch.from_numpy(np.array(x.data, dtype=np.float32)) for x in r.tensors}
        self.embed = nn.Embedding.from_pretrained(t["token_embd.weight"])
        self.layers = nn.ModuleList(Layer(d, self.heads, kv, ffn) for _ in range(n))
        names = dict(attn_norm="attn_norm", ffn_norm="ffn_norm", q="attn_q", k="attn_k", v="attn_v",
                     o="attn_output", gate="ffn_gate", up="ffn_up", down="ffn_down")
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                for ours, theirs in names.items():
                    getattr(layer, ours).weight.copy_(t[f"blk.{i}.{theirs}.weight"])
        self.norm = nn.RMSNorm(d, eps=1e-6)
        with torch.no_grad():
            self.norm.weight.copy_(t["output_norm.weight"])
        self.head = nn.Linear(d, t["token_embd.weight"].shape[0], bias=False)  # tied: same values
        with torch.no_grad():
            self.head.weight.copy_(t["token_embd.weight"])
        self.kv, self.hd = kv, d // self.heads
        self.inv_freq = base ** (-torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd)

    def new_cache(self, n, dtype):
        return [(torch.zeros(1, self.kv, n, self.hd, dtype=dtype), torch.zeros(1, self.kv, n, self.hd, dtype=dtype))
                for _ in self.layers]

    def forward(self, ids, cache, pos):
        x = self.embed(ids).to(self.norm.weight.dtype)
        ang = torch.arange(pos, pos + ids.shape[1], dtype=torch.float64)[:, None] * self.inv_freq
        cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
        for layer, c in zip(self.layers, cache):
            x = layer(x, cos, sin, c, pos)
        return self.head(self.norm(x[:, -1:]))  # [B, 1, V]: the last position only


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16", "int8"])
    ap.add_argument("--logits", help="write the prompt's last-row logits (.npy)")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = Model(a.gguf).eval()
    dtype = torch.float32
    if a.dtype == "bf16":
        model, dtype = model.to(torch.bfloat16), torch.bfloat16
    elif a.dtype == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    vocab = model.embed.weight.shape[0]
    prompt = torch.from_numpy(np.random.default_rng(1).integers(3, vocab, a.prompt_len))[None]
    ps, ds = [], []
    with torch.inference_mode():
        for run in range(4):
            cache = model.new_cache(a.prompt_len + a.new, dtype)
            t0 = time.perf_counter()
            logits = model(prompt, cache, 0)
            p = time.perf_counter() - t0
            if run == 0 and a.logits:
                np.save(a.logits, logits[0, -1].float().numpy())
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            for i in range(a.new):
                nxt = model(nxt, cache, a.prompt_len + i)[:, -1].argmax(-1, keepdim=True)
            if run:
                ps.append(p)
                ds.append(time.perf_counter() - t0)
    print(json.dumps(dict(torch=torch.__version__, dtype=a.dtype, threads=a.threads,
                          prompt_tok_s=a.prompt_len / statistics.median(ps),
                          decode_tok_s=a.new / statistics.median(ds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
