#!/usr/bin/env bash
# The project's test command (README, CI). Runs every crate's tests in the test profile
# (optimised: numeric tests are too slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets "$@"
