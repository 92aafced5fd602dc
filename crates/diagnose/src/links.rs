//! The links from code tables to findings, for `explain` and `docs/codes.md`: which findings a
//! client code goes with (each catalog entry's `client_codes`, and for an NTSTATUS the one mapping
//! in [`crate::ntstatus`]), and which findings confirm each known cause of a code. The code tables
//! (`rdpdoctor-codes`) sit below this crate and name no finding; they are handed [`CatalogLinks`].

use crate::catalog;
use crate::FindingId;
use rdpdoctor_codes::{CodeRef, EvidenceKind, Family, FindingLinks};

/// The findings a cause's evidence produces: (cause id in the code tables' scenarios, evidence
/// kind, findings). `Check` evidence is what `rdpdoctor check` reports; `OfflineCheck` evidence is
/// what `rdpdoctor logs` / `rdpdoctor host` find in the server's exports.
const CAUSE_FINDINGS: &[(&str, EvidenceKind, &[FindingId])] = {
    use EvidenceKind::{Check, OfflineCheck};
    use FindingId::*;
    &[
        (
            "rdp-certificate-unusable",
            Check,
            &[CertExpired, TlsHandshakeFailed, CertNotOnServer],
        ),
        (
            "rdp-certificate-unusable",
            OfflineCheck,
            &[CertRenewalFailed, CertPrivateKeyInaccessible],
        ),
        (
            "middlebox-ended-stream",
            Check,
            &[ConnectionReset, ClosedWithoutReply],
        ),
        (
            "tls-version-or-cipher-mismatch",
            Check,
            &[TlsHandshakeFailed, TlsLegacyOnly, TlsModernOnly],
        ),
        (
            "tls-version-or-cipher-mismatch",
            OfflineCheck,
            &[TlsDisabledInSchannel, TlsAlertSent],
        ),
        (
            "server-refuses-new-logons",
            Check,
            &[ServerDeniedConnection],
        ),
        (
            "nla-credssp-mismatch",
            Check,
            &[
                NlaRequired,
                NlaNotEnforced,
                CredsspOracleMismatch,
                LogonFailure,
            ],
        ),
        (
            "nla-credssp-mismatch",
            OfflineCheck,
            &[NlaDisabled, SecurityLayerRdp],
        ),
        ("connection-slots-exhausted", Check, &[ClosedWithoutReply]),
        ("connection-slots-exhausted", OfflineCheck, &[SessionLimit]),
        (
            "tcp-blocked",
            Check,
            &[PortFiltered, PortClosed, DnsFailure],
        ),
        (
            "tcp-blocked",
            OfflineCheck,
            &[RdpDisabled, PortChanged, FirewallDrop],
        ),
        (
            "credssp-oracle-remediation",
            Check,
            &[CredsspOracleMismatch],
        ),
        (
            "tls-protocol-version",
            Check,
            &[TlsHandshakeFailed, TlsLegacyOnly, TlsModernOnly],
        ),
        (
            "missing-rds-logon-right",
            Check,
            &[LogonRightMissing, AccessDenied],
        ),
        ("wrong-credentials", Check, &[LogonFailure]),
    ]
};

/// The catalog's links, handed to `rdpdoctor_codes::explain` and `reference_markdown`.
pub struct CatalogLinks;

/// Catalog entries in connection order (by step, catalog order within a step).
fn in_connection_order() -> Vec<&'static catalog::FindingDef> {
    let mut defs: Vec<&catalog::FindingDef> = catalog::all().collect();
    defs.sort_by_key(|d| d.step);
    defs
}

impl FindingLinks for CatalogLinks {
    fn findings_for_code(&self, code: CodeRef) -> Vec<&'static str> {
        if code.family == Family::Ntstatus {
            return crate::ntstatus::finding(code.value)
                .map(FindingId::as_str)
                .into_iter()
                .collect();
        }
        in_connection_order()
            .into_iter()
            .filter(|d| d.client_codes.codes.contains(&code))
            .map(|d| d.id.as_str())
            .collect()
    }

    fn evidence_findings(&self, cause: &str, kind: EvidenceKind) -> Vec<&'static str> {
        CAUSE_FINDINGS
            .iter()
            .filter(|(c, k, _)| *c == cause && *k == kind)
            .flat_map(|(_, _, ids)| ids.iter().map(|id| id.as_str()))
            .collect()
    }

    fn finding_codes(&self) -> Vec<(&'static str, &'static [CodeRef], bool)> {
        in_connection_order()
            .into_iter()
            .filter(|d| !d.client_codes.codes.is_empty())
            .map(|d| (d.id.as_str(), d.client_codes.codes, d.client_codes.inferred))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_codes::{code, explain, lookup, SCENARIOS};

    #[test]
    fn every_cause_link_names_a_cause_with_that_kind_of_evidence_once() {
        for (i, (cause, kind, ids)) in CAUSE_FINDINGS.iter().enumerate() {
            assert!(!ids.is_empty(), "{cause}: empty link");
            let known = SCENARIOS
                .iter()
                .flat_map(|s| s.causes)
                .any(|c| c.id == *cause && c.evidence.iter().any(|e| e.kind == *kind));
            assert!(known, "{cause} has no {kind:?} evidence in the code tables");
            assert!(
                !CAUSE_FINDINGS[..i]
                    .iter()
                    .any(|(c, k, _)| c == cause && k == kind),
                "{cause} {kind:?} linked twice"
            );
        }
        // Only evidence rdpdoctor itself produces leads to findings.
        assert!(CAUSE_FINDINGS
            .iter()
            .all(|(_, k, _)| matches!(k, EvidenceKind::Check | EvidenceKind::OfflineCheck)));
    }

    #[test]
    fn every_linked_code_decodes_and_ntstatus_links_follow_the_one_mapping() {
        for d in catalog::all() {
            for c in d.client_codes.codes {
                assert!(
                    lookup(c.family, c.value).is_some(),
                    "{}: {:?} 0x{:X} is not in the code tables",
                    d.id,
                    c.family,
                    c.value
                );
                if c.family == Family::Ntstatus {
                    assert_eq!(
                        crate::ntstatus::finding(c.value),
                        Some(d.id),
                        "{}: NTSTATUS 0x{:X} maps elsewhere",
                        d.id,
                        c.value
                    );
                }
            }
        }
        let links = CatalogLinks;
        assert!(links
            .findings_for_code(code(Family::Disconnect, 0x904))
            .contains(&"tls-handshake-failed"));
        assert!(links
            .findings_for_code(code(Family::Disconnect, 0x1B07))
            .contains(&"cert-expired"));
        assert_eq!(
            links.findings_for_code(code(Family::Ntstatus, 0xC000_0413)),
            ["access-denied"]
        );
        assert!(links
            .findings_for_code(code(Family::Ntstatus, 0xC000_005E))
            .is_empty());
    }

    #[test]
    fn gateway_kerberos_and_ntlm_codes_lead_to_their_findings() {
        let links = CatalogLinks;
        for (family, value, finding) in [
            (Family::Gateway, 0x0300_001B, "gateway-policy-denied"),
            (Family::Gateway, 0x0300_001C, "gateway-policy-denied"),
            (Family::Tsgu, 0x8007_59DA, "gateway-policy-denied"),
            (Family::Gateway, 0x0300_0022, "gateway-busy"),
            (Family::Tsgu, 0x59E6, "gateway-busy"),
            (Family::Tsgu, 0x8007_59DD, "gateway-target-unreachable"),
            (Family::Tsgu, 0x8007_59F9, "gateway-auth-method-unsupported"),
            (Family::Gateway, 0x0300_0006, "gateway-cert-name-mismatch"),
            (Family::Kerberos, 37, "kerberos-clock-skew"),
            (Family::Kerberos, 24, "kerberos-preauth-failed"),
            (Family::Kerberos, 14, "kerberos-etype-unsupported"),
            (Family::Kerberos, 7, "kerberos-spn-missing"),
            (Family::Ntstatus, 0xC000_0418, "ntlm-blocked"),
            (Family::Win32, 1937, "ntlm-blocked"),
            (Family::Ntstatus, 0xC000_02FD, "kerberos-etype-unsupported"),
        ] {
            assert!(
                links
                    .findings_for_code(code(family, value))
                    .contains(&finding),
                "{family} 0x{value:X} should lead to {finding}"
            );
        }
        // explain attaches them, as the user sees it.
        let x = explain(&["0x300001B".into()], None, &CatalogLinks).expect("decodes");
        assert!(x.codes[0].findings.contains(&"gateway-policy-denied"));
        let k = explain(&["KRB_AP_ERR_SKEW".into()], None, &CatalogLinks).expect("decodes");
        assert!(k.codes[0].findings.contains(&"kerberos-clock-skew"));
    }

    #[test]
    fn the_0x904_0x7_pair_names_the_findings_that_confirm_its_causes() {
        let x = explain(&["0x904".into(), "0x7".into()], None, &CatalogLinks).expect("decodes");
        let it = &x.interpretations[0];
        assert_eq!(it.id, "socket-closed-server-denied");
        let all: Vec<&str> = it
            .causes
            .iter()
            .flat_map(|c| c.findings.iter().copied())
            .collect();
        for f in [
            "cert-expired",
            "tls-handshake-failed",
            "server-denied-connection",
        ] {
            assert!(all.contains(&f), "{f} missing from {all:?}");
        }
    }

    #[test]
    fn docs_codes_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/codes.md");
        let want = rdpdoctor_codes::reference_markdown(&CatalogLinks);
        if std::env::var_os("RDPDOCTOR_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/codes.md");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/codes.md is out of date with the code tables; regenerate it with \
             `RDPDOCTOR_BLESS=1 cargo test -p rdpdoctor-diagnose docs_codes_md_is_current` and \
             commit the result"
        );
    }
}
