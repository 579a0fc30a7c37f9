#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (TRIG_FUZZ=ON, see tests/fuzz/) for SECONDS each,
# starting from its seed corpus in tests/fuzz/corpus/NAME (kept in the repository) and a working
# corpus in BUILD/corpus/NAME (what it finds, kept between runs, never committed). A crash, a
# leak, a sanitizer report or a timeout fails the target; its input is saved as
# BUILD/crashes/NAME-* and the command to reproduce it is printed. Bounded: SECONDS per target.
#
# The mutations are seeded (FUZZ_SEED, default 1), so a run can be repeated; FUZZ_SEED=0 lets
# libFuzzer pick a new seed each time, for longer hunts.
#
# usage: scripts/fuzz.sh BUILD SECONDS [TARGET...]
set -uo pipefail
build="${1:?usage: scripts/fuzz.sh BUILD SECONDS [TARGET...]}"
seconds="${2:?usage: scripts/fuzz.sh BUILD SECONDS [TARGET...]}"
shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_check fuzz_events fuzz_render fuzz_cache fuzz_differential fuzz_ingest_api)

passed=0
failed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  seeds="$root/tests/fuzz/corpus/${t#fuzz_}"
  work="$build/corpus/${t#fuzz_}"
  mkdir -p "$work" "$build/crashes"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $t: not built ($bin)"
    failed=$((failed + 1))
    continue
  fi
  echo "fuzz: $t for ${seconds}s (seeds: ${seeds#"$root"/})"
  log="$build/crashes/$t.log"
  # -timeout: one input running longer is a hang; -rss_limit_mb: a memory blow-up is a failure.
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 TMPDIR="$build" \
     "$bin" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
       -artifact_prefix="$build/crashes/$t-" "$work" "$seeds" > "$log" 2>&1; then
    echo "fuzz: $t: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') inputs)"
    passed=$((passed + 1))
  else
    echo "fuzz: $t: FAILED; the last lines of $log:"
    tail -30 "$log" | sed 's/^/    /'
    for a in "$build/crashes/$t"-*; do
      [ -f "$a" ] && echo "    reproduce: $bin $a"
    done
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
