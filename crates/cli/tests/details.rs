//! What the text details and the JSON `facts` show, through the real binary: the Standard RDP
//! Security settings of a lab server that also offers TLS, and (replayed with `diagnose FILE`)
//! observations holding what real Windows servers sent in public captures, which no lab server
//! produces: an RDP 5.0 server with an 8-byte Server Core Data block and a 511-bit modulus
//! declared as a 512-bit key, and a workgroup server whose NTLM domain fields name itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{run, run_json, Lab};
use serde_json::{json, Value};

/// `check` of xrdp-negotiate (TLS and Standard RDP Security, crypt_level=high): the MCS probes'
/// answers show in the details and in `facts.rdp_security`, though no finding mentions them.
#[test]
fn negotiate_server_shows_its_standard_rdp_security() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-negotiate");
    let (_, v) = run_json(&["check", &addr, "--json", "--timeout", "3"]);
    let r = &v["facts"]["rdp_security"];
    assert_eq!(
        r["summary"], "High, 128-bit RC4, RSA 2048 proprietary key",
        "{r}"
    );
    assert_eq!(r["level"], "High");
    assert_eq!(r["method"], "128-bit RC4");
    assert_eq!(r["server_key"], "RSA 2048 proprietary key");
    assert_eq!(r["rdp_version"], "RDP 5.0 to 8.1 (0x00080004)");
    let out = run(&["check", &addr, "--timeout", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  Standard RDP Security: High, 128-bit RC4, RSA 2048 proprietary key\n"),
        "{text}"
    );
}

/// Writes `obs` to a file of its own and runs `diagnose` on it, as text and as JSON.
fn replay(name: &str, obs: &Value) -> (String, Value) {
    let path = std::env::temp_dir().join(format!(
        "rdpdoctor-details-{name}-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, obs.to_string()).expect("write the observations");
    let file = path.to_string_lossy().to_string();
    let text = String::from_utf8_lossy(&run(&["diagnose", &file]).stdout).to_string();
    let (_, v) = run_json(&["diagnose", &file, "--json"]);
    let _ = std::fs::remove_file(&path);
    (text, v)
}

fn observations(negotiation: Value, extra: Value) -> Value {
    let mut obs = json!({
        "schema": "rdpdoctor.observations/1",
        "target": {"input": "192.0.2.10", "host": "192.0.2.10", "port": 3389, "kind": "ipv4"},
        "tcp": {"attempts": [], "address": "192.0.2.10:3389", "samples_ms": [1.0]},
        "negotiation": negotiation,
    });
    if let (Some(o), Some(e)) = (obs.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    obs
}

/// Windows 2000 Server as wallix/redemption captured it (tests/includes/fixtures/
/// dump_w2000_mem3blt.hpp at commit 19700d8a4; crates/wire/tests/windows_captures.rs decodes the
/// bytes): a bare Connection Confirm, then version 0x00080004 in an 8-byte Server Core Data block,
/// 40-bit RC4 at level Client Compatible, a proprietary key declared 512-bit.
#[test]
fn windows_2000_is_an_old_server_not_a_middlebox() {
    let bare = json!({"kind": "no-negotiation-data"});
    let negotiation: Vec<Value> = [11, 3, 1, 0]
        .iter()
        .map(|r| json!({"requested": r, "elapsed_ms": 1.0, "outcome": bare}))
        .collect();
    let accepted = json!({
        "kind": "accepted",
        "rdp_version": 0x0008_0004,
        "encryption_method": 1,
        "encryption_level": 2,
        "server_random_len": 32,
        "certificate": {"kind": "proprietary", "temporary": false, "key_bits": 512,
                        "public_exponent": 65537, "signature_len": 72},
    });
    let obs = observations(
        Value::Array(negotiation),
        json!({"rdp_security": {"attempts": [
            {"offered": 0x1b, "elapsed_ms": 1.0, "outcome": accepted}
        ]}}),
    );
    let (text, v) = replay("w2000", &obs);
    let legacy = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "legacy-negotiation"))
        .unwrap_or_else(|| panic!("no legacy-negotiation: {v}"));
    let evidence = legacy["evidence"].to_string();
    assert!(
        evidence.contains("8-byte Server Core Data block without clientRequestedProtocols"),
        "{evidence}"
    );
    assert!(!evidence.contains("likely reason"), "{evidence}");
    assert_eq!(
        v["facts"]["rdp_security"]["summary"],
        "Client Compatible, 40-bit RC4, RSA 512 proprietary key"
    );
    assert!(
        text.contains(
            "Standard RDP Security: Client Compatible, 40-bit RC4, RSA 512 proprietary key"
        ),
        "{text}"
    );
}

/// The workgroup server of apache/cloudstack's capture (services/console-proxy-rdp/rdpconsole/
/// src/main/java/rdpclient/ntlmssp/ServerNtlmsspChallenge.java): a Windows Server 2012 R2 preview,
/// version 6.3.9431, whose every NTLM name field holds WIN-LO419B2LSR0.
#[test]
fn workgroup_server_is_shown_as_workgroup() {
    let ssl = json!({"kind": "selected", "protocol": 2, "flags": 0x0f});
    let name = "WIN-LO419B2LSR0";
    let obs = observations(
        json!([{"requested": 11, "elapsed_ms": 1.0, "outcome": ssl}]),
        json!({"nla": {
            "requested": 11,
            "selected": 2,
            "ts_request_version": 3,
            "elapsed_ms": 1.0,
            "outcome": {"kind": "challenge", "info": {
                "target_name": name,
                "netbios_computer": name,
                "netbios_domain": name,
                "dns_computer": name,
                "dns_domain": name,
                "os_version": {"major": 6, "minor": 3, "build": 9431},
                "received_at": "2013-07-01T00:00:00Z",
                "flags": 0xe28a8235_u32,
            }},
        }}),
    );
    let (text, v) = replay("workgroup", &obs);
    let nla = &v["facts"]["nla"];
    assert_eq!(nla["workgroup"], true, "{nla}");
    assert!(nla.get("domain").is_none(), "{nla}");
    assert_eq!(nla["os"], "Windows Server 2012 R2 Preview (build 9431)");
    assert!(
        text.contains("    workgroup (not joined to a domain"),
        "{text}"
    );
    assert!(!text.contains("    domain "), "{text}");
    assert!(
        text.contains("    computer WIN-LO419B2LSR0 / WIN-LO419B2LSR0"),
        "{text}"
    );
}
