#!/usr/bin/env bash
# Runs clang-tidy-19 with the project's .clang-tidy (checks that catch real bugs) over every
# source of compiler/, runtime/ and cli/, using BUILD's compile_commands.json; any finding fails.
# -Wno-error: under -DTRIG_WERROR=ON the compiler's own warnings would be errors, which the
# Checks list of .clang-tidy cannot filter (the compiler reports those itself).
#   scripts/tidy.sh [BUILD]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
if [ ! -f "$BUILD/compile_commands.json" ]; then
  echo "tidy: $BUILD/compile_commands.json not found (configure the build first: make build)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files 'compiler/*.cpp' 'runtime/*.cpp' 'cli/*.cpp' | grep -v '_test\.cpp$')
out=$(mktemp)
echo "tidy: ${#files[@]} files"
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy-19 -p "$BUILD" --quiet --extra-arg=-Wno-error 2>/dev/null |
  tee "$out" | grep -E '^[^ ].*(warning|error):' || true
if grep -qE "(warning|error):" "$out"; then
  rm -f "$out"
  echo "tidy: findings above" >&2
  exit 1
fi
rm -f "$out"
echo "tidy: clean"
