//! The lab's RDPEUDP responder stand-in (lab/udp_responder.py) checked with a real decoder:
//! the test builds a SYN datagram from the documented layout (MS-RDPEUDP 2.2.2, 3.1.5.1.1),
//! sends it once to each responder mode and to the closed port, and Wireshark's rdpudp dissector
//! (Debian's tshark, capturing on the loopback interface with a port filter) decodes both the SYN
//! and what came back. It is the reference the later rdpdoctor UDP probe is held against.
//!
//! Cost: about 4 s (tshark's start-up, one 1-second wait for the silent port, 1 s for the last rows).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod rdpeudp_lab;

use rdpeudp_lab::{port, udp_state, Capture};
use std::net::UdpSocket;
use std::time::Duration;

const FLAG_SYN: u16 = 0x0001;
const FLAG_ACK: u16 = 0x0004;
const FLAG_SYNEX: u16 = 0x1000;
const VERSION_2: u16 = 0x0002;

/// A SYN as MS-RDPEUDP 3.1.5.1.1 builds it: RDPUDP_FEC_HEADER (snSourceAck -1, window 64,
/// SYN|SYNEX), RDPUDP_SYNDATA_PAYLOAD (ISN, MTUs 1232), RDPUDP_SYNDATAEX_PAYLOAD (version info
/// valid, RDPUDP_PROTOCOL_VERSION_2), zero-padded to 1232 bytes. Network byte order.
fn syn(isn: u32) -> Vec<u8> {
    let mut d = Vec::with_capacity(1232);
    d.extend_from_slice(&0xFFFF_FFFFu32.to_be_bytes());
    d.extend_from_slice(&64u16.to_be_bytes());
    d.extend_from_slice(&(FLAG_SYN | FLAG_SYNEX).to_be_bytes());
    d.extend_from_slice(&isn.to_be_bytes());
    d.extend_from_slice(&1232u16.to_be_bytes());
    d.extend_from_slice(&1232u16.to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes());
    d.extend_from_slice(&VERSION_2.to_be_bytes());
    d.resize(1232, 0);
    d
}

/// Sends SYN once to PORT on a connected socket; the reply or the error.
fn exchange(port: u16, datagram: &[u8], wait: Duration) -> Result<Vec<u8>, std::io::ErrorKind> {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(wait)).expect("timeout");
    s.send(datagram).expect("send");
    let mut buf = [0u8; 2048];
    match s.recv(&mut buf) {
        Ok(n) => Ok(buf.get(..n).expect("n fits").to_vec()),
        Err(e) => Err(e.kind()),
    }
}

fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

#[test]
fn responder_modes_and_closed_port_as_tshark_decodes_them() {
    let state = udp_state();
    assert_eq!(state["host"], "127.0.0.1", "the responder is on loopback");
    let (answer, silent, badversion, malformed, closed) = (
        port(&state, "answer"),
        port(&state, "silent"),
        port(&state, "badversion"),
        port(&state, "malformed"),
        port(&state, "closed"),
    );
    let ports = [answer, silent, badversion, malformed, closed];
    let capture = Capture::start(&ports, silent);
    let isn = 0x5EED_1234u32;
    let wait = Duration::from_secs(1);

    // answer: SYN+ACK that acknowledges our ISN, MTUs in 1132..=1232, version 2 echoed, 1232 bytes.
    let r = exchange(answer, &syn(isn), wait).expect("the answer port answers");
    assert_eq!(r.len(), 1232, "a SYN+ACK is padded to 1232 bytes");
    assert_eq!(
        be32(&r, 0),
        isn,
        "snSourceAck acknowledges our initial sequence number"
    );
    assert_eq!(be16(&r, 6), FLAG_SYN | FLAG_ACK | FLAG_SYNEX, "flags");
    assert!(
        (1132..=1232).contains(&be16(&r, 12)) && (1132..=1232).contains(&be16(&r, 14)),
        "MTUs"
    );
    assert_eq!(
        (be16(&r, 16), be16(&r, 18)),
        (1, VERSION_2),
        "SYNEX: version info valid, version 2"
    );

    // silent: nothing within the wait; closed: ICMP port unreachable, which a connected UDP
    // socket reports as "connection refused".
    assert_eq!(
        exchange(silent, &syn(isn), wait),
        Err(std::io::ErrorKind::WouldBlock)
    );
    assert_eq!(
        exchange(closed, &syn(isn), wait),
        Err(std::io::ErrorKind::ConnectionRefused)
    );

    // badversion: a SYN+ACK naming version 0x0007; malformed: 8 bytes of FEC header only.
    let r = exchange(badversion, &syn(isn), wait).expect("badversion answers");
    assert_eq!(be16(&r, 18), 0x0007, "the version no client knows");
    let r = exchange(malformed, &syn(isn), wait).expect("malformed answers");
    assert_eq!((r.len(), be16(&r, 6)), (8, FLAG_SYN | FLAG_ACK));

    let rows = capture.stop();
    let isn_text = format!("0x{isn:08x}");
    let from_us = |dst: u16| {
        rows.iter()
            .find(|r| r[1] == dst.to_string() && r[2] == "0xffffffff")
            .unwrap_or_else(|| panic!("tshark saw no SYN to {dst}: {rows:?}"))
    };
    let from = |src: u16| rows.iter().find(|r| r[0] == src.to_string());
    // Our SYN, as the dissector reads it.
    for dst in [answer, silent, badversion, malformed, closed] {
        let r = from_us(dst);
        assert_eq!(
            (r[3].as_str(), r[4].as_str(), r[5].as_str(), r[6].as_str()),
            ("0x1001", isn_text.as_str(), "1232", "0x0002"),
            "{r:?}"
        );
        assert!(r[7].is_empty(), "our SYN is well-formed: {r:?}");
    }
    // The SYN+ACK.
    let r = from(answer).unwrap_or_else(|| panic!("no reply from {answer}: {rows:?}"));
    assert_eq!(
        (r[2].as_str(), r[3].as_str(), r[6].as_str()),
        (isn_text.as_str(), "0x1005", "0x0002"),
        "{r:?}"
    );
    assert!(r[7].is_empty(), "the SYN+ACK is well-formed: {r:?}");
    assert!(
        from(silent).is_none(),
        "the silent port sent something: {rows:?}"
    );
    assert_eq!(
        from(badversion).map(|r| r[6].as_str()),
        Some("0x0007"),
        "{rows:?}"
    );
    let r = from(malformed).unwrap_or_else(|| panic!("no reply from {malformed}: {rows:?}"));
    assert!(
        !r[7].is_empty(),
        "tshark flags the 8-byte reply as malformed: {r:?}"
    );
    // The kernel's ICMP destination unreachable (3), port unreachable (3) for the closed port.
    assert!(
        rows.iter().any(|r| r[8] == "3" && r[9] == "3"),
        "no ICMP port unreachable: {rows:?}"
    );
}
