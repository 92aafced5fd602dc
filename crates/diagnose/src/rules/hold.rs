//! session-dropped (and server-error-info during a hold): how a session held open with
//! `check --full --hold` ended, and what the timing says about who ended it.

use super::{finding, Vars};
use crate::model::{Finding, HoldFacts, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    HoldEnding, HoldEvent, HoldObservation, Observations, SessionObservation,
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
    // A session that never came up is the connection sequence's to explain (rules/session.rs).
    let f = match &h.ending {
        HoldEnding::Closed { reset } => Some(closed(h, *reset, vars)),
        HoldEnding::Unanswered if obs.gateway.is_some() => Some(unanswered_in_tunnel(h, vars)),
        HoldEnding::Unanswered => Some(unanswered(h, vars)),
        HoldEnding::NotReactivated {
            deactivated_at_secs,
            deactivations,
        } => Some(finding(
            FindingId::SessionUnusable,
            vars,
            vec![
                format!(
                    "the server sent Deactivate All at {deactivated_at_secs:.1} s ({} s after the session came up) and then {}, but never the Demand Active that must follow it (MS-RDPBCGR 1.3.1.3): the session was not usable from then on",
                    round1(deactivated_at_secs - h.session_up_at_secs.unwrap_or_default()),
                    match deactivations {
                        0 | 1 => "nothing else that reactivated it".to_string(),
                        n => format!("{} more Deactivate All", n - 1),
                    }
                ),
                format!(
                    "the connection itself stayed open until the end of the hold ({:.0} s asked): nothing closed it, and the probe disconnected",
                    h.requested_secs
                ),
            ],
        )),
        HoldEnding::ProtocolError { reason } => Some(finding(
            FindingId::SessionUnusable,
            vars,
            vec![format!(
                "after {:.1} s of the held session the probe could not go on: {reason} (a server that breaks the protocol, or something this probe's RDP library does not support)",
                h.held_secs
            )],
        )),
        HoldEnding::ErrorInfo { code } => {
            let mut f = finding(
                FindingId::ServerErrorInfo,
                vars,
                vec![format!(
                    "after {:.1} s of the held session the server sent Set Error Info 0x{code:08X} ({}) and ended it",
                    h.held_secs,
                    super::errinfo_name(*code)
                )],
            );
            // The session worked; the server ended it later, and said why.
            f.severity = Severity::Warning;
            Some(f)
        }
        _ => None,
    };
    out.extend(f);
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// session-dropped: the far side closed or reset the held session without a code.
fn closed(h: &HoldObservation, reset: bool, vars: &Vars) -> Finding {
    let how = if reset { "reset" } else { "closed (FIN)" };
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
    if h.path_check.as_ref().is_some_and(|c| c.not_sent.is_none()) {
        evidence.push("it came in answer to the probe's Refresh Rect at the end of the hold: the first data after the idle period met a device that had forgotten the connection".to_string());
    } else if let Some(n) = round_idle(h.silent_secs) {
        evidence.push(format!(
            "{:.1} s of silence is a round {n} s: the pattern of an idle timeout of {n} s in a load balancer, firewall or NAT on the path (a server ending a session on purpose sends a code)",
            h.silent_secs
        ));
    } else if h.held_secs <= RIGHT_AFTER_SECS {
        evidence.push("it came right after the session was up (the logon): through a tunnel, gateway or bastion this points at that component; compare with a direct connection".to_string());
    }
    finding(FindingId::SessionDropped, vars, evidence)
}

/// No FIN, no reset, no answer to the Refresh Rect: a path that forgot the connection silently
/// (TCP retransmitted the client's segment) or a server that stopped answering (TCP delivered it).
fn unanswered(h: &HoldObservation, vars: &Vars) -> Finding {
    let check = h.path_check.as_ref();
    let waited = check.map_or(0.0, |c| c.waited_secs);
    let retrans = check.and_then(|c| c.retransmissions);
    let first = format!(
        "the session was held {:.1} s of the {:.0} s asked with the client idle; the connection had carried no traffic either way for {:.1} s when the probe sent a Refresh Rect (MS-RDPBCGR 2.2.11.2), which a server answers with graphics: nothing came back within {waited:.1} s, and no FIN or reset either",
        h.held_secs, h.requested_secs, h.silent_secs
    );
    match retrans {
        Some(0) => finding(
            FindingId::SessionUnusable,
            vars,
            vec![
                first,
                "TCP delivered it (the server's TCP acknowledged it, no retransmission): the path carries data, but the server's session no longer answers".to_string(),
            ],
        ),
        _ => {
            let tcp = match retrans {
                Some(n) => format!("TCP retransmitted the client's data {n} times without an acknowledgement"),
                None => "whether TCP acknowledged it could not be read from the kernel".to_string(),
            };
            let mut evidence = vec![
                first,
                format!("silently dropped while idle: {tcp}; a device on the path forgot the connection and drops what still arrives for it, without telling either side (cloud load balancers do this to idle flows: Azure after 4 minutes by default, AWS NLB after 350 s)"),
            ];
            // The silence before the Refresh Rect is the hold's length, not the device's timer:
            // it bounds the timeout from above, nothing more.
            evidence.push(format!(
                "the device's idle timeout is shorter than the {:.1} s of silence before the Refresh Rect; holds of different lengths narrow it down",
                h.silent_secs
            ));
            finding(FindingId::SessionDropped, vars, evidence)
        }
    }
}

/// The same silence through an RD Gateway: the channel stayed open (a gateway that drops an idle
/// tunnel closes it, which is `Closed`), and no TCP statistics describe the gateway's own
/// connection to the server, so nothing here accuses a device on the path.
fn unanswered_in_tunnel(h: &HoldObservation, vars: &Vars) -> Finding {
    let waited = h.path_check.as_ref().map_or(0.0, |c| c.waited_secs);
    finding(
        FindingId::SessionUnusable,
        vars,
        vec![
            format!(
                "the session was held {:.1} s of the {:.0} s asked with the client idle; a Refresh Rect (MS-RDPBCGR 2.2.11.2) sent through the RD Gateway's channel then got no answer within {waited:.1} s",
                h.held_secs, h.requested_secs
            ),
            "the gateway kept the channel open (it did not close or reset it): the server's session no longer answers, or the gateway's own connection to the server was dropped; a check from the gateway's network (without --gateway) tells the two apart".to_string(),
        ],
    )
}

/// How a held session ended, after "the session up, then", for the session's ending.
pub(crate) fn ended(h: &HoldObservation) -> String {
    match &h.ending {
        HoldEnding::Held => format!(
            "held {:.1} s and disconnected by the client at the end of the hold",
            h.held_secs
        ),
        HoldEnding::NotStarted => "nothing to hold".to_string(),
        HoldEnding::ErrorInfo { code } => format!(
            "Set Error Info 0x{code:08X} from the server after {:.1} s held",
            h.held_secs
        ),
        HoldEnding::Ultimatum { .. } => format!(
            "a Disconnect Provider Ultimatum without a code from the server after {:.1} s held",
            h.held_secs
        ),
        HoldEnding::Closed { reset } => format!(
            "a {} from the far side without a server code after {:.1} s held",
            if *reset { "reset" } else { "close (FIN)" },
            h.held_secs
        ),
        HoldEnding::ProtocolError { .. } => format!(
            "a frame the probe could not process after {:.1} s held",
            h.held_secs
        ),
        HoldEnding::DeadlineExceeded => format!(
            "the check's overall deadline after {:.1} s held",
            h.held_secs
        ),
        HoldEnding::NotReactivated { .. } => {
            "a Deactivate All the server never followed with a Demand Active".to_string()
        }
        HoldEnding::Unanswered => format!(
            "silence: after {:.1} s held, the client's Refresh Rect got no answer",
            h.held_secs
        ),
    }
}

/// The held session in words, for the details.
pub(crate) fn facts(s: &SessionObservation) -> Option<HoldFacts> {
    let h = s.hold.as_ref()?;
    let (ending, summary) = summary(s, h);
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

/// The ending's id for the facts, and one sentence about it.
fn summary(s: &SessionObservation, h: &HoldObservation) -> (&'static str, String) {
    match &h.ending {
        HoldEnding::Held => ("held", format!("held {:.1} s of {:.0} s idle, {}", h.held_secs, h.requested_secs, path_words(h))),
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
                super::errinfo_name(*code)
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
            format!("ended by the client after {:.1} s held: {reason}", h.held_secs),
        ),
        HoldEnding::DeadlineExceeded => (
            "deadline",
            format!(
                "cut short by the check's overall deadline after {:.1} s of the {:.0} s asked: the rest of the hold was not tested",
                h.held_secs, h.requested_secs
            ),
        ),
        HoldEnding::NotReactivated {
            deactivated_at_secs,
            ..
        } => (
            "not-reactivated",
            format!(
                "connected for the whole hold, but deactivated by the server at {deactivated_at_secs:.1} s and never reactivated: not usable from then on"
            ),
        ),
        HoldEnding::Unanswered => (
            "unanswered",
            format!(
                "held {:.1} s of {:.0} s idle, then {}",
                h.held_secs,
                h.requested_secs,
                path_words(h)
            ),
        ),
    }
}

/// What the Refresh Rect at the end of the hold showed about the path, in words.
fn path_words(h: &HoldObservation) -> String {
    let Some(c) = &h.path_check else {
        return "then disconnected by the client (the path was not checked)".to_string();
    };
    if let Some(why) = &c.not_sent {
        return format!("then disconnected by the client; the path was not checked: {why}");
    }
    match (c.answered_after_secs, c.retransmissions) {
        (Some(after), _) => format!(
            "and the path still carries data: the server answered the client's {} in {:.3} s; then disconnected by the client (Disconnect Provider Ultimatum, rn-user-requested)",
            c.sent, after
        ),
        (None, Some(0)) => format!(
            "the client's {} got no answer within {:.1} s although TCP delivered it: the server stopped answering",
            c.sent, c.waited_secs
        ),
        (None, Some(n)) => format!(
            "silently dropped while idle: the client's {} got no answer within {:.1} s and TCP retransmitted it {n} times, no FIN or reset",
            c.sent, c.waited_secs
        ),
        (None, None) => format!(
            "the client's {} got no answer within {:.1} s, and no FIN or reset",
            c.sent, c.waited_secs
        ),
    }
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
pub(crate) mod tests {
    use super::*;
    use crate::{diagnose, Context};
    use rdpdoctor_observations::{SessionOutcome, SessionPhase};

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
            client_info_at_secs: Some(0.2),
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
                path_check: None,
            }),
            encryption: None,
            multitransport: None,
        });
        o
    }

    /// (id, severity, evidence joined) of every finding the rules raise for `o`.
    pub(crate) fn findings(o: &Observations) -> Vec<(String, Severity, String)> {
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

    fn checked(ending: HoldEnding, answered: Option<f64>, retrans: Option<u32>) -> Observations {
        let mut o = held(ending, 240.0, 240.0);
        if let Some(h) = o.session.as_mut().and_then(|s| s.hold.as_mut()) {
            h.path_check = Some(rdpdoctor_observations::HoldPathCheck {
                sent: "Refresh Rect".to_string(),
                at_secs: 240.3,
                not_sent: None,
                answered_after_secs: answered,
                waited_secs: answered.unwrap_or(5.0),
                retransmissions: retrans,
            });
        }
        o
    }

    #[test]
    fn the_path_check_tells_a_silent_drop_from_a_live_path_and_a_stuck_server() {
        // Retransmitted and unanswered: a device on the path forgot the connection.
        let f = findings(&checked(HoldEnding::Unanswered, None, Some(4)));
        let (_, severity, evidence) = f
            .iter()
            .find(|(id, ..)| id == "session-dropped")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(*severity, Severity::Warning);
        assert!(
            evidence.contains("silently dropped while idle"),
            "{evidence}"
        );
        assert!(
            evidence.contains("retransmitted the client's data 4 times"),
            "{evidence}"
        );
        assert!(evidence.contains("Azure after 4 minutes"), "{evidence}");
        assert!(
            evidence.contains("shorter than the 240.0 s of silence"),
            "{evidence}"
        );
        assert!(!evidence.contains("round"), "{evidence}");
        // Acknowledged by TCP, never answered: the path carries data, the server is stuck.
        let f = findings(&checked(HoldEnding::Unanswered, None, Some(0)));
        assert!(f.iter().all(|(id, ..)| id != "session-dropped"), "{f:?}");
        assert!(f.iter().any(|(id, ..)| id == "session-unusable"), "{f:?}");
        // Answered: nothing to report, and the summary says the path carries data.
        let o = checked(HoldEnding::Held, Some(0.01), Some(0));
        assert!(findings(&o).is_empty(), "{:?}", findings(&o));
        let summary = o
            .session
            .as_ref()
            .and_then(facts)
            .map(|h| h.summary)
            .unwrap_or_default();
        assert!(summary.contains("the path still carries data"), "{summary}");
    }

    #[test]
    fn a_session_never_reactivated_is_unusable_not_held() {
        let o = held(
            HoldEnding::NotReactivated {
                deactivated_at_secs: 3.3,
                deactivations: 34,
            },
            20.0,
            0.4,
        );
        let f = findings(&o);
        let (_, severity, evidence) = f
            .iter()
            .find(|(id, ..)| id == "session-unusable")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(*severity, Severity::Warning);
        assert!(evidence.contains("33 more Deactivate All"), "{evidence}");
        let summary = o.session.as_ref().and_then(facts).map(|h| h.summary);
        assert!(
            summary.as_deref().is_some_and(|s| !s.starts_with("held")),
            "{summary:?}"
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
