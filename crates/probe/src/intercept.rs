//! Whether an NTLM response may be sent. An NTLMv2 response is an offline-crackable hash of the
//! password: before the AUTHENTICATE goes out, the signs gathered so far in the same check are
//! weighed, and when anything says the far end may not be the server (a protocol selected that
//! was never requested, a certificate other than the pinned or remembered one, NTLM names that
//! match none of the certificate's), the logon is withheld and the signs are recorded.
//!
//! The only override is proof of the server's identity: a certificate on the logon connection
//! that matches `--cert-sha256`. `--trust-any-cert` does not override it: it accepts an
//! unverified certificate, not a connection that shows signs of interception.

use crate::Trust;
use openssl::hash::MessageDigest;
use openssl::x509::X509Ref;
use rdpdoctor_observations::{
    protocol, Certificate, NegotiationAttempt, NegotiationOutcome, NtlmInfo,
};

/// Signs known before any logon connection: the negotiation answers and the certificate the
/// TLS probes saw.
pub(crate) fn signs_before_logon(
    negotiation: &[NegotiationAttempt],
    certificate: Option<&Certificate>,
    trust: &Trust,
) -> Vec<String> {
    let mut signs = Vec::new();
    for a in negotiation {
        if let NegotiationOutcome::Selected { protocol: p, .. } = a.outcome {
            if protocol::is_known_selection(p) && protocol::violates_request(a.requested, p) {
                signs.push(format!(
                    "the request for {} was answered with {}, which was not requested (MS-RDPBCGR 2.2.1.2.1)",
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
            first.push_str(&format!(
                " ({n} requests were answered outside their request)"
            ));
        }
    }
    if let Some(c) = certificate {
        signs.extend(certificate_signs(c, trust));
    }
    signs
}

/// Signs in one certificate: another one than the pinned, or another key than the remembered.
pub(crate) fn certificate_signs(c: &Certificate, trust: &Trust) -> Vec<String> {
    let mut signs = Vec::new();
    if let Some(pin) = &trust.pinned_sha256 {
        if !hex::encode(pin).eq_ignore_ascii_case(&c.sha256_hex) {
            signs.push(format!(
                "the certificate (SHA-256 {}) is not the pinned one ({})",
                c.sha256_hex,
                hex::encode(pin)
            ));
        }
    } else if let Some(known) = &trust.remembered {
        if known.key_changed(c) {
            signs.push(format!(
                "the certificate (SHA-256 {}, issued by {}) carries another key than the one remembered for this target (SHA-256 {}, issued by {}, first seen {})",
                c.sha256_hex,
                c.issuer,
                known.sha256_hex,
                known.issuer,
                known.first_seen.strftime("%Y-%m-%d")
            ));
        }
    }
    signs
}

/// Whether the logon connection's own certificate matches `--cert-sha256`: proof that TLS ends
/// at the server the user pinned, whatever else looked wrong.
pub(crate) fn pinned_match(leaf: &X509Ref, trust: &Trust) -> bool {
    match (&trust.pinned_sha256, leaf.digest(MessageDigest::sha256())) {
        (Some(pin), Ok(d)) => d.as_ref() == pin.as_slice(),
        _ => false,
    }
}

/// Signs on the logon connection itself, once the CHALLENGE arrived: its certificate against
/// the pin or the remembered one, and the CHALLENGE's computer names against the certificate.
pub(crate) fn signs_on_connection(
    leaf: Option<&Certificate>,
    challenge: Option<&NtlmInfo>,
    trust: &Trust,
) -> Vec<String> {
    let mut signs = Vec::new();
    if let Some(c) = leaf {
        signs.extend(certificate_signs(c, trust));
        if let Some(why) = challenge.and_then(|i| rdpdoctor_observations::ntlm_names_disagree(c, i))
        {
            signs.push(why);
        }
    }
    signs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::KnownCertificate;

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
        assert!(signs_before_logon(&clean, None, &t).is_empty());
        let hybrid = [attempt(protocol::RDP, protocol::HYBRID)];
        assert_eq!(signs_before_logon(&hybrid, None, &t).len(), 1);
    }

    #[test]
    fn another_key_than_remembered_or_pinned_is_a_sign() {
        let seen = cert(&"aa".repeat(32), &"11".repeat(32));
        let mut t = Trust::default();
        assert!(certificate_signs(&seen, &t).is_empty());
        let mut known =
            KnownCertificate::from_certificate(&seen, None, jiff::Timestamp::UNIX_EPOCH);
        t.remembered = Some(known.clone());
        assert!(certificate_signs(&seen, &t).is_empty());
        known.sha256_hex = "bb".repeat(32);
        known.public_key_sha256 = Some("22".repeat(32));
        t.remembered = Some(known);
        assert_eq!(certificate_signs(&seen, &t).len(), 1);
        // A pin decides alone.
        t.pinned_sha256 = Some(vec![0xaa; 32]);
        assert!(certificate_signs(&seen, &t).is_empty());
        t.pinned_sha256 = Some(vec![0xcc; 32]);
        assert_eq!(certificate_signs(&seen, &t).len(), 1);
    }
}
