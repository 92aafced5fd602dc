#!/usr/bin/env bash
# Benchmark: a whole `rdpdoctor check` through the lab's RD Gateway stand-in against the same check
# made directly, in one run, interleaved round by round (the order reverses every other round),
# loopback only. Prints the median wall time of each, the ratio, and the probe connections each
# check opened (direct: observations.tcp.samples_ms; gateway: the channels, one per connection,
# counted in the gateway stand-in's log as channel creates).
#
# Usage: bench/gateway-check.sh [BINARY] [ROUNDS]   (default target/release/rdpdoctor, 15 rounds)
#
# Needs the lab running (lab/start.sh with the same RDPDOCTOR_LAB_BASE_PORT). Env:
#   RDPDOCTOR_BENCH_TARGET=name   the session host (default xrdp-negotiate: freerdp-nla answers
#                                 one connection at a time, about 55 ms each, which then dominates)
#   RDPDOCTOR_BENCH_GATEWAY=name  the gateway (default gateway-healthy: WebSocket; use
#                                 gateway-no-websocket for the two HTTP channels)
# No timing is asserted anywhere: this prints numbers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/target/release/rdpdoctor}
ROUNDS=${2:-15}
TARGET=${RDPDOCTOR_BENCH_TARGET:-xrdp-negotiate}
GATEWAY=${RDPDOCTOR_BENCH_GATEWAY:-gateway-healthy}

die() {
  echo "gateway-check.sh: ERROR: $*" >&2
  exit 1
}

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[ -x "$BIN" ] || die "$BIN is not an executable; build it (cargo build --release) or give its path"
STATE="$ROOT/lab/state/servers.json"
[ -f "$STATE" ] || die "$STATE not found: the lab is not running; start it with lab/start.sh"

exec python3 - "$BIN" "$ROUNDS" "$TARGET" "$GATEWAY" "$STATE" "$ROOT" <<'PY'
import json, os, statistics, subprocess, sys, time

binary, rounds, target, gateway, state, root = sys.argv[1:7]
doc = json.load(open(state))
servers = {s["name"]: s for s in doc["servers"]}
for name in (target, gateway):
    if name not in servers:
        sys.exit(f"gateway-check.sh: ERROR: no lab server named {name} in {state}")
addr = lambda n: f"{servers[n]['host']}:{servers[n]['port']}"
log = os.path.join(root, servers[gateway]["log"])
env = dict(os.environ,
           SSL_CERT_FILE=os.path.join(root, doc["ca"]),
           RDPDOCTOR_PASSWORD=doc["credentials"]["freerdp-nla"]["password"],
           RDPDOCTOR_NO_KNOWN_CERTS="1")
user = doc["credentials"]["freerdp-nla"]["user"]
runs = {
    "direct": [binary, "check", "--json", "--user", user, addr(target)],
    "gateway": [binary, "check", "--json", "--user", user, "--gateway", addr(gateway), addr(target)],
}
times = {k: [] for k in runs}
connections = {k: [] for k in runs}
verdicts = {}


def tunnels():
    with open(log, "rb") as f:
        return f.read().count(b": channel create to ")


for r in range(int(rounds)):
    order = list(runs) if r % 2 == 0 else list(reversed(list(runs)))
    for kind in order:
        before = tunnels()
        start = time.perf_counter()
        out = subprocess.run(runs[kind], capture_output=True, text=True, env=env)
        times[kind].append((time.perf_counter() - start) * 1000)
        v = json.loads(out.stdout)
        verdicts.setdefault(kind, (v["verdict"]["status"], v["verdict"]["finding"]))
        if verdicts[kind] != verdicts.get("direct", verdicts[kind]):
            sys.exit(f"gateway-check.sh: ERROR: the checks disagree: {verdicts}; a bench compares the same check")
        if kind == "direct":
            connections[kind].append(len(v["observations"]["tcp"]["samples_ms"]))
        else:
            connections[kind].append(tunnels() - before)

med = {k: statistics.median(v) for k, v in times.items()}
print(f"target {target} ({addr(target)}), gateway {gateway} ({addr(gateway)}), {rounds} interleaved rounds")
for k in runs:
    print(f"{k:8} median {med[k]:7.1f} ms   connections {statistics.median(connections[k]):.0f}")
print(f"ratio gateway/direct {med['gateway'] / med['direct']:.2f}x")
PY
