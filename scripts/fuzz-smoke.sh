#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets without sanitizers (works on stable) and runs
# each for SECONDS (default 60) from the committed seed corpus, printing executions per second.
# Needs cargo-fuzz (installed here if missing). Not part of CI: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1  # cargo-fuzz passes -Z flags; stable accepts them with this
cargo fuzz build -s none -O
for t in safetensors pt idx config_json gguf; do
  work="fuzz/corpus-run/$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== $t (${SECONDS_PER_TARGET}s)"
  log=$(mktemp)
  if ! cargo fuzz run -s none -O "$t" "$work" -- -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -30 "$log"; echo "FAILED: $t"; exit 1
  fi
  grep -E "^#[0-9]+.*(DONE|exec/s)" "$log" | tail -1
done
