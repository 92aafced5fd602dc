//! The Standard RDP Security probe against the lab: for each server that accepts PROTOCOL_RDP (or
//! answers without negotiation data), the level, the method chosen for each offer, the RDP
//! version and certificate, the findings, the verdict and the exit status of the real binary.
//! (lab/OBSERVED.md records the same servers with nmap's rdp-enum-encryption.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run_json, Lab};
use serde_json::Value;

const ALL: u64 = 0x1b;
/// The per-method offers, in the order the probe records them after ALL.
const OFFERS: [u64; 4] = [0x01, 0x08, 0x02, 0x10];

struct Case {
    server: &'static str,
    status: &'static str,
    finding: &'static str,
    ids: &'static [&'static str],
    /// Server Core Data version.
    version: u64,
    /// encryptionLevel the server announced.
    level: u64,
    /// The method chosen for ALL, then for 0x01, 0x08, 0x02, 0x10.
    methods: [u64; 5],
    /// RSA bits of the proprietary certificate, None when there is no certificate.
    key_bits: Option<u64>,
}

const CASES: &[Case] = &[
    // xrdp crypt_level=high: 128-bit whatever is offered (it overrides 40/56-bit and FIPS offers).
    Case {
        server: "xrdp-rdp-only",
        status: "degraded",
        finding: "rdp-security-only",
        ids: &[
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        version: 0x0008_0004,
        level: 3,
        methods: [0x02, 0x02, 0x02, 0x02, 0x02],
        key_bits: Some(2048),
    },
    Case {
        server: "xrdp-rdp-low",
        status: "degraded",
        finding: "rdp-security-only",
        ids: &[
            "encryption-level-low",
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        version: 0x0008_0004,
        level: 1,
        methods: [0x01, 0x01, 0x01, 0x01, 0x01],
        key_bits: Some(2048),
    },
    Case {
        server: "xrdp-rdp-fips",
        status: "degraded",
        finding: "rdp-security-only",
        ids: &[
            "encryption-fips-required",
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        version: 0x0008_0004,
        level: 4,
        methods: [0x10, 0x10, 0x10, 0x10, 0x10],
        key_bits: Some(2048),
    },
    // xrdp without its certificate falls back to Standard RDP Security at its default level.
    Case {
        server: "xrdp-cert-missing",
        status: "degraded",
        finding: "rdp-security-only",
        ids: &[
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        version: 0x0008_0004,
        level: 3,
        methods: [0x02, 0x02, 0x02, 0x02, 0x02],
        key_bits: Some(2048),
    },
    // freerdp-shadow /sec:rdp turns encryption off for loopback peers: level None, method None.
    Case {
        server: "freerdp-rdp",
        status: "degraded",
        finding: "rdp-security-only",
        ids: &[
            "encryption-level-low",
            "nla-not-enforced",
            "rdp-security-only",
            "tls-not-allowed",
        ],
        version: 0x0008_0004,
        level: 0,
        methods: [0, 0, 0, 0, 0],
        key_bits: None,
    },
    // The stand-in: RDP 4.0, Client Compatible, strongest offered method, 512-bit key.
    Case {
        server: "standin-legacy",
        status: "degraded",
        finding: "legacy-negotiation",
        ids: &[
            "encryption-level-low",
            "legacy-negotiation",
            "rdp-security-only",
            "weak-server-key",
        ],
        version: 0x0008_0001,
        level: 2,
        methods: [0x02, 0x01, 0x08, 0x02, 0x10],
        key_bits: Some(512),
    },
];

fn attempts(v: &Value) -> &Vec<Value> {
    v["observations"]["rdp_security"]["attempts"]
        .as_array()
        .expect("observations.rdp_security.attempts")
}

#[test]
fn every_standard_rdp_server_reports_level_methods_and_findings() {
    let lab = Lab::get();
    let mut failures = Vec::new();
    for case in CASES {
        let addr = lab.addr(case.server);
        let (code, v) = run_json(&["check", &addr, "--json"]);
        let mut fail = |what: String| failures.push(format!("{}: {what}", case.server));
        if v["verdict"]["status"] != case.status {
            fail(format!("status {}", v["verdict"]["status"]));
        }
        if v["verdict"]["finding"] != case.finding {
            fail(format!("verdict finding {}", v["verdict"]["finding"]));
        }
        if ids(&v) != case.ids {
            fail(format!("ids {:?}", ids(&v)));
        }
        if code != 1 {
            fail(format!("exit {code}"));
        }
        let attempts = attempts(&v);
        let offered: Vec<u64> = attempts
            .iter()
            .filter_map(|a| a["offered"].as_u64())
            .collect();
        let mut want_offers = vec![ALL];
        want_offers.extend(OFFERS);
        if offered != want_offers {
            fail(format!("offers {offered:?}"));
        }
        for (a, method) in attempts.iter().zip(case.methods) {
            let o = &a["outcome"];
            if o["kind"] != "accepted" {
                fail(format!("offer {} got {o}", a["offered"]));
                continue;
            }
            if o["encryption_method"] != method
                || o["encryption_level"] != case.level
                || o["rdp_version"] != case.version
            {
                fail(format!("offer {}: {o}", a["offered"]));
            }
            match case.key_bits {
                Some(bits) => {
                    if o["certificate"]["kind"] != "proprietary"
                        || o["certificate"]["key_bits"] != bits
                        || o["server_random_len"] != 32
                    {
                        fail(format!("certificate {o}"));
                    }
                }
                None => {
                    if !o["certificate"].is_null() || !o["server_random_len"].is_null() {
                        fail(format!("expected no certificate and no server random: {o}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn servers_without_standard_rdp_security_are_not_probed() {
    let lab = Lab::get();
    // TLS required (RDP_NEG_FAILURE 1 for PROTOCOL_RDP) and NLA required (failure 5).
    for server in ["xrdp-tls-only", "freerdp-nla"] {
        let (_, v) = run_json(&["check", &lab.addr(server), "--json"]);
        assert!(
            v["observations"]["rdp_security"].is_null(),
            "{server}: {}",
            v["observations"]["rdp_security"]
        );
        assert!(
            !ids(&v).iter().any(|i| i.starts_with("encryption-")),
            "{server}"
        );
    }
}

#[test]
fn findings_carry_evidence_and_fixes_with_the_policy_names() {
    let lab = Lab::get();
    let (_, v) = run_json(&["check", &lab.addr("xrdp-rdp-fips"), "--json"]);
    let find = |id: &str| -> Value {
        v["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == id).cloned())
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let only = find("rdp-security-only");
    let text = only.to_string();
    assert!(text.contains("Require use of specific security layer for remote (RDP) connections"));
    assert!(text.contains("SecurityLayer"));
    // It explains the negotiation symptom and carries its evidence (once, not twice).
    let downgrade = find("security-downgrade");
    let own: Vec<&str> = only["evidence"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str()).collect())
        .unwrap_or_default();
    for line in downgrade["evidence"].as_array().into_iter().flatten() {
        let line = line.as_str().unwrap_or_default();
        let carried = own
            .iter()
            .filter(|e| **e == line || **e == format!("security-downgrade (network check): {line}"))
            .count();
        assert_eq!(carried, 1, "{line:?} in {own:?}");
    }
    let fips = find("encryption-fips-required").to_string();
    assert!(fips.contains("level FIPS"), "{fips}");
    assert!(fips.contains("MinEncryptionLevel"));
    let mismatch = find("encryption-mismatch");
    assert_eq!(mismatch["severity"], "warning");
    assert!(mismatch["evidence"]
        .to_string()
        .contains("which was not offered"));
    assert!(mismatch["client_error"]["codes"]
        .to_string()
        .contains("ERRINFO_ENCPKGMISMATCH"));
    assert!(fips.contains("Set client connection encryption level"));
}

#[test]
fn the_probe_costs_five_connections_only_where_standard_rdp_security_is_accepted() {
    // Speed is measured by bench/vs-nmap.sh, not asserted here; what a test can pin down is the
    // number of extra connections: one per offer, and none on a server that refuses PROTOCOL_RDP.
    let lab = Lab::get();
    let (_, v) = run_json(&["check", &lab.addr("xrdp-rdp-only"), "--json"]);
    assert_eq!(
        attempts(&v).len(),
        5,
        "{}",
        v["observations"]["rdp_security"]
    );
    let (_, v) = run_json(&["check", &lab.addr("freerdp-nla"), "--json"]);
    assert!(
        v["observations"]["rdp_security"].is_null(),
        "{}",
        v["observations"]["rdp_security"]
    );
}
