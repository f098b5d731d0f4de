#!/usr/bin/env bash
# Benchmark: building a VM's workspace disk from a 10k-file git repository
# (banger.workspace.create: git's file list, banger's own ext4 writer, every
# file's blob id recorded) against peers measured side by side in the same
# run, interleaved:
#   tar:        git ls-files ... | tar c | tar x   (a copy into a directory, no image)
#   tar+mkfs:   the same copy, then mkfs.ext4 -d of it (the classic way to an image)
# Prints the medians and the ratios. Not a pass/fail test.
#
#   bench/workspace_bench.sh [runs] [files]    (default 5 runs, 10000 files)
#
# The repository is synthetic but shaped like a real one (bench/lib/
# synthetic_repo.sh). Caches are warm for every contender. The same work
# with a VM (ready in the guest, and the export) is bench/workspace_vm_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/synthetic_repo.sh
. bench/lib/synthetic_repo.sh
runs=${1:-5}
files=${2:-10000}
build=${BANGER_BUILD:-$PWD/build}
banger=${BANGER_BIN:-$build/banger}
need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/install-deps.sh)" >&2; exit 1; }; }
for t in git tar mkfs.ext4 python3; do need "$t"; done
[ -x "$banger" ] || { echo "bench: build banger first ($banger)" >&2; exit 1; }
work=$(mktemp -d /tmp/banger-workspace-bench-XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
export BANGER_HOME="$work/home" GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@b

repo="$work/repo"
synthetic_repo "$repo" "$files"
bytes=$(du -sb --exclude=.git "$repo" | cut -f1)
echo "repository: $files files, $((bytes / 1024)) KiB (.git $(du -sk "$repo/.git" | cut -f1) KiB)"

now() { date +%s.%N; }
run_banger() {
  local d="$work/b$1"
  rm -rf "$d" && mkdir -p "$d"
  local t0 t1
  t0=$(now)
  "$banger" run /dev/stdin >/dev/null <<LUA
banger.workspace.create("$repo", { vm = "bench", state_dir = "$d" })
LUA
  t1=$(now)
  echo "$t1 - $t0" | bc
}
run_tar() {
  local d="$work/t$1"
  rm -rf "$d" && mkdir -p "$d"
  local t0 t1
  t0=$(now)
  (cd "$repo" && { git ls-files -z --cached --others --exclude-standard; find .git -print0; } \
    | tar --null --no-recursion -T - -cf - | tar -xf - -C "$d")
  t1=$(now)
  echo "$t1 - $t0" | bc
}
run_mkfs() {
  local d="$work/m$1"
  rm -rf "$d" "$d.img" && mkdir -p "$d"
  local t0 t1
  t0=$(now)
  (cd "$repo" && { git ls-files -z --cached --others --exclude-standard; find .git -print0; } \
    | tar --null --no-recursion -T - -cf - | tar -xf - -C "$d")
  mkfs.ext4 -q -F -O ^has_journal -d "$d" "$d.img" 4G >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

b=() t=() m=()
run_banger warm >/dev/null; run_tar warm >/dev/null; run_mkfs warm >/dev/null
for i in $(seq "$runs"); do
  b+=("$(run_banger "$i")")
  t+=("$(run_tar "$i")")
  m+=("$(run_mkfs "$i")")
  rm -rf "$work"/b"$i" "$work"/t"$i" "$work"/m"$i" "$work"/m"$i".img
done
mb=$(printf '%s\n' "${b[@]}" | median)
mt=$(printf '%s\n' "${t[@]}" | median)
mm=$(printf '%s\n' "${m[@]}" | median)
printf 'banger workspace disk   median %.3f s  (runs: %s)\n' "$mb" "${b[*]}"
printf 'tar c | tar x           median %.3f s  (runs: %s)\n' "$mt" "${t[*]}"
printf 'tar | tar + mkfs.ext4 -d median %.3f s  (runs: %s)\n' "$mm" "${m[*]}"
printf 'ratio banger / tar:       %.2f\n' "$(echo "$mb / $mt" | bc -l)"
printf 'ratio banger / tar+mkfs:  %.2f\n' "$(echo "$mb / $mm" | bc -l)"
