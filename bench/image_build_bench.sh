#!/usr/bin/env bash
# Benchmark for image builds (issue 13), side by side in one run; prints
# the ratios. A build file with a package, a file and two steps:
#   - its first build, against the same work done by hand: 'vm run' of the
#     steps (the package installed by apt in the guest from the .deb the
#     host's apt downloads, as the build does) and 'vm commit';
#   - a rebuild of the unchanged file (up to date: goal under 1 s) and a
#     rebuild after the last step changed (the packages stage cached).
#
#   bench/image_build_bench.sh [runs]   (default 3; needs the debian-bookworm
#                                        image and the debian-cloud kernel,
#                                        pulled if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0
work=$(mktemp -d)
trap '"$banger" vm rm --force --all >/dev/null 2>&1 || true; for i in bench-built bench-hand; do "$banger" image rm "$i" >/dev/null 2>&1 || true; done; "$banger" image prune >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null

write_file() {  # $1: the last step
  cat > "$work/image.lua" <<LUA
return {
  name = "bench-built", from = "debian-bookworm",
  packages = { "hello" },
  files = { { path = "/etc/bench", content = "bench\n", mode = "0644" } },
  run = { "useradd -m dev", "$1" },
}
LUA
}

first=(); hand=(); cached=(); changed=()
for i in $(seq "$runs"); do
  "$banger" image rm bench-built >/dev/null 2>&1 || true
  "$banger" image prune >/dev/null
  write_file "echo one > /home/dev/note"
  t0=$(ms); "$banger" image build "$work/image.lua" >/dev/null 2>&1; first+=($(( $(ms) - t0 )))

  # By hand: the .deb from the host's apt, copied in, installed, the file
  # and the steps, then the disk saved.
  t0=$(ms)
  rm -rf "$work/debs"; mkdir -p "$work/debs"
  (cd "$work/debs" && apt-get download -q hello >/dev/null 2>&1)
  "$banger" vm create --net none --name bench-hand-vm --disk 2G >/dev/null
  "$banger" vm start bench-hand-vm >/dev/null
  "$banger" vm cp "$work/debs" bench-hand-vm:/var/cache/bench-debs
  "$banger" vm exec bench-hand-vm -- sh -c 'apt-get install -y -q /var/cache/bench-debs/*.deb >/dev/null && rm -rf /var/cache/bench-debs && echo bench > /etc/bench && useradd -m dev && echo one > /home/dev/note'
  "$banger" vm stop bench-hand-vm >/dev/null
  "$banger" image rm bench-hand >/dev/null 2>&1 || true
  "$banger" vm commit bench-hand-vm bench-hand >/dev/null
  "$banger" vm rm bench-hand-vm >/dev/null
  hand+=($(( $(ms) - t0 )))

  t0=$(ms); "$banger" image build "$work/image.lua" >/dev/null 2>&1; cached+=($(( $(ms) - t0 )))
  write_file "echo run-$i > /home/dev/note"
  t0=$(ms); "$banger" image build "$work/image.lua" >/dev/null 2>&1; changed+=($(( $(ms) - t0 )))
done
mf=$(printf '%s\n' "${first[@]}" | median); mh=$(printf '%s\n' "${hand[@]}" | median)
mc=$(printf '%s\n' "${cached[@]}" | median); mx=$(printf '%s\n' "${changed[@]}" | median)

printf '%-58s %s   (runs: %s)\n' "image build, first (median ms)" "$mf" "${first[*]}"
printf '%-58s %s   (runs: %s)\n' "the same by hand: vm run steps + vm commit (median ms)" "$mh" "${hand[*]}"
printf '%-58s %s   (runs: %s)\n' "image build, unchanged file (median ms)" "$mc" "${cached[*]}"
printf '%-58s %s   (runs: %s)\n' "image build, last step changed (median ms)" "$mx" "${changed[*]}"
awk -v f="$mf" -v h="$mh" -v c="$mc" -v x="$mx" 'BEGIN {
  printf "%-58s %.2f\n", "first build / by hand", f / h
  printf "%-58s %.1f (goal: unchanged under 1 s)\n", "first build / unchanged", f / c
  printf "%-58s %.2f\n", "first build / last step changed", f / x }'
