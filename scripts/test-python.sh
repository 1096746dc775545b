#!/usr/bin/env bash
# Builds the Python wheel (maturin, release profile) and runs the Python tests (pytest) against
# it, installed into a cached virtual environment: ${EMBER_CACHE:-$HOME/.cache/ember}/venv.
# The environment is created (python3 -m venv; maturin, numpy, pytest from PyPI) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${EMBER_CACHE:-$HOME/.cache/ember}"
VENV="$CACHE/venv"
PY="$VENV/bin/python"
if ! "$PY" -c "import numpy, pytest" 2>/dev/null || [ ! -x "$VENV/bin/maturin" ]; then
  echo "creating the Python test environment in $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet "maturin>=1.7,<2" "numpy>=1.21" "pytest>=7"
fi
rm -rf target/wheels
# With MPI (scripts/install-mpi.sh provides it): test_distributed.py runs under mpirun. The
# wheel links the system's libmpi rather than bundling a copy (`--auditwheel skip`): MPI must
# be the one the launcher (`mpirun`) belongs to.
"$VENV/bin/maturin" build --release --quiet --features mpi --auditwheel skip --interpreter "$PY" --out target/wheels
"$PY" -m pip install --quiet --force-reinstall --no-deps target/wheels/ember-*.whl
# From outside the source tree, so `import ember` is the installed wheel, not python/ember.
cd python/tests
export EMBER_REQUIRE_MPI=1
"$PY" -m pytest -q -p no:cacheprovider "$@" .
