#!/usr/bin/env bash
# Installs everything banger needs to build, run and test, from Debian's
# archive. Idempotent: does nothing when every package is present.
# Run as root (or with sudo).
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config dpkg-dev file
  libluajit-5.1-dev libarchive-dev libzstd-dev zlib1g-dev libcurl4-openssl-dev libssl-dev
  libisal-dev libext2fs-dev libspdlog-dev libsqlite3-dev nlohmann-json3-dev libedit-dev libslirp-dev catch2
  # run: the VMM, disk overlays, images built from Debian's archive
  qemu-system-x86 qemu-utils e2fsprogs mmdebstrap apt-utils ca-certificates
  # run: a git repository as a VM's workspace (its file list, its results branch)
  git
  # an unprivileged user's image builds: mmdebstrap's unshare mode maps ids with these
  uidmap
  iproute2 nftables openssh-client busybox-static cpio
  # test: a real registry, real image tools
  docker-registry umoci skopeo openssl curl iputils-ping
  # lint, the sanitizer build and the fuzzers (clang's ASan/UBSan/libFuzzer runtimes)
  clang libclang-rt-14-dev clang-format clang-tidy lua-check shellcheck
  # benchmarks (igzip and zstdcat: the decompression floors pull_bench.sh compares with)
  bc time isal zstd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "  hint: run as root: sudo $0" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
