//! `check --gateway GW TARGET` against the lab's RD Gateway stand-ins (lab/gateway.py, proven
//! with xfreerdp 2.11 by gateway_lab.rs) and the real servers behind them: the whole check runs
//! through the tunnel (WebSocket and the two HTTP channels, to freerdp-shadow with NLA and to
//! xrdp, `--full --user`, `--hold`), and each fault mode is named by its finding, with the
//! gateway's step, before anything about the server. A healthy gateway raises nothing but info.
//!
//! The lab CA is this process's trust store (`SSL_CERT_FILE`), as in gateway_client.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, Lab};
use serde_json::Value;

const CANARY: &str = "Canary-Gw-Pass-7781!";

struct Gw {
    lab: Lab,
    ca: String,
    password: String,
}

fn gw() -> Gw {
    let lab = Lab::get();
    let (ca, password) = (lab.ca_path(), lab.account_password());
    Gw { lab, ca, password }
}

impl Gw {
    /// `check --json --gateway GW ARGS... TARGET` with `password` (if any) in RDPDOCTOR_PASSWORD.
    fn check(&self, gateway: &str, target: &str, args: &[&str], password: Option<&str>) -> Value {
        self.check_code(gateway, target, args, password).1
    }

    /// `check` with rdpdoctor's exit status (0 healthy, 1 findings, 2 usage or input error).
    fn check_code(
        &self,
        gateway: &str,
        target: &str,
        args: &[&str],
        password: Option<&str>,
    ) -> (i32, Value) {
        let mut c = common::bin();
        c.env("SSL_CERT_FILE", &self.ca)
            .env("RDPDOCTOR_GATEWAY_PASSWORD", &self.password)
            .args(["check", "--json", "--gateway", &self.lab.addr(gateway)])
            .args(args)
            .arg(self.lab.addr(target));
        match password {
            Some(p) => c.env("RDPDOCTOR_PASSWORD", p).args(["--user", "labuser"]),
            None => c.env_remove("RDPDOCTOR_PASSWORD"),
        };
        let out = c.output().expect("rdpdoctor runs");
        (out.status.code().unwrap_or(-1), common::json_of(&out))
    }

    fn log(&self, name: &str) -> String {
        self.lab.log_text(name)
    }
}

fn has(v: &Value, id: &str) -> bool {
    ids(v).iter().any(|i| i == id)
}

/// No finding about the gateway but info.
fn gateway_quiet(v: &Value) {
    for f in v["findings"].as_array().unwrap() {
        if f["id"].as_str().unwrap().starts_with("gateway-") {
            assert_eq!(f["severity"], "info", "{f}");
        }
    }
}

#[test]
fn full_user_through_websocket_and_http_channels_to_freerdp_nla() {
    let g = gw();
    for (gateway, over) in [
        ("gateway-healthy", "over WebSocket"),
        ("gateway-no-websocket", "over the two HTTP channels"),
    ] {
        let (code, v) = g.check_code(gateway, "freerdp-nla", &["--full"], Some(&g.password));
        assert_eq!(
            v["verdict"]["status"], "healthy",
            "{gateway}: {}",
            v["verdict"]
        );
        assert_eq!(code, 0, "{gateway}: exit status of a healthy check");
        assert!(
            has(&v, "auth-ok") && has(&v, "nla-required"),
            "{:?}",
            ids(&v)
        );
        assert!(
            v["facts"]["route"].as_str().unwrap().contains(over),
            "{}",
            v["facts"]["route"]
        );
        let obs = &v["observations"];
        assert_eq!(obs["route"]["kind"], "gateway", "{}", obs["route"]);
        assert_eq!(obs["session"]["outcome"]["kind"], "session-up");
        assert_eq!(obs["gateway"]["outcome"]["kind"], "open");
        // The stream is no TCP connection to the server: no path facts describe it.
        assert!(obs["path"].is_null() && obs["tcp"].is_null(), "{obs}");
        gateway_quiet(&v);
        assert_eq!(
            has(&v, "gateway-websocket-refused"),
            gateway == "gateway-no-websocket"
        );
    }
}

#[test]
fn full_session_to_xrdp_through_the_gateway_and_the_same_findings_as_direct() {
    let g = gw();
    let v = g.check("gateway-healthy", "xrdp-negotiate", &["--full"], None);
    // --user is not given, but the gateway needs a logon: the check stops there, and says so.
    assert_eq!(v["verdict"]["status"], "healthy", "{}", v["verdict"]);
    assert!(has(&v, "gateway-auth-required"), "{:?}", ids(&v));
    assert!(
        v["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("nothing about the server behind it was checked"),
        "{}",
        v["verdict"]
    );
    let v = g.check(
        "gateway-healthy",
        "xrdp-negotiate",
        &["--full"],
        Some(&g.password),
    );
    assert_eq!(
        v["observations"]["session"]["outcome"]["kind"],
        "session-up"
    );
    // The server's own findings come through the tunnel as they do directly.
    let (direct_code, direct) =
        common::run_json(&["check", "--json", &g.lab.addr("xrdp-negotiate")]);
    assert_ne!(direct_code, 2, "{direct:#}");
    assert!(!ids(&direct).is_empty(), "{direct:#}");
    for id in ids(&direct) {
        assert!(
            has(&v, &id),
            "{id} direct but not through the gateway: {:?}",
            ids(&v)
        );
    }
}

#[test]
fn hold_inside_the_tunnel_sees_the_idle_drop_and_the_healthy_gateway_holds() {
    let g = gw();
    // Both at once: the control costs no extra time.
    // Without --user (the gateway logon is --gateway-user's): xrdp's logon screen answers the
    // Refresh Rect at the end of the hold; a session xrdp logs on does not (session-unusable,
    // directly as through the gateway).
    let args = ["--full", "--hold", "8", "--gateway-user", "labuser"];
    let (dropped, held, silent) = std::thread::scope(|s| {
        let a = s.spawn(|| g.check("gateway-idle-drop", "xrdp-negotiate", &args, None));
        let b = s.spawn(|| g.check("gateway-healthy", "xrdp-negotiate", &args, None));
        let c = s.spawn(|| {
            g.check(
                "gateway-healthy",
                "xrdp-negotiate",
                &["--full", "--hold", "3"],
                Some(&g.password),
            )
        });
        (a.join().unwrap(), b.join().unwrap(), c.join().unwrap())
    });
    let hold = &dropped["observations"]["session"]["hold"];
    assert_ne!(hold["ending"]["kind"], "held", "{hold}");
    assert!(has(&dropped, "session-dropped"), "{:?}", ids(&dropped));
    let hold = &held["observations"]["session"]["hold"];
    assert_eq!(hold["ending"]["kind"], "held", "{hold}");
    assert!(!has(&held, "session-dropped"), "{:?}", ids(&held));
    // A silent session inside an open channel is the server's (or the gateway's own leg's): no
    // device on this side's path is accused.
    let hold = &silent["observations"]["session"]["hold"];
    assert_eq!(hold["ending"]["kind"], "unanswered", "{hold}");
    assert!(has(&silent, "session-unusable"), "{:?}", ids(&silent));
    assert!(!has(&silent, "session-dropped"), "{:?}", ids(&silent));
}

#[test]
fn a_bad_gateway_certificate_stops_before_any_credential() {
    let g = gw();
    for (gateway, id) in [
        ("gateway-expired-cert", "gateway-cert-expired"),
        ("gateway-wrong-name", "gateway-cert-name-mismatch"),
    ] {
        let before = g.log(gateway).len();
        let v = g.check(gateway, "freerdp-nla", &[], Some(CANARY));
        assert_eq!(v["verdict"]["finding"], id, "{}", v["verdict"]);
        assert!(v["observations"]["negotiation"].is_null());
        let log = g.log(gateway);
        let new = log.get(before..).unwrap_or_default();
        // The gateway saw a request without credentials, and no logon.
        assert!(new.contains("401 (no Authorization header)"), "{new}");
        assert!(
            !new.contains("logon of") && !new.contains("CHALLENGE"),
            "{new}"
        );
        assert!(!v.to_string().contains(CANARY));
    }
}

#[test]
fn each_gateway_fault_is_named_at_its_step() {
    let g = gw();
    let cases = [
        (
            "gateway-kerberos-only",
            "freerdp-nla",
            Some(g.password.as_str()),
            "gateway-auth-method-unsupported",
        ),
        (
            "gateway-healthy",
            "freerdp-nla",
            Some(CANARY),
            "gateway-auth-failed",
        ),
        (
            "gateway-rap-denied",
            "freerdp-nla",
            Some(g.password.as_str()),
            "gateway-policy-denied",
        ),
        (
            "gateway-cap-denied",
            "freerdp-nla",
            Some(g.password.as_str()),
            "gateway-policy-denied",
        ),
        (
            "gateway-busy",
            "freerdp-nla",
            Some(g.password.as_str()),
            "gateway-busy",
        ),
        (
            "gateway-healthy",
            "closed",
            Some(g.password.as_str()),
            "gateway-target-unreachable",
        ),
    ];
    for (gateway, target, password, id) in cases {
        let (code, v) = g.check_code(gateway, target, &[], password);
        assert_eq!(
            v["verdict"]["finding"], id,
            "{gateway} -> {target}: {}",
            v["verdict"]
        );
        assert_eq!(code, 1, "{gateway} -> {target}: exit status");
        assert!(
            v["verdict"]["scope"]
                .as_str()
                .unwrap()
                .contains("stopped at the RD Gateway"),
            "{}",
            v["verdict"]
        );
        assert!(v["observations"]["negotiation"].is_null(), "{gateway}");
    }
}

#[test]
fn the_client_matrix_through_the_gateway_is_the_direct_one() {
    // A TLS 1.0/1.1 server: through the gateway, TLS 1.0 (no request carries it) must be tried
    // too when --clients asks, or Windows 7 would be reported as shut out.
    let g = gw();
    let through = g.check(
        "gateway-healthy",
        "xrdp-tls10-only",
        &["--clients"],
        Some(&g.password),
    );
    let out = common::bin()
        .env("SSL_CERT_FILE", &g.ca)
        .env("RDPDOCTOR_PASSWORD", &g.password)
        .args(["check", "--json", "--clients", "--user", "labuser"])
        .arg(g.lab.addr("xrdp-tls10-only"))
        .output()
        .unwrap();
    let direct: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = through["clients"].as_array().expect("a client matrix");
    assert!(!rows.is_empty(), "{through:#}");
    let win7 = rows
        .iter()
        .find(|r| r["id"] == "mstsc-win7")
        .expect("the Windows 7 row");
    assert_ne!(win7["outcome"], "fails", "{win7:#}");
    assert_eq!(
        through["clients"], direct["clients"],
        "{}",
        through["clients"]
    );
    assert_eq!(ids(&through), ids(&direct));
}

#[test]
fn a_paa_gateway_lets_the_cookie_from_the_file_through_and_refuses_a_wrong_one() {
    let g = gw();
    let dir = common::TempDir::new("gateway-check", "paa");
    for (cookie, through) in [("lab-paa-cookie-2026", true), ("not-the-cookie", false)] {
        let file = dir.join("cookie.txt");
        std::fs::write(&file, format!("{cookie}\n")).unwrap();
        let file = file.to_string_lossy().into_owned();
        let v = g.check(
            "gateway-paa",
            "freerdp-nla",
            &["--gateway-paa-cookie-file", &file],
            None,
        );
        assert_eq!(
            v["observations"]["gateway"]["outcome"]["kind"] == "open",
            through,
            "{cookie}: {}",
            v["observations"]["gateway"]["outcome"]
        );
        assert_eq!(has(&v, "nla-required"), through, "{:?}", ids(&v));
        // The cookie is a bearer secret: never in the output.
        assert!(!v.to_string().contains(cookie), "{cookie} leaked");
    }
}
