//! Whether an NTLM response may be sent. An NTLMv2 response is an offline-crackable hash of the
//! password: before the AUTHENTICATE goes out, the signs gathered so far in the same check are
//! weighed, and when anything says the far end may not be the server (a protocol selected that
//! was never requested, a certificate other than the pinned one, another key than the remembered
//! one that is neither a renewal nor another node of a farm, a terminator other than the expected
//! one), the logon is withheld and the signs are recorded. NTLM names that match none of the
//! certificate's are a sign only beside another one: an alias or wildcard certificate has them
//! too, and an interceptor can copy names.
//!
//! The certificate is judged by the same comparison the diagnosis uses
//! (`rdpdoctor_observations::classify`), so that what is reported and what is withheld agree. A
//! certificate that verifies for the typed name, or matches a pin or the expected terminator,
//! is no sign.
//!
//! The only override is proof of the server's identity: a certificate on the logon connection
//! that matches `--cert-sha256` (or `--expect-terminator`). `--trust-any-cert` does not override
//! it: it accepts an unverified certificate, not a connection that shows signs of interception.

use crate::Trust;
use openssl::x509::X509Ref;
use rdpdoctor_observations::{
    classify, sign, CertChange, Certificate, NegotiationAttempt, NtlmInfo, Seen,
};

/// Signs known before any logon connection: the negotiation answers and the certificate the
/// TLS probes saw (with the CHALLENGE a negotiation connection read, when there is one).
pub(crate) fn signs_before_logon(
    negotiation: &[NegotiationAttempt],
    certificate: Option<&Certificate>,
    challenge: Option<&NtlmInfo>,
    trust: &Trust,
) -> Vec<String> {
    // The terminator the admin expects answers as it does: its own selections are no sign.
    let terminator =
        certificate.is_some_and(|c| trust.identity_of_leaf(c).matched_terminator.is_some());
    let mut signs: Vec<String> = Vec::new();
    if !terminator {
        signs.extend(sign::protocol_violations(negotiation));
    }
    if let Some(c) = certificate {
        signs.extend(certificate_signs(c, challenge, trust));
    }
    signs
}

/// Signs in one certificate (seen with the CHALLENGE `challenge`, when known): another one than
/// the pinned or the expected terminator, or another key than the remembered that is neither a
/// renewal nor another node of a farm. A certificate that verifies for the typed name is none.
pub(crate) fn certificate_signs(
    c: &Certificate,
    challenge: Option<&NtlmInfo>,
    trust: &Trust,
) -> Vec<String> {
    let identity = trust.identity_of_leaf(c);
    if !trust.pins.is_empty() {
        if identity.matched_pin.is_some() {
            return Vec::new();
        }
        return vec![sign::not_pinned(
            &c.sha256_hex,
            &crate::trust::list(&trust.pins),
        )];
    }
    if !trust.terminators.is_empty() {
        if identity.matched_terminator.is_some() {
            return Vec::new();
        }
        return vec![sign::not_the_terminator(
            c,
            &crate::trust::list(&trust.terminators),
        )];
    }
    let Some(known) = &trust.remembered else {
        return Vec::new();
    };
    let seen = Seen {
        certificate: c,
        ntlm: challenge,
        verified: identity.verified_for_target,
        now: jiff::Timestamp::now(),
    };
    match classify(known, &seen) {
        CertChange::Changed { previous, cloned }
            if previous.key_changed(c) && !identity.verified_for_target =>
        {
            vec![sign::another_key(c, previous, cloned)]
        }
        _ => Vec::new(),
    }
}

/// Whether the logon connection's own certificate matches `--cert-sha256` or
/// `--expect-terminator`: proof that TLS ends where the user said, whatever else looked wrong.
pub(crate) fn pinned_match(leaf: &X509Ref, trust: &Trust) -> bool {
    let Ok(described) = crate::certificate::describe(leaf, 1) else {
        return false;
    };
    let identity = trust.identity_of_leaf(&described);
    identity.matched_pin.is_some() || identity.matched_terminator.is_some()
}

/// Signs on the logon connection itself, once the CHALLENGE arrived: its certificate against
/// the pin or the remembered one, and the CHALLENGE's computer names against the certificate
/// (a sign only beside another one, and never for a certificate that verifies for the typed
/// name).
pub(crate) fn signs_on_connection(
    leaf: Option<&Certificate>,
    challenge: Option<&NtlmInfo>,
    trust: &Trust,
) -> Vec<String> {
    let mut signs = Vec::new();
    if let Some(c) = leaf {
        signs.extend(certificate_signs(c, challenge, trust));
        let verified = trust.identity_of_leaf(c).verified_for_target;
        if let Some(why) = challenge
            .filter(|_| !verified)
            .and_then(|i| rdpdoctor_observations::ntlm_names_disagree(c, i))
        {
            if !signs.is_empty() || !trust.signs.is_empty() {
                signs.push(why);
            }
        }
    }
    signs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::{protocol, CertPin, KnownCertificate, NegotiationOutcome};

    fn attempt(requested: u32, selected: u32) -> NegotiationAttempt {
        NegotiationAttempt {
            requested,
            elapsed_ms: 1.0,
            outcome: NegotiationOutcome::Selected {
                protocol: selected,
                flags: 0,
            },
            implied_by: None,
        }
    }

    fn cert(sha: &str, key: &str) -> Certificate {
        Certificate {
            subject: "CN=localhost".into(),
            subject_cn: vec!["localhost".into()],
            issuer: "CN=ca".into(),
            san_dns: vec![],
            san_ip: vec![],
            serial_hex: "01".into(),
            sha256_hex: sha.into(),
            sha1_hex: "BB".repeat(20),
            public_key_sha256: Some(key.into()),
            not_before: jiff::Timestamp::UNIX_EPOCH,
            not_after: jiff::Timestamp::UNIX_EPOCH,
            never_expires: false,
            self_signed: false,
            key_type: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_digest: None,
            chain_len: 1,
        }
    }

    #[test]
    fn a_selection_outside_the_request_is_a_sign() {
        let t = Trust::default();
        let clean = [attempt(protocol::RDP, protocol::RDP)];
        assert!(signs_before_logon(&clean, None, None, &t).is_empty());
        let hybrid = [attempt(protocol::RDP, protocol::HYBRID)];
        assert_eq!(signs_before_logon(&hybrid, None, None, &t).len(), 1);
    }

    #[test]
    fn another_key_than_remembered_or_pinned_is_a_sign() {
        let seen = cert(&"aa".repeat(32), &"11".repeat(32));
        let mut t = Trust::default();
        assert!(certificate_signs(&seen, None, &t).is_empty());
        let mut known =
            KnownCertificate::from_certificate(&seen, None, jiff::Timestamp::UNIX_EPOCH);
        t.remembered = Some(known.clone());
        assert!(certificate_signs(&seen, None, &t).is_empty());
        known.sha256_hex = "bb".repeat(32);
        known.public_key_sha256 = Some("22".repeat(32));
        t.remembered = Some(known);
        assert_eq!(certificate_signs(&seen, None, &t).len(), 1);
        // A pin decides alone.
        t.pins = vec![CertPin::parse(&"aa".repeat(32)).unwrap_or_else(|e| panic!("{e}"))];
        assert!(certificate_signs(&seen, None, &t).is_empty());
        t.pins = vec![CertPin::parse(&"cc".repeat(32)).unwrap_or_else(|e| panic!("{e}"))];
        assert_eq!(certificate_signs(&seen, None, &t).len(), 1);
    }

    #[test]
    fn a_name_disagreement_alone_never_withholds() {
        let mut seen = cert(&"aa".repeat(32), &"11".repeat(32));
        seen.subject_cn = vec!["rdp.corp.example".into()];
        let info = NtlmInfo {
            netbios_computer: Some("SRV01".into()),
            ..NtlmInfo::default()
        };
        let mut t = Trust::default();
        assert!(signs_on_connection(Some(&seen), Some(&info), &t).is_empty());
        // Beside another sign it counts.
        t.signs = vec!["the request for SSL was answered with HYBRID".into()];
        assert_eq!(signs_on_connection(Some(&seen), Some(&info), &t).len(), 1);
        // Never for a certificate whose chain verified for the typed name.
        t.probed = Some((
            seen.sha256_hex.clone(),
            rdpdoctor_observations::ChainIdentity {
                verified_for_target: true,
                ..Default::default()
            },
        ));
        assert!(signs_on_connection(Some(&seen), Some(&info), &t).is_empty());
    }
}
