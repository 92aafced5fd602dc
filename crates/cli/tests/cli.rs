//! Bad input, replayed faults that no loopback server can produce, and the generated catalog.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

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
        // An .rdp file that is not there (or not a file): said as such, not looked up as a name.
        "/nonexistent/farm.rdp",
    ] {
        let out = run(&["check", target]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{target:?}: {err}");
        assert!(err.starts_with("rdpdoctor: "), "{target:?}: {err}");
        assert!(!err.contains("panicked"), "{target:?}: {err}");
        assert!(out.stdout.is_empty(), "{target:?}");
        if target.ends_with(".rdp") {
            assert!(err.contains("cannot read the .rdp file"), "{err}");
        }
    }
}

/// An .rdp file whose `full address` line cannot be read: the error names the line and why,
/// not "has no full address line". Nothing is probed (exit 2).
#[test]
fn an_rdp_file_with_a_malformed_full_address_names_its_line() {
    let dir = common::TempDir::new("cli", "rdp-address");
    for (line, why) in [
        ("full address:s:rds 01", "blanks"),
        ("full address:s:[::1", "without a closing"),
    ] {
        let file = dir.join("bad.rdp");
        std::fs::write(&file, format!("screen mode id:i:2\r\n{line}\r\n")).unwrap();
        let out = run(&["check", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert!(
            err.contains("bad.rdp line 2: full address:"),
            "{line}: {err}"
        );
        assert!(err.contains(why), "{line}: {err}");
        assert!(!err.contains("has no `full address:s:` line"), "{err}");
        assert!(out.stdout.is_empty(), "{line}");
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
    // A lookup is a network probe: the verdict says where it stopped, never "offline only".
    let scope = v["verdict"]["scope"].as_str().unwrap_or("");
    assert_eq!(
        scope,
        "The check stopped at the DNS step: the name did not resolve, so nothing was sent to the server; TCP, X.224 negotiation, TLS, NLA, logon, session were not tried."
    );
}

/// The real check of a name that cannot resolve (in a network namespace of its own, so nothing
/// leaves this machine): text and JSON say the check stopped at DNS, not "offline evidence".
#[test]
fn a_name_that_does_not_resolve_is_a_probe_that_stopped_at_dns() {
    for format in ["--json", "--format=text"] {
        let out = std::process::Command::new("unshare")
            .args(["--map-root-user", "--net", "--"])
            .arg(env!("CARGO_BIN_EXE_rdpdoctor"))
            .args(["check", "no-such-host.invalid", "--timeout", "2", format])
            .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
            .output()
            .expect("unshare runs (util-linux)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text} {:?}", out.stderr);
        assert!(
            text.contains("The check stopped at the DNS step: the name did not resolve, so nothing was sent to the server"),
            "{text}"
        );
        assert!(!text.contains("offline evidence"), "{text}");
    }
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
    assert_eq!(
        v["verdict"]["scope"],
        "The check stopped at the TCP step; later steps (X.224 negotiation, TLS, NLA, logon, session) were not tried."
    );
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

/// Like `replay`, with extra `diagnose` arguments.
fn replay_with(doc: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    // Tests run in parallel and may replay the same document: one directory per call.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rdpdoctor-cli-replay-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("obs.json");
    std::fs::write(&path, doc).expect("write");
    let mut args = vec!["diagnose", path.to_str().expect("utf-8"), "--json"];
    args.extend_from_slice(extra);
    let r = run_json(&args);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// A server at 127.0.0.1 that completes TLS 1.2 with a certificate that names only "rdp01" and
/// expired in 2020.
const EXPIRED_BY_ADDRESS: &str = r#"{"schema":"rdpdoctor.observations/1",
    "target":{"input":"127.0.0.1","host":"127.0.0.1","port":3389,"kind":"ipv4"},
    "dns":{"name":"127.0.0.1","elapsed_ms":0.0,"outcome":{"kind":"literal","addresses":["127.0.0.1"]}},
    "negotiation":[{"requested":11,"elapsed_ms":1.0,"outcome":{"kind":"selected","protocol":2,"flags":31}},
                   {"requested":0,"elapsed_ms":1.0,"outcome":{"kind":"failure","code":5}},
                   {"requested":1,"elapsed_ms":1.0,"outcome":{"kind":"failure","code":5}}],
    "tls":{"attempts":[{"requested":11,"version":"TLS 1.2","elapsed_ms":1.0,"outcome":{"kind":"completed","cipher":"TLS_AES"}}],
           "certificate":{"subject":"CN=rdp01","subject_cn":["rdp01"],"issuer":"CN=Corp CA","serial_hex":"01",
             "sha256_hex":"00","sha1_hex":"0123456789ABCDEF0123456789ABCDEF01234567",
             "not_before":"2019-01-01T00:00:00Z","not_after":"2020-01-01T00:00:00Z","self_signed":false,
             "key_type":"RSA","key_bits":2048,"signature_algorithm":"sha256WithRSAEncryption",
             "signature_digest":"SHA256","chain_len":2}}}"#;

fn finding<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

/// mstsc at its default authentication level lets the user accept an expired certificate; only a
/// client that requires server authentication (--client hardened) is blocked.
#[test]
fn an_expired_certificate_blocks_only_a_client_that_requires_server_authentication() {
    let (code, v) = replay_with(EXPIRED_BY_ADDRESS, &[]);
    assert_eq!(code, 1);
    assert_eq!(finding(&v, "cert-expired")["severity"], "warning");
    assert_eq!(v["verdict"]["status"], "degraded", "{v}");
    for client in ["windows", "windows10"] {
        let (_, v) = replay_with(EXPIRED_BY_ADDRESS, &["--client", client]);
        assert_eq!(
            finding(&v, "cert-expired")["severity"],
            "warning",
            "{client}"
        );
    }
    let (_, v) = replay_with(EXPIRED_BY_ADDRESS, &["--client", "hardened"]);
    assert_eq!(finding(&v, "cert-expired")["severity"], "blocking");
    assert_eq!(v["verdict"]["status"], "broken");
    assert_eq!(v["verdict"]["finding"], "cert-expired");
}

/// Probed by address: no name-only command, and the mismatch says why an address never matches.
#[test]
fn an_address_target_gets_no_name_commands_and_the_mismatch_explains_ip_versus_name() {
    let (_, v) = replay_with(EXPIRED_BY_ADDRESS, &[]);
    let all = v["findings"].to_string();
    for name_only in ["Resolve-DnsName", "nslookup", "TERMSRV/127.0.0.1"] {
        assert!(
            !all.contains(name_only),
            "{name_only} for an address: {all}"
        );
    }
    let m = finding(&v, "cert-name-mismatch");
    assert!(m["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("Connecting by IP address always mismatches"));
    assert!(
        m["evidence"].to_string().contains("is an IP address"),
        "{m}"
    );
    // The same certificate probed by a name it does not carry keeps the DNS check.
    let by_name = EXPIRED_BY_ADDRESS
        .replace(
            r#""input":"127.0.0.1","host":"127.0.0.1","port":3389,"kind":"ipv4""#,
            r#""input":"alias.corp.example","host":"alias.corp.example","port":3389,"kind":"name""#,
        )
        .replace(
            r#""outcome":{"kind":"literal","addresses":["127.0.0.1"]}"#,
            r#""outcome":{"kind":"resolved","addresses":["127.0.0.1"]}"#,
        );
    let (_, v) = replay_with(&by_name, &[]);
    let m = finding(&v, "cert-name-mismatch");
    assert!(
        m["fixes"]
            .to_string()
            .contains("Resolve-DnsName alias.corp.example"),
        "{m}"
    );
}

/// The refusal's fixes follow the code the server sent: the placeholder is filled in, and no
/// fix speaks of a code that was not received.
#[test]
fn a_negotiation_refusal_names_the_code_received() {
    // 5 for a request that offered CredSSP contradicts the request: negotiation-refused.
    let doc = r#"{"schema":"rdpdoctor.observations/1",
        "target":{"input":"rdp01","host":"rdp01","port":3389,"kind":"name"},
        "negotiation":[{"requested":11,"elapsed_ms":1.0,"outcome":{"kind":"failure","code":5}},
                       {"requested":3,"elapsed_ms":1.0,"outcome":{"kind":"failure","code":5}}]}"#;
    let (_, v) = replay_with(doc, &[]);
    let f = finding(&v, "negotiation-refused");
    let fixes = f["fixes"].to_string();
    assert!(
        fixes.contains("rdpdoctor explain --as neg-failure 5"),
        "{fixes}"
    );
    assert!(
        !fixes.contains("CODE") && !fixes.contains("{code}"),
        "{fixes}"
    );
    assert!(fixes.contains("HYBRID_REQUIRED_BY_SERVER (5)"), "{fixes}");
    assert!(!fixes.contains("(6)") && !fixes.contains("(4)"), "{fixes}");
    // An undocumented value gets the undocumented-code fix, not a named one.
    let doc7 = doc.replace(r#""code":5"#, r#""code":7"#);
    let (_, v) = replay_with(&doc7, &[]);
    let fixes = finding(&v, "negotiation-refused")["fixes"].to_string();
    assert!(
        fixes.contains("neg-failure 7") && fixes.contains("Undocumented code"),
        "{fixes}"
    );
    assert!(!fixes.contains("HYBRID_REQUIRED_BY_SERVER (5)"), "{fixes}");
    assert!(!fixes.contains("ENTRA"), "{fixes}");
}

/// Messages a new user reads: ranges in plain words, counts in the singular for one, and a
/// measured round trip never shown as 0.0 ms. The round trips are those of the path lab's slow
/// link (198.18.2.50, htb at 32 kbit/s: the first packets pass before the queue fills).
#[test]
fn messages_count_in_words_and_keep_small_values_visible() {
    let out = run(&["check", "127.0.0.1:1", "--timeout", "0"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "rdpdoctor: --timeout 0 is not a number of seconds above 0 and at most 600"
    );
    let out = run(&["scan", "127.0.0.1:1", "--quiet", "--timeout", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Scanned 1 host in "), "{err}");

    // A real recording of the slow link (check 198.18.2.50:3389 in the path lab's client).
    let slow = workspace_root().join("crates/cli/tests/fixtures/path-slow-link.json");
    let doc = std::fs::read_to_string(&slow).expect("fixture");
    let (_, v) = replay(&doc);
    let evidence = v["findings"].to_string();
    assert!(
        evidence.contains("median round trip 237.6 ms over 6 probe connections (lowest 0.040 ms)"),
        "{evidence}"
    );
    // The same with only its slowest connection: one connection, in the singular.
    let mut one: serde_json::Value = serde_json::from_str(&doc).expect("json");
    let samples = one["path"]["tcp_info"].as_array_mut().expect("samples");
    samples.drain(..3);
    samples.truncate(1);
    let (_, v) = replay(&one.to_string());
    assert_eq!(v["facts"]["path"]["connections"], 1);
    let evidence = v["findings"].to_string();
    assert!(
        evidence.contains("over 1 probe connection (lowest 460.2 ms)"),
        "{evidence}"
    );
    let dir = std::env::temp_dir().join(format!("rdpdoctor-cli-words-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("one.json");
    std::fs::write(&path, one.to_string()).expect("write");
    let out = run(&["diagnose", path.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Path: round trip 460.2 ms lowest, 460.2 ms median over 1 connection; 0 segments retransmitted"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
