#!/usr/bin/env bash
# Coverage-guided runs of the fuzz targets with cargo-fuzz (stable toolchain, no sanitizer), one
# after another (or JOBS at a time), SECONDS each; prints one line per target for RELIABILITY.md.
# Usage: tests/fuzz/long-run.sh SECONDS [TARGET...]   (all targets when none is named)
# New inputs go to $WORK/corpus/<target> (default /tmp/sigil-fuzz); logs to $WORK/logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: long-run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(tx block consensus p2p dns zone record cert light_proofs light_handoffs tree_proof api)
fi
work=${WORK:-/tmp/sigil-fuzz}
jobs=${JOBS:-1}
fuzz=(cargo fuzz run --fuzz-dir tests/fuzz/libfuzzer --sanitizer none)
cargo fuzz build --fuzz-dir tests/fuzz/libfuzzer --sanitizer none
run_one() {
  local t=$1
  mkdir -p "$work/corpus/$t" "$work/logs"
  local started=$SECONDS
  # The crash, if any, is kept in tests/fuzz/libfuzzer/artifacts/<target>/.
  if "${fuzz[@]}" "$t" "$work/corpus/$t" "tests/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    >"$work/logs/$t.log" 2>&1; then
    outcome="no crash"
  else
    outcome="FAILED (see $work/logs/$t.log)"
  fi
  local runs execs done
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  done=$(grep -E '^#[0-9]+' "$work/logs/$t.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' || echo "?")
  echo "| \`$t\` | $((SECONDS - started)) s | $runs | $execs | $done | $outcome |"
}
echo "| target | time | executions | exec/s | coverage at the end (edges, features, corpus) | outcome |"
echo "|---|---|---|---|---|---|"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
