"""Writes crates/ember-io/tests/fixtures/gguf/: `tiny.gguf` (written by llama.cpp's `gguf`
Python package: metadata of every value type, tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_1,
Q4_K, Q5_K, Q6_K, Q5_0 and Q5_1) and `expected.json` (each tensor's row-major shape and values as the
package dequantises them). Needs `pip install gguf numpy`; CI only reads the outputs."""

import json
import pathlib

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

OUT = pathlib.Path(__file__).resolve().parents[1] / "crates/ember-io/tests/fixtures/gguf"
rng = np.random.default_rng(0)

w = gguf.GGUFWriter(str(OUT / "tiny.gguf"), "llama")
w.add_uint32("test.u32", 7)
w.add_int32("test.i32", -3)
w.add_float32("test.f32", 0.5)
w.add_bool("test.bool", True)
w.add_string("test.string", "héllo")
w.add_array("test.array", [1, 2, 3])
w.add_array("test.strings", ["a", "bc"])
w.add_uint64("test.u64", 1 << 40)
w.add_float64("test.f64", -2.25)
w.add_int8("test.i8", -5)
w.add_uint16("test.u16", 65535)

expected = {}


def raw_blocks(qtype, n_blocks):
    """Random blocks of a K-quant type with sane f16 scales (the package cannot quantise to them)."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    scale = rng.uniform(0.01, 0.1, size=(n_blocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q6_K:
        b[:, -2:] = scale[:, :2]  # d is last
    else:
        b[:, :4] = scale  # d, dmin first
    return b


def add(name, shape, qtype):
    n = int(np.prod(shape))
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        raw = raw_blocks(qtype, n // 256).reshape(shape[0], -1)  # rows of bytes
        values = gguf.quants.dequantize(raw, qtype)
        w.add_tensor(name, raw, raw_shape=list(raw.shape), raw_dtype=qtype)
    else:
        x = rng.standard_normal(size=shape).astype(np.float32)
        if qtype == Q.F32:
            w.add_tensor(name, x)
            values = x
        elif qtype == Q.F16:
            w.add_tensor(name, x.astype(np.float16))
            values = x.astype(np.float16).astype(np.float32)
        else:
            q = gguf.quants.quantize(x, qtype)
            w.add_tensor(name, q, raw_shape=list(q.shape), raw_dtype=qtype)
            values = gguf.quants.dequantize(q, qtype)
    expected[name] = {"shape": list(shape), "type": qtype.name,
                      "values": [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]}


add("f32", (3, 4), Q.F32)
add("f16", (2, 5), Q.F16)
add("bf16", (2, 32), Q.BF16)
add("q8_0", (2, 64), Q.Q8_0)
add("q4_0", (3, 32), Q.Q4_0)
add("q4_1", (2, 32), Q.Q4_1)
add("q4_k", (2, 256), Q.Q4_K)
add("q5_k", (1, 512), Q.Q5_K)
add("q6_k", (2, 256), Q.Q6_K)
add("q5_0", (2, 64), Q.Q5_0)
add("q5_1", (3, 32), Q.Q5_1)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
(OUT / "expected.json").write_text(json.dumps(expected))
print("wrote", OUT)
