"""Runs every snippet of python/tests/cases.py under torch and under ember, live, and prints
the ones that differ. For developers (needs torch and an installed ember); CI uses the
committed fixture instead.

    python tools/parity.py [substring]
"""

import sys
import pathlib

import torch
import ember

TESTS = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

from _harness import diff, run_case  # noqa: E402
from cases import CASES  # noqa: E402


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    bad = 0
    names = [n for n in CASES if pattern in n]
    for name in names:
        want = run_case(CASES[name], torch)
        got = run_case(CASES[name], ember)
        d = diff(got, want)
        if d:
            bad += 1
            print(f"{name}: {d}")
    print(f"{len(names) - bad}/{len(names)} agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
