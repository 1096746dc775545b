#!/usr/bin/env bash
# The project's test command (README, CI). Runs every crate's tests in the test profile
# (optimised: numeric tests are too slow unoptimised), after fetching and caching the real
# model weights some tests use (scripts/fetch-models.sh; a no-op once cached), then builds the
# Python wheel and runs its pytest suite (scripts/test-python.sh; its venv is cached too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
cargo test --workspace --all-targets "$@"
scripts/test-python.sh
