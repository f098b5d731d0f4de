#!/usr/bin/env bash
# Benchmark for snapshots (issue 12), side by side in one run; prints ratios.
#   1. vm pause + vm resume round trip: as the supervisor sees it (QMP stop +
#      cont) and as two CLI processes;
#   2. how long a snapshot of a running 1 GiB VM pauses it;
#   3. vm run --rm --from SNAP -- true (a restore) against vm run --rm -- true
#      (a cold boot), interleaved;
#   4. vm fork --count 4 of a running VM: wall time until all four answer
#      `exec true`, and the host memory they add (PSS) against one VM's RSS.
#
#   bench/snapshot_bench.sh [runs]   (default 5; needs the debian-bookworm image
#                                     and the debian-cloud kernel, pulled if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0  # every VM boots: these measure the cold path (bench/warm_bench.sh the warm one)
cleanup() {
  "$banger" vm rm --force --all >/dev/null 2>&1 || true
  for s in $("$banger" --json snapshot ls 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'); do
    "$banger" snapshot rm "$s" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/${3:-status}"; }

"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null
cleanup

"$banger" vm create --name bsrc --net none >/dev/null
"$banger" vm start bsrc >/dev/null 2>&1

# 1. pause/resume
qmp=()
for i in $(seq 10); do
  p=$("$banger" --json vm pause bsrc | grep -o '"ms": *[0-9.]*' | sed 's/.*: *//')
  r=$("$banger" --json vm resume bsrc | grep -o '"ms": *[0-9.]*' | sed 's/.*: *//')
  qmp+=("$(echo "$p + $r" | bc -l)")
done
inproc=$(printf '%s\n' "${qmp[@]}" | median)
cli=(); for i in $(seq 10); do t0=$(ms); "$banger" vm pause bsrc >/dev/null; "$banger" vm resume bsrc >/dev/null; cli+=($(( $(ms) - t0 ))); done
mcli=$(printf '%s\n' "${cli[@]}" | median)

# 2. snapshot pause
sp=()
for i in $(seq "$runs"); do
  sp+=("$("$banger" --json vm snapshot bsrc --name bsnap$i | grep -o '"paused_ms": *[0-9.]*' | sed 's/.*: *//')")
done
msp=$(printf '%s\n' "${sp[@]}" | median)
for i in $(seq 2 "$runs"); do "$banger" snapshot rm bsnap$i >/dev/null; done

# 3. restore vs cold boot
wr=(); cr=()
for i in $(seq "$runs"); do
  t0=$(ms); "$banger" vm run --rm --from bsnap1 -- true >/dev/null 2>&1; wr+=($(( $(ms) - t0 )))
  t0=$(ms); "$banger" vm run --rm --net none -- true >/dev/null 2>&1; cr+=($(( $(ms) - t0 )))
done
mwr=$(printf '%s\n' "${wr[@]}" | median); mcr=$(printf '%s\n' "${cr[@]}" | median)

# 4. fork into 4
one=$(kib "$(pgrep -f "qemu-system.*$BANGER_HOME/vms/bsrc/" | head -1)" VmRSS)
t0=$(ms)
forks=$("$banger" --json vm fork bsrc --count 4 | grep -o '"bsrc-[0-9a-f]*"' | tr -d '"')
for f in $forks; do "$banger" vm exec "$f" -- true; done
fork_ms=$(( $(ms) - t0 ))
pss=0
for f in $forks; do
  p=$(pgrep -f "qemu-system.*$BANGER_HOME/vms/$f/" | head -1)
  pss=$(( pss + $(kib "$p" Pss smaps_rollup) ))
done

echo
printf '%-58s %.1f ms (target < 100 ms)\n' "pause + resume in the supervisor, QMP stop + cont (median)" "$inproc"
printf '%-58s %s ms\n' "vm pause + vm resume, two CLI processes (median)" "$mcli"
printf '%-58s %.0f ms\n' "snapshot of a running 1 GiB VM: guest paused (median)" "$msp"
printf '%-58s %s\n' "vm run --rm --from SNAP -- true (median ms)" "$mwr"
printf '%-58s %s\n' "vm run --rm --net none -- true, cold (median ms)" "$mcr"
printf '%-58s %.2fx faster (target >= 8x)\n' "  restore vs cold" "$(echo "$mcr / $mwr" | bc -l)"
printf '%-58s %s ms (target <= 1500 ms)\n' "vm fork --count 4 until all four answer exec true" "$fork_ms"
printf '%-58s %s MiB vs %s MiB (target < 2x)\n' "  PSS of the four forks vs one VM's RSS" "$((pss >> 10))" "$((one >> 10))"
