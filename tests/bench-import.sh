#!/usr/bin/env bash
# Import at scale: starts a fresh release `sigild --dev`, imports NAMES generated names with
# `sigil name import` (default pipeline) and prints the three figures of issue 13 for them:
#  - transactions final per second, CLI to finality (two a name), beside what the node did in
#    the same run: blocks per second and transactions per block during the import, and the
#    ceiling one signer's pending bound sets at that pace (1,000, or 5,000 on borrowed room);
#  - disk bytes per name of the data folder after the import, after WINDOW more blocks past the
#    reveal window (so pruning catches up: the commitments' reveal-window entries are deleted
#    up to a reveal window after the import, and the nodes that deletion makes stale go a
#    WINDOW later), and after a restart (which compacts a mostly free redb file), split by part
#    (blocks, tree, indexes) with `sigild store-usage`;
#  - the node's resident memory (VmRSS, VmHWM) after the import and after answering DNS for a
#    sample of the names.
#
# usage: tests/bench-import.sh [NAMES] [WINDOW]      (defaults: 100000 names, 1000 versions kept)
#        WINDOW 0 turns pruning off (no wait after the import).
# env:   WORK=DIR     scratch folder (default /tmp/sigil-import-bench; emptied first)
#        BIN=DIR      use the sigild and sigil binaries in DIR (default target/release, built
#                     with `cargo build -j2 --release --workspace --bins` when absent)
#        QUERIES=N    DNS questions asked of the sample (default 20000)
#        IMPORT_ARGS  more `sigil name import` flags, e.g. "--in-flight 8"
#        PERF=1       record CPU profiles of sigild and of the CLI during the import (WORK/perf.data,
#                     WORK/perf-cli.data; needs perf)
#        BENCH=DIR    the shared benchmark helpers (default ../shared/bench beside the repository)
#        API_PORT, DNS_PORT  the node's ports on 127.0.0.1 (default 18845, 18853)
# Run it under `nice -n 19` on a shared machine. Needs python3, curl, bc and GNU time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$repo/../shared/bench}
names=${1:-100000}
window=${2:-1000}
queries=${QUERIES:-20000}
work=${WORK:-/tmp/sigil-import-bench}
api=127.0.0.1:${API_PORT:-18845}
dns_port=${DNS_PORT:-18853}
# Longest waits: the import, and the node's start (a restart may compact a large file).
import_timeout=7200
start_timeout=600

if [ -z "${BIN:-}" ]; then
  BIN=$repo/target/release
  if [ ! -x "$BIN/sigild" ] || [ ! -x "$BIN/sigil" ]; then
    (cd "$repo" && cargo build -j2 --release --workspace --bins)
  fi
fi
rm -rf "$work"
mkdir -p "$work"
python3 "$bench/gen-names.py" "$work/data" "$names" "$queries" >/dev/null

kept=$window
if [ "$window" = 0 ]; then kept=1000000000; fi
# The import polls the node far more often than the API's per-client default allows.
echo "api_expensive_per_sec = 100000" >"$work/sigil.toml"
export SIGIL_NODE=http://$api SIGIL_KEYSTORE=$work/keys

pid=
start_node() {
  : >"$work/sigild.log"
  "$BIN/sigild" --dev --config "$work/sigil.toml" --data "$work/node" --prune-window-blocks "$kept" \
    --dns-listen "127.0.0.1:$dns_port" --api-listen "$api" >>"$work/sigild.log" 2>&1 &
  local waited=0
  until grep -q '^sigild ready' "$work/sigild.log"; do
    if [ "$waited" -ge $((start_timeout * 5)) ] || ! kill -0 $! 2>/dev/null; then
      cat "$work/sigild.log"
      echo "sigild did not start" >&2
      exit 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  pid=$(cat "$work/node/sigild.pid")
}
stop_node() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    pid=
  fi
}
cleanup() {
  stop_node
  if [ -n "${perf_pid:-}" ]; then wait "$perf_pid" 2>/dev/null || true; fi
  return 0
}
trap cleanup EXIT

status() { curl -sf "http://$api/v1/status"; }
height() { status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tip"]["height"])'; }
memory() {
  awk -v what="$1" '/^VmRSS|^VmHWM/ { kb[$1] = $2 } END {
    printf "memory %s: VmRSS %.1f MiB, VmHWM %.1f MiB\n", what, kb["VmRSS:"] / 1024, kb["VmHWM:"] / 1024 }' \
    "/proc/$pid/status"
}
folder() {
  du -sb "$work/node" | awk -v n="$names" -v what="$1" \
    '{ printf "disk %s: data folder %.0f bytes, %.0f bytes per name\n", what, $1, $1 / n }'
}
usage() {
  echo "disk $1, by part (sigild store-usage; bytes, and bytes per name):"
  "$BIN/sigild" --data "$work/node" store-usage --per "$names" | sed 's/^/  /'
}
load() { echo "load average $1: $(cut -d' ' -f1-3 /proc/loadavg)"; }

start_node
"$BIN/sigil" key new bench >/dev/null
param() { status | python3 -c "import json,sys; print(json.load(sys.stdin)['params']['$1'])"; }
interval_ms=$(param block_interval_ms)
reveal_max=$(param reveal_max_blocks)
h0=$(height)
load "before the import"
if [ "${PERF:-}" = 1 ]; then
  perf record -g -o "$work/perf.data" -p "$pid" >/dev/null 2>&1 &
  perf_pid=$!
fi
# CPU seconds (user + system) a process has used, from /proc.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }
node_cpu0=$(cpu_seconds "$pid")
cli=("$BIN/sigil")
if [ "${PERF:-}" = 1 ]; then cli=(perf record -g -o "$work/perf-cli.data" -- "$BIN/sigil"); fi
t0=$(date +%s.%N)
# shellcheck disable=SC2086 # IMPORT_ARGS is a list of flags
/usr/bin/env time -f '%U %S' -o "$work/cli-time" timeout "$import_timeout" "${cli[@]}" --json name import \
  "$work/data/sigil.zone" ${IMPORT_ARGS:-} >"$work/import.json"
t1=$(date +%s.%N)
node_cpu1=$(cpu_seconds "$pid")
awk -v node="$(echo "$node_cpu1 - $node_cpu0" | bc)" -v secs="$(echo "$t1 - $t0" | bc)" \
  -v cores="$(nproc)" '{ printf "cpu during the import: the CLI %.1f s (%.2f cores), the node %.1f s (%.2f cores), in %.1f s on %d cores\n",
     $1 + $2, ($1 + $2) / secs, node, node / secs, secs, cores }' "$work/cli-time"
h1=$(height)
if [ -n "${perf_pid:-}" ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=
fi
load "after the import"
python3 - "$work/import.json" "$names" "$t0" "$t1" "$h0" "$h1" "$interval_ms" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
names, t0, t1, h0, h1, interval = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
secs, blocks, txs = t1 - t0, max(h1 - h0, 1), 2 * report["registered"]
print(f"import: {report['registered']} of {names} names registered ({len(report['failed'])} failed) in {secs:.1f} s")
print(f"import: {txs / secs:.0f} transactions final per second, CLI to finality ({report['registered'] / secs:.0f} names/s)")
print(f"reference, same run: the node made {blocks} blocks ({blocks / secs:.2f} a second; one every {interval} ms would be "
      f"{1000 / interval:.2f}), {txs / blocks:.0f} transactions a block on average; one signer may have "
      f"1,000 transactions pending (MAX_PENDING_PER_SIGNER), or up to 5,000 on room borrowed while the "
      f"pool is under half full: {1000 * blocks / secs:.0f} to {5000 * blocks / secs:.0f} a second at the blocks' pace")
EOF
memory "after the import"
folder "right after the import (node running)"

# DNS for a sample of the names (the generated queries: A, AAAA, TXT, TLSA, 5% missing names).
python3 - "$work/data/queries.txt" "$dns_port" <<'EOF'
import socket, struct, sys, time
types = {"A": 1, "AAAA": 28, "TXT": 16, "TLSA": 52}
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2)
rcodes, answered, started = {}, 0, time.time()
for qid, line in enumerate(open(sys.argv[1])):
    name, qtype = line.split()
    q = struct.pack(">HHHHHH", qid & 0xFFFF, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", types[qtype], 1)
    sock.sendto(q, ("127.0.0.1", int(sys.argv[2])))
    try:
        reply = sock.recv(4096)
    except socket.timeout:
        rcodes["timeout"] = rcodes.get("timeout", 0) + 1
        continue
    rcode = reply[3] & 15
    rcodes[rcode] = rcodes.get(rcode, 0) + 1
    answered += struct.unpack(">H", reply[6:8])[0] > 0
names = {0: "NOERROR", 3: "NXDOMAIN"}
print(f"dns: {qid + 1} questions in {time.time() - started:.1f} s, {answered} with answers; rcodes: "
      + ", ".join(f"{names.get(k, k)} {v}" for k, v in sorted(rcodes.items(), key=str)))
EOF
memory "after answering DNS"

if [ "$window" != 0 ]; then
  more=$((window + reveal_max + 10))
  echo "waiting for $more more blocks: the reveal window ($reveal_max) and the versions kept ($window), so pruning catches up (about $((more * interval_ms / 1000)) s)"
  until [ "$(height)" -gt $((h1 + more)) ]; do sleep 2; done
  memory "after $more more blocks"
  folder "after $more more blocks (pruning on, $window versions kept)"
else
  echo "pruning off"
fi
stop_node
usage "with the node stopped, the file as the node left it"
load "before the restart"
start_node
grep '^sigild: compacted' "$work/sigild.log" || echo "the restart did not compact the database"
stop_node
folder "after a restart"
usage "after a restart"
load "at the end"
