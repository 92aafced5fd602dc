//! Facts read from the Windows side: event log records and registry values, exactly as exported.
//!
//! Readers (`rdpdoctor-evidence`) fill these; `rdpdoctor-diagnose` interprets them. Nothing here
//! decides what an event or a value means. The shapes follow the Windows event schema
//! (`System` + `EventData`/`UserData`) and the `.reg` value types, so an event read from an
//! `.evtx` file and the same event read from a `wevtutil qe /f:xml` or PowerShell `ToXml()` export
//! become identical records.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything read from event log and registry exports of one server (and its clients).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// One entry per file read, with what could and could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<EvidenceSource>,
    /// The RDP-relevant event records, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventRecord>,
    /// Registry values under the keys that matter for RDP, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<RegistryValue>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.events.is_empty() && self.registry.is_empty()
    }

    /// Adds another file's evidence, keeping events in time order.
    pub fn merge(&mut self, other: Evidence) {
        self.sources.extend(other.sources);
        self.events.extend(other.events);
        // Records without a time sort first; a stable sort keeps file order among equals.
        self.events.sort_by_key(|e| e.time);
        self.registry.extend(other.registry);
    }
}

/// The kind of a file that was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// A binary Windows event log (`wevtutil epl`, or a copy of `winevt\Logs\*.evtx`).
    Evtx,
    /// Event XML: `wevtutil qe ... /f:xml` (with or without an `<Events>` root) or PowerShell
    /// `ToXml()` output.
    EventXml,
    /// A `reg export` / regedit file (Version 5.00 UTF-16LE, or REGEDIT4).
    Reg,
}

/// One file read, and how well.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvidenceSource {
    pub file: String,
    pub kind: EvidenceKind,
    /// Records (events) or values (registry) read successfully.
    pub records: usize,
    /// How many of them were kept as RDP-relevant.
    pub kept: usize,
    /// Records or lines that could not be parsed; the rest of the file was still read.
    pub errors: usize,
    /// The first few parse errors, for the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<String>,
    /// Time range of the records read (events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Timestamp>,
}

/// One event record, normalized from any export format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The file it came from.
    pub source: String,
    /// `System/Provider/@Name`, e.g. `Schannel` or
    /// `Microsoft-Windows-TerminalServices-RemoteConnectionManager`.
    pub provider: String,
    /// `System/Provider/@EventSourceName` for classic providers (`TermService` for RCM in System).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<String>,
    /// `System/Channel`, e.g. `System` or `Security`.
    pub channel: String,
    /// The event id: the low 16 bits of `System/EventID` (classic providers put the severity and
    /// facility in `Qualifiers`, message tables even in the id itself).
    pub id: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    /// `System/TimeCreated/@SystemTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub computer: String,
    /// `System/Correlation/@ActivityID`, lowercase with braces; joins one client attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// `EventData/Data` (named or positional) or the children of `UserData/*`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<EventField>,
    /// `EventData/Binary` as upper-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

/// One data item of an event. Classic providers have no names; their items are positional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub value: String,
}

impl EventRecord {
    /// The value of the named field (case-insensitive), trimmed.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|f| {
                f.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|f| f.value.trim())
    }

    /// The first of several field names that is present and not empty or "-".
    pub fn any_field(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .filter_map(|n| self.field(n))
            .find(|v| !v.is_empty() && *v != "-")
    }

    /// The `index`-th field without a name (classic providers' `<Data>` items).
    pub fn positional(&self, index: usize) -> Option<&str> {
        self.data
            .iter()
            .filter(|f| f.name.is_none())
            .nth(index)
            .map(|f| f.value.trim())
    }

    /// Every value, named or not, joined: for matching status texts of classic events.
    pub fn all_text(&self) -> String {
        self.data
            .iter()
            .map(|f| f.value.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// True when the provider (or the classic event source) matches `name`, ignoring case.
    pub fn from_provider(&self, name: &str) -> bool {
        self.provider.eq_ignore_ascii_case(name)
            || self
                .event_source
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
    }
}

/// One registry value from a `.reg` export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryValue {
    pub source: String,
    /// The key with the root abbreviated and `ControlSet00N` resolved, e.g.
    /// `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp`.
    pub key: String,
    /// The value name; `@` for the default value.
    pub name: String,
    pub data: RegData,
}

/// Registry value data by type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RegData {
    Dword {
        value: u32,
    },
    Qword {
        value: u64,
    },
    Sz {
        value: String,
    },
    ExpandSz {
        value: String,
    },
    MultiSz {
        values: Vec<String>,
    },
    Binary {
        hex: String,
    },
    /// `"Name"=-`: the export deletes the value.
    Deleted,
    /// Another type (`hex(N):`), kept as bytes.
    Other {
        kind: String,
        hex: String,
    },
}

impl RegistryValue {
    pub fn dword(&self) -> Option<u32> {
        match &self.data {
            RegData::Dword { value } => Some(*value),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match &self.data {
            RegData::Sz { value } | RegData::ExpandSz { value } => Some(value),
            _ => None,
        }
    }

    /// The value as export syntax, for evidence lines (`dword:00000d3d (3389)`).
    pub fn display(&self) -> String {
        match &self.data {
            RegData::Dword { value } => format!("dword:{value:08x} ({value})"),
            RegData::Qword { value } => format!("qword {value}"),
            RegData::Sz { value } | RegData::ExpandSz { value } => format!("{value:?}"),
            RegData::MultiSz { values } => format!("{values:?}"),
            RegData::Binary { hex } => format!("hex:{hex}"),
            RegData::Deleted => "deleted (-)".to_string(),
            RegData::Other { kind, hex } => format!("hex({kind}):{hex}"),
        }
    }
}
