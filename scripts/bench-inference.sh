#!/usr/bin/env bash
# CPU inference against llama.cpp on the same GGUF files (bench/inference_bench.py): installs
# llama.cpp (the `llama-cpp-python` source package, compiled here for this CPU) and the `gguf`
# package into a cached venv, writes a random-weight Llama-family model (SHAPE=0.5b, the
# default, or tiny), quantises it with llama.cpp to Q8_0, Q4_0 and Q4_K_M, and times prompt
# and decode in both engines at 1 and 2 threads. Not part of CI (minutes, and a compiler run).
# OUT=dir keeps the JSON (default: bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE="${SHAPE:-0.5b}"
OUT="${OUT:-bench/results}"
VENV="${EMBER_BENCH_VENV:-$HOME/.cache/ember/bench-venv}"
mkdir -p "$OUT"
if ! "$VENV/bin/python" -c "import llama_cpp, gguf" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" "$VENV/bin/pip" install -q llama-cpp-python gguf numpy
fi
cargo build --release -q -p ember-cli
lscpu | grep -E "Model name" || true
"$VENV/bin/python" bench/inference_bench.py --ember target/release/ember --shape "$SHAPE" \
  --json "$OUT/inference-$SHAPE.json" 2> >(grep -v "^\[\|^llama_model_quantize" >&2)
