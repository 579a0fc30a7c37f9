#!/usr/bin/env bash
# Installs everything trig needs to build and test, from Debian's packages only.
# Idempotent: packages already present are skipped; safe to run on every `make`.
# `--list` prints the list and installs nothing (scripts/check-deps.py checks the build against it).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config python3 tzdata
  antlr4 libantlr4-runtime-dev uuid-dev
  llvm-19-dev libzstd-dev zlib1g-dev
  libfmt-dev doctest-dev libcli11-dev nlohmann-json3-dev
  libhowardhinnant-date-dev libjemalloc-dev libssl-dev
  clang-19 libfuzzer-19-dev libclang-rt-19-dev clang-format-19 clang-tidy-19
  python3-jsonschema
  libboost1.81-dev librocksdb-dev libcurl4-openssl-dev python3-aiosmtpd
  libz3-dev graphviz libgraphviz-dev chromium python3-websocket help2man
)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
