#!/usr/bin/env python3
"""RD Gateway stand-in for the rdpdoctor lab (MS-TSGU HTTP transport).

A stand-in because no RD Gateway is packaged for Debian (Windows Server's RD Gateway role is the
real one; rdpgw, a Go gateway, is not packaged either). It is proven against the real client,
Debian's xfreerdp 2.11 (`/g:` with `/gt:http` and `/gt:http,no-websockets`), by
crates/cli/tests/gateway_lab.rs; lab/OBSERVED.md records what it does on the wire.

Usage: gateway.py --port PORT --cert CHAIN.pem --key KEY.pem --users FILE [--mode MODE]
                  [--idle-secs N] [--max-tunnels N] [--paa-cookie COOKIE]

Listens with TLS on 127.0.0.1:PORT only. What it implements:
  * HTTPS on /remoteDesktopGateway/ (any other path: 404, which makes FreeRDP try RPC-over-HTTP);
    the methods RDG_OUT_DATA and RDG_IN_DATA with an RDG-Connection-Id header that pairs the two
    channels of one tunnel (MS-TSGU 2.2.5.1, 3.3.5.1).
  * HTTP authentication per TCP connection, as IIS does: 401 with one WWW-Authenticate header per
    offered method (NTLM, Negotiate, Basic), then NTLM (MS-NLMP: NEGOTIATE -> CHALLENGE ->
    AUTHENTICATE, the NTLMv2 response verified against the user file), Negotiate (SPNEGO, RFC
    4178, carrying NTLM; Kerberos cannot be verified here, so a Kerberos token is refused and
    logged) or Basic (RFC 7617). The user file has lines `user:domain:password` (the lab's own
    test account; the domain may be empty).
  * The OUT channel answers 200 with a 10-byte random seed body (MS-TSGU 3.3.5.1; FreeRDP reads
    exactly 10) and no length, then carries the server's packets; the IN channel answers the
    authenticated empty request with 200 and then takes a chunked request whose body carries the
    client's packets. With `Upgrade: websocket` (RFC 6455) both directions run over one
    connection in binary frames (101 Switching Protocols).
  * The tunnel packets of MS-TSGU 2.2.10: handshake (2.2.10.10/11), tunnel create with
    capabilities and an optional PAA cookie (2.2.10.18/20), tunnel authorization (2.2.10.14/16),
    channel create to the target (2.2.10.2/4), data (2.2.10.6), keepalive (2.2.10.13), close
    channel (2.2.10.3/5). Status codes are the failure HRESULTs of MS-TSGU 2.2.6 (E_PROXY_*,
    0x8007xxxx; the HRESULT_CODE-only values of the RPC transport get the failure bit, so a
    client treats them as errors).
  * Resource policy: only targets in 127.0.0.0/8 (by address literal, or "localhost") are
    allowed; anything else gets E_PROXY_RAP_ACCESSDENIED without any connection attempt. A target
    the gateway cannot connect to gets E_PROXY_TS_CONNECTFAILED in the channel response.

Modes (one per instance, lab/gateway.sh):
  healthy        everything above; offers Negotiate, NTLM and Basic.
  no-websocket   answers a WebSocket upgrade like an older gateway (200 OK, no upgrade), so the
                 client falls back to the two HTTP channels.
  kerberos-only  offers only Negotiate and refuses NTLM inside it (as a gateway with NTLM blocked):
                 a client without Kerberos cannot log on (401 again, reason logged).
  rap-denied     the resource authorization policy denies every target: channel response
                 E_PROXY_RAP_ACCESSDENIED (0x800759DA).
  cap-denied     the connection authorization policy denies the user: tunnel authorization
                 response E_PROXY_NAP_ACCESSDENIED (0x800759DB).
  busy           the connection limit (--max-tunnels, default 0 in this mode) is reached: tunnel
                 response E_PROXY_MAXCONNECTIONSREACHED (0x800759E6).
  idle-drop      tunnel authorization announces an idle timeout; after --idle-secs (default 5) s
                 without data from the client the gateway sends a close channel packet with
                 E_PROXY_SESSIONTIMEOUT (0x800759F6) and drops both channels.
  paa            pluggable authentication only (as behind RD Web Access or an identity provider):
                 HTTP is anonymous (no 401), the handshake must ask for PAA (else
                 E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD, 0x800759F9) and the tunnel create must
                 carry --paa-cookie (else E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED, 0x800759F8).
A bad gateway certificate is not a mode: the instance is started with another --cert.

Every decision is logged, one line each, to stdout (lab/state/NAME.log): the tests read it.
Standard library only (and lab/standin.py's server loop and log). MD4 (for the NT hash) is implemented here because Debian's OpenSSL 3 puts
MD4 in the legacy provider, which hashlib does not load.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import ipaddress
import os
import ssl
import struct
import sys
import time

import standin  # lab/standin.py: the server loop shared by the lab's Python stand-ins

MODES = ("healthy", "no-websocket", "kerberos-only", "rap-denied", "cap-denied", "busy",
         "idle-drop", "paa")

MAX_HEADER = 16 * 1024        # bytes of one HTTP request head
MAX_PACKET = 128 * 1024       # bytes of one tunnel packet (a data packet carries at most 64 KiB)
MAX_CHUNK = 1024 * 1024       # bytes of one HTTP chunk or WebSocket frame
PHASE_TIMEOUT = 30.0          # seconds for one request, one packet during setup, a connect
PAIR_TIMEOUT = 30.0           # seconds an OUT channel waits for its IN channel
CONNECT_TIMEOUT = 5.0         # seconds the gateway gives its TCP connect to the target

# MS-TSGU 2.2.5.3.3 packet types.
PKT_HANDSHAKE_REQUEST = 0x1
PKT_HANDSHAKE_RESPONSE = 0x2
PKT_EXTENDED_AUTH_MSG = 0x3
PKT_TUNNEL_CREATE = 0x4
PKT_TUNNEL_RESPONSE = 0x5
PKT_TUNNEL_AUTH = 0x6
PKT_TUNNEL_AUTH_RESPONSE = 0x7
PKT_CHANNEL_CREATE = 0x8
PKT_CHANNEL_RESPONSE = 0x9
PKT_DATA = 0xA
PKT_SERVICE_MESSAGE = 0xB
PKT_REAUTH_MESSAGE = 0xC
PKT_KEEPALIVE = 0xD
PKT_CLOSE_CHANNEL = 0x10
PKT_CLOSE_CHANNEL_RESPONSE = 0x11

EXT_AUTH_NONE, EXT_AUTH_SC, EXT_AUTH_PAA, EXT_AUTH_SSPI_NTLM = 0x0, 0x1, 0x2, 0x4
HTTP_TUNNEL_PACKET_FIELD_PAA_COOKIE = 0x1
HTTP_TUNNEL_RESPONSE_FIELD_TUNNEL_ID = 0x1
HTTP_TUNNEL_RESPONSE_FIELD_CAPS = 0x2
HTTP_TUNNEL_AUTH_RESPONSE_FIELD_REDIR_FLAGS = 0x1
HTTP_TUNNEL_AUTH_RESPONSE_FIELD_IDLE_TIMEOUT = 0x2
HTTP_CHANNEL_RESPONSE_FIELD_CHANNELID = 0x1
HTTP_CAPABILITY_IDLE_TIMEOUT = 0x2
HTTP_CAPABILITY_MESSAGING_SERVICE_MSG = 0x8
HTTP_TUNNEL_REDIR_ENABLE_ALL = 0x80000000

# MS-TSGU 2.2.6 status codes (failure HRESULTs).
E_PROXY_INTERNALERROR = 0x800759D8
E_PROXY_RAP_ACCESSDENIED = 0x800759DA
E_PROXY_NAP_ACCESSDENIED = 0x800759DB
E_PROXY_TS_CONNECTFAILED = 0x800759DD
E_PROXY_MAXCONNECTIONSREACHED = 0x800759E6
E_PROXY_SESSIONTIMEOUT = 0x800759F6
E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED = 0x800759F8
E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD = 0x800759F9
CODE_NAMES = {
    0: "ERROR_SUCCESS",
    E_PROXY_INTERNALERROR: "E_PROXY_INTERNALERROR",
    E_PROXY_RAP_ACCESSDENIED: "E_PROXY_RAP_ACCESSDENIED",
    E_PROXY_NAP_ACCESSDENIED: "E_PROXY_NAP_ACCESSDENIED",
    E_PROXY_TS_CONNECTFAILED: "E_PROXY_TS_CONNECTFAILED",
    E_PROXY_MAXCONNECTIONSREACHED: "E_PROXY_MAXCONNECTIONSREACHED",
    E_PROXY_SESSIONTIMEOUT: "E_PROXY_SESSIONTIMEOUT",
    E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED: "E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED",
    E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD: "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD",
}

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
LAB_DOMAIN = "RDPDOCTOR-LAB"
LAB_COMPUTER = "GATEWAY"


log = standin.log


def code_name(code):
    return f"{CODE_NAMES.get(code, 'UNKNOWN')} (0x{code:08X})"


# ---------------------------------------------------------------------------------------------
# MD4 (RFC 1320), only for the NT hash MD4(UTF-16LE(password)) of MS-NLMP 3.3.1.

def md4(data):
    def rol(x, n):
        x &= 0xFFFFFFFF
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    msg = bytearray(data) + b"\x80"
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", (len(data) * 8) & 0xFFFFFFFFFFFFFFFF)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):  # round 1: F(x,y,z) = xy | ~xz
            k, s = i, (3, 7, 11, 19)[i % 4]
            a = rol(a + ((b & c) | (~b & d)) + x[k], s)
            a, b, c, d = d, a, b, c
        for i in range(16):  # round 2: G(x,y,z) = xy | xz | yz, constant 0x5A827999
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a = rol(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s)
            a, b, c, d = d, a, b, c
        order = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
        for i in range(16):  # round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ED9EBA1
            k, s = order[i], (3, 9, 11, 15)[i % 4]
            a = rol(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s)
            a, b, c, d = d, a, b, c
        a, b, c, d = [(v + w) & 0xFFFFFFFF for v, w in zip((a, b, c, d), (aa, bb, cc, dd))]
    return struct.pack("<4I", a, b, c, d)


# RFC 1320 appendix A.5 test vectors, checked at start-up.
assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
assert md4(b"message digest").hex() == "d9130a8164549fe818874806e1c7014b"


def nt_hash(password):
    return md4(password.encode("utf-16-le"))


# ---------------------------------------------------------------------------------------------
# NTLM acceptor (MS-NLMP 2.2.1, 3.2.5, 3.3.2).

NTLMSSP = b"NTLMSSP\x00"
NEGOTIATE_UNICODE = 0x00000001
REQUEST_TARGET = 0x00000004
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000
# The client's flags the server echoes when asked (the rest it sets itself).
ECHOED_FLAGS = (NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY | NEGOTIATE_128
                | NEGOTIATE_KEY_EXCH | NEGOTIATE_56 | 0x00000010 | 0x00000020)  # SIGN, SEAL


class AuthError(Exception):
    """An authentication attempt that fails; the message is logged."""


def load_users(path):
    users = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split(":", 2)
            if len(parts) != 3:
                raise SystemExit(f"gateway.py: {path}:{n}: expected user:domain:password")
            user, domain, password = parts
            users[user.lower()] = (user, domain, password)
    if not users:
        raise SystemExit(f"gateway.py: {path}: no users")
    return users


def ntlm_field(msg, off):
    """A (len, maxlen, offset) security buffer at off, returned as bytes (bounded by msg)."""
    if len(msg) < off + 8:
        raise AuthError("NTLM message too short for its fields")
    length, _maxlen, start = struct.unpack("<HHI", msg[off:off + 8])
    if start + length > len(msg):
        raise AuthError("NTLM field points past the end of the message")
    return msg[start:start + length]


def av_pairs():
    """TargetInfo AV_PAIRs (MS-NLMP 2.2.2.1): names and a timestamp, then MsvAvEOL."""
    def pair(av_id, value):
        return struct.pack("<HH", av_id, len(value)) + value
    filetime = int((time.time() + 11644473600) * 10_000_000)
    u = lambda s: s.encode("utf-16-le")  # noqa: E731
    return (pair(2, u(LAB_DOMAIN)) + pair(1, u(LAB_COMPUTER)) + pair(4, u("lab.invalid"))
            + pair(3, u("gateway.lab.invalid")) + pair(7, struct.pack("<Q", filetime))
            + pair(0, b""))


class Rc4:
    """RC4, for NTLM session security only (MS-NLMP 3.4: sealing handles and the session key
    exchange); the stdlib has none and Debian's OpenSSL 3 keeps it in the legacy provider."""

    def __init__(self, key):
        box = list(range(256))
        j = 0
        for i in range(256):
            j = (j + box[i] + key[i % len(key)]) & 0xFF
            box[i], box[j] = box[j], box[i]
        self.box, self.i, self.j = box, 0, 0

    def process(self, data):
        out = bytearray()
        box, i, j = self.box, self.i, self.j
        for byte in data:
            i = (i + 1) & 0xFF
            j = (j + box[i]) & 0xFF
            box[i], box[j] = box[j], box[i]
            out.append(byte ^ box[(box[i] + box[j]) & 0xFF])
        self.i, self.j = i, j
        return bytes(out)


class NtlmAcceptor:
    """One NTLM exchange on one connection: step(NEGOTIATE) -> CHALLENGE, step(AUTHENTICATE);
    then the session keys for the SPNEGO mechListMIC (MS-NLMP 3.4.4.2, with extended session
    security)."""

    def __init__(self, users):
        self.users = users
        self.challenge = None
        self.user = None
        self.flags = 0
        self.exported_key = None
        self.handles = {}
        self.seq = {"client": 0, "server": 0}

    def step(self, token):
        if not token.startswith(NTLMSSP) or len(token) < 12:
            raise AuthError("not an NTLMSSP message")
        msg_type = struct.unpack("<I", token[8:12])[0]
        if msg_type == 1 and self.challenge is None:
            return self._challenge(token)
        if msg_type == 3 and self.challenge is not None:
            self._authenticate(token)
            return None
        raise AuthError(f"unexpected NTLM message type {msg_type}")

    def _challenge(self, negotiate):
        if len(negotiate) < 16:
            raise AuthError("NTLM NEGOTIATE too short")
        client_flags = struct.unpack("<I", negotiate[12:16])[0]
        if not client_flags & NEGOTIATE_UNICODE:
            raise AuthError("NTLM NEGOTIATE without NEGOTIATE_UNICODE (OEM is not supported)")
        self.challenge = os.urandom(8)
        flags = (NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | TARGET_TYPE_DOMAIN
                 | NEGOTIATE_TARGET_INFO | NEGOTIATE_VERSION | (client_flags & ECHOED_FLAGS))
        target = LAB_DOMAIN.encode("utf-16-le")
        info = av_pairs()
        head = 56  # fixed part with Version
        return (NTLMSSP + struct.pack("<I", 2)
                + struct.pack("<HHI", len(target), len(target), head)
                + struct.pack("<I", flags) + self.challenge + b"\x00" * 8
                + struct.pack("<HHI", len(info), len(info), head + len(target))
                + bytes([10, 0]) + struct.pack("<H", 20348) + b"\x00\x00\x00\x0f"
                + target + info)

    def _authenticate(self, auth):
        nt = ntlm_field(auth, 20)
        domain = ntlm_field(auth, 28).decode("utf-16-le", "replace")
        user = ntlm_field(auth, 36).decode("utf-16-le", "replace")
        if not user or len(nt) < 24:
            raise AuthError("anonymous NTLM logon refused")
        entry = self.users.get(user.lower())
        if entry is None:
            raise AuthError(f"NTLM logon for unknown user {user!r}")
        _name, user_domain, password = entry
        if domain and domain.upper() not in (user_domain.upper(), LAB_DOMAIN, "."):
            raise AuthError(f"NTLM logon for {user!r} in unknown domain {domain!r}")
        if len(nt) == 24:
            raise AuthError(f"NTLMv1 response from {user!r} refused (NTLMv2 only)")
        # NTOWFv2 and the NTProofStr (MS-NLMP 3.3.2).
        owf = hmac.new(nt_hash(password), (user.upper() + domain).encode("utf-16-le"),
                       hashlib.md5).digest()
        proof = hmac.new(owf, self.challenge + nt[16:], hashlib.md5).digest()
        if not hmac.compare_digest(proof, nt[:16]):
            raise AuthError(f"NTLM logon for {user!r} failed: wrong password")
        self.user = user
        # Session key (MS-NLMP 3.3.2, 3.4.5.1): KeyExchangeKey = SessionBaseKey for NTLMv2; with
        # KEY_EXCH the client sent the exported key RC4-encrypted under it.
        self.flags = struct.unpack("<I", auth[60:64])[0] if len(auth) >= 64 else 0
        base_key = hmac.new(owf, proof, hashlib.md5).digest()
        encrypted = ntlm_field(auth, 52)
        if self.flags & NEGOTIATE_KEY_EXCH and len(encrypted) == 16:
            self.exported_key = Rc4(base_key).process(encrypted)
        else:
            self.exported_key = base_key

    def _keys(self, side):
        """(signing key, sealing handle) of `side` ("client" or "server"), MS-NLMP 3.4.5.2-3."""
        if side not in self.handles:
            direction = "client-to-server" if side == "client" else "server-to-client"
            sign = hashlib.md5(self.exported_key + f"session key to {direction} signing key "
                               "magic constant\x00".encode()).digest()
            seal_base = self.exported_key if self.flags & NEGOTIATE_128 else self.exported_key[:7]
            seal = hashlib.md5(seal_base + f"session key to {direction} sealing key "
                               "magic constant\x00".encode()).digest()
            self.handles[side] = (sign, Rc4(seal))
        return self.handles[side]

    def mac(self, side, message):
        """The NTLMSSP_MESSAGE_SIGNATURE of `message` sent by `side` (MS-NLMP 3.4.4.2)."""
        sign, handle = self._keys(side)
        seq = struct.pack("<I", self.seq[side])
        self.seq[side] += 1
        checksum = hmac.new(sign, seq + message, hashlib.md5).digest()[:8]
        if self.flags & NEGOTIATE_KEY_EXCH:
            checksum = handle.process(checksum)
        return struct.pack("<I", 1) + checksum + seq


# ---------------------------------------------------------------------------------------------
# SPNEGO (RFC 4178) just far enough to carry NTLM: DER TLVs, NegTokenInit, NegTokenResp.

OID_SPNEGO = bytes.fromhex("2b0601050502")
OID_NTLM = bytes.fromhex("2b06010401823702020a")
OID_KRB5 = bytes.fromhex("2a864886f712010202")
OID_MS_KRB5 = bytes.fromhex("2a864882f712010202")


def der_read(buf, pos):
    """One DER TLV at pos: (tag, value, next_pos); bounded by buf."""
    if pos + 2 > len(buf):
        raise AuthError("SPNEGO: truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(buf):
            raise AuthError("SPNEGO: bad DER length")
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise AuthError("SPNEGO: DER value past the end")
    return tag, buf[pos:pos + length], pos + length


def der_items(buf):
    pos, out = 0, []
    while pos < len(buf):
        tag, value, pos = der_read(buf, pos)
        out.append((tag, value))
    return out


def der(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def spnego_parse(token):
    """(mech_oids, mech_token, mech_list_mic) from a NegTokenInit (inside the GSS header) or a
    NegTokenResp."""
    tag, value, _ = der_read(token, 0)
    if tag == 0x60:  # [APPLICATION 0] InitialContextToken: OID, then NegotiationToken
        oid_tag, oid, pos = der_read(value, 0)
        if oid_tag != 0x06 or oid != OID_SPNEGO:
            raise AuthError("Negotiate token is not SPNEGO")
        tag, value, _ = der_read(value, pos)
    if tag not in (0xA0, 0xA1):
        raise AuthError(f"SPNEGO: unexpected token tag 0x{tag:02x}")
    seq_tag, seq, _ = der_read(value, 0)
    if seq_tag != 0x30:
        raise AuthError("SPNEGO: NegTokenInit/Resp is not a SEQUENCE")
    mechs, mech_token, mic = [], None, None
    for item_tag, item in der_items(seq):
        inner = der_items(item)
        if tag == 0xA0 and item_tag == 0xA0 and inner and inner[0][0] == 0x30:
            mechs = [v for t, v in der_items(inner[0][1]) if t == 0x06]
        elif item_tag == 0xA2 and inner and inner[0][0] == 0x04:
            mech_token = inner[0][1]
        elif item_tag == 0xA3 and inner and inner[0][0] == 0x04:
            mic = inner[0][1]
    return mechs, mech_token, mic


def mech_type_list(mechs):
    """The DER MechTypeList the mechListMIC covers (RFC 4178 5: the client's list, re-encoded;
    DER has one encoding)."""
    return der(0x30, b"".join(der(0x06, m) for m in mechs))


def spnego_resp(state, token=None, mech=None, mic=None):
    """NegTokenResp: negState (0 accept-completed, 1 accept-incomplete, 2 reject)."""
    body = der(0xA0, der(0x0A, bytes([state])))
    if mech is not None:
        body += der(0xA1, der(0x06, mech))
    if token is not None:
        body += der(0xA2, der(0x04, token))
    if mic is not None:
        body += der(0xA3, der(0x04, mic))
    return der(0xA1, der(0x30, body))


# ---------------------------------------------------------------------------------------------
# HTTP.

class Request:
    def __init__(self, method, path, version, headers):
        self.method, self.path, self.version, self.headers = method, path, version, headers

    def header(self, name):
        return self.headers.get(name.lower(), "")


async def read_request(reader):
    """One request head (bounded by MAX_HEADER and PHASE_TIMEOUT); None on EOF."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PHASE_TIMEOUT)
    except asyncio.IncompleteReadError as e:
        if e.partial:
            log(f"http: connection closed inside a request head ({len(e.partial)} bytes)")
        return None
    except asyncio.LimitOverrunError:
        log(f"http: request head over {MAX_HEADER} bytes; closing")
        return None
    except (asyncio.TimeoutError, ConnectionError, ssl.SSLError) as e:
        log(f"http: no request ({type(e).__name__})")
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        log(f"http: not an HTTP/1.x request line: {lines[0][:80]!r}")
        return None
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        headers[key] = value.strip()
    return Request(parts[0], parts[1], parts[2], headers)


def response(status, reason, headers=(), body=b""):
    lines = [f"HTTP/1.1 {status} {reason}", "Server: rdpdoctor-lab-gateway"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def read_chunked(reader):
    """Yield the chunks of a chunked body (RFC 9112 7.1), bounded per chunk."""
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ConnectionError(f"bad chunk size line {line[:20]!r}") from None
        if size > MAX_CHUNK:
            raise ConnectionError(f"chunk of {size} bytes is over {MAX_CHUNK}")
        if size == 0:
            await reader.readuntil(b"\r\n")
            return
        data = await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise ConnectionError("chunk not followed by CRLF")
        yield data


async def read_ws(reader, writer):
    """Yield the payloads of the client's binary/continuation frames (RFC 6455 5.2); answers
    pings, stops on close."""
    while True:
        b0, b1 = await reader.readexactly(2)
        opcode, masked, length = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", await reader.readexactly(8))[0]
        if length > MAX_CHUNK:
            raise ConnectionError(f"WebSocket frame of {length} bytes is over {MAX_CHUNK}")
        if not masked:
            raise ConnectionError("unmasked WebSocket frame from the client (RFC 6455 5.1)")
        mask = await reader.readexactly(4)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(await reader.readexactly(length)))
        if opcode in (0x0, 0x1, 0x2):
            yield data
        elif opcode == 0x8:
            writer.write(ws_frame(0x8, data[:2]))
            return
        elif opcode == 0x9:
            writer.write(ws_frame(0xA, data))


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 0x10000:
        head = bytes([0x80 | opcode, 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack(">Q", n)
    return head + payload


# ---------------------------------------------------------------------------------------------
# Tunnel packets (MS-TSGU 2.2.10).

def packet(pkt_type, body):
    return struct.pack("<HHI", pkt_type, 0, 8 + len(body)) + body


def utf16_field(body, off):
    """A u16 byte length then that many UTF-16LE bytes; (text, next_offset)."""
    if len(body) < off + 2:
        raise ValueError("string length past the end")
    n = struct.unpack("<H", body[off:off + 2])[0]
    if len(body) < off + 2 + n:
        raise ValueError("string past the end")
    return body[off + 2:off + 2 + n].decode("utf-16-le", "replace").rstrip("\x00"), off + 2 + n


class PacketSplitter:
    """Reassembles tunnel packets from a byte stream (chunks and frames do not align)."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            pkt_type, _res, length = struct.unpack("<HHI", self.buf[:8])
            if length < 8 or length > MAX_PACKET:
                raise ConnectionError(f"tunnel packet type 0x{pkt_type:x} with length {length}")
            if len(self.buf) < length:
                break
            out.append((pkt_type, self.buf[8:length]))
            self.buf = self.buf[length:]
        return out


def target_allowed(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


class Tunnel:
    """One tunnel: the packet state machine and the relay to the target."""

    def __init__(self, gw, conn_id, user, send):
        self.gw, self.id, self.user, self.send = gw, conn_id, user, send
        self.state = "initial"
        self.target = None  # (reader, writer)
        self.tasks = []
        self.last_client_data = time.monotonic()
        self.done = asyncio.Event()
        self.counted = False
        self.ext_auth = EXT_AUTH_NONE
        self.bytes_in = 0   # client -> target
        self.bytes_out = 0  # target -> client

    def note(self, msg):
        log(f"tunnel {self.id}: {msg}")

    async def reply(self, pkt_type, body):
        self.send(packet(pkt_type, body))

    async def fail(self, pkt_type, body, code, why):
        self.note(f"{why} -> {code_name(code)}")
        await self.reply(pkt_type, body)
        self.finish()

    def finish(self):
        if self.counted:
            self.gw.tunnels -= 1
            self.counted = False
        self.done.set()

    async def handle(self, pkt_type, body):
        if pkt_type == PKT_HANDSHAKE_REQUEST and self.state == "initial":
            await self.handshake(body)
        elif pkt_type == PKT_TUNNEL_CREATE and self.state == "handshake":
            await self.tunnel_create(body)
        elif pkt_type == PKT_TUNNEL_AUTH and self.state == "tunnel":
            await self.tunnel_auth(body)
        elif pkt_type == PKT_CHANNEL_CREATE and self.state == "authorized":
            await self.channel_create(body)
        elif pkt_type == PKT_DATA and self.state == "open":
            await self.data(body)
        elif pkt_type == PKT_KEEPALIVE:
            self.note("keepalive")
        elif pkt_type == PKT_CLOSE_CHANNEL:
            self.note("close channel from the client")
            await self.reply(PKT_CLOSE_CHANNEL_RESPONSE, struct.pack("<I", 0))
            self.finish()
        elif pkt_type == PKT_CLOSE_CHANNEL_RESPONSE:
            self.note("close channel response from the client")
            self.finish()
        else:
            self.note(f"unexpected packet type 0x{pkt_type:x} in state {self.state}; closing")
            self.finish()

    async def handshake(self, body):
        if len(body) < 6:
            self.note("short handshake request")
            return self.finish()
        major, minor, _client_version, ext_auth = struct.unpack("<BBHH", body[:6])
        self.note(f"handshake request version {major}.{minor} extended auth 0x{ext_auth:x}")
        if self.gw.mode == "paa" and not ext_auth & EXT_AUTH_PAA:
            return await self.fail(PKT_HANDSHAKE_RESPONSE,
                                   struct.pack("<IBBHH", E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD,
                                               1, 0, 0, EXT_AUTH_PAA),
                                   E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD,
                                   "handshake: this gateway requires PAA (pluggable authentication)")
        if ext_auth & EXT_AUTH_PAA and self.gw.paa_cookie is None:
            return await self.fail(PKT_HANDSHAKE_RESPONSE,
                                   struct.pack("<IBBHH", E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD,
                                               1, 0, 0, 0),
                                   E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD,
                                   "handshake: PAA requested, no PAA configured")
        granted = ext_auth & EXT_AUTH_PAA
        await self.reply(PKT_HANDSHAKE_RESPONSE, struct.pack("<IBBHH", 0, 1, 0, 0, granted))
        self.ext_auth = granted
        self.state = "handshake"

    async def tunnel_create(self, body):
        if len(body) < 8:
            self.note("short tunnel create")
            return self.finish()
        caps, fields = struct.unpack("<IH", body[:6])
        cookie = None
        if fields & HTTP_TUNNEL_PACKET_FIELD_PAA_COOKIE:
            try:
                cookie, _ = utf16_field(body, 8)
            except ValueError:
                cookie = ""
        self.note(f"tunnel create capabilities 0x{caps:x}"
                  + (f", PAA cookie of {len(cookie)} characters" if cookie is not None else ""))
        if self.ext_auth & EXT_AUTH_PAA and cookie == self.gw.paa_cookie:
            self.note("tunnel create: PAA cookie accepted")

        def tunnel_response(code):
            return struct.pack("<HIHH", 0, code, HTTP_TUNNEL_RESPONSE_FIELD_TUNNEL_ID
                               | HTTP_TUNNEL_RESPONSE_FIELD_CAPS, 0) + struct.pack(
                "<II", self.gw.next_tunnel_id, HTTP_CAPABILITY_IDLE_TIMEOUT
                | HTTP_CAPABILITY_MESSAGING_SERVICE_MSG)

        if self.ext_auth & EXT_AUTH_PAA and cookie != self.gw.paa_cookie:
            code = E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED
            return await self.fail(PKT_TUNNEL_RESPONSE, tunnel_response(code), code,
                                   "tunnel create: PAA cookie rejected")
        if self.gw.tunnels >= self.gw.max_tunnels:
            code = E_PROXY_MAXCONNECTIONSREACHED
            return await self.fail(PKT_TUNNEL_RESPONSE, tunnel_response(code), code,
                                   f"tunnel create: {self.gw.tunnels} of {self.gw.max_tunnels} "
                                   "tunnels in use (connection limit, RD Gateway event 203)")
        self.gw.tunnels += 1
        self.counted = True
        self.gw.next_tunnel_id += 1
        await self.reply(PKT_TUNNEL_RESPONSE, tunnel_response(0))
        self.note(f"tunnel response {code_name(0)}")
        self.state = "tunnel"

    async def tunnel_auth(self, body):
        try:
            client, _ = utf16_field(body, 2)
        except ValueError:
            client = "?"
        self.note(f"tunnel authorization for client name {client!r}, user {self.user!r}")
        idle_minutes = 1 if self.gw.mode == "idle-drop" else 0
        fields = HTTP_TUNNEL_AUTH_RESPONSE_FIELD_REDIR_FLAGS | HTTP_TUNNEL_AUTH_RESPONSE_FIELD_IDLE_TIMEOUT
        if self.gw.mode == "cap-denied":
            code = E_PROXY_NAP_ACCESSDENIED
            return await self.fail(PKT_TUNNEL_AUTH_RESPONSE,
                                   struct.pack("<IHHII", code, fields, 0, 0, 0), code,
                                   f"tunnel authorization: no connection authorization policy "
                                   f"(CAP) admits {self.user!r} (RD Gateway event 201)")
        await self.reply(PKT_TUNNEL_AUTH_RESPONSE,
                         struct.pack("<IHHII", 0, fields, 0, HTTP_TUNNEL_REDIR_ENABLE_ALL,
                                     idle_minutes))
        self.note(f"tunnel authorization response {code_name(0)} (CAP met, RD Gateway event 200)")
        self.state = "authorized"

    async def channel_create(self, body):
        try:
            if len(body) < 8:
                raise ValueError("short")
            n_res, n_alt, port, proto = struct.unpack("<BBHH", body[:6])
            host, _ = utf16_field(body, 6)
        except ValueError:
            self.note("malformed channel create; closing")
            return self.finish()
        self.note(f"channel create to {host}:{port} (resources {n_res}, alternates {n_alt}, "
                  f"protocol {proto})")

        def channel_response(code):
            return struct.pack("<IHHI", code, HTTP_CHANNEL_RESPONSE_FIELD_CHANNELID, 0, 1)

        if self.gw.mode == "rap-denied" or not target_allowed(host):
            code = E_PROXY_RAP_ACCESSDENIED
            why = ("no resource authorization policy (RAP) allows any computer"
                   if self.gw.mode == "rap-denied" else "the RAP allows only 127.0.0.0/8")
            return await self.fail(PKT_CHANNEL_RESPONSE, channel_response(code), code,
                                   f"channel create to {host}:{port}: {why}")
        try:
            self.target = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1" if host.lower() == "localhost" else host.strip("[]"),
                                        port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            code = E_PROXY_TS_CONNECTFAILED
            return await self.fail(PKT_CHANNEL_RESPONSE, channel_response(code), code,
                                   f"channel create: cannot connect to {host}:{port} "
                                   f"({type(e).__name__}: {e})")
        await self.reply(PKT_CHANNEL_RESPONSE, channel_response(0))
        self.note(f"channel response {code_name(0)}: relaying to {host}:{port}")
        self.state = "open"
        self.last_client_data = time.monotonic()
        self.tasks.append(asyncio.ensure_future(self.relay_from_target()))
        if self.gw.mode == "idle-drop":
            self.tasks.append(asyncio.ensure_future(self.idle_watch()))

    async def data(self, body):
        if len(body) < 2:
            return
        n = struct.unpack("<H", body[:2])[0]
        self.last_client_data = time.monotonic()
        self.bytes_in += len(body[2:2 + n])
        self.target[1].write(body[2:2 + n])
        await self.target[1].drain()

    async def relay_from_target(self):
        reader = self.target[0]
        try:
            while True:
                data = await reader.read(16384)
                if not data:
                    break
                self.bytes_out += len(data)
                self.send(packet(PKT_DATA, struct.pack("<H", len(data)) + data))
        except (ConnectionError, OSError):
            pass
        self.note("the target closed its connection; closing the channel")
        self.send(packet(PKT_CLOSE_CHANNEL, struct.pack("<I", 0)))
        self.finish()

    async def idle_watch(self):
        limit = self.gw.idle_secs
        while not self.done.is_set():
            await asyncio.sleep(0.2)
            idle = time.monotonic() - self.last_client_data
            if idle >= limit:
                self.note(f"idle drop: {idle:.1f} s without data from the client (limit {limit} s)"
                          f" -> close channel {code_name(E_PROXY_SESSIONTIMEOUT)}")
                self.send(packet(PKT_CLOSE_CHANNEL, struct.pack("<I", E_PROXY_SESSIONTIMEOUT)))
                await asyncio.sleep(0.2)
                self.finish()
                return

    def close(self):
        for t in self.tasks:
            t.cancel()
        if self.target is not None:
            self.target[1].close()
            self.note(f"closed: relayed {self.bytes_in} bytes to the target and "
                      f"{self.bytes_out} bytes from it")
        self.finish()


# ---------------------------------------------------------------------------------------------
# The gateway: HTTP authentication, channel pairing, transports.

class Gateway:
    def __init__(self, args):
        self.mode = args.mode
        self.users = load_users(args.users)
        self.idle_secs = args.idle_secs
        self.max_tunnels = args.max_tunnels if args.max_tunnels is not None else (
            0 if args.mode == "busy" else 64)
        self.paa_cookie = args.paa_cookie
        self.tunnels = 0
        self.next_tunnel_id = 1
        self.pending = {}  # RDG-Connection-Id -> the waiting OUT channel (serve_out)
        self.conn_seq = 0
        if self.mode == "kerberos-only":
            self.methods = ["Negotiate"]
        elif self.mode == "paa":
            self.methods = []
        else:
            self.methods = ["Negotiate", "NTLM", 'Basic realm="rdpdoctor-lab"']

    def challenge_headers(self):
        return [("WWW-Authenticate", m) for m in self.methods]

    def authenticate(self, conn, req):
        """(user or None, response bytes or None). A response with no user is a 401 (or the next
        leg of NTLM); None, None cannot happen."""
        auth = req.header("Authorization")
        scheme, _, param = auth.partition(" ")
        scheme_l = scheme.lower()
        offered = [m.split(" ")[0].lower() for m in self.methods]
        deny = lambda why: (None, self.deny(conn, req, why))  # noqa: E731
        if not auth:
            return deny("no Authorization header")
        if scheme_l not in offered:
            return deny(f"client used {scheme!r}, which this gateway does not offer")
        try:
            token = base64.b64decode(param.strip(), validate=True)
        except ValueError:
            return deny(f"{scheme} parameter is not base64")
        try:
            if scheme_l == "basic":
                user, _, password = token.decode("utf-8", "replace").partition(":")
                name = user.split("\\")[-1]
                entry = self.users.get(name.lower())
                if entry is None or not hmac.compare_digest(entry[2].encode(), password.encode()):
                    raise AuthError(f"Basic logon for {user!r} failed")
                return user, None
            if scheme_l == "ntlm":
                return self.ntlm_leg(conn, req, token, wrap=False)
            return self.negotiate_leg(conn, req, token)
        except AuthError as e:
            conn.ntlm = None
            return deny(str(e))

    def ntlm_leg(self, conn, req, token, wrap, client_mic=None):
        if conn.ntlm is None or token[8:12] == b"\x01\x00\x00\x00":
            conn.ntlm = NtlmAcceptor(self.users)
        out = conn.ntlm.step(token)
        scheme = "Negotiate" if wrap else "NTLM"
        if out is not None:
            value = spnego_resp(1, out, OID_NTLM) if wrap else out
            conn.log(f"{req.method}: 401 {scheme} challenge (NTLM CHALLENGE)")
            return None, response(401, "Unauthorized",
                                  [("WWW-Authenticate", f"{scheme} {base64.b64encode(value).decode()}"),
                                   ("Connection", "keep-alive")])
        user = conn.ntlm.user
        if wrap:
            # RFC 4178 5: verify the client's mechListMIC, and answer with our own.
            mech_list = mech_type_list(conn.mechs)
            if client_mic is not None and not hmac.compare_digest(
                    conn.ntlm.mac("client", mech_list), client_mic):
                raise AuthError(f"Negotiate logon of {user!r}: the client's mechListMIC is wrong")
            final = spnego_resp(0, mic=conn.ntlm.mac("server", mech_list))
            conn.final_auth_header = ("WWW-Authenticate", f"Negotiate {base64.b64encode(final).decode()}")
        conn.log(f"{req.method}: {scheme} logon of {user!r} succeeded")
        return user, None

    def negotiate_leg(self, conn, req, token):
        mechs, mech_token, mic = spnego_parse(token)
        if mechs:
            conn.mechs = mechs
        if mechs and OID_NTLM not in mechs:
            kinds = ["Kerberos" if m in (OID_KRB5, OID_MS_KRB5) else m.hex() for m in mechs]
            raise AuthError(f"Negotiate offers {kinds}; this gateway cannot verify Kerberos "
                            "(no KDC in the lab)")
        if self.mode == "kerberos-only":
            raise AuthError("Negotiate carries NTLM, which this gateway refuses (Kerberos only)")
        if mech_token is None:
            raise AuthError("Negotiate token without an NTLM mechToken")
        if mechs and mechs[0] != OID_NTLM:
            # The optimistic token is for another mechanism: ask for NTLM (RFC 4178 4.2.1).
            conn.log(f"{req.method}: 401 Negotiate, request NTLM instead of the preferred mech")
            return None, response(401, "Unauthorized", [
                ("WWW-Authenticate", f"Negotiate {base64.b64encode(spnego_resp(1, None, OID_NTLM)).decode()}"),
                ("Connection", "keep-alive")])
        return self.ntlm_leg(conn, req, mech_token, wrap=True, client_mic=mic)

    def deny(self, conn, req, why):
        conn.log(f"{req.method}: 401 ({why}); offering {', '.join(m.split(' ')[0] for m in self.methods)}")
        return response(401, "Unauthorized", self.challenge_headers() + [("Connection", "keep-alive")])


class Conn:
    def __init__(self, gw, reader, writer):
        gw.conn_seq += 1
        self.n = gw.conn_seq
        self.gw, self.reader, self.writer = gw, reader, writer
        self.ntlm = None
        self.user = None
        self.final_auth_header = None
        self.mechs = [OID_NTLM]

    def log(self, msg):
        log(f"conn {self.n}: {msg}")


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + WS_GUID).digest()).decode()


async def run_tunnel(gw, conn_id, user, send, chunks):
    """Feed packets from chunks (an async iterator of bytes) into a Tunnel until it ends."""
    tunnel = Tunnel(gw, conn_id, user, send)
    splitter = PacketSplitter()

    async def pump():
        try:
            async for chunk in chunks:
                for pkt_type, body in splitter.feed(chunk):
                    if tunnel.state in ("initial", "handshake", "tunnel", "authorized"):
                        await asyncio.wait_for(tunnel.handle(pkt_type, body), PHASE_TIMEOUT)
                    else:
                        await tunnel.handle(pkt_type, body)
                    if tunnel.done.is_set():
                        return
            tunnel.note("client closed its channel")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                asyncio.LimitOverrunError, ssl.SSLError, OSError) as e:
            tunnel.note(f"client channel ended ({type(e).__name__}: {e})")

    pump_task = asyncio.ensure_future(pump())
    done_task = asyncio.ensure_future(tunnel.done.wait())
    await asyncio.wait([pump_task, done_task], return_when=asyncio.FIRST_COMPLETED)
    pump_task.cancel()
    done_task.cancel()
    tunnel.close()


async def handle_conn(gw, reader, writer):
    conn = Conn(gw, reader, writer)
    peer = writer.get_extra_info("peername")
    conn.log(f"TLS connection from {peer[0]}:{peer[1]}")
    try:
        await serve_requests(gw, conn)
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError) as e:
        conn.log(f"connection ended ({type(e).__name__}: {e})")
    finally:
        writer.close()


async def serve_requests(gw, conn):
    reader, writer = conn.reader, conn.writer
    while True:
        req = await read_request(reader)
        if req is None:
            conn.log("closed")
            return
        conn_id = req.header("RDG-Connection-Id")
        if req.path.split("?")[0].rstrip("/").lower() != "/remotedesktopgateway" or req.method not in (
                "RDG_OUT_DATA", "RDG_IN_DATA"):
            conn.log(f"{req.method} {req.path}: 404 (not the RD Gateway HTTP endpoint)")
            writer.write(response(404, "Not Found", [("Connection", "close")]))
            await writer.drain()
            return
        if conn.user is None and gw.mode == "paa":
            conn.user = "(anonymous: PAA)"
            conn.log(f"{req.method}: HTTP is anonymous here; the PAA cookie is checked at tunnel create")
        if conn.user is None:
            user, answer = gw.authenticate(conn, req)
            if user is None:
                writer.write(answer)
                await writer.drain()
                continue
            conn.user = user
        if not conn_id:
            conn.log(f"{req.method}: 400 (no RDG-Connection-Id header)")
            writer.write(response(400, "Bad Request", [("Connection", "close")]))
            await writer.drain()
            return
        wants_ws = "websocket" in req.header("Upgrade").lower()
        if req.method == "RDG_OUT_DATA":
            await serve_out(gw, conn, req, conn_id, wants_ws)
            return
        # RDG_IN_DATA
        chunked = "chunked" in req.header("Transfer-Encoding").lower()
        length = int(req.header("Content-Length") or "0") if req.header("Content-Length").isdigit() else 0
        if not chunked and length == 0:
            conn.log(f"RDG_IN_DATA {conn_id}: 200 (authenticated; the client sends its body next)")
            writer.write(response(200, "OK", [("Connection", "keep-alive")]))
            await writer.drain()
            continue
        await serve_in(gw, conn, conn_id, chunked, length)
        return


async def serve_out(gw, conn, req, conn_id, wants_ws):
    writer = conn.writer
    extra = [conn.final_auth_header] if conn.final_auth_header else []
    if wants_ws and gw.mode != "no-websocket":
        key = req.header("Sec-WebSocket-Key")
        writer.write(response(101, "Switching Protocols",
                              extra + [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                       ("Sec-WebSocket-Accept", ws_accept(key))], body=None))
        await writer.drain()
        conn.log(f"RDG_OUT_DATA {conn_id}: 101 WebSocket for {conn.user!r}")

        def send(data):
            writer.write(ws_frame(0x2, data))

        await run_tunnel(gw, conn_id, conn.user, send, read_ws(conn.reader, writer))
        return
    if wants_ws:
        conn.log(f"RDG_OUT_DATA {conn_id}: WebSocket upgrade refused (mode no-websocket); "
                 "200 as an HTTP-only gateway")
    # The seed: 10 random bytes, no length (HTTP/1.0 style, MS-TSGU 3.3.5.1).
    writer.write(response(200, "OK", extra + [("Content-Type", "application/octet-stream"),
                                              ("Connection", "close")], body=None)
                 + os.urandom(10))
    await writer.drain()
    conn.log(f"RDG_OUT_DATA {conn_id}: 200 for {conn.user!r}, waiting for RDG_IN_DATA")
    loop = asyncio.get_running_loop()
    pair = {"paired": loop.create_future(), "finished": loop.create_future(),
            "send": writer.write, "user": conn.user}
    gw.pending[conn_id] = pair
    try:
        await asyncio.wait_for(asyncio.shield(pair["paired"]), PAIR_TIMEOUT)
    except asyncio.TimeoutError:
        conn.log(f"RDG_OUT_DATA {conn_id}: no RDG_IN_DATA within {PAIR_TIMEOUT:.0f} s; closing")
        return
    finally:
        gw.pending.pop(conn_id, None)
    # The IN side runs the tunnel; this connection carries its output until the tunnel ends.
    await pair["finished"]


async def serve_in(gw, conn, conn_id, chunked, length):
    entry = gw.pending.get(conn_id)
    if entry is None:
        conn.log(f"RDG_IN_DATA {conn_id}: no RDG_OUT_DATA with this connection id; closing")
        return
    send, out_user = entry["send"], entry["user"]
    conn.log(f"RDG_IN_DATA {conn_id}: paired with its RDG_OUT_DATA "
             f"({'chunked' if chunked else f'Content-Length {length}'})")
    if out_user.lower() != conn.user.lower():
        conn.log(f"RDG_IN_DATA {conn_id}: user {conn.user!r} differs from the OUT channel's "
                 f"{out_user!r}; closing")
        return

    async def body():
        if chunked:
            async for chunk in read_chunked(conn.reader):
                yield chunk
            return
        left = length
        while left > 0:
            data = await conn.reader.read(min(left, 65536))
            if not data:
                return
            left -= len(data)
            yield data

    entry["paired"].set_result(None)
    gw.pending.pop(conn_id, None)
    try:
        await run_tunnel(gw, conn_id, conn.user, send, body())
    finally:
        entry["finished"].set_result(None)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True, help="PEM certificate chain")
    p.add_argument("--key", required=True)
    p.add_argument("--users", required=True, help="lines user:domain:password")
    p.add_argument("--mode", choices=MODES, default="healthy")
    p.add_argument("--idle-secs", type=float, default=5.0)
    p.add_argument("--max-tunnels", type=int, default=None)
    p.add_argument("--paa-cookie", default=None)
    args = p.parse_args()
    gw = Gateway(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    if os.environ.get("SSLKEYLOGFILE"):  # TLS secrets for tshark (lab/OBSERVED.md), off by default
        ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]

    offers = ", ".join(m.split(" ")[0] for m in gw.methods) or "PAA only"
    standin.run_server(lambda r, w: handle_conn(gw, r, w), args.port,
                       f"gateway {args.mode} listening on https://127.0.0.1:{args.port}"
                       f"/remoteDesktopGateway/ (pid {os.getpid()}), offers {offers}",
                       ssl=ctx, limit=MAX_HEADER, ssl_handshake_timeout=PHASE_TIMEOUT)


if __name__ == "__main__":
    sys.exit(main())
