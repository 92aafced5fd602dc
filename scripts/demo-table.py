#!/usr/bin/env python3
"""The table demo.sh prints: one line per lab server (lab/state/servers.json), checked the way
that shows its fault. Most servers need a plain `rdpdoctor check`; the others say in the last
column what they were checked with (the full connection, a logon, the client matrix, the real
server's fingerprint, or `compare` for a route that leads elsewhere). A route in front of the lab's
NLA server gets the lab account; a hostile server only ever gets a throwaway canary password.

    scripts/demo-table.py [BINARY]      (default target/release/rdpdoctor; run from the repository)
"""
import json
import os
import subprocess
import sys
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/rdpdoctor"
CANARY = "demo-canary-not-a-password"
doc = json.load(open("lab/state/servers.json"))
servers = doc["servers"]
lab = doc["credentials"]["freerdp-nla"]
port = {s["name"]: s["port"] for s in servers}

# name -> (extra arguments, password or None). "PIN:NAME" is replaced by the SHA-256 of the
# certificate NAME presented when it was checked directly (an interceptor shows against the
# fingerprint of the real server; interceptors also answer slowly, seconds per connection).
SPECIAL = {
    "xrdp-ecdhe-aead": (["--clients"], None),
    "xrdp-rsa-cbc": (["--clients"], None),
    # Standard RDP Security: the full connection runs through its encryption (RC4 High and Low,
    # FIPS, level None) to the session; the client matrix shows who the salted MAC shuts out.
    "xrdp-rdp-only": (["--full", "--clients"], None),
    "xrdp-rdp-low": (["--full"], None),
    "xrdp-rdp-fips": (["--full"], None),
    "freerdp-rdp": (["--full"], None),
    "standin-errorinfo": (["--full"], None),
    "hostile-harvest-tls": (["--full", "--user", "canary"], CANARY),
    "hostile-harvest-rdp": (["--full", "--user", "canary"], CANARY),
    # A frame every 1.5 s keeps each 2 s read alive: the full check runs to its overall deadline.
    "hostile-drip": (["--full"], None),
    "hostile-badpubkey": (["--user", "canary"], CANARY),
    "route-lb-nla": (["--full", "--user", lab["user"], "--hold", "8"], lab["password"]),
    "route-tunnel": (["--full", "--user", lab["user"]], lab["password"]),
    "pyrdp-xrdp": (["--timeout", "20", "--connections", "2", "--cert-sha256", "PIN:xrdp-negotiate"], None),
    "pyrdp-nla": (["--timeout", "20", "--connections", "2", "--cert-sha256", "PIN:freerdp-nla"], None),
    "pyrdp-farm": (["--timeout", "20", "--connections", "2", "--cert-sha256", "PIN:farm-a"], None),
    # The user name picks what the stand-in answers to the NTLM AUTHENTICATE (here: no pubKeyAuth).
    "hostile-authanswer": (["--user", "nopubkey"], CANARY),
    "hostile-frameflood": (["--full"], None),
    "hostile-badsequence": (["--full"], None),
    "hostile-deactivate": (["--full", "--hold", "5"], None),
    # A broker's Server Redirection PDU comes after licensing: only the full connection sees it.
    "broker-lb-info": (["--full"], None),
    "broker-net-address": (["--full"], None),
    "broker-unreachable": (["--full"], None),
}
# Not RDP servers: the table says what they are and where they are checked instead.
NOT_CHECKED = {}
# RD Gateway stand-ins: the lab's NLA server is checked through each (`check --gateway`), with the
# lab account; the gateways with a bad certificate get the canary (it is never sent to them). The
# lab CA is the trust store of these rows, as a client that trusts the gateway's CA has it.
GATEWAY_TARGET = "freerdp-nla"
GATEWAY_CANARY = {"gateway-expired-cert", "gateway-wrong-name"}
CA = doc.get("ca")
# A misrouted load balancer is a difference between two routes: `compare`, not `check`.
COMPARE = {"route-misrouted": "freerdp-nla"}
results = {}


def run(args, password, ca=None):
    env = dict(os.environ)
    env.pop("RDPDOCTOR_PASSWORD", None)
    if password:
        env["RDPDOCTOR_PASSWORD"] = password
    if ca:
        env["SSL_CERT_FILE"] = ca
    start = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    return r, (time.perf_counter() - start) * 1000


def pinned(arg):
    if not arg.startswith("PIN:"):
        return arg
    cert = results.get(arg[4:], {}).get("facts", {}).get("certificate") or {}
    return cert.get("sha256", "")


def compare_row(name, target):
    other = f"127.0.0.1:{port[COMPARE[name]]}"
    r, ms = run([BIN, "compare", other, target, "--json", "--timeout", "2"], None)
    try:
        v = json.loads(r.stdout)
    except ValueError:
        return f"{name:28} {target:17} error: {r.stderr.strip()}"
    status = "not-transparent" if v.get("not_transparent") else "transparent"
    diff = ", ".join(d["field"] for d in v.get("differences", []) if d.get("not_transparent"))
    return f"{name:28} {target:17} {status:15} {diff[:46]:46} {ms:6.0f} {r.returncode:4}  compare {other} {target}"


def check_row(name, target, server):
    extra, password = SPECIAL.get(name, ([], None))
    extra = [pinned(a) for a in extra]
    ca = None
    if server["kind"] == "gateway":
        # The gateway is the route; the server behind it is the target.
        password = CANARY if name in GATEWAY_CANARY else lab["password"]
        extra = ["--gateway", target, "--user", lab["user"]]
        if name == "gateway-idle-drop":
            # The drop comes after 5 idle seconds in the tunnel: hold the session past it.
            extra += ["--full", "--hold", "8"]
        target = f"127.0.0.1:{port[GATEWAY_TARGET]}"
        ca = CA
    timeout = [] if "--timeout" in extra else ["--timeout", "2"]
    # A server in its own network namespace (only lo) is checked from inside it.
    inside = ["nsenter", f"--net=/proc/{server['pid']}/ns/net"] if server["kind"] == "broker-netns" else []
    r, ms = run(inside + [BIN, "check", target, "--json"] + timeout + extra, password, ca)
    try:
        v = json.loads(r.stdout)
    except ValueError:
        return f"{name:28} {target:17} error: {r.stderr.strip()}"
    results[name] = v
    verdict = v["verdict"]
    others = [f["id"] for f in v["findings"] if f["id"] != verdict["finding"]]
    finding = str(verdict["finding"] or "-") + (f" (+ {', '.join(others)})" if others else "")
    how = " ".join(a if len(a) < 20 else a[:8] + "..." for a in extra) or "-"
    if inside:
        how += " (inside its network namespace)"
    session = (v.get("observations") or {}).get("session")
    if session:
        # Where the full connection really ended, and over what.
        how += f" -> {session.get('phase')}"
        enc = session.get("encryption")
        if enc:
            how += f" (encrypted, method 0x{enc.get('method', 0):02x})"
    return f"{name:28} {target:17} {verdict['status']:15} {finding[:46]:46} {ms:6.0f} {r.returncode:4}  {how}"


print(f"{'server':28} {'target':17} {'verdict':15} {'finding (+ the others)':46} {'ms':>6} exit  checked with")
for s in servers:
    target = f"{s['host']}:{s['port']}"
    if s["kind"] in NOT_CHECKED:
        print(f"{s['name']:28} {target:17} {'not checked':15} {NOT_CHECKED[s['kind']]}", flush=True)
    elif s["name"] in COMPARE:
        print(compare_row(s["name"], target), flush=True)
    else:
        print(check_row(s["name"], target, s), flush=True)
