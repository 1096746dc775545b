#!/usr/bin/env bash
# Distributed benchmarks for docs/PERFORMANCE.md (needs Open MPI: scripts/install-mpi.sh).
# ROUNDS rounds (default 5), raw MPI and Ember alternating so both see the same machine state;
# prints the per-size median of each, and the DDP overlap: a GPT training step at
# 2 processes x 1 thread (DDP) against 1 process x 1 thread with the per-process batch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
cargo build --release -q -p ember-distributed --features mpi --example dist_bench
B=target/release/examples/dist_bench
export EMBER_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RUN="mpirun --oversubscribe -np 2"
OUT=$(mktemp)
for _ in $(seq "$ROUNDS"); do
  $RUN $B allreduce raw >>"$OUT"
  $RUN $B allreduce ember >>"$OUT"
  $B ddp 8 --no-ddp | sed 's/^/step1 /' >>"$OUT"
  $RUN $B ddp 8 | sed 's/^/step2 /' >>"$OUT"
done
python3 - "$OUT" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
us = {}
for r in rows:
    if r[0] in ("raw", "ember"):
        us.setdefault((int(r[1]), r[0]), []).append(float(r[3]))
print("| bytes | raw MPI_Allreduce (us) | Ember DDP path (us) | Ember bandwidth / raw |")
print("|---|---|---|---|")
for n in sorted({k[0] for k in us}):
    a, b = statistics.median(us[(n, "raw")]), statistics.median(us[(n, "ember")])
    print(f"| {n} | {a:.1f} ({n / a / 1e3:.2f} GB/s) | {b:.1f} ({n / b / 1e3:.2f} GB/s) | {a / b:.2f} |")
s1 = [float(r[-5]) for r in rows if r[0] == "step1"]
s2 = [float(r[-5]) for r in rows if r[0] == "step2"]
m1, m2 = statistics.median(s1), statistics.median(s2)
print(f"\nGPT step (4L d256 ctx64, 3.2M params), batch 8 per process: 1 process {m1:.1f} ms, "
      f"2 processes DDP {m2:.1f} ms, ratio {m2 / m1:.2f} (rounds: {s1} / {s2})")
PY
rm -f "$OUT"
