#!/usr/bin/env python3
"""Observe what an RDP listener does on the wire (standard library only).

Usage:
  observe.py [--servers lab/state/servers.json] [--only NAME[,NAME...]] [--ca CAFILE]
  observe.py HOST:PORT [HOST:PORT ...]

For each target and each requestedProtocols value PP in 0x00, 0x01, 0x03, 0x0B, 0x04 it opens a
new TCP connection, sends the 19-byte X.224 Connection Request
  03 00 00 13 0e e0 00 00 00 00 00 01 00 08 00 PP 00 00 00
(plus one legacy 11-byte CR without RDP_NEG_REQ) and prints the Connection Confirm (hex,
decoded) and what the server does next (closes, stays open, sends more). For every request whose
answer selected SSL/HYBRID/HYBRID_EX it then tries, on fresh connections, a TLS handshake pinned
to TLS 1.0, 1.1, 1.2 and 1.3 (ciphers 'ALL:@SECLEVEL=0', no certificate verification) and
reports which complete, the cipher, and how refusals look; finally it verifies the certificate
against the lab CA with a hostname check (default OpenSSL security level, and @SECLEVEL=0).
Output is Markdown (one section and table per server).
"""

import argparse
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

REQUESTS = (0x00, 0x01, 0x03, 0x0B, 0x04, None)   # None: legacy CR without RDP_NEG_REQ
PROTO_NAMES = {0x0: "RDP", 0x1: "SSL", 0x2: "HYBRID", 0x4: "RDSTLS", 0x8: "HYBRID_EX",
               0x10: "RDSAAD"}
FAILURES = {1: "SSL_REQUIRED_BY_SERVER", 2: "SSL_NOT_ALLOWED_BY_SERVER",
            3: "SSL_CERT_NOT_ON_SERVER", 4: "INCONSISTENT_FLAGS",
            5: "HYBRID_REQUIRED_BY_SERVER", 6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"}
TLS_VERSIONS = (("TLS1.0", ssl.TLSVersion.TLSv1), ("TLS1.1", ssl.TLSVersion.TLSv1_1),
                ("TLS1.2", ssl.TLSVersion.TLSv1_2), ("TLS1.3", ssl.TLSVersion.TLSv1_3))
TIMEOUT = 5.0
AFTER_WAIT = 1.5   # how long to watch the socket after the Connection Confirm


def cr(pp):
    """X.224 Connection Request with RDP_NEG_REQ (flags 0) for requestedProtocols pp;
    pp=None: 11-byte legacy CR without negotiation data."""
    if pp is None:
        return bytes.fromhex("0300000b06e00000000000")
    return bytes.fromhex("030000130ee00000000000010008 00".replace(" ", "")) + struct.pack("<I", pp)


def proto_name(v):
    if v == 0:
        return "PROTOCOL_RDP"
    names = [PROTO_NAMES[b] for b in sorted(PROTO_NAMES) if b and v & b]
    rest = v & ~sum(b for b in PROTO_NAMES)
    if rest:
        names.append(hex(rest))
    return "|".join("PROTOCOL_" + n if not n.startswith("0x") else n for n in names)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def describe_exc(exc):
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None)
        lib = getattr(exc, "library", None)
        txt = f"{exc.__class__.__name__}"
        if reason:
            txt += f" {reason}"
        elif exc.args:
            txt += f" {exc.args[-1]}"
        if lib and reason:
            txt += f" ({lib})"
        return txt
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "ConnectionResetError (RST)"
    if isinstance(exc, ConnectionRefusedError):
        return "ConnectionRefusedError"
    return f"{exc.__class__.__name__}: {exc}"


def read_cc(sock):
    """Read one TPKT record. Returns (bytes, note)."""
    try:
        head = recv_exact(sock, 4)
    except Exception as exc:
        return b"", describe_exc(exc)
    if len(head) < 4:
        return head, "EOF" + (f" after {len(head)} bytes" if head else " (no bytes)")
    if head[0] != 0x03:
        try:
            sock.settimeout(0.3)
            more = sock.recv(256)
        except Exception:
            more = b""
        return head + more, "not TPKT"
    length = struct.unpack(">H", head[2:4])[0]
    want = max(0, min(length, 65535) - 4)
    try:
        body = recv_exact(sock, want) if want <= 512 else recv_exact(sock, 64)
    except Exception as exc:
        return head, describe_exc(exc)
    if want > 512:
        return head + body, f"TPKT length {length} (read only first 64 body bytes)"
    if len(body) < want:
        return head + body, f"EOF mid-record ({len(head) + len(body)} of {length} bytes)"
    return head + body, ""


def decode_cc(data):
    if len(data) < 11 or data[0] != 0x03:
        return "?"
    li, code = data[4], data[5]
    if code != 0xD0:
        return f"TPDU code 0x{code:02x} (not CC)"
    if li == 6:
        return "CC, no negotiation data"
    if len(data) >= 19:
        typ, flags, ln, val = struct.unpack("<BBHI", data[11:19])
        if typ == 0x02:
            return f"RDP_NEG_RSP flags=0x{flags:02x} selected={proto_name(val)} (0x{val:x})"
        if typ == 0x03:
            return f"RDP_NEG_FAILURE code={val} {FAILURES.get(val, 'undocumented')}"
        return f"neg type 0x{typ:02x}?"
    return f"LI={li}?"


def after_cc(sock):
    """What does the server do right after the CC? Reads for up to AFTER_WAIT seconds
    (at most 4 KiB) and reports any further bytes and whether it closed (FIN/RST)."""
    extra = b""
    end = "stays open"
    sock.settimeout(AFTER_WAIT)
    try:
        while len(extra) < 4096:
            data = sock.recv(4096)
            if not data:
                end = "then FIN (server closed)"
                break
            extra += data
    except socket.timeout:
        end = f"stays open ({AFTER_WAIT:g} s)"
    except ConnectionResetError:
        end = "then RST"
    except Exception as exc:
        end = describe_exc(exc)
    if extra:
        return f"sends `{extra[:32].hex(' ')}`{'...' if len(extra) > 32 else ''}, {end}"
    return end.replace("then ", "")


def selected(data):
    if len(data) >= 19 and data[11] == 0x02:
        return struct.unpack("<I", data[15:19])[0]
    return None


def tls_try(host, port, pp, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = version
    ctx.maximum_version = version
    try:
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
    except Exception as exc:
        return False, describe_exc(exc), None
    try:
        sock.sendall(cr(pp))
        data, note = read_cc(sock)
        if selected(data) is None:
            return False, f"CC was {data.hex()} {note}", None
        tls = ctx.wrap_socket(sock, do_handshake_on_connect=False)
        tls.settimeout(TIMEOUT)
        try:
            tls.do_handshake()
        except Exception as exc:
            return False, describe_exc(exc), None
        der = tls.getpeercert(binary_form=True)
        info = f"{tls.version()} {tls.cipher()[0]}"
        tls.close()
        return True, info, der
    finally:
        try:
            sock.close()
        except Exception:
            pass


def verify_try(host, port, pp, cafile, seclevel0):
    """Full certificate verification against the lab CA with hostname check (host as given)."""
    ctx = ssl.create_default_context(cafile=cafile)
    if seclevel0:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    try:
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
    except Exception as exc:
        return describe_exc(exc)
    try:
        sock.sendall(cr(pp))
        data, note = read_cc(sock)
        if selected(data) is None:
            return f"CC was {data.hex()} {note}"
        tls = ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        tls.settimeout(TIMEOUT)
        try:
            tls.do_handshake()
        except ssl.SSLCertVerificationError as exc:
            return f"FAILS: verify error {exc.verify_code} \"{exc.verify_message}\""
        except Exception as exc:
            return f"FAILS: {describe_exc(exc)}"
        ver = tls.version()
        tls.close()
        return f"verifies ({ver})"
    finally:
        try:
            sock.close()
        except Exception:
            pass


def cert_summary(der):
    if not der:
        return None
    pem = ssl.DER_cert_to_PEM_cert(der)
    try:
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-subject", "-issuer", "-startdate", "-enddate",
             "-ext", "subjectAltName", "-text"],
            input=pem.encode(), capture_output=True, timeout=10, check=True).stdout.decode()
    except Exception:
        return "(openssl not available to decode the certificate)"
    lines = out.splitlines()
    keep = {}
    for ln in lines:
        s = ln.strip()
        if s.startswith("subject="):
            keep["subject"] = s[8:]
        elif s.startswith("issuer="):
            keep["issuer"] = s[7:]
        elif s.startswith("notBefore="):
            keep["notBefore"] = s[10:]
        elif s.startswith("notAfter="):
            keep["notAfter"] = s[9:]
        elif s.startswith("Signature Algorithm:") and "sigalg" not in keep:
            keep["sigalg"] = s.split(":", 1)[1].strip()
        elif s.startswith("Public-Key:"):
            keep["key"] = s.split(":", 1)[1].strip()
        elif s.startswith("DNS:") or s.startswith("IP Address:"):
            keep["SAN"] = s
    return "; ".join(f"{k}={v}" for k, v in keep.items())


def observe(name, host, port, cafile=None):
    rows = []
    verify = []
    tls_pp = None
    tls_rows = []
    cert = None
    for pp in REQUESTS:
        try:
            sock = socket.create_connection((host, port), timeout=TIMEOUT)
        except Exception as exc:
            rows.append((pp, "", describe_exc(exc), "connect failed"))
            continue
        try:
            sock.sendall(cr(pp))
            data, note = read_cc(sock)
            dec = decode_cc(data) if data else ""
            if note:
                dec = (dec + "; " if dec and dec != "?" else "") + note
            nxt = after_cc(sock) if data and not note else ""
            rows.append((pp, data.hex(" "), dec, nxt))
        except Exception as exc:
            rows.append((pp, "", describe_exc(exc), ""))
        finally:
            sock.close()
        sel = selected(data) if data else None
        if sel is not None and sel & 0x0B:
            for label, ver in TLS_VERSIONS:
                ok, info, der = tls_try(host, port, pp, ver)
                tls_rows.append((pp, label, "OK" if ok else "refused", info))
                if ok and cert is None:
                    cert = cert_summary(der)
                if ok and tls_pp is None:
                    tls_pp = pp
    if tls_pp is not None and cafile:
        verify.append(("OpenSSL default security level",
                       verify_try(host, port, tls_pp, cafile, False)))
        verify.append(("ALL:@SECLEVEL=0, TLS 1.0+",
                       verify_try(host, port, tls_pp, cafile, True)))
    return name, host, port, rows, tls_rows, cert, verify


def render(result):
    name, host, port, rows, tls_rows, cert, verify = result
    out = [f"### {name} ({host}:{port})", "",
           "| requestedProtocols | Connection Confirm (hex) | decoded | after the CC |",
           "|---|---|---|---|"]
    for pp, hx, dec, nxt in rows:
        label = "none (legacy CR `03 00 00 0b 06 e0 00 00 00 00 00`)" if pp is None else f"0x{pp:02X}"
        out.append(f"| {label} | `{hx}` | {dec} | {nxt} |")
    if tls_rows:
        out += ["", "| CR | TLS version | result | detail |", "|---|---|---|---|"]
        for pp, label, res, info in tls_rows:
            out.append(f"| 0x{pp:02X} | {label} | {res} | {info} |")
    if cert:
        out += ["", f"Certificate: {cert}"]
    for label, res in verify:
        out += ["", f"Verification against the lab CA, hostname {host} ({label}): {res}"]
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("targets", nargs="*", help="HOST:PORT")
    ap.add_argument("--servers", default=None, help="servers.json (default lab/state/servers.json)")
    ap.add_argument("--only", default=None, help="comma-separated server names")
    ap.add_argument("--ca", default=None, help="CA file for the verification check "
                    "(default: the lab CA named in servers.json)")
    args = ap.parse_args()

    targets = []
    cafile = args.ca
    if args.targets:
        for t in args.targets:
            h, _, p = t.rpartition(":")
            targets.append((t, h or "127.0.0.1", int(p)))
    else:
        path = args.servers or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "state", "servers.json")
        try:
            with open(path) as f:
                servers = json.load(f)["servers"]
        except OSError as exc:
            sys.exit(f"observe.py: cannot read {path} ({exc}); is the lab running (lab/start.sh)?")
        if cafile is None:
            try:
                with open(path) as f:
                    ca = json.load(f).get("ca")
            except (OSError, ValueError):
                ca = None
            if ca:
                root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
                cafile = ca if os.path.isabs(ca) else os.path.join(os.path.dirname(root), ca)
        only = set(args.only.split(",")) if args.only else None
        for s in servers:
            if only and s["name"] not in only:
                continue
            targets.append((s["name"], s["host"], s["port"]))

    results = [None] * len(targets)

    def work(i, t):
        results[i] = observe(*t, cafile=cafile)

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(render(r))


if __name__ == "__main__":
    main()
