#!/usr/bin/env bash
# Runs `ember bench` and bench/torch_bench.py (PyTorch, installed with pip if missing) on the
# same machine, at 1 and 2 threads, and prints one table of ratios. Optional: ONLY=matmul,mlp
# limits the workloads; OUT=dir keeps the JSON results (default: bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
ONLY="${ONLY:-matmul,bf16,conv,mlp,gpt2,nanogpt,elementwise,overhead}"
OUT="${OUT:-bench/results}"
mkdir -p "$OUT"
python3 -c "import torch, transformers" 2>/dev/null || pip install torch transformers numpy
cargo build --release -q
for t in 1 2; do
  echo "== Ember, $t thread(s)"
  ./target/release/ember --threads "$t" bench --only "$ONLY" --json | tee "$OUT/ember-${t}t.log" | tail -n 1 > "$OUT/ember-${t}t.json"
  echo "== PyTorch, $t thread(s)"
  python3 bench/torch_bench.py --threads "$t" --only "$ONLY" --json "$OUT/torch-${t}t.json" | tee "$OUT/torch-${t}t.log"
done
python3 bench/compare.py "$OUT/ember-1t.json" "$OUT/torch-1t.json" "$OUT/ember-2t.json" "$OUT/torch-2t.json"
