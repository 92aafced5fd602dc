//! `rdpdoctor check` against every lab server (real xrdp and freerdp-shadow-cli, plus scripted
//! stand-ins for faults no real server produces). Each case asserts the verdict, the exact set of
//! finding ids and the exit status of the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run, run_json, Lab};

struct Case {
    server: &'static str,
    extra: &'static [&'static str],
    status: &'static str,
    finding: Option<&'static str>,
    ids: &'static [&'static str],
    exit: i32,
}

const CASES: &[Case] = &[
    Case {
        server: "xrdp-negotiate",
        extra: &[],
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced"],
        exit: 1,
    },
    // mstsc lets the user accept an expired certificate: degraded by default, broken for a
    // client that requires server authentication.
    Case {
        server: "xrdp-expired",
        extra: &[],
        status: "degraded",
        finding: Some("cert-expired"),
        ids: &["cert-expired", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "xrdp-expired",
        extra: &["--client", "hardened"],
        status: "broken",
        finding: Some("cert-expired"),
        ids: &["cert-expired", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "xrdp-rdp-only",
        extra: &[],
        status: "degraded",
        finding: Some("rdp-security-only"),
        ids: &[
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        exit: 1,
    },
    Case {
        server: "xrdp-tls13-only",
        extra: &[],
        status: "degraded",
        finding: Some("tls-modern-only"),
        ids: &["nla-not-enforced", "tls-modern-only"],
        exit: 1,
    },
    Case {
        server: "xrdp-tls13-only",
        extra: &["--client", "windows10"],
        status: "broken",
        finding: Some("tls-modern-only"),
        ids: &["nla-not-enforced", "tls-modern-only"],
        exit: 1,
    },
    Case {
        server: "xrdp-tls10-only",
        extra: &[],
        status: "degraded",
        finding: Some("tls-legacy-only"),
        ids: &["nla-not-enforced", "tls-legacy-only"],
        exit: 1,
    },
    Case {
        server: "xrdp-tls10-only",
        extra: &["--client", "hardened"],
        status: "broken",
        finding: Some("tls-legacy-only"),
        ids: &["nla-not-enforced", "tls-legacy-only"],
        exit: 1,
    },
    // xrdp falls back to Standard RDP Security when its certificate is missing (lab/OBSERVED.md).
    Case {
        server: "xrdp-cert-missing",
        extra: &[],
        status: "degraded",
        finding: Some("rdp-security-only"),
        ids: &[
            "encryption-mismatch",
            "nla-not-enforced",
            "rdp-security-only",
            "security-downgrade",
        ],
        exit: 1,
    },
    Case {
        server: "freerdp-nla",
        extra: &[],
        status: "healthy",
        finding: None,
        ids: &["nla-required"],
        exit: 0,
    },
    Case {
        server: "xrdp-tls-only",
        extra: &[],
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced", "tls-required"],
        exit: 1,
    },
    Case {
        server: "xrdp-selfsigned-weak",
        extra: &[],
        status: "degraded",
        finding: Some("cert-name-mismatch"),
        ids: &[
            "cert-name-mismatch",
            "cert-self-signed",
            "cert-weak-key",
            "cert-weak-signature",
            "nla-not-enforced",
        ],
        exit: 1,
    },
    Case {
        server: "xrdp-expiring",
        extra: &[],
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["cert-expiring-soon", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "xrdp-expiring",
        extra: &["--cert-warn-days", "5"],
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "xrdp-not-yet-valid",
        extra: &[],
        status: "degraded",
        finding: Some("cert-not-yet-valid"),
        ids: &["cert-not-yet-valid", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "xrdp-not-yet-valid",
        extra: &["--client", "hardened"],
        status: "broken",
        finding: Some("cert-not-yet-valid"),
        ids: &["cert-not-yet-valid", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        server: "freerdp-rdp",
        extra: &[],
        status: "degraded",
        finding: Some("rdp-security-only"),
        ids: &[
            "encryption-level-low",
            "nla-not-enforced",
            "rdp-security-only",
            "tls-not-allowed",
        ],
        exit: 1,
    },
    Case {
        server: "closed",
        extra: &[],
        status: "unreachable",
        finding: Some("port-closed"),
        ids: &["port-closed"],
        exit: 1,
    },
    Case {
        server: "standin-accept-close",
        extra: &[],
        status: "broken",
        finding: Some("closed-without-reply"),
        ids: &["closed-without-reply"],
        exit: 1,
    },
    Case {
        server: "standin-silent",
        extra: &["--timeout", "1"],
        status: "broken",
        finding: Some("no-reply"),
        ids: &["no-reply"],
        exit: 1,
    },
    Case {
        server: "standin-negfailure",
        extra: &[],
        status: "broken",
        finding: Some("negotiation-refused"),
        ids: &["negotiation-refused"],
        exit: 1,
    },
    Case {
        server: "standin-cert-not-on-server",
        extra: &[],
        status: "broken",
        finding: Some("cert-not-on-server"),
        ids: &["cert-not-on-server"],
        exit: 1,
    },
    Case {
        server: "standin-legacy",
        extra: &[],
        status: "degraded",
        finding: Some("legacy-negotiation"),
        ids: &[
            "encryption-level-low",
            "legacy-negotiation",
            "rdp-security-only",
            "weak-server-key",
        ],
        exit: 1,
    },
    Case {
        server: "standin-garbage",
        extra: &[],
        status: "broken",
        finding: Some("not-rdp"),
        ids: &["not-rdp"],
        exit: 1,
    },
    Case {
        server: "standin-reset",
        extra: &[],
        status: "broken",
        finding: Some("connection-reset"),
        ids: &["connection-reset"],
        exit: 1,
    },
    Case {
        server: "standin-flood",
        extra: &["--timeout", "2"],
        status: "broken",
        finding: Some("not-rdp"),
        ids: &["not-rdp"],
        exit: 1,
    },
    Case {
        server: "standin-midrecord",
        extra: &[],
        status: "broken",
        finding: Some("closed-without-reply"),
        ids: &["closed-without-reply"],
        exit: 1,
    },
];

#[test]
fn every_lab_server_gets_its_verdict() {
    let lab = Lab::get();
    let mut failures = Vec::new();
    for c in CASES {
        let addr = lab.addr(c.server);
        let mut args = vec!["check", addr.as_str(), "--json"];
        args.extend_from_slice(c.extra);
        let (code, v) = run_json(&args);
        let want_ids: Vec<String> = c.ids.iter().map(|s| s.to_string()).collect();
        let got = (
            v["verdict"]["status"].as_str().unwrap_or("?").to_string(),
            v["verdict"]["finding"].as_str().map(str::to_string),
            ids(&v),
            code,
        );
        let want = (
            c.status.to_string(),
            c.finding.map(str::to_string),
            want_ids,
            c.exit,
        );
        if got != want {
            failures.push(format!(
                "{} {:?}: got {got:?}, want {want:?}",
                c.server, c.extra
            ));
        }
        // The JSON contract: schema, target, verdict, findings, facts, observations.
        assert_eq!(v["target"].as_str(), Some(addr.as_str()), "{}", c.server);
        assert!(v["observations"]["schema"].is_string(), "{}", c.server);
        for f in v["findings"].as_array().into_iter().flatten() {
            assert!(matches!(
                f["severity"].as_str(),
                Some("blocking" | "warning" | "info")
            ));
            assert!(
                f["evidence"].as_array().is_some_and(|e| !e.is_empty()),
                "{} {} has no evidence",
                c.server,
                f["id"]
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn evidence_names_what_answered() {
    let lab = Lab::get();
    let (_, v) = run_json(&["check", &lab.addr("standin-garbage"), "--json"]);
    let text = v["findings"][0]["evidence"].to_string();
    assert!(text.contains("SSH-2.0-OpenSSH"), "{text}");
    assert!(text.contains("an SSH server"), "{text}");

    let (_, v) = run_json(&["check", &lab.addr("xrdp-expired"), "--json"]);
    let cert = &v["facts"]["certificate"];
    assert!(cert["days_left"].as_i64().is_some_and(|d| d < 0), "{cert}");
    assert_eq!(cert["names"][0], "DNS:localhost");
    let tls = &v["observations"]["tls"]["attempts"];
    // xrdp refuses TLS 1.0/1.1 with alert 70 protocol_version and completes 1.2 and 1.3.
    assert_eq!(tls[0]["outcome"]["kind"], "alert-received", "{tls}");
    assert_eq!(tls[0]["outcome"]["alert"], 70, "{tls}");
    assert_eq!(tls[2]["outcome"]["kind"], "completed", "{tls}");
    assert_eq!(tls[3]["outcome"]["kind"], "completed", "{tls}");
}

#[test]
fn healthy_server_in_words_and_exit_zero() {
    let lab = Lab::get();
    let out = run(&["check", &lab.addr("freerdp-nla")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(": HEALTHY"), "{text}");
    assert!(text.contains("connects with HYBRID over TLS 1.3"), "{text}");
    assert!(text.contains("SHA-1 "), "{text}");
}

#[test]
fn broken_server_report_names_cause_evidence_client_error_and_fixes() {
    let lab = Lab::get();
    // Broken for a client that refuses servers it cannot authenticate.
    let out = run(&["check", &lab.addr("xrdp-expired"), "--client", "hardened"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    for want in [
        ": BROKEN",
        "Broken at the certificate step",
        "Cause [cert-expired]",
        "Evidence:",
        "days ago",
        "A Windows client would likely show",
        "error code 0x1B07 (SSL_ERR_CERT_EXPIRED)",
        "Fixes, least invasive first:",
        "1. ",
        r#"Remove-Item "Cert:\LocalMachine\Remote Desktop\"#,
        "Restart-Service SessionEnv",
        "Restart-Service TermService",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(
        !text
            .to_lowercase()
            .contains("userauthentication /t reg_dword /d 0"),
        "{text}"
    );
}

#[test]
fn a_name_resolving_to_several_addresses_is_probed_like_a_client_would() {
    let lab = Lab::get();
    let target = format!("localhost:{}", lab.port("xrdp-negotiate"));
    let (code, v) = run_json(&["check", &target, "--json"]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"]["finding"], "nla-not-enforced", "{v}");
    let addresses = v["facts"]["addresses"].to_string();
    assert!(addresses.contains("127.0.0.1"), "{addresses}");
    // The certificate names localhost, so probing by that name is no mismatch.
    assert!(!ids(&v).contains(&"cert-name-mismatch".to_string()));
}

#[test]
fn saved_observations_replay_to_the_same_diagnosis() {
    let lab = Lab::get();
    let dir = std::env::temp_dir().join(format!("rdpdoctor-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("obs.json");
    let file = file.to_str().expect("utf-8 path");
    let (code, live) = run_json(&[
        "check",
        &lab.addr("xrdp-tls10-only"),
        "--json",
        "--save",
        file,
    ]);
    let (code2, replay) = run_json(&["diagnose", file, "--json"]);
    assert_eq!((code, code2), (1, 1));
    assert_eq!(live["verdict"], replay["verdict"]);
    assert_eq!(ids(&live), ids(&replay));
    // Same document, other client: the verdict follows the client profile.
    let (_, hardened) = run_json(&["diagnose", file, "--json", "--client", "hardened"]);
    assert_eq!(hardened["verdict"]["status"], "broken");
    let _ = std::fs::remove_dir_all(&dir);
}
