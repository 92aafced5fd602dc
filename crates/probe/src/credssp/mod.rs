//! CredSSP (MS-CSSP) over a TLS channel: a machine without I/O ([`machine::Machine`]) that
//! builds and reads the TSRequests, a security package it drives ([`package::Package`]: `sspi`'s
//! NTLM, or [`negotiate::Negotiated`], Kerberos in SPNEGO with Windows' fall-back to NTLM), a
//! network client for the package's KDC round trips ([`kdc::KdcClient`]), and the thin async
//! driver here that moves the bytes: [`logon`] with credentials, [`challenge`] without.
//!
//! The driver keeps every rule of a logon that must not leak: the last token (the NTLM
//! AUTHENTICATE, a crackable hash of the password) goes out only when `withhold` finds no sign
//! that the far end may not be the server (Kerberos's answers are not crackable, and its
//! pre-authentication goes to the KDC only under the readiness checks' rule, decided before the
//! first token); TSCredentials only after the server's pubKeyAuth
//! verified, and only when delegating (`--full`); without delegation nothing is sent after the
//! proof. Every call into `sspi` is contained (a panic is an error, never the end of the
//! process), and every server value is checked before `sspi` sees it.
//!
//! # Adding a package
//!
//! 1. A variant of [`package::PackageKind`] and its arm in [`package::build`]: the
//!    `sspi::credssp::SspiContext` to run (`Kerberos`, `Negotiate`), and in `SspiPackage`'s
//!    `unreadable` and `server_names` what its server tokens reveal (nothing, for Kerberos).
//! 2. Its [`kdc::KdcClient`], in [`package::kdc_client`]'s arm for it: the recorded KDC client
//!    of the Kerberos readiness checks (`crate::kdc::SspiNetworkClient`: TCP, UDP with the
//!    fall-back to TCP, KDC proxies, the check's deadlines, every exchange recorded) already is
//!    one.
//! 3. The option that chooses it (a `ProbeOptions::credssp` set by the command line), with the
//!    reason recorded with it (`LogonObservation::package_reason`).
//!
//! The machine, the driver, `nla.rs` and `full.rs` stay as they are.

pub(crate) mod kdc;
mod kerberos;
pub(crate) mod machine;
pub(crate) mod negotiate;
mod ntlm;
pub mod package;

use crate::framed::{reset_by, FrameError, FrameReader, Framing};
use crate::tls::Tls;
use kdc::KdcClient;
use machine::{Heard, Machine};
use package::{Package, PackageStep, StepState, Stepped};
use rdpdoctor_observations::{protocol, LogonOutcome, NlaOutcome, NlaPhase, Transport};
use rdpdoctor_wire::contain;
use rdpdoctor_wire::credssp::{self, TsRequest};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How reading or writing a TSRequest failed.
pub(crate) enum ReadFailure {
    Closed { bytes: usize, reset: bool },
    TimedOut { bytes: usize },
    Malformed { reason: String, excerpt_hex: String },
}

impl From<FrameError> for ReadFailure {
    /// Over TLS, a read error other than a reset is the TLS layer seeing the connection end.
    fn from(e: FrameError) -> ReadFailure {
        let bytes = e.seen().len();
        match e.ended(true) {
            Some(reset) => ReadFailure::Closed { bytes, reset },
            None if matches!(e, FrameError::TimedOut { .. }) => ReadFailure::TimedOut { bytes },
            None => ReadFailure::Malformed {
                reason: "the server answered with bytes that are not a TSRequest".to_string(),
                excerpt_hex: crate::excerpt_hex(e.seen(), 48),
            },
        }
    }
}

impl ReadFailure {
    /// The NLA outcome of the credential-less probe.
    fn nla(self, phase: NlaPhase) -> NlaOutcome {
        match self {
            ReadFailure::Closed { bytes, reset: true } => {
                NlaOutcome::Transport(Transport::reset(phase, bytes))
            }
            ReadFailure::Closed { bytes, .. } => {
                NlaOutcome::Transport(Transport::closed(phase, bytes))
            }
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

    /// The logon outcome.
    fn logon(self, phase: NlaPhase) -> LogonOutcome {
        match self {
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
}

async fn send(tls: &mut Tls, request: &TsRequest, deadline: Duration) -> Result<(), ReadFailure> {
    let bytes = credssp::encode(request).map_err(|e| ReadFailure::Malformed {
        reason: e.to_string(),
        excerpt_hex: String::new(),
    })?;
    match tokio::time::timeout(deadline, tls.write_all(&bytes)).await {
        Err(_) => Err(ReadFailure::TimedOut { bytes: 0 }),
        Ok(Err(e)) => Err(ReadFailure::Closed {
            bytes: 0,
            reset: reset_by(e.kind(), true),
        }),
        Ok(Ok(())) => Ok(()),
    }
}

/// Reads exactly one TSRequest, bounded by its DER length (at most 64 KiB) and `deadline`.
async fn read(tls: &mut Tls, deadline: Duration) -> Result<TsRequest, ReadFailure> {
    let bytes = FrameReader::exact(Framing::TsRequest)
        .read(tls, deadline)
        .await?;
    credssp::decode(&bytes).map_err(|e| ReadFailure::Malformed {
        reason: e.to_string(),
        excerpt_hex: crate::excerpt_hex(&bytes, 48),
    })
}

/// The credential-less probe: a NEGOTIATE of its own, and what the server's CHALLENGE reveals
/// (NTLM's by nature: only its CHALLENGE answers an anonymous first token with the server's
/// names). `version` gets the server's TSRequest version.
pub(crate) async fn challenge(
    tls: &mut Tls,
    deadline: Duration,
    version: &mut Option<u32>,
) -> NlaOutcome {
    let phase = NlaPhase::Challenge;
    let request = TsRequest {
        version: credssp::VERSION,
        nego_tokens: Some(ntlm::negotiate_token()),
        ..TsRequest::default()
    };
    if let Err(f) = send(tls, &request, deadline).await {
        return f.nla(phase);
    }
    let reply = match read(tls, deadline).await {
        Ok(r) => r,
        Err(f) => return f.nla(phase),
    };
    *version = Some(reply.version);
    let received_at = jiff::Timestamp::now();
    if let Some(code) = reply.error_code.filter(|c| c.0 != 0) {
        return NlaOutcome::ErrorCode { code: code.0 };
    }
    let token = reply.nego_tokens.unwrap_or_default();
    if token.is_empty() {
        return NlaOutcome::Malformed {
            reason: machine::NO_CHALLENGE.to_string(),
            excerpt_hex: String::new(),
        };
    }
    ntlm::challenge_outcome(&token, received_at)
}

/// What a CredSSP logon got to, whatever its outcome.
#[derive(Default)]
pub(crate) struct Progress {
    /// The version of the server's first TSRequest.
    pub(crate) version: Option<u32>,
    /// Whether the TSCredentials (the password, with `--full`) went out.
    pub(crate) delegated: bool,
    /// The package used and why, when Negotiate chose it.
    pub(crate) choice: Option<rdpdoctor_observations::PackageChoice>,
    /// The KDC round trips of the logon's package.
    pub(crate) kdc_exchanges: Vec<rdpdoctor_observations::KdcExchange>,
}

/// What one logon needs besides the channel.
pub(crate) struct Logon<'a> {
    pub(crate) machine: Machine,
    pub(crate) kdc: &'a mut dyn KdcClient,
    pub(crate) deadline: Duration,
    /// With `--full`, the protocol the server selected: the TSCredentials go out after the proof,
    /// and with HYBRID_EX the Early User Authorization Result is read. Without it nothing is
    /// delegated.
    pub(crate) delegate: Option<u32>,
}

/// The signs that withhold the last token, given the package and the server's token.
pub(crate) type Withhold<'a> = &'a (dyn Fn(&dyn Package, &[u8]) -> Option<Vec<String>> + Sync);

/// Runs the logon over `tls` up to the server's verdict on the credentials (and, delegating, the
/// TSCredentials and the Early User Authorization Result). `progress` records what happened on
/// the way, whatever the outcome.
pub(crate) async fn logon(
    tls: &mut Tls,
    mut logon: Logon<'_>,
    withhold: Withhold<'_>,
    progress: &mut Progress,
) -> LogonOutcome {
    let deadline = logon.deadline;
    let mut token = Vec::new();
    loop {
        let first = token.is_empty();
        let phase = if first {
            NlaPhase::Challenge
        } else {
            NlaPhase::Authenticate
        };
        let stepped = match step(&mut logon, token, first).await {
            Ok(s) => s,
            Err(outcome) => return outcome,
        };
        let request = match logon.machine.request(stepped) {
            Ok(r) => r,
            Err(reason) => return LogonOutcome::Failed { phase, reason },
        };
        if let Err(f) = send(tls, &request, deadline).await {
            return f.logon(phase);
        }
        drop(request);
        let answer = match read(tls, deadline).await {
            Ok(r) => r,
            Err(ReadFailure::Closed { reset, .. }) if !first => {
                return LogonOutcome::ClosedAfterAuthenticate { reset }
            }
            Err(f) => return f.logon(phase),
        };
        progress.version.get_or_insert(answer.version);
        token = match logon.machine.heard(answer) {
            Heard::Ended(outcome) => return outcome,
            Heard::Proven => break,
            // The package's answer to this token may be the last one (the NTLM AUTHENTICATE):
            // it is not even computed when anything says the far end may not be the server.
            Heard::Token(t) => match withhold(logon.machine.package(), &t) {
                Some(signs) => return LogonOutcome::Withheld { signs },
                None => t,
            },
        };
    }
    delegate(tls, logon, progress).await
}

/// One step of the package, its KDC round trips answered by the logon's client; a refusal or
/// panic of the package is the outcome.
async fn step(logon: &mut Logon<'_>, token: Vec<u8>, first: bool) -> Result<Stepped, LogonOutcome> {
    let name = logon.machine.package().name();
    let result = {
        let mut generator = logon.machine.step(token);
        resolve(&mut generator, &mut *logon.kdc).await
    };
    result.map_err(|e| {
        if first {
            // No server input yet: an error here is this client's own.
            LogonOutcome::Failed {
                phase: NlaPhase::Challenge,
                reason: format!("{name} first token: {e}"),
            }
        } else {
            // The server's token, which the package could not answer: malformed.
            LogonOutcome::Malformed {
                phase: NlaPhase::Challenge,
                reason: format!(
                    "the CredSSP library (sspi) refused the server's {name} token: {e}"
                ),
                excerpt_hex: String::new(),
            }
        }
    })
}

/// Runs a package step to its end, sending each KDC request it suspends with through `kdc`.
pub(crate) async fn resolve(
    generator: &mut PackageStep<'_>,
    kdc: &mut dyn KdcClient,
) -> Result<Stepped, String> {
    let call = "sspi initialize_security_context";
    let mut state: StepState =
        contain::call(call, || generator.start()).map_err(|p| p.to_string())?;
    loop {
        match state {
            StepState::Completed(result) => return result.map_err(|e| e.to_string()),
            StepState::Suspended(request) => {
                let reply = kdc.send(&request).await;
                state =
                    contain::call(call, || generator.resume(reply)).map_err(|p| p.to_string())?;
            }
        }
    }
}

/// After the server's proof: nothing more without delegation; with it, the TSCredentials and,
/// for HYBRID_EX, the Early User Authorization Result.
async fn delegate(tls: &mut Tls, mut logon: Logon<'_>, progress: &mut Progress) -> LogonOutcome {
    let Some(selected) = logon.delegate else {
        return LogonOutcome::Accepted;
    };
    let phase = NlaPhase::EarlyUserAuthorization;
    let credentials = match logon.machine.credentials(true) {
        Ok(c) => c,
        Err(reason) => return LogonOutcome::Failed { phase, reason },
    };
    // Set before the write: a write that fails may still have sent part of them.
    progress.delegated = true;
    if let Err(f) = send(tls, &credentials, logon.deadline).await {
        return f.logon(phase);
    }
    drop(credentials);
    if selected & protocol::HYBRID_EX == 0 {
        return LogonOutcome::Accepted;
    }
    early_user_authorization(tls, logon.deadline).await
}

/// The Early User Authorization Result (MS-RDPBCGR 2.2.10.2) a HYBRID_EX server sends after the
/// TSCredentials: 4 bytes, before anything else.
async fn early_user_authorization(tls: &mut Tls, deadline: Duration) -> LogonOutcome {
    let phase = NlaPhase::EarlyUserAuthorization;
    let mut result = [0u8; credssp::EARLY_USER_AUTH_LEN];
    match tokio::time::timeout(deadline, tls.read_exact(&mut result)).await {
        Err(_) => LogonOutcome::TimedOut { phase, bytes: 0 },
        Ok(Err(e)) => LogonOutcome::Failed {
            phase,
            reason: format!("the server closed the connection instead: {e}"),
        },
        Ok(Ok(_)) => match credssp::decode_early_user_auth(&result) {
            Some(credssp::AUTHZ_SUCCESS) => LogonOutcome::Accepted,
            Some(code) => LogonOutcome::EarlyUserAuthorization { result: code },
            None => LogonOutcome::Failed {
                phase,
                reason: "unreadable Early User Authorization Result".to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

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
}
