#!/usr/bin/env python3
"""nanoGPT's own model.py (python/tests/programs/nanogpt/model.py, unchanged), Ember against
PyTorch: the training step of train.py (get_batch from a uint16 memmap, forward, backward,
clip_grad_norm_, AdamW from configure_optimizers) at the size README.md gives for CPUs (4 layers,
128 wide, 4 heads, context 64, batch 12) and a smaller one (2 layers, 64 wide), dropout 0.0 and
0.2. Each configuration in a fresh process, libraries alternating; the median step of 40 after
10 warm-up steps, and the median of the rounds.

    PYTHONPATH=python python bench/python_nanogpt_bench.py [--rounds 3] [--threads 1,2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "cpu-readme": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0),
    "cpu-readme-dropout": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.2),
    "small": dict(n_layer=2, n_head=4, n_embd=64, block_size=64, batch_size=12, dropout=0.0),
}


def child(lib, threads, name, data):
    if lib == "ember":
        import ember.compat
        ember.compat.install()
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.join(ROOT, "python", "tests", "programs", "nanogpt"))
    from model import GPT, GPTConfig
    c = CONFIGS[name]
    torch.manual_seed(0)
    m = GPT(GPTConfig(block_size=c["block_size"], vocab_size=77, n_layer=c["n_layer"], n_head=c["n_head"],
                      n_embd=c["n_embd"], dropout=c["dropout"], bias=False))
    opt = m.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    B, T = c["batch_size"], c["block_size"]

    def step():
        d = np.memmap(data, dtype=np.uint16, mode="r")
        ix = torch.randint(len(d) - T, (B,))
        x = torch.stack([torch.from_numpy((d[i:i + T]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((d[i + 1:i + 1 + T]).astype(np.int64)) for i in ix])
        _, loss = m(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(10):
        step()
    ts = []
    for _ in range(40):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    print(json.dumps({"ms": 1000 * statistics.median(ts)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--only", default=",".join(CONFIGS))
    p.add_argument("--child", nargs=4)
    a = p.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]), a.child[2], a.child[3])
        return
    import numpy as np
    data = os.path.join(tempfile.mkdtemp(), "train.bin")
    np.random.default_rng(0).integers(0, 77, 200_000).astype(np.uint16).tofile(data)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    rows = []
    for name in a.only.split(","):
        for t in [int(x) for x in a.threads.split(",")]:
            got = {"ember": [], "torch": []}
            for r in range(a.rounds):
                for lib in ("ember", "torch"):
                    out = subprocess.run([sys.executable, __file__, "--child", lib, str(t), name, data], env=env,
                                         capture_output=True, text=True, check=True).stdout
                    got[lib].append(json.loads(out.strip().splitlines()[-1])["ms"])
            e, tt = statistics.median(got["ember"]), statistics.median(got["torch"])
            per = ", ".join(f"{x:.1f}/{y:.1f}" for x, y in zip(got["ember"], got["torch"]))
            rows.append(f"| {name} | {t} | {e:.1f} | {tt:.1f} | {e / tt:.2f} | {per} |")
            print(rows[-1], flush=True)
    print("| config | threads | Ember ms | torch ms | ratio | rounds (Ember/torch) |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
