//! Trust, tested as an attacker would: hostile stand-ins of the lab (lab/hostile.py) harvest
//! credentials, fake CredSSP, drip frames, send escape sequences and malformed answers. A canary
//! password must never reach them, no check may run past its deadline, text output never passes a
//! control character through, and no verdict claims more than was proven.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run, run_json, workspace_root, Lab};
use serde_json::Value;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const CANARY: &str = "Canary-7f3a9e!pw";

fn with_canary(args: &[&str]) -> Output {
    common::bin()
        .args(args)
        .env("RDPDOCTOR_PASSWORD", CANARY)
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("the rdpdoctor binary runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What the hostile stand-in `name` received so far; emptied by `clear`.
fn record(name: &str) -> Vec<u8> {
    std::fs::read(workspace_root().join(format!("lab/state/{name}.record"))).unwrap_or_default()
}

fn clear(name: &str) {
    let _ = std::fs::write(
        workspace_root().join(format!("lab/state/{name}.record")),
        b"",
    );
}

fn has_canary(bytes: &[u8]) -> bool {
    let utf16: Vec<u8> = CANARY.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf8 = CANARY.as_bytes();
    bytes.windows(utf16.len()).any(|w| w == utf16) || bytes.windows(utf8.len()).any(|w| w == utf8)
}

/// One test for both harvesters: the same stand-in records, so the cases run in order.
#[test]
fn credentials_never_go_to_an_unproven_server() {
    let lab = Lab::get();

    // TLS without NLA, certificate not in the system trust store: withheld.
    let tls = lab.addr("hostile-harvest-tls");
    clear("hostile-harvest-tls");
    let out = with_canary(&[
        "check",
        &tls,
        "--full",
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--json",
    ]);
    let v = json(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !has_canary(&record("hostile-harvest-tls")),
        "the canary reached the TLS harvester"
    );
    assert!(
        !record("hostile-harvest-tls").is_empty(),
        "the harvester saw no Client Info at all: the test proves nothing"
    );
    assert!(
        ids(&v).contains(&"credentials-not-delegated".to_string()),
        "{:?}",
        ids(&v)
    );
    let d = &v["observations"]["session"]["delegation"];
    assert_eq!(d["delegated"], false, "{d}");
    assert_eq!(d["channel"]["kind"], "tls", "{d}");
    assert_eq!(d["proof"]["kind"], "unproven", "{d}");
    assert!(err.contains("withheld over TLS"), "stderr: {err}");
    assert!(
        !err.contains("encrypted"),
        "stderr must not promise encryption: {err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(CANARY));

    // The positive control: pinned to the certificate the report showed, the password goes out
    // (so the record above would have shown it).
    let sha256 = v["facts"]["certificate"]["sha256"]
        .as_str()
        .expect("the report shows the certificate's SHA-256")
        .to_string();
    clear("hostile-harvest-tls");
    let out = with_canary(&[
        "check",
        &tls,
        "--full",
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--cert-sha256",
        &sha256,
    ]);
    assert!(
        has_canary(&record("hostile-harvest-tls")),
        "pinned: the password should have been delegated; stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches --cert-sha256"));

    // A different pin is never overridden, not even by --trust-any-cert.
    clear("hostile-harvest-tls");
    let wrong = "00".repeat(32);
    let _ = with_canary(&[
        "check",
        &tls,
        "--full",
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--cert-sha256",
        &wrong,
        "--trust-any-cert",
    ]);
    assert!(!has_canary(&record("hostile-harvest-tls")));

    // Standard RDP Security at level None: clear text, never, whatever the options.
    let rdp = lab.addr("hostile-harvest-rdp");
    clear("hostile-harvest-rdp");
    let out = with_canary(&[
        "check",
        &rdp,
        "--full",
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--trust-any-cert",
        "--json",
    ]);
    let v = json(&out);
    assert!(
        !record("hostile-harvest-rdp").is_empty(),
        "the RDP harvester saw nothing: the test proves nothing"
    );
    assert!(
        !has_canary(&record("hostile-harvest-rdp")),
        "the canary crossed the wire in clear text"
    );
    assert_eq!(
        v["observations"]["session"]["delegation"]["channel"]["level"],
        0
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("encryption level None"));
}

#[test]
fn a_pubkeyauth_that_does_not_verify_is_never_success() {
    let lab = Lab::get();
    let addr = lab.addr("hostile-badpubkey");
    clear("hostile-badpubkey");
    let out = with_canary(&[
        "check",
        &addr,
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["verdict"]["status"], "broken", "{}", v["verdict"]);
    assert_eq!(v["verdict"]["finding"], "credssp-pubkey-mismatch");
    let found = ids(&v);
    assert!(!found.contains(&"auth-ok".to_string()), "{found:?}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "credssp-pubkey-mismatch"))
        .expect("the finding");
    assert_eq!(f["severity"], "blocking");
    assert!(
        f["evidence"]
            .to_string()
            .contains("went to whoever terminated TLS"),
        "{f}"
    );
    assert!(!has_canary(&record("hostile-badpubkey")));
    // With --full the TSCredentials must not follow either.
    clear("hostile-badpubkey");
    let out = with_canary(&[
        "check",
        &addr,
        "--full",
        "--user",
        "LAB\\u",
        "--timeout",
        "3",
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["verdict"]["finding"], "credssp-pubkey-mismatch");
    assert!(!has_canary(&record("hostile-badpubkey")));
    assert_eq!(v["observations"]["session"]["delegated"], false);
}

#[test]
fn a_dripping_server_cannot_outlast_the_overall_deadline() {
    let lab = Lab::get();
    let addr = lab.addr("hostile-drip");
    let start = Instant::now();
    // A frame every 1.5 s resets a 2 s per-read deadline forever.
    let (code, v) = run_json(&["check", &addr, "--full", "--timeout", "2", "--json"]);
    let took = start.elapsed();
    // The documented overall deadline of check --full is 12 x --timeout; allow start-up slack.
    assert!(
        took < Duration::from_secs(24 + 5),
        "check --full --timeout 2 ran {took:?} against a dripping server"
    );
    assert_eq!(code, 1);
    let s = &v["observations"]["session"];
    assert_eq!(s["outcome"]["kind"], "deadline-exceeded", "{s}");
    assert!(s["frames"].as_u64().unwrap_or(0) >= 2, "{s}");
    // Named, not "Degraded: the security handshake succeeds" with no finding (issue 21, 6).
    assert_eq!(
        v["verdict"]["finding"], "session-not-reached",
        "{}",
        v["verdict"]
    );
    assert_eq!(v["verdict"]["status"], "broken");
    assert!(
        v["verdict"]["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("overall deadline"),
        "{}",
        v["verdict"]
    );
}

#[test]
fn text_output_escapes_what_the_server_controls() {
    let lab = Lab::get();
    let out = run(&["check", &lab.addr("hostile-badpubkey"), "--timeout", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let raw: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
    assert!(
        text.contains("\\x1B]0;pwned"),
        "the escaped name is shown: {text}"
    );
    for forged in ["all healthy", "HEALTHY"] {
        assert!(
            !text.lines().skip(1).any(|l| l.trim() == forged),
            "a server-forged line {forged:?} in:\n{text}"
        );
    }
    // JSON keeps the raw value (escaped by JSON itself).
    let (_, v) = run_json(&[
        "check",
        &lab.addr("hostile-badpubkey"),
        "--json",
        "--timeout",
        "3",
    ]);
    assert!(v["facts"]["nla"].to_string().contains("\\u001b]0;pwned"));
}

/// (lab server, finding that must explain it, status, ids that must be absent)
const MALFORMED: &[(&str, &str, &str, &[&str])] = &[
    (
        "hostile-oddproto",
        "unknown-protocol-selected",
        "broken",
        &["tls-handshake-failed", "nla-not-enforced"],
    ),
    (
        "hostile-mcs-garbage",
        "mcs-response-malformed",
        "broken",
        &["encryption-mismatch"],
    ),
    (
        "hostile-mcs-truncated",
        "mcs-response-malformed",
        "broken",
        &["encryption-mismatch"],
    ),
    (
        "hostile-mcs-ffff",
        "mcs-response-malformed",
        "broken",
        &["encryption-mismatch", "encryption-level-low"],
    ),
    (
        "hostile-mcs-silent",
        "no-reply",
        "broken",
        &["encryption-mismatch", "mcs-response-malformed"],
    ),
    (
        "hostile-badcredssp",
        "credssp-response-malformed",
        "broken",
        &[],
    ),
    ("hostile-stall6", "no-reply", "broken", &[]),
];

#[test]
fn malformed_answers_are_named_for_what_they_are() {
    let lab = Lab::get();
    for (server, want, status, absent) in MALFORMED {
        let (code, v) = run_json(&["check", &lab.addr(server), "--json", "--timeout", "2"]);
        assert_eq!(code, 1, "{server}");
        assert_eq!(v["verdict"]["finding"], *want, "{server}: {}", v["verdict"]);
        assert_eq!(v["verdict"]["status"], *status, "{server}");
        let found = ids(&v);
        for a in *absent {
            assert!(
                !found.contains(&a.to_string()),
                "{server}: {a} in {found:?}"
            );
        }
    }
    let (_, v) = run_json(&[
        "check",
        &lab.addr("hostile-stall6"),
        "--json",
        "--timeout",
        "2",
    ]);
    let title = v["findings"][0]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("sent 6 bytes") && !title.contains("silent"),
        "{title}"
    );
    let (_, v) = run_json(&[
        "check",
        &lab.addr("hostile-mcs-silent"),
        "--json",
        "--timeout",
        "2",
    ]);
    assert_eq!(v["verdict"]["step"], "rdp-security", "{}", v["verdict"]);
}

#[test]
fn verdicts_say_how_far_the_check_went() {
    let lab = Lab::get();
    // A server that refuses the session after the Client Info PDU: the handshake alone is fine,
    // and the verdict must not say that clients connect.
    let (_, v) = run_json(&["check", &lab.addr("standin-errorinfo"), "--json"]);
    let summary = v["verdict"]["summary"].as_str().unwrap_or_default();
    let scope = v["verdict"]["scope"].as_str().unwrap_or_default();
    assert!(!summary.contains("clients connect"), "{summary}");
    assert!(
        scope.contains("Not tested: logon and session") && scope.contains("--full"),
        "{scope}"
    );
    let out = run(&["check", &lab.addr("standin-errorinfo")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--full"),
        "the text report points to --full:\n{text}"
    );
    // With --full it reaches the refusal, and the scope says so.
    let (_, v) = run_json(&["check", &lab.addr("standin-errorinfo"), "--json", "--full"]);
    assert_eq!(v["verdict"]["finding"], "server-denied-connection");
    assert!(v["verdict"]["scope"]
        .as_str()
        .unwrap_or_default()
        .contains("--full"));
}

/// A server that answers each connection slowly (pyrdp-mitm takes seconds per connection) must
/// not keep a check alive past the overall deadline either: once it has passed, nothing may dial
/// again (a retried TLS version once redialled forever with a zero deadline).
#[test]
fn a_slow_server_cannot_outlast_the_overall_deadline() {
    let lab = Lab::get();
    let start = Instant::now();
    let out = run(&["check", &lab.addr("pyrdp-xrdp"), "--timeout", "1", "--json"]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(6 + 5),
        "check --timeout 1 ran {took:?} against a slow server"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON even when cut short");
    assert!(v["verdict"]["status"].is_string(), "{v}");
}

/// `check` with the canary password as `user` (its name picks the stand-in's answer), and
/// `extra` arguments; the exit status and the JSON.
fn logon(server: &str, user: &str, extra: &[&str]) -> (i32, Value, String) {
    let lab = Lab::get();
    let addr = lab.addr(server);
    let user = format!("LAB\\{user}");
    let mut args = vec![
        "check",
        addr.as_str(),
        "--user",
        user.as_str(),
        "--timeout",
        "2",
    ];
    args.extend_from_slice(extra);
    let out = with_canary(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 101, "{args:?}: exit 101 (a panic): {stderr}");
    if extra.contains(&"--json") {
        (code, json(&out), stderr)
    } else {
        (
            code,
            Value::Null,
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }
}

/// (user, finding that must explain it, what the evidence must say)
const UNPROVEN: &[(&str, &str, &str)] = &[
    ("nopubkey", "credssp-pubkey-mismatch", "without pubKeyAuth"),
    ("errorzero", "credssp-pubkey-mismatch", "errorCode 0"),
    (
        "rechallenge",
        "credssp-pubkey-mismatch",
        "another NTLM CHALLENGE",
    ),
    ("garbage", "credssp-response-malformed", "not a TSRequest"),
    (
        "stall",
        "credssp-response-malformed",
        "no answer to the NTLM AUTHENTICATE",
    ),
];

/// Issue 21 point 1: a server that answers the NTLM AUTHENTICATE with anything but a pubKeyAuth
/// that verifies, or an error code, gave no verdict: the logon is unproven, named, and never
/// rendered as a success (text, JSON, Nagios).
#[test]
fn a_logon_without_the_servers_proof_is_never_success() {
    for (user, want, evidence) in UNPROVEN {
        clear("hostile-authanswer");
        let (code, v, _) = logon("hostile-authanswer", user, &["--json"]);
        assert_eq!(code, 1, "{user}: {}", v["verdict"]);
        assert_eq!(v["verdict"]["status"], "broken", "{user}: {}", v["verdict"]);
        assert_eq!(v["verdict"]["finding"], *want, "{user}: {}", v["verdict"]);
        let found = ids(&v);
        assert!(!found.contains(&"auth-ok".to_string()), "{user}: {found:?}");
        let f = v["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == *want))
            .unwrap_or_else(|| panic!("{user}: no {want}"));
        assert_eq!(f["severity"], "blocking", "{user}");
        assert!(
            f["evidence"].to_string().contains(evidence),
            "{user}: {}",
            f["evidence"]
        );
        // A missing pubKeyAuth is also a sign of a relay that terminated TLS (one sign: a
        // warning beside the blocking headline).
        if *want == "credssp-pubkey-mismatch" {
            let sign = v["findings"]
                .as_array()
                .and_then(|a| a.iter().find(|f| f["id"] == "interception-suspected"))
                .unwrap_or_else(|| panic!("{user}: no interception-suspected: {found:?}"));
            assert!(
                sign["evidence"]
                    .to_string()
                    .contains("without a pubKeyAuth"),
                "{user}: {}",
                sign["evidence"]
            );
        }
        let nla = &v["facts"]["nla"];
        assert_eq!(nla["logon_unproven"], true, "{user}: {nla}");
        assert!(
            nla["logon"]
                .as_str()
                .unwrap_or_default()
                .contains("NOT proven"),
            "{user}: {nla}"
        );
        let scope = v["verdict"]["scope"].as_str().unwrap_or_default();
        assert!(
            scope.contains("no verdict it proved") && !scope.contains("up to the server's verdict"),
            "{user}: {scope}"
        );
        assert!(
            !has_canary(&record("hostile-authanswer")),
            "{user}: the canary reached the stand-in"
        );
        // Text and Nagios say the same.
        let (_, _, text) = logon("hostile-authanswer", user, &[]);
        assert!(
            text.starts_with(&format!(
                "{}: BROKEN",
                Lab::get().addr("hostile-authanswer")
            )),
            "{text}"
        );
        assert!(
            !text.contains("logon succeed") && !text.contains("not checked"),
            "{text}"
        );
        let (code, _, line) = logon("hostile-authanswer", user, &["--format", "nagios"]);
        assert_eq!(code, 2, "{user}: {line}");
        assert!(
            line.starts_with("RDP CRITICAL") && line.contains(want),
            "{line}"
        );
    }
    // The positive control on the same stand-in: a pubKeyAuth of random bytes is a pubKeyAuth,
    // and it does not verify.
    let (_, v, _) = logon("hostile-authanswer", "random", &["--json"]);
    assert_eq!(v["verdict"]["finding"], "credssp-pubkey-mismatch");
    assert_eq!(
        v["observations"]["logon"]["outcome"]["kind"],
        "pub-key-auth-mismatch"
    );
}

/// The same servers with --full: CredSSP ends without a verdict, the session outcome says so
/// (not "refused"), and nothing is delegated.
#[test]
fn a_full_connection_without_the_servers_proof_is_unproven_not_refused() {
    for (user, want, _) in UNPROVEN
        .iter()
        .filter(|(u, ..)| ["nopubkey", "stall"].contains(u))
    {
        clear("hostile-authanswer");
        let (code, v, _) = logon("hostile-authanswer", user, &["--full", "--json"]);
        assert_eq!(code, 1, "{user}");
        assert_eq!(v["verdict"]["finding"], *want, "{user}: {}", v["verdict"]);
        let s = &v["observations"]["session"];
        assert_eq!(s["outcome"]["kind"], "logon-unproven", "{user}: {s}");
        assert_eq!(s["delegated"], false, "{user}");
        assert_eq!(s["delegation"]["proof"]["kind"], "unproven", "{user}");
        let ended = v["facts"]["session"]["ended"].as_str().unwrap_or_default();
        assert!(
            ended.contains("NOT proven") && !ended.contains("refused"),
            "{user}: {ended}"
        );
        assert!(
            !has_canary(&record("hostile-authanswer")),
            "{user}: canary sent"
        );
    }
}

/// Issue 21 point 2: a pubKeyAuth of 0, 8 or 15 bytes made sspi 0.23 panic (exit 101, no
/// output) in check, compare, --full and Nagios. It is a pubKeyAuth that cannot verify.
#[test]
fn a_short_pubkeyauth_never_panics() {
    let lab = Lab::get();
    for short in ["pk0", "pk8", "pk15"] {
        let bytes = &short[2..];
        let (_, v, _) = logon("hostile-authanswer", short, &["--json"]);
        assert_eq!(
            v["verdict"]["finding"], "credssp-pubkey-mismatch",
            "{short}"
        );
        let f = v["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == "credssp-pubkey-mismatch"))
            .expect("the finding");
        assert!(
            f["evidence"]
                .to_string()
                .contains(&format!("pubKeyAuth of {bytes} bytes")),
            "{short}: {}",
            f["evidence"]
        );
        let (_, v, _) = logon("hostile-authanswer", short, &["--full", "--json"]);
        assert_eq!(
            v["observations"]["session"]["outcome"]["kind"],
            "logon-unproven"
        );
        let (code, _, line) = logon("hostile-authanswer", short, &["--format", "nagios"]);
        assert_eq!(code, 2, "{short}: {line}");
        // compare runs two checks with the same account.
        let user = format!("LAB\\{short}");
        let out = with_canary(&[
            "compare",
            &lab.addr("hostile-authanswer"),
            &lab.addr("hostile-authanswer"),
            "--user",
            &user,
            "--timeout",
            "2",
            "--json",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "compare {short}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "compare {short}: {stderr}");
        let v = json(&out);
        assert_eq!(
            v["a"]["verdict"]["finding"], "credssp-pubkey-mismatch",
            "{short}"
        );
    }
}

/// A CHALLENGE a client's NTLM refuses (an AV pair past the end of TargetInfo), or a TSRequest
/// with no CHALLENGE at all, is named with and without --user, and the logon is unproven.
#[test]
fn malformed_challenges_are_named_and_leave_the_logon_unproven() {
    for server in ["hostile-badchallenge", "hostile-emptychallenge"] {
        let lab = Lab::get();
        let (code, v) = run_json(&["check", &lab.addr(server), "--json", "--timeout", "2"]);
        assert_eq!(code, 1, "{server}");
        assert_eq!(
            v["verdict"]["finding"], "credssp-response-malformed",
            "{server}: {}",
            v["verdict"]
        );
        let (code, v, _) = logon(server, "u", &["--json"]);
        assert_eq!(code, 1, "{server}");
        assert_eq!(
            v["verdict"]["finding"], "credssp-response-malformed",
            "{server}"
        );
        assert_eq!(
            v["observations"]["logon"]["outcome"]["kind"], "malformed",
            "{server}"
        );
        assert_eq!(
            v["observations"]["logon"]["outcome"]["phase"], "challenge",
            "{server}"
        );
        assert_eq!(v["facts"]["nla"]["logon_unproven"], true, "{server}");
        assert!(!ids(&v).contains(&"auth-ok".to_string()), "{server}");
    }
}
