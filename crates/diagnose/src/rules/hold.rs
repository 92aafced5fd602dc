//! session-dropped (and server-error-info during a hold): how a session held open with
//! `check --full --hold` ended, and what the timing says about who ended it.

use super::{finding, Vars};
use crate::model::{Finding, HoldFacts, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    HoldEnding, HoldEvent, HoldObservation, Observations, SessionObservation, SessionOutcome,
    SessionPhase,
};

/// Idle timeouts are configured in whole seconds, usually multiples of five (5, 30, 60, 300,
/// 900, 3600); a drop that close to one is that timer, not chance.
const ROUND_TOLERANCE_SECS: f64 = 0.4;
/// A drop this soon after the session came up (or after the logon) counts as "right after".
const RIGHT_AFTER_SECS: f64 = 3.0;

/// The round number of seconds `silent` is, if it is one (a multiple of 5, at least 5 s).
pub(crate) fn round_idle(silent: f64) -> Option<u64> {
    if !silent.is_finite() || silent < 5.0 - ROUND_TOLERANCE_SECS {
        return None;
    }
    let n = silent.round();
    let close = (silent - n).abs() <= ROUND_TOLERANCE_SECS;
    // The drop comes at the timeout or a scheduler tick after it, never much before.
    let n = n as u64;
    (close && n.is_multiple_of(5)).then_some(n)
}

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(s) = &obs.session else {
        return;
    };
    let Some(h) = &s.hold else {
        return;
    };
    match &h.ending {
        HoldEnding::Closed { reset } => {
            let how = if *reset { "reset" } else { "closed (FIN)" };
            let mut evidence = vec![
                format!(
                    "the session was up {:.1} s after connecting and was held {:.1} s of the {:.0} s asked, then the far side {how} the connection without a Set Error Info code or a Disconnect Provider Ultimatum: the server or a device on the path ended it, not this client",
                    h.session_up_at_secs.unwrap_or_default(),
                    h.held_secs,
                    h.requested_secs
                ),
                format!(
                    "the client was idle (no input; {} server frames read and discarded); the connection had carried no traffic either way for {:.1} s when it was dropped",
                    h.server_frames, h.silent_secs
                ),
            ];
            if let Some(n) = round_idle(h.silent_secs) {
                evidence.push(format!(
                    "{:.1} s of silence is a round {n} s: the pattern of an idle timeout of {n} s in a load balancer, firewall or NAT on the path (a server ending a session on purpose sends a code)",
                    h.silent_secs
                ));
            } else if h.held_secs <= RIGHT_AFTER_SECS {
                evidence.push("it came right after the session was up (the logon): through a tunnel, gateway or bastion this points at that component; compare with a direct connection".to_string());
            }
            out.push(finding(FindingId::SessionDropped, vars, evidence));
        }
        HoldEnding::NotStarted => {
            if let Some(f) = dropped_after_logon(s, h, vars) {
                out.push(f);
            }
        }
        HoldEnding::ErrorInfo { code } => {
            let mut f = finding(
                FindingId::ServerErrorInfo,
                vars,
                vec![format!(
                    "after {:.1} s of the held session the server sent Set Error Info 0x{code:08X} ({}) and ended it",
                    h.held_secs,
                    super::session::errinfo_name(*code)
                )],
            );
            // The session worked; the server ended it later, and said why.
            f.severity = Severity::Warning;
            out.push(f);
        }
        _ => {}
    }
}

/// A connection closed without a code after the Client Info PDU (the logon) and before the
/// session was up: what a tunnel that restarts at the logon does.
fn dropped_after_logon(
    s: &SessionObservation,
    h: &HoldObservation,
    vars: &Vars,
) -> Option<Finding> {
    let SessionOutcome::Closed { reset } = s.outcome else {
        return None;
    };
    if !s.error_info.is_empty()
        || s.phase < SessionPhase::Licensing
        || s.phase >= SessionPhase::SessionUp
    {
        return None;
    }
    let logon_at = h.timeline.iter().find_map(|e| match e {
        HoldEvent::Phase {
            at_secs,
            phase: SessionPhase::Licensing,
        } => Some(*at_secs),
        _ => None,
    });
    let after = logon_at.map(|t| h.ended_at_secs - t);
    let mut f = finding(
        FindingId::SessionDropped,
        vars,
        vec![
            format!(
                "the far side {} the connection {} after the Client Info PDU (the logon), in phase {}, {:.1} s after connecting, without a Set Error Info code or a Disconnect Provider Ultimatum; the session never came up, so there was nothing to hold",
                if reset { "reset" } else { "closed (FIN)" },
                after.map_or("right".to_string(), |a| format!("{a:.1} s")),
                s.phase.label(),
                h.ended_at_secs
            ),
            "a server that refuses a logon says so with a code; through a tunnel, RD Gateway, bastion or VPN a bare close right after the logon points at that component (for example a tunnel that restarts when the logon switches the Windows session): compare with a direct connection".to_string(),
        ],
    );
    f.severity = Severity::Blocking;
    Some(f)
}

/// The held session in words, for the details.
pub(crate) fn facts(s: &SessionObservation) -> Option<HoldFacts> {
    let h = s.hold.as_ref()?;
    let (ending, summary) = match &h.ending {
        HoldEnding::Held => (
            "held",
            format!(
                "held {:.1} s of {:.0} s idle, then disconnected by the client (Disconnect Provider Ultimatum, rn-user-requested)",
                h.held_secs, h.requested_secs
            ),
        ),
        HoldEnding::NotStarted => (
            "not-started",
            format!(
                "the session never came up (ended at {:.1} s, {}): nothing was held",
                h.ended_at_secs,
                s.phase.label()
            ),
        ),
        HoldEnding::ErrorInfo { code } => (
            "error-info",
            format!(
                "ended by the server after {:.1} s held: Set Error Info 0x{code:08X} ({})",
                h.held_secs,
                super::session::errinfo_name(*code)
            ),
        ),
        HoldEnding::Ultimatum { reason } => (
            "ultimatum",
            format!(
                "ended by the server after {:.1} s held: Disconnect Provider Ultimatum (reason {reason}) without a Set Error Info code",
                h.held_secs
            ),
        ),
        HoldEnding::Closed { reset } => (
            "dropped",
            format!(
                "dropped after {:.1} s held: {} from the far side without a server code, after {:.1} s without traffic; the client was idle",
                h.held_secs,
                if *reset { "reset" } else { "FIN" },
                h.silent_secs
            ),
        ),
        HoldEnding::ProtocolError { reason } => (
            "protocol-error",
            format!(
                "ended by the client after {:.1} s held: {reason}",
                h.held_secs
            ),
        ),
        HoldEnding::DeadlineExceeded => (
            "deadline",
            format!(
                "ended by the check's overall deadline after {:.1} s held",
                h.held_secs
            ),
        ),
    };
    let mut timeline: Vec<String> = h.timeline.iter().map(line).collect();
    if h.timeline_omitted > 0 {
        timeline.push(format!("({} more entries left out)", h.timeline_omitted));
    }
    Some(HoldFacts {
        ending: ending.to_string(),
        summary,
        ended_at_secs: h.ended_at_secs,
        held_secs: h.held_secs,
        timeline,
    })
}

fn line(e: &HoldEvent) -> String {
    match e {
        HoldEvent::Phase { at_secs, phase } => {
            format!("{at_secs:>8.3} s  phase: {}", phase.label())
        }
        HoldEvent::Server {
            at_secs,
            last_secs,
            message,
            count,
        } if *count > 1 => {
            format!("{at_secs:>8.3} s  server: {message} x{count} (last at {last_secs:.3} s)")
        }
        HoldEvent::Server {
            at_secs, message, ..
        } => format!("{at_secs:>8.3} s  server: {message}"),
        HoldEvent::Client { at_secs, message } => format!("{at_secs:>8.3} s  client: {message}"),
        HoldEvent::End { at_secs, by } => format!("{at_secs:>8.3} s  end: {by}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{diagnose, Context};
    use rdpdoctor_observations::SessionObservation;

    fn held(ending: HoldEnding, held_secs: f64, silent_secs: f64) -> Observations {
        let mut o = Observations::new(None);
        o.session = Some(SessionObservation {
            requested: 1,
            selected: Some(1),
            user: None,
            delegated: false,
            delegation: None,
            phase: SessionPhase::SessionUp,
            error_info: Vec::new(),
            licensing: None,
            frames: 12,
            elapsed_ms: 100.0,
            outcome: SessionOutcome::SessionUp,
            hold: Some(HoldObservation {
                requested_secs: 60.0,
                session_up_at_secs: Some(0.3),
                held_secs,
                ended_at_secs: held_secs + 0.3,
                idle: true,
                silent_secs,
                server_frames: 4,
                server_bytes: 400,
                ending,
                timeline: Vec::new(),
                timeline_omitted: 0,
            }),
        });
        o
    }

    fn findings(o: &Observations) -> Vec<(String, Severity, String)> {
        let now: jiff::Timestamp = "2026-06-01T00:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        diagnose(o, &Context::new(now))
            .findings
            .into_iter()
            .map(|f| (f.id, f.severity, f.evidence.join(" | ")))
            .collect()
    }

    #[test]
    fn a_drop_after_30_silent_seconds_is_named_an_idle_timeout() {
        let f = findings(&held(HoldEnding::Closed { reset: true }, 30.1, 30.05));
        let (_, severity, evidence) = f
            .iter()
            .find(|(id, ..)| id == "session-dropped")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(*severity, Severity::Warning);
        assert!(evidence.contains("reset"), "{evidence}");
        assert!(evidence.contains("idle timeout of 30 s"), "{evidence}");
    }

    #[test]
    fn a_drop_after_irregular_silence_is_not_called_an_idle_timeout() {
        let f = findings(&held(HoldEnding::Closed { reset: false }, 17.3, 2.2));
        let (_, _, evidence) = f
            .iter()
            .find(|(id, ..)| id == "session-dropped")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert!(!evidence.contains("idle timeout"), "{evidence}");
    }

    #[test]
    fn a_server_code_during_the_hold_is_its_code_not_a_drop() {
        // ERRINFO_IDLE_TIMEOUT (0x3): the server's own idle limit.
        let f = findings(&held(HoldEnding::ErrorInfo { code: 3 }, 60.0, 60.0));
        assert!(f.iter().all(|(id, ..)| id != "session-dropped"), "{f:?}");
        let (_, severity, evidence) = f
            .iter()
            .find(|(id, ..)| id == "server-error-info")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(*severity, Severity::Warning);
        assert!(evidence.contains("0x00000003"), "{evidence}");
        // A session held to the end raises nothing.
        let f = findings(&held(HoldEnding::Held, 60.0, 60.0));
        assert!(
            f.iter()
                .all(|(id, ..)| id != "session-dropped" && id != "server-error-info"),
            "{f:?}"
        );
    }

    #[test]
    fn round_numbers_of_idle_seconds() {
        assert_eq!(round_idle(5.02), Some(5));
        assert_eq!(round_idle(59.7), Some(60));
        assert_eq!(round_idle(300.3), Some(300));
        assert_eq!(round_idle(7.0), None);
        assert_eq!(round_idle(12.5), None);
        assert_eq!(round_idle(2.0), None);
        assert_eq!(round_idle(f64::NAN), None);
    }
}
