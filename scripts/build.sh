#!/usr/bin/env bash
# Configures and builds banger into build/ (binary: build/banger).
# BANGER_WERROR=ON (CI) makes compiler warnings errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBANGER_WERROR="${BANGER_WERROR:-OFF}" >/dev/null
cmake --build build -j"$(nproc)"
