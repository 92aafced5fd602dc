//! NLA probes (MS-CSSP over TLS, MS-RDPBCGR 5.4.5.2): one connection that reads what the server
//! reveals without credentials, and, with `--user`, one that authenticates up to the server's
//! verdict on the credentials and stops before TSCredentials are delegated.
//!
//! CredSSP itself is `credssp/`: a machine without I/O over the security package the options
//! choose (`ProbeOptions::credssp`), driven here over the connection `open.rs` opened. This module
//! decides only what the probes need: which connection, which package, and when the last token
//! must be withheld (the signs of interception, `intercept.rs`).

use crate::credssp::machine::Machine;
use crate::credssp::negotiate;
use crate::credssp::package::{self, Package};
use crate::credssp::{self, Logon, Progress};
use crate::elapsed_ms;
use crate::host::{Host, Slot};
use crate::open::{Accept, Opening, Stream, Upgrade};
use crate::options::Credentials;
use crate::tls::{self, Tls};
use rdpdoctor_observations::{
    protocol, LogonObservation, LogonOutcome, NegotiationAttempt, NlaObservation, NlaOutcome,
    NlaPhase, OpenFailure, RouteFailure, TlsOutcome, Transport,
};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the NLA probes request: like mstsc, TLS, CredSSP and CredSSP with Early User
/// Authorization (MS-RDPBCGR 2.2.1.1.1).
const REQUESTED: u32 = protocol::MSTSC_DEFAULT;

/// A connection that got through X.224 and TLS, ready for CredSSP.
struct Open<'a> {
    _slot: Slot<'a>,
    tls: Tls,
    selected: u32,
    /// The subjectPublicKey of the server's certificate, for pubKeyAuth.
    public_key: Vec<u8>,
}

/// Opens a connection through X.224 and TLS; the error is why it did not get as far as CredSSP.
async fn open(host: &Host) -> Result<Open<'_>, Box<NlaOutcome>> {
    let opening = Opening::new(REQUESTED)
        .accepting(Accept::Credssp)
        .with_tls(Upgrade::channel());
    let ready = crate::open::open(host, opening)
        .await
        .ready()
        .map_err(|f| Box::new(unopened(f)))?;
    let no_tls = || {
        Box::new(NlaOutcome::Open(OpenFailure::Tls(TlsOutcome::Error {
            reason: "no TLS channel after the X.224 exchange".to_string(),
        })))
    };
    let (Stream::Tls(tls), Some(selected)) = (ready.stream, ready.selected) else {
        return Err(no_tls());
    };
    let Some(public_key) = tls::subject_public_key(&tls) else {
        return Err(Box::new(NlaOutcome::Open(OpenFailure::Tls(
            TlsOutcome::Error {
                reason: "the server's certificate carries no readable public key".to_string(),
            },
        ))));
    };
    Ok(Open {
        _slot: ready.slot,
        tls: *tls,
        selected,
        public_key,
    })
}

/// The NLA outcome of a connection that did not get as far as CredSSP. A TLS handshake that ran
/// out of time is recorded as the NLA exchange's own timeout in its TLS phase.
fn unopened(failure: OpenFailure) -> NlaOutcome {
    match failure {
        OpenFailure::Tls(TlsOutcome::Transport(Transport::TimedOut { bytes, .. })) => {
            NlaOutcome::Transport(Transport::TimedOut {
                phase: NlaPhase::TlsHandshake,
                bytes,
            })
        }
        other => NlaOutcome::Open(other),
    }
}

/// Reads what the server reveals without credentials, on a connection of its own.
pub(crate) async fn probe(host: &Host) -> NlaObservation {
    let t = Instant::now();
    let mut obs = NlaObservation {
        requested: REQUESTED,
        selected: None,
        ts_request_version: None,
        elapsed_ms: 0.0,
        outcome: NlaOutcome::Transport(Transport::closed(NlaPhase::Challenge, 0)),
    };
    obs.outcome = match open(host).await {
        Err(o) => *o,
        Ok(mut open) => {
            obs.selected = Some(open.selected);
            let outcome =
                credssp::challenge(&mut open.tls, host.timeout(), &mut obs.ts_request_version)
                    .await;
            tls::close(&mut open.tls).await;
            outcome
        }
    };
    obs.elapsed_ms = elapsed_ms(t);
    obs
}

/// The credential-less probe on a connection that already negotiated CredSSP (`selected`) for
/// `requested` and completed TLS: the negotiation probes carry it instead of opening a
/// connection of its own.
pub(crate) async fn challenge_on(
    tls: &mut Tls,
    host: &Host,
    requested: u32,
    selected: u32,
) -> NlaObservation {
    let t = Instant::now();
    let mut version = None;
    let outcome = credssp::challenge(tls, host.timeout(), &mut version).await;
    tls::close(tls).await;
    NlaObservation {
        requested,
        selected: Some(selected),
        ts_request_version: version,
        elapsed_ms: elapsed_ms(t),
        outcome,
    }
}

/// A logon's observation, before its outcome is known.
pub(crate) fn observation(host: &Host, creds: &Credentials) -> LogonObservation {
    LogonObservation {
        user: creds.user().to_string(),
        package: host.credssp.kind.name().to_string(),
        package_reason: Some(host.credssp.why.clone()),
        choice: None,
        kdc_exchanges: Vec::new(),
        delegated: false,
        ts_request_version: None,
        elapsed_ms: 0.0,
        outcome: LogonOutcome::Accepted,
    }
}

/// Authenticates `creds` up to the server's verdict on them, and stops before TSCredentials: the
/// password never reaches the server (only the package's proof of it does, as in any logon).
pub(crate) async fn logon(
    host: &Host,
    creds: &Credentials,
    trust: &crate::Trust,
) -> LogonObservation {
    let t = Instant::now();
    let mut obs = observation(host, creds);
    obs.outcome = match open(host).await {
        Err(o) => LogonOutcome::Failed {
            phase: phase_of(&o),
            reason: describe_failure(&o),
        },
        Ok(mut open) => {
            let mut progress = Progress::default();
            let outcome = authenticate(
                &mut open.tls,
                &open.public_key,
                host,
                creds,
                &mut progress,
                None,
                trust,
            )
            .await;
            obs.ts_request_version = progress.version;
            record_package(&mut obs, &mut progress);
            tls::close(&mut open.tls).await;
            outcome
        }
    };
    obs.elapsed_ms = elapsed_ms(t);
    obs
}

fn phase_of(o: &NlaOutcome) -> NlaPhase {
    match o {
        NlaOutcome::Open(OpenFailure::Route(_)) => NlaPhase::Connect,
        NlaOutcome::Open(OpenFailure::Negotiation(_)) => NlaPhase::X224,
        NlaOutcome::Open(OpenFailure::Tls(_)) => NlaPhase::TlsHandshake,
        NlaOutcome::Transport(t) => t.phase(),
        _ => NlaPhase::Challenge,
    }
}

fn describe_failure(o: &NlaOutcome) -> String {
    match o {
        NlaOutcome::Open(OpenFailure::Route(RouteFailure::ConnectFailed { outcome })) => {
            format!("no connection ({outcome:?})")
        }
        NlaOutcome::Open(OpenFailure::Route(r)) => format!("no connection ({r:?})"),
        NlaOutcome::Open(OpenFailure::Negotiation(outcome)) => {
            format!("the server did not select CredSSP ({outcome:?})")
        }
        NlaOutcome::Open(OpenFailure::Tls(outcome)) => {
            format!("TLS under CredSSP failed ({outcome:?})")
        }
        other => format!("{other:?}"),
    }
}

/// The CredSSP logon with the package the options chose, over the TLS channel whose server key
/// is `public_key`. With `delegate` (`check --full`, the protocol the server selected), the
/// TSCredentials with the password are sent after the server's proof; without it nothing is
/// delegated. `progress` records what happened on the way, whatever the outcome.
pub(crate) async fn authenticate(
    tls: &mut Tls,
    public_key: &[u8],
    host: &Host,
    creds: &Credentials,
    progress: &mut Progress,
    delegate: Option<u32>,
    trust: &crate::Trust,
) -> LogonOutcome {
    let failed = |reason: String| LogonOutcome::Failed {
        phase: NlaPhase::Challenge,
        reason,
    };
    let identity = match sspi::Username::parse(creds.user()) {
        Ok(username) => sspi::AuthIdentity {
            username,
            password: sspi::Secret::new(creds.password().to_owned()),
        },
        Err(e) => return failed(format!("user name not usable: {e}")),
    };
    let spn = format!(
        "TERMSRV/{}",
        host.server_name
            .clone()
            .unwrap_or_else(|| host.address.ip().to_string())
    );
    let budget =
        crate::kdc::Budget::new(host.timeout(), host.remaining().map(|r| Instant::now() + r));
    let start = negotiate::Start {
        choice: &host.credssp,
        server_name: host.server_name.as_deref(),
        address: host.address.ip(),
        user: creds.user(),
        challenge: trust.challenge.as_ref(),
        interception: &trust.signs,
        server_proven: trust
            .probed
            .as_ref()
            .is_some_and(|(_, i)| i.verified_for_target || i.matched_pin.is_some()),
        budget,
    };
    let decided = Arc::new(Mutex::new(None));
    let machine = match negotiate::package(&start, identity, spn, &decided)
        .await
        .and_then(|p| Machine::new(p, public_key.to_vec()))
    {
        Ok(m) => m,
        Err(e) => return failed(format!("CredSSP client: {e}")),
    };
    let mut kdc = package::kdc_client(&host.credssp, budget);
    let logon = Logon {
        machine,
        kdc: kdc.as_mut(),
        deadline: host.timeout(),
        delegate,
    };
    let leaf = tls.ssl().peer_certificate();
    let withhold =
        |package: &dyn Package, token: &[u8]| withhold(leaf.as_deref(), package, token, trust);
    let outcome = credssp::logon(tls, logon, &withhold, progress).await;
    progress.choice = decided.lock().ok().and_then(|d| d.clone());
    progress.kdc_exchanges = kdc.take_exchanges();
    outcome
}

/// Records in `obs` the package the logon used and why, and its KDC round trips.
pub(crate) fn record_package(obs: &mut LogonObservation, progress: &mut Progress) {
    if let Some(choice) = progress.choice.take() {
        obs.package = match choice.package {
            rdpdoctor_observations::Package::Ntlm => "NTLM",
            // Kerberos was used, or failed where Negotiate does not fall back.
            _ => "Kerberos",
        }
        .to_string();
        obs.package_reason = Some(choice.detail.clone());
        obs.choice = Some(choice);
    }
    obs.kdc_exchanges = std::mem::take(&mut progress.kdc_exchanges);
}

/// The signs that withhold the last token on this connection, if any: those gathered before it
/// (`trust.signs`) and its own (the certificate, the computer the server's token names). A
/// certificate matching `--cert-sha256` overrides them all.
fn withhold(
    leaf: Option<&openssl::x509::X509Ref>,
    package: &dyn Package,
    token: &[u8],
    trust: &crate::Trust,
) -> Option<Vec<String>> {
    if !package.answer_is_crackable()
        || leaf.is_some_and(|l| crate::intercept::pinned_match(l, trust))
    {
        return None;
    }
    let described = leaf.and_then(|l| crate::certificate::describe(l, 1).ok());
    let info = package.server_names(token);
    let mut signs = trust.signs.clone();
    for s in crate::intercept::signs_on_connection(described.as_ref(), info.as_ref(), trust) {
        if !signs.contains(&s) {
            signs.push(s);
        }
    }
    (!signs.is_empty()).then_some(signs)
}

/// Runs the NLA probes when some request selected CredSSP: the credential-less probe always, the
/// logon beside it when credentials were given. With credentials but no CredSSP, the logon
/// records why it could not run.
pub(crate) async fn run(
    host: &Host,
    negotiation: &[NegotiationAttempt],
    creds: Option<&Credentials>,
    carried: Option<NlaObservation>,
    trust: &crate::Trust,
) -> (Option<NlaObservation>, Option<LogonObservation>) {
    // The CHALLENGE already read on a negotiation connection needs no connection of its own.
    if let Some(n) = carried {
        let logon = match creds {
            Some(c) => Some(logon(host, c, trust).await),
            None => None,
        };
        return (Some(n), logon);
    }
    let offers = negotiation.iter().any(|a| a.outcome.selects_credssp());
    match (offers, creds) {
        (false, None) => (None, None),
        (false, Some(c)) => {
            let mut obs = observation(host, c);
            obs.outcome = LogonOutcome::Failed {
                phase: NlaPhase::X224,
                reason: "no X.224 request selected CredSSP (NLA), so the credentials cannot be checked without a full connection (--full)".to_string(),
            };
            (None, Some(obs))
        }
        (true, None) => (Some(probe(host).await), None),
        (true, Some(c)) => {
            let (n, l) = tokio::join!(probe(host), logon(host, c, trust));
            (Some(n), Some(l))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn is_send<T: Send>(_: &T) {}

    /// A host no test connects to (127.0.0.1:1), with the default options.
    fn unreachable_host() -> Host {
        let address = "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!());
        Host::new(
            std::sync::Arc::new(crate::route::direct::Direct::new(address, 1.0)),
            None,
            &crate::ProbeOptions::default(),
            1.0,
        )
    }

    #[test]
    fn probes_are_send_and_credentials_never_debug_print_the_password() {
        let c = Credentials::new("LAB\\u".into(), Zeroizing::new("s3cret-pw".into()));
        let text = format!("{c:?}");
        assert!(
            text.contains("LAB\\\\u") && !text.contains("s3cret"),
            "{text}"
        );
        let host = unreachable_host();
        is_send(&run(&host, &[], Some(&c), None, &crate::Trust::default()));
    }
}
