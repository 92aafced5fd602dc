#!/usr/bin/env python3
"""RDP UDP transport (MS-RDPEUDP) responder: a STAND-IN for the UDP side of a Windows RDP server.

Why a stand-in: no open-source RDP server answers RDPEUDP (xrdp and freerdp-shadow-cli speak TCP
only), yet Windows answers an unsolicited SYN datagram on UDP 3389 with a SYN+ACK. This answers a
SYN the same way, on 127.0.0.1 only, so a probe's SYN and the reply can be checked against
Wireshark's rdpudp dissector (crates/cli/tests/udp_lab.rs, lab/OBSERVED.md). It implements the
connection-initialization step only (MS-RDPEUDP 3.1.5.1), never data transfer.

    udp_responder.py BASE_PORT            (binds BASE+110 .. BASE+113)

Ports (a closed UDP port, BASE+114, answers with ICMP port unreachable by itself):
  BASE+110 answer       SYN+ACK as MS-RDPEUDP 3.1.5.1.3 says
  BASE+111 silent       reads the SYN, never answers (a firewall that drops UDP 3389)
  BASE+112 badversion   SYN+ACK whose RDPUDP_SYNDATAEX_PAYLOAD names version 0x0007, which does
                        not exist (a reply a client must refuse)
  BASE+113 malformed    an 8-byte datagram: an RDPUDP_FEC_HEADER with SYN|ACK and nothing after

Every datagram received is recorded (one JSON object a line) in UDP_RESPONDER_EVENTS when set,
with the fields parsed as the responder read them. One answer per SYN, never more (a SYN is an
amplification vector): no retransmission.

Layout (MS-RDPEUDP 2.2.2, all fields in network byte order):
  RDPUDP_FEC_HEADER        snSourceAck u32, uReceiveWindowSize u16, uFlags u16
  RDPUDP_SYNDATA_PAYLOAD   snInitialSequenceNumber u32, uUpStreamMtu u16, uDownStreamMtu u16
  RDPUDP_CORRELATION_ID_PAYLOAD (if RDPUDP_FLAG_CORRELATION_ID) uCorrelationId 16 bytes, 16 reserved
  RDPUDP_SYNDATAEX_PAYLOAD (if RDPUDP_FLAG_SYNEX) uSynExFlags u16, uUdpVer u16,
                           cookieHash 32 bytes (only when uUdpVer is RDPUDP_PROTOCOL_VERSION_3)
  then zero padding to 1232 bytes (3.1.5.1.1)
"""

import json
import os
import secrets
import selectors
import socket
import struct
import sys
import time

FLAG_SYN = 0x0001
FLAG_ACK = 0x0004
FLAG_SYNLOSSY = 0x0200
FLAG_CORRELATION_ID = 0x0800
FLAG_SYNEX = 0x1000
SYNEX_VERSION_INFO_VALID = 0x0001
VERSION_1 = 0x0001
VERSION_2 = 0x0002
VERSION_3 = 0x0101
KNOWN_VERSIONS = (VERSION_1, VERSION_2, VERSION_3)
MTU_MIN, MTU_MAX = 1132, 1232
RECEIVE_WINDOW = 64
DATAGRAM_SIZE = 1232

MODES = {110: "answer", 111: "silent", 112: "badversion", 113: "malformed"}


def parse_syn(data):
    """The client's SYN as a dict; 'error' says what is missing or wrong."""
    out = {"length": len(data)}
    if len(data) < 8:
        out["error"] = "shorter than RDPUDP_FEC_HEADER"
        return out
    ack, window, flags = struct.unpack(">IHH", data[:8])
    out.update(sn_source_ack=ack, receive_window=window, flags=flags)
    if not flags & FLAG_SYN or flags & FLAG_ACK:
        out["error"] = "not a SYN (flags 0x%04x)" % flags
        return out
    if len(data) < 16:
        out["error"] = "no RDPUDP_SYNDATA_PAYLOAD"
        return out
    isn, up, down = struct.unpack(">IHH", data[8:16])
    out.update(initial_sequence_number=isn, upstream_mtu=up, downstream_mtu=down)
    pos = 16
    if flags & FLAG_CORRELATION_ID:
        out["correlation_id"] = data[pos : pos + 16].hex()
        pos += 32
    if flags & FLAG_SYNEX and len(data) >= pos + 4:
        synex_flags, version = struct.unpack(">HH", data[pos : pos + 4])
        out.update(synex_flags=synex_flags, version=version)
    return out


def syn_ack(syn, version_override=None):
    """The SYN+ACK of MS-RDPEUDP 3.1.5.1.3 for a parsed SYN."""
    flags = FLAG_SYN | FLAG_ACK | (syn["flags"] & FLAG_SYNLOSSY)
    body = b""
    version = None
    if "version" in syn:
        flags |= FLAG_SYNEX
        # The highest version both sides know (3.1.5.1.3); a client version we do not know
        # counts as the highest we know.
        version = syn["version"] if syn["version"] in KNOWN_VERSIONS else VERSION_3
        if version_override is not None:
            version = version_override
        body = struct.pack(">HH", SYNEX_VERSION_INFO_VALID, version)
    up = min(max(syn["upstream_mtu"], MTU_MIN), MTU_MAX)
    down = min(max(syn["downstream_mtu"], MTU_MIN), MTU_MAX)
    head = struct.pack(">IHH", syn["initial_sequence_number"], RECEIVE_WINDOW, flags)
    payload = struct.pack(">IHH", secrets.randbits(32), up, down)
    datagram = head + payload + body
    return datagram + bytes(DATAGRAM_SIZE - len(datagram)), version


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: udp_responder.py BASE_PORT")
    base = int(sys.argv[1])
    events = os.environ.get("UDP_RESPONDER_EVENTS")
    sel = selectors.DefaultSelector()
    for offset, mode in MODES.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", base + offset))
        sel.register(s, selectors.EVENT_READ, mode)
    print("udp_responder: %s" % ", ".join("%d %s" % (base + o, m) for o, m in MODES.items()), flush=True)
    while True:
        for key, _ in sel.select():
            sock, mode = key.fileobj, key.data
            data, peer = sock.recvfrom(65535)
            syn = parse_syn(data)
            event = {"time": time.time(), "mode": mode, "port": sock.getsockname()[1],
                     "peer": "%s:%d" % peer, "received": syn, "answered": None}
            if "error" not in syn and mode != "silent":
                if mode == "malformed":
                    reply = struct.pack(">IHH", syn["initial_sequence_number"], RECEIVE_WINDOW, FLAG_SYN | FLAG_ACK)
                    version = None
                else:
                    reply, version = syn_ack(syn, 0x0007 if mode == "badversion" else None)
                sock.sendto(reply, peer)
                event["answered"] = {"length": len(reply), "version": version}
            print(json.dumps(event, sort_keys=True), flush=True)
            if events:
                with open(events, "a", encoding="utf-8") as f:
                    f.write(json.dumps(event, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
