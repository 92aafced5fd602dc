//! `check --full` follows a Connection Broker's Server Redirection PDU (lab/broker.py, proven
//! with xfreerdp 2.11 by gateway_lab.rs) as a client does, and checks the server it reaches:
//! the routing token to freerdp-nla (relayed by the broker), the target address to the real xrdp
//! on 127.0.0.2, and a node address with no route from here (`redirect-target-unreachable`,
//! run inside the broker's own network namespace, so nothing leaves the machine). A server that
//! does not redirect (xrdp) has no second leg.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, Lab};
use serde_json::Value;
use std::process::Command;

fn log(lab: &Lab, name: &str) -> String {
    lab.log_text(name)
}

fn json(out: std::process::Output) -> Value {
    common::json_of(&out)
}

fn check(args: &[&str]) -> Value {
    json(common::run(args))
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(v)))
}

fn evidence(f: &Value) -> String {
    common::evidence_text(f)
}

#[test]
fn follows_the_routing_token_to_freerdp_nla_and_reports_both_legs() {
    let lab = Lab::get();
    let broker = lab.addr("broker-lb-info");
    let before = log(&lab, "broker-lb-info").len();
    let v = check(&["check", "--full", "--json", &broker]);
    let redirected = evidence(finding(&v, "redirected"));
    assert!(
        redirected.contains("Cookie: msts=") && redirected.contains(": connected"),
        "{redirected}"
    );
    // The second leg is freerdp-nla's own check: it requires NLA, the broker does not.
    let second = format!("redirect target {broker} (the second leg)");
    let nla = finding(&v, "nla-required");
    assert!(evidence(nla).contains(&second), "{}", evidence(nla));
    assert!(
        ids(&v).contains(&"nla-not-enforced".to_string()),
        "{:?}",
        ids(&v)
    );
    assert!(!ids(&v).contains(&"redirect-target-unreachable".to_string()));
    // The broker relayed a connection that carried the token to freerdp-nla.
    let text = log(&lab, "broker-lb-info");
    let new = text.get(before..).unwrap_or_default();
    let nla_addr = lab.addr("freerdp-nla");
    assert!(
        new.contains(&format!(
            "routing token for {nla_addr}: relaying this connection"
        )),
        "{new}"
    );
}

#[test]
fn follows_the_target_address_to_xrdp_on_127_0_0_2() {
    let lab = Lab::get();
    let broker = lab.addr("broker-net-address");
    let port = broker.rsplit(':').next().unwrap();
    let v = check(&["check", "--full", "--json", &broker]);
    let redirected = evidence(finding(&v, "redirected"));
    assert!(
        redirected.contains(&format!("TargetNetAddress 127.0.0.2:{port}: connected")),
        "{redirected}"
    );
    // The findings of the real xrdp behind it are marked as the second leg's.
    let second = format!("redirect target 127.0.0.2:{port} (the second leg)");
    let marked = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| evidence(f).contains(&second))
        .count();
    assert!(marked > 0, "{:?}", ids(&v));
}

#[test]
fn an_unreachable_node_is_redirect_target_unreachable_with_its_address() {
    let lab = Lab::get();
    let pid = lab.server("broker-unreachable")["pid"].as_u64().unwrap();
    let broker = lab.addr("broker-unreachable");
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args(["check", "--full", "--json", &broker])
        .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
        .output()
        .expect("nsenter runs");
    let code = out.status.code();
    let v = json(out);
    assert_eq!(
        v["verdict"]["finding"], "redirect-target-unreachable",
        "{v}"
    );
    assert_eq!(code, Some(1), "exit status");
    let e = evidence(finding(&v, "redirect-target-unreachable"));
    assert!(e.contains("TargetNetAddress 198.18.99.10:"), "{e}");
    assert!(e.contains("no route from this machine"), "{e}");
    assert!(e.contains("TargetFQDN rdsh-internal.lab.invalid"), "{e}");
}

#[test]
fn a_server_that_does_not_redirect_has_no_second_leg() {
    let lab = Lab::get();
    let v = check(&["check", "--full", "--json", &lab.addr("xrdp-negotiate")]);
    let found = ids(&v);
    assert!(
        !found.contains(&"redirected".to_string())
            && !found.contains(&"redirect-target-unreachable".to_string()),
        "{found:?}"
    );
    assert!(
        v["observations"]["redirect"].is_null(),
        "{:#}",
        v["observations"]["redirect"]
    );
    assert!(v["observations"]["session"].is_object(), "{v:#}");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !evidence(f).contains("(the second leg)")));
}

/// A broker that proved nothing chose the second leg's target: the credentials do not follow
/// it (else whoever answered could send them to a server of its choosing with a certificate
/// valid for that server's own name). The canary never reaches the second leg.
#[test]
fn credentials_never_follow_a_redirection_from_an_unproven_server() {
    let lab = Lab::get();
    let out = common::bin()
        .env_remove("SSL_CERT_FILE")
        .env("RDPDOCTOR_PASSWORD", "Canary-Redirect-77")
        .args(["check", "--full", "--json", "--user", "canary"])
        .arg(lab.addr("broker-net-address"))
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("Canary-Redirect-77"));
    let v = json(out);
    let first = &v["observations"]["session"]["delegation"];
    assert_eq!(first["delegated"], false, "{first}");
    let leg = &v["observations"]["redirect"];
    assert!(
        leg["credentials_withheld"]
            .as_str()
            .is_some_and(|w| w.contains("proved nothing")),
        "{leg:#}"
    );
    // The second leg ran without an account: no logon, no delegation to the node.
    let second = &leg["target"]["session"];
    assert!(second.is_object(), "{leg:#}");
    assert!(second["user"].is_null(), "{second:#}");
    assert_ne!(second["delegated"], true, "{second:#}");
    let redirected = evidence(finding(&v, "redirected"));
    assert!(
        redirected.contains("went without the credentials"),
        "{redirected}"
    );
}

#[test]
fn credentials_go_to_each_leg_only_on_its_own_proof() {
    // The broker's certificate verifies (lab CA) for 127.0.0.1, so the first leg delegates; the
    // real xrdp on 127.0.0.2 shows the same certificate, which does not name 127.0.0.2: the second
    // leg withholds the password.
    let lab = Lab::get();
    let (ca, password) = (lab.ca_path(), lab.account_password());
    let out = common::bin()
        .env("SSL_CERT_FILE", &ca)
        .env("RDPDOCTOR_PASSWORD", &password)
        .args(["check", "--full", "--json", "--user", "labuser"])
        .arg(lab.addr("broker-net-address"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = json(out);
    let first = &v["observations"]["session"]["delegation"];
    assert_eq!(first["delegated"], true, "{first}");
    let second = &v["observations"]["redirect"]["target"]["session"]["delegation"];
    assert_eq!(second["delegated"], false, "{second}");
    assert!(
        second["refused"].as_str().unwrap().contains("127.0.0.2"),
        "{second}"
    );
    assert!(stderr.contains("(redirect target 127.0.0.2:"), "{stderr}");
}

#[test]
fn through_a_gateway_the_second_leg_goes_through_it_too() {
    // As mstsc behind an RD Gateway: the redirected connection is a channel of its own.
    let lab = Lab::get();
    let out = common::bin()
        .env("SSL_CERT_FILE", lab.ca_path())
        .env("RDPDOCTOR_GATEWAY_PASSWORD", lab.account_password())
        .args(["check", "--full", "--json", "--gateway-user", "labuser"])
        .args(["--gateway", &lab.addr("gateway-healthy")])
        .arg(lab.addr("broker-lb-info"))
        .output()
        .unwrap();
    let v = json(out);
    let leg = &v["observations"]["redirect"];
    assert_eq!(leg["tried"][0]["outcome"]["kind"], "reached", "{leg}");
    assert_eq!(leg["target"]["route"]["kind"], "gateway", "{leg}");
    assert!(
        ids(&v).contains(&"nla-required".to_string()),
        "{:?}",
        ids(&v)
    );
}
