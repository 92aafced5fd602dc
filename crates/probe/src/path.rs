//! Path probes: what a middlebox between the client and the server does to a connection.
//!
//! - [`connect`]: a TCP connect that also reads the ICMP error answering it (IP_RECVERR), so a
//!   router's "administratively prohibited" or "port unreachable" is told apart from the host's
//!   own reset, and shows who sent it.
//! - [`try_others`]: the addresses of a name the connect loop did not need, one connect each.
//! - [`after_tls`]: when every TLS handshake failed in a way a middlebox explains, a few more:
//!   after a reset right after the ClientHello, the same ClientHello once more (the control: a
//!   reset that does not repeat was a passing fault), and only when that is reset too, one with
//!   the ClientHello split over TCP segments and one without SNI; after a stall, handshakes with
//!   a small MSS (TCP_MAXSEG before connect) to find an MTU black hole and bracket the path MTU,
//!   with one more at full size as the control.
//!
//! Nothing here runs on a healthy server: the retries cost connections only after a failure.

use crate::host::Host;
use crate::{elapsed_ms, negotiate, tcp, tcp_info, tls};
use rdpdoctor_observations::{
    protocol, ConnectOutcome, IcmpError, MssProbe, NegotiationOutcome, PathObservation, Phase,
    TcpAttempt, TcpInfoSample, TlsAttempt, TlsOutcome, TlsRetry, TlsRetryKind, TlsVersion,
    Transport, LOSS_SAMPLE_SEGMENTS,
};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// The version the retries use: every Windows server since 2012 R2 and xrdp speak it, so a retry
/// that fails is not failing for its version.
const RETRY_VERSION: TlsVersion = TlsVersion::Tls12;
/// The smallest MSS every IPv4 host must accept (RFC 879, RFC 9293 3.7.1): 576-byte packets.
const SMALL_MSS: u16 = 536;
/// The MSS of a clean Ethernet path (1500-byte MTU) for IPv4 and IPv6.
const ETHERNET_MSS_V4: u16 = 1460;
const ETHERNET_MSS_V6: u16 = 1440;
/// More handshakes after a small MSS worked, halving the interval between what works and what
/// does not each time: about 115 bytes of uncertainty left on an Ethernet path.
const SEARCH_STEPS: usize = 3;
/// The pause between the first byte of a split ClientHello and the rest.
const SPLIT_PAUSE: Duration = Duration::from_millis(50);
/// The pause between the one-byte segments of the loss sample: long enough that the kernel sends
/// each at once (no autocorking behind the one before), short enough that a request of ~50 bytes
/// takes a tenth of a second.
const TRICKLE_PAUSE: Duration = Duration::from_millis(2);
/// At most this many loss-sample connections (each about 50 one-byte data segments).
const LOSS_SAMPLE_CONNECTIONS: usize = 2;

/// Connects to `address` within `deadline`, with TCP_MAXSEG set first when `mss` is given. The
/// stream comes back only when the connect succeeded; an ICMP error that answered it comes back
/// whatever the outcome (a timeout can hide a soft ICMP error too).
pub(crate) async fn connect(
    address: SocketAddr,
    deadline: Duration,
    mss: Option<u16>,
) -> (TcpAttempt, Option<TcpStream>, Option<IcmpError>) {
    let start = Instant::now();
    let attempt = |outcome| TcpAttempt {
        address,
        elapsed_ms: elapsed_ms(start),
        outcome,
    };
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    };
    let socket = match socket {
        Ok(s) => s,
        Err(e) => {
            let outcome = ConnectOutcome::Error {
                error: format!("cannot create a socket: {e}"),
            };
            return (attempt(outcome), None, None);
        }
    };
    let errors = sys::prepare(&socket, address, mss);
    match tokio::time::timeout(deadline, socket.connect(address)).await {
        Err(_) => {
            let icmp = sys::icmp(errors, address, "no answer before the deadline");
            (attempt(ConnectOutcome::TimedOut), None, icmp)
        }
        Ok(Ok(stream)) => {
            sys::connected(&stream, address);
            // Small request/response exchanges: do not let Nagle delay them.
            let _ = stream.set_nodelay(true);
            (attempt(ConnectOutcome::Connected), Some(stream), None)
        }
        Ok(Err(e)) => {
            let icmp = sys::icmp(errors, address, &e.to_string());
            (attempt(tcp::classify(&e)), None, icmp)
        }
    }
}

/// Connects once to each of `addresses` (at once, each within `deadline`), closing what
/// connects: which addresses of a name a client could not use.
pub(crate) fn try_others(
    addresses: Vec<SocketAddr>,
    deadline: Duration,
    global: Option<Arc<Semaphore>>,
) -> Option<JoinHandle<(Vec<TcpAttempt>, Vec<IcmpError>)>> {
    if addresses.is_empty() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for (i, address) in addresses.into_iter().enumerate() {
            let global = global.clone();
            set.spawn(async move {
                let _slot = match global {
                    Some(g) => g.acquire_owned().await.ok(),
                    None => None,
                };
                let (attempt, _stream, icmp) = connect(address, deadline, None).await;
                (i, attempt, icmp)
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                done.push(r);
            }
        }
        done.sort_by_key(|(i, _, _)| *i);
        let icmp = done.iter().filter_map(|(_, _, e)| e.clone()).collect();
        (done.into_iter().map(|(_, a, _)| a).collect(), icmp)
    }))
}

/// Waits for [`try_others`], when it started.
pub(crate) async fn join<T>(
    handle: Option<JoinHandle<T>>,
) -> Option<Result<T, tokio::task::JoinError>> {
    match handle {
        Some(h) => Some(h.await),
        None => None,
    }
}

/// The retries after every TLS handshake failed (`attempts` as the check recorded them, all on
/// connections whose X.224 request `requested` selected a TLS-based protocol).
pub(crate) async fn after_tls(
    host: &Host,
    requested: u32,
    attempts: &[TlsAttempt],
    path: &mut PathObservation,
) {
    let reached: Vec<&TlsOutcome> = attempts
        .iter()
        .map(|a| &a.outcome)
        .filter(|o| !matches!(o, TlsOutcome::NegotiationFailed { .. }))
        .collect();
    if reached.is_empty()
        || reached
            .iter()
            .any(|o| matches!(o, TlsOutcome::Completed { .. }))
    {
        return;
    }
    let reset_at_hello = reached
        .iter()
        .any(|o| matches!(o, TlsOutcome::Transport(Transport::Reset { bytes: 0, .. })));
    // Versions the server refuses answer with a small alert, which passes any black hole: a
    // stall is some handshake timing out with none completing.
    let stalled = reached.iter().any(|o| {
        matches!(
            o,
            TlsOutcome::Transport(Transport::TimedOut {
                phase: Phase::TlsHandshake,
                ..
            })
        )
    });
    if reset_at_hello {
        // The control: a device that resets ClientHellos resets this one too; a passing fault
        // (a reset storm, a failover) does not, and then nothing is compared.
        let control = tls_retry(host, requested, TlsRetryKind::Unchanged).await;
        let transient = matches!(control.outcome, TlsOutcome::Completed { .. });
        path.tls_retries.push(control);
        if transient {
            return;
        }
        path.tls_retries
            .push(tls_retry(host, requested, TlsRetryKind::SplitClientHello).await);
        // An address literal never carried SNI: that retry would repeat the first ones.
        if host.server_name.is_some() {
            path.tls_retries
                .push(tls_retry(host, requested, TlsRetryKind::NoSni).await);
        }
        crate::ttl_walk::after_reset(host, requested, path).await;
    } else if stalled {
        mss_search(host, requested, path).await;
        crate::ttl_walk::after_stall(host, requested, path).await;
    }
}

async fn tls_retry(host: &Host, requested: u32, kind: TlsRetryKind) -> TlsRetry {
    let start = Instant::now();
    let retry = |outcome| TlsRetry {
        kind,
        version: RETRY_VERSION,
        requested,
        elapsed_ms: elapsed_ms(start),
        outcome,
    };
    let (_slot, mut stream) = match host.open().await {
        Ok(pair) => pair,
        Err(outcome) => {
            let outcome = TlsOutcome::NegotiationFailed {
                outcome: NegotiationOutcome::ConnectFailed { outcome },
            };
            return retry(outcome);
        }
    };
    let negotiated = negotiate::negotiate(&mut stream, requested, host.timeout()).await;
    if !selects_tls(&negotiated) {
        return retry(TlsOutcome::NegotiationFailed {
            outcome: negotiated,
        });
    }
    // The control and the split retry send what the first handshakes sent; only the SNI-less
    // one leaves the name out.
    let name = match kind {
        TlsRetryKind::NoSni => None,
        TlsRetryKind::Unchanged | TlsRetryKind::SplitClientHello => host.server_name.as_deref(),
    };
    let outcome = if kind == TlsRetryKind::SplitClientHello {
        tls::handshake(
            SplitFirstWrite::new(stream),
            RETRY_VERSION,
            name,
            host.timeout(),
            false,
        )
        .await
        .outcome
    } else {
        tls::handshake(stream, RETRY_VERSION, name, host.timeout(), false)
            .await
            .outcome
    };
    retry(outcome)
}

/// Handshakes with a small MSS; when one completes, a short binary search between what works
/// and the Ethernet MSS brackets the path MTU.
async fn mss_search(host: &Host, requested: u32, path: &mut PathObservation) {
    let first = mss_probe(host, requested, SMALL_MSS, host.timeout()).await;
    let worked = matches!(first.outcome, TlsOutcome::Completed { .. });
    path.mss_probes.push(first);
    if !worked {
        return;
    }
    // A handshake on this path takes a few round trips: a probe still silent after twenty
    // connect times (at least a second) has met the black hole.
    let slowest = host.samples().into_iter().fold(0.0f64, f64::max);
    let stall = Duration::from_secs_f64((slowest * 20.0 / 1000.0).max(1.0)).min(host.timeout());
    let full = match host.address {
        SocketAddr::V4(_) => ETHERNET_MSS_V4,
        SocketAddr::V6(_) => ETHERNET_MSS_V6,
    };
    // The control: full size once more. A stall that does not repeat was a passing fault (a
    // congested moment, a flapping link), not a black hole, and nothing is searched.
    let mut control = mss_probe(host, requested, full, stall).await;
    control.control = true;
    let repeated = !matches!(control.outcome, TlsOutcome::Completed { .. });
    path.mss_probes.push(control);
    if !repeated {
        return;
    }
    let (mut lo, mut hi) = (SMALL_MSS, full);
    for _ in 0..SEARCH_STEPS {
        let mid = lo + (hi - lo) / 2;
        if mid == lo {
            break;
        }
        let p = mss_probe(host, requested, mid, stall).await;
        if matches!(p.outcome, TlsOutcome::Completed { .. }) {
            lo = mid;
        } else {
            hi = mid;
        }
        path.mss_probes.push(p);
    }
}

async fn mss_probe(host: &Host, requested: u32, mss: u16, deadline: Duration) -> MssProbe {
    let start = Instant::now();
    let _slot = host.permit().await;
    let (attempt, stream, _icmp) = connect(host.address, host.timeout(), Some(mss)).await;
    let probe = |connect, outcome| MssProbe {
        mss,
        control: false,
        version: RETRY_VERSION,
        elapsed_ms: elapsed_ms(start),
        connect,
        outcome,
    };
    let Some(mut stream) = stream else {
        let outcome = TlsOutcome::NegotiationFailed {
            outcome: NegotiationOutcome::ConnectFailed {
                outcome: attempt.outcome.clone(),
            },
        };
        return probe(attempt.outcome, outcome);
    };
    let negotiated = negotiate::negotiate(&mut stream, requested, host.timeout()).await;
    if !selects_tls(&negotiated) {
        let outcome = TlsOutcome::NegotiationFailed {
            outcome: negotiated,
        };
        return probe(attempt.outcome, outcome);
    }
    let hs = tls::handshake(
        stream,
        RETRY_VERSION,
        host.server_name.as_deref(),
        deadline,
        false,
    )
    .await;
    probe(attempt.outcome, hs.outcome)
}

/// When the probe connections retransmitted data (after the receiver's D-SACK duplicates are
/// taken off) but sent too few data segments for a rate, more: connections whose X.224
/// Connection Request goes one byte per segment, sampled like the others, until
/// [`LOSS_SAMPLE_SEGMENTS`] data segments were sent in all. A clean path never pays for it.
pub(crate) async fn loss_sample(host: &Host) {
    let samples = host.tcp_info();
    let lost: u32 = samples.iter().map(TcpInfoSample::lost_segments).sum();
    let mut segments: u32 = samples.iter().map(TcpInfoSample::data_segments).sum();
    for _ in 0..LOSS_SAMPLE_CONNECTIONS {
        if lost == 0 || segments >= LOSS_SAMPLE_SEGMENTS || host.past_deadline() {
            return;
        }
        let Ok((_slot, stream)) = host.open().await else {
            return;
        };
        let sampler = tcp_info::Sampler::new(&stream);
        let mut trickle = SplitWrite::trickle(stream);
        // The answer does not matter: the request's segments are the sample.
        let _ = negotiate::negotiate(&mut trickle, protocol::SSL, host.timeout()).await;
        let sample = sampler.and_then(tcp_info::Sampler::sample);
        segments += sample.as_ref().map_or(0, TcpInfoSample::data_segments);
        host.note_tcp_info(sample);
        if segments == 0 {
            // A kernel that reports no segment counts: no rate can be had.
            return;
        }
    }
}

fn selects_tls(outcome: &NegotiationOutcome) -> bool {
    outcome.selects_tls()
}

/// A stream whose first `singles` writes send one byte each, with a pause after each, before
/// the rest goes as it comes. With TCP_NODELAY each of those bytes leaves in a segment of its own.
pub(crate) struct SplitWrite<S> {
    inner: S,
    state: Split,
    singles: usize,
    pause: Duration,
}

/// The split retry: the TLS record header's first byte alone, then [`SPLIT_PAUSE`], then the
/// rest, so a device matching the ClientHello (record header, SNI) within one segment does not
/// see it.
pub(crate) type SplitFirstWrite<S> = SplitWrite<S>;

enum Split {
    First,
    Pause(Pin<Box<tokio::time::Sleep>>),
    Done,
}

impl<S> SplitWrite<S> {
    pub(crate) fn new(inner: S) -> Self {
        SplitWrite {
            inner,
            state: Split::First,
            singles: 1,
            pause: SPLIT_PAUSE,
        }
    }

    /// Every byte in a segment of its own, [`TRICKLE_PAUSE`] apart: many small data segments
    /// from one short message (the loss sample).
    pub(crate) fn trickle(inner: S) -> Self {
        SplitWrite {
            inner,
            state: Split::First,
            singles: usize::MAX,
            pause: TRICKLE_PAUSE,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SplitWrite<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SplitWrite<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                Split::First if buf.len() > 1 && this.singles > 0 => {
                    let r = Pin::new(&mut this.inner).poll_write(cx, &buf[..1]);
                    if let Poll::Ready(Ok(_)) = r {
                        this.singles -= 1;
                        this.state = Split::Pause(Box::pin(tokio::time::sleep(this.pause)));
                    }
                    return r;
                }
                Split::First => this.state = Split::Done,
                Split::Pause(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) if this.singles > 0 => this.state = Split::First,
                    Poll::Ready(()) => this.state = Split::Done,
                },
                Split::Done => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The socket options behind [`connect`]: Linux only (IP_RECVERR and the error queue).
#[cfg(target_os = "linux")]
mod sys {
    use nix::sys::socket::{
        getsockname, recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike,
        SockaddrStorage,
    };
    use rdpdoctor_observations::IcmpError;
    use std::io::IoSliceMut;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};

    /// sock_extended_err.ee_origin values (linux/errqueue.h).
    const SO_EE_ORIGIN_ICMP: u8 = 2;
    const SO_EE_ORIGIN_ICMP6: u8 = 3;

    /// Asks for ICMP errors on the error queue and sets the MSS; returns a second descriptor of
    /// the socket, so the queue can still be read after a failed connect consumed the socket.
    pub(super) fn prepare<F: AsFd>(
        socket: &F,
        address: SocketAddr,
        mss: Option<u16>,
    ) -> Option<OwnedFd> {
        if let Some(m) = mss {
            let _ = setsockopt(socket, sockopt::TcpMaxSeg, &u32::from(m));
        }
        let on = match address {
            SocketAddr::V4(_) => setsockopt(socket, sockopt::Ipv4RecvErr, &true),
            SocketAddr::V6(_) => setsockopt(socket, sockopt::Ipv6RecvErr, &true),
        };
        on.ok()?;
        socket.as_fd().try_clone_to_owned().ok()
    }

    /// A connected stream goes back to ordinary error reporting.
    pub(super) fn connected<F: AsFd>(stream: &F, address: SocketAddr) {
        let _ = match address {
            SocketAddr::V4(_) => setsockopt(stream, sockopt::Ipv4RecvErr, &false),
            SocketAddr::V6(_) => setsockopt(stream, sockopt::Ipv6RecvErr, &false),
        };
    }

    /// The ICMP error queued on the socket, if one is.
    pub(super) fn icmp(fd: Option<OwnedFd>, address: SocketAddr, error: &str) -> Option<IcmpError> {
        let fd = fd?;
        let mut data = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut cmsg = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in6);
        let msg = recvmsg::<()>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        )
        .ok()?;
        for c in msg.cmsgs().ok()? {
            let (err, from, version) = match c {
                ControlMessageOwned::Ipv4RecvErr(e, from) if e.ee_origin == SO_EE_ORIGIN_ICMP => {
                    let from =
                        from.map(|a| IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))));
                    (e, from, 4)
                }
                ControlMessageOwned::Ipv6RecvErr(e, from) if e.ee_origin == SO_EE_ORIGIN_ICMP6 => {
                    let from = from.map(|a| IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)));
                    (e, from, 6)
                }
                _ => continue,
            };
            // The connect's source: an ICMP message from it is this machine's own (its ARP for
            // an address on its own network failed).
            let local = getsockname::<SockaddrStorage>(fd.as_raw_fd())
                .ok()
                .and_then(|a| match a.family() {
                    Some(nix::sys::socket::AddressFamily::Inet) => {
                        a.as_sockaddr_in().map(|v4| IpAddr::V4(v4.ip()))
                    }
                    Some(nix::sys::socket::AddressFamily::Inet6) => {
                        a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                    }
                    _ => None,
                });
            return Some(IcmpError {
                address,
                from,
                local,
                ip_version: version,
                icmp_type: err.ee_type,
                code: err.ee_code,
                error: error.to_string(),
            });
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use rdpdoctor_observations::IcmpError;
    use std::net::SocketAddr;

    pub(super) fn prepare<F>(_: &F, _: SocketAddr, _: Option<u16>) -> Option<()> {
        None
    }
    pub(super) fn connected<F>(_: &F, _: SocketAddr) {}
    pub(super) fn icmp(_: Option<()>, _: SocketAddr, _: &str) -> Option<IcmpError> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn split_stream_sends_the_first_byte_alone_then_the_rest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 16];
            let n = s.read(&mut first).await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            (first[..n].to_vec(), rest)
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut split = SplitFirstWrite::new(stream);
        split
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05])
            .await
            .unwrap();
        split.shutdown().await.unwrap();
        let (first, rest) = server.await.unwrap();
        // The pause lets the first segment be read on its own.
        assert_eq!(first, [0x16]);
        assert_eq!(rest, [0x03, 0x01, 0x00, 0x05]);
    }

    #[tokio::test]
    async fn connect_reports_a_reset_without_icmp() {
        // A port nobody listens on: the loopback host itself resets, no ICMP is involved.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let (attempt, stream, icmp) = connect(addr, Duration::from_secs(2), None).await;
        assert_eq!(attempt.outcome, ConnectOutcome::Refused);
        assert!(stream.is_none() && icmp.is_none());
    }
}
