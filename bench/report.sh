#!/usr/bin/env bash
# Report benchmark: a 10,000-host scan made from real lab results, turned into a page by
# `rdpdoctor report`, then loaded in headless Chromium. Prints the scan and page sizes, the
# time and peak memory of `report`, and the browser's load time.
#
# The 10,000 lines come from one real `rdpdoctor scan` of the lab (every server, each result
# as the scan wrote it); line i is result i mod N with its target renamed to
# rds-NNNNN.corp.example:3389 and, for results with a certificate, the days left, notAfter and
# thumbprints varied (deterministic seed), so that the timeline has a realistic spread.
#
# Usage: bench/report.sh [HOSTS]     (needs the lab running: lab/start.sh; HOSTS default 10000)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOSTS=${1:-10000}
TARGET=${CARGO_TARGET_DIR:-"$ROOT/target"}
BIN=${RDPDOCTOR_BENCH_BIN:-"$TARGET/release/rdpdoctor"}
if [ -z "${RDPDOCTOR_BENCH_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet -p rdpdoctor)
fi
[ -x "$BIN" ] || { echo "report.sh: $BIN missing" >&2; exit 1; }
[ -f "$ROOT/lab/state/servers.json" ] || { echo "report.sh: the lab is not running; start it with lab/start.sh" >&2; exit 1; }
command -v chromium >/dev/null || { echo "report.sh: chromium missing (scripts/install.sh installs it)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - "$ROOT/lab/state/servers.json" > "$WORK/targets.txt" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["servers"]:
    print(f'{s["host"]}:{s["port"]}')
PY
"$BIN" scan --quiet --timeout 3 -i "$WORK/targets.txt" -o "$WORK/lab.jsonl" 2>/dev/null || [ $? -eq 1 ]

python3 - "$WORK/lab.jsonl" "$HOSTS" > "$WORK/fleet.jsonl" <<'PY'
import hashlib, json, random, sys
from datetime import datetime, timedelta, timezone
base = [l for l in open(sys.argv[1]) if l.strip()]
hosts = int(sys.argv[2])
rng = random.Random(17)
for i in range(hosts):
    line = base[i % len(base)]
    old = json.loads(line)["target"]
    new = f"rds-{i:05d}.corp.example:3389"
    v = json.loads(line.replace(old, new))
    c = v.get("facts", {}).get("certificate")
    if c:
        # Most certificates are fine, some expire soon, a few have expired.
        days = rng.choice([rng.randint(-400, -1)] + [rng.randint(0, 30)] * 2 + [rng.randint(31, 1100)] * 12)
        old_after = c["not_after_unix"]
        new_after = int(datetime.now(timezone.utc).timestamp()) + days * 86400 + rng.randint(0, 86399)
        c["days_left"] = days
        c["not_after_unix"] = new_after
        c["not_after"] = datetime.fromtimestamp(new_after, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        digest = hashlib.sha256(f"{new}-{i}".encode()).hexdigest()
        c["sha256"] = ":".join(digest[j:j + 2].upper() for j in range(0, 64, 2))
        c["sha1"] = ":".join(digest[j:j + 2].upper() for j in range(0, 40, 2))
    print(json.dumps(v, separators=(",", ":")))
PY

python3 - "$BIN" "$WORK" "$HOSTS" <<'PY'
import os, re, resource, subprocess, sys, time
bin_, work, hosts = sys.argv[1], sys.argv[2], int(sys.argv[3])
scan, page = f"{work}/fleet.jsonl", f"{work}/fleet.html"
times = []
for _ in range(3):
    start = time.perf_counter()
    r = subprocess.run([bin_, "report", scan, "-o", page], capture_output=True, text=True)
    times.append(time.perf_counter() - start)
    if r.returncode != 0:
        sys.exit(f"report.sh: report failed ({r.returncode}): {r.stderr}")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
size = os.path.getsize(page)
print(f"scan:   {hosts} hosts, {os.path.getsize(scan) / 1e6:.1f} MB of JSON Lines")
print(f"report: {size / 1e6:.1f} MB of HTML, made in {min(times):.2f} s (best of 3), peak RSS {peak:.0f} MB")
loads = []
for _ in range(3):
    start = time.perf_counter()
    r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        f"--user-data-dir={work}/profile", "--dump-dom", f"file://{page}"],
                       capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    m = re.search(r'data-ready="(\d+)" data-ready-ms="(\d+)"', r.stdout)
    if not m or int(m.group(1)) != hosts:
        sys.exit(f"report.sh: the page did not finish in chromium: {r.stderr[-2000:]}")
    loads.append((int(m.group(2)), wall))
ready = min(l[0] for l in loads)
wall = min(l[1] for l in loads)
print(f"chromium: page parsed and its script done {ready / 1000:.2f} s after navigation start; "
      f"whole headless run (browser start, load, DOM dump) {wall:.2f} s (best of 3)")
start = time.perf_counter()
subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--user-data-dir={work}/profile", "--window-size=1200,1600", f"--screenshot={work}/shot.png",
                f"file://{page}#sort=expiry"], capture_output=True, timeout=300)
print(f"chromium: first screenshot (layout and paint included) after {time.perf_counter() - start:.2f} s")
PY
