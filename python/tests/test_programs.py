"""PyTorch programs as their authors wrote them (abridged versions of pytorch/examples' VAE,
actor-critic, time-sequence prediction with L-BFGS, super-resolution, DCGAN, and a GCN; in
programs/), run unmodified under `python -m ember.compat`: each must run to the end, pass its own
checks and learn (its loss falls, or its return rises). The same files run on PyTorch."""

import pathlib
import subprocess
import sys

import pytest

PROGRAMS = pathlib.Path(__file__).parent / "programs"


@pytest.mark.parametrize("name", sorted(p.stem for p in PROGRAMS.glob("*.py")))
def test_program_runs_unmodified(name):
    r = subprocess.run([sys.executable, "-m", "ember.compat", str(PROGRAMS / f"{name}.py")], capture_output=True,
                       text=True, timeout=600, cwd=PROGRAMS)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT"))
    first, last = (float(v) for v in line.split()[1:3])
    if name == "actor_critic":
        assert last > first, line
    elif name != "dcgan":
        assert last < first, line
