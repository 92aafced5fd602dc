//! Hostile and unusual input files through the real binary: things that are not regular files
//! (FIFOs, devices, directories), files over the size limits, binary or huge-lined target lists,
//! event logs without a readable event, and observations saved in the encodings Windows writes.
//! Every file is made at run time in a temporary directory; every run has a deadline, so a hang
//! fails the test instead of stalling it. Scans target closed ports on 127.0.0.0/8 only (refused
//! at once, no lab needed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::bin;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp(name: &str) -> common::TempDir {
    common::TempDir::new("hostile", name)
}

fn sample(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/data/evtx")
        .join(name);
    assert!(p.is_file(), "sample {} is missing", p.display());
    p
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/fixtures")
        .join(name)
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with `stdin` (a file, or nothing) and kills it if it is still running after
/// `limit`: a hang is a failure, not a stalled test run.
fn run_with_deadline(mut cmd: Command, stdin: Option<&Path>, limit: Duration) -> Outcome {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    match stdin {
        Some(p) => cmd.stdin(std::fs::File::open(p).expect("stdin file")),
        None => cmd.stdin(Stdio::null()),
    };
    let mut child = cmd.spawn().expect("the rdpdoctor binary runs");
    let (mut out, mut err) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
    }
}

fn rdpdoctor(args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args);
    c
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

// Class: input that is not a regular file, or too large, is refused at once (exit 2) with what,
// where and what to do; nothing blocks on a FIFO or reads a device forever.
#[test]
fn logs_host_and_diagnose_refuse_what_is_not_a_regular_file_without_blocking() {
    let dir = temp("not-regular");
    let fifo = dir.join("events.evtx");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    let dir_name = dir.display().to_string();
    for (command, path, what) in [
        ("logs", fifo.as_str(), "FIFO"),
        ("host", fifo.as_str(), "FIFO"),
        ("diagnose", fifo.as_str(), "FIFO"),
        ("logs", "/dev/zero", "character device"),
        ("host", "/dev/zero", "character device"),
        ("diagnose", "/dev/zero", "character device"),
        ("diagnose", dir_name.as_str(), "directory"),
    ] {
        let r = run_with_deadline(rdpdoctor(&[command, path]), None, Duration::from_secs(20));
        assert_eq!(r.code, 2, "{command} {path}: {}", r.stderr);
        assert!(
            r.stderr.contains(path)
                && r.stderr.contains(what)
                && r.stderr.contains("not a regular file"),
            "{command} {path}: {}",
            r.stderr
        );
    }
}

#[test]
fn files_over_the_size_limit_are_refused_with_the_limit_named() {
    let dir = temp("too-large");
    // Sparse files: a registry export and an event XML export just over their limits.
    for (name, head, limit) in [
        (
            "big.reg",
            &b"Windows Registry Editor Version 5.00\r\n\r\n"[..],
            16u64 << 20,
        ),
        (
            "big.xml",
            &b"<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"[..],
            64u64 << 20,
        ),
    ] {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(head).expect("write");
        f.set_len(limit + 1).expect("set_len");
        drop(f);
        let command = if name.ends_with(".reg") {
            "host"
        } else {
            "logs"
        };
        let p = path.display().to_string();
        let r = run_with_deadline(rdpdoctor(&[command, &p]), None, Duration::from_secs(30));
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(&p) && r.stderr.contains(&format!("limit {limit} bytes")),
            "{name}: {}",
            r.stderr
        );
    }
}

#[test]
fn scan_refuses_devices_fifos_and_binary_lists_with_exit_2() {
    let dir = temp("scan-lists");
    let fifo = dir.join("targets.txt");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    for (path, what) in [("/dev/zero", "character device"), (fifo.as_str(), "FIFO")] {
        let r = run_with_deadline(
            rdpdoctor(&["scan", "-i", path, "--quiet"]),
            None,
            Duration::from_secs(20),
        );
        assert_eq!(r.code, 2, "scan -i {path}: {}", r.stderr);
        assert!(
            r.stderr.contains(path) && r.stderr.contains(what),
            "scan -i {path}: {}",
            r.stderr
        );
    }
    // --resume reads the results file first: a FIFO there is refused, not waited on.
    let r = run_with_deadline(
        rdpdoctor(&[
            "scan",
            "127.0.0.1:1",
            "--quiet",
            "--output",
            &fifo,
            "--resume",
        ]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 2, "--resume from a FIFO: {}", r.stderr);
    assert!(r.stderr.contains("FIFO"), "{}", r.stderr);
    // stdin from /dev/zero: NUL bytes, not a list; it must stop at once, not read forever.
    let r = run_with_deadline(
        rdpdoctor(&["scan", "-i", "-", "--quiet"]),
        Some(Path::new("/dev/zero")),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stdin:1") && r.stderr.contains("not a text target list"),
        "{}",
        r.stderr
    );
}

#[test]
fn scan_reports_an_overlong_line_and_scans_the_rest() {
    let dir = temp("long-line");
    let list = dir.join("targets.txt");
    let mut text = b"127.0.0.1:1\n".to_vec();
    // 8 MiB without a newline: must be skipped without being held, then the list goes on.
    text.extend(std::iter::repeat_n(b'a', 8 << 20));
    text.extend(b"\n127.0.0.2:1\n");
    std::fs::write(&list, &text).expect("write list");
    let l = list.display().to_string();
    for stdin in [false, true] {
        let (args, input) = if stdin {
            (
                vec!["scan", "-i", "-", "--quiet", "--timeout", "3"],
                Some(list.as_path()),
            )
        } else {
            (
                vec!["scan", "-i", l.as_str(), "--quiet", "--timeout", "3"],
                None,
            )
        };
        let r = run_with_deadline(rdpdoctor(&args), input, Duration::from_secs(60));
        assert_eq!(r.code, 2, "{}", r.stderr);
        let place = if stdin {
            "stdin:2".to_string()
        } else {
            format!("{l}:2")
        };
        assert!(
            r.stderr.contains(&place) && r.stderr.contains("longer than 4096 bytes"),
            "{}",
            r.stderr
        );
        assert_eq!(
            targets(&r.stdout),
            ["127.0.0.1:1", "127.0.0.2:1"],
            "{}",
            r.stderr
        );
    }
}

fn targets(stdout: &str) -> Vec<String> {
    let mut t: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["target"].as_str().map(str::to_string))
        .collect();
    t.sort();
    t
}

// Class: entries of a list that cannot be scanned are reported with file:line, the rest is
// scanned, the count of what was not scanned is on stderr, and the exit status is 2.
#[test]
fn scan_reports_invalid_utf8_with_its_line_and_scans_the_rest() {
    let dir = temp("utf8");
    let list = dir.join("targets.txt");
    std::fs::write(&list, b"127.0.0.1:1\nrdp\xff\xfe01\n127.0.0.2:1\n").expect("write list");
    let l = list.display().to_string();
    let r = run_with_deadline(
        rdpdoctor(&["scan", "-i", &l, "--quiet", "--timeout", "3"]),
        None,
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{l}:2")) && r.stderr.contains("UTF-8"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Not scanned: 1 bad entry"),
        "{}",
        r.stderr
    );
    assert_eq!(targets(&r.stdout), ["127.0.0.1:1", "127.0.0.2:1"]);
}

#[test]
fn scan_says_how_many_targets_were_beyond_max_targets() {
    let dir = temp("cap");
    let list = dir.join("targets.txt");
    std::fs::write(
        &list,
        "127.0.0.1:1\n127.0.0.2:1\n127.0.0.3:1\n127.0.1.0/30\n",
    )
    .expect("write list");
    let l = list.display().to_string();
    let r = run_with_deadline(
        rdpdoctor(&[
            "scan",
            "-i",
            &l,
            "--quiet",
            "--timeout",
            "3",
            "--max-targets",
            "2",
        ]),
        None,
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    // One host line and the two hosts of the /30 were not scanned.
    assert!(
        r.stderr
            .contains(&format!("3 targets beyond --max-targets 2, from {l}:3 on")),
        "{}",
        r.stderr
    );
    assert_eq!(targets(&r.stdout), ["127.0.0.1:1", "127.0.0.2:1"]);
}

// Class: a file that is an event log but holds no readable event is exit 2 with the same
// message, whether it is an .evtx file or an XML export.
#[test]
fn event_logs_without_a_readable_event_exit_2_for_evtx_and_xml_alike() {
    let dir = temp("no-events");
    let real = std::fs::read(sample("mdecrevoisier__1149_rdp_success.evtx")).expect("sample");
    let header = real.get(..4096).expect("an evtx file header").to_vec();
    let header_only = dir.join("header-only.evtx");
    std::fs::write(&header_only, &header).expect("write");
    // The header and one chunk of zeros: what a log whose chunks were never written looks like.
    let empty_chunk = dir.join("empty-chunk.evtx");
    let mut b = header.clone();
    b.extend(std::iter::repeat_n(0u8, 65536));
    std::fs::write(&empty_chunk, &b).expect("write");
    // The header and a chunk of garbage: nothing in it can be read.
    let garbage_chunk = dir.join("garbage-chunk.evtx");
    let mut b = header;
    b.extend((0..65536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage_chunk, &b).expect("write");
    let xml = dir.join("no-event.xml");
    std::fs::write(&xml, "<Events><Event xmlns='x'></Event></Events>").expect("write");
    for path in [&header_only, &empty_chunk, &garbage_chunk, &xml] {
        let p = path.display().to_string();
        for command in ["logs", "diagnose"] {
            let r = run_with_deadline(
                rdpdoctor(&[command, &p, "--json"]),
                None,
                Duration::from_secs(20),
            );
            assert_eq!(r.code, 2, "{command} {p}: {}", r.stderr);
            assert!(
                r.stderr.contains(&p) && r.stderr.contains("holds no readable event"),
                "{command} {p}: {}",
                r.stderr
            );
        }
    }
}

// Class: observations saved as Windows tools write text (UTF-8 with a BOM, UTF-16 LE or BE with
// a BOM) are read like the plain UTF-8 file.
#[test]
fn diagnose_reads_observations_with_a_bom_or_in_utf16() {
    let dir = temp("encodings");
    let original = std::fs::read_to_string(fixture("obs-tls-fails-everywhere.json"))
        .expect("observations fixture");
    let plain = run_with_deadline(
        rdpdoctor(&[
            "diagnose",
            &fixture("obs-tls-fails-everywhere.json")
                .display()
                .to_string(),
            "--json",
        ]),
        None,
        Duration::from_secs(20),
    );
    let plain_json: Value = serde_json::from_str(&plain.stdout).expect("JSON");
    assert!(plain_json["verdict"]["status"].is_string());
    let utf16 = |le: bool| -> Vec<u8> {
        let mut b = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in original.encode_utf16() {
            b.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        b
    };
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend(original.as_bytes());
    for (name, bytes) in [
        ("utf8-bom.json", bom8),
        ("utf16le.json", utf16(true)),
        ("utf16be.json", utf16(false)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let r = run_with_deadline(
            rdpdoctor(&["diagnose", &path.display().to_string(), "--json"]),
            None,
            Duration::from_secs(20),
        );
        assert_eq!(r.code, plain.code, "{name}: {}", r.stderr);
        let json: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{name}: no JSON ({e}); stderr {}", r.stderr));
        assert_eq!(json["verdict"], plain_json["verdict"], "{name}");
        assert_eq!(json["findings"], plain_json["findings"], "{name}");
    }
}

// Class: scan results or `check --json` output given to `diagnose` are named for what they are,
// with the command that reads them, and the command it suggests works as typed.
#[test]
fn diagnose_of_scan_results_points_to_report_and_jq() {
    let dir = temp("diagnose-results");
    let results = dir.join("results.jsonl");
    let r = run_with_deadline(
        rdpdoctor(&[
            "scan",
            "127.0.0.1:1",
            "127.0.0.1:2",
            "--quiet",
            "--timeout",
            "2",
            "--output",
            results.to_str().expect("utf-8"),
        ]),
        None,
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let name = results.display().to_string();
    let r = run_with_deadline(
        rdpdoctor(&["diagnose", &name]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("results of `rdpdoctor scan`")
            && r.stderr
                .contains(&format!("rdpdoctor report {name} -o report.html")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("trailing characters"), "{}", r.stderr);
    // The jq line it gives extracts observations that diagnose replays.
    let host = dir.join("host.json");
    let jq = Command::new("jq")
        .args([
            "-c",
            "select(.target == \"127.0.0.1:2\") | .observations",
            &name,
        ])
        .output()
        .expect("jq runs");
    std::fs::write(&host, &jq.stdout).expect("write");
    let r = run_with_deadline(
        rdpdoctor(&["diagnose", host.to_str().expect("utf-8"), "--json"]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("a diagnosis");
    assert_eq!(v["target"], "127.0.0.1:2");
    // One `check --json` object, on one line or pretty-printed.
    let one = dir.join("one.json");
    let first = std::fs::read_to_string(&results).expect("results");
    let first: Value = serde_json::from_str(first.lines().next().expect("a line")).expect("json");
    for text in [
        first.to_string(),
        serde_json::to_string_pretty(&first).expect("json"),
    ] {
        std::fs::write(&one, text).expect("write");
        let p = one.display().to_string();
        let r = run_with_deadline(rdpdoctor(&["diagnose", &p]), None, Duration::from_secs(20));
        assert_eq!(r.code, 2);
        assert!(
            r.stderr
                .contains("holds the output of `rdpdoctor check --json`")
                && r.stderr.contains(&format!("jq .observations {p}")),
            "{}",
            r.stderr
        );
    }
}

/// One real scan result line (what `scan` writes per host), made offline from a golden
/// observation of the lab's xrdp-expiring server.
fn result_line() -> Value {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/xrdp-expiring.json");
    let r = run_with_deadline(
        rdpdoctor(&["diagnose", golden.to_str().expect("utf-8"), "--json"]),
        None,
        Duration::from_secs(20),
    );
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// `rdpdoctor report SCAN -o PAGE` with a deadline.
fn report(scan: &Path, page: &Path, secs: u64) -> Outcome {
    run_with_deadline(
        rdpdoctor(&[
            "report",
            scan.to_str().expect("utf-8"),
            "-o",
            page.to_str().expect("utf-8"),
        ]),
        None,
        Duration::from_secs(secs),
    )
}

fn write_lines(path: &Path, lines: impl IntoIterator<Item = Value>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
    f.flush().expect("flush");
}

// Class: every string from a scan line is bounded in the report: 1 MB targets (the were
// 15 MB: bench/report-hostile.sh) give a page of kilobytes, not one that grows with them, say
// what was cut (stderr and page), and exit 2.
#[test]
fn report_cuts_oversized_fields_and_says_so() {
    let dir = temp("report-huge");
    let mut line = result_line();
    let scan = dir.join("huge.jsonl");
    write_lines(
        &scan,
        (0..3).map(|i| {
            line["target"] = Value::String(format!("{i}{}", "a".repeat(1_000_000)));
            line.clone()
        }),
    );
    let page = dir.join("huge.html");
    let r = report(&scan, &page, 120);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "line 1: fields cut to the report's bounds: target (1000001 bytes, cut to 512)"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("3 lines with fields cut"), "{}", r.stderr);
    let html = std::fs::read_to_string(&page).expect("the page is written");
    assert!(html.len() < 2_000_000, "page of {} bytes", html.len());
    assert!(
        html.contains("3 lines with fields cut</strong>"),
        "page says so"
    );
    assert!(html.contains("more bytes cut by rdpdoctor report]"));
    // A real result line is never cut.
    let ok = dir.join("ok.jsonl");
    write_lines(&ok, [result_line()]);
    let r = report(&ok, &page, 30);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// Class: a scan file that names a new client on every line keeps a small client matrix (the
// first 64 and one row for the rest), and host lists in host order whatever the file's order.
#[test]
fn report_bounds_the_client_matrix_and_sorts_host_lists() {
    let dir = temp("report-clients");
    let mut line = result_line();
    let scan = dir.join("clients.jsonl");
    // Hosts in reverse order, each failing with a client id of its own.
    write_lines(
        &scan,
        (0..200).rev().map(|i| {
            line["target"] = Value::String(format!("10.0.{}.{}:3389", i / 100, i % 100));
            line["clients"] = serde_json::json!([
                {"id": format!("client-{i}"), "name": format!("Client {i}"), "outcome": "fails"},
                {"id": "mstsc-win11", "name": "mstsc (Windows 11)", "outcome": "fails"}
            ]);
            line.clone()
        }),
    );
    let page = dir.join("clients.html");
    let r = report(&scan, &page, 60);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&page).expect("page");
    let matrix = html
        .split("id=\"client-matrix\"")
        .nth(1)
        .and_then(|m| m.split("</table>").next())
        .expect("a client matrix");
    assert_eq!(matrix.matches("<tr><td>").count(), 65, "{matrix}");
    assert!(matrix.contains("(other clients: more distinct client ids than the report lists)"));
    // mstsc fails on all 200: its hosts are listed from the lowest address up.
    let row = matrix
        .split("<tr><td>mstsc (Windows 11)")
        .nth(1)
        .expect("the mstsc row");
    let first: Vec<&str> = row
        .split("\">")
        .skip(1)
        .filter_map(|p| p.split("</a>").next())
        .filter(|t| t.starts_with("10.0."))
        .take(3)
        .collect();
    assert_eq!(
        first,
        ["10.0.0.0:3389", "10.0.0.1:3389", "10.0.0.2:3389"],
        "{row}"
    );
    let findings = html.split("id=\"findings\"").nth(1).expect("findings");
    assert!(
        findings.contains("<a href=\"#h200\">10.0.0.0:3389</a>, <a href=\"#h199\">10.0.0.1:3389"),
        "host lists under a finding are sorted too"
    );
}

// Class: messages about skipped lines quote the input, escaped: no terminal escape, CR, LF or
// bidirectional override from a scan file reaches stderr raw (a forged "all healthy" line).
#[test]
fn report_escapes_what_skipped_lines_quote() {
    let dir = temp("report-escape");
    let scan = dir.join("evil\u{1b}[2J.jsonl");
    let forged = "\u{1b}]0;owned\u{7}\r\nrdpdoctor: report of 5 hosts written to x.html, all healthy\u{202e}";
    std::fs::write(
        &scan,
        format!(
            "{}\n",
            serde_json::json!({"verdict": {"status": forged, "summary": ""}, "findings": [], "facts": {}})
        ),
    )
    .expect("write");
    let page = dir.join("p.html");
    let r = report(&scan, &page, 30);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for raw in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
        assert!(!r.stderr.contains(raw), "raw {raw:?} in {:?}", r.stderr);
    }
    assert!(
        r.stderr.lines().all(|l| l.starts_with("rdpdoctor: ")),
        "a forged line: {:?}",
        r.stderr
    );
    assert!(r.stderr.contains("\\x1B]0;owned"), "{}", r.stderr);
}

// Class: an output that is one of the inputs (by device and inode: the same name, a symlink, a
// hard link, or stdin redirected from it) is refused before anything is written.
#[test]
fn an_output_that_is_an_input_is_refused_and_left_intact() {
    let dir = temp("same-file");
    let scan = dir.join("results.jsonl");
    write_lines(&scan, [result_line()]);
    let before = std::fs::read(&scan).expect("read");
    let link = dir.join("link.jsonl");
    std::os::unix::fs::symlink(&scan, &link).expect("symlink");
    let hard = dir.join("hard.jsonl");
    std::fs::hard_link(&scan, &hard).expect("hard link");
    let s = scan.to_str().expect("utf-8");
    for out in [&scan, &link, &hard] {
        let o = out.to_str().expect("utf-8");
        let r = run_with_deadline(
            rdpdoctor(&["report", s, "-o", o]),
            None,
            Duration::from_secs(20),
        );
        assert_eq!(r.code, 2, "report {s} -o {o}: {}", r.stderr);
        assert!(
            r.stderr.contains("would overwrite what is being read"),
            "{}",
            r.stderr
        );
    }
    let r = run_with_deadline(
        rdpdoctor(&["report", "-", "-o", s]),
        Some(&scan),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("stdin is read from it"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&scan).expect("read"),
        before,
        "the scan results are intact"
    );

    // scan -i LIST --output LIST: the list is not truncated.
    let list = dir.join("servers.txt");
    std::fs::write(&list, "127.0.0.1:1\n127.0.0.2:1\n").expect("write");
    let l = list.to_str().expect("utf-8");
    for extra in [&[][..], &["--resume"][..]] {
        let mut args = vec!["scan", "-i", l, "--output", l, "--quiet"];
        args.extend_from_slice(extra);
        let r = run_with_deadline(rdpdoctor(&args), None, Duration::from_secs(20));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("it is the input {l}")),
            "{}",
            r.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&list).expect("read"),
            "127.0.0.1:1\n127.0.0.2:1\n"
        );
    }
    // A different file is fine.
    let out = dir.join("out.jsonl");
    let r = run_with_deadline(
        rdpdoctor(&[
            "scan",
            "-i",
            l,
            "--output",
            out.to_str().expect("utf-8"),
            "--quiet",
            "--timeout",
            "2",
        ]),
        None,
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
}

// Class: `scan --resume` reads the previous output with the same line bound as everything else:
// a 64 MiB line is skipped (and said), not held (the read buffer stops at 16 MiB: about 35 MB
// peak in all, where holding the line took 82 MB), and the rest resumes as before.
#[test]
fn scan_resume_bounds_the_lines_it_reads() {
    let dir = temp("resume-huge");
    let out = dir.join("results.jsonl");
    let mut done = result_line();
    done["target"] = Value::String("127.0.0.1:1".to_string());
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&out).expect("create"));
        writeln!(f, "{done}").expect("write");
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            f.write_all(&chunk).expect("write");
        }
        f.write_all(b"\n").expect("write");
        f.flush().expect("flush");
    }
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "peak-rss-kb %M"])
        .arg(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args([
            "scan",
            "127.0.0.1:1",
            "127.0.0.1:2",
            "--quiet",
            "--timeout",
            "2",
            "--resume",
            "--output",
        ])
        .arg(&out)
        .env("RDPDOCTOR_NO_KNOWN_CERTS", "1");
    let r = run_with_deadline(cmd, None, Duration::from_secs(60));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("1 line longer than 16 MiB skipped when resuming"),
        "{}",
        r.stderr
    );
    let peak_kb: u64 = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kb "))
        .and_then(|v| v.trim().parse().ok())
        .expect("GNU time's report");
    assert!(
        peak_kb < 48 * 1024,
        "peak RSS {peak_kb} KiB for a 64 MiB line"
    );
    // 127.0.0.1:1 was done; only 127.0.0.1:2 was scanned and appended after the long line.
    let text = std::fs::read(&out).expect("read");
    let last = text
        .split(|b| *b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .expect("a line");
    let v: Value = serde_json::from_slice(last).expect("json");
    assert_eq!(v["target"], "127.0.0.1:2");
    assert_eq!(
        text.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        3
    );
}
