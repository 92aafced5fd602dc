//! The `check` probe sequence: DNS, TCP, X.224 negotiation for every protocol set, and one TLS
//! handshake per version wherever negotiation selects a TLS-based protocol.
//!
//! Connections are the expensive part (xrdp forks for each, freerdp-shadow accepts them one
//! after another), so every connection carries as much as it can: a TLS handshake (and the NTLM
//! CHALLENGE) when its request selected TLS, a Standard RDP Security offer when it selected
//! PROTOCOL_RDP, and requests whose answer follows from answers already received are not sent at
//! all (plan.rs). Every lab server is checked with at most six connections, at most
//! `max_connections` open at a time.

use crate::host::Host;
use crate::options::ProbeOptions;
use crate::plan::{self, PRIMARY};
use crate::{certificate, dns, elapsed_ms, negotiate, path, tcp_info, tls};
use openssl::x509::X509;
use rdpdoctor_observations::{
    encryption, protocol, ConnectOutcome, NegotiationAttempt, NegotiationOutcome, NlaObservation,
    Observations, PathObservation, RdpSecurityAttempt, RouteFailure, Target, TcpAttempt,
    TcpObservation, TlsAttempt, TlsObservation, TlsOutcome, TlsVersion,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// One connection: an X.224 request, then, by what the server selected, a TLS handshake pinned to
/// `tls` (with the NTLM CHALLENGE on it when CredSSP was selected and nobody read it yet), or an
/// MCS Connect Initial offering `mcs` (Standard RDP Security).
#[derive(Clone, Copy)]
struct Job {
    /// Position in the recorded negotiation list (`None`: an extra TLS-version connection whose
    /// request is already recorded).
    index: Option<usize>,
    requested: u32,
    tls: Option<TlsVersion>,
    mcs: Option<u32>,
}

/// The requests every check asks about, in the order they are recorded: what mstsc sends, TLS or
/// CredSSP (nmap and older clients), TLS only, Standard RDP Security only, RDSTLS. Each carries
/// one TLS version and one Standard RDP Security offer, used if its answer allows.
const REQUESTS: [(u32, Option<TlsVersion>, u32); 5] = [
    (PRIMARY, Some(TlsVersion::Tls13), encryption::BIT_40),
    (
        protocol::SSL | protocol::HYBRID,
        Some(TlsVersion::Tls12),
        encryption::BIT_56,
    ),
    (protocol::SSL, Some(TlsVersion::Tls11), encryption::BIT_128),
    (protocol::RDP, None, encryption::ALL),
    (protocol::RDSTLS, None, encryption::FIPS),
];

/// The TLS version no request carries.
const EXTRA_TLS: TlsVersion = TlsVersion::Tls10;

fn request_job(i: usize) -> Job {
    let (requested, tls, mcs) = REQUESTS.get(i).copied().unwrap_or((PRIMARY, None, 0));
    Job {
        index: Some(i),
        requested,
        tls,
        mcs: Some(mcs),
    }
}

struct JobResult {
    job: Job,
    negotiation: NegotiationAttempt,
    tls: Option<(TlsAttempt, Vec<X509>)>,
    rdp_security: Option<RdpSecurityAttempt>,
    nla: Option<NlaObservation>,
}

/// Probes `target` and returns every fact gathered.
pub async fn check(target: Target, options: &ProbeOptions) -> Observations {
    let start = Instant::now();
    let mut obs = Observations::new(Some(target.clone()));
    obs.started_at = Some(jiff::Timestamp::now());
    obs.timeout_secs = Some(options.timeout.as_secs_f64());

    let dns = dns::resolve(&target, options.timeout).await;
    let addresses = dns.outcome.addresses().to_vec();
    let mut path = PathObservation::default();
    if addresses.is_empty() && target.ip().is_none() {
        // Which resolver failed and how: silence (dns-timeout) or an answer (dns-failure).
        path.resolvers = crate::resolver::probe(&target.host, options.timeout).await;
    }
    obs.dns = Some(dns);

    let (attempts, first) = connect_first(&addresses, target.port, options, &mut path).await;
    // The addresses a client picking another one would meet: one connect each, beside the rest.
    let others = path::try_others(
        addresses
            .iter()
            .skip(attempts.len())
            .map(|ip| SocketAddr::new(*ip, target.port))
            .collect(),
        options.timeout,
        options.global.clone(),
    );
    let Some((address, stream, connect_ms)) = first else {
        obs.path = Some(path).filter(|p| !p.is_empty());
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

    probe_host(&host, stream, options, &mut obs, &mut path).await;

    if let Some(Ok((attempts, icmp))) = path::join(others).await {
        path.other_addresses = attempts;
        path.icmp.extend(icmp);
    }
    // Retransmissions seen on too few segments for a rate: a few more, made to be counted.
    path::loss_sample(&host).await;
    path.tcp_info = host.tcp_info();
    obs.path = Some(path).filter(|p| !p.is_empty());
    let samples = host.samples();
    obs.tcp = Some(TcpObservation {
        attempts,
        address: Some(address),
        samples_ms: samples,
    });
    obs.duration_ms = Some(elapsed_ms(start));
    obs
}

/// Like a client: tries each address in turn until one accepts. Only then do the other
/// connections start, so a closed or filtered port costs one deadline, not several.
async fn connect_first(
    addresses: &[std::net::IpAddr],
    port: u16,
    options: &ProbeOptions,
    path: &mut PathObservation,
) -> (Vec<TcpAttempt>, Option<(SocketAddr, TcpStream, f64)>) {
    let mut attempts: Vec<TcpAttempt> = Vec::new();
    let mut first = None;
    let global_slot = match &options.global {
        Some(g) => g.clone().acquire_owned().await.ok(),
        None => None,
    };
    for ip in addresses {
        let address = SocketAddr::new(*ip, port);
        let (attempt, stream, icmp) = path::connect(address, options.timeout, None).await;
        path.icmp.extend(icmp);
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
    (attempts, first)
}

/// Every probe of a host whose port is open, starting on the connection that proved it open.
async fn probe_host(
    host: &Arc<Host>,
    stream: TcpStream,
    options: &ProbeOptions,
    obs: &mut Observations,
    path: &mut PathObservation,
) {
    let probed = negotiation_phase(host, stream).await;
    obs.negotiation = probed.negotiation;
    if let Some(tls) = probed.tls {
        if let Some(requested) = probed.carrier {
            // Retries (split ClientHello, no SNI, small MSS) only when the handshakes failed.
            path::after_tls(host, requested, &tls.attempts, path).await;
        }
        obs.tls = Some(tls);
    }

    // Standard RDP Security: the offers the negotiation connections did not carry, on
    // connections of their own, only where they decide findings.
    obs.rdp_security =
        crate::rdp_security::complete(host, &obs.negotiation, probed.rdp_security).await;
    // With --full the credentials are checked once, by the full connection, not twice.
    let logon_creds = options.credentials.as_deref().filter(|_| !options.full);
    // What the answers so far say about who terminates the connection: the logon withholds the
    // NTLM AUTHENTICATE when anything does.
    let mut trust = options.trust.clone();
    if let (Some(tls), Some(chain)) = (obs.tls.as_mut(), probed.chain.as_deref()) {
        // What the chain proves (verified for the typed name, a pin, the expected terminator):
        // recorded, and known to the logon connection when it sees the same leaf.
        let identity = trust.identify(chain, host.server_name.as_deref(), host.address.ip());
        if let Some(c) = &tls.certificate {
            trust.probed = Some((c.sha256_hex.clone(), identity.clone()));
        }
        tls.identity = Some(identity);
    }
    let challenge = probed.nla.as_ref().and_then(|n| match &n.outcome {
        rdpdoctor_observations::NlaOutcome::Challenge { info } => Some(info.clone()),
        _ => None,
    });
    trust.signs = crate::intercept::signs_before_logon(
        &obs.negotiation,
        obs.tls.as_ref().and_then(|t| t.certificate.as_ref()),
        challenge.as_ref(),
        &trust,
    );
    (obs.nla, obs.logon) =
        crate::nla::run(host, &obs.negotiation, logon_creds, probed.nla, &trust).await;
    if options.full {
        let (session, logon) =
            crate::full::run(host, options.credentials.as_deref(), &trust, options.hold).await;
        obs.session = Some(session);
        if logon.is_some() {
            obs.logon = logon;
        }
    }

    if options.clients {
        obs.ciphers = Some(crate::ciphers::scan(host, obs.tls.as_ref()).await);
    }
}

/// What the negotiation connections found.
struct Probed {
    negotiation: Vec<NegotiationAttempt>,
    /// The first request that selected TLS (the one retries repeat).
    carrier: Option<u32>,
    tls: Option<TlsObservation>,
    rdp_security: Vec<RdpSecurityAttempt>,
    nla: Option<NlaObservation>,
    /// The chain (leaf first) whose leaf is `tls.certificate`.
    chain: Option<Vec<X509>>,
}

type Jobs = JoinSet<JobResult>;

/// The X.224 requests, the TLS versions and what rides on them. The primary request goes first
/// (on the connection that proved the port open); its answer decides which other requests are
/// implied (plan.rs) and which must be sent, and the remaining TLS versions ride on further
/// PRIMARY requests as soon as it selected TLS.
async fn negotiation_phase(host: &Arc<Host>, stream: TcpStream) -> Probed {
    let nla_taken = Arc::new(AtomicBool::new(false));
    let spawn = |set: &mut Jobs, job: Job, open: Option<TcpStream>| {
        let h = host.clone();
        let taken = nla_taken.clone();
        set.spawn(async move { run_job(&h, job, open, &taken).await });
    };
    let mut gathered = Gathered::default();
    let mut set: Jobs = JoinSet::new();
    spawn(&mut set, request_job(0), Some(stream));

    while let Some(joined) = set.join_next().await {
        let Ok(result) = joined else {
            continue;
        };
        let index = result.job.index;
        let outcome = gathered.record(result);
        let mut next = Vec::new();
        if index == Some(0) {
            if !answered(&outcome) {
                // No RDP answer (silence, reset, close, another protocol): the other requests
                // would only repeat it, and a dead host must cost one deadline, not several.
                break;
            }
            next.extend(gathered.after_primary(&outcome));
        }
        next.extend(gathered.settle_deferred());
        next.extend(gathered.carried_versions());
        for job in next {
            spawn(&mut set, job, None);
        }
    }
    gathered.finish()
}

/// What the negotiation connections gathered so far, and what still waits.
#[derive(Default)]
struct Gathered {
    recorded: Vec<(usize, NegotiationAttempt)>,
    tls_attempts: Vec<TlsAttempt>,
    chains: Vec<(TlsVersion, Vec<X509>)>,
    rdp_security: Vec<RdpSecurityAttempt>,
    nla: Option<NlaObservation>,
    /// The first request that selected TLS: a TLS version whose carrier did not select TLS
    /// waits for it.
    carrier: Option<u32>,
    waiting: Vec<TlsVersion>,
    /// Requests held back until the answer of the one they may follow from is known.
    deferred: Vec<usize>,
}

impl Gathered {
    /// Records what one connection found; returns its negotiation outcome.
    fn record(&mut self, result: JobResult) -> NegotiationOutcome {
        let outcome = result.negotiation.outcome.clone();
        let index = result.job.index;
        if self.carrier.is_none() && tls_based(&outcome) {
            self.carrier = Some(result.negotiation.requested);
        }
        if let Some((attempt, chain)) = result.tls {
            // A request job's TLS version that its answer did not carry moves to the carrier
            // request, once; a version already on the carrier is recorded as it ended (never
            // retried again, or a host past its deadline would be dialled forever).
            if matches!(attempt.outcome, TlsOutcome::NegotiationFailed { .. }) && index.is_some() {
                self.waiting.push(attempt.version);
            } else {
                if !chain.is_empty() {
                    self.chains.push((attempt.version, chain));
                }
                self.tls_attempts.push(attempt);
            }
        }
        self.rdp_security.extend(result.rdp_security);
        if self.nla.is_none() {
            self.nla = result.nla;
        }
        if let Some(i) = index {
            self.recorded.push((i, result.negotiation));
        }
        outcome
    }

    /// The requests to send once the primary request was answered with `outcome`: those its
    /// answer does not imply, except the ones that wait for the answer to TLS alone.
    fn after_primary(&mut self, outcome: &NegotiationOutcome) -> Vec<Job> {
        let selects_credssp = outcome.selects_credssp();
        let mut send = Vec::new();
        for i in 1..REQUESTS.len() {
            let job = request_job(i);
            if let Some(implied) = plan::implied(PRIMARY, outcome, job.requested) {
                self.recorded
                    .push((i, implied_attempt(job.requested, PRIMARY, implied)));
                self.waiting.extend(job.tls);
                continue;
            }
            // Against a CredSSP server, Standard RDP Security and RDSTLS wait for the answer to
            // TLS alone: HYBRID_REQUIRED_BY_SERVER there implies theirs.
            if selects_credssp && job.requested & protocol::SSL == 0 {
                self.deferred.push(i);
                continue;
            }
            send.push(job);
        }
        self.waiting.push(EXTRA_TLS);
        send
    }

    /// Once the answer to TLS alone is known, the deferred requests it does not imply.
    fn settle_deferred(&mut self) -> Vec<Job> {
        if self.deferred.is_empty() {
            return Vec::new();
        }
        let Some((_, ssl)) = self.recorded.iter().find(|(i, _)| *i == 2).cloned() else {
            return Vec::new();
        };
        let mut send = Vec::new();
        for i in std::mem::take(&mut self.deferred) {
            let job = request_job(i);
            match plan::implied(ssl.requested, &ssl.outcome, job.requested) {
                Some(implied) => self
                    .recorded
                    .push((i, implied_attempt(job.requested, ssl.requested, implied))),
                None => send.push(job),
            }
        }
        send
    }

    /// Once a request selected TLS, a connection for every TLS version waiting for a carrier.
    fn carried_versions(&mut self) -> Vec<Job> {
        let Some(requested) = self.carrier else {
            return Vec::new();
        };
        self.waiting
            .drain(..)
            .map(|version| Job {
                index: None,
                requested,
                tls: Some(version),
                mcs: None,
            })
            .collect()
    }

    fn finish(mut self) -> Probed {
        self.recorded.sort_by_key(|(i, _)| *i);
        self.recorded.dedup_by_key(|(i, _)| *i);
        let negotiation: Vec<NegotiationAttempt> =
            self.recorded.into_iter().map(|(_, a)| a).collect();
        let (mut attempts, mut chains) = (self.tls_attempts, self.chains);
        let tls = self.carrier.map(|_| {
            attempts.sort_by_key(|a| a.version);
            // The certificate of the newest version that completed: what a modern client sees.
            chains.sort_by_key(|(v, _)| *v);
            let certificate = chains.last().and_then(|(_, chain)| {
                chain
                    .first()
                    .and_then(|leaf| certificate::describe(leaf, chain.len()).ok())
            });
            TlsObservation {
                attempts,
                certificate,
                identity: None,
            }
        });
        let chain = tls
            .as_ref()
            .and_then(|t| t.certificate.as_ref())
            .and(chains.pop().map(|(_, chain)| chain));
        Probed {
            negotiation,
            carrier: self.carrier,
            tls,
            rdp_security: self.rdp_security,
            nla: self.nla,
            chain,
        }
    }
}

fn implied_attempt(requested: u32, by: u32, outcome: NegotiationOutcome) -> NegotiationAttempt {
    NegotiationAttempt {
        requested,
        elapsed_ms: 0.0,
        outcome,
        implied_by: Some(by),
    }
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
    outcome.selects_tls()
}

/// Whether an answer lets the connection go on with Standard RDP Security.
fn standard_rdp(outcome: &NegotiationOutcome) -> bool {
    matches!(
        outcome,
        NegotiationOutcome::Selected {
            protocol: protocol::RDP,
            ..
        } | NegotiationOutcome::NoNegotiationData
    )
}

/// One connection: connect (unless `open` is given), negotiate, then TLS (and maybe the NTLM
/// CHALLENGE) or an MCS offer, by what the server selected.
async fn run_job(
    host: &Host,
    job: Job,
    open: Option<TcpStream>,
    nla_taken: &AtomicBool,
) -> JobResult {
    let t = Instant::now();
    let (_permit, mut stream) = match open {
        Some(s) => (host.permit().await, s),
        None => match host.open().await {
            Ok(pair) => pair,
            Err(outcome) => {
                let outcome = NegotiationOutcome::Route(RouteFailure::ConnectFailed { outcome });
                return without_tls(job, elapsed_ms(t), outcome);
            }
        },
    };
    // Keeps the socket until its TCP statistics are read, at the end of this connection. Taken
    // before the first byte: once the server (or a proxy in front of it) has reset the
    // connection, the socket no longer knows its peer address and the sample would be lost.
    let mut sampler = tcp_info::Sampler::new(&stream);
    let outcome = negotiate::negotiate(&mut stream, job.requested, host.timeout()).await;
    let negotiation_ms = elapsed_ms(t);
    if let Some(s) = sampler.as_mut() {
        s.checkpoint();
    }
    let sample =
        |s: Option<tcp_info::Sampler>| host.note_tcp_info(s.and_then(tcp_info::Sampler::sample));
    if let (Some(offered), true) = (job.mcs, standard_rdp(&outcome)) {
        let m = Instant::now();
        let answer =
            crate::rdp_security::mcs_exchange(&mut stream, offered, job.requested, host.timeout())
                .await;
        sample(sampler);
        let mut result = without_tls(job, negotiation_ms, outcome);
        result.rdp_security = Some(RdpSecurityAttempt {
            offered,
            elapsed_ms: elapsed_ms(m),
            outcome: answer,
        });
        return result;
    }
    let Some(version) = job.tls.filter(|_| tls_based(&outcome)) else {
        sample(sampler);
        return without_tls(job, negotiation_ms, outcome);
    };
    let selected = match outcome {
        NegotiationOutcome::Selected { protocol: p, .. } => p,
        _ => protocol::RDP,
    };
    let negotiation = NegotiationAttempt {
        requested: job.requested,
        elapsed_ms: negotiation_ms,
        outcome,
        implied_by: None,
    };
    // The NTLM CHALLENGE rides on the first CredSSP connection whose handshake completes.
    let wants_nla = protocol::is_credssp(selected) && !nla_taken.load(Ordering::SeqCst);
    let h = Instant::now();
    let mut hs = tls::handshake(
        stream,
        version,
        host.server_name.as_deref(),
        host.timeout(),
        wants_nla,
    )
    .await;
    sample(sampler);
    let attempt = TlsAttempt {
        version,
        requested: job.requested,
        elapsed_ms: elapsed_ms(h),
        outcome: hs.outcome,
    };
    let mut nla = None;
    if let Some(mut tls) = hs.stream.take() {
        if !nla_taken.swap(true, Ordering::SeqCst) {
            nla = Some(crate::nla::challenge_on(&mut tls, host, job.requested, selected).await);
        }
    }
    JobResult {
        job,
        negotiation,
        tls: Some((attempt, hs.chain)),
        rdp_security: None,
        nla,
    }
}

/// A job that ended before any TLS handshake; its TLS version, if it carried one, is marked as
/// not reached so that another connection tries it.
fn without_tls(job: Job, elapsed: f64, outcome: NegotiationOutcome) -> JobResult {
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
            implied_by: None,
        },
        job,
        rdp_security: None,
        nla: None,
    }
}
