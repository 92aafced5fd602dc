#!/usr/bin/env bash
# Benchmark: what the Kerberos logon costs `check --user`, against the floor, in one run.
#
# Usage: bench/kerberos.sh [ROUNDS]        (default 7 rounds, interleaved)
#
# Needs the Kerberos lab (lab/start.sh, then lab/kerberos/start.sh as root, with the same
# RDPDOCTOR_LAB_BASE_PORT) and an rdpdoctor binary (RDPDOCTOR_BENCH_BIN, default
# target/release/rdpdoctor); RDPDOCTOR_BENCH_BASE names a second binary to compare (for example
# one built before the change). Medians of wall-clock ms, in the lab's client namespace:
#
#   name       rdpdoctor check rdp-k.lab.test                       (no logon: the floor)
#   name+user  rdpdoctor check rdp-k.lab.test --user 'LAB\kuser'    (Kerberos logon)
#   addr+user  rdpdoctor check 198.18.65.20 --user 'LAB\kuser'      (NTLM: address target)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-7}
STATE="$ROOT/lab/kerberos/state/kerberos.json"
[ -f "$STATE" ] || { echo "bench/kerberos.sh: the Kerberos lab is not running ($STATE)" >&2; exit 1; }
BIN=${RDPDOCTOR_BENCH_BIN:-$ROOT/target/release/rdpdoctor}
exec python3 - "$STATE" "$ROUNDS" "$BIN" "${RDPDOCTOR_BENCH_BASE:-}" <<'PY'
import json, os, statistics, subprocess, sys, time
state, rounds, binary, base = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ns = state["namespaces"]["client"]
pw = state["accounts"]["normal"]["password"]
bins = {"this": binary} | ({"base": base} if base else {})
cases = {
    "name": ["rdp-k.lab.test"],
    "name+user": ["rdp-k.lab.test", "--user", "LAB\\kuser"],
    "addr+user": [state["addresses"]["host"], "--user", "LAB\\kuser"],
}
env = dict(os.environ, RDPDOCTOR_NO_KNOWN_CERTS="1", RDPDOCTOR_PASSWORD=pw)
times = {(c, b): [] for c in cases for b in bins}
for _ in range(rounds):
    for c, args in cases.items():
        for b, path in bins.items():
            t = time.monotonic()
            subprocess.run(["ip", "netns", "exec", ns, "timeout", "60", path, "check", *args, "--json"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[(c, b)].append((time.monotonic() - t) * 1000)
for (c, b), ts in times.items():
    print(f"{c:10} {b:5} median {statistics.median(ts):6.0f} ms   min {min(ts):6.0f} ms")
PY
