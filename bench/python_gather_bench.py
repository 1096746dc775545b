"""gather / scatter_add_ from Python against PyTorch: same process, same inputs, medians of 9
after a warm-up call. Outside CI (needs torch).

    PYTHONPATH=python python3 bench/python_gather_bench.py [threads]
"""

import sys
import time

import numpy as np
import torch

import ember


def med(f, n=9):
    f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[n // 2]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    ember.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.random((8, 3, 512, 512), dtype=np.float32)
    tx, ex = torch.from_numpy(x), ember.tensor(x)
    rows = []
    for name, dim in [("gather dim=-1 [8,3,224,224] from [8,3,512,512]", 3), ("gather dim=2", 2)]:
        ii = rng.integers(0, 512, (8, 3, 224, 224))
        ti, ei = torch.from_numpy(ii), ember.tensor(ii)
        rows.append((name, med(lambda: torch.gather(tx, dim, ti)), med(lambda: ember.gather(ex, dim, ei))))
    lg = rng.standard_normal((4096, 1000)).astype(np.float32)
    tg = rng.integers(0, 1000, (4096, 1))
    tlg, elg, ttg, etg = torch.from_numpy(lg), ember.tensor(lg), torch.from_numpy(tg), ember.tensor(tg)
    rows.append(("gather logits[4096,1000] at targets[4096,1]", med(lambda: tlg.gather(1, ttg)),
                 med(lambda: elg.gather(1, etg))))
    src = rng.random((8, 3, 224, 224), dtype=np.float32)
    ii = rng.integers(0, 512, (8, 3, 224, 224))
    ts_, es_, ti, ei = torch.from_numpy(src), ember.tensor(src), torch.from_numpy(ii), ember.tensor(ii)
    rows.append(("zeros + scatter_add_ dim=-1 into [8,3,512,512]",
                 med(lambda: torch.zeros(8, 3, 512, 512).scatter_add_(3, ti, ts_)),
                 med(lambda: ember.zeros(8, 3, 512, 512).scatter_add_(3, ei, es_))))
    print(f"threads={threads}")
    for name, t, e in rows:
        print(f"{name:50s} torch {t * 1e3:8.2f} ms  ember {e * 1e3:8.2f} ms  ratio {e / t:.2f}")


if __name__ == "__main__":
    main()
