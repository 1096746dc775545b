"""The ``SummaryWriter`` calls whose event files tools/gen_tensorboard_fixture.py records under
PyTorch (``torch.utils.tensorboard``) and test_tensorboard.py repeats under Ember; ``lib`` is
``torch`` or ``ember``. The clock is fixed by the caller (``time.time``), so every byte of
every file is determined by the calls."""

import importlib
import math
import os
import pathlib

import numpy as np


def values():
    # 64 numbers spanning signs, zero and three decades, as exact float32 values.
    return [round(math.sin(i * 1.7) * 10 ** (i % 3 - 1), 4) for i in range(64)] + [0.0]


def run(lib, log_dir):
    SummaryWriter = importlib.import_module(lib.__name__ + ".utils.tensorboard").SummaryWriter
    v = values()
    with SummaryWriter(log_dir) as w:
        w.add_scalar("loss", 0.5, 1, walltime=100.0)
        w.add_scalar("loss", lib.tensor(0.25), 2, walltime=101.0)
        w.add_scalar("zero", 0.0, 0, walltime=102.0)
        w.add_scalar("neg/step", -3.25, -1, walltime=102.5)
        w.add_scalar("new", 1.5, 3, walltime=103.0, new_style=True)
        w.add_scalar("new64", 1.5, 3, walltime=103.5, new_style=True, double_precision=True)
        w.add_scalar("np", np.float64(2.0), 4)
        w.add_histogram("hist/tf", lib.tensor(v), 4, walltime=104.0)
        w.add_histogram("hist/auto", np.array(v), 5, bins="auto", walltime=105.0)
        w.add_histogram("hist/max_bins", np.array(v), 5, bins=30, max_bins=7, walltime=105.5)
        w.add_histogram("hist/one", lib.tensor([3.0]), 5, walltime=105.7)
        w.add_histogram_raw("raw", min=-1.0, max=2.0, num=6, sum=3.0, sum_squares=9.5,
                            bucket_limits=[-0.5, 0.5, 2.0], bucket_counts=[1, 2, 3], global_step=6, walltime=106.0)
        w.add_text("note", "hello, \u00fcn\u00efcode text", 7, walltime=107.0)
        w.add_tensor("t/f32", lib.tensor([[1.5, -2.0], [0.0, 4.25]]), 8, walltime=108.0)
        w.add_tensor("t/f64", lib.tensor([1.0, 2.5], dtype=lib.float64), 8, walltime=108.1)
        w.add_tensor("t/i64", lib.tensor([1, -2, 3]), 8, walltime=108.2)
        w.add_tensor("t/i32", lib.tensor([7, -8], dtype=lib.int32), 8, walltime=108.3)
        w.add_tensor("t/bool", lib.tensor([True, False, True]), 8, walltime=108.4)
        w.add_tensor("t/f16", lib.tensor([0.5, -1.0], dtype=lib.float16), 8, walltime=108.5)
        labels = np.array([i % 3 == 0 for i in range(40)])
        preds = np.array([(i * 37 % 40) / 40.0 for i in range(40)])
        w.add_pr_curve("pr", labels, preds, 9, num_thresholds=10, walltime=109.0)
        w.add_pr_curve("pr/weighted", lib.tensor(labels.tolist()), lib.tensor(preds.tolist()), 9, walltime=109.5,
                       weights=np.linspace(0.5, 1.5, 40))
        w.add_audio("sound", lib.tensor([math.sin(i / 3.0) * 0.8 for i in range(200)]), 10, sample_rate=8000,
                    walltime=110.0)
        w.add_custom_scalars({"cat": {"lines": ["Multiline", ["loss", "zero"]],
                                      "margin": ["Margin", ["loss", "lo", "hi"]]}})
        w.add_custom_scalars_multilinechart(["a", "b"], category="c2", title="t2")
        w.add_scalars("group/x", {"a": 1.0, "b": -2.0}, 11, walltime=111.0)
        w.add_scalars("group/x", {"a": 1.5}, 12, walltime=112.0)
        w.add_hparams({"lr": 0.1, "bs": 32, "opt": "adam", "flag": True, "skip": None},
                      {"hp/acc": 0.9, "hp/loss": 0.25}, hparam_domain_discrete={"opt": ["adam", "sgd"], "bs": [16, 32]},
                      run_name="run1", global_step=13)
    with SummaryWriter(log_dir + "/purged", purge_step=5) as w:
        w.add_scalar("after", 1.0, 5, walltime=120.0)


def event_files(root):
    """{directory relative to root: bytes of its one event file}."""
    out = {}
    for d, _, files in os.walk(root):
        events = [f for f in files if f.startswith("events.out.tfevents.")]
        assert len(events) <= 1, (d, events)
        if events:
            out[os.path.relpath(d, root)] = pathlib.Path(d, events[0]).read_bytes()
    return out
