#!/usr/bin/env bash
# DNS serving cost of `sigild` beside NSD on the same names, in one run: builds the release binaries,
# starts a dev node pinned to CPU 0, imports NAMES generated names through the ledger, then runs
# ../shared/bench/dns-vs-nsd.sh, which serves the same zone with NSD and prints queries per second and
# server CPU per answered query for both, and the ratios.
#
# usage: tests/bench-dns.sh [NAMES] [SECONDS]        (defaults: 100000 names, 20 s per server)
# env:   WORK=DIR     scratch folder (default /tmp/sigil-dns-bench; emptied first)
#        BIN=DIR      use the sigild and sigil binaries in DIR instead of building them
#        REUSE=1      keep WORK's node and names from a previous run (same NAMES) and skip the import
#        SIGILD_ARGS  more sigild flags, e.g. "--dns-cache-mb 256"
#        PERF=1       also record a CPU profile of sigild during the run (WORK/perf.data; needs perf)
#        BENCH=DIR    the shared benchmark helpers (default ../shared/bench beside the repository)
# Needs python3, and dnsperf and nsd (dns-vs-nsd.sh installs them from Debian when missing, as root).
# Runs the node and the load under `setsid nice -n -20` when permitted, for steadier figures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$repo/../shared/bench}
names=${1:-100000}
secs=${2:-20}
work=${WORK:-/tmp/sigil-dns-bench}
dns_port=15353
api=127.0.0.1:18645

if [ -z "${BIN:-}" ]; then
  (cd "$repo" && cargo build -j2 --release --bin sigild --bin sigil)
  BIN=$repo/target/release
fi
if [ "${REUSE:-}" != 1 ]; then
  rm -rf "$work"
  mkdir -p "$work"
  python3 "$bench/gen-names.py" "$work/data" "$names"
fi

boost=()
if nice -n -20 true 2>/dev/null; then boost=(nice -n -20); fi
# The import polls the node far more often than the API's per-client default allows.
echo "api_expensive_per_sec = 100000" >"$work/sigil.toml"
setsid "${boost[@]}" taskset -c 0 "$BIN/sigild" --dev --config "$work/sigil.toml" --data "$work/node" \
  --dns-listen "127.0.0.1:$dns_port" --api-listen "$api" ${SIGILD_ARGS:-} >"$work/sigild.log" 2>&1 &
cleanup() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  # perf stops by itself once the node it records is gone.
  if [ -n "${perf_pid:-}" ]; then wait "$perf_pid" 2>/dev/null || true; fi
  return 0
}
trap cleanup EXIT
for _ in $(seq 300); do grep -q '^sigild ready' "$work/sigild.log" && break; sleep 0.2; done
grep -q '^sigild ready' "$work/sigild.log" || { cat "$work/sigild.log"; echo "sigild did not start" >&2; exit 1; }
pid=$(cat "$work/node/sigild.pid")

if [ "${REUSE:-}" != 1 ]; then
  export SIGIL_NODE=http://$api SIGIL_KEYSTORE=$work/keys
  "$BIN/sigil" key new bench >/dev/null
  start=$(date +%s)
  "$BIN/sigil" name import "$work/data/sigil.zone" >"$work/import.log"
  echo "imported $names names in $(($(date +%s) - start)) s"
fi

if [ "${PERF:-}" = 1 ]; then
  perf record -g -o "$work/perf.data" -p "$pid" >/dev/null 2>&1 &
  perf_pid=$!
fi
echo "load average before: $(cat /proc/loadavg)"
"${boost[@]}" bash "$bench/dns-vs-nsd.sh" "$work/data" "$dns_port" "$pid" "$secs" ||
  echo "dns-vs-nsd.sh exited with status $?"
echo "load average after:  $(cat /proc/loadavg)"
echo "sigild resident memory: $(awk '/VmRSS/{print $2, $3}' "/proc/$pid/status")"
