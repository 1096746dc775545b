"""Writes python/tests/fixtures/torch_cases.json (what PyTorch gives for every snippet in
python/tests/cases.py) and python/tests/fixtures/torch_nn_cases.json (the ``torch.nn`` snippets of
cases_nn.py). Needs torch; CI only reads the committed files.

    python3 tools/gen_python_fixtures.py          # both
    python3 tools/gen_python_fixtures.py --nn     # only the nn cases
"""

import json
import pathlib
import sys

import torch

TESTS = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

from _harness import run_case  # noqa: E402
from cases import CASES  # noqa: E402


def write(name, cases, prelude=""):
    torch.manual_seed(0)
    out = {"torch_version": torch.__version__,
           "cases": {n: run_case(prelude + code, torch) for n, code in cases.items()}}
    path = TESTS / "fixtures" / name
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out['cases'])} cases to {path}")


def main():
    import cases_nn
    if "--nn" not in sys.argv:
        write("torch_cases.json", CASES)
    write("torch_nn_cases.json", cases_nn.CASES, cases_nn.PRELUDE)


if __name__ == "__main__":
    main()
