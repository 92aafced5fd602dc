#!/usr/bin/env bash
# Starts the lab (real xrdp and freerdp-shadow servers plus scripted stand-ins, all on
# 127.0.0.1) and checks every server once, printing target, verdict and the finding that
# explains it. The lab keeps running afterwards so you can try rdpdoctor on it yourself;
# `lab/stop.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install.sh
# The lab makes new certificates on every start, so remembering them (--known-certs) across runs
# would report every lab server as cert-changed: tests that need it pass --known-certs FILE.
export RDPDOCTOR_NO_KNOWN_CERTS=1
cargo build --release --quiet
lab/start.sh

python3 - <<'PY'
import json, subprocess, time
servers = json.load(open("lab/state/servers.json"))["servers"]
print(f"{'server':28} {'target':17} {'verdict':12} {'finding':22} {'ms':>6}  exit")
for s in servers:
    target = f"{s['host']}:{s['port']}"
    args = ["target/release/rdpdoctor", "check", target, "--json", "--timeout", "2"]
    start = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    try:
        v = json.loads(r.stdout)["verdict"]
        print(f"{s['name']:28} {target:17} {v['status']:12} {str(v['finding'] or '-'):22} {ms:6.0f}  {r.returncode}")
    except ValueError:
        print(f"{s['name']:28} {target:17} error: {r.stderr.strip()}")
PY
echo
echo "Try: target/release/rdpdoctor check 127.0.0.1:$(( ${RDPDOCTOR_LAB_BASE_PORT:-13389} + 1 ))   (the lab keeps running; stop it with lab/stop.sh)"
