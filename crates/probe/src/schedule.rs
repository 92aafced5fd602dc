//! The plan of the negotiation connections, without I/O: which X.224 requests a check sends,
//! which TLS versions and Standard RDP Security offers ride on them, and, after each answer,
//! which connections still have to be opened. `check` runs the connections (`job.rs`) and feeds
//! each result to [`Gathered::next`]; the tests below feed it answers instead.
//!
//! Connections are what a check costs (xrdp forks per connection, freerdp-shadow accepts them one
//! after another), so every connection carries as much as it can: a TLS handshake when its
//! request selected TLS, a Standard RDP Security offer when it selected PROTOCOL_RDP, and
//! requests whose answer follows from answers already received are recorded as implied rather
//! than sent (`plan.rs`). Every lab server is checked with at most six connections. Over an
//! expensive route ([`Cost::expensive`]: one HTTP logon per connection) the TLS version no
//! request carries gets no connection of its own.

use crate::certificate;
use crate::plan::{self, PRIMARY};
use crate::route::Cost;
use openssl::x509::X509;
use rdpdoctor_observations::{
    encryption, protocol, NegotiationAttempt, NegotiationOutcome, NlaObservation,
    RdpSecurityAttempt, TlsAttempt, TlsObservation, TlsOutcome, TlsVersion,
};

/// One connection: an X.224 request, then, by what the server selected, a TLS handshake pinned to
/// `tls` (with the NTLM CHALLENGE on it when CredSSP was selected and nobody read it yet), or an
/// MCS Connect Initial offering `mcs` (Standard RDP Security).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    /// Position in the recorded negotiation list (`None`: an extra TLS-version connection whose
    /// request is already recorded).
    pub(crate) index: Option<usize>,
    pub(crate) requested: u32,
    pub(crate) tls: Option<TlsVersion>,
    pub(crate) mcs: Option<u32>,
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

/// What one connection found.
pub(crate) struct JobResult {
    pub(crate) job: Job,
    pub(crate) negotiation: NegotiationAttempt,
    /// The TLS attempt its version got, with the server's chain when it completed.
    pub(crate) tls: Option<(TlsAttempt, Vec<X509>)>,
    pub(crate) rdp_security: Option<RdpSecurityAttempt>,
    pub(crate) nla: Option<NlaObservation>,
}

/// What to do after a connection's result.
#[derive(Debug)]
pub(crate) enum Next {
    /// Open these connections (none: wait for the ones still running).
    Spawn(Vec<Job>),
    /// Open nothing more.
    Stop,
}

/// What the negotiation connections found.
pub(crate) struct Probed {
    pub(crate) negotiation: Vec<NegotiationAttempt>,
    /// The first request that selected TLS (the one retries repeat).
    pub(crate) carrier: Option<u32>,
    pub(crate) tls: Option<TlsObservation>,
    pub(crate) rdp_security: Vec<RdpSecurityAttempt>,
    pub(crate) nla: Option<NlaObservation>,
    /// The chain (leaf first) whose leaf is `tls.certificate`.
    pub(crate) chain: Option<Vec<X509>>,
}

/// What the negotiation connections gathered so far, and what still waits.
pub(crate) struct Gathered {
    /// Whether connections over this route are expensive: then no connection is opened for the
    /// TLS version no request carries.
    expensive: bool,
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
    /// The plan for a route whose connections cost `cost`.
    pub(crate) fn new(cost: Cost) -> Gathered {
        Gathered {
            expensive: cost.expensive,
            recorded: Vec::new(),
            tls_attempts: Vec::new(),
            chains: Vec::new(),
            rdp_security: Vec::new(),
            nla: None,
            carrier: None,
            waiting: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// The first connection: the primary request.
    pub(crate) fn first() -> Job {
        request_job(0)
    }

    /// Records what one connection found and says what to do next: the connections its answer
    /// makes necessary, or stop, when the primary request got no RDP answer at all (silence, a
    /// reset, a close, another protocol): the other requests would only repeat it, and a dead
    /// host must cost one deadline, not several.
    pub(crate) fn next(&mut self, result: JobResult) -> Next {
        let index = result.job.index;
        let outcome = self.record(result);
        let mut next = Vec::new();
        if index == Some(0) {
            if !answered(&outcome) {
                return Next::Stop;
            }
            next.extend(self.after_primary(&outcome));
        }
        next.extend(self.settle_deferred());
        next.extend(self.carried_versions());
        Next::Spawn(next)
    }

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
        if !self.expensive {
            self.waiting.push(EXTRA_TLS);
        }
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

    /// Everything gathered, in the order it is recorded.
    pub(crate) fn finish(mut self) -> Probed {
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

/// A job that ended before any TLS handshake; its TLS version, if it carried one, is marked as
/// not reached so that another connection tries it.
pub(crate) fn without_tls(job: Job, elapsed: f64, outcome: NegotiationOutcome) -> JobResult {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::{NegFailureCode, RdpSecurityOutcome, Transport};

    fn selected(p: u32) -> NegotiationOutcome {
        NegotiationOutcome::Selected {
            protocol: p,
            flags: 0,
        }
    }

    fn failure(code: NegFailureCode) -> NegotiationOutcome {
        NegotiationOutcome::Failure { code }
    }

    /// A scripted server: the answer to each request, and which TLS versions complete.
    struct Server {
        answer: fn(u32) -> NegotiationOutcome,
        versions: &'static [TlsVersion],
    }

    /// What `job.rs` would record for `job` against `server`.
    fn connect(server: &Server, job: Job) -> JobResult {
        let outcome = (server.answer)(job.requested);
        let Some(version) = job.tls.filter(|_| outcome.selects_tls()) else {
            let mut r = without_tls(job, 1.0, outcome.clone());
            if job.mcs.is_some() && outcome.selected() == Some(protocol::RDP) {
                r.rdp_security = Some(RdpSecurityAttempt {
                    offered: job.mcs.unwrap_or_default(),
                    elapsed_ms: 1.0,
                    outcome: RdpSecurityOutcome::McsRefused { result: 14 },
                });
            }
            return r;
        };
        let tls = if server.versions.contains(&version) {
            TlsOutcome::Completed {
                cipher: "AES".into(),
            }
        } else {
            TlsOutcome::AlertReceived { alert: 70 }
        };
        JobResult {
            job,
            negotiation: NegotiationAttempt {
                requested: job.requested,
                elapsed_ms: 1.0,
                outcome,
                implied_by: None,
            },
            tls: Some((
                TlsAttempt {
                    version,
                    requested: job.requested,
                    elapsed_ms: 1.0,
                    outcome: tls,
                },
                Vec::new(),
            )),
            rdp_security: None,
            nla: None,
        }
    }

    /// Runs the plan against `server` as `check` does, one connection at a time; returns what
    /// was gathered and every connection opened.
    fn run(server: &Server, cost: Cost) -> (Probed, Vec<Job>) {
        let mut plan = Gathered::new(cost);
        let mut queue = vec![Gathered::first()];
        let mut opened = Vec::new();
        while let Some(job) = queue.pop() {
            opened.push(job);
            match plan.next(connect(server, job)) {
                Next::Spawn(jobs) => queue.extend(jobs),
                Next::Stop => break,
            }
        }
        (plan.finish(), opened)
    }

    fn requests(p: &Probed) -> Vec<(u32, Option<u32>)> {
        p.negotiation
            .iter()
            .map(|a| (a.requested, a.implied_by))
            .collect()
    }

    fn versions(p: &Probed) -> Vec<(TlsVersion, bool)> {
        p.tls
            .iter()
            .flat_map(|t| &t.attempts)
            .map(|a| (a.version, matches!(a.outcome, TlsOutcome::Completed { .. })))
            .collect()
    }

    const SH: u32 = protocol::SSL | protocol::HYBRID;

    /// xrdp with security_layer=negotiate: TLS without NLA. What follows from the primary answer
    /// is not asked; the three versions no answered request carried ride on the primary request.
    #[test]
    fn a_tls_server_costs_six_connections() {
        let server = Server {
            answer: |r| match r {
                protocol::RDP => selected(protocol::RDP),
                protocol::RDSTLS => failure(NegFailureCode::SslRequiredByServer),
                _ => selected(protocol::SSL),
            },
            versions: &[TlsVersion::Tls12, TlsVersion::Tls13],
        };
        let (p, opened) = run(&server, Cost::CHEAP);
        assert_eq!(opened.len(), 6, "{opened:?}");
        assert_eq!(
            requests(&p),
            [
                (PRIMARY, None),
                (SH, Some(PRIMARY)),
                (protocol::SSL, Some(PRIMARY)),
                (protocol::RDP, None),
                (protocol::RDSTLS, None),
            ]
        );
        assert_eq!(
            versions(&p),
            [
                (TlsVersion::Tls10, false),
                (TlsVersion::Tls11, false),
                (TlsVersion::Tls12, true),
                (TlsVersion::Tls13, true),
            ]
        );
        assert_eq!(p.carrier, Some(PRIMARY));
        // The Standard RDP Security offer rode on the request that selected it.
        assert_eq!(p.rdp_security.len(), 1);
    }

    /// freerdp-shadow with NLA required: Standard RDP Security and RDSTLS wait for the answer to
    /// TLS alone, whose HYBRID_REQUIRED_BY_SERVER implies theirs; TLS 1.1, whose request was
    /// refused, moves to the primary request.
    #[test]
    fn an_nla_server_costs_five_connections() {
        let server = Server {
            answer: |r| {
                if protocol::offers_nla(r) {
                    selected(protocol::HYBRID)
                } else {
                    failure(NegFailureCode::HybridRequiredByServer)
                }
            },
            versions: &[TlsVersion::Tls12],
        };
        let (p, opened) = run(&server, Cost::CHEAP);
        assert_eq!(opened.len(), 5, "{opened:?}");
        assert_eq!(
            requests(&p),
            [
                (PRIMARY, None),
                (SH, Some(PRIMARY)),
                (protocol::SSL, None),
                (protocol::RDP, Some(protocol::SSL)),
                (protocol::RDSTLS, Some(protocol::SSL)),
            ]
        );
        // Every version once, each on a request that selected TLS.
        assert_eq!(
            versions(&p),
            [
                (TlsVersion::Tls10, false),
                (TlsVersion::Tls11, false),
                (TlsVersion::Tls12, true),
                (TlsVersion::Tls13, false),
            ]
        );
        let tls = p
            .tls
            .as_ref()
            .map(|t| t.attempts.as_slice())
            .unwrap_or_default();
        assert!(tls.iter().all(|a| a.requested == PRIMARY), "{tls:?}");
    }

    /// A server that allows only Standard RDP Security answers 2 to every TLS request: one more
    /// connection, for the request that gets Standard RDP Security, and no TLS at all.
    #[test]
    fn a_standard_rdp_security_server_costs_two_connections() {
        let server = Server {
            answer: |r| match r {
                protocol::RDP => selected(protocol::RDP),
                _ => failure(NegFailureCode::SslNotAllowedByServer),
            },
            versions: &[],
        };
        let (p, opened) = run(&server, Cost::CHEAP);
        assert_eq!(opened.len(), 2, "{opened:?}");
        assert_eq!(
            requests(&p),
            [
                (PRIMARY, None),
                (SH, Some(PRIMARY)),
                (protocol::SSL, Some(PRIMARY)),
                (protocol::RDP, None),
                (protocol::RDSTLS, Some(PRIMARY)),
            ]
        );
        assert!(p.tls.is_none());
        assert_eq!(p.rdp_security.len(), 1);
    }

    /// No RDP answer to the primary request: nothing more is opened.
    #[test]
    fn a_dead_server_costs_one_connection() {
        for answer in [
            (|_| NegotiationOutcome::Transport(Transport::Reset { at: (), bytes: 0 }))
                as fn(u32) -> NegotiationOutcome,
            |_| NegotiationOutcome::NotRdp {
                bytes: 4,
                excerpt_hex: "5353482d".into(),
                excerpt_text: Some("SSH-".into()),
            },
        ] {
            let server = Server {
                answer,
                versions: &[],
            };
            let (p, opened) = run(&server, Cost::CHEAP);
            assert_eq!(opened.len(), 1);
            assert_eq!(requests(&p), [(PRIMARY, None)]);
            assert!(p.tls.is_none());
        }
    }

    /// Over an expensive route the version no request carries (TLS 1.0) gets no connection.
    #[test]
    fn an_expensive_route_opens_no_extra_version_connection() {
        let server = Server {
            answer: |_| selected(protocol::SSL),
            versions: &[TlsVersion::Tls12],
        };
        let expensive = Cost {
            max_open: Some(2),
            expensive: true,
        };
        let (p, opened) = run(&server, expensive);
        assert_eq!(opened.len(), 5, "{opened:?}");
        assert!(!versions(&p).iter().any(|(v, _)| *v == TlsVersion::Tls10));
        let (cheap, _) = run(&server, Cost::CHEAP);
        assert!(versions(&cheap)
            .iter()
            .any(|(v, _)| *v == TlsVersion::Tls10));
    }
}
