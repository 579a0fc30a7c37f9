#!/usr/bin/env bash
# `make release`: trig built by a profile of its own work (GCC profile-guided optimisation).
#
#   1. OUT-gen: trig instrumented (-DTRIG_PGO=generate);
#   2. the training run (scripts/pgo-train.py: replay of generated rule sets and streams that are
#      not the benchmark's, both engines, and the examples' checks and tests) writes the profile;
#   3. OUT: trig compiled by that profile (-DTRIG_PGO=use) and optimised across files at link
#      time (CMake's INTERPROCEDURAL_OPTIMIZATION, GCC's -flto): code is inlined, laid out and
#      kept apart from the code it does not run by what the training ran;
#   4. the release binary is held to the conformance suites (both engines), as build/trig is.
#
# Why: the replay's instructions per event are about the hand-written C++ program's, but its code
# is spread over the engine's files and misses the instruction cache about 48 times per event
# against the C++ program's 0.4 (callgrind --cache-sim=yes; docs/performance.md, "The
# release build: profile-guided and link-time optimised"). The benchmark (make bench) measures
# this binary.
#
# usage: scripts/release-build.sh [OUT]     (default build-release)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-release}
gen=$out-gen
profile=$(realpath -m "$out/pgo-profile")
jobs=$(nproc)
flags=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DTRIG_PGO_DIR=$profile")

rm -rf "$profile"
mkdir -p "$profile"
cmake -S . -B "$gen" "${flags[@]}" -DTRIG_PGO=generate
cmake --build "$gen" -j "$jobs" --target trig
python3 scripts/pgo-train.py "$gen/trig" "$gen/training"
if ! find "$profile" -name '*.gcda' | grep -q .; then
  echo "release-build: the training run left no profile in $profile" >&2
  exit 1
fi
cmake -S . -B "$out" "${flags[@]}" -DTRIG_PGO=use -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON
cmake --build "$out" -j "$jobs" --target trig trig_bench_latency
python3 tests/conformance_shared.py "$out/trig" ../shared
echo "release-build: $out/trig"
