#!/usr/bin/env python3
"""Tunnel stand-in: a relay that drops the connection right after the logon.

Usage: tunnel.py LISTEN_PORT UPSTREAM_PORT CERT KEY [MODE]

A scripted stand-in for a fault of the ROUTE, not of any server: some RDP tunnels (and bastions)
restart or tear the connection down when the logon switches the Windows session, so the direct
connection works and the tunnelled one dies right after the credentials went in. No packaged
tunnel has that bug on demand, so this relay plays it.

What it does, per connection, on 127.0.0.1 only:
  1. relays the X.224 Connection Request and Confirm unchanged;
  2. if the server selected a TLS-based protocol, terminates TLS towards the client with the
     server's OWN certificate and key (CERT/KEY, the files the lab gives freerdp-nla) and opens
     TLS towards the server, like a TLS-terminating gateway that holds the server's certificate:
     the client sees the same certificate, and CredSSP's pubKeyAuth still verifies because the
     key is the same;
  3. relays every byte faithfully both ways, delimiting the client's messages (TSRequest DER,
     TPKT, fast-path) so it can see the Client Info PDU (MCS Send Data Request whose security
     header has SEC_INFO_PKT 0x0040, MS-RDPBCGR 2.2.1.11);
  4. forwards the Client Info PDU, then closes both sides (FIN) as soon as the server answers it
     (its licensing PDU is not forwarded) or 2 s later, whichever comes first.
Logs one line per connection on stdout.

MODE deactivate (default: drop-after-logon) plays a server whose session freezes instead, for
`check --full --hold`: no packaged server deactivates a session and never reactivates it on
demand. It relays faithfully, client messages and server frames alike, until the server's Font
Map (the session is up) and DEACTIVATE_AFTER seconds more; then it stops forwarding what the
server sends and gives the client a Deactivate All PDU (MS-RDPBCGR 2.2.3.1, the start of the
Deactivation-Reactivation Sequence, 1.3.1.3) every DEACTIVATE_EVERY seconds, never the Demand
Active that must follow. Each Deactivate All carries the MCS initiator, I/O channel and shareId
of the server's own Demand Active, so a client takes it as the server's.
"""

import asyncio
import ssl
import sys

SEC_INFO_PKT = 0x0040
MCS_SEND_DATA_REQUEST = 25  # T.125 DomainMCSPDU choice, top 6 bits of the first byte
MAX_MESSAGE = 1 << 20
AFTER_LOGON_GRACE = 2.0
HANDSHAKE_TIMEOUT = 10.0
DEACTIVATE_AFTER = 1.0
DEACTIVATE_EVERY = 0.5
DEACTIVATE_LIMIT = 7200  # Deactivate All PDUs per connection (an hour), then the relay gives up
PDUTYPE_DEMANDACTIVE = 0x1
PDUTYPE2_FONTMAP = 0x28


def message_len(buf):
    """Length of the first client message in buf, or None when more bytes are needed."""
    if not buf:
        return None
    first = buf[0]
    if first == 0x30:  # a TSRequest (DER SEQUENCE)
        if len(buf) < 2:
            return None
        n = buf[1]
        if n < 0x80:
            return 2 + n
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad DER length")
        if len(buf) < 2 + k:
            return None
        return 2 + k + int.from_bytes(buf[2 : 2 + k], "big")
    if first == 0x03:  # TPKT
        if len(buf) < 4:
            return None
        return int.from_bytes(buf[2:4], "big")
    if first & 0x03 == 0:  # fast-path input
        if len(buf) < 2:
            return None
        if buf[1] & 0x80:
            if len(buf) < 3:
                return None
            return ((buf[1] & 0x7F) << 8) | buf[2]
        return buf[1]
    raise ValueError(f"unknown client message start 0x{first:02x}")


def take_messages(buf):
    """The complete messages at the start of buf (client messages or server frames: TSRequest,
    TPKT, fast-path), and what is left."""
    msgs = []
    while True:
        n = message_len(buf)
        if n is None or n > len(buf):
            if n is not None and n > MAX_MESSAGE:
                raise ValueError("message too long")
            return msgs, buf
        msgs.append(buf[:n])
        buf = buf[n:]


def is_client_info(msg):
    """MS-RDPBCGR 2.2.1.11: TPKT, X.224 Data, MCS Send Data Request, security header flags."""
    if len(msg) < 4 + 3 + 8 or msg[0] != 0x03:
        return False
    mcs = msg[7:]
    if mcs[0] >> 2 != MCS_SEND_DATA_REQUEST:
        return False
    at = 1 + 2 + 2 + 1  # initiator, channelId, dataPriority/segmentation
    if at >= len(mcs):
        return False
    at += 2 if mcs[at] & 0x80 else 1  # PER length
    if at + 2 > len(mcs):
        return False
    flags = int.from_bytes(mcs[at : at + 2], "little")
    return bool(flags & SEC_INFO_PKT)


def share_control(frame):
    """(initiator, channel, share control header bytes) of a server TPKT carrying an MCS Send
    Data Indication (T.125 choice 26, 0x68), or None."""
    if len(frame) < 14 or frame[0] != 0x03 or frame[4:7] != b"\x02\xf0\x80" or frame[7] != 0x68:
        return None
    initiator, channel = frame[8:10], frame[10:12]
    at = 13 + (2 if frame[13] & 0x80 else 1)  # after dataPriority/segmentation and PER length
    return initiator, channel, frame[at:]


def deactivate_all(demand_active):
    """A Deactivate All PDU (MS-RDPBCGR 2.2.3.1) with the routing and shareId of the server's
    Demand Active frame: Share Control header (pduType PDUTYPE_DEACTIVATEALLPDU 0x16), shareId,
    lengthSourceDescriptor 1, sourceDescriptor 0x00."""
    initiator, channel, sc = share_control(demand_active)
    pdu_source, share_id = sc[4:6], sc[6:10]
    body = (10 + 2 + 1).to_bytes(2, "little") + b"\x16\x00" + pdu_source + share_id
    body += b"\x01\x00\x00"
    sdin = b"\x68" + initiator + channel + b"\x70" + bytes([len(body)]) + body
    x224 = b"\x02\xf0\x80" + sdin
    return b"\x03\x00" + (len(x224) + 4).to_bytes(2, "big") + x224


def server_frame_kind(frame):
    """"demand-active", "font-map" or None for a server frame."""
    parsed = share_control(frame)
    if parsed is None or len(parsed[2]) < 15:
        return None
    sc = parsed[2]
    pdu_type = int.from_bytes(sc[2:4], "little") & 0x0F
    if pdu_type == PDUTYPE_DEMANDACTIVE:
        return "demand-active"
    if pdu_type == 0x7 and sc[14] == PDUTYPE2_FONTMAP:
        return "font-map"
    return None


async def freeze(sreader, cwriter, peer):
    """Deactivate mode, server to client: relay until the session is up, then Deactivate All."""
    buf, demand_active, up_at = b"", None, None
    loop = asyncio.get_running_loop()
    while up_at is None or loop.time() < up_at + DEACTIVATE_AFTER:
        timeout = None if up_at is None else max(0.0, up_at + DEACTIVATE_AFTER - loop.time())
        try:
            chunk = await asyncio.wait_for(sreader.read(65536), timeout)
        except asyncio.TimeoutError:
            break
        if not chunk:
            return
        frames, buf = take_messages(buf + chunk)
        for frame in frames:
            kind = server_frame_kind(frame)
            if kind == "demand-active":
                demand_active = frame
            elif kind == "font-map" and up_at is None:
                up_at = loop.time()
            cwriter.write(frame)
        await cwriter.drain()
    if demand_active is None:
        print(f"{peer}: no Demand Active seen; nothing to deactivate", flush=True)
        return
    print(f"{peer}: session up; deactivating it every {DEACTIVATE_EVERY} s", flush=True)
    pdu = deactivate_all(demand_active)
    swallow = asyncio.ensure_future(discard(sreader))
    try:
        for _ in range(DEACTIVATE_LIMIT):
            cwriter.write(pdu)
            await cwriter.drain()
            await asyncio.sleep(DEACTIVATE_EVERY)
    finally:
        swallow.cancel()


async def discard(reader):
    while await reader.read(65536):
        pass


async def read_tpkt(reader):
    head = await reader.readexactly(4)
    if head[0] != 0x03:
        raise ValueError("not a TPKT")
    n = int.from_bytes(head[2:4], "big")
    if n < 4:
        raise ValueError("bad TPKT length")
    return head + await reader.readexactly(n - 4)


async def handle(creader, cwriter, upstream, cert, key, mode):
    peer = cwriter.get_extra_info("peername")
    logon = asyncio.Event()
    try:
        sreader, swriter = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", upstream), HANDSHAKE_TIMEOUT
        )
    except Exception as e:
        print(f"{peer}: upstream connect failed: {e}", flush=True)
        cwriter.close()
        return
    try:
        cr = await asyncio.wait_for(read_tpkt(creader), HANDSHAKE_TIMEOUT)
        swriter.write(cr)
        cc = await asyncio.wait_for(read_tpkt(sreader), HANDSHAKE_TIMEOUT)
        cwriter.write(cc)
        await cwriter.drain()
        # RDP_NEG_RSP: type 0x02 at offset 11, selectedProtocol (u32 LE) at 15.
        selected = int.from_bytes(cc[15:19], "little") if len(cc) >= 19 and cc[11] == 2 else 0
        if selected == 0:
            print(f"{peer}: the server selected no TLS-based protocol; relaying no further", flush=True)
            return
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(cert, key)
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        await asyncio.wait_for(cwriter.start_tls(sctx), HANDSHAKE_TIMEOUT)
        await asyncio.wait_for(swriter.start_tls(cctx), HANDSHAKE_TIMEOUT)

        async def client_to_server():
            buf = b""
            while True:
                chunk = await creader.read(65536)
                if not chunk:
                    return
                msgs, buf = take_messages(buf + chunk)
                for msg in msgs:
                    swriter.write(msg)
                    if is_client_info(msg) and mode != "deactivate":
                        print(f"{peer}: Client Info PDU relayed; dropping the connection", flush=True)
                        logon.set()
                await swriter.drain()

        async def server_to_client():
            while True:
                chunk = await sreader.read(65536)
                if not chunk or logon.is_set():
                    return
                cwriter.write(chunk)
                await cwriter.drain()

        async def after_logon():
            await logon.wait()
            await asyncio.sleep(AFTER_LOGON_GRACE)

        if mode == "deactivate":
            tasks = [
                asyncio.ensure_future(client_to_server()),
                asyncio.ensure_future(freeze(sreader, cwriter, peer)),
            ]
        else:
            tasks = [
                asyncio.ensure_future(client_to_server()),
                asyncio.ensure_future(server_to_client()),
                asyncio.ensure_future(after_logon()),
            ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        print(f"{peer}: closed (logon seen: {logon.is_set()})", flush=True)
    except Exception as e:
        print(f"{peer}: {type(e).__name__}: {e}", flush=True)
    finally:
        for w in (cwriter, swriter):
            try:
                w.close()
            except Exception:
                pass


async def main():
    if len(sys.argv) not in (5, 6) or sys.argv[5:] not in ([], ["drop-after-logon"], ["deactivate"]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    port, upstream = int(sys.argv[1]), int(sys.argv[2])
    cert, key = sys.argv[3], sys.argv[4]
    mode = sys.argv[5] if len(sys.argv) == 6 else "drop-after-logon"
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream, cert, key, mode), "127.0.0.1", port
    )
    print(f"tunnel stand-in ({mode}) on 127.0.0.1:{port} -> 127.0.0.1:{upstream}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
