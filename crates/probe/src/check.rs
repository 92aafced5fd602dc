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
use crate::open::{open, Open, Opening, Stream, Upgrade};
use crate::options::ProbeOptions;
use crate::plan::{self, PRIMARY};
use crate::route::{self, ByteStream, Dialed, Route};
use crate::{certificate, dns, elapsed_ms, path, tcp_info};
use openssl::x509::X509;
use rdpdoctor_observations::{
    encryption, protocol, NegotiationAttempt, NegotiationOutcome, NlaObservation, Observations,
    PathObservation, RdpSecurityAttempt, RouteObservation, Target, TcpObservation, TlsAttempt,
    TlsObservation, TlsOutcome, TlsVersion,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
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
    // The direct route: TCP to the addresses the name resolves to.
    obs.route = Some(RouteObservation::Direct { address: None });

    let dns = dns::resolve(&target, options.timeout).await;
    let addresses = dns.outcome.addresses().to_vec();
    let mut path = PathObservation::default();
    if addresses.is_empty() && target.ip().is_none() {
        // Which resolver failed and how: silence (dns-timeout) or an answer (dns-failure).
        path.resolvers = crate::resolver::probe(&target.host, options.timeout).await;
    }
    obs.dns = Some(dns);

    let reach = route::direct::reach(&addresses, target.port, options).await;
    path.icmp.extend(reach.icmp);
    let attempts = reach.attempts;
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
    let Some((direct, first)) = reach.first else {
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

    let route: Arc<dyn Route> = Arc::new(direct);
    obs.route = Some(route.observation());
    let address = route.server_address();
    let host = Arc::new(
        Host::new(
            route,
            target.ip().is_none().then(|| target.host.clone()),
            options,
            first.elapsed_ms,
        )
        .ending_at(options.deadline.map(|d| start + d)),
    );

    probe_host(&host, first, options, &mut obs, &mut path).await;

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

/// Every probe of a host whose port is open, starting on the connection that proved it open.
async fn probe_host(
    host: &Arc<Host>,
    first: Dialed,
    options: &ProbeOptions,
    obs: &mut Observations,
    path: &mut PathObservation,
) {
    let probed = negotiation_phase(host, first).await;
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
async fn negotiation_phase(host: &Arc<Host>, first: Dialed) -> Probed {
    let nla_taken = Arc::new(AtomicBool::new(false));
    let spawn = |set: &mut Jobs, job: Job, first: Option<Dialed>| {
        let h = host.clone();
        let taken = nla_taken.clone();
        set.spawn(async move { run_job(&h, job, first, &taken).await });
    };
    let mut gathered = Gathered::default();
    let mut set: Jobs = JoinSet::new();
    spawn(&mut set, request_job(0), Some(first));

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

/// One connection: an X.224 request (on `first`, the connection that proved the port open, when
/// given), then TLS (and maybe the NTLM CHALLENGE) or an MCS offer, by what the server selected.
async fn run_job(
    host: &Host,
    job: Job,
    first: Option<Dialed>,
    nla_taken: &AtomicBool,
) -> JobResult {
    let t = Instant::now();
    let mut opening = Opening::new(job.requested).on(first);
    if let Some(version) = job.tls {
        opening = opening.with_tls(Upgrade::pinned(version));
    }
    let opened = open(host, opening).await;
    let answer = match &opened.reached {
        Ok(a) => a,
        Err(failure) => {
            let outcome = NegotiationOutcome::Route(failure.clone());
            return without_tls(job, elapsed_ms(t), outcome);
        }
    };
    let (outcome, negotiation_ms) = (answer.outcome.clone(), answer.elapsed_ms);
    let sample =
        |s: Option<tcp_info::Sampler>| host.note_tcp_info(s.and_then(tcp_info::Sampler::sample));
    // The slot is held until the connection ends, with the rest of it.
    let Open {
        slot: _slot,
        handshake,
        stream,
        sampler,
        ..
    } = opened;
    let stream = match (job.mcs, standard_rdp(&outcome), stream) {
        (Some(offered), true, Some(Stream::Plain(plain))) => {
            return standard_rdp_offer(
                host,
                job,
                (outcome, negotiation_ms),
                plain,
                offered,
                sampler,
            )
            .await
        }
        (_, _, stream) => stream,
    };
    let (Some(version), Some(hs)) = (job.tls, handshake) else {
        sample(sampler);
        return without_tls(job, negotiation_ms, outcome);
    };
    let selected = outcome.selected().unwrap_or(protocol::RDP);
    let negotiation = NegotiationAttempt {
        requested: job.requested,
        elapsed_ms: negotiation_ms,
        outcome,
        implied_by: None,
    };
    // The NTLM CHALLENGE rides on the first CredSSP connection whose handshake completes.
    let mut nla = None;
    let mut tls = match stream {
        Some(Stream::Tls(t)) => Some(t),
        _ => None,
    };
    let carries_nla =
        tls.is_some() && protocol::is_credssp(selected) && !nla_taken.swap(true, Ordering::SeqCst);
    if !carries_nla {
        if let Some(t) = tls.as_mut() {
            crate::tls::close(t).await;
        }
    }
    sample(sampler);
    if let (true, Some(t)) = (carries_nla, tls.as_mut()) {
        nla = Some(crate::nla::challenge_on(t, host, job.requested, selected).await);
    }
    let attempt = TlsAttempt {
        version,
        requested: job.requested,
        elapsed_ms: hs.elapsed_ms,
        outcome: hs.outcome,
    };
    JobResult {
        job,
        negotiation,
        tls: Some((attempt, hs.chain)),
        rdp_security: None,
        nla,
    }
}

/// A job whose answer allows Standard RDP Security: the MCS Connect Initial offering `offered`
/// on the same connection.
async fn standard_rdp_offer(
    host: &Host,
    job: Job,
    (outcome, negotiation_ms): (NegotiationOutcome, f64),
    mut plain: Box<dyn ByteStream>,
    offered: u32,
    sampler: Option<tcp_info::Sampler>,
) -> JobResult {
    let m = Instant::now();
    let answer =
        crate::rdp_security::mcs_exchange(&mut plain, offered, job.requested, host.timeout()).await;
    host.note_tcp_info(sampler.and_then(tcp_info::Sampler::sample));
    let mut result = without_tls(job, negotiation_ms, outcome);
    result.rdp_security = Some(RdpSecurityAttempt {
        offered,
        elapsed_ms: elapsed_ms(m),
        outcome: answer,
    });
    result
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
