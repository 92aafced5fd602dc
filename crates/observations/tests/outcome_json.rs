//! The JSON of every outcome variant, written as saved documents carry it: the types may change
//! shape, saved observations may not. Each value must serialize to exactly its literal, and the
//! literal must read back as the same value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_observations::*;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

fn same<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T, json: &str) {
    assert_eq!(serde_json::to_string(&value).unwrap(), json);
    assert_eq!(serde_json::from_str::<T>(json).unwrap(), value, "{json}");
}

/// For variants whose payload is a large struct: the literal reads and writes back unchanged.
fn round_trip<T: Serialize + DeserializeOwned>(json: &str) {
    let value: T = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&value).unwrap(), json);
}

fn refused() -> ConnectOutcome {
    ConnectOutcome::Refused
}

#[test]
fn negotiation_outcome() {
    use NegotiationOutcome as N;
    same(
        N::Selected {
            protocol: 2,
            flags: 3,
        },
        r#"{"kind":"selected","protocol":2,"flags":3}"#,
    );
    same(
        N::Failure {
            code: NegFailureCode::HybridRequiredByServer,
        },
        r#"{"kind":"failure","code":5}"#,
    );
    same(
        N::Failure {
            code: NegFailureCode::Other(42),
        },
        r#"{"kind":"failure","code":42}"#,
    );
    same(N::NoNegotiationData, r#"{"kind":"no-negotiation-data"}"#);
    same(
        N::Malformed {
            reason: "short".into(),
            excerpt_hex: "03 00".into(),
        },
        r#"{"kind":"malformed","reason":"short","excerpt_hex":"03 00"}"#,
    );
    same(
        N::NotRdp {
            bytes: 4,
            excerpt_hex: "53 53 48 2d".into(),
            excerpt_text: Some("SSH-".into()),
        },
        r#"{"kind":"not-rdp","bytes":4,"excerpt_hex":"53 53 48 2d","excerpt_text":"SSH-"}"#,
    );
    same(
        N::NotRdp {
            bytes: 1,
            excerpt_hex: "00".into(),
            excerpt_text: None,
        },
        r#"{"kind":"not-rdp","bytes":1,"excerpt_hex":"00"}"#,
    );
    same(N::Reset { bytes: 3 }, r#"{"kind":"reset","bytes":3}"#);
    same(N::Closed { bytes: 0 }, r#"{"kind":"closed","bytes":0}"#);
    same(
        N::TimedOut {
            phase: Phase::X224,
            bytes: 7,
        },
        r#"{"kind":"timed-out","phase":"x224","bytes":7}"#,
    );
    same(
        N::TimedOut {
            phase: Phase::Connect,
            bytes: 0,
        },
        r#"{"kind":"timed-out","phase":"connect","bytes":0}"#,
    );
    same(
        N::ConnectFailed { outcome: refused() },
        r#"{"kind":"connect-failed","outcome":{"kind":"refused"}}"#,
    );
}

#[test]
fn tls_outcome() {
    use TlsOutcome as T;
    same(
        T::Completed {
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
        },
        r#"{"kind":"completed","cipher":"TLS13_AES_256_GCM_SHA384"}"#,
    );
    same(
        T::AlertReceived { alert: 40 },
        r#"{"kind":"alert-received","alert":40}"#,
    );
    same(
        T::ClientAborted {
            reason: "pinned".into(),
        },
        r#"{"kind":"client-aborted","reason":"pinned"}"#,
    );
    same(T::Closed { bytes: 0 }, r#"{"kind":"closed","bytes":0}"#);
    same(T::Reset { bytes: 12 }, r#"{"kind":"reset","bytes":12}"#);
    same(
        T::NotTls {
            bytes: 2,
            excerpt_hex: "48 54".into(),
        },
        r#"{"kind":"not-tls","bytes":2,"excerpt_hex":"48 54"}"#,
    );
    same(
        T::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: 5,
        },
        r#"{"kind":"timed-out","phase":"tls-handshake","bytes":5}"#,
    );
    same(
        T::NegotiationFailed {
            outcome: NegotiationOutcome::Reset { bytes: 0 },
        },
        r#"{"kind":"negotiation-failed","outcome":{"kind":"reset","bytes":0}}"#,
    );
    same(
        T::NegotiationFailed {
            outcome: NegotiationOutcome::Failure {
                code: NegFailureCode::SslNotAllowedByServer,
            },
        },
        r#"{"kind":"negotiation-failed","outcome":{"kind":"failure","code":2}}"#,
    );
    same(
        T::Error {
            reason: "io".into(),
        },
        r#"{"kind":"error","reason":"io"}"#,
    );
}

#[test]
fn nla_outcome() {
    use NlaOutcome as L;
    round_trip::<L>(
        r#"{"kind":"challenge","info":{"netbios_computer":"WIN","received_at":"2026-01-02T03:04:05Z","flags":3800728117}}"#,
    );
    same(
        L::ErrorCode { code: 0xC000_006D },
        r#"{"kind":"error-code","code":3221225581}"#,
    );
    same(
        L::ConnectFailed {
            outcome: ConnectOutcome::TimedOut,
        },
        r#"{"kind":"connect-failed","outcome":{"kind":"timed-out"}}"#,
    );
    same(
        L::NotSelected {
            outcome: NegotiationOutcome::Closed { bytes: 0 },
        },
        r#"{"kind":"not-selected","outcome":{"kind":"closed","bytes":0}}"#,
    );
    same(
        L::TlsFailed {
            outcome: TlsOutcome::TimedOut {
                phase: Phase::TlsHandshake,
                bytes: 0,
            },
        },
        r#"{"kind":"tls-failed","outcome":{"kind":"timed-out","phase":"tls-handshake","bytes":0}}"#,
    );
    same(
        L::Closed {
            phase: NlaPhase::Challenge,
            bytes: 0,
        },
        r#"{"kind":"closed","phase":"challenge","bytes":0}"#,
    );
    same(
        L::Reset {
            phase: NlaPhase::TlsHandshake,
            bytes: 9,
        },
        r#"{"kind":"reset","phase":"tls-handshake","bytes":9}"#,
    );
    same(
        L::TimedOut {
            phase: NlaPhase::EarlyUserAuthorization,
            bytes: 1,
        },
        r#"{"kind":"timed-out","phase":"early-user-authorization","bytes":1}"#,
    );
    same(
        L::Malformed {
            reason: "not DER".into(),
            excerpt_hex: "30".into(),
        },
        r#"{"kind":"malformed","reason":"not DER","excerpt_hex":"30"}"#,
    );
}

#[test]
fn rdp_security_outcome() {
    use RdpSecurityOutcome as R;
    round_trip::<R>(
        r#"{"kind":"accepted","rdp_version":524300,"encryption_method":2,"encryption_level":2,"server_random_len":32}"#,
    );
    same(
        R::McsRefused { result: 14 },
        r#"{"kind":"mcs-refused","result":14}"#,
    );
    same(
        R::Disconnected { reason: 1 },
        r#"{"kind":"disconnected","reason":1}"#,
    );
    same(
        R::Negotiation {
            outcome: NegotiationOutcome::Failure {
                code: NegFailureCode::SslRequiredByServer,
            },
        },
        r#"{"kind":"negotiation","outcome":{"kind":"failure","code":1}}"#,
    );
    same(
        R::NotResponse {
            reason: "tag".into(),
            excerpt_hex: "7f".into(),
        },
        r#"{"kind":"not-response","reason":"tag","excerpt_hex":"7f"}"#,
    );
    same(
        R::Closed {
            phase: RdpSecurityPhase::McsConnect,
            bytes: 0,
        },
        r#"{"kind":"closed","phase":"mcs-connect","bytes":0}"#,
    );
    same(
        R::Reset {
            phase: RdpSecurityPhase::X224,
            bytes: 4,
        },
        r#"{"kind":"reset","phase":"x224","bytes":4}"#,
    );
    same(
        R::TimedOut {
            phase: RdpSecurityPhase::McsConnect,
            bytes: 11,
        },
        r#"{"kind":"timed-out","phase":"mcs-connect","bytes":11}"#,
    );
    same(
        R::ConnectFailed { outcome: refused() },
        r#"{"kind":"connect-failed","outcome":{"kind":"refused"}}"#,
    );
    same(
        R::Error {
            reason: "io".into(),
        },
        r#"{"kind":"error","reason":"io"}"#,
    );
}

#[test]
fn session_outcome() {
    use SessionOutcome as S;
    same(S::SessionUp, r#"{"kind":"session-up"}"#);
    same(
        S::Ultimatum { reason: 1 },
        r#"{"kind":"ultimatum","reason":1}"#,
    );
    same(
        S::Closed { reset: true },
        r#"{"kind":"closed","reset":true}"#,
    );
    same(
        S::Redirected {
            redirection: RedirectionInfo {
                session_id: 2,
                flags: 4,
                target: None,
                load_balance_info: true,
                username: None,
                domain: None,
            },
        },
        r#"{"kind":"redirected","redirection":{"session_id":2,"flags":4,"load_balance_info":true}}"#,
    );
    same(S::TimedOut, r#"{"kind":"timed-out"}"#);
    same(
        S::ConnectFailed { outcome: refused() },
        r#"{"kind":"connect-failed","outcome":{"kind":"refused"}}"#,
    );
    same(
        S::NegotiationFailed {
            outcome: NegotiationOutcome::TimedOut {
                phase: Phase::X224,
                bytes: 0,
            },
        },
        r#"{"kind":"negotiation-failed","outcome":{"kind":"timed-out","phase":"x224","bytes":0}}"#,
    );
    same(
        S::TlsFailed {
            outcome: TlsOutcome::Reset { bytes: 0 },
        },
        r#"{"kind":"tls-failed","outcome":{"kind":"reset","bytes":0}}"#,
    );
    same(S::LogonRefused, r#"{"kind":"logon-refused"}"#);
    same(
        S::Stopped {
            reason: "why".into(),
        },
        r#"{"kind":"stopped","reason":"why"}"#,
    );
    same(
        S::ProtocolError {
            reason: "frame".into(),
        },
        r#"{"kind":"protocol-error","reason":"frame"}"#,
    );
    same(
        S::DeadlineExceeded { seconds: 30.0 },
        r#"{"kind":"deadline-exceeded","seconds":30.0}"#,
    );
}

#[test]
fn logon_outcome() {
    use LogonOutcome as G;
    same(G::Accepted, r#"{"kind":"accepted"}"#);
    same(
        G::ErrorCode { code: 0xC000_006D },
        r#"{"kind":"error-code","code":3221225581}"#,
    );
    same(
        G::ClosedAfterAuthenticate { reset: false },
        r#"{"kind":"closed-after-authenticate","reset":false}"#,
    );
    same(
        G::PubKeyAuthMismatch {
            reason: "binding".into(),
        },
        r#"{"kind":"pub-key-auth-mismatch","reason":"binding"}"#,
    );
    same(
        G::EarlyUserAuthorization { result: 5 },
        r#"{"kind":"early-user-authorization","result":5}"#,
    );
    same(
        G::Withheld {
            signs: vec!["proxy".into()],
        },
        r#"{"kind":"withheld","signs":["proxy"]}"#,
    );
    same(
        G::Failed {
            phase: NlaPhase::Authenticate,
            reason: "eof".into(),
        },
        r#"{"kind":"failed","phase":"authenticate","reason":"eof"}"#,
    );
    same(
        G::TimedOut {
            phase: NlaPhase::Authenticate,
            bytes: 0,
        },
        r#"{"kind":"timed-out","phase":"authenticate","bytes":0}"#,
    );
}

#[test]
fn unknown_kinds_are_refused() {
    assert!(serde_json::from_str::<NegotiationOutcome>(r#"{"kind":"resett","bytes":3}"#).is_err());
    assert!(serde_json::from_str::<NlaOutcome>(r#"{"kind":"reset","bytes":3}"#).is_err());
    assert!(serde_json::from_str::<TlsOutcome>(r#"{"kind":"timed-out","bytes":3}"#).is_err());
}
