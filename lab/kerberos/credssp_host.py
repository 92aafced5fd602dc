#!/usr/bin/env python3
"""A session host that accepts Kerberos inside CredSSP: a STAND-IN for a Windows RDP server.

Why a stand-in: no packaged RDP server accepts Kerberos in CredSSP (xrdp has no NLA at all,
freerdp-shadow-cli's CredSSP is NTLM-only against a SAM file). This one is built on real libraries
for everything that is cryptography or Kerberos: pyspnego's SPNEGO acceptor (lab/kerberos/
requirements.txt, pinned, in its own venv), which hands Kerberos to MIT GSSAPI (Debian's
python3-gssapi) with a keytab exported from the lab's Samba KDC, and NTLM to pyspnego's own NTLM
acceptor; Python's ssl module for TLS. What is written here is only the RDP framing around them:
the X.224 exchange (MS-RDPBCGR 2.2.1.1 / 2.2.1.2), the CredSSP message sequence and the
pubKeyAuth binding (MS-CSSP 3.1.5), the Early User Authorization Result (MS-RDPBCGR 2.2.10.2).
It is proven with real clients (rdesktop 1.9 through GSSAPI for Kerberos, xfreerdp 2.11 for
NTLM) by crates/cli/tests/kerberos_lab.rs, and the results are in lab/kerberos/OBSERVED.md.

    credssp_host.py MODE ADDRESS PORT

MODE:
  normal       Kerberos or NTLM, whichever the client's SPNEGO token carries.
  refuse-ntlm  as a Windows host with "Network security: Restrict NTLM: Incoming NTLM traffic =
               Deny all accounts" (RestrictReceivingNTLMTraffic=2): the NTLM exchange runs up to
               the AUTHENTICATE message (when Windows logs the refusal with the account name) and
               is then refused with a TSRequest errorCode, CREDSSP_NTLM_BLOCKED_STATUS (default
               0xC00000BB STATUS_NOT_SUPPORTED, which SSPI reports as SEC_E_UNSUPPORTED_FUNCTION
               0x80090302, "The function requested is not supported"; see OBSERVED.md for why that
               value and not STATUS_NTLM_BLOCKED 0xC0000418, which Windows puts in the Sub Status
               of event 4625). Kerberos is accepted as in normal mode.

After a successful CredSSP exchange (pubKeyAuth verified, TSCredentials decrypted) the stand-in
sends the Early User Authorization Result (AUTHZ_SUCCESS) when the client asked for HYBRID_EX,
reads what the client sends next (the MCS Connect Initial) and closes: that is as far as a client
needs to see its logon result.

Env:
  CREDSSP_CERT, CREDSSP_KEY   TLS certificate chain and key (PEM)
  KRB5_KTNAME                 the keytab MIT GSSAPI accepts with (TERMSRV/<fqdn> keys)
  KRB5_CONFIG                 a krb5.conf naming the default realm (the acceptor never calls the KDC)
  NTLM_USER_FILE              DOMAIN:USER:PASSWORD lines, pyspnego's NTLM acceptor's accounts
  CREDSSP_EVENTS              file to append one JSON object per connection to (what the client did)
  CREDSSP_NTLM_BLOCKED_STATUS the errorCode for a refused NTLM logon (refuse-ntlm mode)
  CREDSSP_NTLM_IDENTITY       COMPUTER,DOMAIN,DNS-COMPUTER,DNS-DOMAIN: the names its NTLM CHALLENGE gives,
                              as a session host joined to the domain (default: pyspnego's workgroup names)

Passwords from TSCredentials are never logged: the events name the credential type, domain and
user only.
"""

import hashlib
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import os

import hmac

import spnego
import spnego._ntlm
from spnego._context import GSSMech
from spnego._ntlm_raw.messages import AvId, Challenge, TargetInfo
from spnego._credssp_structures import NegoData, TSCredentials, TSPasswordCreds, TSRequest
from spnego._spnego import NegTokenInit, NegTokenResp, unpack_token
from spnego.exceptions import SpnegoError
from spnego.tls import get_certificate_public_key

IO_TIMEOUT = 15.0
MAX_TSREQUEST = 64 * 1024
CREDSSP_VERSION = 6  # what Windows 10 / Server 2016 and later announce (MS-CSSP 2.2.1)

# MS-RDPBCGR 2.2.1.1.1 requestedProtocols / 2.2.1.2.1 selectedProtocol
PROTOCOL_SSL = 0x1
PROTOCOL_HYBRID = 0x2
PROTOCOL_HYBRID_EX = 0x8
# MS-RDPBCGR 2.2.1.2.2 RDP_NEG_FAILURE failureCode
HYBRID_REQUIRED_BY_SERVER = 0x5
# MS-RDPBCGR 2.2.10.2 Early User Authorization Result PDU
AUTHZ_SUCCESS = 0x00000000

STATUS_LOGON_FAILURE = 0xC000006D
STATUS_NOT_SUPPORTED = 0xC00000BB

EVENTS_LOCK = threading.Lock()

# pyspnego 0.12.4's NTLM acceptor rebuilds the client's NTLMv2 "temp" blob from its parsed fields
# before it recomputes NTProofStr, which drops the zero padding FreeRDP 2.11 puts after the AV
# pairs (12 bytes where MS-NLMP 3.3.2 shows Z(4)); Windows hashes the bytes as received, so xfreerdp
# logs on there but was refused here. The handler thread keeps the received temp, and this wrapper
# computes the responses over it exactly as MS-NLMP 3.3.2 does (same return values as pyspnego's).
RAW_NTLMV2 = threading.local()
_pyspnego_compute_response_v2 = spnego._ntlm.compute_response_v2


def compute_response_v2_over_received_temp(nt_hash, server_challenge, client_challenge, time_stamp, av_pairs):
    temp = getattr(RAW_NTLMV2, "temp", None)
    if temp is None:
        return _pyspnego_compute_response_v2(nt_hash, server_challenge, client_challenge, time_stamp, av_pairs)
    proof = hmac.new(nt_hash, server_challenge + temp, "md5").digest()
    lm = hmac.new(nt_hash, server_challenge + client_challenge, "md5").digest() + client_challenge
    return proof + temp, lm, hmac.new(nt_hash, proof, "md5").digest()


spnego._ntlm.compute_response_v2 = compute_response_v2_over_received_temp


# pyspnego 0.12.4's NTLM acceptor names itself after the process's host name in a workgroup
# ("WORKSTATION", no DNS domain); a Windows session host joined to the domain names its computer
# account, the NetBIOS and DNS domain and the forest in the CHALLENGE's AV pairs (MS-NLMP 2.2.2.1),
# which is where a client that was given no realm finds it. CREDSSP_NTLM_IDENTITY
# (COMPUTER,DOMAIN,DNS-COMPUTER,DNS-DOMAIN) makes the CHALLENGE say what a joined host says; the
# rest of the CHALLENGE (flags, server challenge, timestamp, version) is pyspnego's.
_pyspnego_accept_negotiate = spnego._ntlm.NTLMProxy._step_accept_negotiate


def accept_negotiate_as_joined_host(self, token):
    packed = _pyspnego_accept_negotiate(self, token)
    identity = os.environ.get("CREDSSP_NTLM_IDENTITY", "")
    if not identity:
        return packed
    computer, domain, dns_computer, dns_domain = identity.split(",")
    old = self._temp_challenge
    info = TargetInfo()
    info[AvId.nb_computer_name] = computer
    info[AvId.nb_domain_name] = domain
    info[AvId.dns_computer_name] = dns_computer
    info[AvId.dns_domain_name] = dns_domain
    info[AvId.dns_tree_name] = dns_domain
    info[AvId.timestamp] = old.target_info[AvId.timestamp]
    kwargs = {"version": old.version} if old.version is not None else {}
    new = Challenge(old.flags, old.server_challenge, target_name=domain, target_info=info, **kwargs)
    self._temp_challenge = new
    return new.pack()


spnego._ntlm.NTLMProxy._step_accept_negotiate = accept_negotiate_as_joined_host


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def record(event):
    path = os.environ.get("CREDSSP_EVENTS")
    if not path:
        return
    with EVENTS_LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")
        f.flush()


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_tpkt(sock):
    """One TPKT (RFC 1006) packet: version 3, reserved, 16-bit big-endian length."""
    header = recv_exact(sock, 4)
    if header[0] != 3:
        raise ValueError("not a TPKT header: %s" % header.hex())
    length = struct.unpack(">H", header[2:4])[0]
    if length < 7:
        raise ValueError("TPKT length %d too short" % length)
    return header + recv_exact(sock, length - 4)


def requested_protocols(cr):
    """requestedProtocols of the RDP_NEG_REQ at the end of an X.224 Connection Request."""
    x224 = cr[4:]
    if len(x224) < 2 or x224[1] & 0xF0 != 0xE0:
        raise ValueError("not an X.224 Connection Request: %s" % cr[:16].hex())
    if len(x224) >= 8 + 7 and x224[-8] == 0x01:
        return struct.unpack("<I", x224[-4:])[0]
    return 0  # no RDP_NEG_REQ: Standard RDP Security only


def connection_confirm(neg_type, flags, value):
    """TPKT + X.224 Connection Confirm + RDP_NEG_RSP (type 2) or RDP_NEG_FAILURE (type 3)."""
    neg = struct.pack("<BBHI", neg_type, flags, 8, value)
    x224 = bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def read_der(tls):
    """One DER-encoded TSRequest (a SEQUENCE) from the TLS stream, at most MAX_TSREQUEST bytes."""
    head = recv_exact(tls, 2)
    if head[0] != 0x30:
        raise ValueError("not a TSRequest (tag 0x%02x)" % head[0])
    if head[1] < 0x80:
        length, extra = head[1], b""
    else:
        n = head[1] & 0x7F
        if n == 0 or n > 3:
            raise ValueError("bad DER length form 0x%02x" % head[1])
        extra = recv_exact(tls, n)
        length = int.from_bytes(extra, "big")
    if length > MAX_TSREQUEST:
        raise ValueError("TSRequest of %d bytes is larger than %d" % (length, MAX_TSREQUEST))
    return head + extra + recv_exact(tls, length)


def mech_name(oid):
    try:
        return GSSMech.from_oid(oid).name.lstrip("_")
    except ValueError:
        return oid


def inner_token(token):
    """(description, mechs offered, inner mechanism token) of a negoToken."""
    try:
        parsed = unpack_token(token)
    except Exception:  # an unparseable token: let the acceptor reject it
        return "unparseable", [], token
    if isinstance(parsed, NegTokenInit):
        return "spnego-init", [mech_name(m) for m in parsed.mech_types or []], parsed.mech_token
    if isinstance(parsed, NegTokenResp):
        return "spnego-resp", [], parsed.response_token
    if token.startswith(b"NTLMSSP\x00"):
        return "raw-ntlm", [], token
    return "raw-kerberos", [], token


def ntlm_message_type(token):
    if token and token.startswith(b"NTLMSSP\x00") and len(token) >= 12:
        return struct.unpack("<I", token[8:12])[0]
    return None


def ntlm_authenticate_names(token):
    """(domain, user) from an NTLM AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), for the log."""

    def field(offset, unicode):
        if len(token) < offset + 8:
            return ""
        length, _, start = struct.unpack("<HHI", token[offset : offset + 8])
        raw = token[start : start + length]
        return raw.decode("utf-16-le" if unicode else "latin-1", "replace")

    flags = struct.unpack("<I", token[60:64])[0] if len(token) >= 64 else 0
    unicode = bool(flags & 1)
    return field(28, unicode), field(36, unicode)


def ntlmv2_temp(token):
    """The client's NTLMv2 blob ("temp", MS-NLMP 3.3.2) as received: NtChallengeResponse after NTProofStr."""
    if len(token) < 28:
        return None
    length, _, start = struct.unpack("<HHI", token[20:28])
    if length <= 24:
        return None  # NTLMv1 or anonymous: pyspnego's own path
    return token[start + 16 : start + length]


def binding_hash(direction, nonce, public_key):
    """MS-CSSP 3.1.5, version 5 and later: SHA-256 of the magic string, the nonce and the key."""
    magic = b"CredSSP %s Binding Hash\x00" % direction
    return hashlib.sha256(magic + nonce + public_key).digest()


class CredSSPFailed(Exception):
    def __init__(self, result, message, error_code=None):
        super().__init__(message)
        self.result = result
        self.error_code = error_code


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        peer = "%s:%d" % self.client_address
        event = {"mode": server.mode, "peer": peer, "port": server.server_address[1],
                 "time": time.time(), "package": None, "offered_mechs": [],
                 "tokens": [], "pubkeyauth": None, "credentials": None}
        sock = self.request
        sock.settimeout(IO_TIMEOUT)
        try:
            self.run(sock, event)
        except CredSSPFailed as e:
            event["result"] = e.result
            event["error"] = str(e)
            if e.error_code is not None:
                event["error_code"] = "0x%08X" % e.error_code
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError, ValueError) as e:
            event.setdefault("result", "connection-ended")
            event["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            log("%s %s: %s%s" % (peer, server.mode, event.get("result"),
                                 " (%s)" % event["error"] if event.get("error") else ""))
            record(event)

    def run(self, sock, event):
        server = self.server
        cr = read_tpkt(sock)
        requested = requested_protocols(cr)
        event["requested_protocols"] = requested
        if not requested & (PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX):
            sock.sendall(connection_confirm(3, 0, HYBRID_REQUIRED_BY_SERVER))
            raise CredSSPFailed("hybrid-required", "client did not offer CredSSP (requested 0x%x)" % requested)
        selected = PROTOCOL_HYBRID_EX if requested & PROTOCOL_HYBRID_EX else PROTOCOL_HYBRID
        event["selected_protocol"] = selected
        # flags: EXTENDED_CLIENT_DATA_SUPPORTED | DYNVC_GFX_PROTOCOL_SUPPORTED | RESTRICTED_ADMIN_MODE_SUPPORTED
        sock.sendall(connection_confirm(2, 0x0B, selected))
        tls = server.tls.wrap_socket(sock, server_side=True)
        event["tls"] = tls.version()
        ctx = self.credssp(tls, event)
        if selected == PROTOCOL_HYBRID_EX:
            tls.sendall(struct.pack("<I", AUTHZ_SUCCESS))
        event["result"] = "success"
        # As far as a client needs: it now sends the MCS Connect Initial; note it and close.
        try:
            nxt = read_tpkt(tls)
            event["next_pdu_bytes"] = len(nxt)
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError, ValueError):
            event["next_pdu_bytes"] = 0
        del ctx

    def send_error(self, tls, version, code):
        # MS-CSSP 2.2.1: errorCode exists from version 3 on, but version 5 peers do not expect it.
        # Windows encodes the NTSTATUS as a signed 32-bit INTEGER (4 bytes, C0 00 00 BB); as an
        # unsigned value it would take 5, which FreeRDP 2.11 cannot read.
        if version in (3, 4) or version >= 6:
            signed = code - (1 << 32) if code >= (1 << 31) else code
            tls.sendall(TSRequest(CREDSSP_VERSION, error_code=signed).pack())

    def credssp(self, tls, event):
        server = self.server
        ctx = spnego.server(protocol="negotiate")
        version = None
        while True:
            req = TSRequest.unpack(read_der(tls))
            if version is None:
                version = min(req.version, CREDSSP_VERSION)
                event["credssp_version"] = req.version
            if req.error_code:
                raise CredSSPFailed("client-error", "client sent errorCode 0x%08X" % (req.error_code & 0xFFFFFFFF))
            out = None
            if req.nego_tokens:
                token = req.nego_tokens[0].nego_token
                kind, mechs, inner = inner_token(token)
                if mechs:
                    event["offered_mechs"] = mechs
                ntype = ntlm_message_type(inner)
                event["tokens"].append(kind + (" ntlm-%d" % ntype if ntype else ""))
                if ntype == 3 and server.mode == "refuse-ntlm":
                    domain, user = ntlm_authenticate_names(inner)
                    event["package"] = "ntlm"
                    account = "%s\\%s" % (domain, user) if domain else user
                    event["refused_account"] = account
                    self.send_error(tls, version, server.ntlm_blocked_status)
                    raise CredSSPFailed("ntlm-refused", "NTLM logon of %s refused by policy" % account,
                                        server.ntlm_blocked_status)
                RAW_NTLMV2.temp = ntlmv2_temp(inner) if ntype == 3 else None
                try:
                    out = ctx.step(token)
                except SpnegoError as e:
                    code = STATUS_LOGON_FAILURE if ntype == 3 else (e.nt_status & 0xFFFFFFFF)
                    event["package"] = ctx.negotiated_protocol if hasattr(ctx, "negotiated_protocol") else None
                    self.send_error(tls, version, code)
                    raise CredSSPFailed("auth-failed", "%s" % e, code)
            if ctx.complete and event["package"] is None:
                event["package"] = ctx.negotiated_protocol
                event["client_principal"] = ctx.client_principal
            if ctx.complete and req.pub_key_auth:
                self.check_pub_key_auth(ctx, req, version, event)
                nonce = req.client_nonce or b""
                if version >= 5:
                    reply_key = binding_hash(b"Server-To-Client", nonce, server.public_key)
                else:
                    reply_key = bytes([(server.public_key[0] + 1) & 0xFF]) + server.public_key[1:]
                tls.sendall(TSRequest(CREDSSP_VERSION, nego_tokens=NegoData(out) if out else None,
                                      pub_key_auth=ctx.wrap(reply_key).data).pack())
                break
            if out is None:
                raise CredSSPFailed("protocol-error", "TSRequest without a token to answer (%s)" % event["tokens"])
            tls.sendall(TSRequest(CREDSSP_VERSION, nego_tokens=NegoData(out)).pack())
        req = TSRequest.unpack(read_der(tls))
        if not req.auth_info:
            raise CredSSPFailed("protocol-error", "expected TSCredentials (authInfo), got none")
        creds = TSCredentials.unpack(ctx.unwrap(req.auth_info).data)
        inner = creds.credentials
        if isinstance(inner, TSPasswordCreds):
            # rdesktop 1.9 sends its strings with a terminating NUL; the event shows them without it.
            event["credentials"] = {"type": "password", "domain": inner.domain_name.rstrip("\x00"),
                                    "user": inner.username.rstrip("\x00"),
                                    "password_empty": not inner.password.rstrip("\x00")}
        else:
            event["credentials"] = {"type": type(inner).__name__}
        return ctx

    def check_pub_key_auth(self, ctx, req, version, event):
        server = self.server
        got = ctx.unwrap(req.pub_key_auth).data
        if version >= 5:
            if not req.client_nonce:
                raise CredSSPFailed("pubkeyauth-mismatch", "CredSSP %d without clientNonce" % version)
            want = binding_hash(b"Client-To-Server", req.client_nonce, server.public_key)
        else:
            want = server.public_key
        if got != want:
            event["pubkeyauth"] = "mismatch"
            raise CredSSPFailed("pubkeyauth-mismatch", "pubKeyAuth does not bind this TLS key (MS-CSSP 3.1.5)")
        event["pubkeyauth"] = "verified"


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("normal", "refuse-ntlm"):
        sys.exit("usage: credssp_host.py normal|refuse-ntlm ADDRESS PORT")
    mode, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cert, key = os.environ["CREDSSP_CERT"], os.environ["CREDSSP_KEY"]
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(cert, key)
    with open(cert, "rb") as f:
        leaf_der = ssl.PEM_cert_to_DER_cert(f.read().decode("ascii").split("-----END CERTIFICATE-----")[0]
                                            + "-----END CERTIFICATE-----\n")
    srv = Server((address, port), Handler)
    srv.mode = mode
    srv.tls = tls
    srv.public_key = get_certificate_public_key(leaf_der)
    srv.ntlm_blocked_status = int(os.environ.get("CREDSSP_NTLM_BLOCKED_STATUS", "0x%X" % STATUS_NOT_SUPPORTED), 0)
    log("credssp_host %s listening on %s:%d (keytab %s)" % (mode, address, port, os.environ.get("KRB5_KTNAME")))
    srv.serve_forever()


if __name__ == "__main__":
    main()
