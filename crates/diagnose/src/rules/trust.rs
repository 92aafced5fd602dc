//! unknown-protocol-selected, negotiation-protocol-violation, mcs-response-malformed,
//! credssp-response-malformed, credssp-pubkey-mismatch: answers that cannot be taken at face
//! value. A verdict must never read more into them than they prove.

use super::{describe_negotiation, finding, Vars};
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    encryption, protocol, LogonOutcome, NegotiationOutcome, NlaOutcome, NlaPhase, Observations,
    RdpSecurityAttempt, RdpSecurityOutcome, RdpSecurityPhase, ServerSecurity, Transport,
};

/// What an up-to-date mstsc requests (the first request of every check).
const PRIMARY: u32 = protocol::MSTSC_DEFAULT;
/// The highest encryption level MS-RDPBCGR 2.2.1.4.3 defines (ENCRYPTION_LEVEL_FIPS).
const MAX_LEVEL: u32 = 4;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    selection(obs, vars, out);
    mcs(obs, vars, out);
    credssp(obs, vars, out);
}

/// unknown-protocol-selected and negotiation-protocol-violation (MS-RDPBCGR 2.2.1.2.1,
/// 3.3.5.3.1).
fn selection(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let mut unknown = Vec::new();
    let mut violation = Vec::new();
    let (mut unknown_primary, mut violation_primary) = (false, false);
    for a in &obs.negotiation {
        let NegotiationOutcome::Selected { protocol: p, .. } = a.outcome else {
            continue;
        };
        let line = format!(
            "request {} got {}",
            protocol::names(a.requested),
            describe_negotiation(&a.outcome)
        );
        if !protocol::is_known_selection(p) {
            unknown_primary |= a.requested == PRIMARY;
            unknown.push(format!(
                "{line}: selectedProtocol 0x{p:08X} is not a single protocol MS-RDPBCGR 2.2.1.2.1 defines; no TLS handshake was attempted on it"
            ));
        } else if protocol::violates_request(a.requested, p) {
            violation_primary |= a.requested == PRIMARY;
            violation.push(format!(
                "{line}: {} was not among the requested protocols",
                protocol::names(p)
            ));
        }
    }
    if unknown_primary {
        // Nothing the other negotiation rules conclude (NLA not enforced, a downgrade...) holds
        // when the answer to what clients send is not a protocol at all.
        out.retain(|f| f.step != crate::model::Step::Negotiation);
    }
    if !unknown.is_empty() {
        let mut f = finding(FindingId::UnknownProtocolSelected, vars, unknown);
        if !unknown_primary {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
    if !violation.is_empty() {
        let mut f = finding(FindingId::NegotiationProtocolViolation, vars, violation);
        if violation_primary {
            f.severity = Severity::Blocking;
        }
        out.push(f);
    }
}

/// Why an MCS answer cannot be taken as the server's encryption settings, if it cannot.
pub(super) fn malformed(a: &RdpSecurityAttempt) -> Option<String> {
    match &a.outcome {
        RdpSecurityOutcome::NotResponse {
            reason,
            excerpt_hex,
        } => Some(format!("{reason} (first bytes {excerpt_hex})")),
        // Part of a response, then the connection broke.
        RdpSecurityOutcome::Transport(t)
            if t.phase() == RdpSecurityPhase::McsConnect && t.bytes() > 0 =>
        {
            let bytes = t.bytes();
            Some(match t {
                Transport::Closed { .. } => format!(
                    "the connection closed after {bytes} bytes of the response, before it was complete"
                ),
                Transport::Reset { .. } => format!(
                    "the connection was reset after {bytes} bytes of the response, before it was complete"
                ),
                Transport::TimedOut { .. } => format!(
                    "{bytes} bytes of the response arrived, then nothing until the deadline"
                ),
            })
        }
        RdpSecurityOutcome::Accepted(s) => out_of_range(s),
        _ => None,
    }
}

/// Values no MS-RDPBCGR 2.2.1.4.3 Server Security Data can hold.
fn out_of_range(s: &ServerSecurity) -> Option<String> {
    let mut wrong = Vec::new();
    if s.encryption_level > MAX_LEVEL {
        wrong.push(format!(
            "encryptionLevel 0x{:08X} (defined: 0 to 4)",
            s.encryption_level
        ));
    }
    let m = s.encryption_method;
    if m & !encryption::ALL != 0 || m.count_ones() > 1 {
        wrong.push(format!(
            "encryptionMethod 0x{m:08X} (defined: one of 0, 0x1, 0x2, 0x8, 0x10)"
        ));
    }
    (!wrong.is_empty()).then(|| wrong.join(", "))
}

/// mcs-response-malformed: every MCS answer that does not decode or holds impossible values;
/// and silence after the MCS Connect Initial, which is a timeout (no-reply), not an answer.
fn mcs(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(rdp) = &obs.rdp_security else {
        return;
    };
    let timeout = obs.timeout_secs.unwrap_or(5.0);
    let silent: Vec<String> = rdp
        .attempts
        .iter()
        .filter(|a| {
            matches!(
                a.outcome,
                RdpSecurityOutcome::Transport(Transport::TimedOut {
                    phase: RdpSecurityPhase::McsConnect,
                    bytes: 0
                })
            )
        })
        .map(|a| {
            format!(
                "the MCS Connect Initial offering {} got no answer at all within {timeout} s (the X.224 exchange before it was answered)",
                encryption::method_names(a.offered)
            )
        })
        .collect();
    if !silent.is_empty() {
        let mut f = finding(FindingId::NoReply, vars, silent);
        f.step = crate::model::Step::RdpSecurity;
        f.title =
            "The server answered the X.224 request, then never answered the MCS Connect Initial"
                .to_string();
        let main_silent = rdp.attempts.iter().any(|a| {
            a.offered == encryption::ALL
                && matches!(
                    a.outcome,
                    RdpSecurityOutcome::Transport(Transport::TimedOut { bytes: 0, .. })
                )
        });
        let tls_selected = obs.negotiation.iter().any(|a| a.outcome.selects_tls());
        if tls_selected || !main_silent {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
    let bad: Vec<(&RdpSecurityAttempt, String)> = rdp
        .attempts
        .iter()
        .filter_map(|a| malformed(a).map(|why| (a, why)))
        .collect();
    if bad.is_empty() {
        return;
    }
    let tls_selected = obs.negotiation.iter().any(|a| a.outcome.selects_tls());
    let main_bad = bad.iter().any(|(a, _)| a.offered == encryption::ALL);
    let mut f = finding(
        FindingId::McsResponseMalformed,
        vars,
        bad.iter()
            .map(|(a, why)| {
                format!(
                    "MCS Connect Initial offering {}: {why}",
                    encryption::method_names(a.offered)
                )
            })
            .collect(),
    );
    if tls_selected || !main_bad {
        f.severity = Severity::Warning;
    }
    out.push(f);
}

/// credssp-response-malformed and credssp-pubkey-mismatch: CredSSP answers that give no verdict
/// on the credentials, from the CHALLENGE probe and from the logon of `--user`.
fn credssp(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let primary_selects_credssp = obs
        .negotiation
        .iter()
        .any(|a| a.requested == PRIMARY && a.outcome.selects_credssp());
    let mut evidence = Vec::new();
    if let Some(NlaOutcome::Malformed {
        reason,
        excerpt_hex,
    }) = obs.nla.as_ref().map(|n| &n.outcome)
    {
        evidence.push(format!(
            "the answer to the NTLM NEGOTIATE (in a TSRequest) did not decode: {reason}{}",
            first_bytes(excerpt_hex)
        ));
    }
    // For the account that was typed, a logon without a verdict is the reason it cannot log on.
    let logon = obs.logon.as_ref().and_then(|l| {
        unanswered(&l.outcome, obs.timeout_secs).map(|why| {
            format!(
                "account {} ({}): {why}; no verdict on the credentials",
                l.user, l.package
            )
        })
    });
    let from_logon = logon.is_some();
    evidence.extend(logon);
    if !evidence.is_empty() {
        let mut f = finding(FindingId::CredsspResponseMalformed, vars, evidence);
        if !primary_selects_credssp && !from_logon {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
    pubkey(obs, vars, out);
}

/// ", first bytes 1337..." when there are any.
fn first_bytes(excerpt_hex: &str) -> String {
    if excerpt_hex.is_empty() {
        String::new()
    } else {
        format!("; first bytes {excerpt_hex}")
    }
}

/// Why a logon's CredSSP exchange gave no usable answer, if that is how it ended.
fn unanswered(o: &LogonOutcome, timeout: Option<f64>) -> Option<String> {
    let within = timeout
        .map(|t| format!(" within {t} s"))
        .unwrap_or_default();
    match o {
        LogonOutcome::Malformed {
            phase,
            reason,
            excerpt_hex,
        } => Some(format!(
            "{}: {reason}{}",
            match phase {
                NlaPhase::Challenge => "the answer to the NTLM NEGOTIATE (the CHALLENGE) cannot be used",
                _ => "the answer to the NTLM AUTHENTICATE cannot be used",
            },
            first_bytes(excerpt_hex)
        )),
        LogonOutcome::TimedOut { phase, bytes } => Some(format!(
            "no answer to {}{within} ({bytes} bytes of one arrived): the server, or something on the path, went silent",
            match phase {
                NlaPhase::Challenge => "the NTLM NEGOTIATE (no CHALLENGE)",
                NlaPhase::EarlyUserAuthorization => "the TSCredentials (no Early User Authorization Result, MS-RDPBCGR 2.2.10.2)",
                _ => "the NTLM AUTHENTICATE (no pubKeyAuth, no error code)",
            }
        )),
        _ => None,
    }
}

/// credssp-pubkey-mismatch: a pubKeyAuth that does not verify, or none at all after the
/// AUTHENTICATE.
fn pubkey(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(l) = obs.logon.as_ref() else {
        return;
    };
    let who = format!("account {} ({})", l.user, l.package);
    let first = match &l.outcome {
        LogonOutcome::PubKeyAuthMismatch { reason } => format!(
            "{who}: the server answered the NTLM AUTHENTICATE with a pubKeyAuth that does not verify against the TLS key this client saw ({reason})"
        ),
        LogonOutcome::PubKeyAuthMissing { answer } => format!(
            "{who}: the server answered the NTLM AUTHENTICATE without pubKeyAuth, the proof that it holds the TLS key: {answer}"
        ),
        _ => return,
    };
    let mut evidence = vec![
        first,
        "the NTLM response for this account went to whoever terminated TLS; no TSCredentials (no password) were sent".to_string(),
    ];
    if let Some(c) = obs.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
        evidence.push(format!(
            "the TLS certificate this client saw: {} issued by {}, SHA-256 {}",
            c.subject, c.issuer, c.sha256_hex
        ));
    }
    out.push(finding(FindingId::CredsspPubkeyMismatch, vars, evidence));
}
