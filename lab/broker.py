#!/usr/bin/env python3
"""RD Connection Broker stand-in for the rdpdoctor lab: it redirects the client.

A stand-in because no Connection Broker (nor any server that sends a Server Redirection PDU) is
packaged for Debian: xrdp and freerdp-shadow-cli never redirect. It is proven against the real
client, Debian's xfreerdp 2.11, by crates/cli/tests/gateway_lab.rs; lab/OBSERVED.md records what it
does on the wire.

Usage: broker.py --port PORT --mode MODE [--target HOST:PORT] [--address ADDR]
                 [--cert CHAIN.pem --key KEY.pem]

Listens on 127.0.0.1:PORT. For every connection without a routing token it plays the first part
of a session host's connection sequence (MS-RDPBCGR 1.3.1.1):
  X.224 Connection Request -> Connection Confirm selecting TLS (PROTOCOL_SSL; a request without
  TLS gets RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER), the TLS handshake (the lab CA's certificate),
  MCS Connect Initial -> Connect Response, Erect Domain, Attach User -> Confirm, Channel Join ->
  Confirm for each channel, then the Client Info PDU (2.2.1.11; the user name is logged, never the
  password), licensing answered with a License Error PDU carrying STATUS_VALID_CLIENT (2.2.1.12.1.3,
  ST_NO_TRANSITION), and in place of the Demand Active PDU the Enhanced Security Server Redirection
  PDU (2.2.13.3.1) with an RDP_SERVER_REDIRECTION_PACKET (2.2.13.1). No CredSSP: this broker
  selects TLS only (a broker with NLA would authenticate the user first; see OBSERVED.md).

Modes:
  lb-info      redirFlags LB_LOAD_BALANCE_INFO | LB_TARGET_NET_ADDRESS: a routing token
               "Cookie: msts=IP.PORT.0000" for --target (127.0.0.0/8 only) and the target's
               address. A client reconnects to this same address and port with the token in its
               X.224 request (as mstsc does through a load balancer); this broker then relays that
               connection, request included, to the target, the way a routing-token-aware load
               balancer does.
  net-address  redirFlags LB_TARGET_NET_ADDRESS with --address (no load-balance info): the client
               connects to that address on the port it used here (a redirection carries no port).
               With --fqdn/--netbios the PDU also carries LB_TARGET_FQDN / LB_TARGET_NETBIOS_NAME.

Every decision is logged, one line each, to stdout (lab/state/NAME.log): the tests read it.
Standard library only; the X.224/MCS helpers are lab/standin.py's.
"""

import argparse
import asyncio
import ipaddress
import os
import ssl
import struct
import sys

import standin
from standin import IO_CHANNEL, SERVER_USER, log, read_request, tpkt

MODES = ("lb-info", "net-address")
RELAY_IDLE = 600.0          # seconds a relayed connection may stay silent
CLOSE_WAIT = 30.0           # seconds to wait for the client to close after the redirection

# MS-RDPBCGR 2.2.13.1 redirFlags.
LB_TARGET_NET_ADDRESS = 0x00000001
LB_LOAD_BALANCE_INFO = 0x00000002
LB_TARGET_FQDN = 0x00000100
LB_TARGET_NETBIOS_NAME = 0x00000200
SEC_REDIRECTION_PKT = 0x0400
PDUTYPE_SERVER_REDIR_PKT = 0x000A | 0x0010     # pduType with TS_PROTOCOL_VERSION
SEC_LICENSE_PKT = 0x0080
SEC_INFO_PKT = 0x0040
ROUTING_TOKEN = b"Cookie: msts="


def per_length(n):
    return bytes([n]) if n < 0x80 else struct.pack(">H", 0x8000 | n)


def sdin(payload):
    """MCS Send Data Indication (T.125) from the server user on the I/O channel."""
    return tpkt(b"\x68" + struct.pack(">HH", SERVER_USER - 1001, IO_CHANNEL) + b"\x70"
                + per_length(len(payload)) + payload)


def license_valid_client():
    """Server License Error PDU - Valid Client (MS-RDPBCGR 2.2.1.12.1.3): basic security header
    with SEC_LICENSE_PKT, preamble ERROR_ALERT v3, STATUS_VALID_CLIENT, ST_NO_TRANSITION, an empty
    BB_ERROR_BLOB."""
    return sdin(struct.pack("<HH", SEC_LICENSE_PKT, 0) + bytes([0xFF, 0x03])
                + struct.pack("<HIIHH", 16, 0x00000007, 0x00000002, 0x0004, 0))


def utf16z(text):
    data = (text + "\x00").encode("utf-16-le")
    return struct.pack("<I", len(data)) + data


def routing_token(host, port):
    """The load-balance info a Windows broker sends: msts=<IPv4 as little-endian u32>.<port with
    its bytes swapped>.0000 ([MSFT-SDLBTS]; the form FreeRDP's redirection.c shows)."""
    ip = struct.unpack("<I", ipaddress.IPv4Address(host).packed)[0]
    swapped = struct.unpack("<H", struct.pack(">H", port))[0]
    return ROUTING_TOKEN + f"{ip}.{swapped}.0000\r\n".encode("ascii")


def parse_routing_token(request):
    """(host, port) from an X.224 request that carries "Cookie: msts=..." (else None)."""
    i = request.find(ROUTING_TOKEN)
    if i < 0:
        return None
    end = request.find(b"\r\n", i)
    if end < 0:
        return None
    try:
        ip_text, port_text, _ = request[i + len(ROUTING_TOKEN):end].decode("ascii").split(".")
        host = str(ipaddress.IPv4Address(struct.pack("<I", int(ip_text))))
        port = struct.unpack(">H", struct.pack("<H", int(port_text)))[0]
    except (ValueError, struct.error):
        return None
    return host, port


def redirection_pdu(args):
    """Enhanced Security Server Redirection PDU (MS-RDPBCGR 2.2.13.3.1) on the I/O channel."""
    flags, fields = 0, b""
    if args.mode == "lb-info":
        host, port = args.target
        flags = LB_TARGET_NET_ADDRESS | LB_LOAD_BALANCE_INFO
        token = routing_token(host, port)
        fields = utf16z(host) + struct.pack("<I", len(token)) + token
    else:
        flags = LB_TARGET_NET_ADDRESS
        fields = utf16z(args.address)
        if args.fqdn:
            flags |= LB_TARGET_FQDN
        if args.netbios:
            flags |= LB_TARGET_NETBIOS_NAME
        # Field order of 2.2.13.1: address, (lb info, user, domain, password), FQDN, NetBIOS.
        if args.fqdn:
            fields += utf16z(args.fqdn)
        if args.netbios:
            fields += utf16z(args.netbios)
    session_id = 0
    packet = fields + b"\x00" * 8                # Pad (8 bytes)
    redir = struct.pack("<HHII", SEC_REDIRECTION_PKT, 12 + len(packet), session_id, flags) + packet
    share = struct.pack("<HHH", 6 + 2 + len(redir), PDUTYPE_SERVER_REDIR_PKT, SERVER_USER)
    return sdin(share + b"\x00\x00" + redir), flags


def client_info_user(frame):
    """The user name and domain of a Client Info PDU (MS-RDPBCGR 2.2.1.11.1.1) in an MCS Send Data
    Request frame; the password is skipped, never decoded."""
    i = frame.find(struct.pack("<H", SEC_INFO_PKT))
    if i < 0 or len(frame) < i + 4 + 18:
        return "?", "?"
    info = frame[i + 4:]
    cb_domain, cb_user = struct.unpack("<HH", info[8:12])
    pos = 18
    domain = info[pos:pos + cb_domain].decode("utf-16-le", "replace")
    pos += cb_domain + 2
    user = info[pos:pos + cb_user].decode("utf-16-le", "replace")
    return user, domain


async def relay(req, reader, writer, target):
    host, port = target
    if ipaddress.IPv4Address(host) not in ipaddress.IPv4Network("127.0.0.0/8"):
        log(f"routing token names {host}:{port}, outside 127.0.0.0/8; closing")
        return
    try:
        t_reader, t_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5.0)
    except (OSError, asyncio.TimeoutError) as e:
        log(f"routing token for {host}:{port}: cannot connect ({type(e).__name__}); closing")
        return
    log(f"routing token for {host}:{port}: relaying this connection (X.224 request included)")
    t_writer.write(req)
    counts = {"to": len(req), "from": 0}

    async def pump(src, dst, key):
        try:
            while True:
                data = await asyncio.wait_for(src.read(65536), RELAY_IDLE)
                if not data:
                    break
                counts[key] += len(data)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.TimeoutError, OSError):
            pass
        finally:
            dst.close()

    await asyncio.gather(pump(reader, t_writer, "to"), pump(t_reader, writer, "from"))
    log(f"relay to {host}:{port} ended: {counts['to']} bytes to the target, "
        f"{counts['from']} bytes from it")


async def redirect(args, req, reader, writer):
    if not await standin.accept_tls(req, writer, "broker", args.cert, args.key):
        return
    found = await standin.mcs_until_client_info(reader, writer, "broker")
    if found is None:
        return
    mcs, off = found
    user, domain = client_info_user(mcs[off:])
    writer.write(license_valid_client())
    pdu, redir_flags = redirection_pdu(args)
    writer.write(pdu)
    await writer.drain()
    where = (f"routing token for {args.target[0]}:{args.target[1]}"
             if args.mode == "lb-info" else f"address {args.address}"
             + (f", FQDN {args.fqdn}" if args.fqdn else "")
             + (f", NetBIOS {args.netbios}" if args.netbios else ""))
    log(f"Client Info PDU for user {user!r} domain {domain!r} -> licensing "
        f"STATUS_VALID_CLIENT, Server Redirection PDU redirFlags 0x{redir_flags:x} ({where})")
    await standin.drain_until_eof(reader, CLOSE_WAIT)
    log("client closed after the redirection")


async def handle(args, reader, writer):
    peer = writer.get_extra_info("peername")
    log(f"connection from {peer[0]}:{peer[1]}")
    try:
        req = await read_request(reader)
        if not req:
            log("no X.224 request")
            return
        target = parse_routing_token(req)
        if target is not None:
            await relay(req, reader, writer, target)
        else:
            await redirect(args, req, reader, writer)
    except (ConnectionError, asyncio.TimeoutError, ssl.SSLError, OSError) as e:
        log(f"connection ended ({type(e).__name__}: {e})")
    finally:
        writer.close()


def host_port(text):
    host, _, port = text.rpartition(":")
    if ipaddress.IPv4Address(host) not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise argparse.ArgumentTypeError("the target must be in 127.0.0.0/8")
    return host, int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--target", type=host_port, help="lb-info: HOST:PORT the token names")
    p.add_argument("--address", help="net-address: the TargetNetAddress")
    p.add_argument("--fqdn")
    p.add_argument("--netbios")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "state", "certs")
    p.add_argument("--cert", default=os.path.join(here, "negotiate-chain.pem"))
    p.add_argument("--key", default=os.path.join(here, "negotiate.key"))
    args = p.parse_args()
    if args.mode == "lb-info" and args.target is None:
        p.error("--mode lb-info needs --target")
    if args.mode == "net-address" and not args.address:
        p.error("--mode net-address needs --address")

    standin.run_server(lambda r, w: handle(args, r, w), args.port,
                       f"broker {args.mode} listening on 127.0.0.1:{args.port} (pid {os.getpid()})")


if __name__ == "__main__":
    sys.exit(main())
