//! Routes against the lab: `compare` (directly vs through haproxy, and a misrouted load
//! balancer) and `check --full --hold` (held directly, dropped by haproxy's 5 s idle timeout,
//! dropped right after the logon by the tunnel stand-in). lab/route.sh starts the routes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, Lab};
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

/// haproxy's `timeout client` / `timeout server` in lab/route.sh.
const ROUTE_IDLE_SECS: f64 = 5.0;

fn lab_password() -> String {
    let path = common::workspace_root().join("lab/state/servers.json");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("lab running")).expect("JSON");
    v["credentials"]["freerdp-nla"]["password"]
        .as_str()
        .expect("servers.json has the freerdp-nla password")
        .to_string()
}

/// rdpdoctor with `args`, as labuser (the lab's freerdp-nla account), and how long it took. The
/// per-phase deadline is generous: freerdp-shadow answers slowly when the machine is loaded, and
/// one route hitting a deadline the other did not is a real difference `compare` must report.
fn run_as_user(args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let out = common::bin()
        .args(args)
        .args(["--user", "labuser", "--timeout", "15"])
        .env("RDPDOCTOR_PASSWORD", lab_password())
        .output()
        .expect("the rdpdoctor binary runs");
    (out, t.elapsed())
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn hold(addr: &str, secs: &str) -> (Value, Value, Duration) {
    let (out, took) = run_as_user(&["check", addr, "--full", "--hold", secs, "--json"]);
    let v = json(&out);
    let h = v["observations"]["session"]["hold"].clone();
    assert!(h.is_object(), "no hold observation: {v:#}");
    (v, h, took)
}

fn secs(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn compare_direct_and_through_haproxy_agree() {
    let lab = Lab::get();
    let (out, _) = run_as_user(&[
        "compare",
        &lab.addr("freerdp-nla"),
        &lab.addr("route-lb-nla"),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{:#}", v["differences"]);
    assert_eq!(v["agree"], true);
    assert_eq!(v["not_transparent"], false);
    // Both checks are there, and they saw the same server: same key, same NTLM computer.
    for side in ["a", "b"] {
        assert!(
            ids(&v[side]).contains(&"auth-ok".to_string()),
            "{side}: {:?}",
            ids(&v[side])
        );
    }
    assert_eq!(
        v["a"]["facts"]["certificate"]["sha256"],
        v["b"]["facts"]["certificate"]["sha256"]
    );
    let diffs = v["differences"].as_array().expect("differences");
    assert!(
        diffs.iter().all(|d| d["matters"] == false),
        "only timing may differ: {diffs:#?}"
    );
    // Text: the verdict line, and the exit status.
    let (out, _) = run_as_user(&[
        "compare",
        &lab.addr("freerdp-nla"),
        &lab.addr("route-lb-nla"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("agree on everything that matters"), "{text}");
}

#[test]
fn compare_with_a_misrouted_load_balancer_names_what_is_not_transparent() {
    let lab = Lab::get();
    let (out, _) = run_as_user(&[
        "compare",
        &lab.addr("freerdp-nla"),
        &lab.addr("route-misrouted"),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["agree"], false);
    assert_eq!(v["not_transparent"], true);
    let diffs = v["differences"].as_array().expect("differences");
    let field = |name: &str| {
        diffs
            .iter()
            .find(|d| d["field"] == name)
            .unwrap_or_else(|| panic!("no difference {name}: {diffs:#?}"))
    };
    // First difference first: the primary request's selected protocol (HYBRID vs SSL).
    assert_eq!(diffs[0]["field"], "negotiation SSL|HYBRID|HYBRID_EX");
    assert_eq!(diffs[0]["not_transparent"], true);
    assert!(diffs[0]["a"]
        .as_str()
        .unwrap_or_default()
        .contains("HYBRID"));
    assert!(diffs[0]["b"]
        .as_str()
        .unwrap_or_default()
        .contains("selected SSL"));
    for name in ["certificate SHA-256", "certificate key"] {
        let d = field(name);
        assert_eq!(d["not_transparent"], true, "{d}");
        assert_ne!(d["a"], d["b"]);
    }
    // The text names them as such.
    let (out, _) = run_as_user(&[
        "compare",
        &lab.addr("freerdp-nla"),
        &lab.addr("route-misrouted"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("NOT TRANSPARENT"), "{text}");
    assert!(
        text.contains("certificate key  <- not transparent"),
        "{text}"
    );
}

#[test]
fn compare_refuses_bad_input_with_exit_2() {
    let out = common::run(&["compare", "127.0.0.1:1", "not a target:99999"]);
    assert_eq!(out.status.code(), Some(2));
    let out = common::run(&["compare", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = common::run(&["check", "127.0.0.1:1", "--hold", "5"]);
    assert_eq!(out.status.code(), Some(2), "--hold needs --full");
    let out = common::run(&["check", "127.0.0.1:1", "--full", "--hold", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hold"));
}

#[test]
fn hold_directly_is_held_to_the_end() {
    let lab = Lab::get();
    let (v, h, took) = hold(&lab.addr("freerdp-nla"), "8");
    assert_eq!(h["ending"]["kind"], "held", "{h:#}");
    let held = secs(&h["held_secs"]);
    assert!((7.9..=8.6).contains(&held), "held {held} s");
    // The hold never exceeds SECONDS plus the connection and the 0.3 s disconnect.
    let up = secs(&h["session_up_at_secs"]);
    assert!(secs(&h["ended_at_secs"]) <= up + 8.0 + 0.5, "{h:#}");
    assert!(took < Duration::from_secs(8 + 12), "took {took:?}");
    assert!(
        !ids(&v).contains(&"session-dropped".to_string()),
        "{:?}",
        ids(&v)
    );
    assert_eq!(v["facts"]["session"]["hold"]["ending"], "held");
    let timeline = h["timeline"].as_array().expect("timeline");
    assert!(timeline
        .iter()
        .any(|e| e["kind"] == "phase" && e["phase"] == "session-up"));
    assert_eq!(
        timeline.last().map(|e| e["kind"].clone()),
        Some("end".into())
    );
}

#[test]
fn hold_through_haproxy_is_dropped_by_its_idle_timeout() {
    let lab = Lab::get();
    let (v, h, took) = hold(&lab.addr("route-lb-nla"), "8");
    assert_eq!(h["ending"]["kind"], "closed", "{h:#}");
    let held = secs(&h["held_secs"]);
    assert!(
        (ROUTE_IDLE_SECS - 0.3..=ROUTE_IDLE_SECS + 1.0).contains(&held),
        "held {held} s, haproxy's idle timeout is {ROUTE_IDLE_SECS} s"
    );
    let silent = secs(&h["silent_secs"]);
    assert!(
        (ROUTE_IDLE_SECS - 0.3..=ROUTE_IDLE_SECS + 0.4).contains(&silent),
        "{silent}"
    );
    assert!(took < Duration::from_secs(8 + 12), "took {took:?}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-dropped"))
        .unwrap_or_else(|| panic!("no session-dropped: {:?}", ids(&v)));
    assert_eq!(f["severity"], "warning");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("without a Set Error Info code"),
        "{evidence}"
    );
    assert!(evidence.contains("idle timeout of 5 s"), "{evidence}");
    assert!(evidence.contains("the client was idle"), "{evidence}");
}

#[test]
fn hold_through_the_tunnel_standin_is_dropped_right_after_the_logon() {
    let lab = Lab::get();
    let (v, h, took) = hold(&lab.addr("route-tunnel"), "8");
    assert_eq!(h["ending"]["kind"], "not-started", "{h:#}");
    assert_eq!(v["observations"]["session"]["phase"], "licensing");
    assert_eq!(v["observations"]["session"]["outcome"]["kind"], "closed");
    // Right after the Client Info PDU: long before the hold would have ended.
    assert!(secs(&h["ended_at_secs"]) < 3.0, "{h:#}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-dropped"))
        .unwrap_or_else(|| panic!("no session-dropped: {:?}", ids(&v)));
    assert_eq!(f["severity"], "blocking");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("after the Client Info PDU (the logon)"),
        "{evidence}"
    );
    assert!(evidence.contains("tunnel"), "{evidence}");
    // The credentials were accepted first: CredSSP through the relay still verifies.
    assert!(ids(&v).contains(&"auth-ok".to_string()), "{:?}", ids(&v));
}

#[test]
fn full_user_through_haproxy_still_delegates() {
    // CredSSP's pubKeyAuth binds the server's key, which a TCP relay passes unchanged.
    let lab = Lab::get();
    let (out, _) = run_as_user(&["check", &lab.addr("route-lb-nla"), "--full", "--json"]);
    let v = json(&out);
    assert_eq!(
        v["observations"]["session"]["outcome"]["kind"], "session-up",
        "{v:#}"
    );
    assert_eq!(v["observations"]["session"]["delegated"], true);
    assert_eq!(
        v["observations"]["session"]["delegation"]["proof"]["kind"],
        "pub-key-auth"
    );
}

/// The interceptor of the lab (pyrdp-mitm in front of freerdp-nla) is a route that is not
/// transparent: another certificate key, protocols selected that were never requested.
#[test]
fn compare_direct_and_through_the_interceptor_names_what_is_not_transparent() {
    let lab = Lab::get();
    // pyrdp-mitm takes seconds per connection and serves one at a time.
    let out = common::bin()
        .args([
            "compare",
            &lab.addr("freerdp-nla"),
            &lab.addr("pyrdp-nla"),
            "--json",
            "--timeout",
            "20",
            "--connections",
            "2",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("rdpdoctor runs");
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["not_transparent"], true, "{v:#}");
    let diffs = v["differences"].as_array().expect("differences");
    let d = diffs
        .iter()
        .find(|d| d["field"] == "certificate key")
        .unwrap_or_else(|| panic!("no certificate key difference: {diffs:#?}"));
    assert_eq!(d["not_transparent"], true, "{d}");
}
