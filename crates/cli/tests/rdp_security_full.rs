//! `check --full` over Standard RDP Security against the lab's real servers: xrdp in rdp-only mode
//! at High (128-bit RC4), Low (40-bit RC4, client-to-server only) and FIPS (3DES), xrdp without
//! its certificate (its fallback to High), and freerdp-shadow-cli /sec:rdp (level None on
//! loopback). The connection sequence runs through the
//! encryption layer to the session, `--hold` holds it and gets its Refresh Rect answered, the
//! delegation rule holds, and the real xfreerdp 2.11 is held against the same servers.
//! About 16 s with the lab running (xfreerdp, run once per server in parallel, is most of it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, par_map, Lab};
use serde_json::Value;
use std::process::{Command, Output};

fn check(addr: &str, user: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = common::bin();
    cmd.args(["check", addr, "--timeout", "5", "--full", "--json"])
        .args(extra);
    cmd.env_remove("RDPDOCTOR_PASSWORD");
    if let Some(u) = user {
        cmd.args(["--user", u])
            .env("RDPDOCTOR_PASSWORD", "Canary-Pw-91");
    }
    cmd.output().expect("the rdpdoctor binary runs")
}

fn json(out: &Output) -> Value {
    common::json_of(out)
}

/// encryptionLevel, encryptionMethod, and whether server PDUs come encrypted; `None` for level
/// None, where nothing is encrypted.
type Encryption = Option<(u64, u64, bool)>;

const SERVERS: &[(&str, Encryption)] = &[
    ("xrdp-rdp-only", Some((3, 0x02, true))),
    // xrdp without its certificate falls back to Standard RDP Security at High.
    ("xrdp-cert-missing", Some((3, 0x02, true))),
    ("xrdp-rdp-low", Some((1, 0x01, false))),
    ("xrdp-rdp-fips", Some((4, 0x10, true))),
    ("freerdp-rdp", None),
];

#[test]
fn full_reaches_the_session_through_standard_rdp_security_on_every_lab_server() {
    let lab = Lab::get();
    let results = par_map(SERVERS, 5, |(name, _)| {
        json(&check(&lab.addr(name), None, &[]))
    });
    let mut failures = Vec::new();
    for ((name, enc), v) in SERVERS.iter().zip(&results) {
        let s = &v["observations"]["session"];
        if s["outcome"]["kind"] != "session-up" || s["phase"] != "session-up" {
            failures.push(format!("{name}: {s:#}"));
            continue;
        }
        if s["selected"] != 0 {
            failures.push(format!("{name}: selected {}", s["selected"]));
        }
        // Licensing went through (STATUS_VALID_CLIENT after xrdp's License Request).
        if s["licensing"]["error_code"] != 7 {
            failures.push(format!("{name}: licensing {}", s["licensing"]));
        }
        let e = &s["encryption"];
        match enc {
            None => {
                if !e.is_null() {
                    failures.push(format!("{name}: encryption at level None: {e}"));
                }
            }
            Some((level, method, server_encrypts)) => {
                let opened = e["opened"].as_u64().unwrap_or(0);
                if e["level"] != *level
                    || e["method"] != *method
                    || e["offered"] != 0x1b
                    || e["client_mac"] != "plain"
                    || e["sealed"].as_u64().unwrap_or(0) < 3
                    || (opened > 0) != *server_encrypts
                {
                    failures.push(format!("{name}: encryption {e}"));
                }
            }
        }
        // Nothing says the session failed.
        for id in ids(v) {
            if id.starts_with("session-") || id == "server-error-info" {
                failures.push(format!("{name}: finding {id}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hold_keeps_an_encrypted_session_and_its_refresh_rect_is_answered() {
    let lab = Lab::get();
    for name in ["xrdp-rdp-only", "xrdp-rdp-fips"] {
        let v = json(&check(&lab.addr(name), None, &["--hold", "2"]));
        let s = &v["observations"]["session"];
        let hold = &s["hold"];
        assert_eq!(hold["ending"]["kind"], "held", "{name}: {s:#}");
        assert!(
            hold["path_check"]["answered_after_secs"].is_number(),
            "{name}: {hold:#}"
        );
        // The Refresh Rect went out sealed and its graphics came back through the layer.
        assert!(s["encryption"]["opened"].as_u64().unwrap_or(0) > 2, "{s:#}");
    }
}

#[test]
fn the_password_goes_over_standard_rdp_security_only_with_trust_any_cert() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-rdp-only");
    let out = check(&addr, Some("labuser"), &[]);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("Canary-Pw-91"));
    let v = json(&out);
    let s = &v["observations"]["session"];
    assert_eq!(s["delegated"], false, "{s:#}");
    assert!(s["delegation"]["refused"]
        .as_str()
        .unwrap_or_default()
        .contains("--trust-any-cert"));
    assert!(ids(&v).contains(&"credentials-not-delegated".to_string()));
    // The session still comes up (the logon screen, no auto-logon).
    assert_eq!(s["outcome"]["kind"], "session-up", "{s:#}");
    let out = check(&addr, Some("labuser"), &["--trust-any-cert"]);
    let v = json(&out);
    let s = &v["observations"]["session"];
    assert_eq!(s["delegated"], true, "{s:#}");
    assert_eq!(s["delegation"]["proof"]["kind"], "trust-any-cert", "{s:#}");
    assert!(s["encryption"]["sealed"].as_u64().unwrap_or(0) > 0);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("Canary-Pw-91"));
}

/// What the real xfreerdp 2.11 does against a server with /sec:rdp within 6 s (it stays
/// connected until killed when nothing ends the session), from its log.
fn xfreerdp_sec_rdp(addr: &str, display: &str) -> String {
    let out = Command::new("timeout")
        .args(["6", "xfreerdp", &format!("/v:{addr}"), "/sec:rdp"])
        .args(["/cert:ignore", "/u:rdpdoctor", "/p:", "/log-level:INFO"])
        .env("DISPLAY", display)
        .output()
        .expect("xfreerdp runs (lab/install.sh installs freerdp2-x11)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The lines a server's log gained while `f` ran.
fn log_gained(name: &str, f: impl FnOnce() -> String) -> (String, String) {
    let path = common::workspace_root().join(format!("lab/state/{name}.log"));
    let before = std::fs::read_to_string(&path).unwrap_or_default().len();
    let out = f();
    let after = std::fs::read_to_string(&path).unwrap_or_default();
    (out, after.get(before..).unwrap_or_default().to_string())
}

/// Held against the real xfreerdp 2.11 on the same servers: where xrdp speaks RC4 (High, Low),
/// xfreerdp is logged off in licensing (ERRINFO_LOGOFF_BY_USER) and xrdp's log names the cause,
/// the MAC of FreeRDP's first licensing PDU (salted, FreeRDP's default) that does not verify,
/// while the probe (plain MACs) reaches the session on the same server; at FIPS (an HMAC, no
/// salted form) xrdp takes xfreerdp's Confirm Active, and at level None (freerdp-shadow) xfreerdp
/// draws the session: there both get through.
#[test]
fn xfreerdp_is_held_against_full_on_every_standard_rdp_security_server() {
    let lab = Lab::get();
    let display = lab.display();
    let results = par_map(SERVERS, 5, |(name, _)| {
        let addr = lab.addr(name);
        let (xfreerdp, server_log) = log_gained(name, || xfreerdp_sec_rdp(&addr, &display));
        (
            xfreerdp,
            server_log,
            json(&check(&addr, None, &["--clients"])),
        )
    });
    for ((name, enc), (xfreerdp, server_log, v)) in SERVERS.iter().zip(&results) {
        let s = &v["observations"]["session"];
        assert_eq!(s["outcome"]["kind"], "session-up", "{name}: {s:#}");
        let logged_off = xfreerdp.contains("ERRINFO_LOGOFF_BY_USER");
        // The client matrix, with the full connection's proof, predicts what xfreerdp did.
        let row = v["clients"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["id"] == "freerdp2-openssl3"))
            .unwrap_or_else(|| panic!("{name}: no freerdp2-openssl3 row in {v:#}"));
        assert_eq!(
            row["outcome"] == "fails",
            logged_off,
            "{name}: predicted {row:#}, xfreerdp: {xfreerdp}"
        );
        if logged_off {
            let reason = row.to_string();
            assert!(reason.contains("salted MACs"), "{name}: {reason}");
            assert!(
                reason.contains("ERRINFO_LOGOFF_BY_USER"),
                "{name}: {reason}"
            );
            let trial = &s["encryption"]["salted_trial"];
            assert_eq!(trial["outcome"]["kind"], "ultimatum", "{name}: {trial}");
        } else {
            assert!(
                row["reason"]
                    .to_string()
                    .contains("--full reached the session"),
                "{name}: {row:#}"
            );
        }
        match enc {
            Some((_, 0x10, _)) => {
                assert!(!logged_off, "{name}: {xfreerdp}");
                assert!(
                    server_log.contains("xrdp_caps_process_pointer"),
                    "{name}: xrdp never read xfreerdp's Confirm Active: {server_log}"
                );
            }
            Some(_) => {
                assert!(logged_off, "{name}: {xfreerdp}");
                assert!(
                    server_log.contains("MAC checksum error for non-FIPS PDU"),
                    "{name}: {server_log}"
                );
            }
            None => {
                assert!(!logged_off, "{name}: {xfreerdp}");
                assert!(
                    xfreerdp.contains("Local framebuffer format"),
                    "{name}: {xfreerdp}"
                );
            }
        }
    }
}

/// A server from before security negotiation (the lab's legacy stand-in answers the X.224
/// request without negotiation data, as Windows 2000/XP do) gets Standard RDP Security on the
/// same connection: the full connection goes past the MCS Connect Response and reads its level
/// (the stand-in scripts no more than that answer, so it then falls silent). About 1 s.
#[test]
fn a_server_without_negotiation_data_gets_standard_rdp_security_on_the_same_connection() {
    let lab = Lab::get();
    let out = common::bin()
        .args(["check", &lab.addr("standin-legacy"), "--full", "--json"])
        .args(["--timeout", "1"])
        .output()
        .expect("the rdpdoctor binary runs");
    let v = json(&out);
    let s = &v["observations"]["session"];
    assert_eq!(s["selected"], 0, "{s:#}");
    assert_eq!(s["phase"], "channel-connection", "{s:#}");
    assert_eq!(s["encryption"]["level"], 2, "{s:#}");
    assert_eq!(s["encryption"]["sealed"], 0, "{s:#}");
    assert!(v["facts"]["session"]["encryption"]
        .as_str()
        .unwrap_or_default()
        .contains("ended before the Security Exchange"));
}
