//! `check FILE.rdp` and `check HOST --rdp-file FILE` against the lab: files written by the test
//! as mstsc writes them (UTF-16LE with a byte order mark, CRLF) and as UTF-8, for a direct target
//! and a gateway target, and one for each setting that cannot work with the server it names
//! (`rdp-file-setting-breaks` with the line); the same files with settings that do work stay
//! quiet.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, Lab, TempDir};
use serde_json::Value;
use std::path::PathBuf;

struct Files {
    lab: Lab,
    dir: TempDir,
    ca: String,
    password: String,
}

fn files(test: &str) -> Files {
    let lab = Lab::get();
    let (ca, password) = (lab.ca_path(), lab.account_password());
    Files {
        lab,
        dir: TempDir::new("rdp-file", test),
        ca,
        password,
    }
}

impl Files {
    /// Writes `lines` as mstsc does (UTF-16LE, BOM, CRLF), or as UTF-8.
    fn write(&self, name: &str, lines: &[String], utf16: bool) -> PathBuf {
        let text = lines.join("\r\n") + "\r\n";
        let bytes = if utf16 {
            let mut b = vec![0xFF, 0xFE];
            b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            b
        } else {
            text.into_bytes()
        };
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `check --json ARGS`; `trusted`: the lab CA is the trust store; `password`: in the env.
    fn check(&self, args: &[&str], trusted: bool, password: bool) -> Value {
        let mut c = common::bin();
        c.arg("check").arg("--json").args(args);
        if trusted {
            c.env("SSL_CERT_FILE", &self.ca);
        }
        if password {
            c.env("RDPDOCTOR_PASSWORD", &self.password);
        } else {
            c.env_remove("RDPDOCTOR_PASSWORD");
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "no JSON ({e}): {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

fn breaks(v: &Value) -> Option<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "rdp-file-setting-breaks")
        .map(|f| f["evidence"].to_string())
}

fn full_address(lab: &Lab, name: &str) -> String {
    format!("full address:s:{}", lab.addr(name))
}

#[test]
fn a_direct_file_is_followed_and_its_unknown_settings_listed() {
    let f = files("a_direct_fil");
    let lines = [
        "screen mode id:i:2".to_string(),
        full_address(&f.lab, "xrdp-negotiate"),
        "authentication level:i:2".to_string(),
        "enablecredsspsupport:i:1".to_string(),
        "password 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB".to_string(),
        "made up setting:i:7".to_string(),
    ];
    for utf16 in [true, false] {
        let path = f.write(if utf16 { "a16.rdp" } else { "a8.rdp" }, &lines, utf16);
        let v = f.check(&[path.to_str().unwrap()], true, false);
        assert_eq!(v["target"], f.lab.addr("xrdp-negotiate"), "{}", v["target"]);
        // The certificate verifies with the lab CA: level 2 is no problem here.
        assert_eq!(breaks(&v), None, "{:?}", ids(&v));
        let facts = v["facts"]["rdp_file"].to_string();
        assert!(
            facts.contains("unknown setting (listed, not interpreted) line 6: made up setting:i:7"),
            "{facts}"
        );
        assert!(
            facts.contains("line 5: a saved password (password 51), not read"),
            "{facts}"
        );
        assert!(
            !v.to_string().contains("D08C9DDF"),
            "the saved password leaked"
        );
    }
}

#[test]
fn each_setting_that_cannot_work_is_named_with_its_line() {
    let f = files("each_setting");
    let cases = [
        ("freerdp-nla", "enablecredsspsupport:i:0", true, "blocking"),
        (
            "xrdp-tls-only",
            "negotiate security layer:i:0",
            true,
            "blocking",
        ),
        (
            "xrdp-negotiate",
            "authentication level:i:1",
            false,
            "blocking",
        ),
        (
            "xrdp-negotiate",
            "authentication level:i:2",
            false,
            "warning",
        ),
    ];
    for (server, setting, trusted, severity) in cases {
        let path = f.write(
            "b.rdp",
            &[full_address(&f.lab, server), setting.to_string()],
            true,
        );
        let v = f.check(&[path.to_str().unwrap()], trusted, false);
        let e = breaks(&v).unwrap_or_else(|| panic!("{setting} on {server}: {:?}", ids(&v)));
        assert!(e.contains(&format!("line 2: {setting}")), "{e}");
        let finding = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "rdp-file-setting-breaks")
            .unwrap();
        assert_eq!(finding["severity"], severity, "{setting}");
    }
    // The same lines against servers they work with stay quiet.
    for (server, setting) in [
        ("xrdp-negotiate", "enablecredsspsupport:i:0"),
        ("xrdp-rdp-only", "negotiate security layer:i:0"),
    ] {
        let path = f.write(
            "c.rdp",
            &[full_address(&f.lab, server), setting.to_string()],
            true,
        );
        let v = f.check(&[path.to_str().unwrap()], true, false);
        assert_eq!(breaks(&v), None, "{setting} on {server}: {:?}", ids(&v));
    }
}

#[test]
fn a_gateway_file_goes_through_the_gateway_as_its_user() {
    let f = files("a_gateway_fi");
    let lines = [
        full_address(&f.lab, "freerdp-nla"),
        format!("gatewayhostname:s:{}", f.lab.addr("gateway-healthy")),
        "gatewayusagemethod:i:1".to_string(),
        "gatewayprofileusagemethod:i:1".to_string(),
        "username:s:labuser".to_string(),
    ];
    let path = f.write("gw.rdp", &lines, true);
    let v = f.check(&[path.to_str().unwrap()], true, true);
    assert_eq!(v["observations"]["route"]["kind"], "gateway");
    assert_eq!(v["verdict"]["status"], "healthy", "{}", v["verdict"]);
    assert!(ids(&v).contains(&"auth-ok".to_string()), "{:?}", ids(&v));
    // A gateway that refuses: its own finding heads the verdict, the file's lines are named.
    let mut refused = lines.clone();
    refused[1] = format!("gatewayhostname:s:{}", f.lab.addr("gateway-rap-denied"));
    let path = f.write("gw-denied.rdp", &refused, true);
    let v = f.check(&[path.to_str().unwrap()], true, true);
    assert_eq!(
        v["verdict"]["finding"], "gateway-policy-denied",
        "{}",
        v["verdict"]
    );
    let e = breaks(&v).unwrap();
    assert!(e.contains("line 2: gatewayhostname:s:"), "{e}");
}

#[test]
fn rdp_file_with_another_target_checks_that_target() {
    let f = files("rdp_file_wit");
    let path = f.write(
        "other.rdp",
        &[
            full_address(&f.lab, "freerdp-nla"),
            "enablecredsspsupport:i:0".to_string(),
        ],
        true,
    );
    let v = f.check(
        &[
            &f.lab.addr("xrdp-negotiate"),
            "--rdp-file",
            path.to_str().unwrap(),
        ],
        true,
        false,
    );
    assert_eq!(v["target"], f.lab.addr("xrdp-negotiate"));
    // xrdp-negotiate accepts TLS without CredSSP: the line works there.
    assert_eq!(breaks(&v), None, "{:?}", ids(&v));
}

#[test]
fn loadbalanceinfo_is_the_routing_token_of_the_first_leg() {
    // The broker stand-in relays a connection whose X.224 request carries a routing token to the
    // node it names (as a routing-token-aware load balancer does): with the file's token the
    // check lands on freerdp-nla (NLA required) instead of being redirected by the broker.
    let f = files("lbinfo");
    let nla_port: u16 = f.lab.server("freerdp-nla")["port"].as_u64().unwrap() as u16;
    // msts=<IPv4 as a little-endian u32>.<port, bytes swapped>.0000 (lab/broker.py).
    let token = format!(
        "Cookie: msts={}.{}.0000",
        u32::from_le_bytes([127, 0, 0, 1]),
        nla_port.swap_bytes()
    );
    let lines = [
        full_address(&f.lab, "broker-lb-info"),
        format!("loadbalanceinfo:s:{token}"),
    ];
    let path = f.write("lb.rdp", &lines, true);
    let v = f.check(&[path.to_str().unwrap()], true, false);
    assert!(
        ids(&v).contains(&"nla-required".to_string()),
        "{:?}",
        ids(&v)
    );
    let facts = v["facts"]["rdp_file"].to_string();
    assert!(
        facts.contains("sent as the routing token of the X.224 requests"),
        "{facts}"
    );
    // Without the line the broker itself answers (TLS without NLA).
    let path = f.write("nolb.rdp", &lines[..1], true);
    let v = f.check(&[path.to_str().unwrap()], true, false);
    assert!(
        ids(&v).contains(&"nla-not-enforced".to_string()),
        "{:?}",
        ids(&v)
    );
}
