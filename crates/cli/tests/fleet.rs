//! `rdpdoctor scan` and `rdpdoctor serve` against the lab (loopback only), and the example
//! Prometheus configuration checked with Prometheus's own promtool.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod remembered;

use common::{bin, http_get, run, workspace_root, Lab};
use remembered::move_entry;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn temp(name: &str) -> common::TempDir {
    common::TempDir::new("fleet", name)
}

fn lines(path: &PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("output file");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the last line is unfinished"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

fn targets_of(values: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = values
        .iter()
        .filter_map(|v| v["target"].as_str().map(str::to_string))
        .collect();
    t.sort();
    t
}

#[test]
fn scan_writes_one_json_line_per_target_from_every_source() {
    let lab = Lab::get();
    let dir = temp("sources");
    let list = dir.join("targets.txt");
    std::fs::write(
        &list,
        format!(
            "# lab servers\n{}\n\n   {}   # the healthy NLA server\n127.0.0.0/30\n",
            lab.addr("xrdp-expired"),
            lab.addr("freerdp-nla")
        ),
    )
    .expect("write list");
    let out_file = dir.join("out.jsonl");
    let out = bin()
        .args(["scan", &lab.addr("closed"), "-i"])
        .arg(&list)
        .args(["--output"])
        .arg(&out_file)
        .args(["--timeout", "2"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let results = lines(&out_file);
    let mut want = vec![
        lab.addr("closed"),
        lab.addr("xrdp-expired"),
        lab.addr("freerdp-nla"),
        "127.0.0.1:3389".to_string(),
        "127.0.0.2:3389".to_string(),
    ];
    want.sort();
    assert_eq!(targets_of(&results), want);
    for r in &results {
        assert!(
            r["verdict"]["status"].is_string() && r["observations"]["schema"].is_string(),
            "{r}"
        );
    }
    let expired = results
        .iter()
        .find(|r| r["target"] == lab.addr("xrdp-expired").as_str())
        .expect("expired");
    assert_eq!(expired["verdict"]["finding"], "cert-expired");
    for want in [
        "Scanned 5 hosts",
        "Verdicts:",
        "Top findings:",
        "port-closed",
        "Certificates expiring soonest:",
    ] {
        assert!(err.contains(want), "summary lacks {want:?}:\n{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_skips_finished_targets_and_repairs_an_unfinished_line() {
    let lab = Lab::get();
    let dir = temp("resume");
    let out_file = dir.join("out.jsonl");
    let scan = |targets: &[String], resume: bool| {
        let mut cmd = bin();
        cmd.arg("scan")
            .args(targets)
            .arg("--output")
            .arg(&out_file)
            .args(["--timeout", "2"]);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().expect("runs")
    };
    let first = vec![lab.addr("closed"), lab.addr("standin-reset")];
    scan(&first, false);
    assert_eq!(lines(&out_file).len(), 2);
    // A writer killed mid-line (another program, power loss) leaves half a line behind.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&out_file)
        .expect("open");
    f.write_all(br#"{"target":"127.0.0.1:1","verd"#)
        .expect("append");
    drop(f);
    let mut second = first.clone();
    second.push(lab.addr("standin-garbage"));
    let out = scan(&second, true);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = lines(&out_file);
    let mut want = second.clone();
    want.sort();
    assert_eq!(targets_of(&results), want, "each target exactly once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scan_refuses_bad_lists_without_panicking() {
    // Refused before any connection: larger than the default cap.
    let out = run(&["scan", "10.0.0.0/8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-targets"));
    assert_eq!(run(&["scan"]).status.code(), Some(2));
    assert_eq!(
        run(&["scan", "-i", "/nonexistent/list.txt"]).status.code(),
        Some(2)
    );
    // A bad entry is reported with its place and skipped; the others are still scanned.
    let lab = Lab::get();
    let dir = temp("bad");
    let list = dir.join("targets.txt");
    std::fs::write(&list, format!("{}\nhost:99999\n[::1\n", lab.addr("closed"))).expect("write");
    let out = bin()
        .args(["scan", "-i"])
        .arg(&list)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("targets.txt:2") && err.contains("targets.txt:3"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_keeps_every_finished_result_and_no_half_line() {
    let lab = Lab::get();
    let dir = temp("interrupt");
    let out_file = dir.join("out.jsonl");
    // Quick targets first, then silent ones that hold the scan open.
    let mut targets = vec![
        lab.addr("closed"),
        lab.addr("standin-reset"),
        lab.addr("standin-garbage"),
    ];
    targets.extend(std::iter::repeat_n(lab.addr("standin-silent"), 6));
    let mut child = bin()
        .arg("scan")
        .args(&targets)
        .arg("--output")
        .arg(&out_file)
        .args(["--timeout", "30", "--concurrency", "8"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let start = Instant::now();
    while lines_so_far(&out_file) < 3 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = wait(&mut child, Duration::from_secs(10));
    assert_eq!(code, Some(130), "exit status after Ctrl-C");
    let results = lines(&out_file);
    assert_eq!(results.len(), 3, "the three finished results, nothing else");
    let _ = std::fs::remove_dir_all(&dir);
}

fn lines_so_far(path: &PathBuf) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running exporter, stopped by PID when dropped.
struct Exporter {
    child: Child,
    port: u16,
}

impl Exporter {
    fn start(extra: &[&str]) -> Exporter {
        let mut child = bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--allow", "127.0.0.0/8"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut line = String::new();
        let stderr = child.stderr.take().expect("stderr");
        BufReader::new(stderr)
            .read_line(&mut line)
            .expect("startup line");
        let port = common::serve_port(&line);
        Exporter { child, port }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn promtool_accepts(metrics: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (lab/install.sh installs the prometheus package)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool rejects the metrics: {}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn exporter_probes_allowed_targets_and_refuses_the_rest() {
    let lab = Lab::get();
    let e = Exporter::start(&[]);
    let (code, body) = e.get(&format!("/probe?target={}", lab.addr("xrdp-expiring")));
    assert_eq!(code, 200, "{body}");
    promtool_accepts(&body);
    assert_eq!(sample(&body, "probe_success"), Some(1.0));
    assert_eq!(sample(&body, "probe_rdp_nla_required"), Some(0.0));
    let expiry = sample(&body, "probe_ssl_earliest_cert_expiry").expect("expiry");
    let days = (expiry - jiff::Timestamp::now().as_second() as f64) / 86400.0;
    assert!(
        (9.0..=11.0).contains(&days),
        "the lab certificate expires in 10 days, got {days}"
    );
    assert!(
        body.contains(r#"probe_rdp_finding{id="cert-expiring-soon",severity="warning"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"probe_rdp_tls_version_supported{version="TLS 1.3"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"probe_rdp_security_protocol_supported{protocol="SSL"} 1"#),
        "{body}"
    );

    let (code, body) = e.get(&format!("/probe?target={}", lab.addr("freerdp-nla")));
    assert_eq!(code, 200);
    assert_eq!(sample(&body, "probe_rdp_nla_required"), Some(1.0), "{body}");
    let (code, body) = e.get(&format!("/probe?target={}", lab.addr("closed")));
    assert_eq!(code, 200);
    assert_eq!(sample(&body, "probe_success"), Some(0.0));
    assert!(body.contains(r#"probe_rdp_verdict{status="unreachable"} 1"#));

    // Outside --allow: refused before any connection. The address is never contacted.
    assert_eq!(e.get("/probe?target=10.0.0.1:3389").0, 403);
    assert_eq!(e.get("/probe?target=rdp01.corp.example").0, 403);
    assert_eq!(e.get("/probe?target=").0, 400);
    assert_eq!(e.get("/probe").0, 400);
    assert_eq!(e.get("/probe?target=%5B%3A%3A1").0, 400);
    assert_eq!(e.get("/probe?target=127.0.0.1:99999").0, 400);

    let (code, own) = e.get("/metrics");
    assert_eq!(code, 200);
    promtool_accepts(&own);
    assert_eq!(
        sample(
            &own,
            r#"rdpdoctor_exporter_probe_requests_total{outcome="ok"}"#
        ),
        Some(3.0),
        "{own}"
    );
    assert_eq!(
        sample(
            &own,
            r#"rdpdoctor_exporter_probe_requests_total{outcome="forbidden"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &own,
            r#"rdpdoctor_exporter_probe_requests_total{outcome="bad_request"}"#
        ),
        Some(4.0)
    );
}

/// `serve --known-certs FILE` remembers each target's certificate as `check` does, so a scrape
/// that finds another certificate than the one remembered reports cert-changed; without a file
/// (`--no-known-certs`, RDPDOCTOR_NO_KNOWN_CERTS=1) nothing is compared.
#[test]
fn exporter_remembers_certificates_and_reports_cert_changed() {
    let lab = Lab::get();
    let dir = temp("serve-known-certs");
    let file = dir.join("known-certs.json");
    let _ = std::fs::remove_file(&file);
    let k = file.to_str().expect("utf-8");
    let (a, b) = (lab.addr("xrdp-expiring"), lab.addr("xrdp-expired"));
    let changed = r#"probe_rdp_finding{id="cert-changed",severity="#;
    let probe = |e: &Exporter, target: &str| {
        let (code, body) = e.get(&format!("/probe?target={target}"));
        assert_eq!(code, 200, "{body}");
        body
    };
    {
        let e = Exporter::start(&["--known-certs", k]);
        let body = probe(&e, &a);
        assert!(!body.contains(changed), "{body}");
    }
    // Say that B showed A's certificate before.
    move_entry(&file, &a, &b);
    {
        let e = Exporter::start(&["--known-certs", k]);
        let body = probe(&e, &b);
        assert!(body.contains(changed), "{body}");
        // The remembered certificate is kept (no --accept-changed-cert): the next scrape too.
        let body = probe(&e, &b);
        assert!(body.contains(changed), "{body}");
    }
    // The tests' environment has RDPDOCTOR_NO_KNOWN_CERTS=1 (see common::bin).
    for extra in [&[][..], &["--no-known-certs"][..]] {
        let e = Exporter::start(extra);
        let body = probe(&e, &b);
        assert!(!body.contains(changed), "{extra:?}: {body}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exporter_answers_503_when_every_slot_stays_busy() {
    let lab = Lab::get();
    let e = Exporter::start(&[
        "--max-probes",
        "1",
        "--queue-timeout",
        "0.3",
        "--timeout",
        "3",
    ]);
    let silent = format!("/probe?target={}", lab.addr("standin-silent"));
    let port = e.port;
    let slow = std::thread::spawn(move || http_get(port, &silent));
    std::thread::sleep(Duration::from_millis(300));
    let (code, body) = e.get(&format!("/probe?target={}", lab.addr("closed")));
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("busy"), "{body}");
    let (code, body) = slow.join().expect("thread");
    assert_eq!(code, 200, "the slow probe still answers: {body}");
    assert_eq!(sample(&body, "probe_success"), Some(0.0));
}

#[test]
fn example_prometheus_config_and_alert_rules_are_valid_and_fire() {
    let dir = workspace_root().join("deploy/prometheus");
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "rules", "rdpdoctor-alerts.yml"],
        vec!["test", "rules", "rdpdoctor-alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn nagios_plugin_states_and_perfdata() {
    let lab = Lab::get();
    let plugin = |args: &[&str]| {
        let out = run(args);
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(line.lines().count(), 1, "one status line: {line}");
        (out.status.code(), line)
    };
    let (code, line) = plugin(&["check", &lab.addr("freerdp-nla"), "--format", "nagios"]);
    assert_eq!(code, Some(0), "{line}");
    assert!(line.starts_with("RDP OK - Healthy"), "{line}");
    assert!(
        line.contains(" | time=") && line.contains("cert_days=") && line.contains(";30;7"),
        "{line}"
    );

    let (code, line) = plugin(&["check", &lab.addr("xrdp-negotiate"), "--format", "nagios"]);
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("RDP WARNING - ") && line.contains("[nla-not-enforced]"),
        "{line}"
    );

    let (code, line) = plugin(&["check", &lab.addr("xrdp-expired"), "--format", "nagios"]);
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.starts_with("RDP CRITICAL - ") && line.contains("[cert-expired]"),
        "{line}"
    );

    // The lab certificate expires in 10 days: WARNING under a 30-day threshold, CRITICAL under 15.
    let (code, _) = plugin(&["check", &lab.addr("xrdp-expiring"), "--format", "nagios"]);
    assert_eq!(code, Some(1));
    let (code, line) = plugin(&[
        "check",
        &lab.addr("xrdp-expiring"),
        "--format",
        "nagios",
        "--cert-crit-days",
        "15",
    ]);
    assert_eq!(code, Some(2), "{line}");

    let (code, line) = plugin(&["check", &lab.addr("closed"), "--format", "nagios"]);
    assert_eq!(code, Some(2), "{line}");
    let (code, line) = plugin(&["check", "host:99999", "--format", "nagios"]);
    assert_eq!(code, Some(3), "{line}");
    assert!(line.starts_with("RDP UNKNOWN - "), "{line}");
}
