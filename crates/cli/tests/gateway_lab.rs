//! The RD Gateway and Connection Broker stand-ins (lab/gateway.py, lab/broker.py, started by
//! lab/gateway.sh) proven by the real client, Debian's xfreerdp 2.11: it connects through the
//! healthy gateway to the lab's real freerdp-shadow (NLA) and xrdp servers over WebSocket and over
//! the two HTTP channels, and fails with the gateway's own code in every fault mode; it follows the
//! broker's redirections to live targets and fails at once on the unreachable one. Each assertion
//! reads both sides: what xfreerdp printed and what the stand-in logged for that very tunnel (the
//! tests give every run its own client name, which the gateway logs at tunnel authorization).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{workspace_root, Lab};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// What these tests read from servers.json besides addresses.
trait GatewayLab {
    fn port_number(&self, name: &str) -> u64;
    fn pid(&self, name: &str) -> u64;
    fn log(&self, name: &str) -> String;
    fn password(&self) -> String;
}

impl GatewayLab for Lab {
    fn port_number(&self, name: &str) -> u64 {
        self.server(name)["port"].as_u64().expect("port")
    }

    fn pid(&self, name: &str) -> u64 {
        self.server(name)["pid"].as_u64().expect("pid")
    }

    fn log(&self, name: &str) -> String {
        let path = workspace_root().join(self.server(name)["log"].as_str().expect("log path"));
        String::from_utf8_lossy(&std::fs::read(path).expect("server log")).into_owned()
    }

    fn password(&self) -> String {
        self.state()["credentials"]["freerdp-nla"]["password"]
            .as_str()
            .expect("lab password")
            .to_string()
    }
}

/// What one xfreerdp run did.
struct Run {
    code: i32,
    log: String,
    took: Duration,
}

impl Run {
    fn has(&self, text: &str) -> bool {
        self.log.contains(text)
    }
}

/// Runs xfreerdp with `args` under the lab's Xvfb display, for at most `secs` seconds (then
/// `timeout` ends it: exit 124 means it was still connected). HOME is a fresh directory, so no
/// certificate remembered by an earlier run is trusted; the lab CA is the only extra trust anchor.
fn xfreerdp(lab: &Lab, args: &[String], secs: u32, netns_of: Option<u64>) -> Run {
    let home = tempfile_dir();
    let mut cmd = match netns_of {
        Some(pid) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/proc/{pid}/ns/net")).arg("timeout");
            c
        }
        None => Command::new("timeout"),
    };
    cmd.arg(secs.to_string())
        .arg("xfreerdp")
        .args(args)
        .env("DISPLAY", lab.display())
        .env("HOME", &home)
        .env(
            "SSL_CERT_FILE",
            workspace_root().join(lab.state()["ca"].as_str().expect("ca path")),
        )
        .stdin(std::process::Stdio::null());
    let start = Instant::now();
    let out = cmd
        .output()
        .expect("xfreerdp runs (lab/install.sh installs freerdp2-x11)");
    let took = start.elapsed();
    let _ = std::fs::remove_dir_all(&home);
    Run {
        code: out.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        took,
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rdpdoctor-gw-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("temp HOME");
    dir
}

/// xfreerdp's arguments for a connection to `target` through the gateway `gw` (a lab server
/// name), as client `client` (logged by the gateway at tunnel authorization).
fn via_gateway(lab: &Lab, gw: &str, target: &str, transport: &str, client: &str) -> Vec<String> {
    let pass = lab.password();
    vec![
        format!("/v:{target}"),
        "/u:labuser".into(),
        format!("/p:{pass}"),
        "/d:".into(),
        format!("/g:{}", lab.addr(gw)),
        "/gu:labuser".into(),
        format!("/gp:{pass}"),
        "/gd:".into(),
        format!("/gt:{transport}"),
        format!("/client-hostname:{client}"),
    ]
}

/// xfreerdp's arguments for a direct connection to the lab server `name` as labuser.
fn direct(lab: &Lab, name: &str) -> Vec<String> {
    vec![
        format!("/v:{}", lab.addr(name)),
        "/u:labuser".into(),
        format!("/p:{}", lab.password()),
        "/d:".into(),
        "/cert:ignore".into(),
    ]
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// The gateway's log lines for the tunnel of client `client` (every line naming its connection
/// id), waiting up to 5 s for the line that contains `until`.
fn tunnel_lines(lab: &Lab, gw: &str, client: &str, until: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = lab.log(gw);
        let id = log
            .lines()
            .find(|l| l.contains(&format!("client name '{client}'")))
            .and_then(|l| l.split_whitespace().find(|w| w.starts_with('{')))
            .map(|w| w.trim_end_matches(':').to_string());
        if let Some(id) = id {
            let lines: Vec<String> = log
                .lines()
                .filter(|l| l.contains(&id))
                .map(str::to_string)
                .collect();
            if lines.iter().any(|l| l.contains(until)) {
                return lines;
            }
            if Instant::now() > deadline {
                panic!(
                    "{gw}: no line with {until:?} for client {client}:\n{}",
                    lines.join("\n")
                );
            }
        } else if Instant::now() > deadline {
            panic!("{gw}: no tunnel for client {client} in its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The lines a server logged after `before` bytes of its log, waiting up to 5 s for `until`.
fn new_lines(lab: &Lab, name: &str, before: usize, until: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = lab.log(name);
        let tail = log.get(before..).unwrap_or_default().to_string();
        if tail.contains(until) {
            return tail;
        }
        if Instant::now() > deadline {
            panic!("{name}: no {until:?} in its new log lines:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn relayed(lines: &[String]) -> (u64, u64) {
    let line = lines
        .iter()
        .find(|l| l.contains("closed: relayed"))
        .unwrap_or_else(|| panic!("no relay summary in {lines:#?}"));
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(nums.len(), 2, "{line}");
    (nums[0], nums[1])
}

#[test]
fn healthy_gateway_carries_xfreerdp_nla_to_freerdp_shadow_over_websocket_and_http() {
    let lab = Lab::get();
    let target = lab.addr("freerdp-nla");
    for (transport, client, marker) in [
        ("http", "gw-nla-ws", "101 WebSocket"),
        (
            "http,no-websockets",
            "gw-nla-http",
            "paired with its RDG_OUT_DATA",
        ),
    ] {
        let args = with(
            via_gateway(&lab, "gateway-healthy", &target, transport, client),
            &["/cert:ignore", "+auth-only"],
        );
        let run = xfreerdp(&lab, &args, 25, None);
        assert!(
            run.code == 0 && run.has("Authentication only, exit status 0"),
            "{transport}: xfreerdp did not authenticate through the gateway (exit {}):\n{}",
            run.code,
            run.log
        );
        let lines = tunnel_lines(&lab, "gateway-healthy", client, "closed: relayed");
        let text = lines.join("\n");
        assert!(text.contains(marker), "{transport}: {text}");
        assert!(text.contains("CAP met, RD Gateway event 200"), "{text}");
        assert!(
            text.contains(&format!(
                "channel response ERROR_SUCCESS (0x00000000): relaying to {target}"
            )),
            "{text}"
        );
        // CredSSP ran end to end through the tunnel: the NTLM and TLS records of NLA.
        let (to, from) = relayed(&lines);
        assert!(
            to > 1000 && from > 1000,
            "{transport}: relayed {to}/{from} bytes: {text}"
        );
    }
}

#[test]
fn healthy_gateway_holds_a_full_xfreerdp_session_to_xrdp() {
    let lab = Lab::get();
    let target = lab.addr("xrdp-negotiate");
    for (transport, client) in [
        ("http", "gw-xrdp-ws"),
        ("http,no-websockets", "gw-xrdp-http"),
    ] {
        let args = with(
            via_gateway(&lab, "gateway-healthy", &target, transport, client),
            &["/cert:ignore"],
        );
        // Still connected when `timeout` ends it after 6 s (exit 124).
        let run = xfreerdp(&lab, &args, 6, None);
        assert_eq!(
            run.code, 124,
            "{transport}: xfreerdp ended early:\n{}",
            run.log
        );
        let lines = tunnel_lines(&lab, "gateway-healthy", client, "closed: relayed");
        let (to, from) = relayed(&lines);
        // The connection sequence, capabilities and xrdp's first screen updates crossed the tunnel.
        assert!(
            to > 1000 && from > 3000,
            "{transport}: {to}/{from}: {lines:#?}"
        );
    }
}

#[test]
fn websocket_refused_falls_back_to_the_two_http_channels() {
    let lab = Lab::get();
    let args = with(
        via_gateway(
            &lab,
            "gateway-no-websocket",
            &lab.addr("freerdp-nla"),
            "http",
            "gw-nows",
        ),
        &["/cert:ignore", "+auth-only"],
    );
    let run = xfreerdp(&lab, &args, 25, None);
    assert_eq!(run.code, 0, "{}", run.log);
    let text = tunnel_lines(&lab, "gateway-no-websocket", "gw-nows", "closed: relayed").join("\n");
    assert!(text.contains("WebSocket upgrade refused"), "{text}");
    assert!(
        text.contains("paired with its RDG_OUT_DATA (chunked)"),
        "{text}"
    );
    assert!(!text.contains("101 WebSocket"), "{text}");
}

#[test]
fn bad_gateway_certificates_stop_xfreerdp_and_a_good_one_does_not() {
    let lab = Lab::get();
    let nla = format!("localhost:{}", lab.port_number("freerdp-nla"));
    let run_against = |gw: &str, client: &str| {
        let pass = lab.password();
        // No /cert:ignore: the gateway's certificate is checked against the lab CA (SSL_CERT_FILE)
        // and the name the client asked for (localhost).
        let args: Vec<String> = vec![
            format!("/v:{nla}"),
            "/u:labuser".into(),
            format!("/p:{pass}"),
            "/d:".into(),
            format!("/g:localhost:{}", lab.port_number(gw)),
            "/gu:labuser".into(),
            format!("/gp:{pass}"),
            "/gd:".into(),
            "/gt:http".into(),
            format!("/client-hostname:{client}"),
            "+auth-only".into(),
        ];
        xfreerdp(&lab, &args, 25, None)
    };
    let before: Vec<usize> = ["gateway-expired-cert", "gateway-wrong-name"]
        .iter()
        .map(|gw| lab.log(gw).len())
        .collect();
    // Control: the healthy gateway's certificate verifies, so the check below can fail.
    let good = run_against("gateway-healthy", "gw-cert-good");
    assert_eq!(good.code, 0, "{}", good.log);
    let expired = run_against("gateway-expired-cert", "gw-cert-expired");
    assert_ne!(expired.code, 0, "{}", expired.log);
    assert!(expired.has("certificate has expired"), "{}", expired.log);
    assert!(
        expired.has("ERRCONNECT_TLS_CONNECT_FAILED"),
        "{}",
        expired.log
    );
    let wrong = run_against("gateway-wrong-name", "gw-cert-wrong");
    assert_ne!(wrong.code, 0, "{}", wrong.log);
    assert!(wrong.has("CERTIFICATE NAME MISMATCH"), "{}", wrong.log);
    assert!(wrong.has("wrong-name.lab.invalid"), "{}", wrong.log);
    // Neither bad gateway saw an HTTP request: the client stopped at TLS.
    for (gw, before) in ["gateway-expired-cert", "gateway-wrong-name"]
        .iter()
        .zip(before)
    {
        let log = lab.log(gw);
        let new = log.get(before..).unwrap_or_default();
        assert!(!new.contains("RDG_OUT_DATA"), "{gw}: {new}");
    }
}

#[test]
fn a_gateway_that_offers_only_negotiate_shuts_out_xfreerdp_2() {
    let lab = Lab::get();
    let before = lab.log("gateway-kerberos-only").len();
    let args = with(
        via_gateway(
            &lab,
            "gateway-kerberos-only",
            &lab.addr("freerdp-nla"),
            "http",
            "gw-krb",
        ),
        &["/cert:ignore", "+auth-only"],
    );
    let run = xfreerdp(&lab, &args, 25, None);
    assert_ne!(run.code, 0, "{}", run.log);
    let text = new_lines(&lab, "gateway-kerberos-only", before, "offering Negotiate");
    assert!(
        text.contains(
            "401 (client used 'NTLM', which this gateway does not offer); offering Negotiate"
        ),
        "{text}"
    );
    // xfreerdp 2.11 only speaks NTLM to a gateway, and what it reports hides the cause.
    assert!(!text.contains("logon of"), "{text}");
    assert!(!text.contains("tunnel"), "{text}");
}

#[test]
fn wrong_gateway_password_is_access_denied() {
    let lab = Lab::get();
    let before = lab.log("gateway-healthy").len();
    let mut args = via_gateway(
        &lab,
        "gateway-healthy",
        &lab.addr("freerdp-nla"),
        "http",
        "gw-badpw",
    );
    // A user-name spelling no other test uses, so this run's log line is its own.
    for a in args.iter_mut() {
        if a == "/gu:labuser" {
            *a = "/gu:LabUser".into();
        } else if a.starts_with("/gp:") {
            *a = "/gp:not-the-password".into();
        }
    }
    let run = xfreerdp(&lab, &with(args, &["/cert:ignore", "+auth-only"]), 25, None);
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.has("ERRCONNECT_ACCESS_DENIED"), "{}", run.log);
    let text = new_lines(
        &lab,
        "gateway-healthy",
        before,
        "'LabUser' failed: wrong password",
    );
    assert!(
        text.contains("NTLM logon for 'LabUser' failed: wrong password"),
        "{text}"
    );
}

#[test]
fn policy_and_limit_denials_reach_xfreerdp_as_the_gateways_codes() {
    let lab = Lab::get();
    for (gw, client, code, hex, gateway_says) in [
        (
            "gateway-rap-denied",
            "gw-rap",
            "E_PROXY_RAP_ACCESSDENIED",
            "0x800759DA",
            "no resource authorization policy (RAP) allows any computer",
        ),
        (
            "gateway-cap-denied",
            "gw-cap",
            "E_PROXY_NAP_ACCESSDENIED",
            "0x800759DB",
            "(CAP) admits 'labuser' (RD Gateway event 201)",
        ),
        (
            "gateway-busy",
            "gw-busy",
            "E_PROXY_MAXCONNECTIONSREACHED",
            "0x800759E6",
            "(connection limit, RD Gateway event 203)",
        ),
    ] {
        let before = lab.log(gw).len();
        let args = with(
            via_gateway(&lab, gw, &lab.addr("freerdp-nla"), "http", client),
            &["/cert:ignore", "+auth-only"],
        );
        let run = xfreerdp(&lab, &args, 25, None);
        assert_ne!(run.code, 0, "{gw}: {}", run.log);
        assert!(
            run.has(&format!("{code} [{hex}]")),
            "{gw}: xfreerdp did not report {code}:\n{}",
            run.log
        );
        let text = new_lines(&lab, gw, before, code);
        assert!(text.contains(gateway_says), "{gw}: {text}");
        assert!(text.contains(&format!("{code} ({hex})")), "{gw}: {text}");
    }
}

#[test]
fn a_target_the_gateway_cannot_reach_is_ts_connectfailed_and_off_machine_targets_are_refused() {
    let lab = Lab::get();
    let closed = lab.addr("closed");
    let args = with(
        via_gateway(&lab, "gateway-healthy", &closed, "http", "gw-closed"),
        &["/cert:ignore", "+auth-only"],
    );
    let run = xfreerdp(&lab, &args, 25, None);
    assert!(
        run.has("E_PROXY_TS_CONNECTFAILED [0x800759DD]"),
        "{}",
        run.log
    );
    let text = tunnel_lines(
        &lab,
        "gateway-healthy",
        "gw-closed",
        "E_PROXY_TS_CONNECTFAILED",
    )
    .join("\n");
    assert!(
        text.contains(&format!("cannot connect to {closed}")),
        "{text}"
    );
    // The gateway never connects outside 127.0.0.0/8: its resource policy refuses the target.
    let args = with(
        via_gateway(
            &lab,
            "gateway-healthy",
            "198.18.99.10:3389",
            "http",
            "gw-offbox",
        ),
        &["/cert:ignore", "+auth-only"],
    );
    let run = xfreerdp(&lab, &args, 25, None);
    assert!(
        run.has("E_PROXY_RAP_ACCESSDENIED [0x800759DA]"),
        "{}",
        run.log
    );
    let text = tunnel_lines(
        &lab,
        "gateway-healthy",
        "gw-offbox",
        "E_PROXY_RAP_ACCESSDENIED",
    )
    .join("\n");
    assert!(text.contains("the RAP allows only 127.0.0.0/8"), "{text}");
}

#[test]
fn idle_drop_inside_the_tunnel_ends_an_idle_session_and_the_healthy_gateway_keeps_it() {
    let lab = Lab::get();
    let target = lab.addr("freerdp-nla");
    let (idle, control) = std::thread::scope(|s| {
        let idle = s.spawn(|| {
            let args = with(
                via_gateway(&lab, "gateway-idle-drop", &target, "http", "gw-idle"),
                &["/cert:ignore"],
            );
            xfreerdp(&lab, &args, 20, None)
        });
        let control = s.spawn(|| {
            let args = with(
                via_gateway(&lab, "gateway-healthy", &target, "http", "gw-idle-control"),
                &["/cert:ignore"],
            );
            xfreerdp(&lab, &args, 9, None)
        });
        (idle.join().unwrap(), control.join().unwrap())
    });
    // The session through the idle-dropping gateway ends with the gateway's code, after the
    // 5 s limit and well before the 20 s the test allows.
    assert_ne!(
        idle.code, 124,
        "the idle session was never dropped:\n{}",
        idle.log
    );
    assert!(
        idle.has("E_PROXY_SESSIONTIMEOUT [0x800759F6]"),
        "{}",
        idle.log
    );
    assert!(
        idle.took >= Duration::from_secs(5) && idle.took < Duration::from_secs(15),
        "{:?}",
        idle.took
    );
    let text = tunnel_lines(&lab, "gateway-idle-drop", "gw-idle", "idle drop").join("\n");
    assert!(
        text.contains("without data from the client")
            && text.contains("E_PROXY_SESSIONTIMEOUT (0x800759F6)"),
        "{text}"
    );
    // The same idle session through the healthy gateway is still up when the test ends it.
    assert_eq!(
        control.code, 124,
        "control session ended early:\n{}",
        control.log
    );
}

#[test]
fn xfreerdp_follows_the_brokers_routing_token_to_freerdp_shadow() {
    let lab = Lab::get();
    let before = lab.log("broker-lb-info").len();
    let args = direct(&lab, "broker-lb-info");
    let run = xfreerdp(&lab, &args, 8, None);
    // Redirected, reconnected with the token, and still in the session (NLA at freerdp-nla
    // passed) when the test ends it.
    assert_eq!(run.code, 124, "{}", run.log);
    let nla = lab.addr("freerdp-nla");
    let text = new_lines(&lab, "broker-lb-info", before, "relay to");
    assert!(
        text.contains("licensing STATUS_VALID_CLIENT, Server Redirection PDU redirFlags 0x3"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "routing token for {nla}: relaying this connection"
        )),
        "{text}"
    );
    let relay = text
        .lines()
        .find(|l| l.contains("relay to"))
        .unwrap_or_default();
    let from: u64 = relay
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .nth(1)
        .unwrap_or(0);
    assert!(from > 3000, "{relay}");
}

#[test]
fn xfreerdp_follows_the_brokers_target_address_to_xrdp_on_127_0_0_2() {
    let lab = Lab::get();
    let before_broker = lab.log("broker-net-address").len();
    let target_log = workspace_root().join("lab/state/xrdp-redirect-target.log");
    let before_target = std::fs::read(&target_log)
        .expect("xrdp-redirect-target log")
        .len();
    let args = direct(&lab, "broker-net-address");
    let run = xfreerdp(&lab, &args, 6, None);
    assert_eq!(run.code, 124, "{}", run.log);
    let text = new_lines(&lab, "broker-net-address", before_broker, "client closed");
    assert!(
        text.contains("Server Redirection PDU redirFlags 0x1 (address 127.0.0.2)"),
        "{text}"
    );
    let target = String::from_utf8_lossy(&std::fs::read(&target_log).unwrap()).into_owned();
    let target_new = target.get(before_target..).unwrap_or_default();
    assert!(
        target_new.contains("TLS connection established from 127.0.0.1"),
        "{target_new}"
    );
}

#[test]
fn a_redirection_to_an_unreachable_node_fails_at_once_and_stays_on_the_machine() {
    let lab = Lab::get();
    let pid = lab.pid("broker-unreachable");
    let args = direct(&lab, "broker-unreachable");
    // In the broker's network namespace (only lo): 198.18.99.10 has no route there.
    let before = lab.log("broker-unreachable").len();
    let run = xfreerdp(&lab, &args, 20, Some(pid));
    assert_ne!(run.code, 124, "{}", run.log);
    assert!(run.has("failed to connect to 198.18.99.10"), "{}", run.log);
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
    let text = new_lines(&lab, "broker-unreachable", before, "Server Redirection PDU");
    assert!(
        text.contains("redirFlags 0x301 (address 198.18.99.10, FQDN rdsh-internal.lab.invalid, NetBIOS RDSH-INTERNAL)"),
        "{text}"
    );
}

#[test]
fn a_paa_gateway_takes_the_right_cookie_and_refuses_a_wrong_one_or_none() {
    let lab = Lab::get();
    let target = lab.addr("freerdp-nla");
    let pass = lab.password();
    let run_with = |client: &str, extra: &[String]| {
        let mut args: Vec<String> = vec![
            format!("/v:{target}"),
            "/u:labuser".into(),
            format!("/p:{pass}"),
            "/d:".into(),
            format!("/g:{}", lab.addr("gateway-paa")),
            "/gt:http".into(),
            format!("/client-hostname:{client}"),
            "/cert:ignore".into(),
            "+auth-only".into(),
        ];
        args.extend_from_slice(extra);
        xfreerdp(&lab, &args, 25, None)
    };
    let good = run_with("gw-paa-good", &["/gat:lab-paa-cookie-2026".into()]);
    assert_eq!(good.code, 0, "{}", good.log);
    let text = tunnel_lines(&lab, "gateway-paa", "gw-paa-good", "closed: relayed").join("\n");
    assert!(text.contains("extended auth 0x2"), "{text}");
    assert!(text.contains("PAA cookie accepted"), "{text}");
    let wrong = run_with("gw-paa-wrong", &["/gat:not-the-cookie".into()]);
    assert!(
        wrong.has("E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED [0x800759F8]"),
        "{}",
        wrong.log
    );
    // Without a cookie xfreerdp 2.11 insists on NTLM, which a PAA-only gateway never asks for.
    let before = lab.log("gateway-paa").len();
    let none = run_with(
        "gw-paa-none",
        &["/gu:labuser".into(), format!("/gp:{pass}"), "/gd:".into()],
    );
    assert_ne!(none.code, 0, "{}", none.log);
    let text = new_lines(&lab, "gateway-paa", before, "HTTP is anonymous here");
    assert!(!text.contains("client name 'gw-paa-none'"), "{text}");
}
