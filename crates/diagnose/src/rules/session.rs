//! server-denied-connection, server-error-info, licensing-failure and redirected: the server's
//! own codes from a full connection (`check --full`); session-dropped and session-not-reached
//! when the connection sequence ended before the session without one.

use super::{finding, Vars};
use crate::model::{Finding, SessionFacts, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    Delegation, DelegationChannel, IdentityProof, LogonOutcome, MacKind, Observations, OpenFailure,
    SessionEncryption, SessionObservation, SessionOutcome, SessionPhase,
};

/// ERRINFO_SERVER_DENIED_CONNECTION.
const DENIED: u32 = 0x0000_0007;
/// MS-RDPELE STATUS_VALID_CLIENT: success.
const STATUS_VALID_CLIENT: u32 = 0x0000_0007;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(s) = &obs.session else {
        return;
    };
    let ended = ended(obs, s);
    let credentials = credentials_line(obs, s);
    for e in &s.error_info {
        let code = format!(
            "errorInfo 0x{:08X} ({})",
            e.code,
            super::errinfo_name(e.code)
        );
        let mut evidence = vec![format!(
            "Set Error Info PDU {code} received in phase {}, then {ended}",
            e.phase.label()
        )];
        let id = match e.code {
            DENIED => {
                evidence.push("a Windows client shows this as Error code 0x904 (socket closed by the other side) with Extended error code 0x7 (the server denied the connection); the protocol carries no reason".to_string());
                FindingId::ServerDeniedConnection
            }
            0x100..=0x10A => FindingId::LicensingFailure,
            _ => FindingId::ServerErrorInfo,
        };
        if let Some(c) = &credentials {
            evidence.push(c.clone());
        }
        let mut f = finding(id, vars, evidence);
        if id == FindingId::ServerErrorInfo && s.outcome == SessionOutcome::SessionUp {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
    if let Some(l) = s.licensing.filter(|l| l.error_code != STATUS_VALID_CLIENT) {
        out.push(finding(
            FindingId::LicensingFailure,
            vars,
            vec![format!(
                "licensing error message dwErrorCode 0x{:08X} ({}), dwStateTransition {} ({}), then {ended}",
                l.error_code,
                rdpdoctor_codes::licensing::error_name(l.error_code),
                l.state_transition,
                rdpdoctor_codes::licensing::state_transition_name(l.state_transition)
            )],
        ));
    }
    if let Some(d) = s.delegation.as_ref().filter(|d| d.refused.is_some()) {
        out.push(finding(
            FindingId::CredentialsNotDelegated,
            vars,
            vec![
                format!(
                    "{}: {}",
                    s.user.as_deref().unwrap_or("the account"),
                    describe_delegation(d)
                ),
                format!(
                    "the full connection went on without the password and ended with {ended} in phase {}",
                    s.phase.label()
                ),
            ],
        ));
    }
    // A code of the server's (Set Error Info, a licensing error) already says why it ended.
    let coded = !s.error_info.is_empty()
        || s.licensing
            .is_some_and(|l| l.error_code != STATUS_VALID_CLIENT);
    if !coded {
        if let Some(f) = dropped(s, vars).or_else(|| not_reached(obs, s, vars)) {
            out.push(f);
        }
    }
    if let SessionOutcome::Redirected { redirection: r } = &s.outcome {
        let mut evidence =
            vec![format!(
            "Server Redirection PDU in phase {}: target {}, session id {}, RedirFlags 0x{:08X}{}",
            s.phase.label(),
            r.target.as_deref().unwrap_or("(none named; a load-balancing token only)"),
            r.session_id,
            r.flags,
            if r.load_balance_info {
                ", with a load-balancing token"
            } else {
                ""
            }
        )];
        if let Some(u) = &r.username {
            evidence.push(format!("user name for the target: {u}"));
        }
        evidence.extend(super::redirect::leg_lines(obs));
        out.push(finding(FindingId::Redirected, vars, evidence));
    }
}

/// Says whose credentials reached the server and what it thought of them, so a refusal after
/// them is told apart from a refusal of them.
fn credentials_line(obs: &Observations, s: &SessionObservation) -> Option<String> {
    let user = s.user.as_deref()?;
    if let Some(refused) = s.delegation.as_ref().and_then(|d| d.refused.as_deref()) {
        return Some(format!(
            "the credentials of {user} were not sent: {refused}"
        ));
    }
    let accepted = obs
        .logon
        .as_ref()
        .is_some_and(|l| l.outcome == LogonOutcome::Accepted);
    Some(if accepted {
        format!("the credentials of {user} were accepted (CredSSP) and delegated before this: the refusal came from the server's session logic, not from the password")
    } else if s.delegated {
        format!("the credentials of {user} were sent in the Client Info PDU (no NLA): a server may refuse a wrong password this way")
    } else {
        format!("the credentials of {user} were not sent before this")
    })
}

/// How the full connection ended, as the object of "ended with": the hold's ending when the
/// session was held, the logon's when CredSSP stopped it.
fn ended(obs: &Observations, s: &SessionObservation) -> String {
    match &s.outcome {
        SessionOutcome::SessionUp => match s.hold.as_ref().map(super::hold::ended) {
            Some(hold) => format!("the session up, then {hold}"),
            None => "the session up (the probe then disconnected)".into(),
        },
        SessionOutcome::Ultimatum { reason } => format!(
            "an MCS Disconnect Provider Ultimatum (reason {reason}, {})",
            rdpdoctor_observations::ultimatum_reason_name(*reason)
        ),
        SessionOutcome::Closed { reset: false } => {
            "a close (FIN) from the far side without a server code".into()
        }
        SessionOutcome::Closed { reset: true } => {
            "a reset from the far side without a server code".into()
        }
        SessionOutcome::Redirected { .. } => "a Server Redirection PDU".into(),
        SessionOutcome::TimedOut => "silence until the deadline".into(),
        SessionOutcome::Open(OpenFailure::Route(r)) => super::describe_route(r),
        SessionOutcome::Open(OpenFailure::Negotiation(outcome)) => {
            format!("X.224: {}", super::describe_negotiation(outcome))
        }
        SessionOutcome::Open(OpenFailure::Tls(outcome)) => format!("TLS {}", super::describe_tls(outcome)),
        SessionOutcome::LogonRefused => match &obs.logon {
            Some(l) => format!("CredSSP: {}", super::nla::logon_summary(l)),
            None => "CredSSP refusing the credentials".into(),
        },
        SessionOutcome::LogonUnproven => match &obs.logon {
            Some(l) => format!("CredSSP: {}", super::nla::logon_summary(l)),
            None => "CredSSP without the server's verdict on the credentials".into(),
        },
        SessionOutcome::Stopped { reason } => format!("the probe stopping: {reason}"),
        SessionOutcome::ProtocolError { reason } => {
            format!("a frame the probe could not process ({reason})")
        }
        SessionOutcome::TooManyFrames { frames } => format!(
            "{frames} server frames without the connection sequence completing (the probe's limit)"
        ),
        SessionOutcome::DeadlineExceeded { seconds } => format!(
            "the overall deadline of the check, after {seconds:.1} s of the full connection (the server kept it alive without completing it)"
        ),
    }
}

/// session-dropped for a connection sequence the far side closed or reset without a code,
/// before the session was up: right after the Client Info PDU (the logon) this is what a
/// tunnel that restarts at the logon does. With or without `--hold`.
fn dropped(s: &SessionObservation, vars: &Vars) -> Option<Finding> {
    let SessionOutcome::Closed { reset } = s.outcome else {
        return None;
    };
    if s.phase >= SessionPhase::SessionUp || s.phase < SessionPhase::BasicSettingsExchange {
        return None;
    }
    let how = if reset { "reset" } else { "closed (FIN)" };
    let ended_at = s.elapsed_ms / 1000.0;
    let when = match s.client_info_at_secs {
        Some(logon) => format!(
            "{:.1} s after the Client Info PDU (the logon), in phase {}, {ended_at:.1} s after connecting",
            (ended_at - logon).max(0.0),
            s.phase.label()
        ),
        None => format!(
            "in phase {}, {ended_at:.1} s after connecting, before the Client Info PDU (the logon)",
            s.phase.label()
        ),
    };
    let mut evidence = vec![format!(
        "the far side {how} the connection {when}, without a Set Error Info code or a Disconnect Provider Ultimatum; the session never came up"
    )];
    if s.client_info_at_secs.is_some() {
        evidence.push("a server that refuses a logon says so with a code; through a tunnel, RD Gateway, bastion or VPN a bare close right after the logon points at that component (for example a tunnel that restarts when the logon switches the Windows session): compare with a direct connection".to_string());
    }
    let mut f = finding(FindingId::SessionDropped, vars, evidence);
    f.severity = Severity::Blocking;
    Some(f)
}

/// session-not-reached: the connection sequence ended before the session without a code that
/// says why, and without a close (session-dropped) or a logon outcome that explains it.
fn not_reached(obs: &Observations, s: &SessionObservation, vars: &Vars) -> Option<Finding> {
    let phase = s.phase.label();
    let timeout = obs.timeout_secs.unwrap_or(5.0);
    let (why, blocking) = match &s.outcome {
        SessionOutcome::TimedOut => (
            format!("in phase {phase} the server sent nothing for {timeout} s (after {} frames): the connection sequence stalled", s.frames),
            true,
        ),
        SessionOutcome::DeadlineExceeded { seconds } => (
            format!("the server kept the connection alive ({} frames) without completing the connection sequence; the check's overall deadline ended it after {seconds:.1} s, still in phase {phase}", s.frames),
            true,
        ),
        SessionOutcome::TooManyFrames { frames } => (
            format!("the server sent {frames} frames without completing the connection sequence (still in phase {phase}); the probe stopped reading there"),
            true,
        ),
        SessionOutcome::Ultimatum { reason } if s.phase < SessionPhase::SessionUp => (
            format!(
                "the server ended the connection in phase {phase} with an MCS Disconnect Provider Ultimatum (reason {reason}, {}) and no Set Error Info code: it said no, but not why",
                rdpdoctor_observations::ultimatum_reason_name(*reason)
            ),
            true,
        ),
        SessionOutcome::ProtocolError { reason } => (
            format!("in phase {phase} the probe could not process a server frame ({reason}): a server that breaks the protocol, or a frame this probe's RDP library does not support"),
            false,
        ),
        _ => return None,
    };
    let mut evidence = vec![why];
    if let Some(l) = obs
        .logon
        .as_ref()
        .filter(|l| l.outcome == LogonOutcome::Accepted)
    {
        evidence.push(format!(
            "the credentials of {} were accepted (CredSSP) before this: the sequence stopped after the logon",
            l.user
        ));
    }
    let mut f = finding(FindingId::SessionNotReached, vars, evidence);
    if !blocking {
        f.severity = Severity::Warning;
    }
    Some(f)
}

/// Over what the credentials went, and on which proof of the server's identity.
pub fn describe_delegation(d: &Delegation) -> String {
    let channel = match &d.channel {
        DelegationChannel::Credssp => "CredSSP (NLA)".to_string(),
        DelegationChannel::Tls => "TLS without NLA (Client Info PDU)".to_string(),
        DelegationChannel::RdpSecurity { level } => format!(
            "Standard RDP Security at encryption level {}",
            rdpdoctor_observations::encryption::level_name(*level)
        ),
    };
    let proof = match &d.proof {
        IdentityProof::PubKeyAuth => {
            "the server proved its TLS key (pubKeyAuth verified)".to_string()
        }
        IdentityProof::TrustedCertificate => {
            "the certificate verifies for the probed name against the system trust store"
                .to_string()
        }
        IdentityProof::PinnedCertificate => "the certificate matches --cert-sha256".to_string(),
        IdentityProof::TrustAnyCert => {
            "nothing proved the server's identity; allowed by --trust-any-cert".to_string()
        }
        IdentityProof::Unproven { reason } => format!("server identity unproven: {reason}"),
    };
    match (&d.refused, d.delegated) {
        (Some(r), _) => format!("withheld over {channel}: {r}"),
        (None, true) => format!("delegated over {channel}; {proof}"),
        (None, false) => format!("not sent over {channel} (the connection ended first); {proof}"),
    }
}

/// The session facts shown beside the findings.
pub(crate) fn facts(obs: &Observations) -> Option<SessionFacts> {
    let s = obs.session.as_ref()?;
    let phase = serde_json::to_value(s.phase)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut codes: Vec<String> = s
        .error_info
        .iter()
        .map(|e| {
            format!(
                "Set Error Info 0x{:08X} {} ({})",
                e.code,
                super::errinfo_name(e.code),
                e.phase.label()
            )
        })
        .collect();
    if let Some(l) = s.licensing {
        codes.push(format!(
            "licensing 0x{:08X} {} / {}",
            l.error_code,
            rdpdoctor_codes::licensing::error_name(l.error_code),
            rdpdoctor_codes::licensing::state_transition_name(l.state_transition)
        ));
    }
    let reached = if s.outcome == SessionOutcome::SessionUp {
        SessionPhase::SessionUp
    } else {
        s.phase
    };
    Some(SessionFacts {
        phase,
        phase_label: reached.label().to_string(),
        ended: ended(obs, s),
        delegated: s.delegated,
        credentials: s.delegation.as_ref().map(describe_delegation),
        codes,
        hold: super::hold::facts(s),
        encryption: s.encryption.as_ref().map(describe_encryption),
        multitransport: describe_multitransport(obs, s),
    })
}

/// The RDP UDP transport as the session offered it (MS-RDPBCGR 1.3.1.1, multitransport
/// bootstrapping), joined with `--udp`'s answer when it ran.
fn describe_multitransport(obs: &Observations, s: &SessionObservation) -> Option<String> {
    let m = s.multitransport.as_ref()?;
    if m.client_flags == 0 {
        return Some("RDP UDP transport: not asked (the server did not announce EXTENDED_CLIENT_DATA_SUPPORTED, so no client can announce UDP to it)".to_string());
    }
    if !m.answered {
        return None;
    }
    let Some(offer) = super::udp::offer(obs) else {
        return Some("RDP UDP transport: not offered (the server answered the client's TRANSPORTTYPE_UDPFECR|TRANSPORTTYPE_UDPFECL without a UDP transport of its own and sent no Initiate Multitransport Request): its sessions stay on TCP".to_string());
    };
    let port = match super::udp_facts(obs) {
        None => "; check --udp asks whether its UDP port answers".to_string(),
        Some(u) if u.answered => format!("; its UDP port {} answers", u.address),
        Some(u) => format!(
            "; but its UDP port {} does not answer (udp-transport-unavailable)",
            u.address
        ),
    };
    Some(format!(
        "RDP UDP transport offered in the session: {offer}; the probe declined {} request(s) and opened no UDP tunnel{port}",
        m.declined
    ))
}

/// `Standard RDP Security: 128-bit RC4 at level High, plain MACs; 6 client PDUs encrypted, 5
/// server PDUs decrypted (MACs verified)`.
fn describe_encryption(e: &SessionEncryption) -> String {
    use rdpdoctor_observations::encryption::{level_name, method_names};
    let mac = match e.client_mac {
        MacKind::Plain => "plain MACs (as Windows clients and xrdp)",
        MacKind::Salted => "salted MACs",
    };
    if e.sealed == 0 {
        return format!(
            "Standard RDP Security: {} at level {}; the connection ended before the Security Exchange, so nothing was encrypted",
            method_names(e.method),
            level_name(e.level)
        );
    }
    let server = match (e.opened, e.opened_salted) {
        (0, _) if e.level == 1 => {
            "the server encrypted nothing (at level Low only the client encrypts)".to_string()
        }
        (0, _) => "the server sent nothing encrypted".to_string(),
        (n, 0) => format!("{n} server PDUs decrypted, their MACs verified"),
        (n, salted) => {
            format!("{n} server PDUs decrypted, their MACs verified ({salted} salted)")
        }
    };
    let licensing = match (e.licensing_encrypted, e.licensing_encrypt_cs) {
        (0, false) => "licensing in the clear".to_string(),
        (n, cs) => format!(
            "{n} licensing PDUs came encrypted{}",
            if cs {
                ", and the server asked for encrypted client licensing PDUs"
            } else {
                ""
            }
        ),
    };
    let salted = match &e.salted_trial {
        None => String::new(),
        Some(t) if t.accepted() => "; a second connection signed with salted MACs (FreeRDP's default) reached the session too".to_string(),
        Some(t) => format!(
            "; a second connection signed with salted MACs (SEC_SECURE_CHECKSUM, FreeRDP's default) was ended by the server in {} ({}): the server verifies plain MACs only, as xrdp does (its log says \"MAC checksum error for non-FIPS PDU\"), so FreeRDP clients are logged off there (ERRINFO_LOGOFF_BY_USER) while Windows clients and rdesktop get in",
            t.phase.label(),
            crate::describe::trial_end(t)
        ),
    };
    format!(
        "Standard RDP Security: {} at level {}, {mac}; {} client PDUs encrypted, {server}; {licensing}{salted}",
        method_names(e.method),
        level_name(e.level),
        e.sealed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::hold::tests::findings as found;

    fn ended_with(outcome: SessionOutcome, phase: SessionPhase) -> Observations {
        let mut o = Observations::new(None);
        o.timeout_secs = Some(5.0);
        o.session = Some(SessionObservation {
            requested: 3,
            selected: Some(2),
            user: Some("labuser".to_string()),
            delegated: true,
            delegation: None,
            phase,
            error_info: Vec::new(),
            licensing: None,
            frames: 9,
            client_info_at_secs: Some(0.3),
            elapsed_ms: 1300.0,
            outcome,
            hold: None,
            encryption: None,
            multitransport: None,
        });
        o
    }

    #[test]
    fn a_close_after_the_logon_is_a_drop_without_hold_too() {
        let f = found(&ended_with(
            SessionOutcome::Closed { reset: false },
            SessionPhase::Licensing,
        ));
        let (_, severity, evidence) = f
            .iter()
            .find(|(id, ..)| id == "session-dropped")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(*severity, Severity::Blocking);
        assert!(
            evidence.contains("closed (FIN) the connection 1.0 s after the Client Info PDU"),
            "{evidence}"
        );
        assert!(evidence.contains("1.3 s after connecting"), "{evidence}");
    }

    #[test]
    fn a_sequence_that_stops_short_is_named_by_how() {
        for (outcome, severity, says) in [
            (
                SessionOutcome::TooManyFrames { frames: 4096 },
                Severity::Blocking,
                "4096 frames",
            ),
            (
                SessionOutcome::TimedOut,
                Severity::Blocking,
                "sent nothing for 5 s",
            ),
            (
                SessionOutcome::DeadlineExceeded { seconds: 60.2 },
                Severity::Blocking,
                "after 60.2 s",
            ),
            (
                SessionOutcome::Ultimatum { reason: 1 },
                Severity::Blocking,
                "no Set Error Info code",
            ),
            (
                SessionOutcome::ProtocolError {
                    reason: "junk".to_string(),
                },
                Severity::Warning,
                "could not process",
            ),
        ] {
            let f = found(&ended_with(
                outcome.clone(),
                SessionPhase::CapabilitiesExchange,
            ));
            let (_, got, evidence) = f
                .iter()
                .find(|(id, ..)| id == "session-not-reached")
                .unwrap_or_else(|| panic!("{outcome:?}: {f:?}"));
            assert_eq!(*got, severity, "{outcome:?}");
            assert!(evidence.contains(says), "{outcome:?}: {evidence}");
        }
        // A stop of the probe's own (a limit it says) is not the server's fault.
        let f = found(&ended_with(
            SessionOutcome::Stopped {
                reason: "Standard RDP Security encryption not supported by the probe".into(),
            },
            SessionPhase::BasicSettingsExchange,
        ));
        assert!(
            f.iter().all(|(id, ..)| id != "session-not-reached"),
            "{f:?}"
        );
    }

    #[test]
    fn every_session_id_is_in_the_catalog() {
        for id in [
            "server-denied-connection",
            "server-error-info",
            "licensing-failure",
            "redirected",
        ] {
            assert!(crate::catalog::lookup(id).is_some(), "{id}");
        }
        assert_eq!(
            rdpdoctor_codes::licensing::error_name(STATUS_VALID_CLIENT),
            "STATUS_VALID_CLIENT"
        );
    }
}
