"""The Python examples (examples/python/), run as a user runs them, at a small size, must reach
a stated quality: the MNIST CNN of pytorch/examples >= 98% test accuracy after one epoch; the
char-level GPT on Shakespeare a validation loss below 2.5 after 300 steps (it starts at 4.4;
`ember train char` reaches 1.8 at 1000); the word-level LSTM LM a validation perplexity below
300 after one epoch over the first 20,000 lines."""

import pathlib
import re
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"


def run(name, *args):
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_mnist_cnn_one_epoch_reaches_98_percent():
    out = run("mnist_cnn.py", "--epochs", "1", "--log-interval", "1000")
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert accuracy >= 0.98, out


def test_char_gpt_learns_shakespeare():
    out = run("char_gpt.py", "--steps", "300", "--eval-every", "300", "--eval-iters", "10", "--sample", "100")
    first = float(re.search(r"step 0: train loss [0-9.]+, val loss ([0-9.]+)", out).group(1))
    last = float(re.search(r"val loss ([0-9.]+)\n", out.split("time:")[1]).group(1))
    assert first > 4.0 and last < 2.5, out


def test_lstm_language_model_learns():
    out = run("lstm_lm.py", "--epochs", "1", "--max-lines", "20000", "--log-interval", "1000")
    ppl = float(re.search(r"best valid ppl ([0-9.]+)", out).group(1))
    assert ppl < 300, out
