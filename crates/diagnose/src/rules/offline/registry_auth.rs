//! Findings and settings from the NTLM and Kerberos policy values in registry exports (Microsoft
//! Learn, "Network security: Restrict NTLM: ..." and "Network security: Configure encryption types
//! allowed for Kerberos" / "LAN Manager authentication level" security-policy pages):
//!
//! * `HKLM\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0`: RestrictReceivingNTLMTraffic (0 allow
//!   all, 1 deny all domain accounts, 2 deny all accounts), RestrictSendingNTLMTraffic (0 allow
//!   all, 1 audit all, 2 deny all), ClientAllowedNTLMServers (exceptions),
//!   AuditReceivingNTLMTraffic (0 off, 1 domain accounts, 2 all accounts);
//! * `HKLM\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters\RestrictNTLMInDomain` on a domain
//!   controller (0 off, 1 deny domain accounts to domain servers, 3 deny domain accounts, 5 deny
//!   for domain servers, 7 deny all);
//! * `HKLM\SYSTEM\CurrentControlSet\Control\Lsa\LmCompatibilityLevel` (0-5; 3 and up send
//!   NTLMv2 only, 5 also refuses LM and NTLMv1);
//! * `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Kerberos\Parameters\
//!   SupportedEncryptionTypes` (bits: 0x1 DES-CBC-CRC, 0x2 DES-CBC-MD5, 0x4 RC4-HMAC, 0x8
//!   AES128, 0x10 AES256, higher bits future types).

use super::registry::get;
use super::Acc;
use crate::model::Severity;
use crate::FindingId;
use rdpdoctor_observations::RegistryValue;

const MSV1_0: &str = r"hklm\system\currentcontrolset\control\lsa\msv1_0";
const LSA: &str = r"hklm\system\currentcontrolset\control\lsa";
const NETLOGON: &str = r"hklm\system\currentcontrolset\services\netlogon\parameters";
const KRB_POLICY: &str =
    r"hklm\software\microsoft\windows\currentversion\policies\system\kerberos\parameters";

/// AES128 | AES256 in SupportedEncryptionTypes.
const AES: u32 = 0x8 | 0x10;

fn line(v: &RegistryValue, meaning: &str) -> String {
    let file = v.source.rsplit(['/', '\\']).next().unwrap_or(&v.source);
    format!(
        "{} = {} ({}): {meaning} [{file}]",
        v.name,
        v.display(),
        v.key
    )
}

fn receiving(n: u32) -> &'static str {
    match n {
        0 => "allow all incoming NTLM",
        1 => "deny incoming NTLM for all domain accounts",
        2 => "deny all incoming NTLM",
        _ => "an undefined value",
    }
}

fn sending(n: u32) -> &'static str {
    match n {
        0 => "allow all outgoing NTLM",
        1 => "audit all outgoing NTLM",
        2 => "deny all outgoing NTLM",
        _ => "an undefined value",
    }
}

fn in_domain(n: u32) -> &'static str {
    match n {
        0 => "NTLM in the domain allowed",
        1 => "deny NTLM for domain accounts to domain servers",
        3 => "deny NTLM for domain accounts",
        5 => "deny NTLM to domain servers",
        7 => "deny all NTLM in the domain",
        _ => "an undefined value",
    }
}

fn lm_level(n: u32) -> &'static str {
    match n {
        0 => "send LM and NTLM responses",
        1 => "send LM and NTLM, NTLMv2 session security if negotiated",
        2 => "send NTLM response only",
        3 => "send NTLMv2 response only",
        4 => "send NTLMv2 response only, refuse LM",
        5 => "send NTLMv2 response only, refuse LM and NTLM",
        _ => "an undefined value",
    }
}

fn etypes(mask: u32) -> String {
    let names: Vec<&str> = [
        (0x1, "DES-CBC-CRC"),
        (0x2, "DES-CBC-MD5"),
        (0x4, "RC4-HMAC"),
        (0x8, "AES128"),
        (0x10, "AES256"),
    ]
    .iter()
    .filter(|(bit, _)| mask & bit != 0)
    .map(|(_, name)| *name)
    .collect();
    if names.is_empty() {
        "no known encryption type".to_string()
    } else {
        names.join(", ")
    }
}

/// A policy value: its key, its name and what each number means.
type Described = (&'static str, &'static str, fn(u32) -> String);

/// The NTLM and Kerberos policy values as lines for the report's settings.
pub(super) fn settings(values: &[RegistryValue]) -> Vec<String> {
    let described: [Described; 6] = [
        (MSV1_0, "RestrictReceivingNTLMTraffic", |n| {
            receiving(n).to_string()
        }),
        (MSV1_0, "RestrictSendingNTLMTraffic", |n| {
            sending(n).to_string()
        }),
        (NETLOGON, "RestrictNTLMInDomain", |n| {
            in_domain(n).to_string()
        }),
        (LSA, "LmCompatibilityLevel", |n| lm_level(n).to_string()),
        (KRB_POLICY, "SupportedEncryptionTypes", etypes),
        (MSV1_0, "AuditReceivingNTLMTraffic", |n| {
            ["no audit", "audit domain accounts", "audit all accounts"]
                .get(n as usize)
                .unwrap_or(&"an undefined value")
                .to_string()
        }),
    ];
    let mut out = Vec::new();
    for (key, name, meaning) in described {
        if let Some(v) = get(values, key, name) {
            let text = v.dword().map_or("not a DWORD".to_string(), meaning);
            out.push(line(v, &text));
        }
    }
    if let Some(v) = get(values, MSV1_0, "ClientAllowedNTLMServers") {
        out.push(line(v, "servers exempt from the outgoing NTLM restriction"));
    }
    out
}

pub(super) fn check(values: &[RegistryValue], acc: &mut Acc) {
    ntlm(values, acc);
    kerberos(values, acc);
}

/// ntlm-blocked: a restriction that refuses NTLM logons. Audit values are not restrictions.
fn ntlm(values: &[RegistryValue], acc: &mut Acc) {
    let mut ev = Vec::new();
    if let Some(v) = get(values, MSV1_0, "RestrictReceivingNTLMTraffic") {
        if let Some(n @ (1 | 2)) = v.dword() {
            ev.push(line(
                v,
                &format!(
                    "{}: this server refuses NTLM logons of {}, so clients that connect by address, \
                     by a name without a TERMSRV SPN or without a reachable KDC cannot log on",
                    receiving(n),
                    if n == 1 { "domain accounts" } else { "every account" }
                ),
            ));
        }
    }
    if let Some(v) = get(values, MSV1_0, "RestrictSendingNTLMTraffic") {
        if v.dword() == Some(2) {
            let exceptions = get(values, MSV1_0, "ClientAllowedNTLMServers")
                .map(|e| format!("; exceptions: {}", e.display()))
                .unwrap_or_default();
            ev.push(line(
                v,
                &format!(
                    "deny all outgoing NTLM: this machine, as a client, can log on to Remote \
                     Desktop only with Kerberos{exceptions}"
                ),
            ));
        }
    }
    if let Some(v) = get(values, NETLOGON, "RestrictNTLMInDomain") {
        if let Some(n @ (1 | 3 | 5 | 7)) = v.dword() {
            ev.push(line(
                v,
                &format!(
                    "{} (this domain controller refuses those NTLM logons)",
                    in_domain(n)
                ),
            ));
        }
    }
    if !ev.is_empty() {
        // Kerberos works for clients that connect by the server's name, so only some fail.
        acc.add(FindingId::NtlmBlocked, Severity::Warning, ev);
    }
}

/// kerberos-etype-unsupported: the policy leaves no AES type.
fn kerberos(values: &[RegistryValue], acc: &mut Acc) {
    let Some(v) = get(values, KRB_POLICY, "SupportedEncryptionTypes") else {
        return;
    };
    let Some(mask) = v.dword() else {
        return;
    };
    if mask & AES == 0 {
        acc.add(
            FindingId::KerberosEtypeUnsupported,
            Severity::Warning,
            vec![line(
                v,
                &format!(
                    "allows {} but no AES type: Kerberos with accounts and domain controllers that \
                     require AES fails (KDC_ERR_ETYPE_NOSUPP); allow AES128 and AES256",
                    etypes(mask)
                ),
            )],
        );
    }
}
