"""Converts the tiny Llama test checkpoint (crates/ember-models/tests/fixtures/tiny-llama,
Hugging Face layout) to GGUF as llama.cpp's convert_hf_to_gguf.py does: llama.cpp's tensor
names, q/k rows permuted for its rope layout, Llama 3 rope scaling as a `rope_freqs` tensor.
Writes `model.gguf` (f32), `model-q8_0.gguf` (2-D weights in Q8_0) and `model-q4_0.gguf`
(Q4_0, the embedding and output tables in Q4_1) next to it. Needs
`pip install gguf numpy`; CI only reads the outputs."""

import json
import math
import pathlib
import struct

import gguf
import numpy as np

DIR = pathlib.Path(__file__).resolve().parents[1] / "crates/ember-models/tests/fixtures/tiny-llama"


def read_safetensors(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    dt = {"F32": np.float32, "F64": np.float64, "F16": np.float16}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(data[s:e], dtype=dt[v["dtype"]]).reshape(v["shape"]).astype(np.float32)
    return out


def permute(w, n_head, n_head_kv):
    # llama.cpp's LlamaModel.permute: rope pairs (i, i + d/2) become neighbours.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


cfg = json.loads((DIR / "config.json").read_text())
sd = read_safetensors(DIR / "model.safetensors")
n_head, n_kv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
head_dim = cfg["head_dim"]
rp = cfg["rope_parameters"]

# Llama 3 rope scaling as convert_hf_to_gguf writes it: one factor per frequency.
base = rp["rope_theta"]
freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
factor, lo, hi, old = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"], rp["original_max_position_embeddings"]
lo_wl, hi_wl = old / lo, old / hi
factors = []
for f in freqs:
    wl = 2 * math.pi / f
    if wl < hi_wl:
        factors.append(1.0)
    elif wl > lo_wl:
        factors.append(factor)
    else:
        smooth = (old / wl - lo) / (hi - lo)
        factors.append(1 / ((1 - smooth) / factor + smooth))

names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
         "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def write(path, qtype, table_qtype=None):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("llama.context_length", cfg["max_position_embeddings"])
    w.add_uint32("llama.embedding_length", d)
    w.add_uint32("llama.block_count", cfg["num_hidden_layers"])
    w.add_uint32("llama.feed_forward_length", cfg["intermediate_size"])
    w.add_uint32("llama.attention.head_count", n_head)
    w.add_uint32("llama.attention.head_count_kv", n_kv)
    w.add_uint32("llama.attention.key_length", head_dim)
    w.add_uint32("llama.attention.value_length", head_dim)
    w.add_uint32("llama.rope.dimension_count", head_dim)
    w.add_float32("llama.rope.freq_base", base)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
    w.add_uint32("llama.vocab_size", cfg["vocab_size"])

    def add(name, x):
        if qtype is not None and x.ndim == 2 and x.shape[1] % 32 == 0:
            # Real quantised files mix types: the tables in a second type here.
            t = table_qtype if table_qtype is not None and name in ("token_embd.weight", "output.weight") else qtype
            q = gguf.quants.quantize(x, t)
            w.add_tensor(name, q, raw_shape=list(q.shape), raw_dtype=t)
        else:
            w.add_tensor(name, x.astype(np.float32))

    add("token_embd.weight", sd["model.embed_tokens.weight"])
    add("rope_freqs.weight", np.array(factors, dtype=np.float32))
    for i in range(cfg["num_hidden_layers"]):
        for hf, g in names.items():
            x = sd[f"model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                x = permute(x, n_head, n_head)
            elif hf == "self_attn.k_proj":
                x = permute(x, n_head, n_kv)
            add(f"blk.{i}.{g}.weight", x)
    add("output_norm.weight", sd["model.norm.weight"])
    add("output.weight", sd["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


write(DIR / "model.gguf", None)
write(DIR / "model-q8_0.gguf", gguf.GGMLQuantizationType.Q8_0)
write(DIR / "model-q4_0.gguf", gguf.GGMLQuantizationType.Q4_0, gguf.GGMLQuantizationType.Q4_1)
print("wrote", DIR)
