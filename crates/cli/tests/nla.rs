//! NLA: the NTLM CHALLENGE host info read without credentials, `--user` logons against the lab's
//! freerdp-nla (good and wrong password), the refused `--password` flag, and the password never
//! appearing in output, JSON or the process list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run, run_json, workspace_root, Lab};
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// (user, password) of a lab server, from lab/state/servers.json.
fn credentials(server: &str) -> (String, String) {
    let path = std::env::var_os("RDPDOCTOR_LAB_STATE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("lab/state/servers.json"));
    let text = std::fs::read_to_string(path).expect("the lab is running (lab/start.sh)");
    let v: Value = serde_json::from_str(&text).expect("servers.json is JSON");
    let c = &v["credentials"][server];
    let user = c["user"].as_str().expect("user").to_string();
    let domain = c["domain"].as_str().unwrap_or("");
    let user = if domain.is_empty() {
        user
    } else {
        format!("{domain}\\{user}")
    };
    (user, c["password"].as_str().expect("password").to_string())
}

fn check_with_password(args: &[&str], password: &str) -> Output {
    common::bin()
        .args(args)
        .env("RDPDOCTOR_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .expect("the rdpdoctor binary runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {:#}", v["findings"]))
}

#[test]
fn reads_ntlm_host_info_without_credentials() {
    let lab = Lab::get();
    let (code, v) = run_json(&["check", &lab.addr("freerdp-nla"), "--json"]);
    assert_eq!(code, 0, "{v:#}");
    let nla = &v["observations"]["nla"];
    assert_eq!(nla["outcome"]["kind"], "challenge", "{nla:#}");
    let info = &nla["outcome"]["info"];
    // freerdp-shadow names itself after the machine's host name.
    assert!(
        info["netbios_computer"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{info:#}"
    );
    assert!(info["server_time"].is_string(), "{info:#}");
    assert_eq!(nla["ts_request_version"], 6);
    // No logon without --user.
    assert!(v["observations"]["logon"].is_null());
    let facts = &v["facts"]["nla"];
    assert_eq!(
        facts["os"], "Windows Server 2008 R2 (build 7601)",
        "FreeRDP 2.11 reports NTLM version 6.1.7601: {facts:#}"
    );
    assert_eq!(facts["ts_request_version"], 6);
    assert!(facts["clock_offset_secs"]
        .as_i64()
        .is_some_and(|o| o.abs() < 5));
    assert_eq!(ids(&v), ["nla-required"]);

    let out = run(&["check", &lab.addr("freerdp-nla")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NLA (NTLM CHALLENGE, no credentials sent):"),
        "{text}"
    );
    assert!(
        text.contains("OS Windows Server 2008 R2 (build 7601)"),
        "{text}"
    );
    assert!(text.contains("CredSSP TSRequest version 6"), "{text}");
}

#[test]
fn servers_without_credssp_have_no_nla_facts() {
    let lab = Lab::get();
    let (_, v) = run_json(&["check", &lab.addr("xrdp-tls-only"), "--json"]);
    assert!(
        v["observations"]["nla"].is_null(),
        "{:#}",
        v["observations"]
    );
}

#[test]
fn good_password_is_accepted_and_never_printed() {
    let lab = Lab::get();
    let (user, password) = credentials("freerdp-nla");
    let addr = lab.addr("freerdp-nla");
    let out = check_with_password(&["check", &addr, "--user", &user, "--json"], &password);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["observations"]["logon"]["outcome"]["kind"], "accepted");
    assert_eq!(v["observations"]["logon"]["delegated"], false);
    assert_eq!(v["observations"]["logon"]["user"], user.as_str());
    assert_eq!(finding(&v, "auth-ok")["severity"], "info");
    let text = check_with_password(&["check", &addr, "--user", &user], &password);
    for o in [&out, &text] {
        for stream in [&o.stdout, &o.stderr] {
            let s = String::from_utf8_lossy(stream);
            assert!(!s.contains(&password), "the password appears in the output");
        }
    }
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Logon (--user): labuser: accepted (pubKeyAuth verified); nothing delegated"),
        "{text}"
    );
}

#[test]
fn wrong_password_is_a_rejected_logon_with_evidence() {
    let lab = Lab::get();
    let (user, _) = credentials("freerdp-nla");
    let wrong = "Wrong-Pass-4242!";
    let save = std::env::temp_dir().join(format!("rdpdoctor-nla-{}.json", std::process::id()));
    let save_s = save.to_string_lossy().to_string();
    let out = check_with_password(
        &[
            "check",
            &lab.addr("freerdp-nla"),
            "--user",
            &user,
            "--json",
            "--save",
            &save_s,
        ],
        wrong,
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["verdict"]["finding"], "logon-failure", "{v:#}");
    let f = finding(&v, "logon-failure");
    assert_eq!(f["severity"], "blocking");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("closed the connection in answer to the NTLM AUTHENTICATE"),
        "{evidence}"
    );
    assert_eq!(
        v["observations"]["logon"]["outcome"]["kind"],
        "closed-after-authenticate"
    );
    let saved = std::fs::read_to_string(&save).unwrap_or_default();
    let _ = std::fs::remove_file(&save);
    for s in [
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        saved,
    ] {
        assert!(
            !s.contains(wrong),
            "the password appears in the output or the saved file"
        );
    }
}

#[test]
fn password_flag_is_refused() {
    for args in [
        &["check", "127.0.0.1:1", "--password", "x"][..],
        &["check", "127.0.0.1:1", "--password=x"][..],
        &[
            "check",
            "--password",
            "hunter2",
            "127.0.0.1:1",
            "--user",
            "a",
        ][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("there is no --password flag"), "{err}");
        assert!(err.contains("RDPDOCTOR_PASSWORD"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn user_without_password_source_is_a_usage_error() {
    let out = common::bin()
        .args(["check", "127.0.0.1:1", "--user", "LAB\\someone"])
        .env_remove("RDPDOCTOR_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RDPDOCTOR_PASSWORD"), "{err}");
}

#[test]
fn password_never_appears_in_the_process_list() {
    let lab = Lab::get();
    let secret = "Proc-List-Secret-77";
    // standin-silent accepts and never answers: the check stays alive long enough to look.
    let child = Command::new(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args([
            "check",
            &lab.addr("standin-silent"),
            "--user",
            "LAB\\someone",
            "--timeout",
            "3",
        ])
        .env("RDPDOCTOR_PASSWORD", secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let path = format!("/proc/{}/cmdline", child.id());
    let start = Instant::now();
    let mut seen = String::new();
    while start.elapsed() < Duration::from_secs(2) {
        if let Ok(bytes) = std::fs::read(&path) {
            seen = String::from_utf8_lossy(&bytes).replace('\0', " ");
            if seen.contains("--user") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("finishes");
    assert!(seen.contains("--user LAB\\someone"), "cmdline {seen:?}");
    assert!(
        !seen.contains(secret),
        "the password is in the process list: {seen}"
    );
    for s in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(s).contains(secret));
    }
}

/// host-identity-mismatch and clock-skew from a saved document whose CHALLENGE names another
/// machine and carries a clock 10 minutes behind (the lab's one server cannot show either).
#[test]
fn identity_mismatch_and_clock_skew_from_saved_observations() {
    let lab = Lab::get();
    let save = std::env::temp_dir().join(format!("rdpdoctor-nla-id-{}.json", std::process::id()));
    let save_s = save.to_string_lossy().to_string();
    let out = run(&["check", &lab.addr("freerdp-nla"), "--save", &save_s]);
    assert_eq!(out.status.code(), Some(0));
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&save).unwrap_or_default()).expect("JSON");
    doc["target"]["host"] = Value::from("rdp.example.test");
    let info = &mut doc["nla"]["outcome"]["info"];
    info["netbios_computer"] = Value::from("OLDSRV07");
    info["dns_computer"] = Value::from("oldsrv07.example.test");
    let received = info["received_at"].as_str().unwrap_or_default().to_string();
    let t: jiff::Timestamp = received.parse().expect("timestamp");
    let behind = t - jiff::SignedDuration::from_secs(600);
    info["server_time"] = Value::from(behind.to_string());
    std::fs::write(&save, doc.to_string()).expect("writes");
    let (code, v) = run_json(&["diagnose", &save_s, "--json"]);
    let _ = std::fs::remove_file(&save);
    assert_eq!(code, 1, "{v:#}");
    let id = finding(&v, "host-identity-mismatch");
    assert_eq!(id["severity"], "warning");
    assert!(id["evidence"].to_string().contains("OLDSRV07"), "{id:#}");
    let skew = finding(&v, "clock-skew");
    assert!(
        skew["evidence"].to_string().contains("10m 00s behind"),
        "{skew:#}"
    );
    assert_eq!(v["facts"]["nla"]["clock_offset_secs"], -600);
}
