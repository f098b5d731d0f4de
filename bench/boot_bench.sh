#!/usr/bin/env bash
# Benchmark: boot to agent-ready (vm.start: the agent as the initramfs /init,
# module loading, root disk, switch_root, the agent as PID 1, handshake)
# against a bare QEMU boot of the same kernel to a marker printed by a trivial
# static init, on the same machine in the same run, interleaved. Prints the
# medians and the ratio (target: agent-ready <= 1.15 x bare). Not a pass/fail
# test.
#
#   bench/boot_bench.sh [runs]      (default 5 runs of each)
#
# Both boots use the same QEMU machine (microvm), memory, CPUs, accelerator
# and kernel command line (banger's, taken from the VM's own qemu argv), so
# the difference is what banger adds. The kernel is Debian's cloud kernel,
# fetched with apt-get download into $BANGER_BENCH_CACHE (default
# build/bench-cache). The root filesystem is a small busybox-static image
# with the agent at /.banger/agent (BANGER_BENCH_ROOTFS overrides it with an
# image that already has the agent).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
build=${BANGER_BUILD:-$PWD/build}
banger=${BANGER_BIN:-$build/banger}
agent=${BANGER_AGENT:-$build/banger-agent}
cache=${BANGER_BENCH_CACHE:-$build/bench-cache}
mkdir -p "$cache"
work=$(mktemp -d /tmp/banger-boot-bench-XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/install-deps.sh)" >&2; exit 1; }; }
for t in qemu-system-x86_64 qemu-img cpio gzip cc mkfs.ext4 apt-get dpkg; do need "$t"; done
[ -x "$banger" ] || { echo "bench: build banger first ($banger)" >&2; exit 1; }
[ -x "$agent" ] || { echo "bench: build the agent first ($agent)" >&2; exit 1; }

# ---- the kernel ----
if [ ! -f "$cache/kernel/done" ]; then
  rm -rf "$cache/kernel" && mkdir -p "$cache/kernel"
  pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
  (cd "$cache/kernel" && apt-get download -q "$pkg" >/dev/null 2>&1 && dpkg -x linux-image-*.deb x && rm -f ./*.deb && touch ./done)
fi
vmlinuz=$(ls "$cache"/kernel/x/boot/vmlinuz-*)
version=${vmlinuz##*vmlinuz-}
modules="$cache/kernel/x/lib/modules/$version"

# ---- banger's initramfs (the real builder) and a rootfs ----
"$banger" run /dev/stdin <<LUA
local kernel = require("banger.kernel")
kernel.build_initramfs({ init = "$agent", modules_dir = "$modules", out = "$work/initrd.img" })
LUA
rootfs=${BANGER_BENCH_ROOTFS:-}
if [ -z "$rootfs" ]; then
  [ -x /bin/busybox ] || { echo "bench: apt-get install busybox-static" >&2; exit 1; }
  mkdir -p "$work/root/bin" "$work/root/etc" "$work/root/.banger"
  cp /bin/busybox "$work/root/bin/" && ln -s busybox "$work/root/bin/sh"
  cp "$agent" "$work/root/.banger/agent"
  mkfs.ext4 -q -d "$work/root" "$work/rootfs.ext4" 64M
  rootfs=$work/rootfs.ext4
fi

# ---- the bare boot's trivial init (bench/lib/bare_boot.sh) ----
. bench/lib/bare_boot.sh
bare_boot_prepare "$work"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One banger boot: prints "READY_MS WALL_MS APPEND" (READY_MS: QEMU spawned
# -> agent ready, measured by vm.start; WALL_MS: the whole banger run,
# overlay creation and poweroff included).
banger_boot() {
  local i=$1 t0 t1 out
  rm -rf "$work/vm$i"
  t0=$(now_ms)
  out=$("$banger" run /dev/stdin <<LUA
local vm = require("banger.vm")
local h = vm.start({ name = "bench$i", kernel = "$vmlinuz", initrd = "$work/initrd.img",
  rootfs = "$rootfs", state_dir = "$work/vm$i", net = { mode = "none" } })
local info = h:info()
local append
for k, a in ipairs(info.qemu_argv) do if a == "-append" then append = info.qemu_argv[k + 1] end end
print(info.boot.host_ready_ms, info.boot.kernel_to_init_ms, info.boot.init_to_ready_ms, info.accel, append)
h:stop()
LUA
)
  t1=$(now_ms)
  echo "$out" | { read -r ready k2i i2r accel append; echo "$ready $((t1 - t0)) $k2i $i2r $accel $append"; }
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "boot bench: kernel $version, $runs runs each, interleaved"
ready_list=() wall_list=() bare_list=()
for i in $(seq 1 "$runs"); do
  read -r ready wall k2i i2r accel append <<<"$(banger_boot "$i")"
  bare=$(bare_boot "$work" "$vmlinuz" "$accel" "$append")
  echo "  run $i: banger agent-ready ${ready} ms (guest: kernel->init ${k2i} ms, init->ready ${i2r} ms;" \
       "whole vm.start+stop ${wall} ms), bare marker ${bare} ms [$accel]"
  ready_list+=("$ready") wall_list+=("$wall") bare_list+=("$bare")
done
r=$(printf '%s\n' "${ready_list[@]}" | median)
w=$(printf '%s\n' "${wall_list[@]}" | median)
b=$(printf '%s\n' "${bare_list[@]}" | median)
echo "median: agent-ready ${r} ms, bare marker ${b} ms, whole banger run ${w} ms"
rmin=$(printf '%s\n' "${ready_list[@]}" | sort -n | head -1)
bmin=$(printf '%s\n' "${bare_list[@]}" | sort -n | head -1)
echo "fastest: agent-ready ${rmin} ms, bare marker ${bmin} ms"
awk -v r="$r" -v b="$b" -v rm="$rmin" -v bm="$bmin" 'BEGIN {
  printf "ratio agent-ready / bare: %.2f median, %.2f fastest (target <= 1.15)\n", r / b, rm / bm }'
