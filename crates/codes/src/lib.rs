//! Code tables as data, and the `explain` model built on them.
//!
//! One table per code family lives under [`tables`]; each row is a [`CodeEntry`] with the official
//! name, a plain-words meaning, its source (spec section or document) and whether a primary source
//! documents it at all. What is known about *causes* (ranked, each with the evidence that confirms
//! or rules it out) is data too, in [`knowledge`]. [`explain()`] combines both into a serializable
//! [`Explanation`]; [`reference_markdown()`] renders the tables as `docs/codes.md`.
//!
//! The tables were reviewed against the project's protocol reference (MS-RDPBCGR 2.2.1.2.2,
//! 2.2.5.1.1; the MsTscAx disconnect-reason and ExtendedDisconnectReasonCode lists; MS-CSSP and
//! FreeRDP's NTSTATUS mapping; the Schannel TLS-alert table; FreeRDP `error.h` and `xfreerdp.h`).

use serde::{Deserialize, Serialize};

mod explain;
pub mod knowledge;
pub mod licensing;
mod markdown;
pub mod tables;
#[cfg(test)]
mod tests;
pub mod windows;

pub use explain::{
    explain, CauseOut, CodeExplanation, EvidenceOut, ExplainError, Explanation, Interpretation,
    UnknownInfo,
};
pub use knowledge::{
    Basis, Cause, Confidence, Evidence, EvidenceKind, FindingLinks, NotFit, Scenario, Step,
    SCENARIOS,
};
pub use markdown::reference_markdown;

/// A family of numeric codes a Remote Desktop client or server shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// mstsc / MsTscAx `discReason` ("Error code: 0x904"; RDPClient event 1026 in decimal).
    Disconnect,
    /// mstsc `ExtendedDisconnectReason` ("Extended error code: 0x7").
    Extended,
    /// Server Set Error Info PDU `errorInfo` (MS-RDPBCGR 2.2.5.1.1).
    Errinfo,
    /// RDP_NEG_FAILURE `failureCode` in the X.224 Connection Confirm (MS-RDPBCGR 2.2.1.2.2).
    NegFailure,
    /// NTSTATUS values seen in CredSSP errors and logon failures (Security 4625 Status/SubStatus).
    Ntstatus,
    /// SSPI / CryptoAPI HRESULTs (SEC_E_*, NTE_*, CRYPT_E_*) seen in Schannel and RDP events.
    Hresult,
    /// TLS alert numbers (Schannel events 36887 / 36888).
    TlsAlert,
    /// FreeRDP (`xfreerdp`): connect error codes (0x0002xxxx) and the process exit codes.
    Freerdp,
    /// mstsc's RD Gateway disconnect reasons (0x03000001 and up: "Error code: 0x300001B").
    Gateway,
    /// RD Gateway result codes on the wire (E_PROXY_* HRESULTs, MS-TSGU 2.2.6).
    Tsgu,
    /// Kerberos protocol error numbers (KDC_ERR_*, KRB_AP_ERR_*, KRB_ERR_*; RFC 4120 7.5.9), as
    /// Security events 4768 / 4769 / 4771 show them in hex.
    Kerberos,
    /// Win32 error codes of the logon packages (ERROR_NTLM_BLOCKED 1937 and its neighbours).
    Win32,
}

impl Family {
    /// Every family, in the order used for "most likely first" when a bare number is given.
    pub const ALL: [Family; 12] = [
        Family::Disconnect,
        Family::Extended,
        Family::Errinfo,
        Family::NegFailure,
        Family::TlsAlert,
        Family::Freerdp,
        Family::Ntstatus,
        Family::Hresult,
        Family::Gateway,
        Family::Tsgu,
        Family::Kerberos,
        Family::Win32,
    ];

    /// The kebab-case id used on the command line (`--as`) and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Family::Disconnect => "disconnect",
            Family::Extended => "extended",
            Family::Errinfo => "errinfo",
            Family::NegFailure => "neg-failure",
            Family::Ntstatus => "ntstatus",
            Family::Hresult => "hresult",
            Family::TlsAlert => "tls-alert",
            Family::Freerdp => "freerdp",
            Family::Gateway => "gateway",
            Family::Tsgu => "tsgu",
            Family::Kerberos => "kerberos",
            Family::Win32 => "win32",
        }
    }

    /// A human title for headings.
    pub fn title(self) -> &'static str {
        match self {
            Family::Disconnect => "mstsc disconnect reason (discReason)",
            Family::Extended => "mstsc extended disconnect reason (ExtendedDisconnectReasonCode)",
            Family::Errinfo => "Set Error Info code (errorInfo, MS-RDPBCGR 2.2.5.1.1)",
            Family::NegFailure => "RDP_NEG_FAILURE code (MS-RDPBCGR 2.2.1.2.2)",
            Family::Ntstatus => "NTSTATUS (CredSSP / logon status)",
            Family::Hresult => "HRESULT / SECURITY_STATUS (SSPI, Schannel, CryptoAPI)",
            Family::TlsAlert => "TLS alert (RFC 5246 / 8446; Schannel 36887 / 36888)",
            Family::Freerdp => "FreeRDP connect error / xfreerdp exit code",
            Family::Gateway => "mstsc RD Gateway disconnect reason (0x03000001 and up)",
            Family::Tsgu => "RD Gateway result code (E_PROXY_*, MS-TSGU 2.2.6)",
            Family::Kerberos => "Kerberos error (RFC 4120 7.5.9; Security 4768 / 4769 / 4771)",
            Family::Win32 => "Win32 error (logon packages: Kerberos, NTLM)",
        }
    }

    /// Parses a family name as given to `--as` (case-insensitive; a few common synonyms).
    pub fn parse(s: &str) -> Option<Family> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match norm.as_str() {
            "disconnect" | "disc" | "discreason" | "disconnectreason" | "mstsc" => {
                Family::Disconnect
            }
            "extended" | "ext" | "extendedreason" | "extendeddisconnectreason" => Family::Extended,
            "errinfo" | "errorinfo" | "seterrorinfo" => Family::Errinfo,
            "negfailure" | "neg" | "nego" | "rdpnegfailure" => Family::NegFailure,
            "ntstatus" | "nt" | "status" => Family::Ntstatus,
            "hresult" | "hr" | "sspi" | "secstatus" => Family::Hresult,
            "tlsalert" | "tls" | "alert" | "schannel" => Family::TlsAlert,
            "freerdp" | "xfreerdp" | "errconnect" => Family::Freerdp,
            "gateway" | "gw" | "rdg" | "rdgateway" | "tsgateway" | "gatewayclient" => {
                Family::Gateway
            }
            "tsgu" | "eproxy" | "gatewayresult" | "gatewayhresult" | "mstsgu" => Family::Tsgu,
            "kerberos" | "krb" | "krb5" | "kdc" | "kerb" => Family::Kerberos,
            "win32" | "winerror" | "error" | "werror" => Family::Win32,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A reference to one code of one family (used by links between tables and by the cause data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CodeRef {
    pub family: Family,
    pub value: u32,
}

/// Shorthand constructor for [`CodeRef`] in const tables.
pub const fn code(family: Family, value: u32) -> CodeRef {
    CodeRef { family, value }
}

/// One code of one family.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CodeEntry {
    pub family: Family,
    pub value: u32,
    /// Official symbolic name. Empty when no primary source names the value (see `documented`).
    pub name: &'static str,
    /// What the code means, in plain words (paraphrased from the source).
    pub meaning: &'static str,
    /// Other spellings accepted as symbolic input (e.g. FreeRDP's names for the same code).
    pub aliases: &'static [&'static str],
    /// `false` when no primary source documents the value (seen in the wild, or one
    /// implementation only). The `note` says which.
    pub documented: bool,
    /// Where the name and meaning come from (spec section or document).
    pub source: &'static str,
    /// Sub-table inside the family (e.g. "licensing", "xfreerdp exit code"); empty if none.
    pub group: &'static str,
    /// Caveats: inferences, disagreements between sources, collisions. Empty if none.
    pub note: &'static str,
    /// Codes in other families that carry the same condition.
    pub see_also: &'static [CodeRef],
}

impl CodeEntry {
    /// A row with no aliases, note or links (the table files refine it with struct update).
    pub const fn new(
        family: Family,
        value: u32,
        name: &'static str,
        meaning: &'static str,
        source: &'static str,
    ) -> CodeEntry {
        CodeEntry {
            family,
            value,
            name,
            meaning,
            aliases: &[],
            documented: true,
            source,
            group: "",
            note: "",
            see_also: &[],
        }
    }

    /// The same entry, pointing at related codes in other families.
    pub const fn with_see_also(self, see_also: &'static [CodeRef]) -> CodeEntry {
        CodeEntry { see_also, ..self }
    }

    /// `true` when the entry carries an official name.
    pub fn is_named(&self) -> bool {
        !self.name.is_empty()
    }

    /// The value formatted the way the family is usually written.
    pub fn display_value(&self) -> String {
        format_value(self.family, self.value)
    }

    /// A reference to this entry.
    pub fn code_ref(&self) -> CodeRef {
        code(self.family, self.value)
    }
}

/// Formats a value the way its family is usually written (hex, plus decimal where people see
/// decimals: disconnect reasons in event 1026, TLS alerts, exit codes).
pub fn format_value(family: Family, value: u32) -> String {
    match family {
        Family::Disconnect => format!("0x{value:X} ({value})"),
        Family::Extended | Family::Errinfo => format!("0x{value:X} ({value})"),
        Family::NegFailure | Family::TlsAlert => format!("{value}"),
        Family::Ntstatus | Family::Hresult => format!("0x{value:08X}"),
        Family::Gateway => format!("0x{value:X} ({value})"),
        Family::Tsgu if value > 0xFFFF => format!("0x{value:08X}"),
        Family::Tsgu => format!("0x{value:X}"),
        Family::Kerberos | Family::Win32 => format!("0x{value:X} ({value})"),
        Family::Freerdp => {
            if value <= 0xFF {
                format!("{value}")
            } else {
                format!("0x{value:08X}")
            }
        }
    }
}

/// The table of one family.
pub fn entries(family: Family) -> &'static [CodeEntry] {
    tables::table(family)
}

/// Looks a code up in one family.
///
/// For [`Family::Extended`], values that have no extended-reason name of their own fall back to
/// the Set Error Info entry of the same number (the two share their numbering); the returned
/// entry then has `family == Family::Errinfo`.
pub fn lookup(family: Family, value: u32) -> Option<&'static CodeEntry> {
    let own = entries(family).iter().find(|e| e.value == value);
    match (own, family) {
        (Some(e), _) => Some(e),
        (None, Family::Extended) => entries(Family::Errinfo).iter().find(|e| e.value == value),
        (None, Family::Tsgu) => tsgu_other_form(value),
        (None, _) => None,
    }
}

/// The E_PROXY_* entry written in the other of its two forms: MS-TSGU 2.2.6 gives some codes as
/// full HRESULTs (0x800759DD) and some only as their HRESULT_CODE (0x59E6), and gateways and
/// clients print either (FreeRDP logs `0x800759DD`, an rpc_fault carries `0x59DD`).
fn tsgu_other_form(value: u32) -> Option<&'static CodeEntry> {
    let other = match value {
        0x8007_0000..=0x8007_FFFF => value & 0xFFFF,
        0..=0xFFFF => 0x8007_0000 | value,
        _ => return None,
    };
    entries(Family::Tsgu).iter().find(|e| e.value == other)
}

/// Finds entries by symbolic name or alias (case-insensitive). A name can be ambiguous (FreeRDP
/// and the spec use `ERRINFO_NONE` for different values), so this returns every match.
pub fn lookup_name(name: &str) -> Vec<&'static CodeEntry> {
    let wanted = name.trim();
    if wanted.is_empty() {
        return Vec::new();
    }
    Family::ALL
        .iter()
        .flat_map(|f| entries(*f).iter())
        .filter(|e| {
            (e.is_named() && e.name.eq_ignore_ascii_case(wanted))
                || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted))
        })
        .collect()
}

/// Every family in which `value` is defined (with an entry of its own), most likely first.
pub fn lookup_all(value: u32) -> Vec<&'static CodeEntry> {
    families_by_likelihood(value)
        .into_iter()
        .filter_map(|f| match f {
            // Both forms of an E_PROXY_* code decode (see `tsgu_other_form`).
            Family::Tsgu => lookup(f, value),
            _ => entries(f).iter().find(|e| e.value == value),
        })
        .collect()
}

/// Families ordered by how likely a bare number of this shape belongs to them.
pub fn families_by_likelihood(value: u32) -> Vec<Family> {
    let mut order: Vec<Family> = match value {
        0x8007_59D8..=0x8007_5A00 => vec![Family::Tsgu, Family::Hresult],
        0xC000_0000..=0xFFFF_FFFE => vec![Family::Ntstatus, Family::Hresult],
        0x8000_0000..=0xBFFF_FFFF => vec![Family::Hresult, Family::Ntstatus],
        0x0002_0000..=0x0002_FFFF => vec![Family::Freerdp],
        0x0300_0000..=0x0300_FFFF => vec![Family::Gateway],
        0x59D8..=0x5A00 => vec![Family::Tsgu],
        _ => Vec::new(),
    };
    for f in Family::ALL {
        if !order.contains(&f) {
            order.push(f);
        }
    }
    order
}
