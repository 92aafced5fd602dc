//! `rdpdoctor report SCAN.jsonl -o report.html`: one self-contained HTML page from `scan`
//! results.
//!
//! The input is read line by line with a bound on the line length ([`crate::lines`]), and every
//! string and list of a line is cut to a bound before it is used ([`bounds`]), so a file of any
//! size and content is read in bounded memory per line; the page's table rows and host sections
//! go to temporary files beside the output as they are made ([`parts`]), and the page is
//! assembled and renamed into place at the end (a failed run never leaves half a report).

mod bounds;
mod parts;

use crate::lines::{self, Line, MAX_RESULT_LINE};
use crate::render::escape;
use crate::render::html::{ClientOutcome, Host, Meta, Report};
use crate::usage_error;
use parts::Parts;
use rdpdoctor_diagnose::words::count;
use rdpdoctor_diagnose::Diagnosis;
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Results of `rdpdoctor scan` (JSON Lines); - for stdin
    #[arg(value_name = "SCAN.jsonl")]
    pub input: String,
    /// Write the HTML page to FILE (- for stdout); never the input itself
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
}

/// Lines reported on stderr one by one (skipped, or with fields cut); the rest are counted.
const PRINTED: u64 = 20;

pub fn run(args: &ReportArgs) -> u8 {
    let out_path = (args.output != "-").then(|| PathBuf::from(&args.output));
    if let Some(out) = &out_path {
        if let Err(e) = super::output::refuse_input_as_output(out, &[&args.input], "-o") {
            return usage_error(e);
        }
    }
    let (reader, source): (Box<dyn Read>, String) = if args.input == "-" {
        (Box::new(io::stdin()), "stdin".to_string())
    } else {
        match open_input(Path::new(&args.input)) {
            Ok(f) => (Box::new(f), args.input.clone()),
            Err(e) => return usage_error(e),
        }
    };
    let mut parts = match Parts::create(out_path.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let mut report = Report::new();
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    if let Err(e) = read_all(&mut reader, &source, &mut report, &mut parts) {
        parts.remove();
        return usage_error(e);
    }
    let generated = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let meta = Meta {
        source: &source,
        generated: &generated,
    };
    if let Err(e) = parts.assemble(&report, &meta) {
        parts.remove();
        return usage_error(e);
    }
    finish(&report, args, &source, out_path.is_some())
}

/// Opens the scan file; anything but a regular file (a directory, a device, a FIFO) is refused
/// before it is opened, because it may never end or is not a scan.
fn open_input(path: &Path) -> Result<std::fs::File, String> {
    use rdpdoctor_evidence::EvidenceError;
    match rdpdoctor_evidence::open_regular(path) {
        Ok((f, _)) => Ok(f),
        Err(EvidenceError::NotRegular { what, .. }) => Err(format!(
            "{} is {what}, not a regular file; give a scan results file, or - to read stdin",
            path.display()
        )),
        Err(EvidenceError::Io { source, .. }) => Err(format!(
            "cannot open {}: {source}; give the JSON Lines file `rdpdoctor scan --output` wrote",
            path.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The closing stderr line and the exit status: 2 when lines were skipped or cut (the page is
/// still written, and lists them).
fn finish(report: &Report, args: &ReportArgs, source: &str, to_file: bool) -> u8 {
    let mut problems = Vec::new();
    if report.skipped() > 0 {
        problems.push(format!("{} skipped", count(report.skipped(), "line")));
    }
    if report.cut() > 0 {
        problems.push(format!(
            "{} with fields cut to the report's bounds",
            count(report.cut(), "line")
        ));
    }
    let written = format!(
        "rdpdoctor: report of {} written to {}",
        count(report.hosts(), "host"),
        escape::line(&args.output)
    );
    if !problems.is_empty() {
        eprintln!(
            "{written}; of {}: {} (listed in the report)",
            escape::line(source),
            problems.join(", ")
        );
        return crate::EXIT_USAGE;
    }
    if to_file {
        eprintln!("{written}");
    }
    0
}

/// One scan result, as much of it as the page shows.
#[derive(Debug)]
struct Parsed {
    diagnosis: Diagnosis,
    duration_ms: Option<f64>,
    started_at: Option<String>,
    clients: Vec<ClientOutcome>,
    /// What was cut to the bounds (nothing for what `scan` writes).
    cuts: bounds::Cuts,
}

/// The result on a line, or why the line is not one.
fn parse(line: &[u8]) -> Result<Parsed, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(mut map) = value else {
        return Err("not a JSON object".to_string());
    };
    if !map
        .get("verdict")
        .and_then(|v| v.get("status"))
        .is_some_and(Value::is_string)
    {
        return Err("no verdict.status: not a result of `rdpdoctor scan`".to_string());
    }
    // The observations are not rendered (the diagnosis already says what they mean); only the
    // probe's duration and start time are kept.
    let obs = map.remove("observations");
    let duration_ms = obs
        .as_ref()
        .and_then(|o| o.get("duration_ms"))
        .and_then(Value::as_f64);
    let mut started_at = obs
        .as_ref()
        .and_then(|o| o.get("started_at"))
        .filter(|t| t.is_string())
        .cloned();
    drop(obs);
    map.remove("rdpdoctor");
    let mut cuts = bounds::Cuts::default();
    if let Some(t) = started_at.as_mut() {
        bounds::bound_field("observations.started_at", "started_at", t, &mut cuts);
    }
    let mut map = bounds::bound_object(map, &mut cuts);
    let clients = match map.remove("clients") {
        None | Some(Value::Null) => Vec::new(),
        Some(c) => serde_json::from_value::<Vec<ClientOutcome>>(c)
            .map_err(|e| format!("clients is not a list of client outcomes ({e})"))?,
    };
    let diagnosis: Diagnosis =
        serde_json::from_value(Value::Object(map)).map_err(|e| format!("not a diagnosis ({e})"))?;
    Ok(Parsed {
        diagnosis,
        duration_ms,
        started_at: started_at.and_then(|t| t.as_str().map(str::to_string)),
        clients,
        cuts,
    })
}

/// Reports a line on stderr (the first [`PRINTED`] of each kind; the page lists them all), with
/// everything that came from the input escaped: a reason may quote the line itself.
fn note(source: &str, line_no: u64, what: &str, seen: u64, kind: &str) {
    if seen < PRINTED {
        eprintln!(
            "rdpdoctor: {} line {line_no}: {}",
            escape::line(source),
            escape::line(what)
        );
    } else if seen == PRINTED {
        eprintln!(
            "rdpdoctor: {}: more lines {kind}; the report lists them",
            escape::line(source)
        );
    }
}

fn read_all(
    reader: &mut impl BufRead,
    source: &str,
    report: &mut Report,
    parts: &mut Parts,
) -> Result<(), String> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let skip = |report: &mut Report, line_no: u64, reason: String| {
        note(
            source,
            line_no,
            &format!("{reason}; skipped"),
            report.skipped(),
            "skipped",
        );
        report.skip(line_no, &reason);
    };
    loop {
        let read = lines::next(reader, &mut buf, MAX_RESULT_LINE).map_err(|e| {
            format!(
                "cannot read {} after line {line_no}: {e}",
                escape::line(source)
            )
        })?;
        line_no += 1;
        let complete = match read {
            Line::Eof => break,
            Line::TooLong { .. } => {
                skip(
                    report,
                    line_no,
                    format!("longer than {} MiB", MAX_RESULT_LINE >> 20),
                );
                continue;
            }
            Line::Nul => {
                return Err(format!(
                    "{} line {line_no}: NUL byte: this is not the JSON Lines `rdpdoctor scan` writes (a UTF-16 file must be saved as UTF-8 first)",
                    escape::line(source)
                ))
            }
            Line::Read { complete, .. } => complete,
        };
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse(&buf) {
            Ok(p) => {
                if p.cuts.count > 0 {
                    let what = format!("fields cut to the report's bounds: {}", p.cuts.summary());
                    note(source, line_no, &what, report.cut(), "with fields cut");
                    report.note_cut(line_no, &p.cuts.summary());
                }
                let host = Host {
                    line: line_no,
                    diagnosis: &p.diagnosis,
                    duration_ms: p.duration_ms,
                    started_at: p.started_at.as_deref(),
                    clients: &p.clients,
                };
                report
                    .add(&host, &mut parts.rows, &mut parts.sections)
                    .map_err(|e| format!("cannot write the report's temporary files: {e}"))?;
            }
            Err(reason) if !complete => skip(
                report,
                line_no,
                format!("truncated: the file ends inside this line ({reason})"),
            ),
            Err(reason) => skip(report, line_no, reason),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_are_not_results_say_why() {
        assert!(parse(b"{not json").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse(b"[1]").unwrap_err(), "not a JSON object");
        assert!(parse(br#"{"target":"a"}"#)
            .unwrap_err()
            .contains("verdict.status"));
        assert!(parse(
            br#"{"verdict":{"status":"sideways","summary":""},"findings":[],"facts":{}}"#
        )
        .unwrap_err()
        .starts_with("not a diagnosis"));
        assert!(parse(br#"{"verdict":{"status":"healthy","finding":null,"summary":"ok"},"findings":[],"facts":{},"clients":3}"#)
            .unwrap_err()
            .starts_with("clients"));
        let p = parse(
            br#"{"target":"h:3389","verdict":{"status":"healthy","finding":null,"summary":"ok"},"findings":[],"facts":{},"observations":{"duration_ms":12.5}}"#,
        )
        .expect("a minimal result parses");
        assert_eq!(p.diagnosis.target.as_deref(), Some("h:3389"));
        assert_eq!(p.duration_ms, Some(12.5));
        assert!(p.clients.is_empty());
    }
}
