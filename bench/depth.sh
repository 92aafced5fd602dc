#!/usr/bin/env bash
# Benchmark: what `check --udp` and the TTL walk cost, against a peer and the floor, in one run.
#
# Usage: bench/depth.sh [ROUNDS]        (default 5 rounds, interleaved)
#
# Needs both labs running (lab/start.sh, then lab/path/start.sh as root, with the same
# RDPDOCTOR_LAB_BASE_PORT), nmap (lab/install.sh installs it) and an rdpdoctor binary
# (RDPDOCTOR_BENCH_BIN, default target/release/rdpdoctor). Medians of wall-clock ms:
#
#   UDP, on 127.0.0.1 (xrdp-negotiate on TCP, the RDPEUDP responder on UDP):
#     check              rdpdoctor check XRDP                                  (the floor)
#     check --udp answer rdpdoctor check XRDP --udp --udp-port ANSWER
#     check --udp closed rdpdoctor check XRDP --udp                            (ICMP port unreachable)
#     check --udp silent rdpdoctor check XRDP --udp --udp-port SILENT          (two waits)
#     nmap -sU answer    nmap -n -Pn -sU -p ANSWER 127.0.0.1                    (the peer: a UDP scan)
#   TTL walk, in the path lab's client namespace:
#     reset, 1 router    rdpdoctor check 198.18.2.20:3389 (tls-reset: the split retry gets through)
#     reset-all, 1 router / 2 routers, drop 2 routers (tls-reset-all, -deep, tls-drop-deep)
#     nmap --traceroute  nmap -n -Pn -sS -p 3389 --traceroute 198.18.6.20      (the peer: its hops)
#   with the walk's own share read from the check's JSON (observations.path.ttl_walk.elapsed_ms).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-5}
BIN=${RDPDOCTOR_BENCH_BIN:-"$ROOT/target/release/rdpdoctor"}
die() {
  echo "depth.sh: ERROR: $*" >&2
  exit 1
}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[ -x "$BIN" ] || die "$BIN is not an executable: build it (cargo build --release) or set RDPDOCTOR_BENCH_BIN"
for f in lab/state/servers.json lab/state/udp.json lab/path/state/path.json; do
  [ -f "$ROOT/$f" ] || die "$f not found: start lab/start.sh and lab/path/start.sh (as root) first"
done
command -v nmap >/dev/null 2>&1 || die "nmap not found; run lab/install.sh"

exec python3 - "$ROOT" "$BIN" "$ROUNDS" <<'EOF'
import json, statistics, subprocess, sys, time

root, binary, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
load = lambda p: json.load(open(f"{root}/{p}"))
servers = {s["name"]: s for s in load("lab/state/servers.json")["servers"]}
udp = {r["mode"]: r["port"] for r in load("lab/state/udp.json")["responders"]}
path = load("lab/path/state/path.json")
ns = path["namespaces"]["client"]
xrdp = f"127.0.0.1:{servers['xrdp-negotiate']['port']}"
assert servers["xrdp-negotiate"]["host"] == "127.0.0.1"

def check(target, *extra, netns=None):
    cmd = [binary, "check", target, "--json", "--timeout", "2", *extra]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    return cmd

cases = [
    ("check (floor)", check(xrdp)),
    ("check --udp answer", check(xrdp, "--udp", "--udp-port", str(udp["answer"]))),
    ("check --udp closed", check(xrdp, "--udp")),
    ("check --udp silent", check(xrdp, "--udp", "--udp-port", str(udp["silent"]))),
    ("nmap -sU answer", ["nmap", "-n", "-Pn", "-sU", "-p", str(udp["answer"]), "127.0.0.1"]),
    ("walk: reset, 1 router (split gets through)", check("198.18.2.20:3389", netns=ns)),
    ("walk: reset-all, 1 router", check("198.18.2.70:3389", netns=ns)),
    ("walk: reset-all, 2 routers", check("198.18.6.20:3389", netns=ns)),
    ("walk: drop, 2 routers", check("198.18.6.30:3389", netns=ns)),
    ("healthy, 2 routers (no walk)", check("198.18.6.10:3389", netns=ns)),
    ("nmap --traceroute, 2 routers", ["ip", "netns", "exec", ns, "nmap", "-n", "-Pn", "-sS",
                                      "-p", "3389", "--traceroute", "198.18.6.20"]),
]
times = {name: [] for name, _ in cases}
walks = {name: [] for name, _ in cases}
for r in range(rounds):
    order = cases if r % 2 == 0 else list(reversed(cases))
    for name, cmd in order:
        start = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True,
                             env={"RDPDOCTOR_NO_KNOWN_CERTS": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        times[name].append((time.monotonic() - start) * 1000)
        if cmd[0] != "nmap" and "nmap" not in cmd:
            if out.returncode not in (0, 1):
                sys.exit(f"depth.sh: {cmd} exited {out.returncode}: {out.stderr}")
            w = (json.loads(out.stdout)["observations"].get("path") or {}).get("ttl_walk")
            if w:
                walks[name].append(w["elapsed_ms"])
print(f"{'case':45} {'median ms':>10} {'walk ms':>9}")
for name, _ in cases:
    walk = f"{statistics.median(walks[name]):9.0f}" if walks[name] else f"{'-':>9}"
    print(f"{name:45} {statistics.median(times[name]):10.0f} {walk}")
EOF
