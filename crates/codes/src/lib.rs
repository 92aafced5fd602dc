//! Code tables as data. Placeholder API: the full tables are being written.

use serde::{Deserialize, Serialize};

/// A family of numeric codes a Remote Desktop client or server shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Disconnect,
    Extended,
    Errinfo,
    NegFailure,
    Ntstatus,
    Hresult,
    TlsAlert,
    Freerdp,
}

/// One documented code.
#[derive(Clone, Copy, Debug)]
pub struct CodeEntry {
    pub family: Family,
    pub value: u32,
    pub name: &'static str,
    pub meaning: &'static str,
}

const TABLE: &[CodeEntry] = &[
    CodeEntry { family: Family::Disconnect, value: 0x904, name: "disconnectReasonAtClientWinsockFDCLOSE", meaning: "Socket closed." },
    CodeEntry { family: Family::Extended, value: 0x7, name: "exDiscReasonServerDeniedConnection", meaning: "The server denied the connection." },
];

/// Looks a code up in one family.
pub fn lookup(family: Family, value: u32) -> Option<&'static CodeEntry> {
    TABLE.iter().find(|e| e.family == family && e.value == value)
}
