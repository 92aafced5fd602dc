//! `reg export` / regedit files through the `regashii` crate: Version 5.00 (UTF-16LE with BOM,
//! CRLF) and REGEDIT4. Keys are normalized (`HKLM\...`, `ControlSet00N` → `CurrentControlSet`)
//! and only values under the keys that matter for RDP are kept (`RELEVANT`: Terminal Server and
//! its policies, Schannel, CredSSP and delegation policy, FIPS, the firewall and TermService).

use crate::{note_error, source, EvidenceError};
use rdpdoctor_observations::{Evidence, EvidenceKind, RegData, RegistryValue};
use regashii::{Registry, Value};

/// Keys (lowercase, normalized) whose values are kept, with their subkeys.
const RELEVANT: &[&str] = &[
    r"hklm\system\currentcontrolset\control\terminal server",
    r"hklm\software\policies\microsoft\windows nt\terminal services",
    r"hklm\system\currentcontrolset\control\securityproviders\schannel",
    r"hklm\software\microsoft\windows\currentversion\policies\system\credssp",
    r"hklm\software\policies\microsoft\windows\credentialsdelegation",
    r"hklm\software\microsoft\systemcertificates\remote desktop",
    r"hklm\system\currentcontrolset\control\lsa\fipsalgorithmpolicy",
    r"hklm\software\policies\microsoft\cryptography\configuration\ssl",
    r"hklm\system\currentcontrolset\services\sharedaccess\parameters\firewallpolicy",
    r"hklm\software\policies\microsoft\windowsfirewall",
    r"hklm\system\currentcontrolset\services\termservice",
    // NTLM restrictions (Restrict NTLM policies: RestrictSendingNTLMTraffic,
    // RestrictReceivingNTLMTraffic, ClientAllowedNTLMServers, AuditReceivingNTLMTraffic).
    r"hklm\system\currentcontrolset\control\lsa\msv1_0",
    // Kerberos: the encryption types policy and the local Kerberos parameters.
    r"hklm\software\microsoft\windows\currentversion\policies\system\kerberos\parameters",
    r"hklm\system\currentcontrolset\control\lsa\kerberos\parameters",
];

/// Keys whose own values are kept but not their subkeys': the Lsa key holds LmCompatibilityLevel,
/// and subkeys nothing RDP needs (some hold boot-key material); Netlogon's parameters hold
/// RestrictNTLMInDomain on a domain controller.
const RELEVANT_EXACT: &[&str] = &[
    r"hklm\system\currentcontrolset\control\lsa",
    r"hklm\system\currentcontrolset\services\netlogon\parameters",
];

pub(crate) fn read(file: &str, text: &str) -> Result<Evidence, EvidenceError> {
    let mut src = source(file, EvidenceKind::Reg);
    let cleaned = drop_unsafe_lines(text, &mut src);
    let registry = Registry::deserialize(&cleaned).map_err(|e| EvidenceError::BadReg {
        file: file.to_string(),
        reason: e.to_string(),
    })?;
    let mut ev = Evidence::default();
    for (key_name, key) in registry.keys() {
        if key.kind() == regashii::KeyKind::Delete {
            continue;
        }
        let key_path = normalize_key(key_name.raw());
        let lower = key_path.to_ascii_lowercase();
        let relevant = RELEVANT
            .iter()
            .any(|p| lower == *p || lower.starts_with(&format!("{p}\\")))
            || RELEVANT_EXACT.contains(&lower.as_str());
        for (name, value) in key.values() {
            src.records += 1;
            let data = convert(value);
            if !relevant || (lower.ends_with(r"\firewallrules") && !is_rdp_rule(name.raw(), &data))
            {
                continue;
            }
            src.kept += 1;
            ev.registry.push(RegistryValue {
                source: file.to_string(),
                key: key_path.clone(),
                name: name.raw().to_string(),
                data,
            });
        }
    }
    ev.sources.push(src);
    Ok(ev)
}

/// regashii 0.4 indexes the bytes of a `hex(5):` (big-endian DWORD) value without a length check,
/// so such lines (and their continuations) are dropped and counted before parsing. No RDP value
/// uses that type.
fn drop_unsafe_lines(text: &str, src: &mut rdpdoctor_observations::EvidenceSource) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if skipping {
            skipping = trimmed.ends_with('\\');
            continue;
        }
        let compact: String = trimmed
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.contains("=hex(5):") || compact.contains("=hex(05):") {
            note_error(
                src,
                format!("line {}: big-endian DWORD (hex(5)) value skipped", n + 1),
            );
            skipping = trimmed.ends_with('\\');
            continue;
        }
        out.push_str(line);
    }
    out
}

/// `HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\...` → `HKLM\SYSTEM\CurrentControlSet\...`.
pub(crate) fn normalize_key(raw: &str) -> String {
    let raw = raw.trim().trim_matches(|c| c == '[' || c == ']');
    let mut parts: Vec<String> = raw.split('\\').map(str::to_string).collect();
    if let Some(root) = parts.first_mut() {
        let upper = root.to_ascii_uppercase();
        *root = match upper.as_str() {
            "HKEY_LOCAL_MACHINE" | "HKLM" => "HKLM".to_string(),
            "HKEY_CURRENT_USER" | "HKCU" => "HKCU".to_string(),
            "HKEY_USERS" | "HKU" => "HKU".to_string(),
            _ => root.clone(),
        };
    }
    // An offline hive has no CurrentControlSet; exports of one may show ControlSet001.
    if let Some(cs) = parts.get_mut(2) {
        let l = cs.to_ascii_lowercase();
        if l.len() == "controlset001".len() && l.starts_with("controlset0") {
            *cs = "CurrentControlSet".to_string();
        }
    }
    parts.join("\\")
}

fn convert(value: &Value) -> RegData {
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match value {
        Value::Delete => RegData::Deleted,
        Value::Sz(s) => RegData::Sz { value: s.clone() },
        Value::ExpandSz(s) => RegData::ExpandSz { value: s.clone() },
        Value::Binary(b) => RegData::Binary { hex: hex(b) },
        Value::Dword(v) | Value::DwordBigEndian(v) => RegData::Dword { value: *v },
        Value::MultiSz(v) => RegData::MultiSz {
            values: v.iter().filter(|s| !s.is_empty()).cloned().collect(),
        },
        Value::Qword(v) => RegData::Qword { value: *v },
        Value::Hex { kind, bytes } => RegData::Other {
            kind: format!("{:x}", u8::from(*kind)),
            hex: hex(bytes),
        },
    }
}

/// Firewall rules are hundreds of values; keep the ones about Remote Desktop.
fn is_rdp_rule(name: &str, data: &RegData) -> bool {
    let text = match data {
        RegData::Sz { value } | RegData::ExpandSz { value } => value.to_ascii_lowercase(),
        _ => String::new(),
    };
    let name = name.to_ascii_lowercase();
    name.contains("remotedesktop")
        || text.contains("remotedesktop")
        || text.contains("remote desktop")
        || text.contains("lport=3389|")
        // The "Remote Desktop" rule group's resource string.
        || text.contains("@firewallapi.dll,-28752")
}
