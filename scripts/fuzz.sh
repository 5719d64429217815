#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz (built by `make fuzz-build` into
# BUILD) for SECONDS each, starting from its checked-in corpus; new inputs go
# to BUILD/fuzz-work/, never into the repository. A crash, a leak, a timeout
# or undefined behaviour fails the run and leaves the input in
# BUILD/fuzz-artifacts/: add it to tests/fuzz/corpus/NAME/ as a regression
# input once it is fixed.   usage: scripts/fuzz.sh [BUILD] [SECONDS]
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz-work" "$build/fuzz-artifacts"
fail=0
shopt -s nullglob
bins=("$build"/tests/fuzz/fuzz_*)
[ ${#bins[@]} -gt 0 ] || { echo "fuzz: no harnesses in $build/tests/fuzz (run make fuzz-build)" >&2; exit 1; }
for bin in "${bins[@]}"; do
  h=${bin##*/fuzz_}
  work="$build/fuzz-work/$h"
  log="$build/fuzz-work/$h.log"
  mkdir -p "$work"
  # the scenario harness runs whole conversations: give one input longer
  if "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$h-" "$work" "$root/tests/fuzz/corpus/$h" \
       </dev/null >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $h: $runs inputs in ${secs} s, no failure"
  else
    echo "fuzz: $h: FAILED — $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log" || echo 'see log')"
    echo "      log: $log; input: $(ls "$build/fuzz-artifacts/$h-"* 2>/dev/null | head -1)"
    fail=1
  fi
done
exit $fail
