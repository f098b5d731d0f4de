#!/usr/bin/env bash
# Benchmark: a repository's workspace in a real VM, and its changes out,
# against `tar c | banger vm exec tar x` measured side by side in the same
# run, interleaved:
#   ready:   vm run --rm --workspace REPO -- true until the command can run
#            (its create and start stages, from --json), less the same for
#            vm run --rm -- true: the workspace's cost beyond the boot (goal:
#            under 1 s for 10,000 files). The whole runs are printed too: a
#            workspace's run also stops the guest cleanly and reads its disk
#            back at the end (the results stage);
#   peer:    the same files into a running VM: tar c | vm exec VM tar x;
#   export:  100 files changed in the guest, then vm export --export DIR
#            (goal: under 1 s);
#   peer:    the same 100 files out: vm exec VM tar c | tar x.
# Prints the medians and the ratios. Not a pass/fail test.
#
#   bench/workspace_vm_bench.sh [runs] [files]   (default 3 runs, 10000 files;
#       needs the debian-bookworm image and the debian-cloud kernel, pulled
#       into $BANGER_BENCH_HOME, default build/bench-home, when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/synthetic_repo.sh
. bench/lib/synthetic_repo.sh
runs=${1:-3}
files=${2:-10000}
banger=${BANGER_BIN:-$PWD/build/banger}
[ -x "$banger" ] || { echo "bench: build banger first ($banger)" >&2; exit 1; }
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0  # every VM boots: these measure the cold path (bench/warm_bench.sh the warm one)
export GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@b
"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null

work=$(mktemp -d /tmp/banger-workspace-vm-bench-XXXXXX)
tag=wsb$$
cleanup() {
  "$banger" vm rm --force "$tag-dev" "$tag-peer" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
repo="$work/repo"
synthetic_repo "$repo" "$files"
echo "repository: $files files, $(($(du -sb --exclude=.git "$repo" | cut -f1) / 1024)) KiB"
changed=$(cd "$repo" && git ls-files '*.c' | sed -n 1,100p)

now_ms() { date +%s%3N; }
# timed CMD...: milliseconds the command took (its output dropped).
timed() {
  local t0
  t0=$(now_ms)
  "$@" >"$work/last.out" 2>"$work/last.err" || { cat "$work/last.err" >&2; return 1; }
  echo $(($(now_ms) - t0))
}
boot_with_workspace() { "$banger" --json vm run --rm --net none --workspace "$repo" -- true; }
boot_alone() { "$banger" --json vm run --rm --net none -- true; }
# The create and start stages of the last run's --json object, summed.
stage_ms() { sed -n 's/^ *"'"$1"'": \([0-9]*\),*$/\1/p' "$work/last.out"; }
to_ready() { echo $(($(stage_ms create) + $(stage_ms start))); }
tar_in() {
  (cd "$repo" && { git ls-files -z --cached --others --exclude-standard; find .git -print0; } \
    | tar --null --no-recursion -T - -cf -) \
    | "$banger" vm exec "$tag-peer" -- sh -c 'rm -rf /w && mkdir /w && tar -xf - -C /w'
}
export_out() { "$banger" vm export "$tag-dev" --export "$work/e$1"; }
# shellcheck disable=SC2086 # the file list splits on purpose
tar_out() { mkdir -p "$work/p$1" && "$banger" vm exec "$tag-dev" -- tar -cf - -C /work $changed | tar -xf - -C "$work/p$1"; }
change_files() {
  # shellcheck disable=SC2086
  "$banger" vm exec "$tag-dev" -w /work -- sh -c 'for f in "$@"; do echo "run $0" >> "$f"; done' "$1" $changed
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

"$banger" vm create --name "$tag-peer" --net none >/dev/null && "$banger" vm start "$tag-peer" >/dev/null
"$banger" vm create --name "$tag-dev" --net none --workspace "$repo" >/dev/null && "$banger" vm start "$tag-dev" >/dev/null
boot_alone >/dev/null; tar_in >/dev/null  # warm caches
bw=() ba=() rw=() ra=() ti=() ex=() to=()
for i in $(seq "$runs"); do
  bw+=("$(timed boot_with_workspace)")
  rw+=("$(to_ready)")
  ba+=("$(timed boot_alone)")
  ra+=("$(to_ready)")
  ti+=("$(timed tar_in)")
  change_files "$i" >/dev/null
  ex+=("$(timed export_out "$i")")
  to+=("$(timed tar_out "$i")")
  n=$(find "$work/e$i" -type f | wc -l)
  [ "$n" -ge 100 ] || { echo "bench: the export has $n files, not 100" >&2; exit 1; }
done
m() { printf '%s\n' "$@" | median; }
mbw=$(m "${bw[@]}") mba=$(m "${ba[@]}") mti=$(m "${ti[@]}") mex=$(m "${ex[@]}") mto=$(m "${to[@]}")
mrw=$(m "${rw[@]}") mra=$(m "${ra[@]}")
ready=$((mrw - mra))
printf 'vm run --workspace -- true  median %6d ms  (runs: %s; to ready: %s)\n' "$mbw" "${bw[*]}" "${rw[*]}"
printf 'vm run -- true              median %6d ms  (runs: %s; to ready: %s)\n' "$mba" "${ba[*]}" "${ra[*]}"
printf 'workspace beyond the boot          %6d ms  (to ready, medians %d - %d; goal: under 1000)\n' "$ready" "$mrw" "$mra"
printf 'peer: tar c | vm exec tar x median %6d ms  (runs: %s)\n' "$mti" "${ti[*]}"
printf 'vm export of 100 files      median %6d ms  (runs: %s; goal: under 1000)\n' "$mex" "${ex[*]}"
printf 'peer: vm exec tar c | tar x median %6d ms  (runs: %s)\n' "$mto" "${to[*]}"
printf 'ratio workspace / tar in:   %.2f\n' "$(echo "$ready / $mti" | bc -l)"
printf 'ratio export / tar out:     %.2f\n' "$(echo "$mex / $mto" | bc -l)"
