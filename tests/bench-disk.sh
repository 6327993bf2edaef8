#!/usr/bin/env bash
# Disk per registered name: starts a dev node, imports NAMES generated names with `sigil name import`,
# lets the node run on until WINDOW more blocks are final (so pruning catches up, as on a node that
# keeps running), stops it and prints the data folder's size per name. WINDOW is the node's
# --prune-window-blocks (state versions kept); 0 turns pruning off (a window longer than the run).
#
# usage: tests/bench-disk.sh [NAMES] [WINDOW]        (defaults: 20000 names, 100 versions kept)
# env:   WORK=DIR     scratch folder (default /tmp/sigil-disk-bench; emptied first)
#        BIN=DIR      use the sigild and sigil binaries in DIR instead of building them (release)
#        BENCH=DIR    the shared benchmark helpers (default ../shared/bench beside the repository)
# Needs python3 and curl.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$repo/../shared/bench}
names=${1:-20000}
window=${2:-100}
work=${WORK:-/tmp/sigil-disk-bench}
api=127.0.0.1:18745

if [ -z "${BIN:-}" ]; then
  (cd "$repo" && cargo build -j2 --release --bin sigild --bin sigil)
  BIN=$repo/target/release
fi
rm -rf "$work"
mkdir -p "$work"
python3 "$bench/gen-names.py" "$work/data" "$names" 0 >/dev/null

kept=$window
if [ "$window" = 0 ]; then kept=1000000000; fi
# The import polls the node far more often than the API's per-client default allows.
echo "api_expensive_per_sec = 100000" >"$work/sigil.toml"
"$BIN/sigild" --dev --config "$work/sigil.toml" --data "$work/node" --prune-window-blocks "$kept" \
  --dns-listen 127.0.0.1:0 --api-listen "$api" >"$work/sigild.log" 2>&1 &
cleanup() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  return 0
}
trap cleanup EXIT
for _ in $(seq 300); do grep -q '^sigild ready' "$work/sigild.log" && break; sleep 0.2; done
grep -q '^sigild ready' "$work/sigild.log" || { cat "$work/sigild.log"; echo "sigild did not start" >&2; exit 1; }
pid=$(cat "$work/node/sigild.pid")

export SIGIL_NODE=http://$api SIGIL_KEYSTORE=$work/keys
height() { "$BIN/sigil" --json chain status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tip"]["height"])'; }
"$BIN/sigil" key new bench >/dev/null
start=$(date +%s)
"$BIN/sigil" name import "$work/data/sigil.zone" >"$work/import.log"
imported=$(height)
echo "imported $names names in $(($(date +%s) - start)) s, tip $imported"
du -sb "$work/node" | awk -v n="$names" '{printf "data folder right after the import: %d bytes, %d bytes per name\n", $1, $1 / n}'
if [ "$window" != 0 ]; then
  until [ "$(height)" -gt $((imported + window)) ]; do sleep 1; done
fi
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
pid=
du -sb "$work/node" | awk -v n="$names" -v w="$window" '{printf "data folder, node stopped (pruning %s): %d bytes, %d bytes per name\n", (w == 0 ? "off" : "on, " w " versions kept, " w " blocks after the import"), $1, $1 / n}'
echo "load average: $(cat /proc/loadavg)"
