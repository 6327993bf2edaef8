#!/usr/bin/env python3
"""The light resolver's figures on loopback (issue 14), beside the full node's in the same run:
the first answer's latency for uncached names (the peer on loopback), the CPU per cached answer
of the light resolver and of the full node, and the start-up with saved state.

    python3 tests/bench-light.py [NAMES]      # default 1,000 names; release binaries

Builds the release `sigild` and `sigil` first if they are absent (`cargo build -j2 --release
--workspace --bins`); BIN=DIR uses the binaries in DIR instead."""
import os, random, signal, socket, struct, subprocess, sys, tempfile, time

# The whole run is bounded; the nodes it started are stopped on the way out.
signal.signal(signal.SIGALRM, lambda *_: sys.exit("bench-light: timed out after 30 minutes"))
signal.alarm(1800)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_dir = os.environ.get("BIN") or os.path.join(root, "target", "release")
sigild, sigil = os.path.join(bin_dir, "sigild"), os.path.join(bin_dir, "sigil")
if not (os.path.exists(sigild) and os.path.exists(sigil)):
    subprocess.run(["cargo", "build", "-j2", "--release", "--workspace", "--bins"], cwd=root, check=True)
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
work = tempfile.mkdtemp(prefix="sigil-bench-light-")

def packet(name, qtype=1, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.strip(".").split(".")) + b"\0"
    return qid, struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 1)

def ask(sock, addr, name, qtype=1):
    qid, p = packet(name, qtype)
    sock.sendto(p, addr)
    while True:
        data, _ = sock.recvfrom(4096)
        if struct.unpack(">H", data[:2])[0] == qid:
            return data[3] & 0x0F, struct.unpack(">H", data[6:8])[0]

def start(args, data):
    """Starts sigild with `args`; returns it, its ready line's fields and the time it took."""
    t0 = time.monotonic()
    p = subprocess.Popen([sigild] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, RUST_LOG="error"))
    for line in p.stdout:
        if line.startswith("sigild ready:"):
            f = dict(kv.split("=", 1) for kv in line.split()[2:])
            procs.append(p)
            return p, f, time.monotonic() - t0
    p.kill()
    raise SystemExit("no ready line: " + " ".join(args))

def cpu(pid):
    s = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(s[11]) + int(s[12])) / os.sysconf("SC_CLK_TCK")

def addr(f):
    h, port = f["dns"].rsplit(":", 1)
    return (h, int(port))

os.makedirs(work, exist_ok=True)
procs = []
import atexit
atexit.register(lambda: [p.kill() for p in procs])
open(f"{work}/node.toml", "w").write("api_expensive_per_sec = 1000000\n")
full, ff, _ = start(["--dev", "--config", f"{work}/node.toml", "--data", f"{work}/full", "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"], None)
keys = f"{work}/keys"
def cli(*a):
    subprocess.run([sigil, "--node", ff["api"], "--keystore", keys] + list(a), check=True, capture_output=True)
cli("key", "new", "alice")
zone = f"{work}/names.zone"
with open(zone, "w") as z:
    z.write("$ORIGIN sigil.\n$TTL 600\n")
    for i in range(count):
        z.write(f"n{i} A 192.0.2.{i % 250 + 1}\n")
cli("name", "import", zone)
genesis = f"{work}/full/genesis.json"
light_args = ["--light", "--peer", ff["api"], "--genesis", genesis, "--data", f"{work}/light",
              "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
light, lf, _ = start(light_args, None)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.settimeout(10)
la, fa = addr(lf), addr(ff)
ask(sock, la, "warmup.sigil")  # first header
first = []
for i in range(count):
    t = time.perf_counter(); rc, an = ask(sock, la, f"n{i}.sigil"); first.append(time.perf_counter() - t)
    assert rc == 0 and an == 1, (i, rc, an)
first.sort()
print(f"first answer, uncached name: median {first[len(first)//2]*1e3:.2f} ms, p99 {first[int(len(first)*0.99)]*1e3:.2f} ms ({count} names)")
def cached(a, pid, n):
    for i in range(200): ask(sock, a, f"n{i % count}.sigil")
    c0 = cpu(pid); t0 = time.perf_counter()
    for i in range(n): ask(sock, a, f"n{i % 200}.sigil")
    dt = time.perf_counter() - t0; dc = cpu(pid) - c0
    return dt / n * 1e6, dc / n * 1e6
n = 20000
lt, lc = cached(la, light.pid, n)
ft, fc = cached(fa, full.pid, n)
print(f"cached answer, light: {lt:.0f} us round trip, {lc:.1f} us CPU per answer; full node: {ft:.0f} us round trip, {fc:.1f} us CPU per answer ({n} questions each, one client)")
light.terminate(); light.wait()
light, lf, ready = start(light_args, None)
la = addr(lf)
t0 = time.perf_counter(); rc, an = ask(sock, la, "n1.sigil"); t1 = time.perf_counter() - t0
print(f"restart with saved state: ready line after {ready*1e3:.0f} ms (height {lf['height']}), first answer {t1*1e3:.1f} ms later (rcode {rc})")
print("load average:", open("/proc/loadavg").read().split()[:3])
light.terminate(); full.terminate(); light.wait(); full.wait()
