//! The output formats and the diagnosis options every command shares: `--json` is
//! `--format json` everywhere, a conflict is one usage error, `--client` and `--cert-warn-days`
//! are read (and refused) the same way by every command that takes them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{run, workspace_root};

fn golden(name: &str) -> String {
    workspace_root()
        .join("crates/cli/tests/golden")
        .join(name)
        .to_string_lossy()
        .to_string()
}

const AT: &str = "2026-12-01T20:09:02Z";

fn stdout(args: &[&str]) -> (i32, String, String) {
    let out = run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn json_and_format_json_print_the_same_and_text_is_the_default() {
    let file = golden("xrdp-expired.json");
    let base = ["diagnose", file.as_str(), "--at", AT];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        stdout(&args)
    };
    let (code, json, _) = with(&["--json"]);
    assert_eq!(code, 1, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("one JSON object");
    assert_eq!(v["verdict"]["finding"], "cert-expired");
    assert_eq!(with(&["--format", "json"]).1, json);
    assert_eq!(with(&["--json", "--format", "json"]).1, json);
    let (code, text, _) = with(&[]);
    assert_eq!(code, 1);
    assert!(text.contains("cert-expired"), "{text}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    assert_eq!(with(&["--format", "text"]).1, text);
    for cmd in ["logs", "host"] {
        let (code, _, err) = stdout(&[cmd, "--format", "nagios", "Cargo.toml"]);
        assert_eq!(code, 2, "{cmd}: {err}");
    }
}

#[test]
fn a_format_that_disagrees_with_json_or_is_not_offered_is_a_usage_error() {
    let file = golden("xrdp-expired.json");
    for (args, message) in [
        (
            vec!["diagnose", file.as_str(), "--json", "--format", "text"],
            "rdpdoctor: --json and --format text disagree; give one of them (--json is the same as --format json)\n",
        ),
        (
            vec!["check", "127.0.0.1", "--json", "--format", "nagios"],
            "rdpdoctor: --json and --format nagios disagree; give one of them (--json is the same as --format json)\n",
        ),
        (
            vec!["diagnose", file.as_str(), "--format", "nagios"],
            "rdpdoctor: diagnose has no nagios format; use text (default) or --json\n",
        ),
        (
            vec!["compare", "127.0.0.1", "127.0.0.2", "--format", "nagios"],
            "rdpdoctor: compare has no nagios format; use text (default) or --json, and check for one target\n",
        ),
    ] {
        let (code, out, err) = stdout(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err, message, "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
}

#[test]
fn nagios_reports_its_own_errors_as_unknown() {
    let (code, out, err) = stdout(&["check", "host:0", "--format", "nagios"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.starts_with("RDP UNKNOWN"), "{out}");
    let (code, out, _) = stdout(&[
        "check",
        "127.0.0.1",
        "--client",
        "amiga",
        "--format",
        "nagios",
    ]);
    assert_eq!(code, 3);
    assert!(
        out.starts_with("RDP UNKNOWN") && out.contains("amiga"),
        "{out}"
    );
}

#[test]
fn client_and_cert_warn_days_are_refused_alike_by_every_command() {
    let file = golden("xrdp-expired.json");
    let client_error = |args: &[&str]| {
        let (code, _, err) = stdout(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        err
    };
    let from_check = client_error(&["check", "127.0.0.1", "--client", "amiga"]);
    assert!(
        from_check.starts_with(
            "rdpdoctor: --client \"amiga\" is not a known client profile; use one of: "
        ),
        "{from_check}"
    );
    for args in [
        vec!["diagnose", file.as_str(), "--client", "amiga"],
        vec!["scan", "127.0.0.1", "--client", "amiga"],
        vec![
            "serve",
            "--allow",
            "127.0.0.1",
            "--listen",
            "127.0.0.1:0",
            "--client",
            "amiga",
        ],
    ] {
        assert_eq!(client_error(&args), from_check, "{args:?}");
    }
    let days_error = |args: &[&str]| {
        let err = client_error(args);
        // clap's message names the flag and the range, then the usage line of the command.
        let first = err.lines().next().unwrap_or_default().to_string();
        assert!(first.contains("--cert-warn-days"), "{args:?}: {err}");
        assert!(first.contains("0..=3650"), "{args:?}: {err}");
        first
    };
    let from_check = days_error(&["check", "127.0.0.1", "--cert-warn-days", "5000"]);
    for args in [
        vec!["diagnose", file.as_str(), "--cert-warn-days", "5000"],
        vec!["serve", "--allow", "127.0.0.1", "--cert-warn-days", "5000"],
    ] {
        assert_eq!(days_error(&args), from_check, "{args:?}");
    }
}

#[test]
fn scan_still_accepts_json() {
    // A closed loopback port: nothing to wait for.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let target = format!("127.0.0.1:{port}");
    let (code, out, err) = stdout(&["scan", &target, "--json", "--quiet", "--timeout", "2"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(v["verdict"]["status"], "unreachable");
}

/// One rounding rule for certificate days (whole days, truncated toward zero) in the evidence,
/// the details, JSON and the scan summary: a certificate that expired 2.5 days before the check
/// is "expired 2 days ago" and `days_left: -2` everywhere, never -3 beside "2 days ago".
#[test]
fn certificate_days_agree_in_evidence_details_and_json() {
    // notAfter of the golden xrdp-expired certificate is 2026-11-29T20:07:22Z.
    let file = golden("xrdp-expired.json");
    for (at, days, words) in [
        ("2026-12-02T08:07:22Z", -2, "expired 2 days ago"),
        ("2026-11-30T20:07:21Z", 0, "expired less than a day ago"),
        ("2026-11-30T20:07:22Z", -1, "expired 1 day ago"),
        ("2026-11-29T20:07:23Z", 0, "expired less than a day ago"),
        ("2026-11-29T20:07:22Z", 0, "expires within a day"),
        ("2026-11-28T20:07:22Z", 1, "expires in 1 day"),
        ("2026-11-27T08:07:22Z", 2, "expires in 2 days"),
    ] {
        let (_, json, err) = stdout(&["diagnose", &file, "--at", at, "--json"]);
        let v: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
        let cert = &v["facts"]["certificate"];
        assert_eq!(cert["days_left"], days, "{at}: {cert}");
        assert_eq!(
            cert["expired"],
            words.starts_with("expired"),
            "{at}: {cert}"
        );
        let evidence = v["findings"].to_string();
        if words.starts_with("expired") {
            assert!(
                evidence.contains(&format!("2026-11-29 20:07 UTC: {words}")),
                "{at}: {evidence}"
            );
        }
        let (_, text, _) = stdout(&["diagnose", &file, "--at", at]);
        assert!(
            text.contains(&format!("to 2026-11-29 20:07:22 UTC ({words})")),
            "{at}: details must say {words:?}:\n{text}"
        );
        assert!(!text.contains("days left"), "{text}");
    }
    // 29 days and 23 hours left is 29 whole days: under a 30-day threshold, expiring soon.
    let (_, json, _) = stdout(&["diagnose", &file, "--at", "2026-10-30T21:07:22Z", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["facts"]["certificate"]["days_left"], 29);
    assert!(
        v["findings"]
            .to_string()
            .contains("expires in 29 days (threshold 30 days)"),
        "{}",
        v["findings"]
    );
}
