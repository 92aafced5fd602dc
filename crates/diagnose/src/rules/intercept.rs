//! cert-changed (the certificate against the one remembered for the target) and
//! interception-suspected (the signs that something other than the server terminates the
//! connection, weighed together).

use super::{finding, Vars};
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    ntlm_names_disagree, protocol, Certificate, KnownCertificate, LogonOutcome, NegotiationOutcome,
    NlaOutcome, Observations,
};

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let seen = obs.tls.as_ref().and_then(|t| t.certificate.as_ref());
    let expected = obs.expected_certificate.as_ref();
    if let (Some(c), Some(known)) = (seen, expected.and_then(|e| e.remembered.as_ref())) {
        if !known.same_certificate(c) {
            out.push(finding(
                FindingId::CertChanged,
                vars,
                changed(obs, known, c),
            ));
        }
    }
    interception(obs, seen, vars, out);
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Evidence of cert-changed: both certificates, and whether the change looks like a renewal.
fn changed(obs: &Observations, known: &KnownCertificate, c: &Certificate) -> Vec<String> {
    let target = obs
        .target
        .as_ref()
        .map_or_else(String::new, |t| format!(" for {}:{}", t.host, t.port));
    let mut evidence = vec![
        format!(
            "remembered{target} since {}: SHA-256 {}, {} issued by {}, valid {} to {}",
            day(known.first_seen),
            known.sha256_hex,
            known.subject,
            known.issuer,
            day(known.not_before),
            day(known.not_after)
        ),
        format!(
            "presented now: SHA-256 {}, {} issued by {}, valid {} to {}",
            c.sha256_hex,
            c.subject,
            c.issuer,
            day(c.not_before),
            day(c.not_after)
        ),
    ];
    let key = if known.key_changed(c) {
        "a new key"
    } else {
        "the same key"
    };
    let mut differs = Vec::new();
    if known.subject != c.subject {
        differs.push("another subject".to_string());
    }
    if known.issuer != c.issuer {
        differs.push("another issuer".to_string());
    }
    if c.not_before <= known.not_before {
        differs.push(format!(
            "it is not newer (valid from {}, the remembered one from {})",
            day(c.not_before),
            day(known.not_before)
        ));
    }
    evidence.push(if differs.is_empty() {
        format!("looks like a renewal: the same subject and issuer, newer dates, {key}")
    } else {
        format!(
            "does not look like a renewal: {} ({key})",
            differs.join(", ")
        )
    });
    evidence
}

/// interception-suspected: every sign, each as one line of evidence.
fn interception(
    obs: &Observations,
    seen: Option<&Certificate>,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let mut signs: Vec<String> = Vec::new();
    for a in &obs.negotiation {
        if let NegotiationOutcome::Selected { protocol: p, .. } = a.outcome {
            if protocol::is_known_selection(p) && protocol::violates_request(a.requested, p) {
                signs.push(format!(
                    "negotiation-protocol-violation: the request for {} was answered with {}",
                    protocol::names(a.requested),
                    protocol::names(p)
                ));
            }
        }
    }
    // Several requests answered the same wrong way are one sign.
    if signs.len() > 1 {
        let n = signs.len();
        signs.truncate(1);
        if let Some(first) = signs.first_mut() {
            first.push_str(&format!(" ({n} requests answered outside their request)"));
        }
    }
    let expected = obs.expected_certificate.as_ref();
    if let Some(c) = seen {
        match expected.and_then(|e| e.pinned_sha256.as_deref()) {
            Some(pin) if !pin.eq_ignore_ascii_case(&c.sha256_hex) => signs.push(format!(
                "the certificate (SHA-256 {}) is not the pinned one ({pin})",
                c.sha256_hex
            )),
            Some(_) => {}
            None => {
                if let Some(known) = expected.and_then(|e| e.remembered.as_ref()) {
                    if known.key_changed(c) {
                        signs.push(format!(
                            "cert-changed: the certificate (SHA-256 {}) carries another key than the one remembered for this target (SHA-256 {}, since {})",
                            c.sha256_hex,
                            known.sha256_hex,
                            day(known.first_seen)
                        ));
                    }
                }
            }
        }
        if let Some(sign) = older_tls(obs, c) {
            signs.push(sign);
        }
        if let Some(NlaOutcome::Challenge { info }) = obs.nla.as_ref().map(|n| &n.outcome) {
            if let Some(why) = ntlm_names_disagree(c, info) {
                signs.push(why);
            }
        }
    }
    let mut proof = false;
    let mut notes = Vec::new();
    for l in obs.logon.iter() {
        match &l.outcome {
            LogonOutcome::PubKeyAuthMismatch { reason } => {
                proof = true;
                signs.push(format!(
                    "credssp-pubkey-mismatch (proof): the pubKeyAuth did not verify against the TLS key this client saw ({reason})"
                ));
            }
            LogonOutcome::Withheld { signs: why } => {
                if signs.is_empty() {
                    // The logon connection saw what the other probes did not (its own
                    // certificate or CHALLENGE): those are the signs.
                    signs.extend(why.iter().cloned());
                }
                notes.push(format!(
                    "no NTLM AUTHENTICATE was sent for account {} (--user): withheld because {}; pin the server's real certificate with --cert-sha256 to override",
                    l.user,
                    why.join("; ")
                ));
            }
            _ => {}
        }
    }
    if signs.is_empty() {
        return;
    }
    let blocking = proof || signs.len() >= 2;
    let mut evidence = signs;
    evidence.extend(notes);
    let mut f = finding(FindingId::InterceptionSuspected, vars, evidence);
    f.severity = if blocking {
        Severity::Blocking
    } else {
        Severity::Warning
    };
    out.push(f);
}

/// The sign of a TLS stack older than the server's: another certificate than the remembered one,
/// and the newest TLS version that completed with the remembered one now refused. A renewal does
/// not take TLS 1.3 away; a device that terminates TLS itself (pyrdp-mitm, an inspecting proxy)
/// often offers less than the server behind it.
fn older_tls(obs: &Observations, c: &Certificate) -> Option<String> {
    let known = obs.expected_certificate.as_ref()?.remembered.as_ref()?;
    let then = known.newest_tls?;
    let tls = obs.tls.as_ref()?;
    if known.same_certificate(c) || !tls.refused(then) {
        return None;
    }
    let now = tls
        .newest_completed()
        .map_or("none".to_string(), |v| v.label().to_string());
    Some(format!(
        "{} completed with the certificate remembered for this target (last seen {}); with this one it is refused (newest now: {now})",
        then.label(),
        day(known.last_seen)
    ))
}
