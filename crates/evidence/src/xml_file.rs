//! Event XML exports: `wevtutil qe LOG /f:xml` (a bare sequence of `<Event>` elements, or with
//! `/e:Events` one `<Events>` root) and PowerShell `Get-WinEvent ... | % { $_.ToXml() }`.
//!
//! Each `<Event>` element is cut out of the text and parsed on its own, so one damaged or
//! truncated event costs only itself, and a fragment without a root element needs no fixing up.

use crate::events::from_node;
use crate::{keep, note_error, source, EvidenceError, ReadOptions};
use rdpdoctor_observations::{Evidence, EvidenceKind};

pub(crate) fn read(
    file: &str,
    text: &str,
    options: &ReadOptions,
) -> Result<Evidence, EvidenceError> {
    let mut ev = Evidence::default();
    let mut src = source(file, EvidenceKind::EventXml);
    let mut rest = text;
    let mut found = 0usize;
    while let Some(start) = find_event_start(rest) {
        let tail = rest.get(start..).unwrap_or_default();
        found += 1;
        let (segment, next) = match tail.find("</Event>") {
            Some(end) => {
                let stop = end + "</Event>".len();
                (
                    tail.get(..stop).unwrap_or(tail),
                    tail.get(stop..).unwrap_or_default(),
                )
            }
            // Self-closing or truncated: take the rest, the parser says what is wrong.
            None => (tail, ""),
        };
        match roxmltree::Document::parse(segment) {
            Ok(doc) => match from_node(doc.root_element(), file) {
                Ok(record) => keep(&mut ev, &mut src, record, options),
                Err(e) => note_error(&mut src, format!("event {found}: {e}")),
            },
            Err(e) => note_error(&mut src, format!("event {found}: invalid XML: {e}")),
        }
        rest = next;
    }
    if found == 0 {
        return Err(EvidenceError::NoEvents {
            file: file.to_string(),
            reason: "no <Event> element found".to_string(),
        });
    }
    if src.records == 0 {
        return Err(EvidenceError::NoEvents {
            file: file.to_string(),
            reason: src
                .error_samples
                .first()
                .cloned()
                .unwrap_or_else(|| "every event failed to parse".to_string()),
        });
    }
    ev.events.sort_by_key(|e| e.time);
    ev.sources.push(src);
    Ok(ev)
}

/// The byte offset of the next `<Event` start tag (not `<Events>`, `<EventData>`, `<EventID>`...).
fn find_event_start(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text.get(from..)?.find("<Event") {
        let at = from + pos;
        let after = text.get(at + "<Event".len()..)?.chars().next()?;
        if after == '>' || after == '/' || after.is_whitespace() {
            return Some(at);
        }
        from = at + "<Event".len();
    }
    None
}
