//! The finding catalog: every finding id with its severity rule, explanation, fixes and the error
//! a Windows client would most likely show. Ids are a public contract (scripts match on them): stable,
//! kebab-case, never renamed. `docs/findings.md` is generated from this data.
//!
//! Placeholders in fix commands: `{host}`, `{port}`, `{udp_port}` (the UDP port `check --udp`
//! probed) and `{sha1}` (certificate thumbprint) are filled in from the observations when a
//! finding is produced.

mod clients;
mod gateway;
mod hold;
mod intercept;
mod kerberos;
mod network;
mod nla;
mod offline;
pub(crate) mod path;
mod rdp_security;
mod session;
mod trust;
mod udp;

use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::CodeRef;

// The commands of the certificate recipe, shared by every finding that regenerates or repairs the
// Remote Desktop certificate, in the order they must run: read what blocked renewal, repair the
// key file, then delete and regenerate. Microsoft's own steps ("An internal error occurs when you
// try to connect to an Azure VM through Remote Desktop", learn.microsoft.com/troubleshoot/azure/
// virtual-machines/windows/troubleshoot-rdp-internal-error) delete the certificate from the Remote
// Desktop store and restart the Remote Desktop Configuration service (SessionEnv); TermService is
// restarted only after the MachineKeys repair. Restarting TermService ends every session on the
// server, the administrator's own included, so it is always the last resort here.

/// The certificate events in the System log. Each ID is tied to its provider: without
/// ProviderName, Group Policy's own 1055/1058/1065 (Microsoft-Windows-GroupPolicy) match too, on
/// every domain member. RemoteConnectionManager: 1056 new self-signed certificate, 1057 could not
/// create it, 1058 could not replace the expired one, 1065 could not replace an expired
/// template certificate (Microsoft Docs "Event ID 1065 — Terminal Services Authentication and
/// Encryption"); Schannel: 36870 private key unusable, 36871 no credential, 36874 no cipher suite,
/// 36888 fatal alert sent.
pub(super) const CERT_EVENTS: &str = "Get-WinEvent -FilterHashtable @{LogName='System'; ProviderName='Microsoft-Windows-TerminalServices-RemoteConnectionManager','Schannel'; Id=1056,1057,1058,1065,36870,36871,36874,36888} -MaxEvents 30 -ErrorAction SilentlyContinue | Format-List TimeCreated,Id,ProviderName,Message";

/// The thumbprint of the certificate the RDP listener really uses: Win32_TSGeneralSetting's
/// SSLCertificateSHA1Hash (Microsoft Learn, "Win32_TSGeneralSetting class"). A CA or template
/// certificate bound to the listener lives in LocalMachine\My, not in the Remote Desktop store,
/// so comparing a thumbprint with that store alone can miss it.
pub(super) const LISTENER_CERT: &str = r#"Get-CimInstance -Namespace root/cimv2/TerminalServices -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-Tcp'" | Select-Object TerminalName,SSLCertificateSHA1Hash"#;

/// The certificates of the Remote Desktop store, with whether Windows can reach each private key.
pub(super) const CERT_STORE: &str = r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Format-List Subject,Thumbprint,NotBefore,NotAfter,HasPrivateKey"#;

/// Finds the key file of the newest Remote Desktop certificate in MachineKeys, keeps its path in
/// `$f` for the commands after it (same PowerShell window) and shows its ACL.
pub(super) const KEY_FILE: &str = r#"$c = Get-ChildItem 'Cert:\LocalMachine\Remote Desktop' | Sort-Object NotAfter | Select-Object -Last 1; $k = $c.PrivateKey.Key.UniqueName; if (-not $k) { $k = $c.PrivateKey.CspKeyContainerInfo.UniqueKeyContainerName }; $f = "C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\$k"; $f; icacls $f"#;

/// Saves the key file's ACL before it is changed (restore with
/// `icacls C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys /restore C:\rdpdiag\rdp-key-acl.txt`).
pub(super) const KEY_FILE_BACKUP: &str = r"New-Item -ItemType Directory -Force C:\rdpdiag | Out-Null; icacls $f /save C:\rdpdiag\rdp-key-acl.txt";

/// Grants what the key file needs, accounts named by SID so the command works on every language
/// of Windows: SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) Full control, NETWORK SERVICE
/// (S-1-5-20, the account of Remote Desktop Services) Read. The file only: MachineKeys key files
/// do not inherit from the folder (KB 278381 "Default permissions for the MachineKeys folders":
/// Administrators and Everyone have rights on "this folder only").
pub(super) const KEY_FILE_GRANT: &str =
    r#"icacls $f /grant "*S-1-5-18:(F)" "*S-1-5-32-544:(F)" "*S-1-5-20:(R)""#;

/// The MachineKeys folder's own ACL, read only, to compare with the default of KB 278381.
pub(super) const MACHINEKEYS_ACL: &str = r"icacls C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys";

/// Regenerates the self-signed certificate the way Microsoft's procedure does.
pub(super) const RESTART_SESSIONENV: &str = "Restart-Service SessionEnv";

/// Confirms that a new self-signed certificate was made (RemoteConnectionManager 1056).
pub(super) const CONFIRM_1056: &str = "Get-WinEvent -FilterHashtable @{LogName='System'; ProviderName='Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id=1056} -MaxEvents 1 -ErrorAction SilentlyContinue | Format-List TimeCreated,Message";

/// The last resort: ends every session on the server, including the administrator's own.
pub(super) const RESTART_TERMSERVICE: &str = "Restart-Service TermService -Force";

/// The inbound Remote Desktop rules with their profiles.
pub(super) const FIREWALL_SHOW: &str = r#"Get-NetFirewallRule -DisplayGroup "Remote Desktop" -Direction Inbound | Format-Table Name,Enabled,Profile,Action"#;

/// Enables the inbound Remote Desktop rules for the Domain and Private profiles only. Enabling
/// the whole display group also enables rules scoped to (or covering) the Public profile, which
/// opens RDP on every untrusted network the machine joins.
pub(super) const FIREWALL_ENABLE_SCOPED: &str = r#"Get-NetFirewallRule -DisplayGroup "Remote Desktop" -Direction Inbound | Set-NetFirewallRule -Profile Domain,Private -Enabled True"#;

/// A fix as written in the catalog.
#[derive(Debug)]
pub struct FixDef {
    pub text: &'static str,
    pub commands: &'static [&'static str],
}

/// What a Windows client most likely shows, in words.
#[derive(Debug)]
pub struct ClientDef {
    pub text: &'static str,
    /// True when the mapping is inferred rather than documented.
    pub likely: bool,
}

/// The client codes a finding most likely shows up as: mstsc disconnect and extended reasons,
/// and the RDP_NEG_FAILURE, TLS alert, NTSTATUS, HRESULT or FreeRDP codes that go with them,
/// most telling first. `check` attaches them to the finding; `explain` reads them backwards.
#[derive(Clone, Copy, Debug)]
pub struct ClientCodes {
    pub codes: &'static [CodeRef],
    /// True when the link is an inference, not documented.
    pub inferred: bool,
}

impl ClientCodes {
    pub const NONE: ClientCodes = ClientCodes {
        codes: &[],
        inferred: false,
    };
}

/// Code family shorthands for the `client_codes` of catalog entries.
mod families {
    use rdpdoctor_codes::Family;

    pub(super) const D: Family = Family::Disconnect;
    pub(super) const X: Family = Family::Extended;
    pub(super) const E: Family = Family::Errinfo;
    pub(super) const F: Family = Family::Freerdp;
    pub(super) const N: Family = Family::NegFailure;
    pub(super) const NT: Family = Family::Ntstatus;
    pub(super) const H: Family = Family::Hresult;
    pub(super) const T: Family = Family::TlsAlert;
    pub(super) const G: Family = Family::Gateway;
    pub(super) const P: Family = Family::Tsgu;
    pub(super) const K: Family = Family::Kerberos;
    pub(super) const W: Family = Family::Win32;
}

/// What a finding does to the verdict beyond its severity and step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The earliest step wins, a cause before the symptom it explains.
    Ordinary,
    /// It is the headline whatever else broke earlier: proof that something other than the
    /// server terminates the connection outranks every symptom. Lower ranks first.
    Headline { rank: u8 },
    /// Blocking, it means the RDP service could not be reached at all: the verdict's status is
    /// `unreachable` rather than `broken`.
    Unreachable,
}

/// One catalog entry.
#[derive(Debug)]
pub struct FindingDef {
    pub id: FindingId,
    pub step: Step,
    /// The usual severity; `severity_rule` says when a rule chooses another.
    pub severity: Severity,
    pub severity_rule: &'static str,
    pub title: &'static str,
    /// For warnings: true when some clients cannot connect because of it (rather than it being a
    /// weakness only). A degraded verdict names such a finding first.
    pub breaks_some_clients: bool,
    /// What it does to the verdict.
    pub verdict: Verdict,
    /// Findings this one is the cause of (e.g. `cert-private-key-inaccessible` explains
    /// `tls-handshake-failed`). When both are present, the verdict names this one and carries the
    /// explained finding's evidence with it.
    pub explains: &'static [FindingId],
    pub explanation: &'static str,
    /// Least invasive first.
    pub fixes: &'static [FixDef],
    pub client: Option<ClientDef>,
    pub client_codes: ClientCodes,
}

/// Every catalog entry, in step order.
pub fn all() -> impl Iterator<Item = &'static FindingDef> {
    network::REACHABILITY
        .iter()
        .chain(network::NEGOTIATION)
        .chain(trust::NEGOTIATION)
        .chain(network::TLS)
        .chain(network::CERTIFICATE)
        .chain(intercept::ENTRIES)
        .chain(rdp_security::ENTRIES)
        .chain(trust::RDP_SECURITY)
        .chain(nla::ENTRIES)
        .chain(kerberos::ENTRIES)
        .chain(trust::NLA)
        .chain(session::ENTRIES)
        .chain(hold::ENTRIES)
        .chain(trust::SESSION)
        .chain(offline::ENTRIES)
        .chain(clients::ENTRIES)
        .chain(path::ENTRIES)
        .chain(gateway::ENTRIES)
        .chain(udp::ENTRIES)
}

/// The entry for `id`. Every id has one (a test proves it); `None` cannot happen in practice.
pub fn get(id: FindingId) -> Option<&'static FindingDef> {
    all().find(|d| d.id == id)
}

/// The entry for a finding id as a report carries it (a string).
pub fn lookup(id: &str) -> Option<&'static FindingDef> {
    id.parse().ok().and_then(get)
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

/// The client codes catalog entry `id` lists.
pub fn client_codes(id: FindingId) -> ClientCodes {
    get(id).map_or(ClientCodes::NONE, |d| d.client_codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every id that docs/finding-ids.md (the public contract) lists: the backticked first cell
    /// of each table row (planned ids are bullets, not required yet). A missing file fails.
    fn contract_ids() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/finding-ids.md");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (the finding-id contract of the repository)"));
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

    /// The verdict roles the catalog gives: proof of interception heads every verdict (a
    /// pubKeyAuth that does not verify first), and only the findings of a service that cannot be
    /// reached make a blocking verdict `unreachable`, each blocking at the DNS or TCP step.
    #[test]
    fn verdict_roles_are_catalog_attributes() {
        let mut headlines: Vec<(u8, FindingId)> = all()
            .filter_map(|d| match d.verdict {
                Verdict::Headline { rank } => Some((rank, d.id)),
                _ => None,
            })
            .collect();
        headlines.sort();
        assert_eq!(
            headlines,
            [
                (0, FindingId::CredsspPubkeyMismatch),
                (1, FindingId::InterceptionSuspected)
            ]
        );
        let unreachable: Vec<&FindingDef> = all()
            .filter(|d| d.verdict == Verdict::Unreachable)
            .collect();
        assert_eq!(unreachable.len(), 7);
        for d in unreachable {
            assert_eq!(d.severity, Severity::Blocking, "{}", d.id);
            assert!(matches!(d.step, Step::Dns | Step::Tcp), "{}", d.id);
        }
    }

    /// Every FindingId has exactly one catalog entry, with a title, an explanation and fixes
    /// (info findings may have none), and every id of the public contract is a FindingId.
    #[test]
    fn every_id_has_one_catalog_entry_and_every_contract_id_is_a_variant() {
        let mut seen = HashSet::new();
        for d in all() {
            assert!(seen.insert(d.id), "duplicate entry for {}", d.id);
            assert!(!d.explanation.is_empty() && !d.title.is_empty(), "{}", d.id);
            // Something is wrong with every finding but an info one: it says how to fix it.
            assert!(
                !d.fixes.is_empty() || d.severity == Severity::Info,
                "{} has no fixes",
                d.id
            );
            assert_eq!(get(d.id).map(|e| e.id), Some(d.id));
            assert_eq!(lookup(d.id.as_str()).map(|e| e.id), Some(d.id));
        }
        for &id in FindingId::ALL {
            assert!(seen.contains(&id), "{id} has no catalog entry");
        }
        assert_eq!(seen.len(), FindingId::ALL.len());
        let contract = contract_ids();
        assert!(
            contract.len() >= 57,
            "finding-ids.md parsed badly: {contract:?}"
        );
        for id in &contract {
            assert!(
                id.parse::<FindingId>().is_ok(),
                "finding-ids.md lists {id}, FindingId lacks it"
            );
        }
        assert!(lookup("cert-expird").is_none());
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

    /// Every command of an entry's fixes, in the order a reader meets them.
    fn commands(d: &FindingDef) -> Vec<&'static str> {
        d.fixes
            .iter()
            .flat_map(|f| f.commands.iter().copied())
            .collect()
    }

    fn position(cmds: &[&str], pred: impl Fn(&str) -> bool) -> Option<usize> {
        cmds.iter().position(|c| pred(c))
    }

    fn deletes_rdp_certificate(c: &str) -> bool {
        c.contains(r"Cert:\LocalMachine\Remote Desktop") && c.contains("Remove-Item")
            || c.contains("SSLCertificateSHA1Hash")
                && (c.contains("reg delete") || c.contains("Remove-ItemProperty"))
    }

    #[test]
    fn certificate_fixes_read_what_blocked_renewal_and_restart_session_env_before_termservice() {
        let mut seen = 0;
        for d in all() {
            let cmds = commands(d);
            let Some(delete) = position(&cmds, deletes_rdp_certificate) else {
                continue;
            };
            seen += 1;
            let termservice = position(&cmds, |c| c.contains("Restart-Service TermService"));
            let session_env = position(&cmds, |c| c.contains("Restart-Service SessionEnv"));
            let session_env =
                session_env.unwrap_or_else(|| panic!("{}: no SessionEnv restart", d.id));
            if let Some(t) = termservice {
                assert!(session_env < t, "{}: TermService before SessionEnv", d.id);
                // The last resort stands alone, in its own fix.
                let f = d
                    .fixes
                    .iter()
                    .find(|f| f.commands.contains(&RESTART_TERMSERVICE))
                    .expect("fix");
                assert_eq!(f.commands.len(), 1, "{}", d.id);
                assert!(f.text.contains("every session"), "{}: {}", d.id, f.text);
            }
            // Reading the events that say why renewal failed comes first (SSL binding removals
            // excepted: they only drop a configured certificate that is gone).
            if cmds[delete].contains("Remove-Item \"Cert:")
                || cmds[delete].contains("| Remove-Item")
            {
                let read = position(&cmds, |c| c == CERT_EVENTS)
                    .unwrap_or_else(|| panic!("{}: deletes without reading 1057/1058", d.id));
                assert!(read < delete, "{}: deletes before reading why", d.id);
            }
        }
        // The seven findings of the review, at least.
        assert!(seen >= 7, "only {seen} certificate recipes");
        for id in [
            "cert-expired",
            "tls-handshake-failed",
            "cert-private-key-inaccessible",
            "cert-renewal-failed",
            "cert-not-yet-valid",
            "cert-weak-key",
            "cert-not-on-server",
        ] {
            let d = lookup(id).expect(id);
            let cmds = commands(d);
            assert!(position(&cmds, deletes_rdp_certificate).is_some(), "{id}");
            if let Some(t) = position(&cmds, |c| c.contains("TermService")) {
                let s = position(&cmds, |c| c.contains("SessionEnv")).expect(id);
                assert!(s < t, "{id}");
            }
        }
    }

    #[test]
    fn acl_changes_come_after_a_saved_backup_and_name_accounts_by_sid() {
        for d in all() {
            let cmds = commands(d);
            for (i, c) in cmds.iter().enumerate() {
                let lower = c.to_lowercase();
                if !lower.contains("icacls") {
                    continue;
                }
                let changes = [
                    "/grant",
                    "/deny",
                    "/remove",
                    "/reset",
                    "/setowner",
                    "/inheritance",
                ]
                .iter()
                .any(|op| lower.contains(op));
                if !changes {
                    continue;
                }
                assert!(
                    cmds[..i]
                        .iter()
                        .any(|b| b.contains("icacls") && b.contains("/save")),
                    "{}: ACL change without a prior icacls /save: {c}",
                    d.id
                );
                // Every account is a SID (*S-1-...): names differ by Windows language.
                let grants = c.split("/grant").nth(1).unwrap_or("");
                for account in grants.split('"').skip(1).step_by(2) {
                    assert!(account.starts_with("*S-1-"), "{}: {account} in {c}", d.id);
                }
                // Key files do not inherit from MachineKeys (KB 278381): no inheritable grants.
                assert!(
                    !c.contains("(OI)") && !c.contains("(CI)"),
                    "{}: inheritable grant on MachineKeys: {c}",
                    d.id
                );
            }
        }
    }

    #[test]
    fn every_event_query_with_an_id_names_its_provider() {
        for d in all() {
            for c in commands(d) {
                if c.contains("Get-WinEvent") && c.contains("Id=") {
                    assert!(c.contains("ProviderName="), "{}: {c}", d.id);
                }
                if c.contains("wevtutil qe") && c.contains("EventID=") {
                    assert!(c.contains("Provider[@Name="), "{}: {c}", d.id);
                }
                assert!(!c.contains("1071"), "{}: 1071 is unverified: {c}", d.id);
                // A CimInstance has no WMI methods.
                assert!(!c.contains(").GetGracePeriodDays()"), "{}: {c}", d.id);
            }
        }
    }

    #[test]
    fn no_security_layer_ssl_step_comes_before_a_certificate_check() {
        let sets_ssl = |f: &FixDef| {
            f.commands.iter().any(|c| {
                c.contains("SecurityLayer /t REG_DWORD /d 2")
                    || c.contains("-Name SecurityLayer -Value 2")
            }) || f.text.contains("SecurityLayer = 2")
                || f.text.contains("connections = SSL")
                || f.text.contains("connections\" = SSL")
        };
        let mut seen = 0;
        for d in all() {
            for (i, f) in d.fixes.iter().enumerate() {
                if !sets_ssl(f) {
                    continue;
                }
                seen += 1;
                let checked = d.fixes[..i]
                    .iter()
                    .chain(std::iter::once(f))
                    .any(|p| p.commands.contains(&CERT_STORE));
                assert!(
                    checked,
                    "{}: fix {} sets SecurityLayer 2 before any certificate check",
                    d.id,
                    i + 1
                );
            }
        }
        assert!(seen >= 8, "only {seen} SecurityLayer 2 steps found");
    }

    #[test]
    fn firewall_fixes_scope_the_remote_desktop_rules_to_profiles() {
        for d in all() {
            for c in commands(d) {
                assert!(
                    !c.contains("Enable-NetFirewallRule -DisplayGroup"),
                    "{}: enables the whole group, Public profile included: {c}",
                    d.id
                );
                if c.contains("Set-NetFirewallRule") && c.contains("Remote Desktop") {
                    assert!(c.contains("-Profile Domain,Private"), "{}: {c}", d.id);
                }
            }
        }
    }

    #[test]
    fn tls_protocol_fixes_set_both_values_and_restart() {
        for d in all() {
            for f in d.fixes {
                let enables = f.commands.iter().any(|c| {
                    c.contains(r"Protocols\TLS 1.2\Server")
                        && c.contains("Enabled /t REG_DWORD /d 1")
                });
                if enables {
                    assert!(
                        f.commands
                            .iter()
                            .any(|c| c.contains("DisabledByDefault /t REG_DWORD /d 0")),
                        "{}: Enabled without DisabledByDefault",
                        d.id
                    );
                    assert!(
                        f.text.contains("restart the server")
                            || f.commands.contains(&"Restart-Computer"),
                        "{}: no restart",
                        d.id
                    );
                }
            }
        }
        let legacy = lookup("tls-legacy-enabled").expect("entry");
        let text: String = legacy.fixes.iter().map(|f| f.text).collect();
        for other in ["IIS", "SQL Server", "WinRM"] {
            assert!(
                text.contains(other),
                "tls-legacy-enabled must warn about {other}"
            );
        }
    }

    #[test]
    fn nla_advice_keeps_nla_and_sets_the_security_layer_first() {
        let d = lookup("nla-not-enforced").expect("entry");
        let first_nla = d
            .fixes
            .iter()
            .position(|f| f.commands.iter().any(|c| c.contains("UserAuthentication")))
            .expect("an NLA step");
        let layer = d
            .fixes
            .iter()
            .position(|f| f.commands.iter().any(|c| c.contains("SecurityLayer")))
            .expect("a security layer step");
        assert!(layer < first_nla);
        let d = lookup("rdp-security-only").expect("entry");
        assert!(d
            .explanation
            .contains("Configure server authentication for client"));
        assert!(!d.explanation.contains("Require server authentication"));
    }

    #[test]
    fn stale_sessions_are_logged_off_not_reset() {
        for d in all() {
            for c in commands(d) {
                assert!(!c.contains("rwinsta"), "{}: {c}", d.id);
            }
        }
        let d = lookup("session-limit").expect("entry");
        assert!(commands(d).iter().any(|c| c.starts_with("logoff ")));
    }

    /// A finding whose step ends before the MCS connect cannot come with a Set Error Info code
    /// (MS-RDPBCGR 3.3.5.7.1), and a link `explain` rates as inference must be marked inferred.
    #[test]
    fn client_codes_agree_with_explains_confidence() {
        use rdpdoctor_codes::{Basis, Confidence, Family, FindingLinks, SCENARIOS};
        for d in all() {
            let codes = client_codes(d.id);
            if matches!(
                d.step,
                Step::Tcp | Step::Negotiation | Step::Tls | Step::Certificate
            ) || d.id.as_str().starts_with("cert-")
                || d.id.as_str().starts_with("tls-")
            {
                for c in codes.codes {
                    assert!(
                        !matches!(c.family, Family::Extended | Family::Errinfo),
                        "{}: a TLS-stage fault with {:?} 0x{:X}",
                        d.id,
                        c.family,
                        c.value
                    );
                }
            }
            for s in SCENARIOS {
                for cause in s.causes {
                    let names = cause.evidence.iter().any(|e| {
                        crate::links::CatalogLinks
                            .evidence_findings(cause.id, e.kind)
                            .contains(&d.id.as_str())
                    });
                    let weak =
                        cause.basis != Basis::Documented || cause.confidence == Confidence::Low;
                    let shares_code = codes
                        .codes
                        .iter()
                        .any(|c| s.when.iter().any(|alt| alt.contains(c)));
                    if names && weak && shares_code {
                        assert!(
                            codes.inferred,
                            "{}: linked to {} by a {:?}/{:?} cause, but not marked inferred",
                            d.id, s.id, cause.basis, cause.confidence
                        );
                    }
                }
            }
            // No sentence states 0x904 / extended 0x7 as fact.
            for sentence in d.explanation.split(". ") {
                if sentence.contains("0x7") && sentence.contains("0x904") {
                    let hedged = ["likely", "inference", "suggest", "reports", "rates"]
                        .iter()
                        .any(|w| sentence.contains(w));
                    assert!(hedged, "{}: states a code as fact: {sentence}", d.id);
                }
            }
        }
    }

    #[test]
    fn negotiation_refused_fixes_are_written_per_code() {
        let d = lookup("negotiation-refused").expect("entry");
        assert!(d.fixes[0].commands.iter().any(|c| c.contains("{code}")));
        for f in &d.fixes[1..] {
            let by_code = (1..=6).any(|code| {
                let e = rdpdoctor_codes::lookup(rdpdoctor_codes::Family::NegFailure, code)
                    .expect("1-6 are documented");
                f.text.starts_with(&format!("{} ({code})", e.name))
            });
            assert!(
                by_code || f.text.starts_with("Undocumented code"),
                "{}",
                f.text
            );
        }
    }
}
