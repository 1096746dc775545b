"""Writes python/tests/fixtures/tensorboard_events.json: the bytes of every event file that
PyTorch's ``torch.utils.tensorboard.SummaryWriter`` (with the ``tensorboard`` package) writes for
the calls in python/tests/tensorboard_script.py, the clock fixed at 1000.0 s. Needs torch and
tensorboard; CI only reads the committed file.

    python3 tools/gen_tensorboard_fixture.py
"""

import json
import pathlib
import sys
import tempfile
from unittest import mock

import tensorboard
import torch
import torch.utils.tensorboard  # noqa: F401

TESTS = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

import tensorboard_script  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as root, mock.patch("time.time", return_value=1000.0):
        tensorboard_script.run(torch, root)
        files = tensorboard_script.event_files(root)
    out = {"torch_version": torch.__version__, "tensorboard_version": tensorboard.__version__,
           "files": {k: v.hex() for k, v in sorted(files.items())}}
    path = TESTS / "fixtures" / "tensorboard_events.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(files)} event files to {path}")


if __name__ == "__main__":
    main()
