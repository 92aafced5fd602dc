//! What the client expected the server's certificate to be (a pin given on the command line, or
//! the certificate remembered for this target from an earlier check), and the comparisons of names
//! that several readers need. Filled in by the command line before diagnosis; the probe only
//! reads the fingerprints to decide whether an NTLM response may be sent.

use crate::{Certificate, NtlmInfo, TlsVersion};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What the certificate was expected to be before this check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateExpectation {
    /// `--cert-sha256`, as 64 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<String>,
    /// The certificate remembered for this target (`--known-certs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remembered: Option<KnownCertificate>,
    /// The file the remembered certificates are kept in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_certs_file: Option<String>,
    /// Why that file could not be read (corrupt, too large...): reported, never fatal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_certs_problem: Option<String>,
}

/// A certificate remembered for one target (`host:port`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownCertificate {
    pub sha256_hex: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo: the same key survives a renewal that reuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    pub subject: String,
    pub issuer: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// When this certificate was first seen for the target.
    pub first_seen: Timestamp,
    /// When it was last seen.
    pub last_seen: Timestamp,
    /// The newest TLS version whose handshake completed when this certificate was last seen
    /// (absent in files written before it was kept). An interceptor that presents another
    /// certificate often runs an older TLS stack than the server behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_tls: Option<TlsVersion>,
}

impl KnownCertificate {
    /// The entry to remember for a certificate seen at `now`.
    pub fn from_certificate(
        c: &Certificate,
        newest_tls: Option<TlsVersion>,
        now: Timestamp,
    ) -> KnownCertificate {
        KnownCertificate {
            sha256_hex: c.sha256_hex.to_ascii_lowercase(),
            public_key_sha256: c.public_key_sha256.clone(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            first_seen: now,
            last_seen: now,
            newest_tls,
        }
    }

    /// Whether `c` is this certificate.
    pub fn same_certificate(&self, c: &Certificate) -> bool {
        self.sha256_hex.eq_ignore_ascii_case(&c.sha256_hex)
    }

    /// Whether `c` carries another public key than this one (unknown counts as changed when
    /// the certificates differ).
    pub fn key_changed(&self, c: &Certificate) -> bool {
        if self.same_certificate(c) {
            return false;
        }
        match (&self.public_key_sha256, &c.public_key_sha256) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            _ => true,
        }
    }
}

/// The host names a certificate is issued for (SAN DNS names and subject CNs), lower-case,
/// without "localhost" (every machine) and address literals (they name no machine).
pub fn certificate_host_names(c: &Certificate) -> Vec<String> {
    let mut names: Vec<String> = c
        .san_dns
        .iter()
        .chain(c.subject_cn.iter())
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty() && n != "localhost" && n.parse::<std::net::IpAddr>().is_err())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// When the computer names a server gave in its NTLM CHALLENGE (MS-NLMP 2.2.2.1 AV_PAIRs) match
/// none of the host names its certificate is issued for, a description of both; `None` when they
/// agree or when either side names nothing comparable.
pub fn ntlm_names_disagree(c: &Certificate, info: &NtlmInfo) -> Option<String> {
    let cert = certificate_host_names(c);
    let mut ntlm: Vec<String> = Vec::new();
    if let Some(n) = &info.netbios_computer {
        ntlm.push(n.to_ascii_lowercase());
    }
    if let Some(n) = &info.dns_computer {
        let n = n.trim_end_matches('.').to_ascii_lowercase();
        ntlm.push(first_label(&n).to_string());
        ntlm.push(n);
    }
    ntlm.retain(|n| !n.is_empty() && n != "localhost");
    if cert.is_empty() || ntlm.is_empty() {
        return None;
    }
    let agrees = cert.iter().any(|c| {
        let wildcard_domain = c.strip_prefix("*.");
        ntlm.iter().any(|n| {
            n == c
                || first_label(c) == n.as_str()
                || wildcard_domain.is_some_and(|d| {
                    n.strip_suffix(d)
                        .is_some_and(|h| h.ends_with('.') && !h[..h.len() - 1].contains('.'))
                })
        })
    });
    if agrees {
        return None;
    }
    let said = [&info.netbios_computer, &info.dns_computer]
        .iter()
        .filter_map(|n| n.as_deref())
        .collect::<Vec<_>>()
        .join(" / ");
    Some(format!(
        "the NTLM CHALLENGE names the computer {said}, the certificate is issued for {}",
        cert.join(", ")
    ))
}

fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str]) -> Certificate {
        Certificate {
            subject: "CN=x".into(),
            subject_cn: vec![],
            issuer: "CN=ca".into(),
            san_dns: names.iter().map(|s| s.to_string()).collect(),
            san_ip: vec![],
            serial_hex: "01".into(),
            sha256_hex: "aa".repeat(32),
            sha1_hex: "BB".repeat(20),
            public_key_sha256: Some("cc".repeat(32)),
            not_before: Timestamp::UNIX_EPOCH,
            not_after: Timestamp::UNIX_EPOCH,
            never_expires: false,
            self_signed: false,
            key_type: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_digest: None,
            chain_len: 1,
        }
    }

    fn ntlm(netbios: &str, dns: Option<&str>) -> NtlmInfo {
        NtlmInfo {
            netbios_computer: Some(netbios.into()),
            dns_computer: dns.map(str::to_string),
            ..NtlmInfo::default()
        }
    }

    #[test]
    fn names_agree_by_full_name_first_label_or_wildcard() {
        let c = cert(&["rds01.corp.example"]);
        assert_eq!(
            ntlm_names_disagree(&c, &ntlm("RDS01", Some("rds01.corp.example"))),
            None
        );
        assert_eq!(ntlm_names_disagree(&c, &ntlm("RDS01", None)), None);
        let w = cert(&["*.corp.example"]);
        assert_eq!(
            ntlm_names_disagree(&w, &ntlm("X", Some("rds07.corp.example"))),
            None
        );
    }

    #[test]
    fn names_disagree_when_another_machine_answers() {
        let c = cert(&["rds01.corp.example"]);
        let why = ntlm_names_disagree(&c, &ntlm("ATTACKER-PC", Some("attacker-pc.lan")));
        assert!(why.is_some_and(|w| w.contains("ATTACKER-PC") && w.contains("rds01.corp.example")));
    }

    #[test]
    fn localhost_and_addresses_name_no_machine() {
        let c = cert(&["localhost", "127.0.0.1"]);
        assert_eq!(ntlm_names_disagree(&c, &ntlm("LABHOST", None)), None);
    }

    #[test]
    fn a_renewal_with_the_same_key_is_not_a_key_change() {
        let old = cert(&["a"]);
        let known = KnownCertificate::from_certificate(&old, None, Timestamp::UNIX_EPOCH);
        let mut renewed = old.clone();
        renewed.sha256_hex = "dd".repeat(32);
        assert!(!known.same_certificate(&renewed));
        assert!(!known.key_changed(&renewed));
        renewed.public_key_sha256 = Some("ee".repeat(32));
        assert!(known.key_changed(&renewed));
    }
}
