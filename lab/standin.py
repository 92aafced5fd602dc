#!/usr/bin/env python3
"""Stand-in "servers" for RDP faults that no real server produces on demand.

Usage: standin.py MODE PORT

Listens on 127.0.0.1:PORT only and handles every connection independently until killed.

Modes
  accept-close  accept, then close cleanly (FIN) without ever answering; whatever the client
                sends afterwards is read and discarded so the close stays a FIN, not a RST.
  silent        accept, read and discard, never answer; the connection stays open until the
                client closes it.
  negfailure    answer every X.224 Connection Request with a well-formed Connection Confirm
                carrying RDP_NEG_FAILURE; failureCode from env STANDIN_FAILURE_CODE (default 6,
                SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER), then close (as [MS-RDPBCGR] 3.3.5.3.2
                requires).
  legacy        answer with an X.224 Connection Confirm without negotiation data
                (03 00 00 0b 06 d0 00 00 12 34 00), like a pre-RDP 5.2 server. Then answer an
                MCS Connect Initial with an MCS Connect Response ([MS-RDPBCGR] 2.2.1.4): Server
                Core Data version RDP 4.0 (0x00080001), Server Network Data (I/O channel 1003, 3 channels),
                Server Security Data at level Client Compatible (2) with the strongest method
                the client offered (128 > 56 > 40-bit > FIPS) and a 512-bit proprietary
                certificate; an offer without any known method gets MCS result 14
                (rt-unspecified-failure). Then keep the socket open until the client closes it.
  garbage       send an SSH banner immediately on accept, then read and discard until the
                client closes.
  reset         read the request, then close with SO_LINGER 0 so the client sees a TCP RST.
  flood         after the request, send an endless stream of TPKT-looking junk frames
                (03 00 ff ff + 65531 junk bytes each) until the client closes, capped at
                64 MiB per connection (then close).
  midrecord     after the request, send a TPKT header announcing 19 bytes but only the
                first 7 bytes of the record (03 00 00 13 0e d0 00), then close.
  errorinfo     a server that refuses the session after the Client Info PDU, the way
                mstsc reports as error 0x904 / extended 0x7: answer a request that offers TLS
                with RDP_NEG_RSP PROTOCOL_SSL (a request without TLS gets RDP_NEG_FAILURE 1,
                SSL_REQUIRED_BY_SERVER), TLS with the lab's CA-signed certificate
                (state/certs/negotiate-chain.pem), an MCS Connect Response (Server Core Data
                RDP 5.0+, Server Network Data with the I/O channel 1003 and one id per requested
                static channel, Server Security Data level 0 / method 0), Attach User Confirm
                (user 1007), a Channel Join Confirm per request; then, after the Client Info
                PDU, a Set Error Info PDU with errorInfo 0x00000007
                (ERRINFO_SERVER_DENIED_CONNECTION), an MCS Disconnect Provider Ultimatum
                (rn-provider-initiated) and a close. No real Linux server sends this.

Standard library only.
"""

import asyncio
import os
import socket
import ssl
import struct
import sys
import time

MAX_REQUEST = 4096          # never buffer more than this from a client request
REQUEST_TIMEOUT = 30.0      # seconds to wait for the client's request
IDLE_LIMIT = 600.0          # a silent/legacy connection is dropped after this long
FLOOD_CAP = 64 * 1024 * 1024

LEGACY_CC = bytes.fromhex("0300000b06d00000123400")
# A 512-bit RSA modulus (openssl genrsa 512), big-endian, for the legacy stand-in's proprietary
# certificate: small on purpose, so rdpdoctor's weak-server-key has a server to find.
LEGACY_MODULUS = bytes.fromhex(
    "CE5C3CB6ECF9FDDDC7A5AF66B80DDDE85ED8B9F1A070F870B3E24331E90D51E5"
    "9ADD2683F990E7119997C97339DBC9CA1462001AFDA7CA4F8E50315A00914BB5")
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
MIDRECORD = bytes.fromhex("030000130ed000")  # 7 of the 19 announced bytes
FLOOD_FRAME = b"\x03\x00\xff\xff" + bytes((i * 37 + 11) & 0xFF for i in range(65535 - 4))

MODES = ("accept-close", "silent", "negfailure", "legacy", "garbage", "reset", "flood",
         "midrecord", "errorinfo")

HERE = os.path.dirname(os.path.abspath(__file__))
ERRORINFO_CODE = 0x00000007          # ERRINFO_SERVER_DENIED_CONNECTION ([MS-RDPBCGR] 2.2.5.1.1)
IO_CHANNEL = 1003
SERVER_USER = 1002                   # pduSource / MCS initiator of the server's PDUs
CLIENT_USER = 1007                   # the user id Attach User Confirm hands out
MAX_FRAMES = 64                      # frames read from one client before giving up


def log(msg):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {msg}", flush=True)


def negfailure_cc(code):
    # TPKT(4) + X.224 CC(7, LI=14) + RDP_NEG_FAILURE(8) = 19 bytes
    return (b"\x03\x00\x00\x13" + b"\x0e\xd0\x00\x00\x12\x34\x00"
            + struct.pack("<BBHI", 0x03, 0x00, 0x0008, code))


def proprietary_certificate(modulus_be):
    """PROPRIETARYSERVERCERTIFICATE ([MS-RDPBCGR] 2.2.1.4.3.1.1) around an RSA public key.

    The SignatureBlob should be the MD5 of the preceding fields signed with the Terminal Services
    Signing Key (5.3.3.1.2); this stand-in only needs a well-formed certificate, so its 64
    signature bytes are a fixed pattern (plus the 8 zero bytes of padding)."""
    modulus_le = modulus_be[::-1] + b"\x00" * 8
    bits = len(modulus_be) * 8
    key = struct.pack("<IIIII", 0x31415352, len(modulus_le), bits, bits // 8 - 1, 65537) + modulus_le
    signature = bytes(range(0x40, 0x80)) + b"\x00" * 8
    return (struct.pack("<IIIHH", 1, 1, 1, 0x0006, len(key)) + key
            + struct.pack("<HH", 0x0008, len(signature)) + signature)


def legacy_connect_response(request):
    """MCS Connect Response for a Connect Initial, as a pre-RDP 5.2 server at Client Compatible."""
    i = request.find(b"\x02\xc0\x0c\x00")  # TS_UD_CS_SEC header
    offered = struct.unpack("<I", request[i + 4:i + 8])[0] if i >= 0 and len(request) >= i + 8 else 0
    method = next((m for m in (0x02, 0x08, 0x01, 0x10) if offered & m), 0)
    if method == 0:
        mcs = bytes.fromhex("7f66030a010e")  # result 14 rt-unspecified-failure only
    else:
        cert = proprietary_certificate(LEGACY_MODULUS)
        random = bytes(range(32))
        sec = struct.pack("<IIII", method, 2, len(random), len(cert)) + random + cert
        blocks = (struct.pack("<HHI", 0x0C01, 8, 0x00080001)            # SC_CORE: RDP 4.0
                  # SC_NET: I/O channel 1003 and three static channel ids (as xrdp sends), which
                  # also keeps the blocks over 255 bytes: nmap's rdp.lua reads the PER length with
                  # a BER decoder and misreads the valid 2-byte form 0x80 0xNN (lengths 128-255).
                  + struct.pack("<HHHHHHHH", 0x0C03, 16, 0x03EB, 3, 0x03EC, 0x03ED, 0x03EE, 0)
                  + struct.pack("<HH", 0x0C02, 4 + len(sec)) + sec)     # SC_SECURITY
        # T.124 ConferenceCreateResponse, ALIGNED PER: key OID, connectPDU length, choice 0x14,
        # nodeID, tag 1, result success, one user data set, h221NonStandard "McDn", blocks.
        # The connectPDU length is 0x2A as in the MS-RDPBCGR 4.1.4 example, Windows, xrdp and
        # FreeRDP (clients must ignore it); nmap's rdp.lua relies on that one-byte form.
        tail = (bytes.fromhex("14760a01010001c000") + b"McDn"
                + struct.pack(">H", 0x8000 | len(blocks)) + blocks)
        gcc = bytes.fromhex("000500147c00012a") + tail
        body = (bytes.fromhex("0a0100" "020100"
                              "301a020122020103020100020101020100020101020300fff8020102")
                + b"\x04\x82" + struct.pack(">H", len(gcc)) + gcc)
        mcs = b"\x7f\x66\x82" + struct.pack(">H", len(body)) + body
    x224 = b"\x02\xf0\x80" + mcs
    return struct.pack(">BBH", 3, 0, len(x224) + 4) + x224, offered, method


def tpkt(x224_payload):
    data = b"\x02\xf0\x80" + x224_payload
    return struct.pack(">BBH", 3, 0, len(data) + 4) + data


def errorinfo_connect_response(request):
    """MCS Connect Response ([MS-RDPBCGR] 2.2.1.4) for TLS: core, network, security (none)."""
    channels = 0
    i = request.find(b"\x03\xc0")  # TS_UD_CS_NET header (type 0xC003)
    if i >= 0 and len(request) >= i + 8:
        channels = min(struct.unpack("<I", request[i + 4:i + 8])[0], 31)
    ids = [IO_CHANNEL + 1 + n for n in range(channels)]
    if len(ids) % 2:
        ids.append(0)  # padding to a multiple of 4 bytes
    net = struct.pack("<HH", IO_CHANNEL, channels) + b"".join(struct.pack("<H", c) for c in ids)
    blocks = (struct.pack("<HHII", 0x0C01, 12, 0x00080004, 0x00000001)   # SC_CORE, SSL echoed
              + struct.pack("<HH", 0x0C03, 4 + len(net)) + net               # SC_NET
              + struct.pack("<HHII", 0x0C02, 12, 0, 0))                      # SC_SECURITY none
    tail = (bytes.fromhex("14760a01010001c000") + b"McDn"
            + struct.pack(">H", 0x8000 | len(blocks)) + blocks)
    gcc = bytes.fromhex("000500147c00012a") + tail
    body = (bytes.fromhex("0a0100" "020100"
                          "301a020122020103020100020101020100020101020300fff8020102")
            + b"\x04\x82" + struct.pack(">H", len(gcc)) + gcc)
    return tpkt(b"\x7f\x66\x82" + struct.pack(">H", len(body)) + body), channels


def set_error_info_pdu(code):
    """Set Error Info PDU: MCS SDin on the I/O channel, Share Control + Share Data headers
    (pduType PDUTYPE_DATAPDU, pduType2 47 PDUTYPE2_SET_ERROR_INFO_PDU), errorInfo."""
    data = struct.pack("<I", code)
    share_data = struct.pack("<IBBHBBH", 0x00010000 | SERVER_USER, 0, 1, len(data) + 4, 0x2F, 0, 0)
    body = share_data + data
    user_data = struct.pack("<HHH", 6 + len(body), 0x0017, SERVER_USER) + body
    sdin = (b"\x68" + struct.pack(">HH", SERVER_USER - 1001, IO_CHANNEL) + b"\x70"
            + bytes([len(user_data)]) + user_data)
    return tpkt(sdin)


# MCS Disconnect Provider Ultimatum, reason rn-provider-initiated (1).
DPUM_PROVIDER_INITIATED = tpkt(b"\x20\x80")


async def accept_tls(req, writer, tag, cert=None, key=None):
    """Answer an X.224 request that offers TLS with RDP_NEG_RSP PROTOCOL_SSL and run the TLS
    handshake (the lab CA's certificate by default). A request without TLS gets RDP_NEG_FAILURE 1
    (SSL_REQUIRED_BY_SERVER). Returns whether TLS is up. (errorinfo and lab/broker.py use it.)"""
    requested = struct.unpack("<I", req[-4:])[0] if len(req) >= 19 and req[-8] == 0x01 else 0
    if not requested & 0x01:
        writer.write(negfailure_cc(1))  # SSL_REQUIRED_BY_SERVER
        await writer.drain()
        log(f"{tag}: request 0x{requested:x} without TLS -> failureCode 1")
        return False
    writer.write(b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00"
                 + struct.pack("<BBHI", 0x02, 0x00, 0x0008, 0x00000001))
    await writer.drain()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    certs = os.path.join(HERE, "state", "certs")
    ctx.load_cert_chain(cert or os.path.join(certs, "negotiate-chain.pem"),
                        key or os.path.join(certs, "negotiate.key"))
    if os.environ.get("SSLKEYLOGFILE"):  # TLS secrets for tshark (lab/OBSERVED.md), off by default
        ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
    await asyncio.wait_for(writer.start_tls(ctx), REQUEST_TIMEOUT)
    log(f"{tag}: request 0x{requested:x} -> PROTOCOL_SSL, TLS done")
    return True


async def mcs_until_client_info(reader, writer, tag):
    """Answer MCS over TLS as a server does (Connect Response, Attach User Confirm, one Channel
    Join Confirm per request) until the Client Info PDU. Returns the MCS Send Data Request that
    carries it and the offset of its security header, or None when the client closes first."""
    for _ in range(MAX_FRAMES):
        frame = await read_request(reader)
        if not frame:
            log(f"{tag}: client closed")
            return None
        if frame[4:7] != b"\x02\xf0\x80" or len(frame) < 8:
            continue
        mcs = frame[7:]
        if mcs[:2] == b"\x7f\x65":                       # Connect-Initial
            answer, channels = errorinfo_connect_response(frame)
            writer.write(answer)
            log(f"{tag}: Connect Initial with {channels} static channels")
        elif mcs[0] >> 2 == 10:                           # Attach User Request
            writer.write(tpkt(b"\x2e\x00" + struct.pack(">H", CLIENT_USER - 1001)))
        elif mcs[0] >> 2 == 14 and len(mcs) >= 5:          # Channel Join Request
            channel = mcs[3:5]
            writer.write(tpkt(b"\x3e\x00" + struct.pack(">H", CLIENT_USER - 1001)
                              + channel + channel))
        elif mcs[0] >> 2 == 25:                           # Send Data Request
            # PER: initiator (2), channel (2), priority (1), length (1 or 2), then user data.
            off = 6 + (2 if len(mcs) > 6 and mcs[6] & 0x80 else 1)
            flags = struct.unpack("<H", mcs[off:off + 2])[0] if len(mcs) >= off + 2 else 0
            if flags & 0x0040:                            # SEC_INFO_PKT: the Client Info PDU
                return mcs, off
        await writer.drain()
    log(f"{tag}: no Client Info PDU within {MAX_FRAMES} frames")
    return None


async def errorinfo(reader, writer):
    req = await read_request(reader)
    if not req or not await accept_tls(req, writer, "errorinfo"):
        return
    if await mcs_until_client_info(reader, writer, "errorinfo") is None:
        return
    writer.write(set_error_info_pdu(ERRORINFO_CODE))
    writer.write(DPUM_PROVIDER_INITIATED)
    await writer.drain()
    log(f"errorinfo: Client Info PDU -> Set Error Info 0x{ERRORINFO_CODE:08X}, "
        "Disconnect Provider Ultimatum, close")


async def read_request(reader):
    """Read one TPKT-framed request, bounded by MAX_REQUEST. Returns b'' on EOF/timeout."""
    try:
        head = await asyncio.wait_for(reader.read(4), REQUEST_TIMEOUT)
        while 0 < len(head) < 4:
            more = await asyncio.wait_for(reader.read(4 - len(head)), REQUEST_TIMEOUT)
            if not more:
                break
            head += more
        if len(head) == 4 and head[0] == 0x03:
            want = min(max(struct.unpack(">H", head[2:4])[0], 4), MAX_REQUEST) - 4
            body = b""
            while len(body) < want:
                more = await asyncio.wait_for(reader.read(want - len(body)), REQUEST_TIMEOUT)
                if not more:
                    break
                body += more
            return head + body
        if head:
            # Not TPKT: take what is immediately there (bounded) and treat it as the request.
            try:
                more = await asyncio.wait_for(reader.read(MAX_REQUEST - len(head)), 0.2)
            except asyncio.TimeoutError:
                more = b""
            return head + more
        return b""
    except (asyncio.TimeoutError, ConnectionError):
        return b""


async def drain_until_eof(reader, limit=IDLE_LIMIT):
    """Read and discard until the peer closes (or limit seconds pass)."""
    deadline = time.monotonic() + limit
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            data = await asyncio.wait_for(reader.read(65536), left)
            if not data:
                return
    except (asyncio.TimeoutError, ConnectionError):
        return


def abort_with_rst(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # close() without flushing; with linger 0 the kernel sends RST


async def close(writer):
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass


async def handle(mode, reader, writer):
    peer = writer.get_extra_info("peername")
    log(f"{mode}: connection from {peer}")
    try:
        if mode == "accept-close":
            # Send FIN at once, then discard whatever the client still sends so that the
            # final close() does not turn into a RST because of unread data.
            if writer.can_write_eof():
                writer.write_eof()
            await drain_until_eof(reader, 10.0)
        elif mode == "silent":
            await drain_until_eof(reader)
        elif mode == "negfailure":
            req = await read_request(reader)
            if req:
                code = int(os.environ.get("STANDIN_FAILURE_CODE", "6"), 0)
                writer.write(negfailure_cc(code))
                await writer.drain()
                log(f"negfailure: request {req.hex()} -> failureCode {code}")
        elif mode == "legacy":
            req = await read_request(reader)
            if req:
                writer.write(LEGACY_CC)
                await writer.drain()
                initial = await read_request(reader)
                if initial[4:7] == b"\x02\xf0\x80":
                    answer, offered, method = legacy_connect_response(initial)
                    writer.write(answer)
                    await writer.drain()
                    log(f"legacy: Connect Initial offering 0x{offered:02x} -> method 0x{method:02x}")
                if initial:
                    await drain_until_eof(reader)
        elif mode == "garbage":
            writer.write(SSH_BANNER)
            await writer.drain()
            await drain_until_eof(reader)
        elif mode == "reset":
            req = await read_request(reader)
            log(f"reset: read {len(req)} bytes, sending RST")
            abort_with_rst(writer)
            return
        elif mode == "flood":
            req = await read_request(reader)
            if req:
                sent = 0
                while sent < FLOOD_CAP:
                    writer.write(FLOOD_FRAME)
                    await writer.drain()  # raises ConnectionError once the client is gone
                    sent += len(FLOOD_FRAME)
                log(f"flood: cap reached ({sent} bytes), closing")
        elif mode == "errorinfo":
            await errorinfo(reader, writer)
        elif mode == "midrecord":
            req = await read_request(reader)
            if req:
                writer.write(MIDRECORD)
                await writer.drain()
    except ConnectionError as exc:
        log(f"{mode}: {peer}: {exc.__class__.__name__}")
    except Exception as exc:  # keep serving other connections
        log(f"{mode}: {peer}: unexpected {exc!r}")
    try:
        await close(writer)
    except Exception:
        pass


def serve_main(kind, modes, handler):
    """The command line of a stand-in script: MODE PORT, one asyncio server on 127.0.0.1:PORT
    running handler(mode, reader, writer) for every connection (hostile.py uses it too)."""
    if len(sys.argv) != 3 or sys.argv[1] not in modes or not sys.argv[2].isdigit():
        sys.stderr.write(f"usage: {sys.argv[0]} MODE PORT\n  MODE: {' | '.join(modes)}\n")
        sys.exit(2)
    mode, port = sys.argv[1], int(sys.argv[2])
    run_server(lambda r, w: handler(mode, r, w), port,
               f"{kind} {mode} listening on 127.0.0.1:{port} (pid {os.getpid()})")


def run_server(handler, port, banner, **options):
    """Serve handler(reader, writer) on 127.0.0.1:PORT until killed, logging banner once it
    listens (serve_main, lab/gateway.py and lab/broker.py). options go to asyncio.start_server."""
    async def main():
        server = await asyncio.start_server(handler, host="127.0.0.1", port=port,
                                            reuse_address=True, backlog=64, **options)
        log(banner)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve_main("standin", MODES, handle)
