//! Bad input, replayed faults that no loopback server can produce, and the generated catalog.

mod common;

use common::{ids, run, run_json, workspace_root};

#[test]
fn bad_targets_get_one_clear_line_and_exit_2() {
    for target in [
        "",
        "   ",
        "host:0",
        "host:70000",
        "host:1:2",
        "[::1",
        "[::1]x",
        "[zz]:1",
        "bad host",
        "host:",
    ] {
        let out = run(&["check", target]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{target:?}: {err}");
        assert!(err.starts_with("rdpdoctor: "), "{target:?}: {err}");
        assert!(!err.contains("panicked"), "{target:?}: {err}");
        assert!(out.stdout.is_empty(), "{target:?}");
    }
}

#[test]
fn bad_options_exit_2() {
    for args in [
        vec!["check"],
        vec!["check", "127.0.0.1", "--timeout", "0"],
        vec!["check", "127.0.0.1", "--timeout", "-1"],
        vec!["check", "127.0.0.1", "--timeout", "nan"],
        vec!["check", "127.0.0.1", "--client", "amiga"],
        vec!["check", "127.0.0.1", "--connections", "0"],
        vec!["diagnose", "/nonexistent/obs.json"],
        vec!["diagnose", "Cargo.toml"],
        vec!["diagnose", "Cargo.toml", "--at", "yesterday"],
        vec!["no-such-command"],
    ] {
        let out = common::bin()
            .args(&args)
            .current_dir(workspace_root())
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Writes an observations document and diagnoses it: faults whose network conditions cannot be
/// produced on a loopback lab (a failing resolver, a filtering firewall).
fn replay(doc: &str) -> (i32, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!(
        "rdpdoctor-cli-{}-{}",
        std::process::id(),
        doc.len()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("obs.json");
    std::fs::write(&path, doc).expect("write");
    let r = run_json(&["diagnose", path.to_str().expect("utf-8"), "--json"]);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

#[test]
fn dns_failure_is_unreachable() {
    let (code, v) = replay(
        r#"{"schema":"rdpdoctor.observations/1",
            "target":{"input":"rdp01.corp.example","host":"rdp01.corp.example","port":3389,"kind":"name"},
            "dns":{"name":"rdp01.corp.example","elapsed_ms":12.5,"outcome":{"kind":"failed","error":"failed to lookup address information: Name or service not known"}}}"#,
    );
    assert_eq!(code, 1);
    assert_eq!(v["verdict"]["status"], "unreachable");
    assert_eq!(v["verdict"]["finding"], "dns-failure");
    assert_eq!(
        v["findings"][0]["client_error"]["codes"][0]["name"],
        "disconnectReasonDNSLookupFailed"
    );
    assert_eq!(
        v["findings"][0]["client_error"]["codes"][0]["family"],
        "disconnect"
    );
}

#[test]
fn filtered_port_is_unreachable() {
    let (code, v) = replay(
        r#"{"schema":"rdpdoctor.observations/1",
            "target":{"input":"10.0.0.5","host":"10.0.0.5","port":3389,"kind":"ipv4"},
            "dns":{"name":"10.0.0.5","elapsed_ms":0.0,"outcome":{"kind":"literal","addresses":["10.0.0.5"]}},
            "tcp":{"attempts":[{"address":"10.0.0.5:3389","elapsed_ms":5000.2,"outcome":{"kind":"timed-out"}}]}}"#,
    );
    assert_eq!(code, 1);
    assert_eq!(v["verdict"]["status"], "unreachable");
    assert_eq!(ids(&v), vec!["port-filtered".to_string()]);
}

#[test]
fn tls_failing_at_every_version_is_broken_at_tls() {
    let (code, v) = replay(
        r#"{"schema":"rdpdoctor.observations/1",
            "target":{"input":"rdp01","host":"rdp01","port":3389,"kind":"name"},
            "negotiation":[{"requested":11,"elapsed_ms":1.0,"outcome":{"kind":"selected","protocol":2,"flags":31}}],
            "tls":{"attempts":[
              {"requested":11,"version":"TLS 1.0","elapsed_ms":1.0,"outcome":{"kind":"alert-received","alert":70}},
              {"requested":11,"version":"TLS 1.1","elapsed_ms":1.0,"outcome":{"kind":"alert-received","alert":70}},
              {"requested":11,"version":"TLS 1.2","elapsed_ms":1.0,"outcome":{"kind":"closed","bytes":0}},
              {"requested":11,"version":"TLS 1.3","elapsed_ms":1.0,"outcome":{"kind":"reset","bytes":0}}]}}"#,
    );
    assert_eq!(code, 1);
    assert_eq!(v["verdict"]["status"], "broken");
    assert_eq!(v["verdict"]["finding"], "tls-handshake-failed");
    let evidence = v["findings"][0]["evidence"].to_string();
    assert!(evidence.contains("70 protocol_version"), "{evidence}");
    let fixes = v["findings"][0]["fixes"].to_string().to_lowercase();
    assert!(
        !fixes.contains("userauthentication /t reg_dword /d 0"),
        "never disable NLA for a TLS fault"
    );
}

#[test]
fn observations_of_another_schema_are_refused() {
    let dir = std::env::temp_dir().join(format!("rdpdoctor-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("obs.json");
    std::fs::write(&path, r#"{"schema":"rdpdoctor.observations/99"}"#).expect("write");
    let out = run(&["diagnose", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn docs_findings_md_is_generated_from_the_catalog() {
    let out = run(&["findings", "--markdown"]);
    let generated = String::from_utf8_lossy(&out.stdout).to_string();
    let path = workspace_root().join("docs/findings.md");
    if std::env::var_os("RDPDOCTOR_BLESS").is_some() {
        std::fs::create_dir_all(workspace_root().join("docs")).expect("docs dir");
        std::fs::write(&path, &generated).expect("write docs/findings.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/findings.md is out of date: regenerate it with `RDPDOCTOR_BLESS=1 cargo test -p rdpdoctor --test cli`"
    );
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    use std::io::Read;
    for args in [
        vec!["findings"],
        vec!["explain", "0x904", "0x7"],
        vec!["findings", "--markdown"],
    ] {
        let mut child = common::bin()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut first = [0u8; 1];
        let _ = child.stdout.as_mut().expect("stdout").read(&mut first);
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("waits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    let out = run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "check", "scan", "serve", "explain", "logs", "host", "diagnose",
    ] {
        assert!(text.contains(sub), "bash completion lacks {sub}");
    }
    let out = run(&["manpage"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH rdpdoctor 1"));
    assert_eq!(run(&["completions", "cmd.exe"]).status.code(), Some(2));
}
