"""torch.special functions from Python, Ember against PyTorch (issue 14).

Each function on one float32 tensor of 2^20 elements drawn from its usual domain; every
configuration in a fresh process (`--child LIB THREADS`), the libraries alternating, median of
7 calls per process. Prints a Markdown table of medians over rounds and the Ember/torch ratio.

    PYTHONPATH=python python3 bench/python_special_bench.py [--rounds 3] [--only ndtri,...]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

# name -> (function path under torch.special, low, high)
CASES = {
    "ndtri": ("ndtri", 1e-6, 1 - 1e-6),
    "log_ndtr": ("log_ndtr", -20.0, 5.0),
    "erfcx": ("erfcx", -5.0, 30.0),
    "modified_bessel_k0": ("modified_bessel_k0", 0.01, 30.0),
    "modified_bessel_k1": ("modified_bessel_k1", 0.01, 30.0),
    "scaled_modified_bessel_k0": ("scaled_modified_bessel_k0", 0.01, 30.0),
    "bessel_j0": ("bessel_j0", -30.0, 30.0),
    "airy_ai": ("airy_ai", -10.0, 10.0),
}


def child(lib, threads, only):
    if lib == "torch":
        import torch
    else:
        import ember as torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    for name in only:
        fn, lo, hi = CASES[name]
        x = torch.rand(1 << 20) * (hi - lo) + lo
        f = getattr(torch.special, fn)
        f(x)
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            f(x)
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times) * 1e3
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    only = a.only.split(",")
    if a.child:
        return child(a.child[0], int(a.child[1]), only)
    runs = {}
    for r in range(a.rounds):
        for threads in (1, 2):
            for lib in ("ember", "torch"):
                cmd = [sys.executable, __file__, "--only", a.only, "--child", lib, str(threads)]
                res = json.loads(subprocess.check_output(cmd).decode().strip().splitlines()[-1])
                for k, v in res.items():
                    runs.setdefault((k, threads, lib), []).append(v)
    print("| function | threads | Ember ms | torch ms | ratio |")
    print("|---|---|---|---|---|")
    for name in only:
        for threads in (1, 2):
            e = statistics.median(runs[(name, threads, "ember")])
            t = statistics.median(runs[(name, threads, "torch")])
            print(f"| `{name}` | {threads} | {e:.2f} | {t:.2f} | {e / t:.2f} |")


if __name__ == "__main__":
    main()
