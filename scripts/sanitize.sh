#!/usr/bin/env bash
# The sanitizer suite: builds banger with clang, ASan and UBSan into
# build-san/ and runs every test that needs no VM there (unit tests, Lua
# specs, CLI tests, registry pulls), plus each fuzz target over its corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
# -O1: ASan's usual level; it compiles faster than -O2 on CI's two cores.
CC=clang CXX=clang++ cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
  -DBANGER_SANITIZE=ON -DBANGER_WERROR="${BANGER_WERROR:-OFF}" >/dev/null
cmake --build build-san -j"$(nproc)"
cmake --build build-san --target banger_tests -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export BANGER_TEST_CACHE="${BANGER_TEST_CACHE:-$PWD/build/test-cache}"
mkdir -p "$BANGER_TEST_CACHE"
cd build-san
# Everything but what boots QEMU or fetches from Debian's archive: those run
# in the main suite, and gain little from sanitizing the host side again.
ctest --output-on-failure --timeout 900 -j"$(nproc)" \
  -E '^(e2e |vm boot: |kernel boot: |kernel pull: |docs: the project sandbox|flatten: the kernel mounts)' "$@"
