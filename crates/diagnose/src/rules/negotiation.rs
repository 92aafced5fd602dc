//! cert-not-on-server, negotiation-refused, tls-not-allowed, nla-required, tls-required,
//! security-downgrade, legacy-negotiation, nla-not-enforced: what the server answers to each
//! protocol set (MS-RDPBCGR 2.2.1.2, 3.3.5.3.1).

use super::{describe_negotiation, finding, neg_failure_name, Vars};
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    protocol, NegFailureCode, NegotiationAttempt, NegotiationOutcome, Observations,
};
const NLA_BITS: u32 = protocol::NLA;
const ENHANCED_BITS: u32 = protocol::SSL | NLA_BITS | protocol::RDSTLS | protocol::RDSAAD;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(first) = obs.negotiation.first() else {
        return;
    };
    if !answered(&first.outcome) {
        return;
    }
    failure_findings(obs, vars, out);
    negotiation_refused(obs, first, vars, out);
    selection_findings(obs, vars, out);
}

/// `request HYBRID got ...`: one evidence line per request.
fn line(a: &NegotiationAttempt) -> String {
    format!(
        "request {} got {}",
        protocol::names(a.requested),
        describe_negotiation(&a.outcome)
    )
}

/// The requests answered with an RDP_NEG_FAILURE code that `pred` accepts.
fn failures(
    obs: &Observations,
    pred: &dyn Fn(&NegotiationAttempt, NegFailureCode) -> bool,
) -> Vec<String> {
    obs.negotiation
        .iter()
        .filter(|a| matches!(a.outcome, NegotiationOutcome::Failure { code } if pred(a, code)))
        .map(line)
        .collect()
}

fn without_nla(a: &NegotiationAttempt) -> bool {
    a.requested & NLA_BITS == 0
}

fn without_ssl(a: &NegotiationAttempt) -> bool {
    a.requested & protocol::SSL == 0
}

/// Whether one of the findings of `failure_findings` explains this failure code for this request.
fn explained(a: &NegotiationAttempt, code: NegFailureCode) -> bool {
    match code {
        NegFailureCode::SslCertNotOnServer => true,
        NegFailureCode::SslNotAllowedByServer => a.requested & ENHANCED_BITS != 0,
        NegFailureCode::HybridRequiredByServer => without_nla(a),
        NegFailureCode::SslRequiredByServer => without_ssl(a),
        _ => false,
    }
}

/// cert-not-on-server, tls-not-allowed, nla-required, tls-required: failure codes that say what
/// the server insists on.
fn failure_findings(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let any_selected = obs.negotiation.iter().any(|a| {
        matches!(
            a.outcome,
            NegotiationOutcome::Selected { .. } | NegotiationOutcome::NoNegotiationData
        )
    });

    let ev = failures(obs, &|_, code| code == NegFailureCode::SslCertNotOnServer);
    if !ev.is_empty() {
        out.push(finding(FindingId::CertNotOnServer, vars, ev));
    }

    let ev = failures(obs, &|a, code| {
        code == NegFailureCode::SslNotAllowedByServer && a.requested & ENHANCED_BITS != 0
    });
    if !ev.is_empty() {
        let mut f = finding(FindingId::TlsNotAllowed, vars, ev);
        if !any_selected {
            f.severity = Severity::Blocking;
            f.evidence
                .push("no request was accepted, not even Standard RDP Security".to_string());
        }
        out.push(f);
    }

    let ev = failures(obs, &|a, code| {
        code == NegFailureCode::HybridRequiredByServer && without_nla(a)
    });
    if !ev.is_empty() {
        out.push(finding(FindingId::NlaRequired, vars, ev));
    }

    // A request without the SSL bit (Standard RDP Security, or RDSTLS alone) refused because the
    // server insists on TLS.
    let ev = failures(obs, &|a, code| {
        code == NegFailureCode::SslRequiredByServer && without_ssl(a)
    });
    if !ev.is_empty() {
        out.push(finding(FindingId::TlsRequired, vars, ev));
    }
}

/// negotiation-refused: failures the findings above do not explain: unknown or rarely used codes,
/// or a code that contradicts the request (SSL_REQUIRED for a request that offered SSL...).
fn negotiation_refused(
    obs: &Observations,
    first: &NegotiationAttempt,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let refused: Vec<&NegotiationAttempt> = obs
        .negotiation
        .iter()
        .filter(
            |a| matches!(a.outcome, NegotiationOutcome::Failure { code } if !explained(a, code)),
        )
        .collect();
    if !refused.is_empty() {
        let primary_refused = refused.iter().any(|a| std::ptr::eq(*a, first));
        let mut f = finding(
            FindingId::NegotiationRefused,
            vars,
            refused.iter().map(|a| line(a)).collect(),
        );
        if !primary_refused {
            f.severity = Severity::Warning;
        }
        let mut codes: Vec<u32> = refused
            .iter()
            .filter_map(|a| match a.outcome {
                NegotiationOutcome::Failure { code } => Some(code.as_u32()),
                _ => None,
            })
            .collect();
        codes.sort_unstable();
        codes.dedup();
        fit_fixes_to_codes(&mut f, &codes);
        out.push(f);
    }
}

/// security-downgrade, legacy-negotiation, nla-not-enforced: what the server selected.
fn selection_findings(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let ev: Vec<String> = obs
        .negotiation
        .iter()
        .filter(|a| {
            // An RDSTLS-only request (used for redirected logons) is not what a client offers on its
            // own; xrdp treats it as a Standard RDP Security request, which says nothing about
            // downgrades. Only requests offering TLS or CredSSP count.
            a.requested & (protocol::SSL | NLA_BITS) != 0
                && matches!(a.outcome, NegotiationOutcome::Selected { protocol: p, .. } if p == protocol::RDP)
        })
        .map(line)
        .collect();
    if !ev.is_empty() {
        out.push(finding(FindingId::SecurityDowngrade, vars, ev));
    }

    let ev: Vec<String> = obs
        .negotiation
        .iter()
        .filter(|a| a.outcome == NegotiationOutcome::NoNegotiationData)
        .map(line)
        .collect();
    if !ev.is_empty() {
        out.push(finding(FindingId::LegacyNegotiation, vars, ev));
    }

    let ev: Vec<String> = obs
        .negotiation
        .iter()
        .filter(|a| {
            without_nla(a)
                && matches!(a.outcome, NegotiationOutcome::Selected { protocol: p, .. } if p & NLA_BITS == 0)
        })
        .map(line)
        .collect();
    if !ev.is_empty() {
        out.push(finding(FindingId::NlaNotEnforced, vars, ev));
    }
}

/// Keeps, of `negotiation-refused`'s fixes, the general first one (with `{code}` filled in, one
/// command per code) and those written for a code the server sent: a code-specific fix starts
/// with the code's name and number from the code table ("HYBRID_REQUIRED_BY_SERVER (5)"), or with
/// "Undocumented code" for values MS-RDPBCGR 2.2.1.2.2 does not define.
fn fit_fixes_to_codes(f: &mut Finding, codes: &[u32]) {
    let mut fixes = std::mem::take(&mut f.fixes).into_iter();
    if let Some(mut general) = fixes.next() {
        general.commands = general
            .commands
            .into_iter()
            .flat_map(|c| {
                if c.contains("{code}") {
                    codes
                        .iter()
                        .map(|code| c.replace("{code}", &code.to_string()))
                        .collect()
                } else {
                    vec![c]
                }
            })
            .collect();
        f.fixes.push(general);
    }
    let wanted: Vec<String> = codes.iter().map(|&c| code_fix_prefix(c)).collect();
    f.fixes
        .extend(fixes.filter(|fix| wanted.iter().any(|w| fix.text.starts_with(w.as_str()))));
}

/// How a code-specific fix of `negotiation-refused` starts.
pub(super) fn code_fix_prefix(code: u32) -> String {
    let name = neg_failure_name(code);
    if name.starts_with("undocumented") {
        "Undocumented code".to_string()
    } else {
        name
    }
}

/// Whether an X.224 answer arrived at all (the reachability rules handle the rest).
pub(crate) fn answered(outcome: &NegotiationOutcome) -> bool {
    matches!(
        outcome,
        NegotiationOutcome::Selected { .. }
            | NegotiationOutcome::Failure { .. }
            | NegotiationOutcome::NoNegotiationData
    )
}
