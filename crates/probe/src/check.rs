//! The `check` probe sequence: DNS, TCP, X.224 negotiation for every protocol set, then one TLS
//! handshake per version wherever negotiation selects a TLS-based protocol.

use crate::{certificate, dns, elapsed_ms, negotiate, tcp, tls};
use rdpdoctor_observations::{
    protocol, ConnectOutcome, NegotiationAttempt, NegotiationOutcome, Observations, Target,
    TcpObservation, TlsAttempt, TlsObservation, TlsOutcome, TlsVersion,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How a check runs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Deadline of every network phase.
    pub timeout: Duration,
    /// Connections open to one host at a time.
    pub max_connections: usize,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(5),
            // xrdp listens with a backlog of 2: a third simultaneous SYN can be dropped and cost
            // a one-second retransmission. Two connections keep a check fast and polite.
            max_connections: 2,
        }
    }
}

/// The first request: what an up-to-date mstsc sends (TLS, CredSSP and CredSSP with Early User
/// Authorization Result).
const PRIMARY: u32 = protocol::SSL | protocol::HYBRID | protocol::HYBRID_EX;

/// The other requests, each on its own connection: Standard RDP Security only, TLS only, TLS or
/// CredSSP (what nmap and older clients send), and RDSTLS.
const SECONDARY: [u32; 4] = [
    protocol::RDP,
    protocol::SSL,
    protocol::SSL | protocol::HYBRID,
    protocol::RDSTLS,
];

/// Shared state of one check: the connection budget and the connect latencies.
struct Host {
    address: SocketAddr,
    server_name: Option<String>,
    options: ProbeOptions,
    permits: Semaphore,
    samples: Mutex<Vec<f64>>,
}

impl Host {
    fn record_sample(&self, ms: f64) {
        if let Ok(mut s) = self.samples.lock() {
            s.push(ms);
        }
    }
}

/// Probes `target` and returns every fact gathered.
pub async fn check(target: Target, options: &ProbeOptions) -> Observations {
    let start = Instant::now();
    let mut obs = Observations::new(Some(target.clone()));
    obs.started_at = Some(jiff::Timestamp::now());
    obs.timeout_secs = Some(options.timeout.as_secs_f64());

    let dns = dns::resolve(&target, options.timeout).await;
    let addresses = dns.outcome.addresses().to_vec();
    obs.dns = Some(dns);

    // Like a client: try each address in turn until one accepts.
    let mut attempts = Vec::new();
    let mut first = None;
    for ip in addresses {
        let address = SocketAddr::new(ip, target.port);
        let (attempt, stream) = tcp::connect(address, options.timeout).await;
        let connected = attempt.outcome == ConnectOutcome::Connected;
        let ms = attempt.elapsed_ms;
        attempts.push(attempt);
        if let (true, Some(s)) = (connected, stream) {
            first = Some((address, s, ms));
            break;
        }
    }
    let Some((address, mut stream, connect_ms)) = first else {
        if !attempts.is_empty() {
            obs.tcp = Some(TcpObservation {
                attempts,
                address: None,
                samples_ms: Vec::new(),
            });
        }
        obs.duration_ms = Some(elapsed_ms(start));
        return obs;
    };

    let host = Arc::new(Host {
        address,
        server_name: (target.ip().is_none()).then(|| target.host.clone()),
        options: options.clone(),
        permits: Semaphore::new(options.max_connections.max(1)),
        samples: Mutex::new(vec![connect_ms]),
    });

    // The first connection is already open: it counts against the per-host budget.
    let primary = {
        let _permit = host.permits.acquire().await;
        let t = Instant::now();
        let outcome = negotiate::negotiate(&mut stream, PRIMARY, options.timeout).await;
        drop(stream);
        NegotiationAttempt {
            requested: PRIMARY,
            elapsed_ms: elapsed_ms(t),
            outcome,
        }
    };
    let answered = matches!(
        primary.outcome,
        NegotiationOutcome::Selected { .. }
            | NegotiationOutcome::Failure { .. }
            | NegotiationOutcome::NoNegotiationData
    );
    let primary_tls = tls_based(&primary.outcome);
    obs.negotiation.push(primary);

    if answered {
        let mut set = JoinSet::new();
        for (i, requested) in SECONDARY.iter().enumerate() {
            let h = host.clone();
            let requested = *requested;
            set.spawn(async move { (i, negotiate_on_new_connection(&h, requested).await) });
        }
        // TLS can start right away when the first answer already selected a TLS-based protocol;
        // otherwise it waits for a secondary request that does.
        let mut tls = None;
        if primary_tls {
            tls = Some(probe_tls(&host, PRIMARY).await);
        }
        let mut secondary: Vec<(usize, NegotiationAttempt)> = Vec::new();
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                secondary.push(r);
            }
        }
        secondary.sort_by_key(|(i, _)| *i);
        let secondary: Vec<NegotiationAttempt> = secondary.into_iter().map(|(_, a)| a).collect();
        if tls.is_none() {
            if let Some(a) = secondary.iter().find(|a| tls_based(&a.outcome)) {
                tls = Some(probe_tls(&host, a.requested).await);
            }
        }
        obs.negotiation.extend(secondary);
        obs.tls = tls;
    }

    let samples = host.samples.lock().map(|s| s.clone()).unwrap_or_default();
    obs.tcp = Some(TcpObservation {
        attempts,
        address: Some(address),
        samples_ms: samples,
    });
    obs.duration_ms = Some(elapsed_ms(start));
    obs
}

/// Whether an answer selected a protocol that starts with a TLS handshake (everything but
/// Standard RDP Security, MS-RDPBCGR 5.4.5).
fn tls_based(outcome: &NegotiationOutcome) -> bool {
    matches!(outcome, NegotiationOutcome::Selected { protocol, .. } if *protocol != protocol::RDP)
}

async fn negotiate_on_new_connection(host: &Host, requested: u32) -> NegotiationAttempt {
    let _permit = host.permits.acquire().await;
    let t = Instant::now();
    let (attempt, stream) = tcp::connect(host.address, host.options.timeout).await;
    let outcome = match stream {
        None => NegotiationOutcome::ConnectFailed {
            outcome: attempt.outcome,
        },
        Some(mut s) => {
            host.record_sample(attempt.elapsed_ms);
            negotiate::negotiate(&mut s, requested, host.options.timeout).await
        }
    };
    NegotiationAttempt {
        requested,
        elapsed_ms: elapsed_ms(t),
        outcome,
    }
}

/// One handshake per TLS version, concurrently within the host's connection budget.
async fn probe_tls(host: &Arc<Host>, requested: u32) -> TlsObservation {
    let mut set = JoinSet::new();
    for version in TlsVersion::ALL {
        let h = host.clone();
        set.spawn(async move { tls_attempt(&h, requested, version).await });
    }
    let mut attempts = Vec::new();
    let mut chains = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((attempt, chain)) = joined {
            if !chain.is_empty() {
                chains.push((attempt.version, chain));
            }
            attempts.push(attempt);
        }
    }
    attempts.sort_by_key(|a| a.version);
    // The certificate of the newest version that completed: what a modern client sees.
    chains.sort_by_key(|(v, _)| *v);
    let certificate = chains.last().and_then(|(_, chain)| {
        chain
            .first()
            .and_then(|leaf| certificate::describe(leaf, chain.len()).ok())
    });
    TlsObservation {
        requested,
        attempts,
        certificate,
    }
}

async fn tls_attempt(
    host: &Host,
    requested: u32,
    version: TlsVersion,
) -> (TlsAttempt, Vec<openssl::x509::X509>) {
    let _permit = host.permits.acquire().await;
    let t = Instant::now();
    let timeout = host.options.timeout;
    let (connect, stream) = tcp::connect(host.address, timeout).await;
    let done = |outcome, chain| {
        (
            TlsAttempt {
                version,
                elapsed_ms: elapsed_ms(t),
                outcome,
            },
            chain,
        )
    };
    let Some(mut stream) = stream else {
        return done(
            TlsOutcome::NegotiationFailed {
                outcome: NegotiationOutcome::ConnectFailed {
                    outcome: connect.outcome,
                },
            },
            Vec::new(),
        );
    };
    host.record_sample(connect.elapsed_ms);
    let answer = negotiate::negotiate(&mut stream, requested, timeout).await;
    if !tls_based(&answer) {
        return done(TlsOutcome::NegotiationFailed { outcome: answer }, Vec::new());
    }
    let hs = tls::handshake(stream, version, host.server_name.as_deref(), timeout).await;
    done(hs.outcome, hs.chain)
}
