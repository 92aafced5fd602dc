//! `rdpdoctor report` on a real scan of the lab, opened in a real browser: headless Chromium
//! (the Debian package) runs the page's script, and the test reads the DOM it leaves and keeps
//! a screenshot in `target/artifacts/report.png`.
//!
//! Lines the lab cannot produce are written here on purpose, each from a real lab result: a
//! server that puts markup and control characters in every string it controls, results that
//! carry `clients[]` (written by `scan --clients`), lines that are not results, and a file cut
//! off in the middle of a line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{bin, workspace_root};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp(name: &str) -> common::TempDir {
    common::TempDir::new("report", name)
}

/// Every lab server as HOST:PORT, from lab/state/servers.json (the lab must be running).
fn lab_targets() -> Vec<String> {
    let path = std::env::var_os("RDPDOCTOR_LAB_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("lab/state/servers.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the lab is not running ({}: {e}). Start it with `lab/start.sh` (./test.sh does this for you)",
            path.display()
        )
    });
    let v: Value = serde_json::from_str(&text).expect("servers.json is JSON");
    v["servers"]
        .as_array()
        .expect("servers[]")
        .iter()
        .map(|s| {
            let host = s["host"].as_str().expect("host");
            assert!(host.starts_with("127."), "lab servers are on loopback");
            format!("{host}:{}", s["port"])
        })
        .collect()
}

/// HTML-escapes like the report does, to find a string in the page.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The host sections the page carries (base64 of gzip, each ended by U+0001), unpacked.
fn sections(html: &str) -> Vec<String> {
    use std::io::Read;
    let start = html
        .find("id=\"host-data\"")
        .and_then(|i| html[i..].find('>').map(|j| i + j + 1))
        .expect("the sections' data element");
    let end = start + html[start..].find("</script>").expect("its end");
    let gz = openssl::base64::decode_block(html[start..end].trim()).expect("base64");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .expect("gzip of UTF-8");
    let mut parts: Vec<String> = text.split('\u{1}').map(str::to_string).collect();
    assert_eq!(parts.pop().as_deref(), Some(""), "every section is ended");
    parts
}

/// The directory the test binary was built into (`target/` by default), for artifacts.
fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_rdpdoctor"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Runs headless Chromium on `url` with `args`, with its own profile and a deadline.
fn chromium(args: &[&str], url: &str, profile: &Path) -> std::process::Output {
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--force-device-scale-factor=1",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run chromium ({e}): install the Debian package `chromium` (scripts/install.sh does)")
    });
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("chromium runs"),
        Err(_) => {
            // Stop the one browser we started, by its PID.
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("chromium did not finish {url} within 120 s");
        }
    }
}

/// The DOM after the page's script ran.
fn dump_dom(page: &Path, fragment: &str, profile: &Path) -> String {
    let url = format!("file://{}{fragment}", page.display());
    // The virtual time budget lets the asynchronous unpacking of host sections finish first.
    let out = chromium(
        &["--virtual-time-budget=20000", "--dump-dom"],
        &url,
        profile,
    );
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium --dump-dom {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The table rows the DOM shows (rows the filter hid carry `hidden`).
fn visible_rows(dom: &str) -> Vec<&str> {
    let body = dom
        .split("<table id=\"hosts\">")
        .nth(1)
        .and_then(|t| t.split("</tbody>").next())
        .expect("the host table");
    body.split("<tr ")
        .skip(1) // the header (its row is a bare <tr>)
        .filter(|r| !r.contains(" hidden"))
        .collect()
}

fn host_of_row(row: &str) -> String {
    row.split("\">")
        .find_map(|p| p.split("</a>").next().filter(|_| p.contains("</a>")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn report_of_a_lab_scan_renders_in_chromium_with_every_host_and_the_timeline() {
    let targets = lab_targets();
    let dir = temp("lab");
    let list = dir.join("targets.txt");
    std::fs::write(&list, targets.join("\n")).expect("write targets");
    let scan_file = dir.join("scan.jsonl");
    let scan = bin()
        .args(["scan", "--quiet", "--timeout", "3", "-i"])
        .arg(&list)
        .arg("-o")
        .arg(&scan_file)
        .output()
        .expect("scan runs");
    assert!(
        scan.status.code() == Some(1),
        "scan of the lab: {}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let text = std::fs::read_to_string(&scan_file).expect("scan output");
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), targets.len());

    // A hostile server: markup and control characters in every string it controls.
    let mut hostile = lines
        .iter()
        .find(|l| {
            l["facts"]["certificate"].is_object() && !l["findings"].as_array().unwrap().is_empty()
        })
        .expect("a lab result with a certificate and findings")
        .clone();
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>\u{7}\u{1b}[31m";
    hostile["target"] = json!(format!("evil{evil}.example:3389"));
    hostile["verdict"]["summary"] = json!(format!("summary {evil}"));
    hostile["facts"]["certificate"]["subject"] = json!(format!("CN={evil}"));
    hostile["facts"]["certificate"]["sha1"] = json!(format!("sha1{evil}"));
    hostile["findings"][0]["evidence"] = json!([format!("evidence {evil}")]);
    hostile["findings"][0]["title"] = json!(format!("title {evil}"));
    lines.push(hostile);

    // Results of `scan --clients`: two hosts with a client list.
    let clients = [
        json!([
            {"id": "mstsc-win11", "name": "mstsc (Windows 11)", "outcome": "connects", "source": "profile"},
            {"id": "freerdp2", "name": "FreeRDP 2", "outcome": "fails", "step": "tls", "reason": "no TLS version in common", "client_error": {"text": "An internal error has occurred.", "codes": [{"hex": "0x4", "name": "SSL_ERR"}]}, "source": "profile"},
            {"id": "rdm", "name": "<b>Remote Desktop Manager</b>", "outcome": "prompts", "client_error": "certificate warning", "source": "profile"}
        ]),
        json!([
            {"id": "mstsc-win11", "name": "mstsc (Windows 11)", "outcome": "fails", "step": "nla", "reason": "NLA required", "client_error": "0x904", "source": "profile"},
            {"id": "freerdp2", "name": "FreeRDP 2", "outcome": "fails", "step": "nla", "source": "profile"}
        ]),
    ];
    for (i, c) in clients.iter().enumerate() {
        let mut l = lines[i].clone();
        l["target"] = json!(format!("clients-{i}.example:3389"));
        l["clients"] = c.clone();
        lines.push(l);
    }

    let good = lines.len();
    let mut file = String::new();
    for l in &lines {
        file.push_str(&l.to_string());
        file.push('\n');
    }
    let first_bad = good + 1;
    file.push_str("this is not JSON\n");
    file.push_str("{\"target\":\"no verdict\"}\n");
    let cut = lines[0].to_string();
    file.push_str(&cut[..cut.len() / 2]); // the file ends inside a line
    let input = dir.join("input.jsonl");
    std::fs::write(&input, &file).expect("write input");

    let page = dir.join("report.html");
    let out = bin()
        .args(["report"])
        .arg(&input)
        .arg("-o")
        .arg(&page)
        .output()
        .expect("report runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "skipped lines mean exit 2: {err}"
    );
    for n in first_bad..first_bad + 3 {
        assert!(
            err.contains(&format!("line {n}:")),
            "line {n} is reported: {err}"
        );
    }
    assert!(err.contains("truncated"), "{err}");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(
        std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with('.')),
        "temporary parts are removed"
    );

    let sections = sections(&html);
    assert_eq!(sections.len(), good, "one section per host");
    for (i, s) in sections.iter().enumerate() {
        assert!(
            s.starts_with(&format!("<section class=\"host\" id=\"h{}\">", i + 1)),
            "section {} in order",
            i + 1
        );
        assert!(!s.contains("<script") && !s.contains("<img"), "{s}");
    }
    // From here on, the page's text includes its sections.
    let html = format!("{html}{}", sections.concat());

    // Self-contained and escaped: the page's own script and its data, nothing loaded.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own script and the sections' data"
    );
    assert!(html.contains("<script type=\"application/gzip\" id=\"host-data\""));
    assert!(
        !html.contains("<img") && !html.contains(" src=\"") && !html.contains("href=\"http"),
        "nothing is loaded or linked outside the page"
    );
    assert!(!html.contains("<b>Remote"), "client names are escaped");
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(
        !html.contains('\u{7}') && !html.contains('\u{1b}'),
        "control characters are made visible"
    );
    assert!(html.contains(&esc("evil<script>alert('x')</script>")));
    assert!(
        html.contains("data-skipped=\"3\""),
        "the page says how many lines it skipped"
    );

    // Each host's section is what `check` prints: its summary, the explaining finding and
    // the first fix, as the scan wrote them.
    for l in &lines {
        let summary = l["verdict"]["summary"].as_str().unwrap_or_default();
        assert!(
            // The section is check's text report, whose escaping shows control characters
            // as \x07 and \x1B (render/escape.rs).
            html.contains(
                &esc(summary)
                    .replace('\u{7}', "\\x07")
                    .replace('\u{1b}', "\\x1B")
            ),
            "summary of {}",
            l["target"]
        );
        if let Some(id) = l["verdict"]["finding"].as_str() {
            let f = l["findings"]
                .as_array()
                .and_then(|a| a.iter().find(|f| f["id"] == id))
                .expect("the explaining finding is in findings[]");
            assert!(html.contains(&format!("Cause [{}]", esc(id))), "{id}");
            if let Some(fix) = f["fixes"][0]["text"].as_str() {
                assert!(
                    html.contains(&format!("1. {}", esc(fix))),
                    "first fix of {id}"
                );
            }
        }
    }

    // In the browser.
    let profile = dir.join("chromium-profile");
    let started = Instant::now();
    let dom = dump_dom(&page, "", &profile);
    let render = started.elapsed();
    assert!(
        dom.contains(&format!("data-ready=\"{good}\"")),
        "the script ran over all {good} rows"
    );
    assert!(!dom.contains("<img"), "no injected element in the DOM");
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "no injected script in the DOM"
    );
    assert!(
        dom.contains(&format!("data-sections=\"{good}\"")),
        "a small fleet shows every section at once"
    );
    let rows = visible_rows(&dom);
    assert_eq!(rows.len(), good, "every host has a row");
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let target = esc(l["target"].as_str().expect("target"))
            .replace('\u{7}', "\\u{7}")
            .replace('\u{1b}', "\\u{1b}");
        // Chromium serializes text without escaping quotes.
        let target = target.replace("&#39;", "'").replace("&quot;", "\"");
        assert!(
            dom.contains(&format!("<a href=\"#h{n}\">{target}</a>")),
            "row of host {n} ({target})"
        );
        assert!(dom.contains(&format!("id=\"h{n}\"")), "section of host {n}");
    }
    let with_cert = lines
        .iter()
        .filter(|l| l["facts"]["certificate"].is_object())
        .count();
    assert!(with_cert >= 5, "the lab has servers with certificates");
    assert!(
        dom.contains("<svg id=\"timeline-svg\""),
        "the timeline is drawn"
    );
    assert_eq!(
        dom.matches("<circle class=\"m ").count(),
        with_cert,
        "one mark per certificate"
    );
    assert!(dom.contains(&format!("data-marks=\"{with_cert}\"")));
    let expired = lines
        .iter()
        .filter(|l| {
            l["facts"]["certificate"]["days_left"]
                .as_i64()
                .is_some_and(|d| d < 0)
        })
        .count();
    assert!(expired >= 1, "the lab has an expired certificate");
    assert_eq!(dom.matches("<circle class=\"m expired\"").count(), expired);

    // The client matrix counts the outcomes.
    let matrix = dom
        .split("id=\"client-matrix\"")
        .nth(1)
        .and_then(|m| m.split("</table>").next())
        .expect("the client matrix");
    assert!(matrix.contains("mstsc (Windows 11)</td><td class=\"num ok\">1</td><td class=\"num warn\">0</td><td class=\"num bad\">1</td>"), "{matrix}");
    assert!(matrix.contains("FreeRDP 2</td><td class=\"num ok\">0</td><td class=\"num warn\">0</td><td class=\"num bad\">2</td>"), "{matrix}");
    assert!(matrix.contains("&lt;b&gt;Remote Desktop Manager&lt;/b&gt;</td><td class=\"num ok\">0</td><td class=\"num warn\">1</td>"), "{matrix}");

    // Filtering and sorting run in the browser, driven by the page's #fragment.
    let healthy = lines
        .iter()
        .filter(|l| l["verdict"]["status"] == "healthy")
        .count();
    let dom = dump_dom(&page, "#verdict=healthy", &profile);
    assert_eq!(visible_rows(&dom).len(), healthy, "verdict filter");
    assert!(dom.contains(&format!("{healthy} of {good} hosts shown")));
    let dom = dump_dom(&page, "#filter=cert-expired", &profile);
    let shown = visible_rows(&dom);
    let want = lines
        .iter()
        .filter(|l| {
            l["findings"].as_array().is_some_and(|a| {
                a.iter().any(|f| {
                    f["id"]
                        .as_str()
                        .is_some_and(|id| id.contains("cert-expired"))
                })
            })
        })
        .count();
    assert!(want >= 1, "the lab has an expired certificate");
    assert_eq!(shown.len(), want, "text filter on a finding id");
    let dom = dump_dom(&page, "#sort=expiry", &profile);
    // Ties keep the scan's order, as the page does.
    let soonest = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            Some((
                l["facts"]["certificate"]["days_left"].as_i64()?,
                i,
                l["target"].as_str()?,
            ))
        })
        .min()
        .expect("a certificate");
    let first = visible_rows(&dom)[0];
    assert_eq!(
        host_of_row(first),
        esc(soonest.2).replace("&#39;", "'"),
        "sorted by days left, soonest first"
    );

    // The screenshot the test run keeps.
    let artifacts = target_dir().join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let png = artifacts.join("report.png");
    let _ = std::fs::remove_file(&png);
    let shot = chromium(
        &[
            "--window-size=1200,1600",
            &format!("--screenshot={}", png.display()),
        ],
        &format!("file://{}", page.display()),
        &profile,
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}): {}",
            png.display(),
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "a real screenshot"
    );
    eprintln!(
        "report: {} hosts, {} bytes, rendered by chromium in {:.1} s; screenshot {}",
        good,
        html.len(),
        render.as_secs_f64(),
        png.display()
    );

    // A larger fleet made of the same real results: sections are unpacked when a host is
    // opened, not all at once.
    let hosts = 1200;
    let mut big = String::new();
    for i in 0..hosts {
        let l = &lines[i % targets.len()];
        let old = l["target"].as_str().expect("target");
        big.push_str(
            &l.to_string()
                .replace(old, &format!("fleet-{i:04}.example:3389")),
        );
        big.push('\n');
    }
    let big_in = dir.join("big.jsonl");
    std::fs::write(&big_in, big).expect("write");
    let big_page = dir.join("big.html");
    let out = bin()
        .arg("report")
        .arg(&big_in)
        .arg("-o")
        .arg(&big_page)
        .output()
        .expect("report runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    let dom = dump_dom(&big_page, "#h1100", &profile);
    assert!(dom.contains(&format!("data-ready=\"{hosts}\"")));
    assert_eq!(visible_rows(&dom).len(), hosts);
    assert!(
        dom.contains("data-sections=\"1\""),
        "only the opened host is unpacked"
    );
    let opened = dom
        .split("<section class=\"host open\" id=\"h1100\">")
        .nth(1)
        .expect("host 1100 is opened from the link");
    assert!(opened.contains("fleet-1099.example:3389"), "the right host");
    eprintln!(
        "report: {hosts} hosts opened at #h1100 by chromium in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_reads_stdin_and_refuses_what_is_not_a_regular_file() {
    let dir = temp("inputs");
    for bad in ["/dev/zero", "/"] {
        let out = bin()
            .args(["report", bad, "-o"])
            .arg(dir.join("x.html"))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("not a regular file"), "{bad}: {err}");
    }
    assert!(!dir.join("x.html").exists(), "no page for refused input");
    let missing = bin()
        .args(["report", "/nonexistent/scan.jsonl", "-o"])
        .arg(dir.join("x.html"))
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot open /nonexistent/scan.jsonl")
    );

    // One result from stdin to stdout.
    let line = json!({
        "target": "rds01.example:3389",
        "verdict": {"status": "healthy", "finding": null, "summary": "Healthy: clients connect."},
        "findings": [],
        "facts": {"tls_versions": ["TLS 1.2"]},
        "observations": {"duration_ms": 31.0}
    });
    let mut child = bin()
        .args(["report", "-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{line}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("finishes");
    let html = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<a href=\"#h1\">rds01.example:3389</a>"));
    assert!(html.contains("No host presented a certificate."));
    assert!(
        sections(&html)[0].contains("Checked in 31 ms"),
        "the text check prints, with its duration"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
