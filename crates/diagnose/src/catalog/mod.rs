//! The finding catalog: every finding id with its severity rule, explanation, fixes and the error
//! a Windows client would most likely show. Ids are a public contract (FINDINGS.md): stable,
//! kebab-case, never renamed. `docs/findings.md` is generated from this data.
//!
//! Placeholders in fix commands: `{host}`, `{port}` and `{sha1}` (certificate thumbprint) are
//! filled in from the observations when a finding is produced.

mod network;
mod nla;
mod offline;
pub(crate) mod path;
mod rdp_security;
mod session;

use crate::model::{Severity, Step};

/// A fix as written in the catalog.
#[derive(Debug)]
pub struct FixDef {
    pub text: &'static str,
    pub commands: &'static [&'static str],
}

/// What a Windows client most likely shows, in words. The codes come from
/// `rdpdoctor_codes::FINDING_CODES`, the table `explain` reads too, so the two never disagree.
#[derive(Debug)]
pub struct ClientDef {
    pub text: &'static str,
    /// True when the mapping is inferred rather than documented.
    pub likely: bool,
}

/// One catalog entry.
#[derive(Debug)]
pub struct FindingDef {
    pub id: &'static str,
    pub step: Step,
    /// The usual severity; `severity_rule` says when a rule chooses another.
    pub severity: Severity,
    pub severity_rule: &'static str,
    pub title: &'static str,
    /// For warnings: true when some clients cannot connect because of it (rather than it being a
    /// weakness only). A degraded verdict names such a finding first.
    pub breaks_some_clients: bool,
    /// Findings this one is the cause of (e.g. `cert-private-key-inaccessible` explains
    /// `tls-handshake-failed`). When both are present, the verdict names this one and carries the
    /// explained finding's evidence with it.
    pub explains: &'static [&'static str],
    pub explanation: &'static str,
    /// Least invasive first.
    pub fixes: &'static [FixDef],
    pub client: Option<ClientDef>,
}

/// Every catalog entry, in step order.
pub fn all() -> impl Iterator<Item = &'static FindingDef> {
    network::REACHABILITY
        .iter()
        .chain(network::NEGOTIATION)
        .chain(network::TLS)
        .chain(network::CERTIFICATE)
        .chain(rdp_security::ENTRIES)
        .chain(nla::ENTRIES)
        .chain(session::ENTRIES)
        .chain(offline::ENTRIES)
        .chain(path::ENTRIES)
}

/// The entry for `id`.
pub fn get(id: &str) -> Option<&'static FindingDef> {
    all().find(|d| d.id == id)
}

/// The catalog as a Markdown reference page (docs/findings.md).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# rdpdoctor finding catalog\n\n\
         Generated from `crates/diagnose/src/catalog` (`rdpdoctor findings --markdown`). \
         Finding ids are stable: scripts, alert rules and CI gates may rely on them.\n\n\
         Severity describes what the finding does to a default, up-to-date Windows client: \
         `blocking` (it cannot connect), `warning` (it connects, but something is wrong or weak, \
         or some clients fail), `info`.\n",
    );
    let mut step = None;
    // Entries kept in other files (path.rs) join their step's section.
    let mut defs: Vec<&FindingDef> = all().collect();
    defs.sort_by_key(|d| d.step);
    for d in defs {
        if step != Some(d.step) {
            step = Some(d.step);
            out.push_str(&format!("\n## {}\n", d.step.label()));
        }
        out.push_str(&format!("\n### `{}`: {}\n\n", d.id, d.title));
        out.push_str(&format!(
            "- Severity: **{}**. {}\n",
            d.severity.label(),
            d.severity_rule
        ));
        let codes = client_codes(d.id);
        if d.client.is_some() || !codes.codes.is_empty() {
            let likely = if d.client.as_ref().is_some_and(|c| c.likely) || codes.inferred {
                " (likely; inferred)"
            } else {
                ""
            };
            let text = d.client.as_ref().map_or("", |c| c.text);
            let list: Vec<String> = codes
                .codes
                .iter()
                .map(|c| code_text(c.family, c.value))
                .collect();
            let list = if list.is_empty() {
                String::new()
            } else {
                format!(" Codes: {}.", list.join(", "))
            };
            out.push_str(&format!("- Client side{likely}: {text}{list}\n"));
        }
        out.push_str(&format!("\n{}\n", d.explanation));
        if !d.fixes.is_empty() {
            out.push_str("\nFixes, least invasive first:\n\n");
            for (i, f) in d.fixes.iter().enumerate() {
                out.push_str(&format!("{}. {}\n", i + 1, f.text));
                for c in f.commands {
                    out.push_str(&format!("   - `{c}`\n"));
                }
            }
        }
    }
    out
}

/// `disconnect 0x904 (disconnectReasonAtClientWinsockFDCLOSE)`, or the bare number when
/// undocumented.
pub fn code_text(family: rdpdoctor_codes::Family, value: u32) -> String {
    let family_id = serde_json::to_value(family)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    match rdpdoctor_codes::lookup(family, value) {
        Some(e) => format!("{family_id} 0x{value:X} ({})", e.name),
        None => format!("{family_id} 0x{value:X}"),
    }
}

/// The client codes the shared table links to finding `id`.
pub struct ClientCodes {
    pub codes: &'static [rdpdoctor_codes::CodeRef],
    pub inferred: bool,
}

pub fn client_codes(id: &str) -> ClientCodes {
    rdpdoctor_codes::FINDING_CODES
        .iter()
        .find(|f| f.finding == id)
        .map_or(
            ClientCodes {
                codes: &[],
                inferred: false,
            },
            |f| ClientCodes {
                codes: f.codes,
                inferred: f.inferred,
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every id that ../shared/design/FINDINGS.md (the public contract) lists: the backticked
    /// first cell of each table row. CI has ../shared beside the checkout; a missing file fails.
    fn contract_ids() -> Vec<String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/design/FINDINGS.md"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e} (the shared design folder must sit beside the checkout)")
        });
        let mut ids = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cell = line.split('|').nth(1).unwrap_or("");
            // "`password-expired` / `password-must-change`" names two ids in one cell.
            for part in cell.split('`').skip(1).step_by(2) {
                ids.push(part.to_string());
            }
        }
        ids
    }

    #[test]
    fn every_required_id_exists_once_and_is_kebab_case() {
        let mut seen = HashSet::new();
        for d in all() {
            assert!(seen.insert(d.id), "duplicate id {}", d.id);
            assert!(
                d.id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{} is not kebab-case",
                d.id
            );
            assert!(!d.explanation.is_empty() && !d.title.is_empty(), "{}", d.id);
        }
        let contract = contract_ids();
        assert!(
            contract.len() >= 57,
            "FINDINGS.md parsed badly: {contract:?}"
        );
        for id in &contract {
            assert!(
                seen.contains(id.as_str()),
                "FINDINGS.md lists {id}, the catalog lacks it"
            );
        }
    }

    #[test]
    fn certificate_and_tls_fixes_never_disable_nla() {
        for d in all().filter(|d| matches!(d.step, Step::Tls | Step::Certificate)) {
            for f in d.fixes {
                let text = format!("{} {}", f.text, f.commands.join(" ")).to_lowercase();
                assert!(
                    !text.contains("userauthentication /t reg_dword /d 0"),
                    "{} offers disabling NLA",
                    d.id
                );
                // The text may warn against it; no command may do it.
                for c in f.commands {
                    let c = c.to_lowercase();
                    assert!(
                        !(c.contains("machinekeys")
                            && (c.contains("rename")
                                || c.contains("ren ")
                                || c.contains("move")
                                || c.contains("remove-item")
                                || c.contains("rd "))),
                        "{} renames or removes MachineKeys: {c}",
                        d.id
                    );
                }
            }
        }
    }

    #[test]
    fn explain_knows_every_catalog_id_and_every_linked_code_decodes() {
        for d in all() {
            assert!(
                rdpdoctor_codes::KNOWN_FINDINGS.contains(&d.id),
                "{} is missing from rdpdoctor_codes::KNOWN_FINDINGS, so explain cannot link to it",
                d.id
            );
            for c in client_codes(d.id).codes {
                assert!(
                    rdpdoctor_codes::lookup(c.family, c.value).is_some(),
                    "{}: {:?} 0x{:X} is not in the code tables",
                    d.id,
                    c.family,
                    c.value
                );
            }
        }
    }
}
