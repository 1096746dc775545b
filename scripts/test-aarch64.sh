#!/usr/bin/env bash
# Cross-compiles the kernels crate (and the core crate) for aarch64 and runs their tests under
# qemu-aarch64, so the Arm build (NEON through the portable kernels and gemm's NEON
# micro-kernels) is checked on an x86 machine. Installs what it needs when missing: the rustup
# target, Debian's gcc-aarch64-linux-gnu (linker) and qemu-user (runner).
set -euo pipefail
cd "$(dirname "$0")/.."
T=aarch64-unknown-linux-gnu
rustup target list --installed | grep -q "^$T$" || rustup target add "$T"
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get install -y gcc-aarch64-linux-gnu qemu-user
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# qemu-user accepts madvise but ignores it: tests that read the kernel's page backing skip.
export EMBER_EMULATED=1
cargo test --target "$T" -p ember-kernels -p ember-core "$@"
