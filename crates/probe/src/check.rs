//! The `check` probe sequence: DNS, TCP, X.224 negotiation for every protocol set, and one TLS
//! handshake per version wherever negotiation selects a TLS-based protocol.
//!
//! Connections are the expensive part (some servers take 50 ms to answer a Connection Request),
//! so a TLS handshake rides on a negotiation connection whenever that connection selected TLS:
//! a healthy server is fully checked with six or seven short connections, at most
//! `max_connections` open at a time.

use crate::host::Host;
use crate::{certificate, dns, elapsed_ms, negotiate, tcp, tls};
use openssl::x509::X509;
use rdpdoctor_observations::{
    protocol, ConnectOutcome, NegotiationAttempt, NegotiationOutcome, Observations, Target,
    TcpAttempt, TcpObservation, TlsAttempt, TlsObservation, TlsOutcome, TlsVersion,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How a check runs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Deadline of every network phase.
    pub timeout: Duration,
    /// Connections open to one host at a time.
    pub max_connections: usize,
    /// Connections open at a time across every target of a fleet scan (`None`: no such limit).
    pub global: Option<Arc<Semaphore>>,
    /// Start every probe connection at once (lowest latency for one check) instead of waiting
    /// for the first X.224 answer (cheapest for fleets full of dead hosts).
    pub eager: bool,
    /// The account `check --user` authenticates with (NLA up to the server's verdict).
    pub credentials: Option<Arc<crate::nla::Credentials>>,
    /// `check --full`: one complete connection until the session is up or the server ends it;
    /// with `credentials` it delegates them (TSCredentials and the Client Info PDU), but only
    /// over a channel whose server identity `trust` accepts.
    pub full: bool,
    /// What proves the server's identity before credentials are delegated (--cert-sha256,
    /// --trust-any-cert).
    pub trust: crate::Trust,
    /// The overall deadline of one check, from its start; every phase is cut short to end by
    /// then (`None`: per-phase deadlines only).
    pub deadline: Option<Duration>,
    /// `check --full --hold SECONDS`: keep the session open this long once it is up, as an
    /// idle client would, and record how it ended (the overall deadline must include it: see
    /// `overall_deadline_with_hold`).
    pub hold: Option<Duration>,
}

impl ProbeOptions {
    /// The overall deadline of one check for a per-phase `timeout`: six phases' worth (a check
    /// runs its connections in parallel, so a healthy server needs a fraction of it), and six
    /// more with `--full`, whose connection sequence is a dozen round trips after the others.
    pub fn overall_deadline(timeout: Duration, full: bool) -> Duration {
        timeout * if full { 12 } else { 6 }
    }

    /// The overall deadline with `--hold`: the hold starts only once the session is up, so it
    /// adds its whole length to the deadline of `--full`.
    pub fn overall_deadline_with_hold(
        timeout: Duration,
        full: bool,
        hold: Option<Duration>,
    ) -> Duration {
        Self::overall_deadline(timeout, full) + hold.unwrap_or_default()
    }
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(5),
            max_connections: 4,
            global: None,
            eager: true,
            credentials: None,
            full: false,
            trust: crate::Trust::default(),
            deadline: None,
            hold: None,
        }
    }
}

/// What an up-to-date mstsc requests: TLS, CredSSP, and CredSSP with Early User Authorization.
const PRIMARY: u32 = protocol::SSL | protocol::HYBRID | protocol::HYBRID_EX;

/// One connection: an X.224 request, then, if the server selects a TLS-based protocol, a
/// handshake pinned to `tls`.
struct Job {
    requested: u32,
    tls: Option<TlsVersion>,
    /// Whether the negotiation answer is recorded (the extra TLS connections repeat a request
    /// already recorded).
    record: bool,
}

/// The first job is the primary request; the next four are the other protocol sets the issue
/// asks about (Standard RDP Security only, TLS only, TLS or CredSSP as nmap and older clients
/// send it, RDSTLS); the last carries the TLS version no negotiation connection carries.
const JOBS: [Job; 6] = [
    Job {
        requested: PRIMARY,
        tls: Some(TlsVersion::Tls13),
        record: true,
    },
    Job {
        requested: protocol::SSL | protocol::HYBRID,
        tls: Some(TlsVersion::Tls12),
        record: true,
    },
    Job {
        requested: protocol::SSL,
        tls: Some(TlsVersion::Tls11),
        record: true,
    },
    Job {
        requested: protocol::RDP,
        tls: None,
        record: true,
    },
    Job {
        requested: protocol::RDSTLS,
        tls: None,
        record: true,
    },
    Job {
        requested: PRIMARY,
        tls: Some(TlsVersion::Tls10),
        record: false,
    },
];

struct JobResult {
    negotiation: NegotiationAttempt,
    record: bool,
    tls: Option<(TlsAttempt, Vec<X509>)>,
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

    // Like a client: try each address in turn until one accepts. Only then do the other
    // connections start, so a closed or filtered port costs one deadline, not several.
    let mut attempts: Vec<TcpAttempt> = Vec::new();
    let mut first = None;
    let global_slot = match &options.global {
        Some(g) => g.clone().acquire_owned().await.ok(),
        None => None,
    };
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
    // The first job takes its own slot for this connection; holding this one as well could
    // deadlock a scan whose global budget is a single connection.
    drop(global_slot);
    let Some((address, stream, connect_ms)) = first else {
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

    let host = Arc::new(
        Host::new(
            address,
            target.ip().is_none().then(|| target.host.clone()),
            options,
            connect_ms,
        )
        .ending_at(options.deadline.map(|d| start + d)),
    );

    // Every job starts at once (the semaphore keeps `max_connections` open). A TLS version whose
    // carrier connection did not select TLS is retried on its own connection as soon as some
    // request is known to select TLS, with that request.
    let mut set: JoinSet<(Option<usize>, JobResult)> = JoinSet::new();
    // The first job reuses the connection that proved the port open. In eager mode (one check,
    // where latency matters) the others start with it; otherwise (fleets) they wait for its X.224
    // answer, so a host that accepts and then stays silent holds one connection, not four.
    let spawn_rest = |set: &mut JoinSet<(Option<usize>, JobResult)>| {
        for (i, job) in JOBS.iter().enumerate().skip(1) {
            let h = host.clone();
            set.spawn(async move { (Some(i), run_job(&h, job, None).await) });
        }
    };
    {
        let h = host.clone();
        set.spawn(async move { (Some(0), run_job(&h, &JOBS[0], Some(stream)).await) });
    }
    let mut rest_started = options.eager;
    if options.eager {
        spawn_rest(&mut set);
    }
    let mut negotiation: Vec<(usize, NegotiationAttempt)> = Vec::new();
    let mut tls_attempts: Vec<TlsAttempt> = Vec::new();
    let mut chains: Vec<(TlsVersion, Vec<X509>)> = Vec::new();
    let mut carrier: Option<u32> = None;
    let mut waiting: Vec<TlsVersion> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let Ok((index, result)) = joined else {
            continue;
        };
        if carrier.is_none() && tls_based(&result.negotiation.outcome) {
            carrier = Some(result.negotiation.requested);
        }
        if let Some((attempt, chain)) = result.tls {
            if matches!(attempt.outcome, TlsOutcome::NegotiationFailed { .. }) && index.is_some() {
                waiting.push(attempt.version);
            } else {
                if !chain.is_empty() {
                    chains.push((attempt.version, chain));
                }
                tls_attempts.push(attempt);
            }
        }
        let primary = index == Some(0);
        let primary_answered = primary && answered(&result.negotiation.outcome);
        if let (Some(i), true) = (index, result.record) {
            negotiation.push((i, result.negotiation));
        }
        if primary && !primary_answered {
            // No RDP answer (silence, reset, close, another protocol): the other connections
            // would only repeat it, and a dead host must cost one deadline, not several.
            set.abort_all();
            continue;
        }
        if primary_answered && !rest_started {
            rest_started = true;
            spawn_rest(&mut set);
        }
        if let Some(requested) = carrier {
            for version in waiting.drain(..) {
                let h = host.clone();
                let job = Job {
                    requested,
                    tls: Some(version),
                    record: false,
                };
                set.spawn(async move { (None, run_job(&h, &job, None).await) });
            }
        }
    }
    negotiation.sort_by_key(|(i, _)| *i);
    let negotiation: Vec<NegotiationAttempt> = negotiation.into_iter().map(|(_, a)| a).collect();

    if carrier.is_some() {
        tls_attempts.sort_by_key(|a| a.version);
        // The certificate of the newest version that completed: what a modern client sees.
        chains.sort_by_key(|(v, _)| *v);
        let certificate = chains.last().and_then(|(_, chain)| {
            chain
                .first()
                .and_then(|leaf| certificate::describe(leaf, chain.len()).ok())
        });
        obs.tls = Some(TlsObservation {
            attempts: tls_attempts,
            certificate,
        });
    }
    obs.negotiation = negotiation;

    // Probes of later steps (NLA, Standard RDP Security) add their facts here, sharing the
    // host's connection budget.
    obs.rdp_security = crate::rdp_security::probe(&host, &obs.negotiation).await;
    // With --full the credentials are checked once, by the full connection, not twice.
    let logon_creds = options.credentials.as_deref().filter(|_| !options.full);
    (obs.nla, obs.logon) = crate::nla::run(&host, &obs.negotiation, logon_creds).await;
    if options.full {
        let (session, logon) = crate::full::run(
            &host,
            options.credentials.as_deref(),
            &options.trust,
            options.hold,
        )
        .await;
        obs.session = Some(session);
        if logon.is_some() {
            obs.logon = logon;
        }
    }

    let samples = host.samples();
    obs.tcp = Some(TcpObservation {
        attempts,
        address: Some(address),
        samples_ms: samples,
    });
    obs.duration_ms = Some(elapsed_ms(start));
    obs
}

/// Whether an X.224 Connection Confirm came back at all.
fn answered(outcome: &NegotiationOutcome) -> bool {
    matches!(
        outcome,
        NegotiationOutcome::Selected { .. }
            | NegotiationOutcome::Failure { .. }
            | NegotiationOutcome::NoNegotiationData
    )
}

/// Whether an answer selected a known protocol that starts with a TLS handshake (everything but
/// Standard RDP Security, MS-RDPBCGR 5.4.5). An unknown selectedProtocol is not treated as TLS:
/// a handshake on it would prove nothing about what the server meant.
fn tls_based(outcome: &NegotiationOutcome) -> bool {
    matches!(outcome, NegotiationOutcome::Selected { protocol: p, .. } if protocol::is_tls_based(*p))
}

/// One connection: connect (unless `open` is given), negotiate, and maybe a TLS handshake.
async fn run_job(host: &Host, job: &Job, open: Option<TcpStream>) -> JobResult {
    let t = Instant::now();
    let (_permit, mut stream) = match open {
        Some(s) => (host.permit().await, s),
        None => match host.open().await {
            Ok(pair) => pair,
            Err(outcome) => {
                let outcome = NegotiationOutcome::ConnectFailed { outcome };
                return without_tls(job, elapsed_ms(t), outcome);
            }
        },
    };
    let outcome = negotiate::negotiate(&mut stream, job.requested, host.timeout()).await;
    let Some(version) = job.tls.filter(|_| tls_based(&outcome)) else {
        return without_tls(job, elapsed_ms(t), outcome);
    };
    let negotiation = NegotiationAttempt {
        requested: job.requested,
        elapsed_ms: elapsed_ms(t),
        outcome,
    };
    let h = Instant::now();
    let hs = tls::handshake(stream, version, host.server_name.as_deref(), host.timeout()).await;
    let attempt = TlsAttempt {
        version,
        requested: job.requested,
        elapsed_ms: elapsed_ms(h),
        outcome: hs.outcome,
    };
    JobResult {
        negotiation,
        record: job.record,
        tls: Some((attempt, hs.chain)),
    }
}

/// A job that ended before any TLS handshake; its TLS version, if it carried one, is marked as
/// not reached so that another connection tries it.
fn without_tls(job: &Job, elapsed: f64, outcome: NegotiationOutcome) -> JobResult {
    JobResult {
        tls: job.tls.map(|version| {
            let attempt = TlsAttempt {
                version,
                requested: job.requested,
                elapsed_ms: 0.0,
                outcome: TlsOutcome::NegotiationFailed {
                    outcome: outcome.clone(),
                },
            };
            (attempt, Vec::new())
        }),
        negotiation: NegotiationAttempt {
            requested: job.requested,
            elapsed_ms: elapsed,
            outcome,
        },
        record: job.record,
    }
}
