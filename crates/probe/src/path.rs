//! Path probes: what a middlebox between the client and the server does to a connection. They
//! measure the route's own TCP connection to the server, so they run only over a route that has
//! one (`Route::measures_path`: the direct route); over others they stay quiet rather than
//! describe another leg.
//!
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
use crate::open::{open, Accept, Opening, Shape, Upgrade};
use crate::route::direct::connect;
use crate::route::DialSpec;
use crate::{elapsed_ms, tcp_info};
use rdpdoctor_observations::{
    protocol, ConnectOutcome, IcmpError, MssProbe, PathObservation, Phase, RouteFailure,
    TcpAttempt, TcpInfoSample, TlsAttempt, TlsOutcome, TlsRetry, TlsRetryKind, TlsVersion,
    Transport, LOSS_SAMPLE_SEGMENTS,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
/// At most this many loss-sample connections (each about 50 one-byte data segments).
const LOSS_SAMPLE_CONNECTIONS: usize = 2;

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
    if !host.route.measures_path() {
        return;
    }
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
    // The control and the split retry send what the first handshakes sent; only the SNI-less
    // one leaves the name out.
    let mut upgrade = Upgrade::pinned(RETRY_VERSION);
    upgrade.sni = kind != TlsRetryKind::NoSni;
    let shape = match kind {
        TlsRetryKind::SplitClientHello => Shape::SplitClientHello,
        TlsRetryKind::Unchanged | TlsRetryKind::NoSni => Shape::Plain,
    };
    let opening = Opening::new(requested)
        .accepting(Accept::TlsBased)
        .with_tls(upgrade)
        .shaped(shape);
    let opened = open(host, opening).await;
    let outcome = opened.tls_outcome();
    if let Some(stream) = opened.stream {
        stream.close().await;
    }
    TlsRetry {
        kind,
        version: RETRY_VERSION,
        requested,
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
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
    let mut upgrade = Upgrade::pinned(RETRY_VERSION);
    upgrade.deadline = Some(deadline);
    let opening = Opening::new(requested)
        .accepting(Accept::TlsBased)
        .with_tls(upgrade)
        .dialing(DialSpec {
            mss: Some(mss),
            unsampled: true,
        });
    let opened = open(host, opening).await;
    let connect = match &opened.reached {
        Ok(_) => ConnectOutcome::Connected,
        Err(RouteFailure::ConnectFailed { outcome }) => outcome.clone(),
        Err(other) => ConnectOutcome::Error {
            error: format!("{other:?}"),
        },
    };
    let outcome = opened.tls_outcome();
    if let Some(stream) = opened.stream {
        stream.close().await;
    }
    MssProbe {
        mss,
        control: false,
        version: RETRY_VERSION,
        elapsed_ms: elapsed_ms(start),
        connect,
        outcome,
    }
}

/// When the probe connections retransmitted data (after the receiver's D-SACK duplicates are
/// taken off) but sent too few data segments for a rate, more: connections whose X.224
/// Connection Request goes one byte per segment, sampled like the others, until
/// [`LOSS_SAMPLE_SEGMENTS`] data segments were sent in all. A clean path never pays for it.
pub(crate) async fn loss_sample(host: &Host) {
    if !host.route.measures_path() {
        return;
    }
    let samples = host.tcp_info();
    let lost: u32 = samples.iter().map(TcpInfoSample::lost_segments).sum();
    let mut segments: u32 = samples.iter().map(TcpInfoSample::data_segments).sum();
    for _ in 0..LOSS_SAMPLE_CONNECTIONS {
        if lost == 0 || segments >= LOSS_SAMPLE_SEGMENTS || host.past_deadline() {
            return;
        }
        // The answer does not matter: the request's segments are the sample.
        let opened = open(
            host,
            Opening::new(protocol::SSL).shaped(Shape::TrickleRequest),
        )
        .await;
        if opened.reached.is_err() {
            return;
        }
        let sample = opened.sampler.and_then(tcp_info::Sampler::sample);
        segments += sample.as_ref().map_or(0, TcpInfoSample::data_segments);
        host.note_tcp_info(sample);
        if segments == 0 {
            // A kernel that reports no segment counts: no rate can be had.
            return;
        }
    }
}
