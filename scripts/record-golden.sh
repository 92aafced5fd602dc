#!/usr/bin/env bash
# Records the golden corpus: `rdpdoctor check --save` against every lab server, and beside each
# observation file the verdict and finding ids that `diagnose` must give for it. The offline test
# crates/cli/tests/golden.rs replays them (no lab needed). Run after a change that is meant to
# alter a diagnosis, with the lab running (lab/start.sh), and review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
# The lab makes new certificates on every start: nothing to remember between recordings.
export RDPDOCTOR_NO_KNOWN_CERTS=1
OUT=crates/cli/tests/golden
mkdir -p "$OUT"
python3 - "$OUT" <<'PY'
import json, subprocess, sys, os
out = sys.argv[1]
servers = json.load(open("lab/state/servers.json"))["servers"]
# Every real server and stand-in; the dripping stand-in needs --full (tested live instead).
skip = {"hostile-drip", "closed"}
# pyrdp-mitm takes seconds per connection and is exercised live (tests/intercept.rs).
for s in servers:
    if s["name"] in skip or s["name"].startswith("pyrdp-"):
        continue
    target = f"{s['host']}:{s['port']}"
    obs_path = os.path.join(out, f"{s['name']}.json")
    r = subprocess.run(["target/debug/rdpdoctor", "check", target, "--timeout", "2",
                        "--save", obs_path, "--json"], capture_output=True, text=True)
    obs = json.load(open(obs_path))
    # Lab ports differ between runs: keep the document, drop nothing; the replay judges it at the
    # time it was recorded.
    at = obs.get("started_at")
    r = subprocess.run(["target/debug/rdpdoctor", "diagnose", obs_path, "--json", "--at", at],
                       capture_output=True, text=True)
    d = json.loads(r.stdout)
    expect = {"at": at, "status": d["verdict"]["status"], "finding": d["verdict"]["finding"],
              "ids": sorted(f["id"] for f in d["findings"]), "exit": r.returncode}
    json.dump(expect, open(os.path.join(out, f"{s['name']}.expect.json"), "w"), indent=1)
    print(f"{s['name']:28} {expect['status']:11} {expect['finding']}")
PY

# The routes a real client takes (lab/gateway.sh's stand-ins): a check through an RD Gateway that
# refuses, a followed redirection, an unreachable one (from the broker's own network namespace), and
# an .rdp file with lines that cannot work. The lab CA is the trust store; the lab account logs on.
python3 - "$OUT" <<'PY'
import json, os, subprocess, sys
out = sys.argv[1]
doc = json.load(open("lab/state/servers.json"))
srv = {s["name"]: s for s in doc["servers"]}
addr = lambda n: f"{srv[n]['host']}:{srv[n]['port']}"
env = dict(os.environ, SSL_CERT_FILE=doc["ca"],
           RDPDOCTOR_PASSWORD=doc["credentials"]["freerdp-nla"]["password"])
rdp = os.path.join(out, "rdp-file-breaks.rdp")
lines = [f"full address:s:{addr('freerdp-nla')}", "enablecredsspsupport:i:0",
         "authentication level:i:1", "made up setting:i:7"]
open(rdp, "wb").write(b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"))
netns = ["nsenter", f"--net=/proc/{srv['broker-unreachable']['pid']}/ns/net"]
cases = {
    "route-gateway-rap-denied": [],
    "route-broker-lb-info-full": [],
    "route-broker-unreachable-full": netns,
    "route-rdp-file-breaks": [],
}
args = {
    "route-gateway-rap-denied": ["--user", "labuser", "--gateway", addr("gateway-rap-denied"), addr("freerdp-nla")],
    "route-broker-lb-info-full": ["--full", addr("broker-lb-info")],
    "route-broker-unreachable-full": ["--full", addr("broker-unreachable")],
    "route-rdp-file-breaks": [rdp],
}
for name, prefix in cases.items():
    obs_path = os.path.join(out, f"{name}.json")
    subprocess.run(prefix + ["target/debug/rdpdoctor", "check", "--timeout", "2", "--save", obs_path,
                             "--json"] + args[name], capture_output=True, text=True, env=env)
    obs = json.load(open(obs_path))
    at = obs.get("started_at")
    r = subprocess.run(["target/debug/rdpdoctor", "diagnose", obs_path, "--json", "--at", at],
                       capture_output=True, text=True, env=env)
    d = json.loads(r.stdout)
    expect = {"at": at, "status": d["verdict"]["status"], "finding": d["verdict"]["finding"],
              "ids": sorted(f["id"] for f in d["findings"]), "exit": r.returncode}
    json.dump(expect, open(os.path.join(out, f"{name}.expect.json"), "w"), indent=1)
    print(f"{name:28} {expect['status']:11} {expect['finding']}")
os.remove(rdp)
PY
