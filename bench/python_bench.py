#!/usr/bin/env python3
"""Ember from Python against PyTorch, same program, same machine, same run.

    python bench/python_bench.py                 # both libraries, 1 and 2 threads, a table
    python bench/python_bench.py --lib ember --threads 1   # one configuration, JSON on stdout

Needs torch and an installed ember (scripts/test-python.sh builds the wheel into target/wheels;
`pip install target/wheels/ember-*.whl`). Workloads:
  overhead  10k `a + b` on 1-element tensors (per-op cost of a Python call into the library)
  mlp       784-512-512-10 MLP, batch 128: forward, cross-entropy, backward, SGD update, written
            with tensor ops only (the same code for both libraries)
  topk      topk(k=50) of [8, 50257] logits (a GPT sampler's top-k)
  sort      sort of 1M float32
  multinomial  one sample from each row of [8, 50257] probabilities (a GPT sampler's draw)
  einsum    'bhqd,bhkd->bhqk' on [4, 12, 128, 64] (attention scores), and the same as q @ k.transpose
  linalg    solve(A, b), inv, det, svd, eigh of 256x256 float32 (A + 16 I; A + A^T for eigh), and
            a batched solve of 64 8x8 systems
  sparse    torch.sparse.mm of a 10k-node, 100k-edge graph (coalesced COO) by [10k, 64] features,
            and forward + backward to the values and the features (a GCN layer's product)
  import    `python -c "import X"` wall time (fresh process, warm file cache)
  size      the installed package's size on disk, and Ember's wheel
Timing: warm-up, then the median of several samples, each >= ~0.1 s.
"""

import argparse
import glob
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench(fn, samples=9, warmup=3, min_sample_s=0.1):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, math.ceil(min_sample_s / one))
    ts = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
    return statistics.median(ts)


def run_one(lib, threads):
    torch = importlib.import_module(lib)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {"lib": lib, "threads": threads}

    a, b = torch.ones(1), torch.ones(1)

    def tiny():
        for _ in range(10000):
            a + b

    out["overhead_us"] = bench(tiny) / 10000 * 1e6

    def param(*shape):
        return (torch.randn(*shape) * (1.0 / math.sqrt(shape[0]))).requires_grad_()

    w1, b1 = param(784, 512), torch.zeros(512, requires_grad=True)
    w2, b2 = param(512, 512), torch.zeros(512, requires_grad=True)
    w3, b3 = param(512, 10), torch.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2, w3, b3]
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))

    def step():
        h = (x @ w1 + b1).relu()
        h = (h @ w2 + b2).relu()
        logits = h @ w3 + b3
        loss = -logits.log_softmax(1).gather(1, y.unsqueeze(1)).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-0.01)
                p.grad = None
        return loss

    out["mlp_step_ms"] = bench(step) * 1e3

    logits = torch.randn(8, 50257)
    out["topk_ms"] = bench(lambda: logits.topk(50, dim=-1)) * 1e3
    big = torch.randn(1_000_000)
    out["sort_ms"] = bench(lambda: big.sort()) * 1e3
    probs = logits.softmax(-1)
    out["multinomial_ms"] = bench(lambda: torch.multinomial(probs, 1)) * 1e3
    q, k = torch.randn(4, 12, 128, 64), torch.randn(4, 12, 128, 64)
    out["einsum_ms"] = bench(lambda: torch.einsum("bhqd,bhkd->bhqk", q, k)) * 1e3
    out["matmul_form_ms"] = bench(lambda: q @ k.transpose(-2, -1)) * 1e3
    A = torch.randn(256, 256) + 16 * torch.eye(256)
    b = torch.randn(256, 1)
    S = A + A.T
    out["solve_ms"] = bench(lambda: torch.linalg.solve(A, b)) * 1e3
    out["inv_ms"] = bench(lambda: torch.linalg.inv(A)) * 1e3
    out["det_ms"] = bench(lambda: torch.linalg.det(A)) * 1e3
    out["svd_ms"] = bench(lambda: torch.linalg.svd(A)) * 1e3
    out["eigh_ms"] = bench(lambda: torch.linalg.eigh(S)) * 1e3
    As, bs = torch.randn(64, 8, 8) + 4 * torch.eye(8), torch.randn(64, 8, 1)
    out["solve_batched_ms"] = bench(lambda: torch.linalg.solve(As, bs)) * 1e3
    n, e, f = 10_000, 100_000, 64
    adj = torch.sparse_coo_tensor(torch.randint(0, n, (2, e)), torch.rand(e), (n, n)).coalesce()
    x = torch.randn(n, f)
    out["spmm_ms"] = bench(lambda: torch.sparse.mm(adj, x)) * 1e3
    vals, feats = adj.values().detach().clone().requires_grad_(), x.clone().requires_grad_()

    def spmm_step():
        a = torch.sparse_coo_tensor(adj.indices(), vals, (n, n))
        torch.sparse.mm(a, feats).sum().backward()

    out["spmm_fwd_bwd_ms"] = bench(spmm_step) * 1e3
    return out


def import_time(lib):
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {lib}"], check=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            fp = os.path.join(root, f)
            if not os.path.islink(fp):
                total += os.path.getsize(fp)
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib")
    p.add_argument("--threads", type=int)
    p.add_argument("--json", help="write all results here")
    args = p.parse_args()
    if args.lib:
        print(json.dumps(run_one(args.lib, args.threads)))
        return
    rows = {}
    for threads in (1, 2):
        for lib in ("torch", "ember"):
            r = subprocess.run([sys.executable, __file__, "--lib", lib, "--threads", str(threads)],
                               check=True, capture_output=True, text=True)
            rows[(lib, threads)] = json.loads(r.stdout.strip().splitlines()[-1])
    res = {"cpu": _cpu(), "date": time.strftime("%Y-%m-%d"), "runs": list(rows.values())}
    print(f"# {res['cpu']}, {res['date']}; ratio = ember / torch (lower is better)")
    print("| workload | 1 thread | 2 threads |")
    print("|---|---|---|")
    for key, unit in (("overhead_us", "µs/op"), ("mlp_step_ms", "ms"), ("topk_ms", "ms"), ("sort_ms", "ms"),
                      ("multinomial_ms", "ms"), ("einsum_ms", "ms"), ("matmul_form_ms", "ms"), ("solve_ms", "ms"),
                      ("inv_ms", "ms"), ("det_ms", "ms"), ("svd_ms", "ms"), ("eigh_ms", "ms"), ("solve_batched_ms", "ms"),
                      ("spmm_ms", "ms"), ("spmm_fwd_bwd_ms", "ms")):
        cells = []
        for t in (1, 2):
            e, tt = rows[("ember", t)][key], rows[("torch", t)][key]
            cells.append(f"{e:.3g} vs {tt:.3g} {unit}: **{e / tt:.2f}**")
        print(f"| {key} | {cells[0]} | {cells[1]} |")
    imp = {lib: import_time(lib) for lib in ("torch", "ember")}
    res["import_s"] = imp
    print(f"| import | {imp['ember'] * 1e3:.0f} vs {imp['torch'] * 1e3:.0f} ms: **{imp['ember'] / imp['torch']:.2f}** | |")
    sizes = {lib: du(os.path.dirname(importlib.import_module(lib).__file__)) for lib in ("torch", "ember")}
    wheels = glob.glob(os.path.join(ROOT, "target", "wheels", "ember-*.whl"))
    res["installed_bytes"] = sizes
    res["ember_wheel_bytes"] = os.path.getsize(wheels[0]) if wheels else None
    print(f"| installed size | {sizes['ember'] / 2**20:.1f} vs {sizes['torch'] / 2**20:.0f} MiB: **{sizes['ember'] / sizes['torch']:.3f}** | |")
    if wheels:
        print(f"| ember wheel | {res['ember_wheel_bytes'] / 2**20:.1f} MiB | |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
