//! Binary `.evtx` files through the `evtx` crate. Each record is rendered as event XML and goes
//! through the same normalizer as XML exports. The parser reads from a file (or any seekable
//! reader) one 64 KiB chunk at a time, so a large log is never held in memory.

use crate::events::parse_event_xml;
use crate::{keep, note_error, source, EvidenceError, ReadOptions};
use evtx::{EvtxParser, ParserSettings};
use rdpdoctor_observations::{Evidence, EvidenceKind};
use std::io::{Read, Seek};

pub(crate) fn read<R: Read + Seek>(
    file: &str,
    reader: R,
    options: &ReadOptions,
) -> Result<Evidence, EvidenceError> {
    // One thread: the machine is shared, the files are small, and records then come in file
    // order (multithreaded parsing may reorder them).
    let settings = ParserSettings::new().num_threads(1);
    let mut parser = EvtxParser::from_read_seek(reader)
        .map_err(|e| EvidenceError::BadEvtx {
            file: file.to_string(),
            reason: e.to_string(),
        })?
        .with_configuration(settings);
    let mut ev = Evidence::default();
    let mut src = source(file, EvidenceKind::Evtx);
    for item in parser.records() {
        match item {
            Ok(r) => match parse_event_xml(&r.data, file) {
                Ok(record) => keep(&mut ev, &mut src, record, options),
                Err(e) => note_error(&mut src, format!("record {}: {e}", r.event_record_id)),
            },
            // A damaged chunk or record: evtx resyncs past it, so keep going and count it.
            Err(e) => note_error(&mut src, e.to_string()),
        }
    }
    // A log with no readable record proves nothing; say so, as for an XML export without one.
    if src.records == 0 {
        return Err(EvidenceError::NoEvents {
            file: file.to_string(),
            reason: src.error_samples.first().cloned().unwrap_or_else(|| {
                "the file has an event log header but no event record".to_string()
            }),
        });
    }
    ev.events.sort_by_key(|e| e.time);
    ev.sources.push(src);
    Ok(ev)
}
