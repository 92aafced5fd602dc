//! What the certificate seen now says against what was expected: cert-changed (another one than
//! the remembered), cert-renewed (a renewal of the remembered one), farm-node-changed (another
//! node of a farm behind the same target), expected-terminator (the TLS terminator the admin
//! named), and interception-suspected (the signs that something other than the server terminates
//! the connection, weighed together).
//!
//! The comparison with the remembered certificates is `rdpdoctor_observations::classify`, the same
//! one the probe uses to decide whether an NTLM response may be sent. A healthy enterprise is no
//! attack: a renewal, another node of a farm, an alias or wildcard certificate that verifies for
//! the typed name, a pinned one, or the terminator the admin expects raise no sign; a name
//! disagreement is a sign only beside another one (an interceptor can copy names, and
//! host-identity-mismatch already reports aliases).

use super::{finding, Vars};
use crate::context::Context;
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    classify, ntlm_names_disagree, sign, CertChange, Certificate, ChainIdentity, KnownCertificate,
    LogonOutcome, NlaOutcome, NtlmInfo, Observations, Seen,
};

pub(super) fn check(obs: &Observations, ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    let seen = obs.tls.as_ref().and_then(|t| t.certificate.as_ref());
    let identity = obs
        .tls
        .as_ref()
        .and_then(|t| t.identity.clone())
        .unwrap_or_default();
    let change = seen.and_then(|c| remembered_change(obs, c, &identity, ctx, vars, out));
    if let (Some(c), Some(pin)) = (seen, &identity.matched_terminator) {
        out.push(finding(
            FindingId::ExpectedTerminator,
            vars,
            terminator_evidence(obs, c, &pin.to_string()),
        ));
        // What the terminator does (its own selections, key and names) is its own, not a sign.
        return;
    }
    interception(obs, seen, &identity, change, vars, out);
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The CHALLENGE the NLA probe read, if any.
fn challenge(obs: &Observations) -> Option<&NtlmInfo> {
    match obs.nla.as_ref().map(|n| &n.outcome) {
        Some(NlaOutcome::Challenge { info }) => Some(info),
        _ => None,
    }
}

/// How the certificate differs from the remembered one, as the sign interception-suspected
/// weighs, after pushing cert-changed, cert-renewed or farm-node-changed.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    /// Another key that is neither a renewal nor another node.
    KeyChanged { cloned: bool },
    /// Nothing that is a sign (the same key, a renewal, another node).
    Innocent,
}

fn remembered_change(
    obs: &Observations,
    c: &Certificate,
    identity: &ChainIdentity,
    ctx: &Context,
    vars: &Vars,
    out: &mut Vec<Finding>,
) -> Option<Change> {
    let known = obs.expected_certificate.as_ref()?.remembered.as_ref()?;
    let seen = Seen {
        certificate: c,
        ntlm: challenge(obs),
        verified: identity.verified_for_target || identity.matched_pin.is_some(),
        now: ctx.now,
    };
    match classify(known, &seen) {
        CertChange::Same(_) => None,
        CertChange::Renewed { previous, why } => {
            let mut evidence = both(obs, previous, c);
            evidence.push(format!("a renewal: {why}; the remembered entry is updated"));
            out.push(finding(FindingId::CertRenewed, vars, evidence));
            Some(Change::Innocent)
        }
        CertChange::OtherNode { computer } => {
            let mut evidence = both(obs, known, c);
            let nodes: Vec<String> = known
                .nodes()
                .filter_map(|k| k.ntlm_computer.clone())
                .collect();
            evidence.push(format!(
                "another node of a farm: the NTLM CHALLENGE names the computer {computer}, the certificate agrees, and the remembered certificates came from {} (a load balancer or DNS round robin behind one name); it is remembered beside them",
                nodes.join(", ")
            ));
            out.push(finding(FindingId::FarmNodeChanged, vars, evidence));
            Some(Change::Innocent)
        }
        CertChange::Changed { previous, cloned } => {
            out.push(finding(
                FindingId::CertChanged,
                vars,
                changed(obs, previous, c),
            ));
            Some(if previous.key_changed(c) {
                Change::KeyChanged { cloned }
            } else {
                Change::Innocent
            })
        }
    }
}

/// The remembered certificate and the one presented now, each with both fingerprints (SHA-256
/// and the SHA-1 thumbprint Windows shows) and its dates.
fn both(obs: &Observations, known: &KnownCertificate, c: &Certificate) -> Vec<String> {
    let target = obs
        .target
        .as_ref()
        .map_or_else(String::new, |t| format!(" for {}:{}", t.host, t.port));
    let sha1 = known
        .sha1_hex
        .as_deref()
        .map_or_else(String::new, |s| format!(", SHA-1 thumbprint {s}"));
    vec![
        format!(
            "remembered{target} since {}: SHA-256 {}{sha1}, {} issued by {}, valid {} to {}",
            day(known.first_seen),
            known.sha256_hex,
            known.subject,
            known.issuer,
            day(known.not_before),
            day(known.not_after)
        ),
        format!(
            "presented now: SHA-256 {}, SHA-1 thumbprint {}, {} issued by {}, valid {} to {}",
            c.sha256_hex,
            c.sha1_hex,
            c.subject,
            c.issuer,
            day(c.not_before),
            day(c.not_after)
        ),
    ]
}

/// Evidence of cert-changed: both certificates, and why the change is not a renewal.
fn changed(obs: &Observations, known: &KnownCertificate, c: &Certificate) -> Vec<String> {
    let mut evidence = both(obs, known, c);
    let key = if known.key_changed(c) {
        "a new key"
    } else {
        "the same key"
    };
    let mut differs = Vec::new();
    if known.subject != rdpdoctor_observations::bounded(&c.subject) {
        differs.push("another subject".to_string());
    }
    if known.issuer != rdpdoctor_observations::bounded(&c.issuer) {
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
        format!("looks like a renewal (the same subject and issuer, newer dates, {key}), but the remembered one is not due and the new one does not verify for the name typed: compare the thumbprint on the server")
    } else {
        format!(
            "does not look like a renewal: {} ({key})",
            differs.join(", ")
        )
    });
    evidence
}

/// Evidence of expected-terminator: which terminator, and what it does differently.
fn terminator_evidence(obs: &Observations, c: &Certificate, pin: &str) -> Vec<String> {
    let mut evidence = vec![format!(
        "TLS ends at the expected terminator (--expect-terminator {pin}): SHA-256 {}, SHA-1 thumbprint {}, {} issued by {}",
        c.sha256_hex, c.sha1_hex, c.subject, c.issuer
    )];
    let own = negotiation_signs(obs);
    if !own.is_empty() {
        evidence.push(format!(
            "what it does on its own (no sign, it is the terminator you named): {}",
            own.join("; ")
        ));
    }
    evidence
}

/// The negotiation answers outside their request, as one sign (tagged with its finding).
fn negotiation_signs(obs: &Observations) -> Vec<String> {
    sign::protocol_violations(&obs.negotiation)
        .map(|s| format!("negotiation-protocol-violation: {s}"))
        .into_iter()
        .collect()
}

/// The signs in the certificate itself: a pin or an expected terminator it does not match, or
/// another key than the remembered one (with TLS 1.3 gone as a further sign when it is a clone).
fn certificate_signs(
    obs: &Observations,
    c: &Certificate,
    identity: &ChainIdentity,
    change: Option<Change>,
) -> Vec<String> {
    let expected = obs.expected_certificate.as_ref();
    let pins = expected.map(|e| e.pins.as_slice()).unwrap_or_default();
    let legacy_pin = expected.and_then(|e| e.pinned_sha256.as_deref());
    if !pins.is_empty() || legacy_pin.is_some() {
        let matched = identity.matched_pin.is_some()
            || pins.iter().any(|p| p.matches_leaf(c))
            || legacy_pin.is_some_and(|p| p.eq_ignore_ascii_case(&c.sha256_hex));
        if matched {
            return Vec::new();
        }
        let named = if pins.is_empty() {
            legacy_pin.unwrap_or_default().to_string()
        } else {
            pins.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return vec![sign::not_pinned(&c.sha256_hex, &named)];
    }
    let terminators = expected
        .map(|e| e.terminators.as_slice())
        .unwrap_or_default();
    if !terminators.is_empty() {
        // Matched: check() reported expected-terminator and returned before the signs.
        let expected = terminators
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return vec![sign::not_the_terminator(c, &expected)];
    }
    if identity.verified_for_target {
        return Vec::new();
    }
    let Some(Change::KeyChanged { cloned }) = change else {
        return Vec::new();
    };
    let Some(known) = expected.and_then(|e| e.remembered.as_ref()) else {
        return Vec::new();
    };
    let mut signs = vec![format!(
        "cert-changed: {}",
        sign::another_key(c, known, cloned)
    )];
    if cloned {
        signs.extend(older_tls(obs, known, c));
    }
    signs
}

/// interception-suspected: every sign, each as one line of evidence.
fn interception(
    obs: &Observations,
    seen: Option<&Certificate>,
    identity: &ChainIdentity,
    change: Option<Change>,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let mut signs = negotiation_signs(obs);
    let mut names = None;
    if let Some(c) = seen {
        signs.extend(certificate_signs(obs, c, identity, change));
        if !identity.verified_for_target && identity.matched_pin.is_none() {
            names = challenge(obs).and_then(|info| ntlm_names_disagree(c, info));
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
            // A server answers a good AUTHENTICATE with its pubKeyAuth; a relay that terminated
            // TLS itself cannot compute it and may leave it out. A broken server can too, so it is
            // a sign, not proof.
            LogonOutcome::PubKeyAuthMissing { answer } => signs.push(format!(
                "credssp-pubkey-mismatch: the server answered the NTLM AUTHENTICATE without a pubKeyAuth ({answer}), so nothing proves it holds the TLS key this client saw"
            )),
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
        // A name disagreement alone is an alias, not an interception (host-identity-mismatch).
        return;
    }
    signs.extend(names);
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

/// The sign of a TLS stack older than the server's, weighed only for a clone (another key with
/// the remembered subject and notBefore): the newest TLS version that completed with the
/// remembered certificate is refused now. A new key on its own can come with a policy change or
/// a key in a legacy CSP (no RSA-PSS, so no TLS 1.3); a device that clones the certificate and
/// terminates TLS itself (pyrdp-mitm, an inspecting proxy) often offers less than the server.
fn older_tls(obs: &Observations, known: &KnownCertificate, c: &Certificate) -> Option<String> {
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
