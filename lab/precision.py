#!/usr/bin/env python3
"""Counts, for the lab's healthy enterprise set-ups (lab/farm.sh) and its interceptors (pyrdp-mitm),
which ones a given rdpdoctor binary calls interception-suspected, and what happens to the logon.

    lab/precision.py target/debug/rdpdoctor       # after lab/start.sh (as root: unshare --mount)

Prints one tab-separated line per scenario: kind, scenario, outcome. Use it to compare two builds
(the closing note of issue 20). Everything it connects to is a lab server on 127.0.0.1; the
corp.example names resolve through a private /etc/hosts in a mount namespace of its own."""
import json, os, subprocess, sys, socket, shutil, tempfile

BIN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
servers = {s["name"]: s for s in json.load(open(f"{ROOT}/lab/state/servers.json"))["servers"]}
addr = lambda n: f"127.0.0.1:{servers[n]['port']}"
port = lambda n: servers[n]["port"]
tmp = tempfile.mkdtemp(prefix="h2count-")
SLOW = ["--timeout", "20", "--connections", "2"]
CA = f"{ROOT}/lab/state/certs/ca.pem"

def run(args, password=None, wrap=None, env_extra=None):
    env = dict(os.environ, RDPDOCTOR_NO_KNOWN_CERTS="1")
    if password: env["RDPDOCTOR_PASSWORD"] = password
    if env_extra: env.update(env_extra)
    cmd = (wrap or []) + [BIN, "check"] + args + ["--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    try:
        return json.loads(p.stdout)
    except Exception:
        return {"error": p.stderr.strip().splitlines()[0] if p.stderr.strip() else "no output"}

def move(f, a, b):
    v = json.load(open(f)); v["targets"][b] = v["targets"].pop(a); json.dump(v, open(f, "w"))

def summary(v):
    if "error" in v: return "refused: " + v["error"][:90]
    f = {x["id"]: x["severity"] for x in v["findings"]}
    s = f"interception-suspected ({f['interception-suspected']})" if "interception-suspected" in f else "no interception"
    logon = v["observations"].get("logon", {}).get("outcome", {}).get("kind")
    if logon: s += f", logon {logon}"
    extra = [i for i in ("cert-changed", "cert-renewed", "farm-node-changed", "expected-terminator") if i in f]
    return s + (f" [{', '.join(extra)}]" if extra else "")

def hap(cmd):
    s = socket.socket(socket.AF_UNIX); s.connect(f"{ROOT}/lab/state/haproxy-farm.sock"); s.sendall(cmd.encode() + b"\n"); s.recv(100); s.close()

def known(name): return os.path.join(tmp, name)
U, P = "labuser", "LabPass-2026!"
results = []

# Healthy 1: renewal
k = known("r.json"); run([addr("renew-old"), "--known-certs", k]); move(k, addr("renew-old"), addr("renew-new"))
results.append(("healthy", "renewal (self-signed, due in 10 days, new key, TLS 1.3 gone)", summary(run([addr("renew-new"), "--known-certs", k]))))
# Healthy 2: farm node
k = known("f.json"); front = addr("farm-front")
hap("set server farm/farm-b state maint"); run([front, "--known-certs", k, "--user", U], P)
hap("set server farm/farm-b state ready"); hap("set server farm/farm-a state maint")
results.append(("healthy", "farm: the other node behind haproxy, --user", summary(run([front, "--known-certs", k, "--user", U], P))))
hap("set server farm/farm-a state ready")
# Healthy 3/4: alias and wildcard
hosts = os.path.join(tmp, "hosts"); open(hosts, "w").write("127.0.0.1 localhost\n127.0.0.1 rdp.corp.example rdsh01.corp.example\n")
wrap = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", 'mount --bind "$1" /etc/hosts && shift && exec "$@"', "sh", hosts]
for name, srv in (("rdp.corp.example", "alias-srv01"), ("rdsh01.corp.example", "wildcard-rdsh01")):
    results.append(("healthy", f"{srv}: {name}, --user", summary(run([f"{name}:{port(srv)}", "--user", U], P, wrap, {"SSL_CERT_FILE": CA}))))
# Healthy 5: pins of a farm (two leaves)
a = run([addr("farm-a")])["observations"]["tls"]["certificate"]["sha256_hex"]
b = run([addr("farm-b")])["observations"]["tls"]["certificate"]["sha256_hex"]
results.append(("healthy", "farm pinned with --cert-sha256 twice, --user", summary(run([front, "--cert-sha256", a, "--cert-sha256", b, "--user", U], P))))
# Healthy 6: expected terminator (pyrdp-nla as the admin's PAM proxy)
t = run([addr("pyrdp-nla")] + SLOW)["observations"]["tls"]["certificate"]["sha256_hex"]
results.append(("healthy", "known terminator (pyrdp-nla) with --expect-terminator", summary(run([addr("pyrdp-nla"), "--expect-terminator", t] + SLOW))))
# Healthy 7: loopback tunnel port reused, stale entry in the default file
home = os.path.join(tmp, "home"); os.makedirs(f"{home}/.local/share/rdpdoctor")
json.dump({"schema": "rdpdoctor.known-certs/1", "targets": {addr("xrdp-negotiate"): {"sha256_hex": "ab"*32, "subject": "CN=other", "issuer": "CN=other", "not_before": "2020-01-01T00:00:00Z", "not_after": "2030-01-01T00:00:00Z", "first_seen": "2024-01-01T00:00:00Z", "last_seen": "2024-01-01T00:00:00Z"}}}, open(f"{home}/.local/share/rdpdoctor/known-certs.json", "w"))
env = dict(os.environ, HOME=home); env.pop("RDPDOCTOR_NO_KNOWN_CERTS", None); env.pop("XDG_DATA_HOME", None)
p = subprocess.run([BIN, "check", addr("xrdp-negotiate"), "--json"], capture_output=True, text=True, env=env)
results.append(("healthy", "tunnel: 127.0.0.1:PORT reused for another machine (default file)", summary(json.loads(p.stdout))))
# Healthy 8: TLS 1.3 gone with a new key, no clone marks (a change, not a renewal)
k = known("t.json"); run([addr("xrdp-negotiate"), "--known-certs", k]); move(k, addr("xrdp-negotiate"), addr("renew-new"))
results.append(("healthy", "new key without clone marks, TLS 1.3 gone (policy / legacy CSP)", summary(run([addr("renew-new"), "--known-certs", k]))))

# Interceptors
k = known("x.json"); run([addr("xrdp-negotiate"), "--known-certs", k]); move(k, addr("xrdp-negotiate"), addr("pyrdp-xrdp"))
results.append(("interceptor", "pyrdp-mitm cloning xrdp (remembered)", summary(run([addr("pyrdp-xrdp"), "--known-certs", k] + SLOW))))
k = known("n.json"); run([addr("freerdp-nla"), "--known-certs", k]); move(k, addr("freerdp-nla"), addr("pyrdp-nla"))
results.append(("interceptor", "pyrdp-mitm cloning freerdp-nla (remembered), --user canary", summary(run([addr("pyrdp-nla"), "--known-certs", k, "--user", "canary-count"] + SLOW, "Canary-Pw-1!"))))
k = known("fa.json"); hap("set server farm/farm-b state maint"); run([front, "--known-certs", k, "--user", U], P); hap("set server farm/farm-b state ready")
move(k, front, addr("pyrdp-farm"))
results.append(("interceptor", "pyrdp-mitm cloning remembered farm node FARM-A, --user canary", summary(run([addr("pyrdp-farm"), "--known-certs", k, "--user", "canary-count"] + SLOW, "Canary-Pw-1!"))))
results.append(("interceptor", "pyrdp-mitm first contact (nothing remembered), --user canary", summary(run([addr("pyrdp-farm"), "--user", "canary-count"] + SLOW, "Canary-Pw-1!"))))
other = run([addr("xrdp-negotiate")])["observations"]["tls"]["certificate"]["sha256_hex"]
results.append(("interceptor", "pyrdp-mitm where another terminator is expected, --user canary", summary(run([addr("pyrdp-nla"), "--expect-terminator", other, "--user", "canary-count"] + SLOW, "Canary-Pw-1!"))))

for kind, name, s in results:
    print(f"{kind}\t{name}\t{s}")
shutil.rmtree(tmp, ignore_errors=True)
