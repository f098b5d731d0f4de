#!/usr/bin/env bash
# Where the time of `vm run --rm --net none -- true` goes (issue 5: at most
# 1.2x a bare boot, see bench/vm_bench.sh): median milliseconds per phase over
# RUNS in-process runs, and the CLI's own start-up. Needs the debian-bookworm
# image and the debian-cloud kernel in $BANGER_BENCH_HOME (bench/vm_bench.sh
# pulls them).
#
#   bench/vm_run_phases.sh [runs]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0  # every VM boots: these measure the cold path (bench/warm_bench.sh the warm one)
"$banger" run bench/lib/vm_run_phases.lua "$runs" 2>/dev/null
cli=()
for _ in $(seq 10); do
  t0=$(date +%s%N); "$banger" vm ls >/dev/null; cli+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
printf '%-52s %6s\n' "a CLI process (banger vm ls)" "$(printf '%s\n' "${cli[@]}" | sort -n | sed -n 5p)"
