//! NLA probes (MS-CSSP over TLS, MS-RDPBCGR 5.4.5.2): one connection that reads the server's
//! NTLM CHALLENGE without credentials, and, with `--user`, one that authenticates up to the
//! server's verdict on the credentials and stops before TSCredentials are delegated.
//!
//! The CredSSP exchange runs on `sspi`'s `CredSspClient` in Restricted Admin mode
//! (`CredSspMode::CredentialLess`): even the TSCredentials it prepares after the server's verdict
//! carry no password, and this probe never sends them. Kerberos is not attempted: it needs a KDC
//! client (`sspi`'s `network_client` feature, reqwest + rustls) and the server's SPN; NTLM is what
//! mstsc falls back to and what every server answers.

use crate::framed::{FrameError, FrameReader, Framing};
use crate::host::{Host, Slot};
use crate::negotiate;
use crate::options::Credentials;
use crate::tls::{self, Tls};
use crate::{elapsed_ms, excerpt_hex};
use rdpdoctor_observations::{
    protocol, LogonObservation, LogonOutcome, NegotiationOutcome, NlaObservation, NlaOutcome,
    NlaPhase, NtlmInfo, OsVersion, TlsOutcome, Transport,
};
use rdpdoctor_wire::credssp::{self, TsRequest};
use rdpdoctor_wire::ntlm;
use sspi::credssp::{ClientMode, ClientState, CredSspClient, CredSspMode};
use sspi::ntlm::NtlmConfig;
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let fail = |o| Err(Box::new(o));
    let (slot, mut stream) = match host.open().await {
        Ok(pair) => pair,
        Err(outcome) => return fail(NlaOutcome::ConnectFailed { outcome }),
    };
    let outcome = negotiate::negotiate(&mut stream, REQUESTED, host.timeout()).await;
    let selected = match outcome {
        NegotiationOutcome::Selected { protocol: p, .. } if protocol::is_credssp(p) => p,
        other => return fail(NlaOutcome::NotSelected { outcome: other }),
    };
    let tls = match tls::upgrade(stream, host.server_name.as_deref(), host.timeout()).await {
        Ok(tls) => tls,
        Err(TlsOutcome::Transport(Transport::TimedOut { bytes, .. })) => {
            return fail(NlaOutcome::Transport(Transport::TimedOut {
                phase: NlaPhase::TlsHandshake,
                bytes,
            }))
        }
        Err(outcome) => return fail(NlaOutcome::TlsFailed { outcome }),
    };
    let Some(public_key) = tls::subject_public_key(&tls) else {
        return fail(NlaOutcome::TlsFailed {
            outcome: TlsOutcome::Error {
                reason: "the server's certificate carries no readable public key".to_string(),
            },
        });
    };
    Ok(Open {
        _slot: slot,
        tls,
        selected,
        public_key,
    })
}

/// How a CredSSP exchange failed on the wire.
enum ReadFailure {
    Closed { bytes: usize, reset: bool },
    TimedOut { bytes: usize },
    Malformed { reason: String, excerpt_hex: String },
}

impl From<FrameError> for ReadFailure {
    /// Over TLS, a read error other than a reset is the TLS layer seeing the connection end.
    fn from(e: FrameError) -> ReadFailure {
        let bytes = e.seen().len();
        match e {
            FrameError::Closed { .. } | FrameError::Io { .. } => ReadFailure::Closed {
                bytes,
                reset: false,
            },
            FrameError::Reset { .. } => ReadFailure::Closed { bytes, reset: true },
            FrameError::TimedOut { .. } => ReadFailure::TimedOut { bytes },
            FrameError::NotFramed { seen, .. }
            | FrameError::BadLength { seen, .. }
            | FrameError::TooLarge { seen, .. } => ReadFailure::Malformed {
                reason: "the server answered with bytes that are not a TSRequest".to_string(),
                excerpt_hex: excerpt_hex(&seen, 48),
            },
        }
    }
}

async fn send(tls: &mut Tls, bytes: &[u8], deadline: Duration) -> Result<(), ReadFailure> {
    match tokio::time::timeout(deadline, tls.write_all(bytes)).await {
        Err(_) => Err(ReadFailure::TimedOut { bytes: 0 }),
        Ok(Err(e)) => Err(ReadFailure::Closed {
            bytes: 0,
            reset: e.kind() == ErrorKind::ConnectionReset,
        }),
        Ok(Ok(())) => Ok(()),
    }
}

/// Reads exactly one TSRequest, bounded by its DER length (at most 64 KiB) and `deadline`.
async fn read_ts_request(tls: &mut Tls, deadline: Duration) -> Result<TsRequest, ReadFailure> {
    let bytes = FrameReader::exact(Framing::TsRequest)
        .read(tls, deadline)
        .await?;
    credssp::decode(&bytes).map_err(|e| ReadFailure::Malformed {
        reason: e.to_string(),
        excerpt_hex: excerpt_hex(&bytes, 48),
    })
}

fn read_failure(phase: NlaPhase, f: ReadFailure) -> NlaOutcome {
    match f {
        ReadFailure::Closed { bytes, reset: true } => {
            NlaOutcome::Transport(Transport::reset(phase, bytes))
        }
        ReadFailure::Closed { bytes, .. } => NlaOutcome::Transport(Transport::closed(phase, bytes)),
        ReadFailure::TimedOut { bytes } => {
            NlaOutcome::Transport(Transport::TimedOut { phase, bytes })
        }
        ReadFailure::Malformed {
            reason,
            excerpt_hex,
        } => NlaOutcome::Malformed {
            reason,
            excerpt_hex,
        },
    }
}

/// Reads the server's NTLM CHALLENGE without credentials: NEGOTIATE out, CHALLENGE in, close.
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
                challenge(&mut open.tls, host.timeout(), &mut obs.ts_request_version).await;
            let _ = tokio::time::timeout(Duration::from_millis(50), open.tls.shutdown()).await;
            outcome
        }
    };
    obs.elapsed_ms = elapsed_ms(t);
    obs
}

/// The CHALLENGE probe on a connection that already negotiated CredSSP (`selected`) for
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
    let outcome = challenge(tls, host.timeout(), &mut version).await;
    let _ = tokio::time::timeout(Duration::from_millis(50), tls.shutdown()).await;
    NlaObservation {
        requested,
        selected: Some(selected),
        ts_request_version: version,
        elapsed_ms: elapsed_ms(t),
        outcome,
    }
}

async fn challenge(tls: &mut Tls, deadline: Duration, version: &mut Option<u32>) -> NlaOutcome {
    let request = match credssp::encode_nego_token(&ntlm::negotiate_message()) {
        Ok(r) => r,
        Err(e) => {
            return NlaOutcome::Malformed {
                reason: e.to_string(),
                excerpt_hex: String::new(),
            }
        }
    };
    if let Err(f) = send(tls, &request, deadline).await {
        return read_failure(NlaPhase::Challenge, f);
    }
    let reply = match read_ts_request(tls, deadline).await {
        Ok(r) => r,
        Err(f) => return read_failure(NlaPhase::Challenge, f),
    };
    *version = Some(reply.version);
    let received_at = jiff::Timestamp::now();
    if let Some(code) = reply.error_code.filter(|c| c.0 != 0) {
        return NlaOutcome::ErrorCode { code: code.0 };
    }
    let token = reply.nego_tokens.unwrap_or_default();
    match ntlm::parse_challenge(&token) {
        Ok(c) => NlaOutcome::Challenge {
            info: NtlmInfo {
                target_name: c.target_name,
                netbios_computer: c.netbios_computer,
                netbios_domain: c.netbios_domain,
                dns_computer: c.dns_computer,
                dns_domain: c.dns_domain,
                dns_tree: c.dns_tree,
                os_version: c.version.map(|v| OsVersion {
                    major: v.major,
                    minor: v.minor,
                    build: v.build,
                }),
                server_time: c.timestamp.and_then(|ft| {
                    let (secs, nanos) = ntlm::filetime_to_unix(ft);
                    jiff::Timestamp::new(secs, nanos).ok()
                }),
                received_at,
                flags: c.flags,
            },
        },
        Err(e) => NlaOutcome::Malformed {
            reason: e.to_string(),
            excerpt_hex: excerpt_hex(&token, 48),
        },
    }
}

/// Authenticates `creds` with CredSSP/NTLM up to the server's verdict on them, and stops before
/// TSCredentials: the password never reaches the server (only an NTLMv2 response computed from
/// it does, as in any NTLM logon).
pub(crate) async fn logon(
    host: &Host,
    creds: &Credentials,
    trust: &crate::Trust,
) -> LogonObservation {
    let t = Instant::now();
    let mut obs = LogonObservation {
        user: creds.user().to_string(),
        package: "NTLM".to_string(),
        delegated: false,
        ts_request_version: None,
        elapsed_ms: 0.0,
        outcome: LogonOutcome::Accepted,
    };
    obs.outcome = match open(host).await {
        Err(o) => LogonOutcome::Failed {
            phase: phase_of(&o),
            reason: describe_failure(&o),
        },
        Ok(mut open) => {
            let outcome = authenticate(
                &mut open.tls,
                &open.public_key,
                host,
                creds,
                &mut obs.ts_request_version,
                None,
                trust,
            )
            .await;
            let _ = tokio::time::timeout(Duration::from_millis(50), open.tls.shutdown()).await;
            outcome
        }
    };
    obs.elapsed_ms = elapsed_ms(t);
    obs
}

fn phase_of(o: &NlaOutcome) -> NlaPhase {
    match o {
        NlaOutcome::ConnectFailed { .. } => NlaPhase::Connect,
        NlaOutcome::NotSelected { .. } => NlaPhase::X224,
        NlaOutcome::TlsFailed { .. } => NlaPhase::TlsHandshake,
        NlaOutcome::Transport(t) => t.phase(),
        _ => NlaPhase::Challenge,
    }
}

fn describe_failure(o: &NlaOutcome) -> String {
    match o {
        NlaOutcome::ConnectFailed { outcome } => format!("no connection ({outcome:?})"),
        NlaOutcome::NotSelected { outcome } => {
            format!("the server did not select CredSSP ({outcome:?})")
        }
        NlaOutcome::TlsFailed { outcome } => format!("TLS under CredSSP failed ({outcome:?})"),
        other => format!("{other:?}"),
    }
}

/// The CredSSP logon. With `delegate` (`check --full`, the protocol the server selected), the
/// TSCredentials with the password are sent after the server's verdict, and with HYBRID_EX its
/// Early User Authorization Result is read; without it nothing is delegated.
pub(crate) async fn authenticate(
    tls: &mut Tls,
    public_key: &[u8],
    host: &Host,
    creds: &Credentials,
    version: &mut Option<u32>,
    delegate: Option<u32>,
    trust: &crate::Trust,
) -> LogonOutcome {
    let failed = |phase, reason: String| LogonOutcome::Failed { phase, reason };
    let mut client = match credssp_client(public_key, host, creds, delegate.is_some()) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    // NEGOTIATE
    let first = match client.process(TsRequest::default()).resolve_to_result() {
        Ok(ClientState::ReplyNeeded(r)) => r,
        Ok(ClientState::FinalMessage(_)) => {
            return failed(NlaPhase::Challenge, "CredSSP ended early".to_string())
        }
        Err(e) => return failed(NlaPhase::Challenge, format!("NTLM NEGOTIATE: {e}")),
    };
    if let Err(f) = exchange_send(tls, &first, host.timeout()).await {
        return logon_read_failure(NlaPhase::Challenge, f);
    }
    // CHALLENGE
    let challenge = match read_ts_request(tls, host.timeout()).await {
        Ok(r) => r,
        Err(f) => return logon_read_failure(NlaPhase::Challenge, f),
    };
    *version = Some(challenge.version);
    if let Some(code) = challenge.error_code.filter(|c| c.0 != 0) {
        return LogonOutcome::ErrorCode { code: code.0 };
    }
    // The AUTHENTICATE carries an NTLMv2 response, a crackable hash of the password: it goes out
    // only when nothing so far says the far end may not be the server.
    if let Some(signs) = withhold(tls, &challenge, trust) {
        return LogonOutcome::Withheld { signs };
    }
    let credentials = match verdict(tls, &mut client, challenge, host.timeout()).await {
        Ok(credentials) => credentials,
        Err(outcome) => return outcome,
    };
    let Some(selected) = delegate else {
        return LogonOutcome::Accepted;
    };
    if let Err(f) = exchange_send(tls, &credentials, host.timeout()).await {
        return logon_read_failure(NlaPhase::Authenticate, f);
    }
    drop(credentials);
    if selected & protocol::HYBRID_EX == 0 {
        return LogonOutcome::Accepted;
    }
    early_user_authorization(tls, host.timeout()).await
}

/// `sspi`'s CredSSP client for `creds` over the TLS key `public_key`: Restricted Admin mode
/// (nothing to delegate) unless `delegating`.
fn credssp_client(
    public_key: &[u8],
    host: &Host,
    creds: &Credentials,
    delegating: bool,
) -> Result<CredSspClient, LogonOutcome> {
    let failed = |reason: String| LogonOutcome::Failed {
        phase: NlaPhase::Challenge,
        reason,
    };
    let username = sspi::Username::parse(creds.user())
        .map_err(|e| failed(format!("user name not usable: {e}")))?;
    let identity = sspi::AuthIdentity {
        username,
        password: sspi::Secret::new(creds.password().to_owned()),
    };
    let spn = format!(
        "TERMSRV/{}",
        host.server_name
            .clone()
            .unwrap_or_else(|| host.address.ip().to_string())
    );
    let mode = if delegating {
        CredSspMode::WithCredentials
    } else {
        CredSspMode::CredentialLess
    };
    CredSspClient::new(
        public_key.to_vec(),
        sspi::Credentials::AuthIdentity(identity),
        mode,
        ClientMode::Ntlm(NtlmConfig::default()),
        spn,
    )
    .map_err(|e| failed(format!("CredSSP client: {e}")))
}

/// The AUTHENTICATE with pubKeyAuth, and the server's verdict on it. On success, the
/// TSCredentials `sspi` prepared once the server's pubKeyAuth verified (empty in Restricted
/// Admin mode); the caller sends them only when delegating.
async fn verdict(
    tls: &mut Tls,
    client: &mut CredSspClient,
    challenge: TsRequest,
    deadline: Duration,
) -> Result<TsRequest, LogonOutcome> {
    let failed = |reason: String| LogonOutcome::Failed {
        phase: NlaPhase::Authenticate,
        reason,
    };
    let authenticate = match client.process(challenge).resolve_to_result() {
        Ok(ClientState::ReplyNeeded(r)) => r,
        Ok(ClientState::FinalMessage(_)) => return Err(failed("CredSSP ended early".to_string())),
        Err(e) => return Err(failed(format!("NTLM AUTHENTICATE: {e}"))),
    };
    if let Err(f) = exchange_send(tls, &authenticate, deadline).await {
        return Err(logon_read_failure(NlaPhase::Authenticate, f));
    }
    drop(authenticate);
    let verdict = match read_ts_request(tls, deadline).await {
        Ok(r) => r,
        Err(ReadFailure::Closed { reset, .. }) => {
            return Err(LogonOutcome::ClosedAfterAuthenticate { reset })
        }
        Err(f) => return Err(logon_read_failure(NlaPhase::Authenticate, f)),
    };
    if let Some(code) = verdict.error_code.filter(|c| c.0 != 0) {
        return Err(LogonOutcome::ErrorCode { code: code.0 });
    }
    if verdict.pub_key_auth.is_none() {
        return Err(failed(
            "the server answered the AUTHENTICATE without pubKeyAuth or errorCode".to_string(),
        ));
    }
    match client.process(verdict).resolve_to_result() {
        Ok(ClientState::FinalMessage(r)) | Ok(ClientState::ReplyNeeded(r)) => Ok(r),
        Err(e) => Err(LogonOutcome::PubKeyAuthMismatch {
            reason: e.to_string(),
        }),
    }
}

/// The Early User Authorization Result (MS-RDPBCGR 2.2.10.2) a HYBRID_EX server sends after the
/// TSCredentials: 4 bytes, before anything else.
async fn early_user_authorization(tls: &mut Tls, deadline: Duration) -> LogonOutcome {
    let mut result = [0u8; credssp::EARLY_USER_AUTH_LEN];
    match tokio::time::timeout(deadline, tls.read_exact(&mut result)).await {
        Err(_) => LogonOutcome::TimedOut {
            phase: NlaPhase::EarlyUserAuthorization,
            bytes: 0,
        },
        Ok(Err(e)) => LogonOutcome::Failed {
            phase: NlaPhase::EarlyUserAuthorization,
            reason: format!("the server closed the connection instead: {e}"),
        },
        Ok(Ok(_)) => match credssp::decode_early_user_auth(&result) {
            Some(credssp::AUTHZ_SUCCESS) => LogonOutcome::Accepted,
            Some(code) => LogonOutcome::EarlyUserAuthorization { result: code },
            None => LogonOutcome::Failed {
                phase: NlaPhase::EarlyUserAuthorization,
                reason: "unreadable Early User Authorization Result".to_string(),
            },
        },
    }
}

/// The signs that withhold the AUTHENTICATE on this connection, if any: those gathered before
/// it (`trust.signs`) and its own (certificate, CHALLENGE names). A certificate matching
/// `--cert-sha256` overrides them all.
fn withhold(tls: &Tls, challenge: &TsRequest, trust: &crate::Trust) -> Option<Vec<String>> {
    let leaf = tls.ssl().peer_certificate();
    if leaf
        .as_ref()
        .is_some_and(|l| crate::intercept::pinned_match(l, trust))
    {
        return None;
    }
    let described = leaf
        .as_ref()
        .and_then(|l| crate::certificate::describe(l, 1).ok());
    let info = challenge
        .nego_tokens
        .as_deref()
        .and_then(|t| ntlm::parse_challenge(t).ok())
        .map(|c| NtlmInfo {
            netbios_computer: c.netbios_computer,
            dns_computer: c.dns_computer,
            ..NtlmInfo::default()
        });
    let mut signs = trust.signs.clone();
    for s in crate::intercept::signs_on_connection(described.as_ref(), info.as_ref(), trust) {
        if !signs.contains(&s) {
            signs.push(s);
        }
    }
    (!signs.is_empty()).then_some(signs)
}

async fn exchange_send(
    tls: &mut Tls,
    request: &TsRequest,
    deadline: Duration,
) -> Result<(), ReadFailure> {
    let bytes = credssp::encode(request).map_err(|e| ReadFailure::Malformed {
        reason: e.to_string(),
        excerpt_hex: String::new(),
    })?;
    send(tls, &bytes, deadline).await
}

fn logon_read_failure(phase: NlaPhase, f: ReadFailure) -> LogonOutcome {
    match f {
        ReadFailure::Closed { bytes, reset } => LogonOutcome::Failed {
            phase,
            reason: format!(
                "the server {} the connection after {bytes} bytes",
                if reset { "reset" } else { "closed" }
            ),
        },
        ReadFailure::TimedOut { bytes } => LogonOutcome::TimedOut { phase, bytes },
        ReadFailure::Malformed {
            reason,
            excerpt_hex,
        } => LogonOutcome::Failed {
            phase,
            reason: format!("{reason} ({excerpt_hex})"),
        },
    }
}

/// Runs the NLA probes when some request selected CredSSP: the CHALLENGE probe always, the logon
/// beside it when credentials were given. With credentials but no CredSSP, the logon records why
/// it could not run.
pub(crate) async fn run(
    host: &Host,
    negotiation: &[rdpdoctor_observations::NegotiationAttempt],
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
        (false, Some(c)) => (
            None,
            Some(LogonObservation {
                user: c.user().to_string(),
                package: "NTLM".to_string(),
                delegated: false,
                ts_request_version: None,
                elapsed_ms: 0.0,
                outcome: LogonOutcome::Failed {
                    phase: NlaPhase::X224,
                    reason: "no X.224 request selected CredSSP (NLA), so the credentials cannot be checked without a full connection (--full)".to_string(),
                },
            }),
        ),
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

    #[test]
    fn a_failed_ts_request_read_maps_as_before() {
        let closed = |f: ReadFailure| match f {
            ReadFailure::Closed { bytes, reset } => Some((bytes, reset)),
            _ => None,
        };
        let io = FrameError::Io {
            kind: ErrorKind::Other,
            seen: vec![0x30],
        };
        // Over TLS, an error other than a reset is the end of the connection, not a reset.
        assert_eq!(closed(io.into()), Some((1, false)));
        let reset = FrameError::Reset { seen: Vec::new() };
        assert_eq!(closed(reset.into()), Some((0, true)));
        let large = FrameError::TooLarge {
            announced: 70_000,
            max: 65_535,
            seen: vec![0x30, 0x83],
        };
        match ReadFailure::from(large) {
            ReadFailure::Malformed {
                reason,
                excerpt_hex,
            } => {
                assert_eq!(
                    reason,
                    "the server answered with bytes that are not a TSRequest"
                );
                assert_eq!(excerpt_hex, "3083");
            }
            _ => panic!("not malformed"),
        }
    }

    #[test]
    fn probes_are_send_and_credentials_never_debug_print_the_password() {
        let c = Credentials::new("LAB\\u".into(), Zeroizing::new("s3cret-pw".into()));
        let text = format!("{c:?}");
        assert!(
            text.contains("LAB\\\\u") && !text.contains("s3cret"),
            "{text}"
        );
        let options = crate::ProbeOptions::default();
        let host = Host::new(
            "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!()),
            None,
            &options,
            1.0,
        );
        is_send(&run(&host, &[], Some(&c), None, &crate::Trust::default()));
    }
}
