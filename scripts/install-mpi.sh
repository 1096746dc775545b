#!/usr/bin/env bash
# Installs what the MPI build and the multi-process tests need, when missing: Open MPI (the
# `mpirun` launcher and the development files rsmpi builds against) and libclang (rsmpi's
# bindings are generated at build time). Debian/Ubuntu packages; a no-op once installed.
set -euo pipefail
have_libclang() {
  ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* /usr/lib/aarch64-linux-gnu/libclang*.so* >/dev/null 2>&1
}
if command -v mpirun >/dev/null && command -v mpicc >/dev/null && have_libclang; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Open MPI and libclang (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev libclang-dev >/dev/null
