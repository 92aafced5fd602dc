//! `rdpdoctor report SCAN.jsonl -o report.html`: one self-contained HTML page from `scan`
//! results.
//!
//! The input is read line by line with a bound on the line length, so a file of any size is
//! read in constant memory per line; the page's table rows and host sections go to temporary
//! files beside the output as they are made, and the page is assembled and renamed into place
//! at the end (a failed run never leaves half a report).

use crate::render::html::{ClientOutcome, Host, Meta, Report};
use crate::usage_error;
use flate2::write::GzEncoder;
use flate2::Compression;
use rdpdoctor_diagnose::words::count;
use rdpdoctor_diagnose::Diagnosis;
use serde_json::Value;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Results of `rdpdoctor scan` (JSON Lines); - for stdin
    #[arg(value_name = "SCAN.jsonl")]
    pub input: String,
    /// Write the HTML page to FILE (- for stdout)
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
}

/// A line longer than this is not a scan result (a full `check --json` line is tens of KiB).
const MAX_LINE: usize = 16 << 20;
/// Skipped lines reported on stderr one by one; the rest are counted.
const SKIPPED_PRINTED: u64 = 20;

pub fn run(args: &ReportArgs) -> u8 {
    let (reader, source): (Box<dyn Read>, String) = if args.input == "-" {
        (Box::new(io::stdin()), "stdin".to_string())
    } else {
        match open_input(Path::new(&args.input)) {
            Ok(f) => (Box::new(f), args.input.clone()),
            Err(e) => return usage_error(e),
        }
    };
    let out_path = (args.output != "-").then(|| PathBuf::from(&args.output));
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
    if report.skipped() > 0 {
        eprintln!(
            "rdpdoctor: report of {} written to {}; {} of {source} skipped (listed in the report)",
            count(report.hosts(), "host"),
            args.output,
            count(report.skipped(), "line"),
        );
        return crate::EXIT_USAGE;
    }
    if out_path.is_some() {
        eprintln!(
            "rdpdoctor: report of {} written to {}",
            count(report.hosts(), "host"),
            args.output
        );
    }
    0
}

/// Opens the scan file; anything but a regular file (a directory, a device, a FIFO) is refused
/// because it may never end or is not a scan.
fn open_input(path: &Path) -> Result<File, String> {
    let file = File::open(path).map_err(|e| {
        format!(
            "cannot open {}: {e}; give the JSON Lines file `rdpdoctor scan --output` wrote",
            path.display()
        )
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file; give a scan results file, or - to read stdin",
            path.display()
        ));
    }
    Ok(file)
}

/// What one read of a line gave.
enum Line {
    Eof,
    /// A line; `complete` is false when the input ended without its newline.
    Text {
        complete: bool,
    },
    TooLong,
}

/// Reads one line into `buf` (without its newline), never holding more than MAX_LINE bytes.
fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::Eof,
                (true, true) => Line::TooLong,
                (true, false) => Line::Text { complete: false },
            });
        }
        any = true;
        let (part, found) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], Some(i)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = found.map_or(chunk.len(), |i| i + 1);
        r.consume(used);
        if found.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text { complete: true }
            });
        }
    }
}

/// One scan result, as much of it as the page shows.
#[derive(Debug)]
struct Parsed {
    diagnosis: Diagnosis,
    duration_ms: Option<f64>,
    started_at: Option<String>,
    clients: Vec<ClientOutcome>,
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
    let started_at = obs
        .as_ref()
        .and_then(|o| o.get("started_at"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let clients = match map.remove("clients") {
        None | Some(Value::Null) => Vec::new(),
        Some(c) => serde_json::from_value::<Vec<ClientOutcome>>(c)
            .map_err(|e| format!("clients is not a list of client outcomes ({e})"))?,
    };
    map.remove("rdpdoctor");
    let diagnosis: Diagnosis =
        serde_json::from_value(Value::Object(map)).map_err(|e| format!("not a diagnosis ({e})"))?;
    Ok(Parsed {
        diagnosis,
        duration_ms,
        started_at,
        clients,
    })
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
        if report.skipped() < SKIPPED_PRINTED {
            eprintln!("rdpdoctor: {source} line {line_no}: {reason}; skipped");
        } else if report.skipped() == SKIPPED_PRINTED {
            eprintln!("rdpdoctor: {source}: more lines skipped; the report lists them");
        }
        report.skip(line_no, &reason);
    };
    loop {
        let read = next_line(reader, &mut buf)
            .map_err(|e| format!("cannot read {source} after line {line_no}: {e}"))?;
        line_no += 1;
        let complete = match read {
            Line::Eof => break,
            Line::TooLong => {
                skip(
                    report,
                    line_no,
                    format!("longer than {} MiB", MAX_LINE >> 20),
                );
                continue;
            }
            Line::Text { complete } => complete,
        };
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse(&buf) {
            Ok(Parsed {
                diagnosis,
                duration_ms,
                started_at,
                clients,
            }) => {
                let host = Host {
                    line: line_no,
                    diagnosis: &diagnosis,
                    duration_ms,
                    started_at: started_at.as_deref(),
                    clients: &clients,
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

/// The report's temporary parts and its final destination.
struct Parts {
    rows_path: PathBuf,
    sections_path: PathBuf,
    page_path: Option<PathBuf>,
    out: Option<PathBuf>,
    rows: BufWriter<File>,
    /// The host sections, gzip-compressed as they come (a fleet's sections repeat the same
    /// findings and fixes, so they shrink about twentyfold).
    sections: GzEncoder<BufWriter<File>>,
}

impl Parts {
    /// Temporary files in the output's directory (so the final rename stays on one file
    /// system), or in the temporary directory when the page goes to stdout.
    fn create(out: Option<&Path>) -> Result<Parts, String> {
        let (dir, name) = match out {
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| format!("-o {}: not a file name", p.display()))?;
                (dir, name)
            }
            None => (std::env::temp_dir(), "rdpdoctor-report".to_string()),
        };
        let tag = format!("{}.{}", std::process::id(), nanos());
        let rows_path = dir.join(format!(".{name}.rows.{tag}"));
        let sections_path = dir.join(format!(".{name}.hosts.{tag}"));
        let page_path = out.map(|_| dir.join(format!(".{name}.tmp.{tag}")));
        let new = |p: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
                .map(|f| BufWriter::with_capacity(256 * 1024, f))
                .map_err(|e| {
                    format!(
                        "cannot create {}: {e}; choose a writable directory for -o",
                        p.display()
                    )
                })
        };
        let rows = new(&rows_path)?;
        let sections = match new(&sections_path) {
            Ok(s) => GzEncoder::new(s, Compression::default()),
            Err(e) => {
                let _ = std::fs::remove_file(&rows_path);
                return Err(e);
            }
        };
        Ok(Parts {
            rows_path,
            sections_path,
            page_path,
            out: out.map(Path::to_path_buf),
            rows,
            sections,
        })
    }

    /// Writes the page: head, rows, middle, sections, tail; then renames it into place.
    fn assemble(&mut self, report: &Report, meta: &Meta<'_>) -> Result<(), String> {
        let flush = |w: &mut BufWriter<File>, p: &Path| {
            w.flush()
                .map_err(|e| format!("cannot write {}: {e}", p.display()))
        };
        flush(&mut self.rows, &self.rows_path)?;
        self.sections
            .try_finish()
            .and_then(|_| self.sections.get_mut().flush())
            .map_err(|e| format!("cannot write {}: {e}", self.sections_path.display()))?;
        let (mut page, label): (Box<dyn Write>, String) = match &self.page_path {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(p)
                    .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
                (
                    Box::new(BufWriter::with_capacity(256 * 1024, f)),
                    p.display().to_string(),
                )
            }
            None => (Box::new(io::stdout().lock()), "stdout".to_string()),
        };
        let write_err = |e: io::Error| format!("cannot write the report to {label}: {e}");
        report.write_head(&mut page, meta).map_err(write_err)?;
        copy(&self.rows_path, &mut page).map_err(write_err)?;
        report.write_middle(&mut page).map_err(write_err)?;
        copy_base64(&self.sections_path, &mut page).map_err(write_err)?;
        report.write_tail(&mut page).map_err(write_err)?;
        page.flush().map_err(write_err)?;
        drop(page);
        if let (Some(tmp), Some(out)) = (&self.page_path, &self.out) {
            std::fs::rename(tmp, out)
                .map_err(|e| format!("cannot move the report to {}: {e}", out.display()))?;
        }
        self.remove_parts();
        Ok(())
    }

    fn remove_parts(&self) {
        let _ = std::fs::remove_file(&self.rows_path);
        let _ = std::fs::remove_file(&self.sections_path);
    }

    /// Removes every temporary file after a failure.
    fn remove(&self) {
        self.remove_parts();
        if let Some(p) = &self.page_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn copy(path: &Path, out: &mut dyn Write) -> io::Result<u64> {
    let mut f = File::open(path)?;
    io::copy(&mut f, out)
}

/// Copies a file as base64, a bounded chunk at a time (whole groups of three bytes, so the
/// chunks' encodings join into one).
fn copy_base64(path: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 3 * 64 * 1024];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        out.write_all(openssl::base64::encode_block(&buf[..filled]).as_bytes())?;
        if filled < buf.len() {
            return Ok(());
        }
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut r = BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match next_line(&mut r, &mut buf).expect("reads") {
                Line::Eof => break,
                Line::TooLong => out.push("<too long>".to_string()),
                Line::Text { complete } => out.push(format!(
                    "{}{}",
                    String::from_utf8_lossy(&buf),
                    if complete { "" } else { "<cut>" }
                )),
            }
        }
        out
    }

    #[test]
    fn lines_are_split_across_buffer_refills_and_a_missing_newline_is_noticed() {
        assert_eq!(
            lines(b"first line\n\nthird, a longer one\nlast"),
            ["first line", "", "third, a longer one", "last<cut>"]
        );
        assert_eq!(lines(b"one\n"), ["one"]);
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn an_overlong_line_is_skipped_without_being_held() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nnext\n");
        assert_eq!(lines(&input), ["<too long>", "next"]);
    }

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
