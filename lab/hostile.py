#!/usr/bin/env python3
"""Hostile stand-in servers: an attacker's or a broken device's behaviour, which no real RDP
server produces on purpose. They exist to prove that rdpdoctor never leaks a secret, never hangs
and never claims more than it proved.

Usage: hostile.py MODE PORT

Listens on 127.0.0.1:PORT only. Every byte the client sends after the X.224 request (decrypted,
where the stand-in terminates TLS) is appended to the file named by HOSTILE_RECORD, so a test can
check that a canary password never arrived.

Modes
  harvest-tls   a password harvester behind TLS without NLA: selects PROTOCOL_SSL, terminates
                TLS with the lab CA's certificate (not in the system trust store), answers MCS,
                Attach User and Channel Joins, and records the Client Info PDU (which carries
                the password when a client sends it); then Set Error Info 0x7 and a close.
  harvest-rdp   the same over Standard RDP Security at encryption level None: selects
                PROTOCOL_RDP and answers the MCS Connect Initial with level None / method None,
                so a client that sends the Client Info PDU sends the password in clear.
  drip          selects PROTOCOL_SSL, completes TLS, then sends a 2-byte fast-path frame every
                1.5 s forever (each one resets a per-read deadline; only an overall one ends it).
  badpubkey     an NLA interceptor: selects PROTOCOL_HYBRID (RDP_NEG_FAILURE 5 to requests
                without it), TLS, answers the NTLM NEGOTIATE with a well-formed CHALLENGE, and the
                AUTHENTICATE with a TSRequest whose pubKeyAuth is random bytes (it cannot compute
                the real one). Its NTLM names carry terminal escape sequences, a carriage return
                with a forged line, and a right-to-left override.
  badcredssp    NLA required (failure 5 without HYBRID), TLS, then answers the NTLM NEGOTIATE
                with bytes that are not a TSRequest.
  badmcs        Standard RDP Security only (failure 2 to requests with TLS), then answers the MCS
                Connect Initial according to HOSTILE_VARIANT: garbage (a TPKT of junk),
                truncated (the first 20 bytes of a response, then close), ffff (a response whose
                encryption level and method are 0xFFFFFFFF), silent (no answer).
  oddproto      answers every X.224 request with RDP_NEG_RSP selectedProtocol 0x00000040, a value
                MS-RDPBCGR does not define.
  stall6        answers the X.224 request with its first 6 bytes (03 00 00 13 0e d0), then
                nothing.
  authanswer    an NLA server that never proves its TLS key: NLA required, TLS, a well-formed
                CHALLENGE, then it answers the NTLM AUTHENTICATE according to the user name in
                it (the part after a backslash, case-insensitive), so one port plays every case:
                  nopubkey     a TSRequest with the version only (no pubKeyAuth, no errorCode)
                  errorzero    a TSRequest with errorCode 0 (STATUS_SUCCESS) and no pubKeyAuth
                  rechallenge  another TSRequest with an NTLM CHALLENGE in negoTokens
                  garbage      bytes that are not a TSRequest
                  stall        nothing (it reads and discards until the client closes)
                  pkN          a pubKeyAuth of N random bytes (pk0, pk8, pk15: shorter than an
                               NTLM signature; pk16: a signature and nothing signed)
                  anything else: a pubKeyAuth of 48 random bytes (it cannot compute the real one)
  badchallenge  NLA required, TLS, then answers the NTLM NEGOTIATE with a TSRequest whose
                CHALLENGE has a readable header and names, but an AV pair after them that
                announces more bytes than TargetInfo holds (HOSTILE_VARIANT overrun), or a
                TSRequest with neither negoTokens nor errorCode (HOSTILE_VARIANT empty).
  frameflood    selects PROTOCOL_SSL, completes TLS, then sends 5000 two-byte fast-path frames
                at once (more than a client reads while waiting for the MCS Connect Response)
                and nothing else.
  badsequence   selects PROTOCOL_SSL, completes TLS, then answers the MCS Connect Initial with
                an MCS Connect Response header around junk (no GCC data).

Standard library only; reuses standin.py's framing helpers.
"""

import asyncio
import os
import ssl
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402  (the lab's other stand-ins: TPKT, MCS and error-info helpers)

MODES = ("harvest-tls", "harvest-rdp", "drip", "badpubkey", "badcredssp", "badmcs", "oddproto",
         "stall6", "authanswer", "badchallenge", "frameflood", "badsequence")
HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.environ.get("HOSTILE_RECORD")
DRIP_INTERVAL = 1.5
DRIP_LIMIT = 3600          # frames: an hour and a half, then give up on the client
FLOOD_FRAMES = 5000        # more than the probe's limit of frames in one connection sequence
HOSTILE_NAME = "LAB\x1b]0;pwned\x07\x1b[2J\rall healthy\r\nHEALTHY\u202egnp.exe"


def record(data):
    if RECORD and data:
        with open(RECORD, "ab") as f:
            f.write(data)


def requested_protocols(req):
    return struct.unpack("<I", req[-4:])[0] if len(req) >= 19 and req[-8] == 0x01 else 0


def confirm(selected):
    """X.224 Connection Confirm with RDP_NEG_RSP ([MS-RDPBCGR] 2.2.1.2.1)."""
    return (b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00"
            + struct.pack("<BBHI", 0x02, 0x00, 0x0008, selected))


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    certs = os.path.join(HERE, "state", "certs")
    ctx.load_cert_chain(os.path.join(certs, "negotiate-chain.pem"),
                        os.path.join(certs, "negotiate.key"))
    return ctx


# --- DER and NTLM, just enough for CredSSP ([MS-CSSP] 2.2.1, [MS-NLMP] 2.2.1.2) ---------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return b"\x81" + bytes([n])
    return b"\x82" + struct.pack(">H", n)


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def ts_request(version=6, token=None, pub_key_auth=None, error_code=None):
    body = tlv(0xA0, tlv(0x02, bytes([version])))
    if token is not None:
        body += tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0xA0, tlv(0x04, token)))))
    if pub_key_auth is not None:
        body += tlv(0xA3, tlv(0x04, pub_key_auth))
    if error_code is not None:
        body += tlv(0xA4, tlv(0x02, bytes([error_code])))
    return tlv(0x30, body)


def challenge_message(name, overrun=False):
    """An NTLM CHALLENGE whose AV pairs name the server `name` (UTF-16LE). With `overrun`, one
    more AV pair follows the names and announces 0x4000 bytes that TargetInfo does not hold."""
    u = name.encode("utf-16-le")
    av = b""
    for av_id, value in ((2, u), (1, u), (4, u), (3, u)):
        av += struct.pack("<HH", av_id, len(value)) + value
    if overrun:
        av += struct.pack("<HH", 5, 0x4000) + b"\x00" * 4
    else:
        # MsvAvTimestamp: now, as a FILETIME.
        import time
        filetime = int((time.time() + 11644473600) * 10_000_000)
        av += struct.pack("<HH", 7, 8) + struct.pack("<Q", filetime)
        av += struct.pack("<HH", 0, 0)
    flags = 0xE2898235
    version = struct.pack("<BBH3xB", 10, 0, 17763, 0x0F)
    offset = 56
    target = u
    header = (b"NTLMSSP\x00" + struct.pack("<I", 2)
              + struct.pack("<HHI", len(target), len(target), offset)
              + struct.pack("<I", flags)
              + os.urandom(8) + b"\x00" * 8
              + struct.pack("<HHI", len(av), len(av), offset + len(target))
              + version)
    return header + target + av


async def read_der(reader, limit=65536):
    """One DER SEQUENCE from the client (a TSRequest), bounded."""
    head = await asyncio.wait_for(reader.readexactly(2), standin.REQUEST_TIMEOUT)
    first = head[1]
    if first & 0x80:
        extra = await asyncio.wait_for(reader.readexactly(first & 0x7F), standin.REQUEST_TIMEOUT)
        head += extra
        length = int.from_bytes(extra, "big")
    else:
        length = first
    body = await asyncio.wait_for(reader.readexactly(min(length, limit)), standin.REQUEST_TIMEOUT)
    record(head + body)
    return head + body


def authenticate_user(request):
    """The user name (after any backslash, lower case) of the NTLM AUTHENTICATE_MESSAGE in a
    client TSRequest ([MS-NLMP] 2.2.1.3: UserNameFields at offset 36), or ''."""
    at = request.find(b"NTLMSSP\x00\x03\x00\x00\x00")
    if at < 0 or len(request) < at + 44:
        return ""
    length, _, offset = struct.unpack("<HHI", request[at + 36:at + 44])
    raw = request[at + offset:at + offset + length]
    name = raw.decode("utf-16-le", "replace")
    return name.rsplit("\\", 1)[-1].lower()


# --- the modes ---------------------------------------------------------------------------------

async def session(reader, writer, selected):
    """MCS Connect, Attach User, Channel Joins; records every frame; ends after Client Info."""
    for _ in range(standin.MAX_FRAMES):
        frame = await standin.read_request(reader)
        if not frame:
            return
        record(frame)
        if frame[4:7] != b"\x02\xf0\x80" or len(frame) < 8:
            continue
        mcs = frame[7:]
        if mcs[:2] == b"\x7f\x65":                            # Connect-Initial
            answer, _ = standin.errorinfo_connect_response(frame)
            if selected == 0:
                # clientRequestedProtocols echoed as PROTOCOL_RDP (the SC_CORE block's last
                # field); the security block already says level None / method None.
                answer = answer.replace(struct.pack("<HHII", 0x0C01, 12, 0x00080004, 1),
                                        struct.pack("<HHII", 0x0C01, 12, 0x00080004, 0))
            writer.write(answer)
        elif mcs[0] >> 2 == 10:                               # Attach User Request
            writer.write(standin.tpkt(b"\x2e\x00" + struct.pack(">H", standin.CLIENT_USER - 1001)))
        elif mcs[0] >> 2 == 14 and len(mcs) >= 5:              # Channel Join Request
            channel = mcs[3:5]
            writer.write(standin.tpkt(b"\x3e\x00" + struct.pack(">H", standin.CLIENT_USER - 1001)
                                      + channel + channel))
        elif mcs[0] >> 2 == 25:                               # Send Data Request
            off = 6 + (2 if len(mcs) > 6 and mcs[6] & 0x80 else 1)
            flags = struct.unpack("<H", mcs[off:off + 2])[0] if len(mcs) >= off + 2 else 0
            if flags & 0x0040:                                # SEC_INFO_PKT: Client Info
                standin.log("harvest: Client Info PDU recorded")
                writer.write(standin.set_error_info_pdu(standin.ERRORINFO_CODE))
                writer.write(standin.DPUM_PROVIDER_INITIATED)
                await writer.drain()
                return
        await writer.drain()


async def harvest(reader, writer, tls):
    req = await standin.read_request(reader)
    if not req:
        return
    writer.write(confirm(1 if tls else 0))
    await writer.drain()
    if tls:
        await asyncio.wait_for(writer.start_tls(tls_context()), standin.REQUEST_TIMEOUT)
    await session(reader, writer, 1 if tls else 0)


async def tls_open(reader, writer):
    """X.224 (TLS required) and TLS: True when the client is ready for the MCS Connect Initial."""
    req = await standin.read_request(reader)
    if not req:
        return False
    if not requested_protocols(req) & 0x01:
        writer.write(standin.negfailure_cc(1))   # SSL_REQUIRED_BY_SERVER
        await writer.drain()
        return False
    writer.write(confirm(1))
    await writer.drain()
    await asyncio.wait_for(writer.start_tls(tls_context()), standin.REQUEST_TIMEOUT)
    return True


async def drip(reader, writer):
    if not await tls_open(reader, writer):
        return
    for _ in range(DRIP_LIMIT):
        writer.write(b"\x00\x02")      # a fast-path output PDU with no update (2 bytes)
        await writer.drain()
        await asyncio.sleep(DRIP_INTERVAL)


async def frameflood(reader, writer):
    if not await tls_open(reader, writer):
        return
    writer.write(b"\x00\x02" * FLOOD_FRAMES)    # fast-path output PDUs with no update
    await writer.drain()
    await standin.drain_until_eof(reader, 60.0)


async def badsequence(reader, writer):
    if not await tls_open(reader, writer):
        return
    initial = await standin.read_request(reader)
    if not initial:
        return
    record(initial)
    # An MCS Connect Response header (0x7f 0x66) around junk: no GCC data a client can read.
    writer.write(standin.tpkt(b"\x7f\x66\x82\x00\x10" + b"\xa5" * 16))
    await writer.drain()
    await standin.drain_until_eof(reader, 60.0)


async def nla_open(reader, writer):
    """X.224 (NLA required) and TLS: True when the client is ready for CredSSP."""
    req = await standin.read_request(reader)
    if not req:
        return False
    if not requested_protocols(req) & 0x02:
        writer.write(standin.negfailure_cc(5))   # HYBRID_REQUIRED_BY_SERVER
        await writer.drain()
        return False
    writer.write(confirm(2))
    await writer.drain()
    await asyncio.wait_for(writer.start_tls(tls_context()), standin.REQUEST_TIMEOUT)
    return True


async def nla(reader, writer, answer_authenticate):
    if not await nla_open(reader, writer):
        return
    await read_der(reader)                              # NEGOTIATE
    if not answer_authenticate:
        writer.write(b"\x13\x37 not a TSRequest \xff\xfe")
        await writer.drain()
        await standin.drain_until_eof(reader, 10.0)
        return
    writer.write(ts_request(6, challenge_message(HOSTILE_NAME)))
    await writer.drain()
    await read_der(reader)                              # AUTHENTICATE with pubKeyAuth
    writer.write(ts_request(6, pub_key_auth=os.urandom(48)))
    await writer.drain()
    try:
        await read_der(reader)                          # TSCredentials: must never come
        standin.log("badpubkey: the client sent TSCredentials after a bad pubKeyAuth")
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass


async def authanswer(reader, writer):
    if not await nla_open(reader, writer):
        return
    await read_der(reader)                              # NEGOTIATE
    writer.write(ts_request(6, challenge_message("STANDIN")))
    await writer.drain()
    user = authenticate_user(await read_der(reader))    # AUTHENTICATE
    standin.log(f"authanswer: AUTHENTICATE for {user!r}")
    if user == "nopubkey":
        writer.write(ts_request(6))
    elif user == "errorzero":
        writer.write(ts_request(6, error_code=0))
    elif user == "rechallenge":
        writer.write(ts_request(6, challenge_message("STANDIN")))
    elif user == "garbage":
        writer.write(b"\x13\x37 not a TSRequest \xff\xfe")
    elif user == "stall":
        await standin.drain_until_eof(reader, 60.0)
        return
    elif user.startswith("pk") and user[2:].isdigit() and int(user[2:]) <= 1024:
        writer.write(ts_request(6, pub_key_auth=os.urandom(int(user[2:]))))
    else:
        writer.write(ts_request(6, pub_key_auth=os.urandom(48)))
    await writer.drain()
    try:
        await read_der(reader)                          # TSCredentials: must never come
        standin.log(f"authanswer: the client sent TSCredentials ({user!r})")
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass


async def badchallenge(reader, writer):
    if not await nla_open(reader, writer):
        return
    await read_der(reader)                              # NEGOTIATE
    if os.environ.get("HOSTILE_VARIANT") == "empty":
        writer.write(ts_request(6))
    else:
        writer.write(ts_request(6, challenge_message("STANDIN", overrun=True)))
    await writer.drain()
    try:
        await read_der(reader)                          # an AUTHENTICATE: recorded
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        return
    await standin.drain_until_eof(reader, 10.0)


async def badmcs(reader, writer):
    req = await standin.read_request(reader)
    if not req:
        return
    if requested_protocols(req) != 0:
        writer.write(standin.negfailure_cc(2))   # SSL_NOT_ALLOWED_BY_SERVER
        await writer.drain()
        return
    writer.write(confirm(0))
    await writer.drain()
    initial = await standin.read_request(reader)
    if not initial:
        return
    record(initial)
    variant = os.environ.get("HOSTILE_VARIANT", "garbage")
    answer, _ = standin.errorinfo_connect_response(initial)
    if variant == "garbage":
        writer.write(standin.tpkt(b"\x7f\x66\x82\x00\x10" + b"\xa5" * 16))
    elif variant == "truncated":
        writer.write(answer[:20])
        await writer.drain()
        return
    elif variant == "ffff":
        writer.write(answer.replace(struct.pack("<HHII", 0x0C02, 12, 0, 0),
                                    struct.pack("<HHII", 0x0C02, 12, 0xFFFFFFFF, 0xFFFFFFFF)))
    elif variant == "silent":
        pass
    await writer.drain()
    await standin.drain_until_eof(reader, 60.0)


async def handle(mode, reader, writer):
    try:
        if mode == "harvest-tls":
            await harvest(reader, writer, True)
        elif mode == "harvest-rdp":
            await harvest(reader, writer, False)
        elif mode == "drip":
            await drip(reader, writer)
        elif mode == "badpubkey":
            await nla(reader, writer, True)
        elif mode == "badcredssp":
            await nla(reader, writer, False)
        elif mode == "badmcs":
            await badmcs(reader, writer)
        elif mode == "oddproto":
            if await standin.read_request(reader):
                writer.write(confirm(0x40))
                await writer.drain()
                await standin.drain_until_eof(reader, 30.0)
        elif mode == "frameflood":
            await frameflood(reader, writer)
        elif mode == "badsequence":
            await badsequence(reader, writer)
        elif mode == "authanswer":
            await authanswer(reader, writer)
        elif mode == "badchallenge":
            await badchallenge(reader, writer)
        elif mode == "stall6":
            if await standin.read_request(reader):
                writer.write(bytes.fromhex("030000130ed0"))
                await writer.drain()
                await standin.drain_until_eof(reader, 60.0)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
        standin.log(f"{mode}: {exc.__class__.__name__}")
    except Exception as exc:  # keep serving other connections
        standin.log(f"{mode}: unexpected {exc!r}")
    try:
        await standin.close(writer)
    except Exception:
        pass


if __name__ == "__main__":
    standin.serve_main("hostile", MODES, handle)
