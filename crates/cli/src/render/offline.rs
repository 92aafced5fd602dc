//! Text sections for offline evidence: files read, effective server settings, the timeline.

use super::escape::line as e;
use rdpdoctor_diagnose::Diagnosis;
use std::fmt::Write;

pub fn sections(d: &Diagnosis) -> String {
    let f = &d.facts;
    let mut out = String::new();
    if !f.evidence_files.is_empty() {
        let _ = writeln!(out, "\nEvidence read:");
        for line in &f.evidence_files {
            let _ = writeln!(out, "  {}", e(line));
        }
    }
    if !f.host_settings.is_empty() {
        let _ = writeln!(out, "\nServer settings (effective):");
        for line in &f.host_settings {
            let _ = writeln!(out, "  {}", e(line));
        }
    }
    if !f.timeline.is_empty() {
        let _ = writeln!(out, "\nTimeline (UTC, oldest first):");
        if f.timeline_omitted > 0 {
            let _ = writeln!(out, "  ... {} earlier lines left out", f.timeline_omitted);
        }
        for t in &f.timeline {
            let count = if t.count > 1 {
                format!(" (x{})", t.count)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {:<6} {}: {}{count}",
                e(t.time.trim_end_matches(" UTC")),
                e(&t.side),
                e(&t.event),
                e(&t.text)
            );
        }
    }
    super::escape::report(&out).into_owned()
}
