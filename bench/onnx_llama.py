"""ONNX Runtime side of scripts/bench-inference.sh: the Llama-family model of an f32 GGUF file
(as bench/inference_bench.py writes it) as an ONNX graph built the way ONNX Runtime's own
generative-AI model builder builds one for CPU: `SimplifiedLayerNormalization` (RMSNorm), one
`MatMul` per projection, and the `GroupQueryAttention` contrib operator (rotary embedding, KV
cache and grouped-query attention in one fused kernel), the head tied to the token table and
run on the last position only. Weights: f32; int8 (`quantize_dynamic`, per-channel int8
weights, int8 activations quantised at run time); int4 (`MatMulNBits`, blocks of 32 with a
scale each, accuracy level 4 = int8 activations, ORT's fast CPU int4 path, as the model
builder's `int4` for CPU).

    python bench/onnx_llama.py build FILE.gguf DIR        # writes DIR/{f32,int8,int4}.onnx
    python bench/onnx_llama.py time DIR/f32.onnx --threads 1 [--logits out.npy]

`time` prints one JSON object (tok/s) on its last line, measured as llama.cpp and Ember are
(128-token prompt, then 64 decoded tokens; median of 3 after a warm-up).
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

import gguf
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def field(reader, key):
    f = reader.fields[key]
    return f.parts[f.data[0]].tolist()[0]


def build(path, out_dir, max_len=512):
    r = gguf.GGUFReader(path)
    d = field(r, "llama.embedding_length")
    heads = field(r, "llama.attention.head_count")
    kv = field(r, "llama.attention.head_count_kv")
    n = field(r, "llama.block_count")
    base = field(r, "llama.rope.freq_base")
    hd = d // heads
    t = {x.name: np.array(x.data, dtype=np.float32) for x in r.tensors}
    inits, nodes = [], []

    def init(name, a):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def node(op, ins, outs, domain="", **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=outs[0] + "_node", domain=domain or None, **attrs))
        return outs[0]

    def matmul(x, w, name):  # x @ w.T, the weight stored [in, out] as MatMul wants it
        return node("MatMul", [x, init(name + ".weight", w.T)], [name + ".out"])

    def rmsnorm(x, w, name):
        return node("SimplifiedLayerNormalization", [x, init(name + ".weight", w)], [name + ".out"],
                    axis=-1, epsilon=1e-6, stash_type=1)

    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(max_len, dtype=np.float64)[:, None] * inv  # [max_len, hd/2]
    init("cos_cache", np.cos(ang).astype(np.float32))
    init("sin_cache", np.sin(ang).astype(np.float32))
    x = node("Gather", [init("embed", t["token_embd.weight"]), "input_ids"], ["embed.out"])
    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "S"])]
    outs = []
    for i in range(n):
        p = f"blk.{i}."
        h = rmsnorm(x, t[p + "attn_norm.weight"], p + "attn_norm")
        q = matmul(h, t[p + "attn_q.weight"], p + "q")
        k = matmul(h, t[p + "attn_k.weight"], p + "k")
        v = matmul(h, t[p + "attn_v.weight"], p + "v")
        pk, pv = f"past_key_values.{i}.key", f"past_key_values.{i}.value"
        ins += [helper.make_tensor_value_info(nm, TensorProto.FLOAT, [1, kv, "P", hd]) for nm in (pk, pv)]
        ck, cv = f"present.{i}.key", f"present.{i}.value"
        outs += [helper.make_tensor_value_info(nm, TensorProto.FLOAT, [1, kv, "T", hd]) for nm in (ck, cv)]
        # GGUF "llama" rope rotates adjacent pairs: rotary_interleaved=1.
        y = node("GroupQueryAttention", [q, k, v, pk, pv, "seqlens_k", "total_sequence_length", "cos_cache",
                                         "sin_cache"], [p + "attn.out", ck, cv], domain="com.microsoft",
                 num_heads=heads, kv_num_heads=kv, do_rotary=1, rotary_interleaved=1, scale=float(hd ** -0.5))
        x = node("Add", [x, matmul(y, t[p + "attn_output.weight"], p + "o")], [p + "res1"])
        h = rmsnorm(x, t[p + "ffn_norm.weight"], p + "ffn_norm")
        g = matmul(h, t[p + "ffn_gate.weight"], p + "gate")
        u = matmul(h, t[p + "ffn_up.weight"], p + "up")
        s = node("Mul", [g, node("Sigmoid", [g], [p + "sig"])], [p + "silu"])
        x = node("Add", [x, matmul(node("Mul", [s, u], [p + "swiglu"]), t[p + "ffn_down.weight"], p + "down")],
                 [p + "res2"])
    last = node("Slice", [x, init("minus1", np.array([-1], np.int64)), init("big", np.array([1 << 62], np.int64)),
                          init("axis1", np.array([1], np.int64))], ["last"])
    logits = matmul(rmsnorm(last, t["output_norm.weight"], "norm"), t["token_embd.weight"], "head")
    nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits_node"))
    ins += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
            helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, t["token_embd.weight"].shape[0]])] + outs
    graph = helper.make_graph(nodes, "llama", ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.onnx*"):  # external data files are appended to, never replaced
        old.unlink()
    f32 = out / "f32.onnx"
    onnx.save_model(model, str(f32), save_as_external_data=True, location="f32.onnx.data")
    del model, graph, inits
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantize_dynamic(str(f32), str(out / "int8.onnx"), op_types_to_quantize=["MatMul"], per_channel=True,
                     weight_type=QuantType.QInt8, use_external_data_format=True,
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})
    q = MatMulNBitsQuantizer(onnx.load(str(f32)), bits=4, block_size=32, is_symmetric=True, accuracy_level=4)
    q.process()
    q.model.save_model_to_file(str(out / "int4.onnx"), use_external_data_format=True)


def times(path, threads, prompt_len=128, n_new=64, logits_out=None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    past = [i for i in sess.get_inputs() if i.name.startswith("past_key_values.")]
    kv, hd = past[0].shape[1], past[0].shape[3]
    vocab = sess.get_outputs()[0].shape[2]
    prompt = np.random.default_rng(1).integers(3, vocab, prompt_len)[None].astype(np.int64)

    def step(ids, cache, pos):
        feed = {"input_ids": ids, "seqlens_k": np.array([pos + ids.shape[1] - 1], np.int32),
                "total_sequence_length": np.array(pos + ids.shape[1], np.int32)}
        feed.update(zip([p.name for p in past], cache))
        res = sess.run(None, feed)
        return res[0], res[1:]

    ps, ds = [], []
    for run in range(4):
        cache = [np.zeros((1, kv, 0, hd), np.float32) for _ in past]
        t0 = time.perf_counter()
        logits, cache = step(prompt, cache, 0)
        p = time.perf_counter() - t0
        if run == 0 and logits_out:
            np.save(logits_out, logits[0, -1])
        nxt = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
        t0 = time.perf_counter()
        for i in range(n_new):
            logits, cache = step(nxt, cache, prompt_len + i)
            nxt = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
        if run:
            ps.append(p)
            ds.append(time.perf_counter() - t0)
    return dict(onnxruntime=ort.__version__, threads=threads, prompt_tok_s=prompt_len / statistics.median(ps),
                decode_tok_s=n_new / statistics.median(ds))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("gguf")
    b.add_argument("dir")
    t = sub.add_parser("time")
    t.add_argument("model")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--logits")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.gguf, a.dir)
    else:
        print(json.dumps(times(a.model, a.threads, logits_out=a.logits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
