#!/usr/bin/env bash
# Benchmark: `banger image pull` against the classic pipeline and against the
# decompression floor, side by side in one run, on the same image served by a
# local docker-registry. Prints medians and ratios (not a pass/fail test).
#
#   bench/pull_bench.sh [runs]        (default 3 runs each; needs root for umoci unpack)
#
# The image: Debian bookworm minbase + openssh-server + python3-minimal, one
# gzip layer (~78 MB; ~209 MB unpacked), built with mmdebstrap once and cached
# in $BANGER_BENCH_CACHE (default build/bench-cache).
#   banger:  banger image pull 127.0.0.1:PORT/bench/debian:bookworm (cold cache)
#   classic: skopeo copy -> OCI dir; umoci unpack; mkfs.ext4 -d rootfs
#   floor:   zcat of the layer blob to /dev/null
# Also: a 20,000-entry directory, banger vs mkfs.ext4 -d.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
banger=${BANGER_BIN:-$PWD/build/banger}
cache=${BANGER_BENCH_CACHE:-$PWD/build/bench-cache}
mkdir -p "$cache"
work=$(mktemp -d /tmp/banger-bench-XXXXXX)
reg_pid=""
cleanup() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/install-deps.sh)" >&2; exit 1; }; }
for t in mmdebstrap umoci skopeo docker-registry mkfs.ext4 zcat; do need "$t"; done
[ -x "$banger" ] || { echo "bench: build banger first (scripts/build.sh)" >&2; exit 1; }

# --- the image ---------------------------------------------------------------
rootfs_tar=$cache/debian-bookworm-bench.tar
if [ ! -s "$rootfs_tar" ]; then
  echo "bench: building the Debian rootfs with mmdebstrap (once)"
  mmdebstrap --quiet --variant=minbase --format=tar --include=openssh-server,python3-minimal bookworm "$rootfs_tar.tmp"
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
layout=$cache/layout-debian
if [ ! -d "$layout" ]; then
  umoci init --layout "$layout.tmp"
  umoci new --image "$layout.tmp:bookworm"
  umoci raw add-layer --image "$layout.tmp:bookworm" "$rootfs_tar"
  mv "$layout.tmp" "$layout"
fi
# A 20,000-entry directory as a second image.
wide_tar=$cache/wide.tar
if [ ! -s "$wide_tar" ]; then
  mkdir -p "$work/wide/many"
  (cd "$work/wide/many" && seq 1 20000 | sed 's/^/file-/' | xargs touch)
  tar -C "$work/wide" -cf "$wide_tar" .
  rm -rf "$work/wide"
fi
wide_layout=$cache/layout-wide
if [ ! -d "$wide_layout" ]; then
  umoci init --layout "$wide_layout.tmp"
  umoci new --image "$wide_layout.tmp:v1"
  umoci raw add-layer --image "$wide_layout.tmp:v1" "$wide_tar"
  mv "$wide_layout.tmp" "$wide_layout"
fi

# --- the registry --------------------------------------------------------------
port=$(( 20000 + RANDOM % 30000 ))
cat > "$work/reg.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/reg-data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
YML
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci:$layout:bookworm" "docker://127.0.0.1:$port/bench/debian:bookworm"
skopeo copy -q --dest-tls-verify=false "oci:$wide_layout:v1" "docker://127.0.0.1:$port/bench/wide:v1"
ref=127.0.0.1:$port/bench/debian:bookworm

# --- measurements ----------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_banger() {  # $1 ref; prints seconds; peak RSS (KiB) to $work/rss
  local home=$work/home-$RANDOM
  local t0 t1
  t0=$(now)
  BANGER_HOME=$home /usr/bin/time -f %M -o "$work/rss" "$banger" image pull "$1" --name bench >/dev/null 2>"$work/banger.err" \
    || { cat "$work/banger.err" >&2; exit 1; }
  t1=$(now)
  rm -rf "$home"
  echo "$t1 - $t0" | bc
}

run_classic() {  # $1 registry ref; $2 tag
  local d=$work/classic-$RANDOM t0 t1
  mkdir -p "$d"
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$d/oci:$2"
  umoci unpack --image "$d/oci:$2" "$d/bundle" >/dev/null
  local bytes
  bytes=$(du -sb "$d/bundle/rootfs" | cut -f1)
  local size=$(( bytes * 5 / 4 ))
  [ $size -lt $((1 << 30)) ] && size=$((1 << 30))
  truncate -s $size "$d/root.ext4"
  mkfs.ext4 -q -F -d "$d/bundle/rootfs" "$d/root.ext4" >/dev/null
  t1=$(now)
  rm -rf "$d"
  echo "$t1 - $t0" | bc
}

run_floor() {
  local t0 t1 blob
  blob=$(find "$layout/blobs/sha256" -type f -size +10M | head -1)
  t0=$(now)
  zcat "$blob" >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc
}

echo "bench: $runs runs each, image $ref"
b=(); c=(); f=(); rss=()
for _ in $(seq "$runs"); do
  b+=("$(run_banger "$ref")"); rss+=("$(cat "$work/rss")")
  c+=("$(run_classic "$ref" bookworm)")
  f+=("$(run_floor)")
done
mb=$(printf '%s\n' "${b[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)
mf=$(printf '%s\n' "${f[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)

wb=(); wc=()
for _ in $(seq "$runs"); do
  wb+=("$(run_banger "127.0.0.1:$port/bench/wide:v1")")
  wc+=("$(run_classic "127.0.0.1:$port/bench/wide:v1" v1)")
done
mwb=$(printf '%s\n' "${wb[@]}" | median)
mwc=$(printf '%s\n' "${wc[@]}" | median)

printf '\n%-44s %8s\n' "debian bookworm (~209 MB rootfs)" "median s"
printf '%-44s %8.2f\n' "banger image pull" "$mb"
printf '%-44s %8.2f\n' "classic: skopeo copy + umoci unpack + mkfs" "$mc"
printf '%-44s %8.2f\n' "floor: zcat of the layer" "$mf"
printf '%-44s %8.2fx  (target >= 5x)\n' "speed-up vs classic" "$(echo "$mc / $mb" | bc -l)"
printf '%-44s %8.2fx  (target <= 1.5x)\n' "banger / decompression floor" "$(echo "$mb / $mf" | bc -l)"
printf '%-44s %8d MiB (target < 256 MiB)\n' "banger peak RSS" "$((peak / 1024))"
printf '\n%-44s %8s\n' "20,000-entry directory" "median s"
printf '%-44s %8.2f\n' "banger image pull" "$mwb"
printf '%-44s %8.2f\n' "classic pipeline" "$mwc"
printf '%-44s %8.2fx\n' "speed-up vs classic" "$(echo "$mwc / $mwb" | bc -l)"
