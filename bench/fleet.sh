#!/usr/bin/env bash
# Fleet benchmark, loopback only: scan throughput over a closed 127.x range, peak memory for
# 65,536 targets, throughput of full checks against the lab servers, and (with --nmap) the
# per-host time of nmap's RDP scripts as a ratio to rdpdoctor (bench/vs-nmap.sh).
#
# Usage: bench/fleet.sh [--nmap]     (needs the lab running for the second part: lab/start.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${RDPDOCTOR_BENCH_BIN:-"$ROOT/target/release/rdpdoctor"}
if [ -z "${RDPDOCTOR_BENCH_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$BIN" ] || { echo "fleet.sh: $BIN missing" >&2; exit 1; }
[ -f "$ROOT/lab/state/servers.json" ] || { echo "fleet.sh: the lab is not running; start it with lab/start.sh" >&2; exit 1; }

python3 - "$BIN" "$ROOT" <<'PY'
import json, os, resource, subprocess, sys, tempfile, time

bin_, root = sys.argv[1], sys.argv[2]

def run(args, label):
    out = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl").name
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    r = subprocess.run([bin_, "scan", *args, "--output", out, "--quiet"], capture_output=True, text=True)
    secs = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if r.returncode not in (0, 1):
        sys.exit(f"fleet.sh: {label} failed ({r.returncode}): {r.stderr}")
    with open(out) as f:
        n = sum(1 for _ in f)
    os.unlink(out)
    print(f"{label:52} {n:7d} hosts {secs:7.2f} s {n/secs:9.0f} hosts/s  peak RSS {peak_kb/1024:6.1f} MB")
    return n, secs, peak_kb

print("rdpdoctor scan, loopback only")
# 127.1.0.0/16: 65,534 addresses, nothing listens on 3389 there: every check ends at TCP.
run(["127.1.0.0/16", "--port", "3389"], "closed range 127.1.0.0/16 (65,534 targets)")
# 65,536 targets exactly, for the memory figure: the /16 plus two more addresses.
run(["127.2.0.0/16", "127.3.0.1", "127.3.0.2", "--port", "3389", "--max-targets", "65536"], "65,536 targets (memory)")

servers = json.load(open(os.path.join(root, "lab/state/servers.json")))["servers"]
real = [f"{s['host']}:{s['port']}" for s in servers if s["kind"] in ("xrdp", "freerdp-shadow")]
rounds = 20
listing = tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt")
for _ in range(rounds):
    listing.write("\n".join(real) + "\n")
listing.close()
run(["-i", listing.name, "--concurrency", "64"], f"full checks: {len(real)} lab servers x {rounds}")
os.unlink(listing.name)
PY

if [ "${1:-}" = "--nmap" ]; then
  RDPDOCTOR_BENCH_BIN="$BIN" "$ROOT/bench/vs-nmap.sh" 3
fi
