//! The known-certs file is untrusted input shared by concurrent writers (issue 21): a FIFO never
//! blocks, a symlink is refused and left as it is, the mode is kept, a pre-planted temporary file
//! never redirects the write, oversized entries (written by an older version) are bounded, and
//! two scans at once, or `serve` beside `check --accept-changed-cert`, lose nothing. Each against
//! the lab's real servers, with the real binary as separate processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod remembered;

use common::{bin, Lab};
use remembered::{check, entry, remembered_sha256};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdpdoctor-kcfile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

const EMPTY: &str = r#"{"schema":"rdpdoctor.known-certs/1","targets":{}}"#;

/// Waits for `child` at most `limit`; kills it (and fails) when it is still running.
fn finish(mut child: Child, limit: Duration, what: &str) -> (String, String) {
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    (out, err)
}

fn spawn_check(addr: &str, known: &Path, extra: &[&str]) -> Child {
    bin()
        .args(["check", addr, "--json", "--known-certs"])
        .arg(known)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns")
}

#[test]
fn a_fifo_as_the_known_certs_file_never_blocks() {
    let lab = Lab::get();
    let d = dir("fifo");
    let fifo = d.join("k.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let child = spawn_check(&lab.addr("xrdp-negotiate"), &fifo, &[]);
    let (out, err) = finish(
        child,
        Duration::from_secs(30),
        "check with a FIFO as --known-certs",
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?} {err}"));
    let problem = v["observations"]["expected_certificate"]["known_certs_problem"]
        .as_str()
        .unwrap_or_default();
    assert!(problem.contains("FIFO"), "{problem:?}; {err}");
    assert!(err.contains("was not read"), "{err}");
}

#[test]
fn a_symlinked_file_is_refused_and_left_a_symlink() {
    let lab = Lab::get();
    let d = dir("symlink");
    let real = d.join("real.json");
    std::fs::write(&real, EMPTY).expect("write");
    let link = d.join("k.json");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let (_, v, stderr) = check(
        &[
            &lab.addr("xrdp-negotiate"),
            "--known-certs",
            link.to_str().expect("utf-8"),
        ],
        None,
    );
    let problem = v["observations"]["expected_certificate"]["known_certs_problem"]
        .as_str()
        .unwrap_or_default();
    assert!(problem.contains("symbolic link"), "{problem:?}; {stderr}");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(std::fs::read_to_string(&real).expect("real"), EMPTY);
}

#[test]
fn the_mode_is_kept_and_a_planted_temporary_symlink_is_never_followed() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-negotiate");
    let d = dir("mode");
    let known = d.join("k.json");
    std::fs::write(&known, EMPTY).expect("write");
    std::fs::set_permissions(&known, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // A victim file, and symlinks to it at every temporary name the next few hundred processes
    // would pick if the name were only ".k.json.PID.tmp".
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").expect("victim");
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    for pid in last + 1..last + 400 {
        let _ = std::os::unix::fs::symlink(&victim, d.join(format!(".k.json.{pid}.tmp")));
    }
    let (_, _, stderr) = check(
        &[&addr, "--known-certs", known.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious",
        "{stderr}"
    );
    let meta = std::fs::symlink_metadata(&known).expect("known");
    assert!(meta.file_type().is_file(), "{stderr}");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "the mode changed");
    assert_eq!(remembered_sha256(&known, &addr).len(), 64, "{stderr}");
}

#[test]
fn oversized_entries_of_an_older_version_are_bounded_and_evict_nobody() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-negotiate");
    let d = dir("oversized");
    let known = d.join("k.json");
    // Eight entries whose subjects (control characters, as a hostile server's certificate had)
    // fill the file to just under the 4 MiB read limit: one more entry written whole would push
    // it over, and nothing would be remembered after that.
    let mut targets = serde_json::Map::new();
    let subject = "\u{1}".repeat(86_000);
    for i in 0..8 {
        targets.insert(
            format!("hostile{i}.example:3389"),
            serde_json::json!({
                "sha256_hex": format!("{i:064x}"), "subject": subject, "issuer": "CN=x",
                "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
                "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z"
            }),
        );
    }
    let doc = serde_json::json!({"schema": "rdpdoctor.known-certs/1", "targets": targets});
    let mut text = serde_json::to_string(&doc).expect("json");
    let room = 4 * 1024 * 1024 - 300 - text.len();
    text.insert_str(text.len() - 1, &" ".repeat(room));
    std::fs::write(&known, &text).expect("write");
    let k = known.to_str().expect("utf-8");
    let (_, first, stderr) = check(&[&addr, "--known-certs", k], None);
    assert!(
        first["observations"]["expected_certificate"]["known_certs_problem"].is_null(),
        "{stderr}"
    );
    let size = std::fs::metadata(&known).expect("size").len();
    assert!(size < 64 * 1024, "the file is {size} bytes");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&known).expect("read")).expect("json");
    assert_eq!(
        v["targets"].as_object().map(|m| m.len()),
        Some(9),
        "nobody evicted"
    );
    // And the next check still reads it.
    let (_, second, _) = check(&[&addr, "--known-certs", k], None);
    assert!(second["observations"]["expected_certificate"]["known_certs_problem"].is_null());
    assert_eq!(
        second["observations"]["expected_certificate"]["remembered"]["sha256_hex"]
            .as_str()
            .map(str::len),
        Some(64)
    );
}

#[test]
fn two_scans_at_once_lose_no_entry() {
    let lab = Lab::get();
    let d = dir("scans");
    let known = d.join("k.json");
    let lists = [
        ["xrdp-negotiate", "xrdp-expired", "xrdp-expiring"],
        ["xrdp-tls-only", "xrdp-not-yet-valid", "renew-old"],
    ];
    let children: Vec<Child> = lists
        .iter()
        .map(|names| {
            let mut c = bin();
            c.args(["scan", "--quiet", "--known-certs"]).arg(&known);
            for n in names {
                c.arg(lab.addr(n));
            }
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("scan")
        })
        .collect();
    for c in children {
        finish(c, Duration::from_secs(60), "scan");
    }
    for n in lists.iter().flatten() {
        assert_eq!(
            remembered_sha256(&known, &lab.addr(n)).len(),
            64,
            "{n} was lost"
        );
    }
}

/// `rdpdoctor serve` on an ephemeral loopback port; its port.
fn serve(known: &Path) -> (Child, u16) {
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow",
            "127.0.0.1/32",
            "--known-certs",
        ])
        .arg(known)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut reader = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("startup line");
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let port = common::serve_port(&line);
    (child, port)
}

fn scrape(port: u16, target: &str) {
    let (status, body) = common::http_get(port, &format!("/probe?target={target}"));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn serve_never_erases_what_check_accepted_beside_it() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-negotiate");
    let d = dir("serve");
    let known = d.join("k.json");
    // What was remembered before: another certificate for the address.
    let old = serde_json::json!({"schema": "rdpdoctor.known-certs/1", "targets": {
        addr.clone(): {"sha256_hex": "ab".repeat(32), "subject": "CN=old", "issuer": "CN=old",
            "not_before": "2026-01-01T00:00:00Z", "not_after": "2030-01-01T00:00:00Z",
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z"}}});
    std::fs::write(&known, old.to_string()).expect("write");
    let (mut exporter, port) = serve(&known);
    // The admin checks the change and accepts it while the exporter runs.
    let (_, _, stderr) = check(
        &[
            &addr,
            "--known-certs",
            known.to_str().expect("utf-8"),
            "--accept-changed-cert",
        ],
        None,
    );
    let accepted = remembered_sha256(&known, &addr);
    assert_eq!(accepted.len(), 64, "{stderr}");
    assert_ne!(accepted, "ab".repeat(32), "{stderr}");
    // The exporter then remembers another target (and sees this one again): both write the file.
    scrape(port, &lab.addr("xrdp-expired"));
    scrape(port, &addr);
    let _ = exporter.kill();
    let _ = exporter.wait();
    assert_eq!(
        remembered_sha256(&known, &addr),
        accepted,
        "{:#}",
        entry(&known, &addr)
    );
    assert_eq!(
        remembered_sha256(&known, &lab.addr("xrdp-expired")).len(),
        64
    );
}
