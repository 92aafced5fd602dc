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
use crate::open::{Accept, Opening, Stream, Upgrade};
use crate::options::Credentials;
use crate::tls::{self, Tls};
use crate::{elapsed_ms, excerpt_hex};
use rdpdoctor_observations::{
    protocol, LogonObservation, LogonOutcome, NlaObservation, NlaOutcome, NlaPhase, NtlmInfo,
    OpenFailure, OsVersion, RouteFailure, TlsOutcome, Transport,
};
use rdpdoctor_wire::contain;
use rdpdoctor_wire::credssp::{self, AuthenticateAnswer, TsRequest};
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
    let opening = Opening::new(REQUESTED)
        .accepting(Accept::Credssp)
        .with_tls(Upgrade::channel());
    let ready = crate::open::open(host, opening)
        .await
        .ready()
        .map_err(|f| Box::new(unopened(f)))?;
    let (Stream::Tls(tls), Some(selected)) = (ready.stream, ready.selected) else {
        return Err(Box::new(NlaOutcome::Open(OpenFailure::Tls(
            TlsOutcome::Error {
                reason: "no TLS channel after the X.224 exchange".to_string(),
            },
        ))));
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
    if token.is_empty() {
        return NlaOutcome::Malformed {
            reason: NO_CHALLENGE.to_string(),
            excerpt_hex: String::new(),
        };
    }
    match ntlm::parse_challenge(&token) {
        Ok(ntlm::Challenge {
            target_info_error: Some(why),
            ..
        }) => NlaOutcome::Malformed {
            reason: format!("the NTLM CHALLENGE's TargetInfo does not decode: {why}"),
            excerpt_hex: excerpt_hex(&token, 48),
        },
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
            let _ = tokio::time::timeout(Duration::from_millis(50), open.tls.shutdown()).await;
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

/// The CredSSP logon. With `delegate` (`check --full`, the protocol the server selected), the
/// TSCredentials with the password are sent after the server's verdict, and with HYBRID_EX its
/// Early User Authorization Result is read; without it nothing is delegated. `progress` records
/// what happened on the way, whatever the outcome.
pub(crate) async fn authenticate(
    tls: &mut Tls,
    public_key: &[u8],
    host: &Host,
    creds: &Credentials,
    progress: &mut Progress,
    delegate: Option<u32>,
    trust: &crate::Trust,
) -> LogonOutcome {
    let mut client = match credssp_client(public_key, host, creds, delegate.is_some()) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    // NEGOTIATE
    // (No server input yet: an error here is this client's own.)
    let first = match sspi_step(&mut client, TsRequest::default()) {
        Ok(ClientState::ReplyNeeded(r)) => r,
        Ok(ClientState::FinalMessage(_)) => {
            return failed(NlaPhase::Challenge, "CredSSP ended early".to_string())
        }
        Err(SspiError::Refused(e)) => {
            return failed(NlaPhase::Challenge, format!("NTLM NEGOTIATE: {e}"))
        }
        Err(SspiError::Crashed(p)) => {
            return failed(NlaPhase::Challenge, format!("NTLM NEGOTIATE: {p}"))
        }
    };
    if let Err(f) = exchange_send(tls, &first, host.timeout()).await {
        return logon_read_failure(NlaPhase::Challenge, f);
    }
    // CHALLENGE
    let challenge = match read_ts_request(tls, host.timeout()).await {
        Ok(r) => r,
        Err(f) => return logon_read_failure(NlaPhase::Challenge, f),
    };
    progress.version = Some(challenge.version);
    if let Some(code) = challenge.error_code.filter(|c| c.0 != 0) {
        return LogonOutcome::ErrorCode { code: code.0 };
    }
    if let Some(outcome) = unreadable_challenge(&challenge) {
        return outcome;
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
    // Set before the write: a write that fails may still have sent part of them.
    progress.delegated = true;
    if let Err(f) = exchange_send(tls, &credentials, host.timeout()).await {
        return logon_read_failure(NlaPhase::EarlyUserAuthorization, f);
    }
    drop(credentials);
    if selected & protocol::HYBRID_EX == 0 {
        return LogonOutcome::Accepted;
    }
    early_user_authorization(tls, host.timeout()).await
}

/// What a CredSSP logon got to, whatever its outcome.
#[derive(Default)]
pub(crate) struct Progress {
    /// The version of the server's TSRequest with the CHALLENGE.
    pub(crate) version: Option<u32>,
    /// Whether the TSCredentials (the password, with `--full`) went out.
    pub(crate) delegated: bool,
}

fn failed(phase: NlaPhase, reason: String) -> LogonOutcome {
    LogonOutcome::Failed { phase, reason }
}

/// Why `sspi`'s CredSSP client did not take an input.
enum SspiError {
    /// It returned an error.
    Refused(String),
    /// It panicked (contained); the client must not be used again.
    Crashed(contain::Panicked),
}

/// One step of `sspi`'s CredSSP client on `input`, with a panic inside `sspi` contained
/// (`rdpdoctor_wire::contain`).
fn sspi_step(client: &mut CredSspClient, input: TsRequest) -> Result<ClientState, SspiError> {
    match contain::call("sspi CredSspClient::process", || {
        client.process(input).resolve_to_result()
    }) {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(e)) => Err(SspiError::Refused(e.to_string())),
        Err(panicked) => Err(SspiError::Crashed(panicked)),
    }
}

/// A server answer in `phase` that `sspi` could not process: malformed, whether it said so with
/// an error or a panic.
fn unprocessable(phase: NlaPhase, e: SspiError) -> LogonOutcome {
    let what = match phase {
        NlaPhase::Challenge => "the NTLM CHALLENGE",
        _ => "the answer to the NTLM AUTHENTICATE",
    };
    let reason = match e {
        SspiError::Refused(e) => format!("the CredSSP library (sspi) refused {what}: {e}"),
        SspiError::Crashed(p) => format!(
            "the CredSSP library crashed on {what} (contained; nothing was sent after it): {p}"
        ),
    };
    LogonOutcome::Malformed {
        phase,
        reason,
        excerpt_hex: String::new(),
    }
}

/// A CHALLENGE this probe cannot read is not handed to `sspi` (it would compute an NTLM
/// response against it): the answer is malformed (MS-NLMP 2.2.1.2).
fn unreadable_challenge(challenge: &TsRequest) -> Option<LogonOutcome> {
    let token = challenge.nego_tokens.as_deref().unwrap_or_default();
    if token.is_empty() {
        return Some(LogonOutcome::Malformed {
            phase: NlaPhase::Challenge,
            reason: NO_CHALLENGE.to_string(),
            excerpt_hex: String::new(),
        });
    }
    let reason = match ntlm::parse_challenge(token) {
        Err(e) => format!("the NTLM CHALLENGE does not decode: {e}"),
        Ok(ntlm::Challenge {
            target_info_error: Some(why),
            ..
        }) => format!("the NTLM CHALLENGE's TargetInfo does not decode: {why}"),
        Ok(_) => return None,
    };
    Some(LogonOutcome::Malformed {
        phase: NlaPhase::Challenge,
        reason,
        excerpt_hex: excerpt_hex(token, 48),
    })
}

/// A TSRequest in answer to the NTLM NEGOTIATE that carries neither a CHALLENGE nor an error.
const NO_CHALLENGE: &str =
    "the answer to the NTLM NEGOTIATE is a TSRequest with neither negoTokens (a CHALLENGE) nor an errorCode";

/// `sspi`'s CredSSP client for `creds` over the TLS key `public_key`: Restricted Admin mode
/// (nothing to delegate) unless `delegating`.
fn credssp_client(
    public_key: &[u8],
    host: &Host,
    creds: &Credentials,
    delegating: bool,
) -> Result<CredSspClient, LogonOutcome> {
    let failed = |reason: String| failed(NlaPhase::Challenge, reason);
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
    contain::call("sspi CredSspClient::new", || {
        CredSspClient::new(
            public_key.to_vec(),
            sspi::Credentials::AuthIdentity(identity),
            mode,
            ClientMode::Ntlm(NtlmConfig::default()),
            spn,
        )
    })
    .map_err(|p| failed(format!("CredSSP client: {p}")))?
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
    let authenticate = match sspi_step(client, challenge) {
        Ok(ClientState::ReplyNeeded(r)) => r,
        Ok(ClientState::FinalMessage(_)) => {
            return Err(failed(
                NlaPhase::Authenticate,
                "CredSSP ended early".to_string(),
            ))
        }
        Err(e) => return Err(unprocessable(NlaPhase::Challenge, e)),
    };
    if let Err(f) = exchange_send(tls, &authenticate, deadline).await {
        return Err(logon_read_failure(NlaPhase::Authenticate, f));
    }
    drop(authenticate);
    let answer = match read_ts_request(tls, deadline).await {
        Ok(r) => r,
        Err(ReadFailure::Closed { reset, .. }) => {
            return Err(LogonOutcome::ClosedAfterAuthenticate { reset })
        }
        Err(f) => return Err(logon_read_failure(NlaPhase::Authenticate, f)),
    };
    match credssp::classify_authenticate_answer(&answer) {
        AuthenticateAnswer::Refused(code) => return Err(LogonOutcome::ErrorCode { code }),
        AuthenticateAnswer::Missing(answer) => {
            return Err(LogonOutcome::PubKeyAuthMissing { answer })
        }
        AuthenticateAnswer::Unverifiable(reason) => {
            return Err(LogonOutcome::PubKeyAuthMismatch { reason })
        }
        AuthenticateAnswer::Proof => {}
    }
    match sspi_step(client, answer) {
        Ok(ClientState::FinalMessage(r)) | Ok(ClientState::ReplyNeeded(r)) => Ok(r),
        // `sspi` refuses a pubKeyAuth that does not verify with an error: the proof failed.
        Err(SspiError::Refused(reason)) => Err(LogonOutcome::PubKeyAuthMismatch { reason }),
        Err(e) => Err(unprocessable(NlaPhase::Authenticate, e)),
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
        } => LogonOutcome::Malformed {
            phase,
            reason,
            excerpt_hex,
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

    /// freerdp-shadow-cli 2.11's answer to the NEGOTIATE (lab server freerdp-nla): version 6,
    /// the CHALLENGE, a clientNonce field.
    const FREERDP_REPLY: &str = "30819fa003020106a17430723070a06e046c4e544c4d53535000020000000400040038000000b78288e248a3f83a2fb4ec080000000000000000300030003c0000000601b11d0000000f56004d000200040056004d000100040056004d000400040076006d000300040076006d000700080000eb6ae5d479dd0100000000a52204205c8d4ef81859ca777b74994ce23c8481f1bf35ca74f9153dd149956ce71285d4";

    /// sspi 0.23.0 panics in `CredSspClient::process` (src/credssp/mod.rs:1390,
    /// `CredSspContext::decrypt_message`: `split_at_mut(16)`, "mid > len") on a pubKeyAuth
    /// shorter than 16 bytes, once the CHALLENGE was processed. `sspi_step` turns the panic into
    /// an error (the probe never hands such a value to sspi: `classify_authenticate_answer`).
    /// When this test fails because sspi stopped panicking, the upstream bug is fixed.
    #[test]
    fn a_panic_in_sspi_on_a_short_pubkeyauth_is_contained() {
        let creds = Credentials::new("LAB\\u".into(), Zeroizing::new("pw".into()));
        let host = unreachable_host();
        for short in [0usize, 8, 15] {
            let mut client = credssp_client(&[0x30, 0x03, 0x02, 0x01, 0x05], &host, &creds, false)
                .unwrap_or_else(|_| panic!("client"));
            assert!(matches!(
                sspi_step(&mut client, TsRequest::default()),
                Ok(ClientState::ReplyNeeded(_))
            ));
            let challenge = credssp::decode(&hex::decode(FREERDP_REPLY).unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(
                sspi_step(&mut client, challenge),
                Ok(ClientState::ReplyNeeded(_))
            ));
            let answer = TsRequest {
                version: 6,
                pub_key_auth: Some(vec![0; short]),
                ..TsRequest::default()
            };
            match sspi_step(&mut client, answer) {
                Err(SspiError::Crashed(p)) => {
                    assert_eq!(p.call, "sspi CredSspClient::process");
                    assert!(p.message.contains("mid > len"), "{p}");
                    assert!(
                        p.place.as_deref().is_some_and(|w| w.contains("sspi-0.23")),
                        "{p}"
                    );
                }
                Err(SspiError::Refused(e)) => panic!("{short} bytes: refused, not a panic: {e}"),
                Ok(_) => panic!("{short} bytes accepted"),
            }
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
        let host = unreachable_host();
        is_send(&run(&host, &[], Some(&c), None, &crate::Trust::default()));
    }
}
