"""Writes python/tests/fixtures/torch_cases.json: what PyTorch gives for every snippet in
python/tests/cases.py. Needs torch; CI only reads the committed file.

    python3 tools/gen_python_fixtures.py
"""

import json
import pathlib
import sys

import torch

TESTS = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

from _harness import run_case  # noqa: E402
from cases import CASES  # noqa: E402


def main():
    torch.manual_seed(0)
    out = {"torch_version": torch.__version__,
           "cases": {name: run_case(code, torch) for name, code in CASES.items()}}
    path = TESTS / "fixtures" / "torch_cases.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out['cases'])} cases to {path}")


if __name__ == "__main__":
    main()
