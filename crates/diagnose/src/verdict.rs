//! One verdict from the findings: the step where a connection breaks and the finding that best
//! explains it.

use crate::catalog;
use crate::model::{Finding, Severity, Status, Step, Verdict};

/// What the catalog says `f` does to the verdict.
fn role(f: &Finding) -> catalog::Verdict {
    catalog::lookup(&f.id).map_or(catalog::Verdict::Ordinary, |d| d.verdict)
}

/// The headline rank of `f` (a finding that is no headline comes after every one that is).
fn headline_rank(f: &Finding) -> u16 {
    match role(f) {
        catalog::Verdict::Headline { rank } => u16::from(rank),
        _ => u16::MAX,
    }
}

/// Folds each explained finding's evidence into the finding that explains it (catalog
/// `explains`), which also takes the more severe of the two severities: a cause proven by the
/// server's own logs is as bad as the symptom the network check saw. Both stay in the list, so
/// scripts that look for either id keep working.
pub(crate) fn absorb_explained(findings: &mut [Finding]) {
    let snapshot: Vec<(String, Severity, Vec<String>)> = findings
        .iter()
        .map(|f| (f.id.clone(), f.severity, f.evidence.clone()))
        .collect();
    for f in findings.iter_mut() {
        let Some(def) = catalog::lookup(&f.id) else {
            continue;
        };
        for (id, severity, evidence) in &snapshot {
            if def.explains.iter().any(|e| id == e) {
                f.severity = f.severity.min(*severity);
                // A line the explaining finding already cites is not repeated.
                let fresh: Vec<String> = evidence
                    .iter()
                    .filter(|e| !f.evidence.contains(e))
                    .map(|e| format!("{id} (network check): {e}"))
                    .collect();
                f.evidence.extend(fresh);
            }
        }
    }
}

/// Where in the connection sequence a finding breaks things: its own step, or the earliest step
/// of a finding it explains (a broken certificate key breaks TLS, whatever log showed it).
fn effective_step(f: &Finding) -> Step {
    catalog::lookup(&f.id)
        .map(|d| {
            d.explains
                .iter()
                .filter_map(|id| catalog::get(*id))
                .map(|e| e.step)
                .fold(f.step, Step::min)
        })
        .unwrap_or(f.step)
}

/// True when `f` explains another finding present in `all`.
fn explains_present(f: &Finding, all: &[Finding]) -> bool {
    catalog::lookup(&f.id)
        .is_some_and(|d| all.iter().any(|o| d.explains.iter().any(|e| o.id == *e)))
}

/// `findings` must already be sorted (severity, then step).
/// `probed`: a network check ran (a target was looked up), even if it reached nothing.
pub(crate) fn decide(findings: &[Finding], facts: &crate::model::Facts, probed: bool) -> Verdict {
    // The earliest step wins; at the same step a cause beats the symptom it explains.
    let first_blocking = findings
        .iter()
        .filter(|f| f.severity == Severity::Blocking)
        .min_by_key(|f| {
            (
                headline_rank(f),
                effective_step(f),
                !explains_present(f, findings),
            )
        });
    let reach = Reach::of(facts, probed);
    if let Some(f) = first_blocking {
        let status = if role(f) == catalog::Verdict::Unreachable {
            Status::Unreachable
        } else {
            Status::Broken
        };
        let word = if status == Status::Unreachable {
            "Unreachable"
        } else {
            "Broken"
        };
        let step = effective_step(f);
        return Verdict {
            status,
            finding: Some(f.id.clone()),
            step: Some(step),
            summary: format!("{word} at the {} step: {}", step.label(), f.title),
            scope: reach.scope(Some(step)),
        };
    }
    let warnings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    // Name first a warning that makes some clients fail; a mere weakness comes after.
    let breaking = |f: &&&Finding| catalog::lookup(&f.id).is_some_and(|d| d.breaks_some_clients);
    let explaining = |f: &&&Finding| explains_present(f, findings);
    let top = warnings
        .iter()
        .find(|f| breaking(f) && explaining(f))
        .or_else(|| warnings.iter().find(breaking))
        .or_else(|| warnings.iter().find(explaining))
        .or(warnings.first());
    if let Some(f) = top {
        let others = if warnings.len() > 1 {
            format!(
                " (and {} more warning{})",
                warnings.len() - 1,
                if warnings.len() > 2 { "s" } else { "" }
            )
        } else {
            String::new()
        };
        return Verdict {
            status: Status::Degraded,
            finding: Some(f.id.clone()),
            step: None,
            summary: format!(
                "Degraded: {}, but {}{others}",
                reach.what_works(),
                lower_first(&f.title)
            ),
            scope: reach.scope(None),
        };
    }
    let how = match (&facts.selected_protocol, facts.tls_versions.last()) {
        (Some(p), Some(v)) => format!(": connects with {p} over {v}"),
        (Some(p), None) => format!(": connects with {p}"),
        _ => String::new(),
    };
    Verdict {
        status: Status::Healthy,
        finding: None,
        step: None,
        summary: format!("Healthy{how}{}", reach.untested_suffix()),
        scope: reach.scope(None),
    }
}

/// With `check --udp`, the scope also says what the UDP transport probe tried and got.
pub(crate) fn udp_scope(verdict: &mut Verdict, facts: &crate::model::Facts) {
    if let Some(u) = &facts.udp {
        let got = if u.answered {
            "it answers"
        } else {
            "no usable answer (udp-transport-unavailable)"
        };
        let offer = match facts
            .session
            .as_ref()
            .and_then(|s| s.multitransport.as_ref())
        {
            Some(_) => "the multitransport offer inside the session is in the session facts",
            None => "the multitransport offer inside a session is examined only with --full",
        };
        verdict.scope.push_str(&format!(
            " The RDP UDP transport: one SYN datagram (at most one retry) to UDP {}: {got}; {offer}.",
            u.address
        ));
    }
}

/// How far a check went, so that no verdict claims a step that was not tried.
enum Reach {
    /// Only offline evidence (event logs, registry exports): no network check at all.
    Offline,
    /// A network check whose name did not resolve: nothing was sent to the server.
    Unresolved,
    /// `--gateway`: the RD Gateway did not open a channel to the server (its leg, in words).
    GatewayStopped(String),
    /// The network check got no RDP answer, or none past negotiation.
    Probe,
    /// X.224, TLS, certificate and NLA without credentials: no logon, no session.
    Handshake,
    /// `--user`: the logon up to the server's verdict on the credentials, no session.
    Logon,
    /// `--user`, but the logon ended without a verdict the server proved (no pubKeyAuth that
    /// verified, no error code): nothing is known about the credentials.
    LogonUnproven,
    /// `--user`: the logon's Kerberos was refused by the KDC where Negotiate does not fall back
    /// (a wrong password, no common encryption type): the server saw no token.
    LogonRefusedByKdc,
    /// `--full`: the connection sequence, to the phase named.
    Full {
        phase: String,
        up: bool,
        ended: String,
    },
}

impl Reach {
    fn of(facts: &crate::model::Facts, probed: bool) -> Reach {
        if let Some(s) = &facts.session {
            return Reach::Full {
                phase: s.phase_label.clone(),
                up: s.phase == "session-up",
                ended: s.ended.clone(),
            };
        }
        if let Some(n) = facts.nla.as_ref().filter(|n| n.logon.is_some()) {
            if n.logon_unproven {
                return Reach::LogonUnproven;
            }
            if n.logon_refused_by_kdc {
                return Reach::LogonRefusedByKdc;
            }
            if !n.logon_withheld {
                return Reach::Logon;
            }
        }
        if facts.selected_protocol.is_some() || !facts.tls_versions.is_empty() {
            return Reach::Handshake;
        }
        if let (Some(route), true) = (&facts.route, facts.negotiation.is_empty()) {
            return Reach::GatewayStopped(route.clone());
        }
        if facts.negotiation.is_empty() && facts.addresses.is_empty() {
            return if probed {
                Reach::Unresolved
            } else {
                Reach::Offline
            };
        }
        Reach::Probe
    }

    /// What a degraded server is known to do, in words.
    fn what_works(&self) -> &'static str {
        match self {
            Reach::Full { up: true, .. } => "the session comes up",
            Reach::Full { .. }
            | Reach::Handshake
            | Reach::Probe
            | Reach::LogonUnproven
            | Reach::LogonRefusedByKdc => "the security handshake succeeds",
            Reach::Logon => "the security handshake and the logon succeed",
            Reach::Offline => "the evidence shows no fault that stops clients",
            Reach::Unresolved | Reach::GatewayStopped(_) => "nothing was reached",
        }
    }

    fn untested_suffix(&self) -> &'static str {
        match self {
            Reach::Handshake | Reach::Probe => " (logon and session not tested)",
            Reach::Logon => " (session not tested)",
            Reach::LogonUnproven => " (the logon was not proven; session not tested)",
            Reach::LogonRefusedByKdc => " (the KDC refused the logon; session not tested)",
            Reach::Full { up: false, .. } => " (the full connection did not reach the session)",
            Reach::Unresolved => " (the name did not resolve: nothing was sent to the server)",
            Reach::GatewayStopped(_) => " as far as the RD Gateway's logon: it opened no channel, so nothing about the server behind it was checked (give --user, or --gateway-user)",
            _ => "",
        }
    }

    /// One sentence: what was tried, what was not, and the command that goes further.
    fn scope(&self, broken_at: Option<crate::model::Step>) -> String {
        const FULL: &str =
            "rdpdoctor check HOST --full (add --user 'DOMAIN\\user' to test a logon)";
        match self {
            Reach::Offline => {
                "From offline evidence only: nothing was probed over the network.".to_string()
            }
            Reach::Unresolved => format!(
                "The check stopped at the DNS step: the name did not resolve, so nothing was sent to the server; {} were not tried.",
                later_steps(crate::model::Step::Dns)
            ),
            Reach::GatewayStopped(route) => format!(
                "The check stopped at the RD Gateway ({route}): nothing reached the server behind it; X.224 negotiation, TLS, NLA, logon and session were not tried."
            ),
            Reach::Probe => match broken_at {
                Some(step) if step < crate::model::Step::Session => format!(
                    "The check stopped at the {} step; later steps ({}) were not tried.",
                    step.label(),
                    later_steps(step)
                ),
                Some(step) => format!("The check stopped at the {} step.", step.label()),
                None => "The check got no further than the X.224 negotiation; logon and session were not tested.".to_string(),
            },
            Reach::Handshake => format!(
                "Tested: X.224 negotiation, TLS, the certificate, Standard RDP Security and NLA without credentials. Not tested: logon and session; run {FULL}."
            ),
            Reach::Logon => "Tested: the security handshake and the logon up to the server's verdict on the credentials (nothing delegated). Not tested: the session; run rdpdoctor check HOST --full --user 'DOMAIN\\user'.".to_string(),
            Reach::LogonUnproven => "Tested: the security handshake. The logon with --user was tried, but the server gave no verdict it proved (no pubKeyAuth that verified, no error code): nothing is known about the credentials. Not tested: the session.".to_string(),
            Reach::LogonRefusedByKdc => "Tested: the security handshake and the logon's Kerberos up to the KDC, which refused it (the cause says why); the server saw no token, and Negotiate does not fall back to NTLM from this. Not tested: the session.".to_string(),
            Reach::Full { phase, up: true, ended } => format!(
                "Tested: the whole connection sequence with --full, up to {phase}; it ended with {ended}."
            ),
            Reach::Full { phase, ended, .. } => format!(
                "Tested: the connection sequence with --full; it reached {phase} and ended with {ended}."
            ),
        }
    }
}

/// The steps of a connection after `step`, in order, as words ("TCP, X.224 negotiation, ...").
fn later_steps(step: crate::model::Step) -> String {
    use crate::model::Step;
    const ORDER: [(Step, &str); 7] = [
        (Step::Dns, "DNS"),
        (Step::Tcp, "TCP"),
        (Step::Negotiation, "X.224 negotiation"),
        (Step::Tls, "TLS"),
        (Step::Nla, "NLA"),
        (Step::Logon, "logon"),
        (Step::Session, "session"),
    ];
    let later: Vec<&str> = ORDER
        .iter()
        .filter(|(s, _)| *s > step)
        .map(|(_, name)| *name)
        .collect();
    later.join(", ")
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if !s.starts_with("TLS") && !s.starts_with("NLA") => {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}
