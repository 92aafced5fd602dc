//! Which clients can connect: every client profile's handshake simulated against what the probe
//! observed (`check --clients`). Pure: observations and findings in, one outcome per profile out.

mod profiles;
mod simulate;

pub use crate::model::{ClientOutcome, Outcome};
pub use profiles::PROFILES;
pub use simulate::{shares_tls_version, simulate, Chosen, Simulation};

use rdpdoctor_codes::Family;
use rdpdoctor_observations::TlsVersion;

#[cfg(test)]
mod tests;

/// What a client does with a server certificate it cannot verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertPolicy {
    /// Asks the user, who can connect anyway (mstsc's default, FreeRDP on a terminal).
    Prompt,
    /// Refuses to connect: mstsc with the policy "Configure server authentication for client"
    /// (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop
    /// Services > Remote Desktop Connection Client) = "Do not connect if authentication fails",
    /// AuthenticationLevel 1 in IMsRdpClientAdvancedSettings4. mstsc's default asks the user.
    Refuse,
    /// Never checks it (the identity rests on CredSSP's public-key binding alone).
    Accept,
}

/// The client's CredSSP Encryption Oracle Remediation setting (CVE-2018-0886, KB4093492).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OraclePolicy {
    /// Refuses servers that have not installed the update (version < 6 in the TSRequest).
    ForceUpdated,
    /// The default after May 2018: refuses unpatched servers as well, with the "encryption
    /// oracle remediation" error, when the client itself is patched.
    Mitigated,
    /// No such policy (non-Microsoft clients).
    NotEnforced,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credssp {
    /// Highest TSRequest version the client sends (MS-CSSP 2.2.1).
    pub version: u32,
    pub oracle: OraclePolicy,
}

/// Standard RDP Security methods the client can do (MS-RDPBCGR 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RdpSecuritySupport {
    /// encryptionMethods of its Client Security Data (MS-RDPBCGR 2.2.1.3.3).
    pub offered: u32,
    pub methods: &'static [&'static str],
    /// Whether it signs RC4 PDUs with the salted MAC (SEC_SECURE_CHECKSUM, MS-RDPBCGR
    /// 5.3.6.1.1) rather than the plain one Windows clients use.
    pub salted_mac: bool,
}

/// The codes a client shows for one kind of failure, from the shared code tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeList {
    pub codes: &'static [(Family, u32)],
    pub text: &'static str,
}

/// One client, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientProfile {
    /// Stable id (`--client ID`, `clients[].id`).
    pub id: &'static str,
    pub name: &'static str,
    /// Older names `--client` still accepts.
    pub aliases: &'static [&'static str],
    pub description: &'static str,
    /// The TLS implementation, as reasons name it ("which rustls does not implement").
    pub stack: &'static str,
    /// requestedProtocols of its X.224 Connection Request (MS-RDPBCGR 2.2.1.1.1).
    pub requested: u32,
    /// TLS versions this client can complete.
    pub tls_versions: &'static [TlsVersion],
    /// IANA names, in the client's order.
    pub cipher_suites: &'static [&'static str],
    /// Key-exchange groups (IANA TLS Supported Groups names), in the client's order.
    pub groups: &'static [&'static str],
    pub signature_algorithms: &'static [&'static str],
    /// Smallest RSA key it accepts in the server certificate (0: not checked).
    pub min_rsa_bits: u32,
    /// Smallest finite-field DH prime it accepts (0: not checked).
    pub min_dh_bits: u32,
    /// Whether it accepts SHA-1 signatures (certificate and handshake).
    pub sha1_signatures: bool,
    /// `None`: it cannot fall back to Standard RDP Security.
    pub standard_rdp_security: Option<RdpSecuritySupport>,
    pub credssp: Credssp,
    pub unverified_certificate: CertPolicy,
    pub tls_errors: CodeList,
    pub cipher_errors: CodeList,
    pub cert_errors: CodeList,
    pub nego_errors: CodeList,
    /// What it shows when its Encryption Oracle Remediation policy refuses the server's CredSSP
    /// (CVE-2018-0886): an authentication error after the credentials, not a certificate dialog.
    pub oracle_errors: CodeList,
    /// Where the data comes from ("unverified" when nothing public states it).
    pub sources: &'static [&'static str],
    /// What no source states.
    pub unverified: &'static str,
}

impl ClientProfile {
    /// The profile with this id or alias (case-insensitive).
    pub fn by_name(name: &str) -> Option<ClientProfile> {
        PROFILES.iter().copied().find(|p| {
            p.id.eq_ignore_ascii_case(name)
                || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// Its CredSSP can authenticate only with Kerberos ([`profiles::KERBEROS_ONLY_CREDSSP`]).
    pub fn credssp_kerberos_only(&self) -> bool {
        profiles::KERBEROS_ONLY_CREDSSP.contains(&self.id)
    }

    pub fn supports(&self, v: TlsVersion) -> bool {
        self.tls_versions.contains(&v)
    }

    /// Every id and alias `--client` accepts, for usage messages.
    pub fn names() -> Vec<&'static str> {
        let mut out = Vec::new();
        for p in PROFILES {
            out.push(p.id);
            out.extend(p.aliases.iter().copied());
        }
        out
    }
}

/// The profile ids `--client` accepts, then the older names with the profile each stands for,
/// as `--client`'s help lists them.
pub fn names_help() -> String {
    let ids: Vec<&str> = PROFILES.iter().map(|p| p.id).collect();
    let mut aliases = Vec::new();
    for (i, p) in PROFILES.iter().enumerate() {
        for a in p.aliases {
            let default = if i == 0 { ", the default" } else { "" };
            aliases.push(format!("{a} (= {}{default})", p.id));
        }
    }
    format!(
        "({}) or the older names {}",
        ids.join(", "),
        aliases.join(", ")
    )
}

/// The TLS versions a profile speaks, as a range (`1.0-1.3`, `1.0`).
fn tls_range(p: &ClientProfile) -> String {
    let label = |v: &TlsVersion| v.label().trim_start_matches("TLS ").to_string();
    match (p.tls_versions.iter().min(), p.tls_versions.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => label(lo),
        (Some(lo), Some(hi)) => format!("{}-{}", label(lo), label(hi)),
        _ => "none".to_string(),
    }
}

/// The profile table of the README, from the profiles themselves.
pub fn profiles_markdown() -> String {
    let mut out = String::from("| id | client | TLS | what it is |\n|---|---|---|---|\n");
    for (i, p) in PROFILES.iter().enumerate() {
        let mut id = format!("`{}`", p.id);
        let aliases: Vec<String> = p.aliases.iter().map(|a| format!("`{a}`")).collect();
        match (aliases.len(), i == 0) {
            (0, _) => {}
            (1, true) => id.push_str(&format!(" (alias {}, the default)", aliases.join(", "))),
            (1, false) => id.push_str(&format!(" (alias {})", aliases.join(", "))),
            (_, _) => id.push_str(&format!(" (aliases {})", aliases.join(", "))),
        }
        out.push_str(&format!(
            "| {id} | {} | {} | {} |\n",
            p.name,
            tls_range(p),
            p.description
        ));
    }
    out
}

impl Default for ClientProfile {
    fn default() -> Self {
        PROFILES[0]
    }
}
