//! `check --full` against the lab: the phase reached and the server's own codes (Set Error Info,
//! Disconnect Provider Ultimatum, licensing), with and without credentials.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, Lab};
use serde_json::Value;
use std::process::Output;

fn full(addr: &str, user: Option<(&str, &str)>, extra: &[&str]) -> Output {
    let mut cmd = common::bin();
    cmd.args(["check", addr, "--timeout", "5"]).args(extra);
    cmd.env_remove("RDPDOCTOR_PASSWORD");
    if let Some((u, p)) = user {
        cmd.args(["--user", u]).env("RDPDOCTOR_PASSWORD", p);
    }
    cmd.output().expect("the rdpdoctor binary runs")
}

fn json(out: &Output) -> Value {
    common::json_of(out)
}

fn lab_password(lab_json: &Value) -> String {
    lab_json["credentials"]["freerdp-nla"]["password"]
        .as_str()
        .expect("servers.json has the freerdp-nla password")
        .to_string()
}

fn servers_json() -> Value {
    let path = common::workspace_root().join("lab/state/servers.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("lab running")).expect("JSON")
}

#[test]
fn full_against_the_errorinfo_standin_reports_server_denied_connection() {
    let lab = Lab::get();
    let out = full(&lab.addr("standin-errorinfo"), None, &["--full", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"]["finding"], "server-denied-connection", "{v:#}");
    assert_eq!(v["verdict"]["status"], "broken");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "server-denied-connection"))
        .expect("the finding");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("errorInfo 0x00000007"), "{evidence}");
    assert!(evidence.contains("phase licensing"), "{evidence}");
    assert!(
        evidence.contains("0x904") && evidence.contains("0x7"),
        "{evidence}"
    );
    let codes = f["client_error"]["codes"].to_string();
    assert!(
        codes.contains("\"0x904\"") && codes.contains("\"0x7\""),
        "{codes}"
    );
    let s = &v["observations"]["session"];
    assert_eq!(s["phase"], "licensing");
    assert_eq!(s["error_info"][0]["code"], 7);
    assert_eq!(s["outcome"]["kind"], "ultimatum");
    assert_eq!(s["outcome"]["reason"], 1);
    assert_eq!(s["delegated"], false);
    // Text: the Session part of the details and the notice before connecting.
    let out = full(&lab.addr("standin-errorinfo"), None, &["--full"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Session (--full):"), "{text}");
    assert!(
        text.contains("Set Error Info 0x00000007 ERRINFO_SERVER_DENIED_CONNECTION"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--full"));
}

#[test]
fn the_plain_check_of_the_standin_stops_after_tls_and_sends_nothing() {
    let lab = Lab::get();
    let out = full(&lab.addr("standin-errorinfo"), None, &["--json"]);
    let v = json(&out);
    assert!(v["observations"]["session"].is_null(), "{v:#}");
    assert!(!ids(&v).contains(&"server-denied-connection".to_string()));
    // The stand-in logs a Client Info PDU only when a client got that far.
    let log = common::workspace_root().join("lab/state/standin-errorinfo.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default();
    let out = full(&lab.addr("standin-errorinfo"), None, &["--json"]);
    assert!(out.status.code().is_some());
    let after = std::fs::read_to_string(&log).unwrap_or_default();
    let new = after.get(before.len()..).unwrap_or_default();
    assert!(!new.contains("Client Info PDU"), "{new}");
    assert!(!new.contains("Connect Initial"), "{new}");
}

#[test]
fn full_against_xrdp_without_credentials_gets_the_session_up() {
    let lab = Lab::get();
    let v = json(&full(
        &lab.addr("xrdp-negotiate"),
        None,
        &["--full", "--json"],
    ));
    let s = &v["observations"]["session"];
    assert_eq!(s["phase"], "session-up", "{s:#}");
    assert_eq!(s["outcome"]["kind"], "session-up");
    assert_eq!(s["delegated"], false);
    assert!(s["error_info"].is_null());
    // The client announced the RDP UDP transports; xrdp offers none (no Multitransport Channel
    // Data, no Initiate Multitransport Request), and that is said, not a finding.
    let m = &s["multitransport"];
    assert_eq!(m["client_flags"], 5, "{s:#}");
    assert_eq!(m["answered"], true);
    assert!(
        m["server_flags"].is_null() && m["requests"].is_null(),
        "{m}"
    );
    assert!(v["facts"]["session"]["multitransport"]
        .as_str()
        .unwrap_or_default()
        .contains("not offered"));
    assert!(!ids(&v).contains(&"udp-transport-unavailable".to_string()));
    // Standard RDP Security with RC4 goes to the session too (tests/rdp_security_full.rs has the
    // rest).
    let v = json(&full(
        &lab.addr("xrdp-rdp-only"),
        None,
        &["--full", "--json"],
    ));
    let s = &v["observations"]["session"];
    assert_eq!(s["phase"], "session-up", "{s:#}");
    assert_eq!(s["encryption"]["method"], 2, "{s:#}");
    // NLA server, no credentials: says it needs --user.
    let v = json(&full(&lab.addr("freerdp-nla"), None, &["--full", "--json"]));
    let s = &v["observations"]["session"];
    assert_eq!(s["outcome"]["kind"], "stopped", "{s:#}");
    assert!(s["outcome"]["reason"].to_string().contains("--user"));
}

#[test]
fn full_with_credentials_delegates_and_gets_the_session_up_and_never_prints_the_password() {
    let lab = Lab::get();
    let password = lab_password(&servers_json());
    let addr = lab.addr("freerdp-nla");
    let out = full(&addr, Some(("labuser", &password)), &["--full", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // Said before connecting (the rule), and after (what happened, over what, on which proof).
    assert!(
        stderr.contains("--full will delegate the credentials of labuser")
            && stderr.contains("credentials of labuser: delegated over CredSSP (NLA); the server proved its TLS key"),
        "{stderr}"
    );
    let v = json(&out);
    let s = &v["observations"]["session"];
    assert_eq!(s["phase"], "session-up", "{s:#}");
    assert_eq!(s["delegated"], true);
    assert_eq!(
        s["licensing"]["error_code"], 7,
        "STATUS_VALID_CLIENT is recorded raw"
    );
    assert_eq!(v["observations"]["logon"]["delegated"], true);
    assert_eq!(v["observations"]["logon"]["outcome"]["kind"], "accepted");
    assert!(!ids(&v).contains(&"licensing-failure".to_string()));
    let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains(&password), "the password leaked");
    // Text output too.
    let out = full(&addr, Some(("labuser", &password)), &["--full"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("phase reached: session up"), "{text}");
    assert!(text.contains("credentials delegated"), "{text}");
    assert!(!text.contains(&password) && !String::from_utf8_lossy(&out.stderr).contains(&password));
    // A wrong password: refused by CredSSP, nothing delegated.
    let v = json(&full(
        &addr,
        Some(("labuser", "wrong-pw-1")),
        &["--full", "--json"],
    ));
    assert_eq!(v["verdict"]["finding"], "logon-failure", "{v:#}");
    assert_eq!(v["observations"]["session"]["phase"], "credssp");
    assert_eq!(v["observations"]["session"]["delegated"], false);
    assert_eq!(v["observations"]["logon"]["delegated"], false);
}

/// Issue 21 point 6: a connection sequence that ends after the frame limit or on a frame the
/// probe cannot process is named (session-not-reached), never "Degraded: the security
/// handshake succeeds" without a finding. (The deadline case: trust.rs, the dripping server.)
#[test]
fn a_sequence_that_never_reaches_the_session_is_named() {
    let lab = Lab::get();
    // 5000 fast-path frames instead of an MCS Connect Response.
    let out = full(&lab.addr("hostile-frameflood"), None, &["--full", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"]["status"], "broken", "{}", v["verdict"]);
    assert_eq!(v["verdict"]["finding"], "session-not-reached");
    let s = &v["observations"]["session"];
    assert_eq!(s["outcome"]["kind"], "too-many-frames", "{s}");
    assert_eq!(s["outcome"]["frames"], 4096);
    assert!(v["findings"][0]["evidence"]
        .to_string()
        .contains("4096 frames"));
    // An MCS Connect Response of junk: a warning (it may be the probe's own limit), and the
    // verdict names it rather than claiming the handshake is all there is.
    let out = full(
        &lab.addr("hostile-badsequence"),
        None,
        &["--full", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"]["status"], "degraded", "{}", v["verdict"]);
    assert_eq!(
        v["verdict"]["finding"], "session-not-reached",
        "{}",
        v["verdict"]
    );
    assert_eq!(
        v["observations"]["session"]["outcome"]["kind"],
        "protocol-error"
    );
    let summary = v["verdict"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("never reached the session"), "{summary}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-not-reached"))
        .expect("the finding");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["evidence"].to_string().contains("could not process"),
        "{f}"
    );
}

/// Issue 22 section 2: the --full text agrees with itself. With a hold, "ended with" says how
/// the hold ended; the logon line says the TSCredentials were delegated, as auth-ok does; the
/// timeline names STATUS_VALID_CLIENT as the licensing success it is.
#[test]
fn the_full_text_agrees_with_itself() {
    let lab = Lab::get();
    let password = lab_password(&servers_json());
    let out = full(
        &lab.addr("freerdp-nla"),
        Some(("labuser", &password)),
        &["--full", "--hold", "2"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ended with the session up, then held 2.0 s and disconnected by the client"),
        "{text}"
    );
    assert!(!text.contains("ended with the session came up"), "{text}");
    assert!(
        text.contains("Logon (--user): labuser: accepted (pubKeyAuth verified); TSCredentials delegated (--full)"),
        "{text}"
    );
    assert!(!text.contains("nothing delegated"), "{text}");
    assert!(
        text.contains("server: licensing: STATUS_VALID_CLIENT (no licence needed)"),
        "{text}"
    );
    assert!(!text.contains("licensing error 0x00000007"), "{text}");
    assert!(text.contains("the path still carries data"), "{text}");
    // The verdict's scope says how it ended, too.
    let first = text.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(
        first.contains("it ended with the session up, then held 2.0 s"),
        "{first}"
    );
    // xrdp (licensing message, then STATUS_VALID_CLIENT), without credentials.
    let out = full(
        &lab.addr("xrdp-negotiate"),
        None,
        &["--full", "--hold", "1"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("licensing: STATUS_VALID_CLIENT"), "{text}");
    assert!(!text.contains("licensing error 0x00000007"), "{text}");
}

/// Issue 21 point 6: a server that sends Deactivate All every 0.5 s and never a Demand Active
/// was reported "held 20.0 s of 20 s idle". The session was not usable: session-unusable.
#[test]
fn a_session_deactivated_for_good_is_not_called_held() {
    let lab = Lab::get();
    let out = full(
        &lab.addr("hostile-deactivate"),
        None,
        &["--full", "--hold", "4", "--json"],
    );
    let v = json(&out);
    let h = &v["observations"]["session"]["hold"];
    assert_eq!(h["ending"]["kind"], "not-reactivated", "{h:#}");
    assert!(
        h["ending"]["deactivations"].as_u64().unwrap_or(0) >= 4,
        "{h:#}"
    );
    assert!(
        h["path_check"].is_null(),
        "no path check on a deactivated session: {h:#}"
    );
    let summary = v["facts"]["session"]["hold"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(!summary.starts_with("held"), "{summary}");
    assert!(summary.contains("never reactivated"), "{summary}");
    assert_eq!(
        v["verdict"]["finding"], "session-unusable",
        "{}",
        v["verdict"]
    );
    assert_eq!(v["verdict"]["status"], "degraded");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-unusable"))
        .expect("session-unusable");
    assert!(
        f["evidence"]
            .to_string()
            .contains("never the Demand Active"),
        "{f}"
    );
    // The control: the same xrdp without the relay is held, and answers the Refresh Rect.
    let v = json(&full(
        &lab.addr("xrdp-negotiate"),
        None,
        &["--full", "--hold", "2", "--json"],
    ));
    let h = &v["observations"]["session"]["hold"];
    assert_eq!(h["ending"]["kind"], "held", "{h:#}");
    assert!(h["path_check"]["answered_after_secs"].is_number(), "{h:#}");
    assert!(!ids(&v).contains(&"session-unusable".to_string()));
}
