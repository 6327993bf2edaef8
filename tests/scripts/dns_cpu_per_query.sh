#!/usr/bin/env bash
# CPU of sigild per query: N queries from one kdig process, over UDP, over one TCP connection,
# over one TLS connection and over one HTTPS connection; then DNSSEC-signed answers beside
# unsigned ones (the DO bit: +dnssec): the apex NS from the answer cache over UDP and over TCP,
# and N distinct names that do not exist over UDP (unsigned: the index of
# registered names answers; signed: a ledger read and two signatures each).
# sigild's utime+stime before and after.
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
NX=$(for i in $(seq "$N"); do printf 'nx%d.sigil. A ' "$i"; done)
ticks() { awk '{print $14+$15}' /proc/$PID/stat; }
run() { # name, port, questions, what an answer looks like, kdig options...
  local name=$1 port=$2 questions=$3 answer=$4; shift 4
  nice -n 19 kdig @127.0.0.1 -p "$port" "$@" sigil. NS > /dev/null # warm
  local t0 c0 c1 t1 answers
  c0=$(ticks); t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  answers=$(nice -n 19 kdig @127.0.0.1 -p "$port" "$@" $questions | grep -c "$answer" || true)
  t1=$(date +%s.%N); c1=$(ticks)
  awk -v n="$N" -v a="$answers" -v c="$((c1 - c0))" -v w="$(echo "$t1 - $t0" | bc)" -v name="$name" \
    'BEGIN { printf "%-40s %6d answers  sigild CPU %6.1f us/query  (wall %.1f s)\n", name, a, c * 10000 / n, w }'
}
NS='^ns1.sigil.$'
run "UDP" "$DNS" "$Q" "$NS" +notcp +short
run "TCP, one connection" "$DNS" "$Q" "$NS" +tcp +keepopen +short
run "TLS (DoT), one connection" "$DOT" "$Q" "$NS" +tls +tls-pin="$PIN" +keepopen +short
run "HTTPS (DoH), one connection" "$DOH" "$Q" "$NS" +https +tls-pin="$PIN" +keepopen +short
run "UDP, signed (cached)" "$DNS" "$Q" "$NS" +notcp +dnssec +short
run "TCP, signed (cached), one connection" "$DNS" "$Q" "$NS" +tcp +keepopen +dnssec +short
run "UDP, NXDOMAIN, distinct names" "$DNS" "$NX" 'status: NXDOMAIN' +notcp +noall +header
run "UDP, NXDOMAIN, distinct names, signed" "$DNS" "$NX" 'status: NOERROR' +notcp +dnssec +noall +header
