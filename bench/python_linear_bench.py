#!/usr/bin/env python3
"""nn.Linear forward (`x @ W.t()`, a column-major right operand) from Python, Ember against
PyTorch, same machine, same run, each configuration in a fresh process.

    python bench/python_linear_bench.py [--rounds 3]

Shapes: batch rows m in (16, 128) by in_features 512 by out_features (512, 768, 1024), and
the MLP step of bench/python_bench.py's first layer shape. Median of 200 calls after warm-up.
"""

import argparse
import importlib
import json
import subprocess
import sys
import time

SHAPES = [(m, 512, n) for m in (16, 128) for n in (512, 768, 1024)] + [(16, 1024, 1024), (128, 768, 3072)]


def one(lib, threads):
    torch = importlib.import_module(lib)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    for m, k, n in SHAPES:
        lin = torch.nn.Linear(k, n)
        x = torch.randn(m, k)
        with torch.no_grad():
            for _ in range(20):
                lin(x)
            ts = []
            for _ in range(200):
                t = time.perf_counter()
                lin(x)
                ts.append(time.perf_counter() - t)
        ts.sort()
        out[f"{m}x{k}x{n}"] = ts[len(ts) // 2] * 1e6
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    a = p.parse_args()
    if a.lib:
        print(json.dumps(one(a.lib, a.threads)))
        return
    for r in range(a.rounds):
        for threads in (1, 2):
            res = {}
            for lib in ("torch", "ember"):
                cmd = [sys.executable, __file__, "--lib", lib, "--threads", str(threads)]
                res[lib] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            cells = [f"{k}: {res['ember'][k]:.0f} vs {res['torch'][k]:.0f} us ({res['ember'][k] / res['torch'][k]:.2f})" for k in res["ember"]]
            print(f"round {r + 1}, {threads} thread(s): " + "; ".join(cells))


if __name__ == "__main__":
    main()
