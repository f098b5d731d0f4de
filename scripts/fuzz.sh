#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz/) for SECONDS (default 60), two at a
# time, from its seed corpus. Needs the sanitizer build (scripts/sanitize.sh).
# New inputs go to a scratch corpus, not the tree; a crash fails the run and
# is left in build-san/fuzz-crashes/: add it to tests/fuzz/corpus/TARGET/ once
# fixed, and ctest replays it for ever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets=(proto tar_path ref manifest layer_reader gzip www_authenticate tree_stream guest_net)
mkdir -p build-san/fuzz-crashes
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run() {
  local t=$1
  mkdir -p "$scratch/$t"
  if build-san/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 \
      -artifact_prefix="build-san/fuzz-crashes/$t-" "$scratch/$t" "tests/fuzz/corpus/$t" \
      >"$scratch/$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -o 'Done [0-9]* runs' "$scratch/$t.log" || echo finished) in ${seconds} s, no crash"
  else
    echo "fuzz: $t: CRASH (see build-san/fuzz-crashes/)" >&2
    tail -40 "$scratch/$t.log" >&2
    return 1
  fi
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do run "$t" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
