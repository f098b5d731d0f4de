#!/usr/bin/env bash
# Installs banger's dependencies from Debian's archive and builds banger
# (build/banger, with build/banger-agent beside it). Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
echo "install: build/banger is ready ($(build/banger version))"
