//! The `check` probe sequence: the route reaches the server (DNS and the first address that
//! accepts, for the direct route), the negotiation connections run as `schedule.rs` plans them
//! (`job.rs` does each one's I/O), then the probes that build on their answers: Standard RDP
//! Security, NLA, `--full`, `--clients` and the path retries, at most `max_connections` open at
//! a time.

use crate::host::Host;
use crate::options::ProbeOptions;
use crate::route::{self, Dialed, Route};
use crate::schedule::{Gathered, Job, JobResult, Next, Probed};
use crate::{dns, elapsed_ms, path};
use rdpdoctor_observations::{
    Observations, PathObservation, RedirectLeg, RedirectTry, RedirectTryOutcome, RedirectionInfo,
    RouteObservation, Target, TcpObservation,
};
use rdpdoctor_wire::x224::RequestCookie;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// Probes `target` and returns every fact gathered; with `--full`, a Server Redirection PDU is
/// followed to the server it names (`redirect.rs`), once.
pub async fn check(target: Target, options: &ProbeOptions) -> Observations {
    let cookie = options
        .routing_token
        .clone()
        .map(RequestCookie::RoutingToken);
    let mut obs = leg(target.clone(), options, cookie).await;
    if let Some(r) = crate::redirect::redirection(&obs).filter(|_| options.full) {
        let withheld = credentials_withheld(&obs, options);
        obs.redirect = Some(follow(r, &target, options, withheld).await);
    }
    obs
}

/// The second leg after a Server Redirection PDU: each candidate of the plan in turn until one
/// accepts the connection, which is then checked like any server (with the routing token in its
/// X.224 requests), never redirected further.
async fn follow(
    r: &RedirectionInfo,
    first: &Target,
    options: &ProbeOptions,
    credentials_withheld: Option<String>,
) -> RedirectLeg {
    let mut leg_out = RedirectLeg {
        routing_token: None,
        port: first.port,
        order: String::new(),
        tried: Vec::new(),
        target: None,
        credentials_withheld: None,
        not_followed: None,
    };
    let plan = match crate::redirect::plan(r, first, options.use_redirection_server_name) {
        Ok(p) => p,
        Err(why) => {
            leg_out.not_followed = Some(why);
            return leg_out;
        }
    };
    leg_out.routing_token = plan.token.clone();
    leg_out.order = plan.order.clone();
    // The certificate remembered for the first target says nothing about the second.
    let mut second = options.clone();
    second.trust.remembered = None;
    second.routing_token = None;
    if credentials_withheld.is_some() {
        second.credentials = None;
        leg_out.credentials_withheld = credentials_withheld;
    }
    for (candidate, field) in plan.candidates {
        let Ok(target) = Target::parse(&candidate, first.port) else {
            leg_out.tried.push(RedirectTry {
                target: candidate,
                field: field.to_string(),
                outcome: RedirectTryOutcome::NotResolved {
                    reason: "not a host name or address".to_string(),
                },
            });
            continue;
        };
        let obs = leg(target, &second, plan.cookie.clone()).await;
        let outcome = crate::redirect::outcome(&obs);
        let reached = outcome == RedirectTryOutcome::Reached;
        leg_out.tried.push(RedirectTry {
            target: candidate,
            field: field.to_string(),
            outcome,
        });
        if reached {
            leg_out.target = Some(Box::new(obs));
            break;
        }
    }
    leg_out
}

/// Why the credentials must not follow a redirection (`None`: they may). The redirecting server
/// chooses the second leg's target, so the password (or the Kerberos pre-authentication for the
/// target's name) follows it only when that server proved who it is, or the user accepted
/// unproven servers with --trust-any-cert: otherwise whoever answered the first leg could send
/// them to a server of its choosing with a valid certificate for its own name.
fn credentials_withheld(first: &Observations, options: &ProbeOptions) -> Option<String> {
    use rdpdoctor_observations::IdentityProof;
    options.credentials.as_ref()?;
    if options.trust.any {
        return None;
    }
    let proof = first
        .session
        .as_ref()
        .and_then(|s| s.delegation.as_ref())
        .map(|d| &d.proof);
    match proof {
        Some(
            IdentityProof::PubKeyAuth
            | IdentityProof::TrustedCertificate
            | IdentityProof::PinnedCertificate,
        ) => None,
        Some(IdentityProof::Unproven { reason }) => Some(format!(
            "the server that redirected proved nothing ({reason}), so it chose where the \
             credentials would go"
        )),
        _ => Some(
            "the server that redirected proved nothing, so it chose where the credentials \
             would go"
                .to_string(),
        ),
    }
}

/// One leg: every probe of `target`, whose X.224 requests carry `cookie` (a broker's routing
/// token on a second leg) or else the tool's name.
pub(crate) async fn leg(
    target: Target,
    options: &ProbeOptions,
    cookie: Option<RequestCookie>,
) -> Observations {
    let start = Instant::now();
    let mut obs = Observations::new(Some(target.clone()));
    obs.started_at = Some(jiff::Timestamp::now());
    obs.timeout_secs = Some(options.timeout.as_secs_f64());
    if let Some(spec) = &options.gateway {
        through_gateway(spec, &target, options, cookie, start, &mut obs).await;
        obs.duration_ms = Some(elapsed_ms(start));
        return obs;
    }
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

    // --udp: the one SYN datagram goes out now, beside the TCP probes, once TCP answered (a
    // client tries UDP only beside a working TCP connection).
    let udp = options.udp.map(|u| {
        let server = crate::route::Route::server_address(&direct);
        crate::udp::spawn(server, u.port, first.elapsed_ms, options.timeout)
    });
    let host = over_route(
        Arc::new(direct),
        first,
        (&target, cookie),
        options,
        start,
        &mut obs,
        &mut path,
    )
    .await;
    if let Some(Ok((attempts, icmp))) = path::join(others).await {
        path.other_addresses = attempts;
        path.icmp.extend(icmp);
    }
    if let Some(task) = udp {
        obs.udp = task.await.ok();
    }
    obs.path = Some(path).filter(|p| !p.is_empty());
    obs.tcp = Some(TcpObservation {
        attempts,
        address: Some(host.address),
        samples_ms: host.samples(),
    });
    obs.duration_ms = Some(elapsed_ms(start));
    obs
}

/// Every probe through an RD Gateway: the first channel proves the gateway lets the client
/// through to the server (its set-up is the gateway leg, `obs.gateway`); a set-up that fails
/// ends the check there, with the gateway's step and code, before anything about the server.
async fn through_gateway(
    spec: &crate::GatewaySpec,
    target: &Target,
    options: &ProbeOptions,
    cookie: Option<RequestCookie>,
    start: Instant,
    obs: &mut Observations,
) {
    let route = crate::gateway::route::Gateway::new(spec.clone(), target.clone(), options.timeout);
    obs.route = Some(route.observation());
    let overall = options
        .deadline
        .map_or(options.timeout * 6, |d| d.saturating_sub(start.elapsed()));
    let first = match route.open(overall).await {
        Ok((first, leg)) => {
            obs.gateway = Some(leg);
            first
        }
        Err(leg) => {
            obs.gateway = Some(*leg);
            return;
        }
    };
    let mut path = PathObservation::default();
    over_route(
        Arc::new(route),
        first,
        (target, cookie),
        options,
        start,
        obs,
        &mut path,
    )
    .await;
}

/// Every probe, over `route`, which reached the server with its connection `first`; the route is
/// recorded, and the path facts it can measure (its own TCP connection) are gathered.
pub(crate) async fn over_route(
    route: Arc<dyn Route>,
    first: Dialed,
    (target, cookie): (&Target, Option<RequestCookie>),
    options: &ProbeOptions,
    start: Instant,
    obs: &mut Observations,
    path: &mut PathObservation,
) -> Arc<Host> {
    obs.route = Some(route.observation());
    let mut host = Host::new(
        route,
        target.ip().is_none().then(|| target.host.clone()),
        options,
        first.elapsed_ms,
    )
    .ending_at(options.deadline.map(|d| start + d));
    if let Some(cookie) = cookie {
        host.cookie = cookie;
    }
    let host = Arc::new(host);
    probe_host(&host, first, options, obs, path).await;
    // Retransmissions seen on too few segments for a rate: a few more, made to be counted.
    path::loss_sample(&host).await;
    path.tcp_info = host.tcp_info();
    host
}

/// Every probe of a host whose port is open, starting on the connection that proved it open.
async fn probe_host(
    host: &Arc<Host>,
    first: Dialed,
    options: &ProbeOptions,
    obs: &mut Observations,
    path: &mut PathObservation,
) {
    let probed = negotiation_phase(host, first, options.clients).await;
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
    trust.challenge = challenge.clone();
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

type Jobs = JoinSet<JobResult>;

/// The X.224 requests, the TLS versions and what rides on them, as `schedule.rs` plans them. The
/// primary request goes first (on the connection that proved the port open); its answer decides
/// which other requests are implied and which must be sent, and the remaining TLS versions ride
/// on further PRIMARY requests as soon as it selected TLS.
///
/// `clients`: the client matrix needs every TLS version's answer, so even over an expensive
/// route (a gateway) the version no request carries gets its connection.
async fn negotiation_phase(host: &Arc<Host>, first: Dialed, clients: bool) -> Probed {
    let nla_taken = Arc::new(AtomicBool::new(false));
    let spawn = |set: &mut Jobs, job: Job, first: Option<Dialed>| {
        let h = host.clone();
        let taken = nla_taken.clone();
        set.spawn(async move { crate::job::run_job(&h, job, first, &taken).await });
    };
    let mut cost = host.route.cost();
    cost.expensive &= !clients;
    let mut gathered = Gathered::new(cost);
    let mut set: Jobs = JoinSet::new();
    spawn(&mut set, Gathered::first(), Some(first));
    while let Some(joined) = set.join_next().await {
        let Ok(result) = joined else {
            continue;
        };
        match gathered.next(result) {
            Next::Spawn(jobs) => {
                for job in jobs {
                    spawn(&mut set, job, None);
                }
            }
            Next::Stop => break,
        }
    }
    gathered.finish()
}
