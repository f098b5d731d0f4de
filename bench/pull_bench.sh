#!/usr/bin/env bash
# Benchmark: `banger image pull` against the decompression floors and the
# classic pipeline, side by side in one run, on images served by a local
# docker-registry. Prints medians and ratios (not a pass/fail test: these
# machines are shared, so only ratios measured in one run mean something).
#
#   bench/pull_bench.sh [runs] [--no-big] [--no-classic]   (default 5 runs; root for umoci unpack)
#
# Images (built once with mmdebstrap, umoci and skopeo; cached in
# $BANGER_BENCH_CACHE, default build/bench-cache):
#   gzip:    Debian bookworm minbase + openssh-server + python3-minimal, one
#            gzip layer (~78 MB; ~209 MB unpacked)
#   zstd:    the same image recompressed with zstd by skopeo
#   3-layer: the same rootfs split into 3 gzip layers of about equal size
#   big:     the rootfs plus 4 more layers, each a copy of it under /opt/copyN
#            (~1 GiB unpacked; peak RSS must stay under 256 MiB)
# Floors, measured in the same runs:
#   igzip -dc / zstdcat of the layer blob to /dev/null (ISA-L, libzstd)
#   3-layer: the slowest layer's igzip -dc + writing the whole tar with fsync
#   classic: skopeo copy -> OCI dir; umoci unpack; mkfs.ext4 -d rootfs
# banger's gzip pull also runs with BANGER_GZIP_ENGINE=zlib (zlib's inflate).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 big=1 classic=1
for a in "$@"; do
  case $a in
    --no-big) big=0 ;;
    --no-classic) classic=0 ;;
    *) runs=$a ;;
  esac
done
banger=${BANGER_BIN:-$PWD/build/banger}
cache=${BANGER_BENCH_CACHE:-$PWD/build/bench-cache}
split=$PWD/bench/lib/split_tar.py
mkdir -p "$cache"
work=$(mktemp -d /tmp/banger-bench-XXXXXX)
reg_pid=""
cleanup() {
  if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/install-deps.sh)" >&2; exit 1; }; }
for t in mmdebstrap umoci skopeo docker-registry mkfs.ext4 igzip zstdcat python3 bc /usr/bin/time; do need "$t"; done
[ -x "$banger" ] || { echo "bench: build banger first (scripts/build.sh)" >&2; exit 1; }

# --- the images ------------------------------------------------------------------
rootfs_tar=$cache/debian-bookworm-bench.tar
if [ ! -s "$rootfs_tar" ]; then
  echo "bench: building the Debian rootfs with mmdebstrap (once)"
  mmdebstrap --quiet --variant=minbase --format=tar --include=openssh-server,python3-minimal bookworm "$rootfs_tar.tmp"
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
make_layout() {  # $1 layout dir, $2 tag, $3... layer tars (umoci gzips them)
  local dir=$1 tag=$2
  shift 2
  [ -d "$dir" ] && return
  echo "bench: making $(basename "$dir") (once)"
  rm -rf "$dir.tmp"
  umoci init --layout "$dir.tmp"
  umoci new --image "$dir.tmp:$tag"
  for l in "$@"; do umoci raw add-layer --image "$dir.tmp:$tag" "$l"; done
  mv "$dir.tmp" "$dir"
}
make_layout "$cache/layout-debian" bookworm "$rootfs_tar"
if [ ! -d "$cache/layout-debian-zstd" ]; then
  rm -rf "$cache/layout-debian-zstd.tmp"
  skopeo copy -q --dest-compress-format zstd "oci:$cache/layout-debian:bookworm" "oci:$cache/layout-debian-zstd.tmp:bookworm"
  mv "$cache/layout-debian-zstd.tmp" "$cache/layout-debian-zstd"
fi
if [ ! -d "$cache/layout-3layer" ]; then
  python3 "$split" "$rootfs_tar" 3 "$work/part"
  make_layout "$cache/layout-3layer" v1 "$work/part1.tar" "$work/part2.tar" "$work/part3.tar"
  rm -f "$work"/part*.tar
fi
if [ "$big" = 1 ] && [ ! -d "$cache/layout-big" ]; then
  copies=()
  for i in 1 2 3 4; do
    python3 "$split" --prefix "opt/copy$i" "$rootfs_tar" "$work/copy$i.tar"
    copies+=("$work/copy$i.tar")
  done
  make_layout "$cache/layout-big" v1 "$rootfs_tar" "${copies[@]}"
  rm -f "${copies[@]}"
fi

# The layer blobs of a layout's image, in order.
layer_blobs() {  # $1 layout, $2 tag
  python3 - "$1" "$2" <<'PY'
import json, sys
d, tag = sys.argv[1], sys.argv[2]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
idx = json.load(open(f"{d}/index.json"))
m = next(m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
for l in json.load(open(blob(m["digest"])))["layers"]:
    print(blob(l["digest"]))
PY
}

# --- the registry ----------------------------------------------------------------
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
reg=127.0.0.1:$port
push() { skopeo copy -q --dest-tls-verify=false "oci:$1" "docker://$reg/$2"; }
push "$cache/layout-debian:bookworm" bench/debian:gzip
push "$cache/layout-debian-zstd:bookworm" bench/debian:zstd
push "$cache/layout-3layer:v1" bench/debian:3layer
[ "$big" = 1 ] && push "$cache/layout-big:v1" bench/debian:big

# --- measurements ------------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A times rss

record() {  # $1 name, $2 seconds, [$3 peak RSS KiB]
  times[$1]+="$2 "
  [ -n "${3:-}" ] && rss[$1]+="$3 "
  return 0
}

pull() {  # $1 name, $2 ref, [env...]: a cold pull into a fresh BANGER_HOME
  local name=$1 ref=$2 home=$work/home-$RANDOM t0 t1
  shift 2
  t0=$(now)
  env "$@" BANGER_HOME="$home" /usr/bin/time -f %M -o "$work/rss" "$banger" image pull "$ref" --name bench \
    >/dev/null 2>"$work/banger.err" || { cat "$work/banger.err" >&2; exit 1; }
  t1=$(now)
  rm -rf "$home"
  record "$name" "$(echo "$t1 - $t0" | bc)" "$(cat "$work/rss")"
}

timed() {  # $1 name, $2... command (output to /dev/null)
  local name=$1 t0 t1
  shift
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  record "$name" "$(echo "$t1 - $t0" | bc)"
}

classic() {  # $1 name, $2 ref
  local d=$work/classic-$RANDOM t0 t1 bytes size
  mkdir -p "$d"
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$2" "oci:$d/oci:t"
  umoci unpack --image "$d/oci:t" "$d/bundle" >/dev/null
  bytes=$(du -sb "$d/bundle/rootfs" | cut -f1)
  size=$(( bytes * 5 / 4 ))
  [ $size -lt $((1 << 30)) ] && size=$((1 << 30))
  truncate -s $size "$d/root.ext4"
  mkfs.ext4 -q -F -d "$d/bundle/rootfs" "$d/root.ext4" >/dev/null
  t1=$(now)
  rm -rf "$d"
  record "$1" "$(echo "$t1 - $t0" | bc)"
}

gzip_blob=$(layer_blobs "$cache/layout-debian" bookworm)
zstd_blob=$(layer_blobs "$cache/layout-debian-zstd" bookworm)
mapfile -t three < <(layer_blobs "$cache/layout-3layer" v1)
write_floor() { dd if="$rootfs_tar" of="$work/written" bs=4M conv=fsync status=none; rm -f "$work/written"; }
three_floor() {  # the slowest of the 3 layers' igzip -dc, then the write floor
  local slowest=0 l t0 t1 t
  for l in "${three[@]}"; do
    t0=$(now); igzip -dc "$l" >/dev/null; t1=$(now)
    t=$(echo "$t1 - $t0" | bc)
    slowest=$(echo "if ($t > $slowest) $t else $slowest" | bc)
  done
  t0=$(now); write_floor; t1=$(now)
  record floor3 "$(echo "$slowest + $t1 - $t0" | bc)"
}

echo "bench: $runs runs each, registry $reg, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$runs"); do
  echo "bench: run $r/$runs"
  pull gzip "$reg/bench/debian:gzip"
  pull gzip_zlib "$reg/bench/debian:gzip" BANGER_GZIP_ENGINE=zlib
  timed igzip igzip -dc "$gzip_blob"
  timed zcat zcat "$gzip_blob"
  pull zstd "$reg/bench/debian:zstd"
  timed zstdcat zstdcat "$zstd_blob"
  pull three "$reg/bench/debian:3layer"
  three_floor
  timed write write_floor
  [ "$classic" = 1 ] && classic classic "$reg/bench/debian:gzip"
  [ "$big" = 1 ] && pull big "$reg/bench/debian:big"
done

med() { tr ' ' '\n' <<<"${times[$1]}" | grep . | median; }
peak() { tr ' ' '\n' <<<"${rss[$1]}" | grep . | sort -n | tail -1 | awk '{printf "%d", $1 / 1024}'; }
ratio() { echo "$(med "$1") / $(med "$2")" | bc -l; }
row() { printf '%-46s %8.2f s\n' "$1" "$(med "$2")"; }
rowr() { printf '%-46s %8.2f s  %4d MiB peak RSS\n' "$1" "$(med "$2")" "$(peak "$2")"; }

echo
echo "medians of $runs runs (machine shared with other jobs: compare the ratios)"
rowr "banger image pull, gzip (ISA-L inflate)" gzip
rowr "banger image pull, gzip (zlib inflate)" gzip_zlib
row "igzip -dc of the layer" igzip
row "zcat of the layer" zcat
printf '%-46s %8.2fx  (goal <= 1.3x)\n' "  gzip pull / igzip -dc" "$(ratio gzip igzip)"
printf '%-46s %8.2fx\n' "  gzip pull with zlib / with ISA-L" "$(ratio gzip_zlib gzip)"
rowr "banger image pull, zstd" zstd
row "zstdcat of the layer" zstdcat
printf '%-46s %8.2fx  (goal <= 1.5x)\n' "  zstd pull / zstdcat" "$(ratio zstd zstdcat)"
rowr "banger image pull, 3 gzip layers" three
row "floor: slowest layer's igzip + write w/ fsync" floor3
row "  (writing the 209 MB tar with fsync)" write
printf '%-46s %8.2fx  (goal <= 1.3x)\n' "  3-layer pull / floor" "$(ratio three floor3)"
if [ "$classic" = 1 ]; then
  row "classic: skopeo + umoci unpack + mkfs.ext4 -d" classic
  printf '%-46s %8.2fx  (goal >= 20x)\n' "  classic / gzip pull" "$(ratio classic gzip)"
  printf '%-46s %8.2fx  (goal >= 20x)\n' "  classic / zstd pull" "$(ratio classic zstd)"
fi
if [ "$big" = 1 ]; then
  rowr "banger image pull, 5 layers, ~1 GiB unpacked" big
  p=$(peak big)
  printf '%-46s %8d MiB (goal < 256 MiB): %s\n' "  big image peak RSS" "$p" "$([ "$p" -lt 256 ] && echo ok || echo OVER)"
fi
