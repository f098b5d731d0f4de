#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, then
#   1. the lint stage (scripts/lint.sh: clang-format, clang-tidy, luacheck and
#      the shell checker; warnings are errors),
#   2. every test through ctest (Catch2 host tests, Lua specs, CLI tests, and
#      end-to-end tests that start a real docker-registry on loopback and boot
#      real VMs),
#   3. the sanitizer suite (scripts/sanitize.sh: ASan + UBSan, what boots no VM),
#   4. each fuzz target for a bounded time (scripts/fuzz.sh, BANGER_FUZZ_SECONDS).
# Arguments go to the ctest of stage 2.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BANGER_WERROR=ON ./scripts/build.sh
cmake --build build --target banger_tests -j"$(nproc)"
./scripts/lint.sh
# Heavy fixtures (the Debian rootfs tarball, the cloud kernel) are cached here
# across runs; a fresh clone builds them once.
export BANGER_TEST_CACHE="${BANGER_TEST_CACHE:-$PWD/build/test-cache}"
mkdir -p "$BANGER_TEST_CACHE"
(cd build && ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@")
BANGER_WERROR=ON ./scripts/sanitize.sh
./scripts/fuzz.sh "${BANGER_FUZZ_SECONDS:-60}"
