#!/usr/bin/env bash
# CPU of sigild per query: N queries from one kdig process, over UDP, over one TCP connection,
# over one TLS connection and over one HTTPS connection; sigild's utime+stime before and after.
# Needs kdig (knot-dnsutils) and a release build: cargo build --release --workspace --bins.
# Usage: [N=20000] tests/scripts/dns_cpu_per_query.sh [path/to/sigild]
set -euo pipefail
BIN=${1:-$(dirname "$0")/../../target/release/sigild}
N=${N:-20000}
D=$(mktemp -d)
nice -n 19 "$BIN" --dev --data "$D/data" --dns-listen 127.0.0.1:0 --api-listen 127.0.0.1:0 --rrl-responses-per-second 0 \
  --dot-listen 127.0.0.1:0 --doh-listen 127.0.0.1:0 > "$D/out" 2> "$D/err" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do grep -q 'sigild ready' "$D/out" && break; sleep 0.1; done
L=$(cat "$D/out")
DNS=$(grep -o 'dns=[^ ]*' <<<"$L" | cut -d: -f2)
DOT=$(grep -o 'dot=[^ ]*' <<<"$L" | cut -d: -f2)
DOH=$(grep -o 'doh=[^ ]*' <<<"$L" | sed 's/.*127.0.0.1:\([0-9]*\).*/\1/')
PIN=$(grep -o 'tls-pin=[^ ]*' <<<"$L" | cut -d= -f2-)
Q=$(for _ in $(seq "$N"); do printf 'sigil. NS '; done)
ticks() { awk '{print $14+$15}' /proc/$PID/stat; }
run() { # name, port, kdig options...
  local name=$1 port=$2; shift 2
  nice -n 19 kdig @127.0.0.1 -p "$port" "$@" +short sigil. NS > /dev/null # warm
  local t0 c0 c1 t1 answers
  c0=$(ticks); t0=$(date +%s.%N)
  answers=$(nice -n 19 kdig @127.0.0.1 -p "$port" "$@" +short $Q | grep -c '^ns1.sigil.$' || true)
  t1=$(date +%s.%N); c1=$(ticks)
  awk -v n="$N" -v a="$answers" -v c="$((c1 - c0))" -v w="$(echo "$t1 - $t0" | bc)" -v name="$name" \
    'BEGIN { printf "%-28s %6d answers  sigild CPU %6.1f us/query  (wall %.1f s)\n", name, a, c * 10000 / n, w }'
}
run "UDP" "$DNS" +notcp
run "TCP, one connection" "$DNS" +tcp +keepopen
run "TLS (DoT), one connection" "$DOT" +tls +tls-pin="$PIN" +keepopen
run "HTTPS (DoH), one connection" "$DOH" +https +tls-pin="$PIN" +keepopen
