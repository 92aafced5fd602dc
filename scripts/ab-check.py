#!/usr/bin/env python3
"""A/B of `rdpdoctor check --json` between two binaries on every lab server.

Each binary checks each server twice. Timings, dates and round trips are masked; a field that
differs between the two runs of the same binary is noise for that server and is left out; what
is left must be equal between the binaries. Fields only the new binary writes (--new-field) are
reported apart. Exit status 1 when a server differs.

Usage:
  RDPDOCTOR_LAB_BASE_PORT=... lab/start.sh
  scripts/ab-check.py --a OLD_BINARY --b NEW_BINARY [--args '--full'] [--only a,b] [--skip c]
                      [--servers lab/state/servers.json] [--jobs 3] [--new-field route]
  scripts/ab-check.py ... --servers lab/path/state/path.json   (the path lab: each target is
                      checked from its client namespace, with `ip netns exec`)

The environment is passed through (RDPDOCTOR_PASSWORD for --user); RDPDOCTOR_NO_KNOWN_CERTS=1 is
set so remembered certificates play no part.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys

# Values that measure time or the network's state, never the server's behaviour.
MASKED = {
    "elapsed_ms", "duration_ms", "samples_ms", "started_at", "received_at", "server_time",
    "rtt_us", "rttvar_us", "min_rtt_us", "segs_out", "bytes_sent", "bytes_retrans",
    "data_segs_out", "dsack_dups", "total_retrans", "at_secs", "last_secs", "ended_at_secs",
    "held_secs", "session_up_at_secs", "silent_secs", "waited_secs", "answered_after_secs",
    "client_info_at_secs", "seconds", "deactivated_at_secs", "retransmissions",
    # The same, as `facts` sums them up, and the kernel's estimate of the peer's segment size.
    "rtt_min_ms", "rtt_median_ms", "rtt_max_ms", "connect_ms_median", "data_segments",
    "rcv_mss",
}


DURATION = re.compile(r"\d+(\.\d+)? ?(ms|s)\b")


def run(binary, host, port, extra, timeout, netns=None):
    env = dict(os.environ, RDPDOCTOR_NO_KNOWN_CERTS="1")
    cmd = [binary, "check", f"{host}:{port}", "--json"] + extra
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}, None
    try:
        return json.loads(p.stdout), p.returncode
    except json.JSONDecodeError:
        return {"error": f"not JSON (exit {p.returncode}): {p.stderr[-300:]}"}, p.returncode


def flatten(value, path="", out=None):
    """Every leaf as path -> value, masked keys replaced."""
    if out is None:
        out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}" if path else k
            if k in MASKED:
                out[p] = "<masked>"
            else:
                flatten(v, p, out)
        if not value:
            out[path] = "{}"
    elif isinstance(value, list):
        out[f"{path}#len"] = len(value)
        for i, v in enumerate(value):
            flatten(v, f"{path}[{i}]", out)
    elif isinstance(value, str):
        # Durations inside sentences ("... (3.8 ms)", "after 12 ms").
        out[path] = DURATION.sub("<ms>", value)
    else:
        out[path] = value
    return out


def differing(a, b):
    return {p for p in set(a) | set(b) if a.get(p, "<absent>") != b.get(p, "<absent>")}


def under(path, prefixes):
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)


def compare(server, args):
    host, port, name = server["host"], server["port"], server["name"]
    netns = server.get("netns")
    runs = {}
    for side in ("a", "b"):
        binary = getattr(args, side)
        runs[side] = [
            run(binary, host, port, args.extra, args.deadline, netns) for _ in range(2)
        ]
    flat = {s: [flatten(j) for j, _ in runs[s]] for s in runs}
    noise = differing(*flat["a"]) | differing(*flat["b"])
    new = [f"observations.{f}" for f in args.new_field]
    diff = sorted(
        p for p in differing(flat["a"][0], flat["b"][0]) if p not in noise and not under(p, new)
    )
    codes = {s: [c for _, c in runs[s]] for s in runs}
    if codes["a"][0] != codes["b"][0] and codes["a"][0] == codes["a"][1]:
        diff.append(f"exit status {codes['a'][0]} -> {codes['b'][0]}")
    added = {p: flat["b"][0][p] for p in flat["b"][0] if under(p, new)}
    return name, diff, sorted(noise), added


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the binary before")
    ap.add_argument("--b", required=True, help="the binary after")
    ap.add_argument("--args", default="", help="extra check arguments")
    ap.add_argument("--servers", default="lab/state/servers.json")
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--deadline", type=float, default=180.0, help="seconds per run")
    ap.add_argument("--new-field", action="append", default=[], help="observations fields only B writes")
    ap.add_argument("--show-noise", action="store_true", help="list the noisy fields too")
    args = ap.parse_args()
    args.extra = shlex.split(args.args)
    with open(args.servers, encoding="utf-8") as fh:
        doc = json.load(fh)
    if "targets" in doc:
        # The path lab: "host:port" targets, each checked from its client namespace.
        servers = []
        for t in doc["targets"]:
            host, _, port = t["target"].rpartition(":")
            servers.append({"name": t["name"], "host": host.strip("[]"), "port": int(port),
                            "netns": t.get("client_ns")})
    else:
        servers = [s for s in doc["servers"] if s.get("host") and s.get("port")]
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    servers = [s for s in servers if (not only or s["name"] in only) and s["name"] not in skip]
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, diff, noise, added in pool.map(lambda s: compare(s, args), servers):
            extra = f"; new: {json.dumps(added, sort_keys=True)}" if added else ""
            if diff:
                failed += 1
                print(f"DIFF {name} ({len(noise)} noisy fields){extra}")
                for p in diff[:20]:
                    print(f"     {p}")
            else:
                print(f"same {name} ({len(noise)} noisy fields){extra}")
            if args.show_noise and noise:
                print(f"     noise: {', '.join(noise)}")
    print(f"{len(servers) - failed} of {len(servers)} servers the same")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
