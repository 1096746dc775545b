#!/usr/bin/env python3
"""Training programs from Python, Ember against PyTorch: the same example code
(examples/python/), the same machine, alternating runs, each in a fresh process.

    python bench/python_train_bench.py                    # 3 rounds, 1 and 2 threads, a table
    python bench/python_train_bench.py --rounds 1 --only gpt,lstm

Workloads (the models of examples/python/, with their data and optimisers):
  mnist     the pytorch/examples MNIST CNN (batch 64, Adadelta): ms per training batch, and the
            epoch it implies (938 batches)
  gpt       the char-level GPT (4 layers, 128 wide, context 128, batch 32, AdamW, clipping): ms
            per training step
  lstm      the word-level LSTM LM (2 x 200, batch 20, bptt 35, vocab 10k, clipping, SGD): ms
            per batch
  loader    DataLoader throughput over 20k MNIST-sized samples with per-sample normalisation and
            a random flip, batch 64: samples per second with 0 and 2 workers
Timing: warm-up steps, then the median over the timed steps; the table shows the median of the
rounds and the ratio Ember / torch (time; for throughput, torch / Ember).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "python")


def _median_time(step, warmup, steps):
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def work_mnist(torch, ex):
    ds = ex.MNIST(ex.DATA, True, 64 * 40)
    loader = ex.DataLoader(ds, batch_size=64, shuffle=True)
    model = ex.Net()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    batches = iter([b for b in loader])
    model.train()

    def step():
        data, target = next(batches)
        opt.zero_grad()
        loss = ex.F.nll_loss(model(data), target)
        loss.backward()
        opt.step()

    ms = _median_time(step, 5, 30) * 1000
    return {"mnist_ms_per_batch": ms, "mnist_epoch_s": ms * 938 / 1000}


def work_gpt(torch, ex):
    model = ex.GPT(ex.GPTConfig(128, 84, 4, 4, 128))
    opt = model.configure_optimizers(0.1, 2e-3, (0.9, 0.99))

    def step():
        x = torch.randint(0, 84, (32, 128))
        y = torch.randint(0, 84, (32, 128))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return {"gpt_ms_per_step": _median_time(step, 3, 12) * 1000}


def work_lstm(torch, ex):
    ntokens = 10000
    model = ex.RNNModel("LSTM", ntokens, 200, 200, 2, 0.2)
    criterion = torch.nn.NLLLoss()
    hidden = [model.init_hidden(20)]
    model.train()

    def step():
        data = torch.randint(0, ntokens, (35, 20))
        targets = torch.randint(0, ntokens, (35 * 20,))
        model.zero_grad()
        h = ex.repackage_hidden(hidden[0])
        output, hidden[0] = model(data, h)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-20)

    return {"lstm_ms_per_batch": _median_time(step, 3, 20) * 1000}


def work_loader(torch, ex):
    images = torch.rand(20000, 1, 28, 28)
    labels = torch.randint(0, 10, (20000,))

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            x = (images[i] - 0.1307) / 0.3081
            if torch.rand(1).item() < 0.5:
                x = x.flip(-1)
            return x, labels[i]

    out = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(Images(), batch_size=64, shuffle=True, num_workers=workers)
        for i, _ in enumerate(loader):  # warm-up: workers started, first batches
            if i == 5:
                break
        t0 = time.perf_counter()
        n = sum(len(b[1]) for b in loader)
        out[f"loader_{workers}w_samples_per_s"] = n / (time.perf_counter() - t0)
    return out


WORKLOADS = {"mnist": ("mnist_cnn", work_mnist), "gpt": ("char_gpt", work_gpt), "lstm": ("lstm_lm", work_lstm),
             "loader": ("mnist_cnn", work_loader)}


def child(lib, threads, names):
    """One configuration in this process: import the examples as their own scripts do."""
    sys.path.insert(0, EXAMPLES)
    if lib == "torch":
        sys.argv = [sys.argv[0], "--torch"]
    else:
        sys.argv = [sys.argv[0]]
    import importlib
    out = {"lib": lib, "threads": threads}
    for name in names:
        module, fn = WORKLOADS[name]
        ex = importlib.import_module(module)
        torch = ex.torch
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        out.update(fn(torch, ex))
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--only", default=",".join(WORKLOADS))
    p.add_argument("--child", nargs=2, metavar=("LIB", "THREADS"))
    p.add_argument("--json", help="write every run's numbers here")
    args = p.parse_args()
    names = args.only.split(",")
    if args.child:
        child(args.child[0], int(args.child[1]), names)
        return
    runs = []
    for r in range(args.rounds):
        for threads in [int(t) for t in args.threads.split(",")]:
            for lib in ("ember", "torch"):
                env = dict(os.environ, OMP_NUM_THREADS=str(threads), EMBER_NUM_THREADS=str(threads))
                res = subprocess.run([sys.executable, __file__, "--child", lib, str(threads), "--only", args.only],
                                     capture_output=True, text=True, env=env, timeout=3600)
                if res.returncode != 0:
                    print(res.stderr[-2000:], file=sys.stderr)
                    continue
                runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
                print(f"round {r + 1} {lib} {threads}t: {runs[-1]}", file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    keys = [k for k in runs[0] if k not in ("lib", "threads")]
    print("| workload | threads | Ember | torch | ratio |")
    print("|---|---|---|---|---|")
    for k in keys:
        for threads in sorted({r["threads"] for r in runs}):
            e = statistics.median(r[k] for r in runs if r["lib"] == "ember" and r["threads"] == threads and k in r)
            t = statistics.median(r[k] for r in runs if r["lib"] == "torch" and r["threads"] == threads and k in r)
            ratio = t / e if k.endswith("per_s") else e / t
            print(f"| {k} | {threads} | {e:.1f} | {t:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
