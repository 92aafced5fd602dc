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
    // At the end, a Refresh Rect: freerdp-shadow answers, so the path still carries data.
    let check = &h["path_check"];
    assert_eq!(check["sent"], "Refresh Rect", "{h:#}");
    assert!(secs(&check["answered_after_secs"]) < 2.0, "{check}");
    assert!(
        v["facts"]["session"]["hold"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("the path still carries data"),
        "{:#}",
        v["facts"]["session"]["hold"]
    );
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

/// Issue 22 section 2: through the tunnel stand-in, --full without --hold said HEALTHY, exit 0,
/// "(the full connection did not reach the session)". The session never came up: say where it
/// stopped, who closed and when.
#[test]
fn full_through_the_tunnel_standin_is_broken_even_without_hold() {
    let lab = Lab::get();
    let (out, _) = run_as_user(&["check", &lab.addr("route-tunnel"), "--full", "--json"]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", v["verdict"]);
    assert_eq!(v["verdict"]["status"], "broken", "{}", v["verdict"]);
    assert_eq!(v["verdict"]["finding"], "session-dropped");
    let s = &v["observations"]["session"];
    assert_eq!(s["outcome"]["kind"], "closed");
    assert!(s["client_info_at_secs"].is_number(), "{s}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-dropped"))
        .expect("session-dropped");
    assert_eq!(f["severity"], "blocking");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("the far side closed (FIN)"), "{evidence}");
    assert!(
        evidence.contains("after the Client Info PDU (the logon)"),
        "{evidence}"
    );
    assert!(evidence.contains("after connecting"), "{evidence}");
    assert!(evidence.contains("tunnel"), "{evidence}");
    let (out, _) = run_as_user(&["check", &lab.addr("route-tunnel"), "--full"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("HEALTHY"), "{text}");
    assert!(
        text.contains("ended with a close (FIN) from the far side without a server code"),
        "{text}"
    );
}

/// Issue 20: a device that forgets an idle flow without a FIN or reset (Azure's load balancer
/// after 4 minutes, AWS NLB after 350 s) is found by the Refresh Rect at the end of the hold.
/// The path lab's router forgets flows to one xrdp after 3 idle seconds (nftables ct timeout,
/// lab/path/router.d/idle-drop.sh); the same xrdp without it is the control.
#[test]
fn hold_through_a_silent_idle_drop_is_named_and_the_control_still_carries_data() {
    let path = common::workspace_root().join("lab/path/state/idle-drop.json");
    let lab: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the path lab is not running ({}: {e}); start it as root with lab/path/start.sh",
            path.display()
        )
    }))
    .expect("idle-drop.json is JSON");
    let ns = lab["client_ns"].as_str().expect("client_ns");
    let idle = secs(&lab["idle_secs"]);
    let hold_in_path = |target: &str| {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", ns])
            .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
            .arg(common::bin().get_program())
            .args([
                "check",
                target,
                "--full",
                "--hold",
                "5",
                "--timeout",
                "3",
                "--json",
            ])
            .output()
            .expect("ip netns exec runs");
        json(&out)
    };
    // Both at once: the test takes one hold, not two.
    let (v, control) = std::thread::scope(|s| {
        let control = s.spawn(|| hold_in_path(lab["control"].as_str().expect("control")));
        let v = hold_in_path(lab["target"].as_str().expect("target"));
        (v, control.join().expect("the control ran"))
    });
    let h = &v["observations"]["session"]["hold"];
    assert_eq!(h["ending"]["kind"], "unanswered", "{h:#}");
    assert!(secs(&h["silent_secs"]) > idle, "{h:#}");
    let check = &h["path_check"];
    assert!(check["answered_after_secs"].is_null(), "{check}");
    assert!(
        check["retransmissions"].as_u64().unwrap_or(0) >= 1,
        "{check}"
    );
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "session-dropped"))
        .unwrap_or_else(|| panic!("no session-dropped: {:?}", ids(&v)));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["evidence"]
            .to_string()
            .contains("silently dropped while idle"),
        "{f}"
    );
    // The control: same server, same router, no idle drop.
    let v = control;
    let h = &v["observations"]["session"]["hold"];
    assert_eq!(h["ending"]["kind"], "held", "{h:#}");
    assert!(h["path_check"]["answered_after_secs"].is_number(), "{h:#}");
    assert_eq!(h["path_check"]["retransmissions"], 0, "{h:#}");
    assert!(
        !ids(&v).contains(&"session-dropped".to_string()),
        "{:?}",
        ids(&v)
    );
    assert!(v["facts"]["session"]["hold"]["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("the path still carries data"));
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
