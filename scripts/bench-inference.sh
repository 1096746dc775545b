#!/usr/bin/env bash
# CPU inference against llama.cpp, ONNX Runtime and PyTorch on the same weights
# (bench/inference_bench.py): installs llama.cpp (the `llama-cpp-python` source package,
# compiled here for this CPU), ONNX Runtime and the `gguf` package into a cached venv, writes a
# random-weight Llama-family model (SHAPE=0.5b, the default, or tiny), quantises it with
# llama.cpp to Q8_0, Q4_0 and Q4_K_M, builds it as ONNX (f32, int8, int4) and in eager PyTorch
# (f32, bf16, int8; TORCH_PYTHON names a Python with torch, default python3; no torch, no
# column), measures the machine's read bandwidth (bench/stream_read.c), and times prompt and
# decode in every engine at 1 and 2 threads. Not part of CI (many minutes, and compiler runs).
# OUT=dir keeps the JSON (default: bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE="${SHAPE:-0.5b}"
OUT="${OUT:-bench/results}"
VENV="${EMBER_BENCH_VENV:-$HOME/.cache/ember/bench-venv}"
mkdir -p "$OUT"
if ! "$VENV/bin/python" -c "import llama_cpp, gguf, onnx, onnx_ir, onnxruntime" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" "$VENV/bin/pip" install -q llama-cpp-python gguf numpy
  "$VENV/bin/pip" install -q onnx onnx_ir onnxruntime
fi
cargo build --release -q -p ember-cli
lscpu | grep -E "Model name" || true
"$VENV/bin/python" bench/inference_bench.py --ember target/release/ember --shape "$SHAPE" \
  --json "$OUT/inference-$SHAPE.json" 2> >(grep -v "^\[\|^llama_model_quantize\|^INFO\|^WARNING" >&2)
