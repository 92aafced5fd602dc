//! cert-expired, cert-not-yet-valid, cert-expiring-soon, cert-name-mismatch, cert-self-signed,
//! cert-weak-key, cert-weak-signature: the certificate the server presents for RDP.

use super::{finding, Vars};
use crate::clients::Simulation;
use crate::context::Context;
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{Certificate, HostKind, Observations, Target};

use crate::model::{expiry_words, whole_days};

pub(super) fn check(
    obs: &Observations,
    ctx: &Context,
    sim: &Simulation,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let Some(cert) = obs.tls.as_ref().and_then(|t| t.certificate.as_ref()) else {
        return;
    };
    let who = format!(
        "certificate {} (SHA-1 thumbprint {})",
        cert.subject, cert.sha1_hex
    );
    validity(cert, &who, ctx, sim, vars, out);
    if let Some(target) = &obs.target {
        name_mismatch(cert, target, vars, out);
    }
    strength(cert, &who, vars, out);
}

/// cert-expired, cert-not-yet-valid, cert-expiring-soon: the validity period against the clock.
fn validity(
    cert: &Certificate,
    who: &str,
    ctx: &Context,
    sim: &Simulation,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let now = ctx.now.as_second();
    let after = cert.not_after.as_second();
    let before = cert.not_before.as_second();
    // mstsc at its default authentication level shows the identity dialog and lets the user
    // accept a certificate outside its validity period; a client that requires server
    // authentication refuses it (its certificate step, as the clients' simulation decides it).
    let validity_severity = if sim.chosen.refuses_unverified_certificate {
        Severity::Blocking
    } else {
        Severity::Warning
    };
    if after < now {
        let mut f = finding(
            FindingId::CertExpired,
            vars,
            vec![format!(
                "{who}: notAfter {}: {}",
                cert.not_after.strftime("%Y-%m-%d %H:%M UTC"),
                expiry_words(whole_days(after - now), true)
            )],
        );
        f.severity = validity_severity;
        out.push(f);
    } else if before > now {
        let mut f = finding(
            FindingId::CertNotYetValid,
            vars,
            vec![format!(
                "{who}: notBefore {} is {} ahead of this machine's clock ({})",
                cert.not_before.strftime("%Y-%m-%d %H:%M UTC"),
                match whole_days(before - now) {
                    0 => "less than a day".to_string(),
                    1 => "1 day".to_string(),
                    d => format!("{d} days"),
                },
                ctx.now.strftime("%Y-%m-%d %H:%M UTC")
            )],
        );
        f.severity = validity_severity;
        out.push(f);
    } else if whole_days(after - now) < ctx.cert_warning_days {
        out.push(finding(
            FindingId::CertExpiringSoon,
            vars,
            vec![format!(
                "{who}: notAfter {}: {} (threshold {} days)",
                cert.not_after.strftime("%Y-%m-%d %H:%M UTC"),
                expiry_words(whole_days(after - now), false),
                ctx.cert_warning_days
            )],
        ));
    }
}

/// cert-name-mismatch: no name in the certificate matches the name or address probed.
fn name_mismatch(cert: &Certificate, target: &Target, vars: &Vars, out: &mut Vec<Finding>) {
    if !names_match(cert, target) {
        let mut evidence = vec![format!(
            "probed {:?}; the certificate names {}",
            target.host,
            cert_names(cert).join(", ")
        )];
        if matches!(target.kind, HostKind::Ipv4 | HostKind::Ipv6) && cert.san_ip.is_empty() {
            evidence.push(format!(
                "{} is an IP address and the certificate carries no IP address entry: \
                 connected by address, it can never match; connect by the name it carries",
                target.host
            ));
        }
        out.push(finding(FindingId::CertNameMismatch, vars, evidence));
    }
}

/// cert-weak-key, cert-weak-signature, cert-self-signed.
fn strength(cert: &Certificate, who: &str, vars: &Vars, out: &mut Vec<Finding>) {
    let weak_key = match cert.key_type.as_str() {
        "RSA" | "DSA" => cert.key_bits < 2048,
        "EC" => cert.key_bits < 224,
        _ => false,
    };
    if weak_key {
        out.push(finding(
            FindingId::CertWeakKey,
            vars,
            vec![format!(
                "{who}: {} key of {} bits",
                cert.key_type, cert.key_bits
            )],
        ));
    }
    if matches!(cert.signature_digest.as_deref(), Some("SHA1" | "MD5")) {
        out.push(finding(
            FindingId::CertWeakSignature,
            vars,
            vec![format!("{who}: signed with {}", cert.signature_algorithm)],
        ));
    }
    if cert.self_signed {
        out.push(finding(
            FindingId::CertSelfSigned,
            vars,
            vec![format!(
                "{who}: issuer equals subject and the certificate's own key verifies its signature"
            )],
        ));
    }
}

/// Every name the certificate carries, for evidence.
pub(crate) fn cert_names(cert: &Certificate) -> Vec<String> {
    let mut names: Vec<String> = cert.san_dns.iter().map(|d| format!("DNS:{d}")).collect();
    names.extend(cert.san_ip.iter().map(|ip| format!("IP:{ip}")));
    names.extend(cert.subject_cn.iter().map(|cn| format!("CN={cn}")));
    if names.is_empty() {
        names.push("no name at all".to_string());
    }
    names
}

/// RFC 6125 matching: SAN entries of the right type decide; the CN counts only without DNS SANs.
/// (Windows' own self-signed certificates carry only a CN.)
fn names_match(cert: &Certificate, target: &Target) -> bool {
    match target.kind {
        HostKind::Ipv4 | HostKind::Ipv6 => {
            let Some(ip) = target.ip() else { return false };
            cert.san_ip.contains(&ip)
                || cert.subject_cn.iter().any(|cn| cn.parse().ok() == Some(ip))
        }
        HostKind::Name => {
            let host = target.host.to_ascii_lowercase();
            if cert.san_dns.is_empty() {
                cert.subject_cn.iter().any(|cn| dns_match(cn, &host))
            } else {
                cert.san_dns.iter().any(|d| dns_match(d, &host))
            }
        }
    }
}

/// A wildcard covers exactly one left-most label.
fn dns_match(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = pattern.strip_prefix("*.") {
        match host.split_once('.') {
            Some((label, tail)) => !label.is_empty() && tail == rest,
            None => false,
        }
    } else {
        pattern == host
    }
}

#[cfg(test)]
mod tests {
    use super::dns_match;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(dns_match("*.corp.example", "rdp01.corp.example"));
        assert!(!dns_match("*.corp.example", "a.b.corp.example"));
        assert!(!dns_match("*.corp.example", "corp.example"));
        assert!(dns_match("RDP01.corp.example.", "rdp01.corp.example"));
    }
}
