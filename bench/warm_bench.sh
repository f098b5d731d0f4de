#!/usr/bin/env bash
# Benchmark for warm starts (issue 12), side by side in one run; prints the
# ratio. `vm run --rm --net none -- true` that restores the warm snapshot
# its first run left behind, against the same with --cold (a boot),
# interleaved; CLI start-up included in both. Goal: warm at most 250 ms
# median and at least 8x faster than cold.
#
#   bench/warm_bench.sh [runs]   (default 5; needs the debian-bookworm image
#                                 and the debian-cloud kernel, pulled if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=1
trap '"$banger" vm rm --force --all >/dev/null 2>&1 || true; "$banger" snapshot prune >/dev/null 2>&1 || true' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null
"$banger" snapshot prune >/dev/null
# The first run boots and saves the warm snapshot.
t0=$(ms); "$banger" vm run --rm --net none -- true; first=$(( $(ms) - t0 ))

warm=(); cold=()
for _ in $(seq "$runs"); do
  t0=$(ms); "$banger" vm run --rm --net none -- true; warm+=($(( $(ms) - t0 )))
  t0=$(ms); "$banger" vm run --rm --net none --cold -- true; cold+=($(( $(ms) - t0 )))
done
mw=$(printf '%s\n' "${warm[@]}" | median); mc=$(printf '%s\n' "${cold[@]}" | median)

printf '%-52s %s\n' "first vm run (boots, saves the warm snapshot) (ms)" "$first"
printf '%-52s %s   (runs: %s)\n' "vm run --rm --net none -- true, warm (median ms)" "$mw" "${warm[*]}"
printf '%-52s %s   (runs: %s)\n' "vm run --rm --net none --cold -- true (median ms)" "$mc" "${cold[*]}"
awk -v w="$mw" -v c="$mc" 'BEGIN { printf "%-52s %.2f (goal: at least 8; warm at most 250 ms)\n", "cold / warm", c / w }'
