//! The RDP UDP transport probe (MS-RDPEUDP 1.3.2.1, 3.1.5.1): one SYN datagram to the server's
//! UDP port, at most one retry, and what came back: a SYN+ACK (decoded), nothing, an ICMP error
//! (from the socket's error queue), or bytes that are not a set-up datagram.
//!
//! Why so little: RDP's UDP port answers unsolicited datagrams, which makes it a reflection
//! vector (CERT-EU advisory 2021-005; this SYN is padded to 1232 bytes as a client's must be, so
//! its answer is no larger); a prober that sends more than a client would becomes part of the
//! problem. A client retransmits its SYN three to five times
//! (3.1.5.2 step 4); this sends one, and one more only when the first got nothing back.
//!
//! It runs only on request (`ProbeOptions::udp`, `check --udp`, never from `scan` or `serve`) and
//! only once the TCP port answered: an RDP client tries UDP only beside a working TCP connection,
//! and a host that does not answer TCP is not worth a datagram. `check.rs` spawns it right after
//! the first TCP connect, so its waits overlap the rest of the check.

use crate::{elapsed_ms, errqueue, excerpt_hex};
use rdpdoctor_observations::{UdpOutcome, UdpSetupAnswer, UdpTransportObservation};
use rdpdoctor_wire::rdpeudp::{self, Syn};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// The receive window the SYN announces (datagrams; what the lab responder and Windows' answers
/// announce too).
const RECEIVE_WINDOW: u16 = 64;
/// The version offered: the highest one a SYN can name without the cookie hash of a
/// multitransport offer (MS-RDPEUDP 2.2.2.9).
const VERSION_OFFERED: u16 = rdpeudp::VERSION_2;
/// The shortest and longest wait for an answer to one datagram.
const MIN_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_millis(2500);
/// Bytes of a malformed answer kept as evidence.
const EXCERPT: usize = 32;

/// Starts the probe of the UDP transport of the server the check connected to (`server`, its
/// TCP address), on `port` (default: the TCP port), beside the rest of the check. Each datagram
/// waits ten times the first TCP connect (at least half a second, at most half of `timeout`, at
/// most 2.5 s), so a silent port costs at most `timeout`, overlapped with the other probes.
pub(crate) fn spawn(
    server: SocketAddr,
    port: Option<u16>,
    first_connect_ms: f64,
    timeout: Duration,
) -> tokio::task::JoinHandle<UdpTransportObservation> {
    let mut address = server;
    if let Some(p) = port {
        address.set_port(p);
    }
    let wait = Duration::from_secs_f64((first_connect_ms * 10.0 / 1000.0).max(0.0))
        .clamp(MIN_WAIT, MAX_WAIT)
        .min(timeout / 2);
    tokio::spawn(probe(address, wait))
}

/// Sends the SYN to `address` (and once more when nothing came back within `wait`).
pub(crate) async fn probe(address: SocketAddr, wait: Duration) -> UdpTransportObservation {
    let start = Instant::now();
    let isn = random_u32();
    let syn = Syn {
        initial_sequence_number: isn,
        receive_window: RECEIVE_WINDOW,
        upstream_mtu: rdpeudp::MTU_MAX,
        downstream_mtu: rdpeudp::MTU_MAX,
        lossy: false,
        version: Some(VERSION_OFFERED),
    }
    .encode();
    let mut observation = UdpTransportObservation {
        address,
        datagrams_sent: 0,
        syn_bytes: syn.len(),
        initial_sequence_number: isn,
        version_offered: VERSION_OFFERED,
        elapsed_ms: 0.0,
        outcome: UdpOutcome::Silent,
    };
    observation.outcome = exchange(address, &syn, wait, &mut observation.datagrams_sent).await;
    observation.elapsed_ms = elapsed_ms(start);
    observation
}

async fn exchange(address: SocketAddr, syn: &[u8], wait: Duration, sent: &mut u8) -> UdpOutcome {
    let v6 = address.is_ipv6();
    let local = if v6 {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            return UdpOutcome::Error {
                error: format!("cannot open a UDP socket: {e}"),
            }
        }
    };
    errqueue::enable(&socket, v6);
    // Connected: only datagrams from the server's address and port are delivered, and ICMP
    // errors for this flow come back as errors on it.
    if let Err(e) = socket.connect(address).await {
        return failed(&socket, address, &e, "cannot address the UDP port");
    }
    let mut buf = [0u8; 2048];
    // The SYN, and one retry: never a third datagram.
    for _ in 0..2 {
        if let Err(e) = socket.send(syn).await {
            return failed(&socket, address, &e, "cannot send the SYN datagram");
        }
        *sent += 1;
        // An ICMP error raises EPOLLERR alone, which does not wake a reader: watch for it too.
        let got = tokio::time::timeout(wait, async {
            tokio::select! {
                r = socket.recv(&mut buf) => r.map(Some),
                r = socket.ready(Interest::ERROR) => r.map(|_| None),
            }
        })
        .await;
        match got {
            Err(_) => continue,
            Ok(Ok(Some(n))) => return answer(buf.get(..n).unwrap_or_default()),
            Ok(Ok(None)) => {
                let e = match socket.take_error() {
                    Ok(Some(e)) => e,
                    _ => std::io::Error::other("an error is pending on the socket"),
                };
                return failed(&socket, address, &e, "the SYN datagram failed");
            }
            Ok(Err(e)) => return failed(&socket, address, &e, "the SYN datagram failed"),
        }
    }
    UdpOutcome::Silent
}

/// An error on the socket: the ICMP message behind it when one is queued.
fn failed(socket: &UdpSocket, address: SocketAddr, e: &std::io::Error, what: &str) -> UdpOutcome {
    match errqueue::take(socket) {
        Some(q) => UdpOutcome::Unreachable {
            icmp: q.to_icmp_error(address, &e.to_string()),
        },
        None => UdpOutcome::Error {
            error: format!("{what} to {address}: {e}"),
        },
    }
}

/// The answer, decoded.
fn answer(d: &[u8]) -> UdpOutcome {
    match rdpeudp::decode_setup(d) {
        Ok(a) => UdpOutcome::Answered {
            answer: UdpSetupAnswer {
                sn_source_ack: a.sn_source_ack,
                receive_window: a.receive_window,
                flags: a.flags,
                initial_sequence_number: a.initial_sequence_number,
                upstream_mtu: a.upstream_mtu,
                downstream_mtu: a.downstream_mtu,
                correlation_id: a.correlation_id.map(hex::encode),
                synex_flags: a.synex.map(|x| x.flags),
                version: a.synex.map(|x| x.version),
                length: a.length,
            },
        },
        Err(e) => UdpOutcome::Malformed {
            bytes: d.len(),
            excerpt_hex: excerpt_hex(d, EXCERPT),
            problem: e.to_string(),
        },
    }
}

/// snInitialSequenceNumber "generated by using a truly random function" (3.1.5.1.1): OpenSSL's
/// CSPRNG, already a dependency for TLS.
fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        // OpenSSL's generator failing is not a reason to stop the probe; the time is random
        // enough to match an answer to this SYN.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x5EED);
        return nanos;
    }
    u32::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local responder that answers the first datagram with `reply(syn)` (or never).
    async fn responder(
        reply: fn(&[u8]) -> Option<Vec<u8>>,
    ) -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = s.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut seen = 0;
            let mut buf = [0u8; 2048];
            while let Ok(Ok((n, peer))) =
                tokio::time::timeout(Duration::from_millis(1500), s.recv_from(&mut buf)).await
            {
                seen += 1;
                if let Some(r) = reply(&buf[..n]) {
                    s.send_to(&r, peer).await.unwrap();
                }
            }
            seen
        });
        (address, task)
    }

    fn syn_ack(syn: &[u8]) -> Option<Vec<u8>> {
        // snSourceAck: the client's ISN; window 64; SYN|ACK|SYNEX; an ISN, MTUs, version 2.
        let mut r = syn[8..12].to_vec();
        r.extend_from_slice(&[0, 0x40, 0x10, 0x05]);
        r.extend_from_slice(&[0, 0, 0, 9, 0x04, 0xd0, 0x04, 0xd0, 0, 1, 0, 2]);
        r.resize(1232, 0);
        Some(r)
    }

    #[tokio::test]
    async fn an_answer_is_decoded_and_acknowledges_the_syn() {
        let (address, task) = responder(syn_ack).await;
        let o = probe(address, Duration::from_millis(500)).await;
        assert_eq!(o.datagrams_sent, 1);
        assert_eq!(o.syn_bytes, 1232);
        let UdpOutcome::Answered { answer } = &o.outcome else {
            panic!("{o:?}")
        };
        assert_eq!(answer.sn_source_ack, o.initial_sequence_number);
        assert_eq!((answer.flags, answer.version), (0x1005, Some(2)));
        assert_eq!(task.await.unwrap(), 1);
    }

    #[tokio::test]
    async fn silence_costs_one_retry_and_no_more() {
        let (address, task) = responder(|_| None).await;
        let o = probe(address, Duration::from_millis(200)).await;
        assert_eq!((o.datagrams_sent, &o.outcome), (2, &UdpOutcome::Silent));
        assert_eq!(task.await.unwrap(), 2, "the responder saw exactly two SYNs");
    }

    #[tokio::test]
    async fn a_closed_port_and_a_malformed_answer() {
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let o = probe(address, Duration::from_millis(500)).await;
        match &o.outcome {
            UdpOutcome::Unreachable { icmp } if cfg!(target_os = "linux") => {
                assert_eq!((icmp.icmp_type, icmp.code), (3, 3));
                assert_eq!(icmp.from, Some(address.ip()));
            }
            UdpOutcome::Error { .. } if !cfg!(target_os = "linux") => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(o.datagrams_sent, 1);
        let (address, _) = responder(|_| Some(vec![0, 0, 0, 1, 0, 0x40, 0, 5])).await;
        let o = probe(address, Duration::from_millis(500)).await;
        match o.outcome {
            UdpOutcome::Malformed {
                bytes: 8,
                problem,
                excerpt_hex,
            } => {
                assert!(problem.contains("RDPUDP_SYNDATA_PAYLOAD"), "{problem}");
                assert_eq!(excerpt_hex, "0000000100400005");
            }
            other => panic!("{other:?}"),
        }
    }
}
