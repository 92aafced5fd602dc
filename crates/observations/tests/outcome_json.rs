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
    same(
        N::Transport(Transport::Reset { at: (), bytes: 3 }),
        r#"{"kind":"reset","bytes":3}"#,
    );
    same(
        N::Transport(Transport::Closed { at: (), bytes: 0 }),
        r#"{"kind":"closed","bytes":0}"#,
    );
    same(
        N::Transport(Transport::TimedOut {
            phase: Phase::X224,
            bytes: 7,
        }),
        r#"{"kind":"timed-out","phase":"x224","bytes":7}"#,
    );
    same(
        N::Transport(Transport::TimedOut {
            phase: Phase::Connect,
            bytes: 0,
        }),
        r#"{"kind":"timed-out","phase":"connect","bytes":0}"#,
    );
    same(
        N::Route(RouteFailure::ConnectFailed { outcome: refused() }),
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
    same(
        T::Transport(Transport::Closed { at: (), bytes: 0 }),
        r#"{"kind":"closed","bytes":0}"#,
    );
    same(
        T::Transport(Transport::Reset { at: (), bytes: 12 }),
        r#"{"kind":"reset","bytes":12}"#,
    );
    same(
        T::NotTls {
            bytes: 2,
            excerpt_hex: "48 54".into(),
        },
        r#"{"kind":"not-tls","bytes":2,"excerpt_hex":"48 54"}"#,
    );
    same(
        T::Transport(Transport::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: 5,
        }),
        r#"{"kind":"timed-out","phase":"tls-handshake","bytes":5}"#,
    );
    same(
        T::NegotiationFailed {
            outcome: NegotiationOutcome::Transport(Transport::Reset { at: (), bytes: 0 }),
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
        L::Open(OpenFailure::connect(ConnectOutcome::TimedOut)),
        r#"{"kind":"connect-failed","outcome":{"kind":"timed-out"}}"#,
    );
    same(
        L::Open(OpenFailure::Negotiation(NegotiationOutcome::Transport(
            Transport::Closed { at: (), bytes: 0 },
        ))),
        r#"{"kind":"not-selected","outcome":{"kind":"closed","bytes":0}}"#,
    );
    same(
        L::Open(OpenFailure::Tls(TlsOutcome::Transport(
            Transport::TimedOut {
                phase: Phase::TlsHandshake,
                bytes: 0,
            },
        ))),
        r#"{"kind":"tls-failed","outcome":{"kind":"timed-out","phase":"tls-handshake","bytes":0}}"#,
    );
    same(
        L::Transport(Transport::closed(NlaPhase::Challenge, 0)),
        r#"{"kind":"closed","phase":"challenge","bytes":0}"#,
    );
    same(
        L::Transport(Transport::reset(NlaPhase::TlsHandshake, 9)),
        r#"{"kind":"reset","phase":"tls-handshake","bytes":9}"#,
    );
    same(
        L::Transport(Transport::TimedOut {
            phase: NlaPhase::EarlyUserAuthorization,
            bytes: 1,
        }),
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
        R::Open(OpenFailure::Negotiation(NegotiationOutcome::Failure {
            code: NegFailureCode::SslRequiredByServer,
        })),
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
        R::Transport(Transport::closed(RdpSecurityPhase::McsConnect, 0)),
        r#"{"kind":"closed","phase":"mcs-connect","bytes":0}"#,
    );
    same(
        R::Transport(Transport::reset(RdpSecurityPhase::X224, 4)),
        r#"{"kind":"reset","phase":"x224","bytes":4}"#,
    );
    same(
        R::Transport(Transport::TimedOut {
            phase: RdpSecurityPhase::McsConnect,
            bytes: 11,
        }),
        r#"{"kind":"timed-out","phase":"mcs-connect","bytes":11}"#,
    );
    same(
        R::Open(OpenFailure::connect(refused())),
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
            redirection: Box::new(RedirectionInfo {
                session_id: 2,
                flags: 4,
                target: None,
                load_balance_info: true,
                username: None,
                domain: None,
                routing_token: None,
                addresses: Vec::new(),
                fqdn: None,
                netbios: None,
            }),
        },
        r#"{"kind":"redirected","redirection":{"session_id":2,"flags":4,"load_balance_info":true}}"#,
    );
    same(S::TimedOut, r#"{"kind":"timed-out"}"#);
    same(
        S::Open(OpenFailure::connect(refused())),
        r#"{"kind":"connect-failed","outcome":{"kind":"refused"}}"#,
    );
    same(
        S::Open(OpenFailure::Negotiation(NegotiationOutcome::Transport(
            Transport::TimedOut {
                phase: Phase::X224,
                bytes: 0,
            },
        ))),
        r#"{"kind":"negotiation-failed","outcome":{"kind":"timed-out","phase":"x224","bytes":0}}"#,
    );
    same(
        S::Open(OpenFailure::Tls(TlsOutcome::Transport(Transport::Reset {
            at: (),
            bytes: 0,
        }))),
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

/// One route failure, the same JSON in every outcome that embeds it (the X.224 answer, and the
/// NLA, session and Standard RDP Security outcomes), with the route's own code kept raw.
#[test]
fn route_failures_are_one_type_in_every_outcome() {
    let refused = RouteFailure::RouteFailed {
        route: "gateway gw.example.com:443".into(),
        step: "channel create".into(),
        reason: "no resource authorization policy allows this computer".into(),
        code: Some(0x8007_59DA),
    };
    let json = r#"{"kind":"route-failed","route":"gateway gw.example.com:443","step":"channel create","reason":"no resource authorization policy allows this computer","code":2147965402}"#;
    same(NegotiationOutcome::Route(refused.clone()), json);
    same(NlaOutcome::Open(OpenFailure::Route(refused.clone())), json);
    same(
        SessionOutcome::Open(OpenFailure::Route(refused.clone())),
        json,
    );
    same(
        RdpSecurityOutcome::Open(OpenFailure::Route(refused.clone())),
        json,
    );
    same(
        TlsOutcome::NegotiationFailed {
            outcome: NegotiationOutcome::Route(refused.clone()),
        },
        &format!(r#"{{"kind":"negotiation-failed","outcome":{json}}}"#),
    );
    // Without a code the field is left out.
    same(
        RouteFailure::RouteFailed {
            route: "r".into(),
            step: "s".into(),
            reason: "why".into(),
            code: None,
        },
        r#"{"kind":"route-failed","route":"r","step":"s","reason":"why"}"#,
    );
    // Each outcome reads only its own name for the X.224 step.
    let closed = r#"{"kind":"closed","bytes":0}"#;
    for (kind, nla, session, rdp) in [
        ("not-selected", true, false, false),
        ("negotiation-failed", false, true, false),
        ("negotiation", false, false, true),
    ] {
        let doc = format!(r#"{{"kind":"{kind}","outcome":{closed}}}"#);
        assert_eq!(
            serde_json::from_str::<NlaOutcome>(&doc).is_ok(),
            nla,
            "{doc}"
        );
        assert_eq!(
            serde_json::from_str::<SessionOutcome>(&doc).is_ok(),
            session,
            "{doc}"
        );
        assert_eq!(
            serde_json::from_str::<RdpSecurityOutcome>(&doc).is_ok(),
            rdp,
            "{doc}"
        );
    }
    assert_eq!(
        format!("{:?}", NlaOutcome::Open(OpenFailure::Route(refused))),
        r#"RouteFailed { route: "gateway gw.example.com:443", step: "channel create", reason: "no resource authorization policy allows this computer", code: Some(2147965402) }"#
    );
}

/// The route every check records (additive: documents without it still read).
#[test]
fn route_observation() {
    same(
        RouteObservation::Direct {
            address: Some("127.0.0.1:3389".parse().unwrap()),
        },
        r#"{"kind":"direct","address":"127.0.0.1:3389"}"#,
    );
    same(
        RouteObservation::Direct { address: None },
        r#"{"kind":"direct"}"#,
    );
    same(
        RouteObservation::Scripted { server: "x".into() },
        r#"{"kind":"scripted","server":"x"}"#,
    );
}

/// A document that holds no valid outcome is refused with what an outcome may be.
#[test]
fn unknown_kinds_are_refused() {
    let err = serde_json::from_str::<NegotiationOutcome>(r#"{"kind":"selected"}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a negotiation outcome: kind selected"),
        "{err}"
    );
    assert!(serde_json::from_str::<NegotiationOutcome>(r#"{"kind":"resett","bytes":3}"#).is_err());
    assert!(serde_json::from_str::<NlaOutcome>(r#"{"kind":"reset","bytes":3}"#).is_err());
    assert!(serde_json::from_str::<TlsOutcome>(r#"{"kind":"timed-out","bytes":3}"#).is_err());
}

/// Probes keep `Debug` text of outcomes in saved reasons (a cipher scan's `stopped`, a logon's
/// `reason`): it reads as it did when every outcome spelled out its own reset, close and timeout.
#[test]
fn debug_text() {
    use NegotiationOutcome as N;
    let five = N::Failure {
        code: NegFailureCode::HybridRequiredByServer,
    };
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{:?}", N::Transport(Transport::Reset { at: (), bytes: 3 })),
            "Reset { bytes: 3 }",
        ),
        (
            format!("{:?}", N::Transport(Transport::Closed { at: (), bytes: 0 })),
            "Closed { bytes: 0 }",
        ),
        (
            format!(
                "{:?}",
                N::Transport(Transport::TimedOut {
                    phase: Phase::X224,
                    bytes: 7
                })
            ),
            "TimedOut { phase: X224, bytes: 7 }",
        ),
        (format!("{five:?}"), "Failure { code: 5 }"),
        (
            format!(
                "{:?}",
                N::Failure {
                    code: NegFailureCode::Other(42)
                }
            ),
            "Failure { code: 42 }",
        ),
        (format!("{:?}", N::NoNegotiationData), "NoNegotiationData"),
        (
            format!(
                "{:?}",
                N::NotRdp {
                    bytes: 1,
                    excerpt_hex: "00".into(),
                    excerpt_text: None
                }
            ),
            r#"NotRdp { bytes: 1, excerpt_hex: "00", excerpt_text: None }"#,
        ),
        (
            format!(
                "{:?}",
                N::Route(RouteFailure::ConnectFailed { outcome: refused() })
            ),
            "ConnectFailed { outcome: Refused }",
        ),
        (
            format!(
                "{:?}",
                TlsOutcome::Transport(Transport::Reset { at: (), bytes: 12 })
            ),
            "Reset { bytes: 12 }",
        ),
        (
            format!(
                "{:?}",
                TlsOutcome::Transport(Transport::TimedOut {
                    phase: Phase::TlsHandshake,
                    bytes: 5
                })
            ),
            "TimedOut { phase: TlsHandshake, bytes: 5 }",
        ),
        (
            format!(
                "{:?}",
                TlsOutcome::NegotiationFailed {
                    outcome: N::Transport(Transport::Closed { at: (), bytes: 0 })
                }
            ),
            "NegotiationFailed { outcome: Closed { bytes: 0 } }",
        ),
        (
            format!("{:?}", TlsOutcome::AlertReceived { alert: 40 }),
            "AlertReceived { alert: 40 }",
        ),
        (
            format!(
                "{:?}",
                NlaOutcome::Transport(Transport::reset(NlaPhase::TlsHandshake, 9))
            ),
            "Reset { phase: TlsHandshake, bytes: 9 }",
        ),
        (
            format!(
                "{:?}",
                NlaOutcome::Transport(Transport::closed(NlaPhase::Challenge, 0))
            ),
            "Closed { phase: Challenge, bytes: 0 }",
        ),
        (
            format!(
                "{:?}",
                NlaOutcome::Transport(Transport::TimedOut {
                    phase: NlaPhase::Authenticate,
                    bytes: 1
                })
            ),
            "TimedOut { phase: Authenticate, bytes: 1 }",
        ),
        (
            format!(
                "{:?}",
                NlaOutcome::Open(OpenFailure::Negotiation(N::Failure {
                    code: NegFailureCode::SslNotAllowedByServer
                }))
            ),
            "NotSelected { outcome: Failure { code: 2 } }",
        ),
        (
            format!(
                "{:?}",
                NlaOutcome::Open(OpenFailure::Tls(TlsOutcome::Transport(Transport::Closed {
                    at: (),
                    bytes: 0
                })))
            ),
            "TlsFailed { outcome: Closed { bytes: 0 } }",
        ),
        (
            format!("{:?}", NlaOutcome::ErrorCode { code: 5 }),
            "ErrorCode { code: 5 }",
        ),
        (
            format!(
                "{:?}",
                RdpSecurityOutcome::Transport(Transport::closed(RdpSecurityPhase::McsConnect, 0))
            ),
            "Closed { phase: McsConnect, bytes: 0 }",
        ),
        (
            format!(
                "{:?}",
                RdpSecurityOutcome::Transport(Transport::TimedOut {
                    phase: RdpSecurityPhase::X224,
                    bytes: 2
                })
            ),
            "TimedOut { phase: X224, bytes: 2 }",
        ),
        (
            format!("{:?}", RdpSecurityOutcome::McsRefused { result: 14 }),
            "McsRefused { result: 14 }",
        ),
        (
            format!(
                "{:#?}",
                N::Transport(Transport::TimedOut {
                    phase: Phase::X224,
                    bytes: 7
                })
            ),
            "TimedOut {\n    phase: X224,\n    bytes: 7,\n}",
        ),
        (
            format!(
                "{:#?}",
                NlaOutcome::Transport(Transport::reset(NlaPhase::TlsHandshake, 9))
            ),
            "Reset {\n    phase: TlsHandshake,\n    bytes: 9,\n}",
        ),
        (format!("{five:#?}"), "Failure {\n    code: 5,\n}"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

/// Code that only cares that the connection broke reads it once, with its bytes and phase.
#[test]
fn transport_helpers() {
    let n = NegotiationOutcome::Transport(Transport::TimedOut {
        phase: Phase::X224,
        bytes: 7,
    });
    assert_eq!(n.transport().map(Transport::bytes), Some(7));
    assert_eq!(NegotiationOutcome::NoNegotiationData.transport(), None);
    let l = NlaOutcome::Transport(Transport::reset(NlaPhase::Challenge, 2));
    assert_eq!(
        l.transport().map(Transport::phase),
        Some(NlaPhase::Challenge)
    );
    let r = RdpSecurityOutcome::Transport(Transport::closed(RdpSecurityPhase::X224, 0));
    assert_eq!(
        r.transport().map(Transport::phase),
        Some(RdpSecurityPhase::X224)
    );
    assert_eq!(TlsOutcome::AlertReceived { alert: 40 }.transport(), None);
}

/// Every observation file of the golden corpus (recorded from the lab servers with
/// `check --save`) reads and writes back byte for byte.
#[test]
fn golden_corpus_writes_back_unchanged() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().to_string();
        if !name.ends_with(".json") || name.ends_with(".expect.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let obs: Observations = serde_json::from_str(&text).unwrap();
        assert_eq!(obs.to_json().trim_end(), text.trim_end(), "{name}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} files in {}", dir.display());
}

/// The signs of interception, in the one wording the probe (a withheld logon) and the diagnosis
/// (interception-suspected) share.
#[test]
fn interception_signs_have_one_wording() {
    let answer = |requested, selected| NegotiationAttempt {
        requested,
        elapsed_ms: 1.0,
        outcome: NegotiationOutcome::Selected {
            protocol: selected,
            flags: 0,
        },
        implied_by: None,
    };
    assert_eq!(
        sign::protocol_violations(&[answer(protocol::RDP, protocol::RDP)]),
        None
    );
    assert_eq!(
        sign::protocol_violations(&[answer(protocol::SSL, protocol::HYBRID)]).as_deref(),
        Some("the request for SSL was answered with HYBRID, which was not requested (MS-RDPBCGR 2.2.1.2.1)")
    );
    let two = sign::protocol_violations(&[
        answer(protocol::SSL, protocol::HYBRID),
        answer(protocol::RDP, protocol::HYBRID),
    ])
    .unwrap();
    assert!(
        two.ends_with("(2 requests were answered outside their request)"),
        "{two}"
    );
    assert_eq!(
        sign::not_pinned("AB", "leaf:CD"),
        "the certificate (SHA-256 AB) is not the pinned one (leaf:CD)"
    );
}
