//! NLA probes (MS-CSSP over TLS, MS-RDPBCGR 5.4.5.2): one connection that reads the server's
//! NTLM CHALLENGE without credentials, and, with `--user`, one that authenticates up to the
//! server's verdict on the credentials and stops before TSCredentials are delegated.
//!
//! The CredSSP exchange runs on `sspi`'s `CredSspClient` in Restricted Admin mode
//! (`CredSspMode::CredentialLess`): even the TSCredentials it prepares after the server's verdict
//! carry no password, and this probe never sends them. Kerberos is not attempted: it needs a KDC
//! client (`sspi`'s `network_client` feature, reqwest + rustls) and the server's SPN; NTLM is what
//! mstsc falls back to and what every server answers.

use crate::host::{Host, Slot};
use crate::negotiate;
use crate::stream::Recording;
use crate::{elapsed_ms, excerpt_hex, tls};
use openssl::error::ErrorStack;
use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use rdpdoctor_observations::{
    protocol, LogonObservation, LogonOutcome, NegotiationOutcome, NlaObservation, NlaOutcome,
    NlaPhase, NtlmInfo, OsVersion, TlsOutcome,
};
use rdpdoctor_wire::credssp::{self, TsRequest};
use rdpdoctor_wire::ntlm;
use sspi::credssp::{ClientMode, ClientState, CredSspClient, CredSspMode};
use sspi::ntlm::NtlmConfig;
use std::fmt;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;
use zeroize::Zeroizing;

/// What the NLA probes request: like mstsc, TLS, CredSSP and CredSSP with Early User
/// Authorization (MS-RDPBCGR 2.2.1.1.1).
const REQUESTED: u32 = protocol::SSL | protocol::HYBRID | protocol::HYBRID_EX;

/// The account `check --user` logs on with. The password is zeroed when this is dropped and is
/// never printed: `Debug` shows the user only.
pub struct Credentials {
    user: String,
    password: Zeroizing<String>,
}

impl Credentials {
    /// `user` as `DOMAIN\user`, `user@domain` or `user`.
    pub fn new(user: String, password: Zeroizing<String>) -> Credentials {
        Credentials { user, password }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// For `check --full` only, which delegates it.
    pub(crate) fn password(&self) -> &str {
        self.password.as_str()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

pub(crate) type Tls = SslStream<Recording<TcpStream>>;

/// A connection that got through X.224 and TLS, ready for CredSSP.
struct Open<'a> {
    _slot: Slot<'a>,
    tls: Tls,
    selected: u32,
    /// The subjectPublicKey of the server's certificate, for pubKeyAuth.
    public_key: Vec<u8>,
}

/// Any TLS version from 1.0 to 1.3, at security level 0: CredSSP needs a channel, not a grade.
pub(crate) fn context() -> Result<&'static SslContext, ErrorStack> {
    static CONTEXT: OnceLock<Result<SslContext, ErrorStack>> = OnceLock::new();
    let built = CONTEXT.get_or_init(|| {
        let mut b = SslContext::builder(SslMethod::tls_client())?;
        b.set_verify(SslVerifyMode::NONE);
        b.set_security_level(0);
        b.set_cipher_list("ALL:@SECLEVEL=0")?;
        b.set_min_proto_version(Some(SslVersion::TLS1))?;
        b.set_max_proto_version(Some(SslVersion::TLS1_3))?;
        Ok(b.build())
    });
    built.as_ref().map_err(Clone::clone)
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
    let ssl = match context().and_then(|c| Ssl::new(c)) {
        Ok(s) => s,
        Err(e) => {
            return fail(NlaOutcome::TlsFailed {
                outcome: TlsOutcome::Error {
                    reason: e.to_string(),
                },
            })
        }
    };
    let mut ssl = ssl;
    if let Some(name) = &host.server_name {
        let _ = ssl.set_hostname(name);
    }
    let mut tls = match SslStream::new(ssl, Recording::new(stream)) {
        Ok(s) => s,
        Err(e) => {
            return fail(NlaOutcome::TlsFailed {
                outcome: TlsOutcome::Error {
                    reason: e.to_string(),
                },
            })
        }
    };
    match tokio::time::timeout(host.timeout(), Pin::new(&mut tls).connect()).await {
        Err(_) => {
            let bytes = tls.get_ref().received;
            return fail(NlaOutcome::TimedOut {
                phase: NlaPhase::TlsHandshake,
                bytes,
            });
        }
        Ok(Err(e)) => {
            let rec = tls.get_ref();
            let outcome = tls::classify(&e, rec.received, &rec.head);
            return fail(NlaOutcome::TlsFailed { outcome });
        }
        Ok(Ok(())) => {}
    }
    let spki = tls
        .ssl()
        .peer_certificate()
        .and_then(|c| c.public_key().ok())
        .and_then(|k| k.public_key_to_der().ok())
        .unwrap_or_default();
    let Some(public_key) = credssp::subject_public_key(&spki).map(<[u8]>::to_vec) else {
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

/// How reading one TSRequest failed.
enum ReadFailure {
    Closed { bytes: usize, reset: bool },
    TimedOut { bytes: usize },
    Malformed { reason: String, excerpt_hex: String },
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
    let end = Instant::now() + deadline;
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        match credssp::frame(&buf) {
            credssp::Frame::Complete(len) => {
                let bytes = buf.get(..len).unwrap_or(&buf);
                return credssp::decode(bytes).map_err(|e| ReadFailure::Malformed {
                    reason: e.to_string(),
                    excerpt_hex: excerpt_hex(bytes, 48),
                });
            }
            credssp::Frame::NotTsRequest => {
                return Err(ReadFailure::Malformed {
                    reason: "the server answered with bytes that are not a TSRequest".to_string(),
                    excerpt_hex: excerpt_hex(&buf, 48),
                })
            }
            credssp::Frame::NeedMore(n) => {
                let want = n.saturating_sub(buf.len()).clamp(1, chunk.len());
                let remaining = end.saturating_duration_since(Instant::now());
                let Some(slice) = chunk.get_mut(..want) else {
                    return Err(ReadFailure::TimedOut { bytes: buf.len() });
                };
                match tokio::time::timeout(remaining, tls.read(slice)).await {
                    Err(_) => return Err(ReadFailure::TimedOut { bytes: buf.len() }),
                    Ok(Ok(0)) => {
                        return Err(ReadFailure::Closed {
                            bytes: buf.len(),
                            reset: false,
                        })
                    }
                    Ok(Ok(n)) => buf.extend_from_slice(slice.get(..n).unwrap_or(&[])),
                    Ok(Err(e)) => {
                        return Err(ReadFailure::Closed {
                            bytes: buf.len(),
                            reset: e.kind() == ErrorKind::ConnectionReset,
                        });
                    }
                }
            }
        }
    }
}

fn read_failure(phase: NlaPhase, f: ReadFailure) -> NlaOutcome {
    match f {
        ReadFailure::Closed { bytes, reset: true } => NlaOutcome::Reset { phase, bytes },
        ReadFailure::Closed { bytes, .. } => NlaOutcome::Closed { phase, bytes },
        ReadFailure::TimedOut { bytes } => NlaOutcome::TimedOut { phase, bytes },
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
        outcome: NlaOutcome::Closed {
            phase: NlaPhase::Challenge,
            bytes: 0,
        },
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
        user: creds.user.clone(),
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
        NlaOutcome::Closed { phase, .. }
        | NlaOutcome::Reset { phase, .. }
        | NlaOutcome::TimedOut { phase, .. } => *phase,
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
    let username = match sspi::Username::parse(&creds.user) {
        Ok(u) => u,
        Err(e) => return failed(NlaPhase::Challenge, format!("user name not usable: {e}")),
    };
    let identity = sspi::AuthIdentity {
        username,
        password: sspi::Secret::new(creds.password.as_str().to_owned()),
    };
    let spn = format!(
        "TERMSRV/{}",
        host.server_name
            .clone()
            .unwrap_or_else(|| host.address.ip().to_string())
    );
    let mode = if delegate.is_some() {
        CredSspMode::WithCredentials
    } else {
        CredSspMode::CredentialLess
    };
    let mut client = match CredSspClient::new(
        public_key.to_vec(),
        sspi::Credentials::AuthIdentity(identity),
        mode,
        ClientMode::Ntlm(NtlmConfig::default()),
        spn,
    ) {
        Ok(c) => c,
        Err(e) => return failed(NlaPhase::Challenge, format!("CredSSP client: {e}")),
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
    // AUTHENTICATE with pubKeyAuth
    let authenticate = match client.process(challenge).resolve_to_result() {
        Ok(ClientState::ReplyNeeded(r)) => r,
        Ok(ClientState::FinalMessage(_)) => {
            return failed(NlaPhase::Authenticate, "CredSSP ended early".to_string())
        }
        Err(e) => return failed(NlaPhase::Authenticate, format!("NTLM AUTHENTICATE: {e}")),
    };
    if let Err(f) = exchange_send(tls, &authenticate, host.timeout()).await {
        return logon_read_failure(NlaPhase::Authenticate, f);
    }
    drop(authenticate);
    // The server's verdict.
    let verdict = match read_ts_request(tls, host.timeout()).await {
        Ok(r) => r,
        Err(ReadFailure::Closed { reset, .. }) => {
            return LogonOutcome::ClosedAfterAuthenticate { reset }
        }
        Err(f) => return logon_read_failure(NlaPhase::Authenticate, f),
    };
    if let Some(code) = verdict.error_code.filter(|c| c.0 != 0) {
        return LogonOutcome::ErrorCode { code: code.0 };
    }
    if verdict.pub_key_auth.is_none() {
        return failed(
            NlaPhase::Authenticate,
            "the server answered the AUTHENTICATE without pubKeyAuth or errorCode".to_string(),
        );
    }
    // Verifies the server's pubKeyAuth. What `process` returns next is the TSCredentials: empty
    // and dropped without `delegate`, sent with it.
    let credentials = match client.process(verdict).resolve_to_result() {
        Ok(ClientState::FinalMessage(r)) => r,
        Ok(ClientState::ReplyNeeded(r)) => r,
        Err(e) => {
            return LogonOutcome::PubKeyAuthMismatch {
                reason: e.to_string(),
            }
        }
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
    // Early User Authorization Result (MS-RDPBCGR 2.2.10.2): 4 bytes, before anything else.
    let mut result = [0u8; credssp::EARLY_USER_AUTH_LEN];
    match tokio::time::timeout(host.timeout(), tls.read_exact(&mut result)).await {
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
    let offers = negotiation.iter().any(|a| {
        matches!(a.outcome, NegotiationOutcome::Selected { protocol: p, .. }
            if protocol::is_credssp(p))
    });
    match (offers, creds) {
        (false, None) => (None, None),
        (false, Some(c)) => (
            None,
            Some(LogonObservation {
                user: c.user.clone(),
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

    fn is_send<T: Send>(_: &T) {}

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
