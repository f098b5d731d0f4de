#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test
# (Catch2 host tests, Lua specs, CLI tests, and end-to-end tests that start a
# real docker-registry on loopback and boot real VMs) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cmake --build build --target banger_tests -j"$(nproc)"
# Heavy fixtures (the Debian rootfs tarball, the cloud kernel) are cached here
# across runs; a fresh clone builds them once.
export BANGER_TEST_CACHE="${BANGER_TEST_CACHE:-$PWD/build/test-cache}"
mkdir -p "$BANGER_TEST_CACHE"
cd build
ctest --output-on-failure --timeout 900 "$@"
