#!/usr/bin/env bash
# The project's test command (README, CI). Runs every crate's tests in the test profile
# (optimised: numeric tests are too slow unoptimised), after fetching and caching the real
# model weights some tests use (scripts/fetch-models.sh; a no-op once cached) and installing
# Open MPI when missing (scripts/install-mpi.sh); then the multi-process tests (`mpirun -np 2`,
# the `mpi` feature), then builds the Python wheel (with MPI) and runs its pytest suite
# (scripts/test-python.sh; its venv is cached too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
scripts/install-mpi.sh
# Open MPI refuses to start as root unless told this is intended (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo test --workspace --all-targets "$@"
cargo test -p ember-distributed --features mpi --test mpi "$@"
cargo test -p ember-cli --features mpi --test mpi "$@"
scripts/test-python.sh
