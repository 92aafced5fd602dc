//! Evidence readers: Windows event logs (`.evtx`, event XML exports) and registry exports (`.reg`)
//! turned into [`rdpdoctor_observations::Evidence`]. No diagnosis here, and no network.
//!
//! Every event, whichever format it came in, goes through one normalizer ([`events`]): the `evtx`
//! crate renders each binary record as the same event XML that `wevtutil qe /f:xml` and
//! PowerShell `ToXml()` write, so `.evtx` files and XML exports share one code path and cannot
//! drift apart. Damaged input never aborts a read: records that fail are counted and sampled in
//! the [`EvidenceSource`], and everything readable is kept.

mod events;
mod evtx_file;
mod input;
pub mod rdp_file;
mod reg;
mod xml_file;

pub use events::{is_relevant, parse_event_xml};
pub use input::{
    decode_text_owned, open_regular, size_limit, InputFile, MAX_EVTX_BYTES, MAX_OBSERVATIONS_BYTES,
    MAX_REG_BYTES, MAX_XML_BYTES,
};

use rdpdoctor_observations::{Evidence, EvidenceKind, EvidenceSource};
use std::path::Path;

/// How many parse errors are kept as samples per file.
const ERROR_SAMPLES: usize = 5;

/// Options of the readers.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// TCP ports RDP listens on. Firewall events (5152/5156/5157) are kept only for these.
    pub rdp_ports: Vec<u16>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            rdp_ports: vec![3389],
        }
    }
}

/// What a file is, judged by its content (extensions lie: a `.xml` may be UTF-16, a `.log` an evtx).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Evtx,
    EventXml,
    Reg,
    /// A JSON document (presumably saved observations; the caller checks the schema).
    Json,
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is not an event log or registry export (expected an .evtx file, event XML from wevtutil or Get-WinEvent ToXml(), or a reg export)")]
    Unrecognized { file: String },
    #[error("{file}: not a readable .evtx file: {reason}")]
    BadEvtx { file: String, reason: String },
    #[error("{file} is an event log but holds no readable event ({reason}); export the log again (`wevtutil epl`, see the README), or leave the file out if the log is empty")]
    NoEvents { file: String, reason: String },
    #[error("{file} is {what}, not a regular file; rdpdoctor reads exported files only: copy the export to a file and give its path")]
    NotRegular { file: String, what: &'static str },
    #[error(
        "{file} is larger than rdpdoctor reads for a {what} ({size}, limit {limit} bytes); {hint}"
    )]
    TooLarge {
        file: String,
        size: String,
        what: &'static str,
        limit: u64,
        hint: &'static str,
    },
    #[error("{file}: not a readable registry export: {reason}")]
    BadReg { file: String, reason: String },
}

/// Judges a file's kind from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"ElfFile\0") {
        return Some(FileKind::Evtx);
    }
    let head = decode_text(bytes.get(..bytes.len().min(4096)).unwrap_or(bytes));
    let head = head.trim_start();
    let lower = head.to_ascii_lowercase();
    if lower.starts_with("windows registry editor") || lower.starts_with("regedit4") {
        return Some(FileKind::Reg);
    }
    if lower.starts_with('{') {
        return Some(FileKind::Json);
    }
    if lower.starts_with('<') && lower.contains("<event") {
        return Some(FileKind::EventXml);
    }
    None
}

/// Reads one file of any supported kind: only a regular file, within the size limit of its kind,
/// an `.evtx` file streamed from disk.
pub fn read_path(path: &Path, options: &ReadOptions) -> Result<Evidence, EvidenceError> {
    InputFile::open(path)?.read_evidence(options)
}

/// Reads one file's content already in memory; `file` names it in the results.
pub fn read_bytes(
    file: &str,
    bytes: Vec<u8>,
    options: &ReadOptions,
) -> Result<Evidence, EvidenceError> {
    match sniff(&bytes) {
        Some(FileKind::Evtx) => evtx_file::read(file, std::io::Cursor::new(bytes), options),
        Some(FileKind::EventXml) => xml_file::read(file, &decode_text(&bytes), options),
        Some(FileKind::Reg) => reg::read(file, &decode_text(&bytes)),
        Some(FileKind::Json) | None => Err(EvidenceError::Unrecognized {
            file: file.to_string(),
        }),
    }
}

/// Decodes text the way [`decode_text_owned`] does (the one decoder of every text file).
pub fn decode_text(bytes: &[u8]) -> String {
    decode_text_owned(bytes.to_vec())
}

/// A fresh source record.
pub(crate) fn source(file: &str, kind: EvidenceKind) -> EvidenceSource {
    EvidenceSource {
        file: file.to_string(),
        kind,
        records: 0,
        kept: 0,
        errors: 0,
        error_samples: Vec::new(),
        first: None,
        last: None,
    }
}

/// Counts a parse error and keeps the first few messages.
pub(crate) fn note_error(src: &mut EvidenceSource, message: String) {
    src.errors += 1;
    if src.error_samples.len() < ERROR_SAMPLES {
        src.error_samples.push(message);
    }
}

/// Adds one parsed record to the source's counts and, when relevant, to the evidence.
pub(crate) fn keep(
    ev: &mut Evidence,
    src: &mut EvidenceSource,
    record: rdpdoctor_observations::EventRecord,
    options: &ReadOptions,
) {
    src.records += 1;
    if let Some(t) = record.time {
        src.first = Some(src.first.map_or(t, |f| f.min(t)));
        src.last = Some(src.last.map_or(t, |l| l.max(t)));
    }
    if is_relevant(&record, &options.rdp_ports) {
        src.kept += 1;
        ev.events.push(record);
    }
}
