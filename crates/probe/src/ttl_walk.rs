//! The TTL walk: which device on the path resets the ClientHello, or where it disappears.
//!
//! Censorship measurements locate a device that tampers with a flow by sending the offending
//! packet with a limited IP TTL: a packet that expires at hop k never reaches anything beyond
//! it, so a reset that still comes back was sent by a device at or before hop k. Here, for each
//! TTL from 1 up to the server's distance:
//!
//! - a TCP SYN with that TTL: the ICMP time exceeded that answers it names hop k (read from the
//!   socket's error queue, IP_RECVERR), and a SYN that is accepted says the server (or whatever
//!   terminates TCP) is k hops away;
//! - a connection opened at the normal TTL, its X.224 exchange, then the socket's TTL set to k
//!   (IP_TTL / IPV6_UNICAST_HOPS) and the same TLS 1.2 ClientHello the retries send. With
//!   IP_RECVERR on, an ICMP error for the open connection fails it at once (EHOSTUNREACH, sender
//!   unknown: the kernel queues no message for a connected TCP socket), so the ClientHello's
//!   expiry, a reset, an answer and silence are told apart.
//!
//! The walk stops at the first ClientHello that meets anything but an expiry, at the server's
//! distance, after a few hops in a row that answer neither probe, at [`MAX_HOPS`], or at the
//! check's deadline. It needs no privilege (no raw socket), costs one SYN and one connection a
//! hop, and runs only after the retries have shown that the reset (or the stall) repeats.
//!
//! What it can prove: a reset for a ClientHello whose TTL ran out before the server (the SYN with
//! the same TTL expired) comes from a device on the path, located between the last hop that let
//! the ClientHello expire normally and the hop where it was reset; a ClientHello that vanishes
//! at a hop that answers SYNs was dropped before it. What it cannot: tell the server from a
//! device on the server's last hop (a reset there arrives at the server's distance either way),
//! or where the server's own answer is lost on the way back (the TTL of the server's packets is
//! not ours to set): an MTU black hole is bracketed by the MSS search instead.

use crate::host::Host;
use crate::stream::KEEP;
use crate::{elapsed_ms, errqueue, negotiate, tls};
use rdpdoctor_observations::{
    HelloOutcome, HelloProbe, PathObservation, Phase, SynOutcome, SynProbe, TlsOutcome,
    TlsRetryKind, TlsVersion, Transport, TtlHop, TtlWalk, TtlWalkEnd, TtlWalkTrigger,
};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The ClientHello of the walk: the version the retries use (path.rs), so the walk repeats
/// exactly what was reset.
const VERSION: TlsVersion = TlsVersion::Tls12;
/// Hops walked at most: past the longest paths seen on the internet (traceroute stops at 30).
pub(crate) const MAX_HOPS: u8 = 30;
/// Hops in a row that answer neither probe before the walk gives up on the rest of the path.
const MAX_SILENT_RUN: usize = 3;
/// The shortest wait for a hop's answer: the ICMP for the first copy of a ClientHello can be
/// lost to the kernel while the socket is busy sending it (it is then only a soft error), and
/// the retransmission that brings the next one leaves after TCP's minimum RTO of 200 ms.
const MIN_HOP_WAIT: Duration = Duration::from_secs(1);

/// After the reset retries (path.rs): walks when the control repeated the reset.
pub(crate) async fn after_reset(host: &Host, requested: u32, path: &mut PathObservation) {
    let repeated = path.tls_retries.iter().any(|r| {
        r.kind == TlsRetryKind::Unchanged
            && matches!(
                r.outcome,
                TlsOutcome::Transport(Transport::Reset { bytes: 0, .. })
            )
    });
    if repeated {
        path.ttl_walk = Some(walk(host, requested, TtlWalkTrigger::Reset).await);
    }
}

/// After the MSS search (path.rs): walks when a small MSS stalled too, so the stall is not an
/// MTU black hole (whose loss, on the server's packets, a client's TTL cannot locate).
pub(crate) async fn after_stall(host: &Host, requested: u32, path: &mut PathObservation) {
    let small_stalled = path.mss_probes.first().is_some_and(|p| {
        !p.control
            && matches!(
                p.outcome,
                TlsOutcome::Transport(Transport::TimedOut {
                    phase: Phase::TlsHandshake,
                    bytes: 0
                })
            )
    });
    if small_stalled {
        path.ttl_walk = Some(walk(host, requested, TtlWalkTrigger::Stall).await);
    }
}

/// How long to wait for one hop's answer: four of the slowest connects seen, at least
/// [`MIN_HOP_WAIT`], at most the phase deadline.
fn hop_wait(host: &Host) -> Duration {
    let slowest = host.samples().into_iter().fold(0.0f64, f64::max);
    Duration::from_secs_f64((slowest * 4.0 / 1000.0).max(0.0))
        .max(MIN_HOP_WAIT)
        .min(host.timeout())
}

pub(crate) async fn walk(host: &Host, requested: u32, trigger: TtlWalkTrigger) -> TtlWalk {
    let start = Instant::now();
    let mut hops = Vec::new();
    let mut silent_run = 0;
    let mut ended = TtlWalkEnd::HopLimit;
    for ttl in 1..=MAX_HOPS {
        let wait = hop_wait(host);
        // Both probes of a hop must fit before the overall deadline.
        if host.remaining().is_some_and(|r| r < wait * 2) {
            ended = TtlWalkEnd::Deadline;
            break;
        }
        let syn = syn_probe(host, ttl, wait).await;
        let hello = hello_probe(host, requested, ttl, wait).await;
        let stop = stops(trigger, &syn.outcome, &hello.outcome);
        let silent = syn.outcome == SynOutcome::Silent && hello.outcome == HelloOutcome::Silent;
        hops.push(TtlHop {
            ttl,
            syn,
            client_hello: Some(hello),
        });
        if stop {
            ended = TtlWalkEnd::Done;
            break;
        }
        silent_run = if silent { silent_run + 1 } else { 0 };
        if silent_run >= MAX_SILENT_RUN {
            ended = TtlWalkEnd::SilentHops;
            break;
        }
    }
    TtlWalk {
        trigger,
        version: VERSION,
        requested,
        elapsed_ms: elapsed_ms(start),
        hops,
        ended,
    }
}

/// Whether the walk has what it came for at this hop: the SYN reached the server, or the
/// ClientHello met something other than an expiry. Silence counts only when the walk looks for
/// where the ClientHello vanishes (after a stall) and the hop answers SYNs; after a reset a
/// silent hop is a router that sent no time exceeded (or rate-limited it), and the walk goes on.
fn stops(trigger: TtlWalkTrigger, syn: &SynOutcome, hello: &HelloOutcome) -> bool {
    if *syn == SynOutcome::Reached {
        return true;
    }
    match hello {
        HelloOutcome::Icmp { .. } => false,
        HelloOutcome::Silent => trigger == TtlWalkTrigger::Stall && *syn != SynOutcome::Silent,
        _ => true,
    }
}

/// A SYN with `ttl`: who answers at that distance.
async fn syn_probe(host: &Host, ttl: u8, wait: Duration) -> SynProbe {
    let start = Instant::now();
    let _slot = host.permit().await;
    let outcome = syn_outcome(host.address, ttl, wait).await;
    SynProbe {
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
}

async fn syn_outcome(address: SocketAddr, ttl: u8, wait: Duration) -> SynOutcome {
    let v6 = address.is_ipv6();
    let socket = match crate::route::direct::socket_for(address) {
        Ok(s) => s,
        Err(error) => return SynOutcome::Error { error },
    };
    // A second descriptor: the queue is read after a failed connect consumed the socket.
    let Ok(fd) = socket.as_fd().try_clone_to_owned() else {
        return SynOutcome::Error {
            error: "cannot duplicate the socket".to_string(),
        };
    };
    if !errqueue::enable(&fd, v6) || !errqueue::set_ttl(&fd, v6, ttl) {
        return SynOutcome::Error {
            error: "cannot set IP_RECVERR and the TTL on the socket (Linux only)".to_string(),
        };
    }
    let connected = tokio::time::timeout(wait, socket.connect(address)).await;
    let queued = errqueue::take(&fd);
    match (connected, queued) {
        (Ok(Ok(_stream)), _) => SynOutcome::Reached,
        (_, Some(q)) if q.time_exceeded() => match q.from {
            Some(from) => SynOutcome::TimeExceeded { from },
            None => SynOutcome::Unreachable {
                from: None,
                icmp_type: q.icmp_type,
                code: q.code,
            },
        },
        (_, Some(q)) => SynOutcome::Unreachable {
            from: q.from,
            icmp_type: q.icmp_type,
            code: q.code,
        },
        (Err(_), None) => SynOutcome::Silent,
        (Ok(Err(e)), None) if e.kind() == io::ErrorKind::ConnectionRefused => SynOutcome::Refused,
        (Ok(Err(e)), None) => SynOutcome::Error {
            error: e.to_string(),
        },
    }
}

/// A connection at the normal TTL, its X.224 exchange, then the ClientHello with `ttl`.
async fn hello_probe(host: &Host, requested: u32, ttl: u8, wait: Duration) -> HelloProbe {
    let start = Instant::now();
    let outcome = hello_outcome(host, requested, ttl, wait).await;
    HelloProbe {
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
}

async fn hello_outcome(host: &Host, requested: u32, ttl: u8, wait: Duration) -> HelloOutcome {
    let v6 = host.address.is_ipv6();
    let Some(direct) = host.route.direct() else {
        return HelloOutcome::NotSent {
            reason: "the route has no TCP connection of its own to the server".to_string(),
        };
    };
    let _slot = host.permit().await;
    let (attempt, stream) = direct.dial_tcp(host.timeout()).await;
    let Some(mut stream) = stream else {
        return HelloOutcome::NotSent {
            reason: format!("the connection failed: {:?}", attempt.outcome),
        };
    };
    host.note_connect(attempt.elapsed_ms);
    let negotiated =
        negotiate::negotiate(&mut stream, requested, &host.cookie, host.timeout()).await;
    if !negotiated.selects_tls() {
        return HelloOutcome::NotSent {
            reason: format!("the X.224 exchange did not select TLS: {negotiated:?}"),
        };
    }
    let normal = errqueue::ttl(&stream, v6);
    if !errqueue::enable(&stream, v6) || !errqueue::set_ttl(&stream, v6, ttl) {
        return HelloOutcome::Error {
            error: "cannot set IP_RECVERR and the TTL on the socket (Linux only)".to_string(),
        };
    }
    let tap = Tap::new(&stream);
    let received = tap.received.clone();
    let errno = tap.errno.clone();
    let offer = tls::Offer::Pinned(VERSION);
    let handshake = async {
        match tls::connect(tap, &offer, host.server_name.as_deref(), wait, KEEP).await {
            Ok(t) => tls::completed_on(&t),
            Err(outcome) => outcome,
        }
    };
    // An ICMP error for an open connection raises EPOLLERR alone, which does not wake a reader
    // (tokio wakes readers on EPOLLIN or a hang-up): watch for it beside the handshake.
    let outcome = tokio::select! {
        outcome = handshake => classify(
            &outcome,
            errno.load(Ordering::SeqCst),
            received.load(Ordering::SeqCst),
        ),
        _ = stream.ready(Interest::ERROR) => match stream.take_error() {
            Ok(Some(e)) => from_error(&e, received.load(Ordering::SeqCst)),
            _ => HelloOutcome::Error {
                error: "the socket signalled an error but none was pending".to_string(),
            },
        },
    };
    // The normal TTL back, then a reset: it reaches the server, whose side would otherwise wait
    // for a ClientHello until its own timeout.
    if let Some(t) = normal {
        errqueue::set_ttl(&stream, v6, t);
    }
    let _ = stream.set_zero_linger();
    outcome
}

/// What a pending socket error says the ClientHello met.
fn from_error(e: &io::Error, received: usize) -> HelloOutcome {
    match e.kind() {
        io::ErrorKind::ConnectionReset => HelloOutcome::Reset { bytes: received },
        _ if is_icmp(e.raw_os_error().unwrap_or(0)) => HelloOutcome::Icmp {
            error: e.to_string(),
        },
        _ => HelloOutcome::Error {
            error: e.to_string(),
        },
    }
}

/// What the ClientHello met, from the handshake's outcome and the first socket error the tap saw.
fn classify(outcome: &TlsOutcome, errno: i32, received: usize) -> HelloOutcome {
    match outcome {
        TlsOutcome::Transport(Transport::Reset { bytes, .. }) => {
            HelloOutcome::Reset { bytes: *bytes }
        }
        TlsOutcome::Transport(Transport::Closed { bytes, .. }) => {
            HelloOutcome::Closed { bytes: *bytes }
        }
        TlsOutcome::Transport(Transport::TimedOut { bytes: 0, .. }) => HelloOutcome::Silent,
        _ if is_icmp(errno) => HelloOutcome::Icmp {
            error: io::Error::from_raw_os_error(errno).to_string(),
        },
        _ if received > 0 => HelloOutcome::Answered { bytes: received },
        TlsOutcome::Error { reason } => HelloOutcome::Error {
            error: reason.clone(),
        },
        other => HelloOutcome::Error {
            error: format!("{other:?}"),
        },
    }
}

/// The errors an ICMP message causes on an open TCP connection (Linux's icmp_err_convert and
/// tcp_v4_err: time exceeded and most unreachables give EHOSTUNREACH, net unreachable
/// ENETUNREACH).
fn is_icmp(errno: i32) -> bool {
    errno > 0
        && matches!(
            io::Error::from_raw_os_error(errno).kind(),
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable
        )
}

/// The connection as the handshake's stream, borrowed (so the error watch can share it): it
/// remembers the first socket error and how many bytes arrived, which the handshake's outcome
/// does not say.
struct Tap<'a> {
    stream: &'a TcpStream,
    errno: Arc<AtomicI32>,
    received: Arc<AtomicUsize>,
}

impl<'a> Tap<'a> {
    fn new(stream: &'a TcpStream) -> Self {
        Tap {
            stream,
            errno: Arc::new(AtomicI32::new(0)),
            received: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn note(&self, e: &io::Error) {
        let code = e.raw_os_error().unwrap_or(-1);
        let _ = self
            .errno
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
    }
}

impl AsyncRead for Tap<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if let Err(e) = ready!(self.stream.poll_read_ready(cx)) {
                self.note(&e);
                return Poll::Ready(Err(e));
            }
            match self.stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    self.received.fetch_add(n, Ordering::SeqCst);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale (try_read cleared it): wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    self.note(&e);
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

impl AsyncWrite for Tap<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if let Err(e) = ready!(self.stream.poll_write_ready(cx)) {
                self.note(&e);
                return Poll::Ready(Err(e));
            }
            match self.stream.try_write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    self.note(&e);
                    return Poll::Ready(Err(e));
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Never reached: the walk's handshakes end by a reset (`set_linger`), not a close.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_stops_where_the_client_hello_meets_something() {
        let te = SynOutcome::TimeExceeded {
            from: "198.18.1.1".parse().unwrap(),
        };
        let icmp = HelloOutcome::Icmp {
            error: "No route to host".into(),
        };
        for trigger in [TtlWalkTrigger::Reset, TtlWalkTrigger::Stall] {
            // An expiry before the server: walk on.
            assert!(!stops(trigger, &te, &icmp));
            // A hop that answers neither probe: walk on.
            assert!(!stops(trigger, &SynOutcome::Silent, &HelloOutcome::Silent));
            // A reset, an answer: stop.
            assert!(stops(trigger, &te, &HelloOutcome::Reset { bytes: 0 }));
            assert!(stops(
                trigger,
                &SynOutcome::Reached,
                &HelloOutcome::Answered { bytes: 90 }
            ));
            // The server's distance: nothing beyond it to learn.
            assert!(stops(trigger, &SynOutcome::Reached, &icmp));
        }
        // Silence where the hop answers SYNs: the ClientHello vanished before it (after a
        // stall); after a reset it is a router that kept its time exceeded to itself.
        assert!(stops(TtlWalkTrigger::Stall, &te, &HelloOutcome::Silent));
        assert!(!stops(TtlWalkTrigger::Reset, &te, &HelloOutcome::Silent));
    }

    #[test]
    fn the_handshake_and_the_socket_error_say_what_the_client_hello_met() {
        let reset = TlsOutcome::Transport(Transport::Reset { at: (), bytes: 0 });
        assert_eq!(classify(&reset, 0, 0), HelloOutcome::Reset { bytes: 0 });
        let silent = TlsOutcome::Transport(Transport::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: 0,
        });
        assert_eq!(classify(&silent, 0, 0), HelloOutcome::Silent);
        let failed = TlsOutcome::Error {
            reason: "No route to host (os error 113)".into(),
        };
        assert!(matches!(
            classify(&failed, 113, 0),
            HelloOutcome::Icmp { .. }
        ));
        let done = TlsOutcome::Completed {
            cipher: "ECDHE-RSA-AES256-GCM-SHA384".into(),
        };
        assert_eq!(
            classify(&done, 0, 1400),
            HelloOutcome::Answered { bytes: 1400 }
        );
        let partial = TlsOutcome::Transport(Transport::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: 900,
        });
        assert_eq!(
            classify(&partial, 0, 900),
            HelloOutcome::Answered { bytes: 900 }
        );
    }

    #[tokio::test]
    async fn a_syn_to_a_listening_port_reaches_it_and_a_closed_one_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let wait = Duration::from_secs(1);
        assert_eq!(syn_outcome(address, 1, wait).await, SynOutcome::Reached);
        drop(listener);
        // The loopback host's own reset: no ICMP, the port is closed.
        assert_eq!(syn_outcome(address, 1, wait).await, SynOutcome::Refused);
        // IPv6: the hop limit, where the machine has ::1.
        if let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await {
            let address = listener.local_addr().unwrap();
            assert_eq!(syn_outcome(address, 1, wait).await, SynOutcome::Reached);
        }
    }
}
