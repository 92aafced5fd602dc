#!/usr/bin/env bash
# Benchmark: rdpdoctor check vs. nmap's RDP scripts against the local lab (loopback only).
#
# Usage: bench/vs-nmap.sh [ROUNDS]        (default 5 rounds)
#
# Needs the lab running (lab/start.sh; reads lab/state/servers.json) and the release binary
# target/release/rdpdoctor (built with `cargo build --release` if missing).
# For the servers xrdp-negotiate, freerdp-nla, xrdp-rdp-only and xrdp-tls10-only it times, round by
# round and interleaved (the order of the two tools alternates between rounds):
#   target/release/rdpdoctor check 127.0.0.1:PORT --json >/dev/null     (exit 0 or 1 = OK)
#   nmap -n -Pn -p PORT --script +rdp-enum-encryption,+rdp-ntlm-info 127.0.0.1 >/dev/null
# and prints wall-clock medians in ms and the ratio nmap/rdpdoctor.
#
# Env:
#   RDPDOCTOR_BENCH_TOOLS=nmap   time nmap only (e.g. while the binary does not exist yet)
#   RDPDOCTOR_BENCH_SERVERS=a,b  override the server list (names from servers.json)
#   RDPDOCTOR_BENCH_BIN=path     use another rdpdoctor binary (then nothing is built)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-5}
SERVERS_JSON="$ROOT/lab/state/servers.json"
BIN=${RDPDOCTOR_BENCH_BIN:-"$ROOT/target/release/rdpdoctor"}
TOOLS=${RDPDOCTOR_BENCH_TOOLS:-rdpdoctor,nmap}
SERVERS=${RDPDOCTOR_BENCH_SERVERS:-xrdp-negotiate,freerdp-nla,xrdp-rdp-only,xrdp-tls10-only}

die() {
  echo "vs-nmap.sh: ERROR: $*" >&2
  exit 1
}

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[ -f "$SERVERS_JSON" ] || die "$SERVERS_JSON not found: the lab is not running; start it with lab/start.sh"
case ",$TOOLS," in
  *,nmap,*) command -v nmap >/dev/null 2>&1 || die "nmap not found; run lab/install.sh" ;;
esac
if [[ ",$TOOLS," == *,rdpdoctor,* ]] && [ ! -x "$BIN" ] && [ -z "${RDPDOCTOR_BENCH_BIN:-}" ]; then
  echo "vs-nmap.sh: $BIN missing; building it with cargo build --release" >&2
  (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
  [ -x "$BIN" ] || die "cargo build --release did not produce $BIN"
fi
if [[ ",$TOOLS," == *,rdpdoctor,* ]]; then
  [ -x "$BIN" ] || die "$BIN is not an executable"
fi
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[ -n "$PYTHON" ] || die "python3 not found"

exec "$PYTHON" - "$SERVERS_JSON" "$BIN" "$ROUNDS" "$TOOLS" "$SERVERS" <<'EOF'
import json, os, statistics, subprocess, sys, time

servers_json, binary, rounds, tools, wanted = sys.argv[1:]
rounds = int(rounds)
tools = [t for t in tools.split(",") if t]
wanted = [s for s in wanted.split(",") if s]

def die(msg):
    sys.exit(f"vs-nmap.sh: ERROR: {msg}")

with open(servers_json) as f:
    by_name = {s["name"]: s for s in json.load(f)["servers"]}

targets = []
for name in wanted:
    s = by_name.get(name)
    if s is None:
        die(f"server {name} not in {servers_json}")
    if s["host"] != "127.0.0.1":
        die(f"server {name} is not on loopback ({s['host']}); this benchmark only targets 127.0.0.1")
    pid = s.get("pid")
    try:
        if pid is None:
            raise ProcessLookupError
        os.kill(pid, 0)
    except ProcessLookupError:
        die(f"server {name} (pid {pid}) is not running; restart the lab with lab/start.sh")
    targets.append((name, s["port"]))

def cmd(tool, port):
    if tool == "rdpdoctor":
        return [binary, "check", f"127.0.0.1:{port}", "--json"]
    return ["nmap", "-n", "-Pn", "-p", str(port), "--script",
            "+rdp-enum-encryption,+rdp-ntlm-info", "127.0.0.1"]

OK_CODES = {"rdpdoctor": (0, 1), "nmap": (0,)}

def run(tool, name, port, capture=False):
    c = cmd(tool, port)
    t0 = time.perf_counter()
    p = subprocess.run(c, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t0) * 1000.0
    if p.returncode not in OK_CODES[tool]:
        die(f"{tool} against {name} exited {p.returncode}: {' '.join(c)}\n"
            f"{p.stderr.decode(errors='replace')[-2000:]}")
    return dt, (p.stdout.decode(errors="replace") if capture else "")

# Sanity run (not timed): nmap must really run its RDP scripts on these non-standard ports.
if "nmap" in tools:
    for name, port in targets:
        _, out = run("nmap", name, port, capture=True)
        if "rdp-enum-encryption" not in out and "rdp-ntlm-info" not in out:
            print(f"vs-nmap.sh: WARNING: nmap printed no rdp-* script output for {name}; "
                  f"timings may not be comparable", file=sys.stderr)

times = {(n, t): [] for n, _ in targets for t in tools}
for r in range(rounds):
    order = tools if r % 2 == 0 else list(reversed(tools))
    for name, port in targets:
        for tool in order:
            dt, _ = run(tool, name, port)
            times[(name, tool)].append(dt)
    print(f"round {r + 1}/{rounds} done", file=sys.stderr)

def med(name, tool):
    v = times.get((name, tool))
    return statistics.median(v) if v else None

def fmt(v):
    return "-" if v is None else f"{v:.0f}"

print()
print(f"rdpdoctor vs nmap, {rounds} rounds, median wall-clock ms (127.0.0.1)")
hdr = f"{'server':<18} {'rdpdoctor ms':>13} {'nmap ms':>9} {'ratio nmap/rdpdoctor':>21}"
print(hdr)
print("-" * len(hdr))
for name, port in targets:
    a, b = med(name, "rdpdoctor"), med(name, "nmap")
    ratio = f"{b / a:.1f}x" if a and b else "-"
    print(f"{name:<18} {fmt(a):>13} {fmt(b):>9} {ratio:>21}")
EOF
