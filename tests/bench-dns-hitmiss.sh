#!/usr/bin/env bash
# A DNS miss beside a hit: CPU per query of a running server (PID, answering on 127.0.0.1:PORT) for
# two query files made from DATADIR (gen-names.py's): only names that exist (A), and only random
# names that do not (each asked once, so none is in an answer cache). Start the server under
# `taskset -c 0` (e.g. the node tests/bench-dns.sh leaves in WORK/node, with REUSE=1).
# usage: tests/bench-dns-hitmiss.sh DATADIR PORT PID [SECONDS]   (10 s per file by default)
set -eu
data=$1; port=$2; pid=$3; secs=${4:-10}
grep ' A$' "$data/queries.txt" | grep -v '^missing' | head -300000 > "$data/hits.txt"
python3 -c "
import random
r = random.Random(7)
print('\n'.join(f'absent{r.getrandbits(48):012x}.sigil. A' for _ in range(1000000)))" > "$data/misses.txt"
hz=$(getconf CLK_TCK)
ticks() { local t=0; for p in $1 $(pgrep -P "$1"); do t=$((t + $(sed 's/.*) //' /proc/$p/stat | awk '{print $12+$13}'))); done; echo $t; }
for kind in hits misses; do
  t0=$(ticks "$pid")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$data/$kind.txt" -l "$secs" -c 8 -T 1 -q 100 2>&1)
  t1=$(ticks "$pid")
  echo "$out" | awk -v k=$kind -v dt=$((t1 - t0)) -v hz="$hz" '/Queries completed/{n=$3} /Queries per second/{q=$4} /Queries lost/{l=$3}
    END{printf "%s: %.0f qps, %.2f us CPU/query, lost %s\n", k, q, dt * 1e6 / hz / n, l}'
done
