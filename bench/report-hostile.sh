#!/usr/bin/env bash
# Report benchmark on hostile scan files: how long `rdpdoctor report` takes and how much memory
# it holds when every line names another client profile, and when the targets are huge. No lab
# needed: the template line is `rdpdoctor diagnose` of a golden observation (the same JSON a
# scan writes per host).
#
#   bench/report-hostile.sh [LINES]     (LINES of unique client ids, default 100000)
#   RDPDOCTOR_BENCH_BIN=path/to/rdpdoctor bench/report-hostile.sh    (another build, e.g. an older one)
#
# Prints, per input: lines and size, wall time, peak RSS, and the page's size. Measured with
# /usr/bin/time (GNU time) when present, else Python's resource module.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LINES=${1:-100000}
TARGET=${CARGO_TARGET_DIR:-"$ROOT/target"}
BIN=${RDPDOCTOR_BENCH_BIN:-"$TARGET/release/rdpdoctor"}
if [ -z "${RDPDOCTOR_BENCH_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet -p rdpdoctor)
fi
[ -x "$BIN" ] || { echo "report-hostile.sh: $BIN missing" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RDPDOCTOR_NO_KNOWN_CERTS=1 "$BIN" diagnose "$ROOT/crates/cli/tests/golden/xrdp-expiring.json" \
  --json >"$WORK/template.json" || [ $? -eq 1 ]

python3 - "$WORK" "$LINES" <<'PY'
import json, sys
work, lines = sys.argv[1], int(sys.argv[2])
t = json.load(open(f"{work}/template.json"))
# Small result lines (a healthy host and one client), each naming a client id of its own: what
# made the client matrix quadratic. The same at a tenth of the lines shows how time scales.
small = {"verdict": {"status": "healthy", "finding": None, "summary": "Healthy"},
         "findings": [], "facts": {}}
for name, n in [("clients-tenth.jsonl", lines // 10), ("clients.jsonl", lines)]:
    with open(f"{work}/{name}", "w") as f:
        for i in range(n):
            small["target"] = f"rds-{i:06d}.corp.example:3389"
            small["clients"] = [{"id": f"client-{i}", "name": f"Client {i}", "outcome": "fails",
                                 "step": "tls", "reason": "no common TLS version"}]
            f.write(json.dumps(small, separators=(",", ":")) + "\n")
# 20 lines whose target is 15 MB (a line stays under report's 16 MiB line limit).
t.pop("clients", None)
with open(f"{work}/huge-targets.jsonl", "w") as f:
    for i in range(20):
        t["target"] = f"{i}-" + "a" * 15_000_000
        f.write(json.dumps(t, separators=(",", ":")) + "\n")
PY

python3 - "$BIN" "$WORK" <<'PY'
import os, resource, subprocess, sys, time
bin_, work = sys.argv[1], sys.argv[2]
for name in ["clients-tenth.jsonl", "clients.jsonl", "huge-targets.jsonl"]:
    src, page = f"{work}/{name}", f"{work}/{name}.html"
    lines = sum(1 for _ in open(src, "rb"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", bin_, "report", src, "-o", page],
                       capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kb = int(r.stderr.strip().splitlines()[-1])
    size = os.path.getsize(page) if os.path.exists(page) else 0
    print(f"{name}: {lines} lines, {os.path.getsize(src) / 1e6:.1f} MB in; report {wall:.2f} s, "
          f"peak RSS {peak_kb / 1024:.0f} MB, page {size / 1e6:.1f} MB, exit {r.returncode}")
PY
