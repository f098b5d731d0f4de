#!/usr/bin/env bash
# Benchmark for sandboxes (issue 5), side by side in one run; prints ratios.
#   1. vm create from a 300 MiB image vs a 2 GiB image (the disk is a qcow2
#      overlay: the cost should not depend on the image size);
#   2. vm exec NAME -- true: host-side time beyond the command's own run time
#      in the guest (the agent reports it), in-process (one connection) and
#      for the whole CLI process;
#   3. vm run --rm -- true vs a bare QEMU boot of the same kernel to a marker,
#      without a network (as the bare peer) and with user networking.
#
#   bench/vm_bench.sh [runs]     (default 5; needs the debian-bookworm image
#                                 and the debian-cloud kernel, pulled if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0  # every VM boots: these measure the cold path (bench/warm_bench.sh the warm one)
work=$(mktemp -d /tmp/banger-vm-bench-XXXXXX)
trap '"$banger" vm rm --force --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
. bench/lib/bare_boot.sh
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null
"$banger" image inspect bench-2g >/dev/null 2>&1 || "$banger" image pull debian-bookworm --name bench-2g --size 2G >/dev/null
# The smallest disk Debian minbase fits in (its files take ~230 MiB).
"$banger" image inspect bench-small >/dev/null 2>&1 || "$banger" image pull debian-bookworm --name bench-small --size 300M >/dev/null
small=$(stat -c %s "$BANGER_HOME/images/bench-small/rootfs.ext4")
big=$(stat -c %s "$BANGER_HOME/images/bench-2g/rootfs.ext4")

# 1. disk creation
cs=(); cb=()
for i in $(seq "$runs"); do
  t0=$(ms); "$banger" vm create bench-small --name bs$i --net none >/dev/null; cs+=($(( $(ms) - t0 )))
  t0=$(ms); "$banger" vm create bench-2g --name bb$i --net none >/dev/null; cb+=($(( $(ms) - t0 )))
  "$banger" vm rm bs$i bb$i >/dev/null
done
mcs=$(printf '%s\n' "${cs[@]}" | median); mcb=$(printf '%s\n' "${cb[@]}" | median)

# 2. exec overhead
"$banger" vm create --name bx --net none >/dev/null
"$banger" vm start bx >/dev/null 2>&1
inproc=$("$banger" run /dev/stdin <<'LUA'
local c = banger.vm.connect("bx")
local over = {}
for i = 1, 50 do
  local t0 = banger.process.clock_ms()
  local r = c:exec({ argv = { "true" }, forward_signals = false })
  over[#over + 1] = (banger.process.clock_ms() - t0) - r.guest_us / 1000
end
table.sort(over)
print(("%.2f"):format(over[25]))
LUA
)
cli=(); for i in $(seq 20); do t0=$(date +%s%N); "$banger" vm exec bx -- true; cli+=($(( ($(date +%s%N) - t0) / 1000 ))); done
mcli=$(printf '%s\n' "${cli[@]}" | median)
append=$(tr '\0' '\n' < "/proc/$(pgrep -f "qemu-system.*$BANGER_HOME/vms/bx/" | head -1)/cmdline" | awk 'f{print; exit} /^-append$/{f=1}')
accel=$("$banger" vm ls --json | grep -o '"accel": *"[a-z]*"' | head -1 | sed 's/.*"\([a-z]*\)"$/\1/')
"$banger" vm rm --force bx >/dev/null

# 3. vm run vs bare boot, interleaved
vmlinuz=$BANGER_HOME/kernels/debian-cloud/vmlinuz
bare_boot_prepare "$work"
vr=(); vu=(); bb=()
for i in $(seq "$runs"); do
  t0=$(ms); "$banger" vm run --rm --net none -- true >/dev/null 2>&1; vr+=($(( $(ms) - t0 )))
  # The unprivileged default: the guest also brings up its NIC (a module
  # load and an address) and the supervisor runs the user network stack.
  t0=$(ms); "$banger" vm run --rm --net user -- true >/dev/null 2>&1; vu+=($(( $(ms) - t0 )))
  bb+=("$(bare_boot "$work" "$vmlinuz" "${accel:-tcg}" "$append" 1024 2)")
done
mvr=$(printf '%s\n' "${vr[@]}" | median); mvu=$(printf '%s\n' "${vu[@]}" | median)
mbb=$(printf '%s\n' "${bb[@]}" | median)

echo
printf '%-52s %s\n' "vm create, $((small >> 20)) MiB image (median ms)" "$mcs"
printf '%-52s %s\n' "vm create, $((big >> 20)) MiB image (median ms)" "$mcb"
printf '%-52s %.2fx (target ~1x)\n' "  ratio big/small" "$(echo "$mcb / $mcs" | bc -l)"
printf '%-52s %s ms (target < 5 ms)\n' "vm exec -- true, host overhead in-process (median)" "$inproc"
printf '%-52s %s ms\n' "vm exec -- true, whole CLI process (median)" "$(echo "scale=1; $mcli / 1000" | bc)"
printf '%-52s %s\n' "vm run --rm --net none -- true (median ms)" "$mvr"
printf '%-52s %s\n' "vm run --rm --net user -- true (median ms)" "$mvu"
printf '%-52s %s\n' "bare QEMU boot to a marker, same kernel (median ms)" "$mbb"
printf '%-52s %.2fx (target <= 1.2x)\n' "  ratio, no network (like the bare peer)" "$(echo "$mvr / $mbb" | bc -l)"
printf '%-52s %.2fx\n' "  ratio, user networking" "$(echo "$mvu / $mbb" | bc -l)"
