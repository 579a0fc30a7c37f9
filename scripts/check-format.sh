#!/usr/bin/env bash
# Checks that every C++ file of the repository is formatted as .clang-format says (clang-format-19,
# the version scripts/install-deps.sh installs). `make format` rewrites the files.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-19}
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if ! "$CLANG_FORMAT" --dry-run --Werror "${files[@]}"; then
  echo "check-format: the files above are not formatted; run: make format" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
