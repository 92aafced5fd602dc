//! One-line descriptions of what answered a probe (an X.224 answer, a TLS handshake's end), in
//! the words every rule, the facts and the client matrix share.

use rdpdoctor_codes::Family;
use rdpdoctor_observations::{
    protocol, NegotiationOutcome, RouteFailure, SaltedTrial, SessionOutcome, TlsOutcome, Transport,
};

/// `HYBRID_REQUIRED_BY_SERVER (5)`, from the shared code table.
pub(crate) fn neg_failure_name(code: u32) -> String {
    match rdpdoctor_codes::lookup(Family::NegFailure, code) {
        Some(e) => format!("{} ({code})", e.name),
        None => format!("undocumented code {code} (0x{code:08X})"),
    }
}

/// `40 handshake_failure`, from the shared code table.
pub(crate) fn alert_name(alert: u8) -> String {
    match rdpdoctor_codes::lookup(Family::TlsAlert, u32::from(alert)) {
        Some(e) => format!("{alert} {}", e.name),
        None => format!("{alert}"),
    }
}

/// One line for what answered an X.224 request.
pub(crate) fn describe_negotiation(outcome: &NegotiationOutcome) -> String {
    match outcome {
        NegotiationOutcome::Selected { protocol: p, flags } => {
            format!(
                "selected {} (RDP_NEG_RSP flags 0x{flags:02X})",
                protocol::names(*p)
            )
        }
        NegotiationOutcome::Failure { code } => {
            format!("RDP_NEG_FAILURE {}", neg_failure_name(code.as_u32()))
        }
        NegotiationOutcome::NoNegotiationData => {
            "a Connection Confirm without negotiation data".to_string()
        }
        NegotiationOutcome::Malformed {
            reason,
            excerpt_hex,
        } => {
            format!("an invalid Connection Confirm ({reason}); bytes {excerpt_hex}")
        }
        NegotiationOutcome::NotRdp {
            bytes,
            excerpt_hex,
            excerpt_text,
        } => match excerpt_text {
            Some(t) => format!("{bytes} bytes that are not RDP: {t:?} (hex {excerpt_hex})"),
            None => format!("{bytes} bytes that are not RDP: hex {excerpt_hex}"),
        },
        NegotiationOutcome::Transport(t) => match t {
            Transport::Reset { bytes, .. } => format!("a reset after {bytes} bytes"),
            Transport::Closed { bytes: 0, .. } => "a close without a byte".to_string(),
            Transport::Closed { bytes, .. } => {
                format!("a close after {bytes} bytes of an incomplete answer")
            }
            Transport::TimedOut { bytes: 0, .. } => {
                "silence until the deadline (no byte received)".to_string()
            }
            Transport::TimedOut { bytes, .. } => {
                format!("{bytes} bytes of an incomplete answer, then nothing until the deadline")
            }
        },
        NegotiationOutcome::Route(r) => describe_route(r),
    }
}

/// One line for a route that did not carry a connection to the server, the same in every
/// outcome that records one.
pub(crate) fn describe_route(r: &RouteFailure) -> String {
    match r {
        RouteFailure::ConnectFailed { outcome } => {
            format!("no connection ({})", describe_connect(outcome))
        }
        RouteFailure::RouteFailed {
            route,
            step,
            reason,
            code,
        } => {
            let code = code.map(|c| format!(" (0x{c:08X})")).unwrap_or_default();
            format!("{route} failed at {step}: {reason}{code}")
        }
    }
}

/// One line for how a TLS handshake ended.
pub(crate) fn describe_tls(outcome: &TlsOutcome) -> String {
    match outcome {
        TlsOutcome::Completed { cipher } => format!("completed ({cipher})"),
        TlsOutcome::AlertReceived { alert } => {
            format!("the server sent fatal alert {}", alert_name(*alert))
        }
        TlsOutcome::ClientAborted { reason } => format!("refused by the probe: {reason}"),
        TlsOutcome::Transport(Transport::Closed { bytes: 0, .. }) => {
            "the server closed the connection without answering the ClientHello".to_string()
        }
        TlsOutcome::Transport(Transport::Closed { bytes, .. }) => {
            format!("the server closed the connection after {bytes} bytes")
        }
        TlsOutcome::Transport(Transport::Reset { bytes, .. }) => {
            format!("the server reset the connection after {bytes} bytes")
        }
        TlsOutcome::NotTls { bytes, excerpt_hex } => {
            format!("the server answered with {bytes} bytes that are not TLS: {excerpt_hex}")
        }
        TlsOutcome::Transport(Transport::TimedOut { bytes, .. }) => {
            format!("no handshake before the deadline ({bytes} bytes received)")
        }
        TlsOutcome::NegotiationFailed { outcome } => {
            format!(
                "X.224 negotiation before it got {}",
                describe_negotiation(outcome)
            )
        }
        TlsOutcome::Error { reason } => format!("failed: {reason}"),
    }
}

/// The name of a Set Error Info code (MS-RDPBCGR 2.2.5.1.1), from the code tables.
pub(crate) fn errinfo_name(code: u32) -> String {
    rdpdoctor_codes::lookup(Family::Errinfo, code)
        .map(|e| e.name.to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "not in the errorInfo table".to_string())
}

/// How the connection signed with salted MACs ended, in words.
pub(crate) fn trial_end(t: &SaltedTrial) -> String {
    let how = match &t.outcome {
        SessionOutcome::SessionUp => "the session up".to_string(),
        SessionOutcome::Ultimatum { reason } => format!(
            "an MCS Disconnect Provider Ultimatum, reason {reason} {}",
            rdpdoctor_observations::ultimatum_reason_name(*reason)
        ),
        SessionOutcome::Closed { reset: false } => "a close (FIN) without a server code".into(),
        SessionOutcome::Closed { reset: true } => "a reset without a server code".into(),
        SessionOutcome::TimedOut => "silence until the deadline".into(),
        _ => "without the session".into(),
    };
    let codes: Vec<String> = t
        .error_info
        .iter()
        .map(|c| format!("Set Error Info 0x{c:08X} {}", errinfo_name(*c)))
        .collect();
    match codes.is_empty() {
        true => format!("{how}, after {} server frames", t.frames),
        false => format!("{}, then {how}", codes.join(", ")),
    }
}

/// A TCP connect's outcome in words, the same wherever a connection is reported.
pub(crate) fn describe_connect(outcome: &rdpdoctor_observations::ConnectOutcome) -> String {
    use rdpdoctor_observations::ConnectOutcome;
    match outcome {
        ConnectOutcome::Connected => "connected".to_string(),
        ConnectOutcome::Refused => "refused (TCP reset)".to_string(),
        ConnectOutcome::TimedOut => "no answer before the deadline".to_string(),
        ConnectOutcome::Unreachable { error, no_route } => {
            if *no_route {
                format!("no route from this machine ({error}): nothing was sent")
            } else {
                format!("unreachable ({error})")
            }
        }
        ConnectOutcome::Error { error } => format!("failed: {error}"),
    }
}
