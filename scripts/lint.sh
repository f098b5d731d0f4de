#!/usr/bin/env bash
# The lint stage CI runs before the tests: clang-format (the committed
# .clang-format), clang-tidy (.clang-tidy; needs build/compile_commands.json,
# so scripts/build.sh first), luacheck (.luacheckrc) and shellcheck. Any
# finding fails. `scripts/lint.sh --fix` rewrites the C++ formatting instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t cxx < <(git ls-files '*.cc' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${cxx[@]}"
  exit 0
fi
echo "lint: clang-format (${#cxx[@]} files)"
clang-format --dry-run --Werror "${cxx[@]}"
echo "lint: luacheck"
luacheck --no-color -q lua tests/lua
echo "lint: shellcheck"
mapfile -t sh < <(git ls-files 'scripts/*.sh' 'bench/*.sh' 'bench/lib/*.sh' .ci/run)
shellcheck --severity=warning "${sh[@]}"
mapfile -t tidy < <(git ls-files 'host/*.cc' 'bindings/*.cc' 'proto/*.cc' 'guest/*.cc' 'app/*.cc')
echo "lint: clang-tidy (${#tidy[@]} files)"
# clang-tidy reads the compile commands without GCC's precompiled headers
# (cmake/pch.cmake): clang cannot load them, and every unit includes what it
# uses anyway.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
sed -E 's/-include [^ ]*cmake_pch\.hxx//g; s/-Winvalid-pch//g' build/compile_commands.json >"$db/compile_commands.json"
printf '%s\n' "${tidy[@]}" | xargs -P"$(nproc)" -n8 clang-tidy -p "$db" --quiet --extra-arg=-Wno-unknown-warning-option
echo "lint: clean"
