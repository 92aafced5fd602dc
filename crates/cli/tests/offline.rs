//! `logs`, `host` and `diagnose` with offline evidence, through the real binary and `--json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn sample(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/data/evtx")
        .join(name);
    assert!(p.is_file(), "sample {} is missing", p.display());
    p.display().to_string()
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("cannot run rdpdoctor: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    fn verdict(&self) -> (&str, Option<&str>) {
        (
            self.json["verdict"]["status"].as_str().unwrap_or("?"),
            self.json["verdict"]["finding"].as_str(),
        )
    }

    fn finding(&self, id: &str) -> &Value {
        self.json["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == id))
            .unwrap_or_else(|| panic!("no finding {id} in {}", self.json["findings"]))
    }

    fn has(&self, id: &str) -> bool {
        self.json["findings"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f["id"] == id))
    }

    fn evidence(&self, id: &str) -> String {
        self.finding(id)["evidence"].to_string()
    }

    fn severity(&self, id: &str) -> &str {
        self.finding(id)["severity"].as_str().unwrap_or("?")
    }
}

#[test]
fn account_restriction_from_4625_status() {
    let r = run(&[
        "logs",
        &sample("mdecrevoisier__4625_LT10_account_restriction.evtx"),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.verdict(), ("broken", Some("account-restricted")));
    let ev = r.evidence("account-restricted");
    assert!(
        ev.contains("4625") && ev.contains("0xC000006E") && ev.contains("10.23.23.9"),
        "{ev}"
    );
}

#[test]
fn bad_password_substatus_and_firewall_drop() {
    let r = run(&[
        "logs",
        &sample("omerbenamram__Security_short_selected.evtx"),
    ]);
    assert_eq!(r.code, 1);
    let ev = r.evidence("logon-failure");
    assert!(ev.contains("0xC000006A"), "{ev}");
    let ev = r.evidence("firewall-drop");
    assert!(ev.contains("5152") && ev.contains("port 3389"), "{ev}");
    // Two seconds later a LogonType 10 logon from the same client reached winlogon, so the drop
    // did not block RDP: a warning, and the failed logon explains the state better.
    assert!(ev.contains("a later connection got through"), "{ev}");
    assert_eq!(r.verdict(), ("degraded", Some("logon-failure")));
}

#[test]
fn denied_rdp_4825_is_a_missing_logon_right() {
    let r = run(&["logs", &sample("mdecrevoisier__4825_denied_rdp.evtx")]);
    assert_eq!(r.verdict(), ("broken", Some("logon-right-missing")));
    assert!(r.evidence("logon-right-missing").contains("4825"));
}

#[test]
fn successful_logons_are_healthy_with_a_timeline() {
    let r = run(&["logs", &sample("mdecrevoisier__1149_rdp_success.evtx")]);
    assert_eq!(r.code, 0);
    assert_eq!(r.verdict().0, "healthy");
    let tl = r.json["facts"]["timeline"].to_string();
    assert!(
        tl.contains("1149") && tl.contains("user authentication succeeded"),
        "{tl}"
    );
    let r = run(&["logs", &sample("omerbenamram__System_vss7_rcm1056.evtx")]);
    assert_eq!(r.code, 0);
    assert!(r.json["facts"]["timeline"]
        .to_string()
        .contains("self-signed certificate"));
}

/// A session's lifecycle from LocalSessionManager and the Security log (the project's own event
/// XML): a healthy timeline that names user, session and client address in connection order.
#[test]
fn a_session_lifecycle_is_a_healthy_timeline() {
    let r = run(&[
        "logs",
        &fixture("lsm-session.xml"),
        &fixture("security-rdp-sessions.xml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.verdict().0, "healthy");
    let lines: Vec<String> = r.json["facts"]["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or("").to_string())
        .collect();
    let expect = [
        "allowed a connection inbound from 10.20.30.41:52114 to port 3389",
        "logon of CORP\\mrivera (LogonType 10) from 10.20.30.41",
        "session logon succeeded: CORP\\mrivera, session 7, from 10.20.30.41",
        "session disconnected, session 7, reason 12",
        "session disconnected: mrivera from 10.20.30.41",
        "session reconnected: mrivera from 10.20.30.41",
        "session reconnected: CORP\\mrivera, session 7, from 10.20.30.58",
        "session logoff: CORP\\mrivera, session 7",
    ];
    let mut at = 0;
    for want in expect {
        let found = lines[at..].iter().position(|l| l.contains(want));
        let Some(i) = found else {
            panic!("{want:?} missing (or out of order) in {lines:#?}")
        };
        at += i + 1;
    }
    // The NLA network logon (LogonType 3) and the SMB connection (port 445) are not RDP.
    assert!(!lines
        .iter()
        .any(|l| l.contains("LogonType 3") || l.contains("port 445")));
}

#[test]
fn damaged_files_read_partially_with_an_error_count() {
    for name in [
        "omerbenamram__RdpCoreTS-Operational_vss-dirty.evtx",
        "omerbenamram__RemoteConnectionManager-Operational_vss-dirty.evtx",
    ] {
        let r = run(&["logs", &sample(name)]);
        assert_ne!(r.code, 2, "{name}: {}", r.stderr);
        let files = r.json["facts"]["evidence_files"].to_string();
        assert!(files.contains("could not be parsed"), "{name}: {files}");
        let src = &r.json["observations"]["evidence"]["sources"][0];
        assert!(src["errors"].as_u64().unwrap_or(0) > 0, "{name}");
        assert!(src["records"].as_u64().unwrap_or(0) > 1000, "{name}");
    }
}

#[test]
fn termdd_56_is_a_security_layer_error() {
    let r = run(&["logs", &sample("python-evtx__system_termdd.evtx")]);
    let ev = r.evidence("security-layer-error");
    assert!(ev.contains("TermDD 56") && ev.contains("10.3.16.5"), "{ev}");
}

#[test]
fn machinekeys_fixture_with_client_log() {
    let r = run(&[
        "logs",
        &fixture("system-machinekeys.xml"),
        &fixture("rdpclient.xml"),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.verdict(),
        ("broken", Some("cert-private-key-inaccessible"))
    );
    let ev = r.evidence("cert-private-key-inaccessible");
    assert!(
        ev.contains("36870") && ev.contains("0x8009030D") && ev.contains("2026-11-20 08:14:03"),
        "{ev}"
    );
    assert!(
        ev.contains("1057") && ev.contains("Keyset does not exist"),
        "{ev}"
    );
    assert_eq!(r.severity("cert-renewal-failed"), "blocking");
    assert!(r.evidence("cert-renewal-failed").contains("1058"));
    // 1026 Value 2308 decoded through the shared code tables.
    let name = rdpdoctor_codes::lookup(rdpdoctor_codes::Family::Disconnect, 2308)
        .map(|e| e.name)
        .unwrap_or("?");
    let ev = r.evidence("client-disconnect-code");
    assert!(
        ev.contains("0x904") && ev.contains(name) && ev.contains("rds01.corp.example"),
        "{ev}"
    );
    // Client attempts joined by ActivityID: one timeline line per attempt.
    let tl = r.json["facts"]["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let attempts: Vec<&Value> = tl.iter().filter(|t| t["side"] == "client").collect();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0]["event"]
        .as_str()
        .unwrap_or("")
        .contains("1024→1026"));
}

#[test]
fn schannel_tls_disabled_fixture() {
    let r = run(&["logs", &fixture("schannel-tls-disabled.xml")]);
    let ev = r.evidence("tls-disabled-in-schannel");
    assert!(
        ev.contains("36871") && ev.contains("10013") && ev.contains("36874"),
        "{ev}"
    );
    assert!(r.evidence("tls-alert-sent").contains("70 protocol_version"));
    assert!(r.has("tls-alert-received"));
}

#[test]
fn not_an_event_log_exits_2_with_one_line() {
    let r = run(&["logs", &fixture("not-a-log.txt")]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not-a-log.txt") && r.stderr.contains("not an event log"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1);
    let r = run(&["logs", "/nonexistent/System.evtx"]);
    assert_eq!(r.code, 2);
    let r = run(&["host", &fixture("rdpclient.xml")]);
    assert_eq!(r.code, 2, "an event log given to host");
}

#[test]
fn healthy_default_registry_has_no_warnings() {
    let r = run(&[
        "host",
        &fixture("ts-default.reg"),
        &fixture("schannel-default.reg"),
        &fixture("credssp-fips-default.reg"),
        &fixture("firewall-default.reg"),
    ]);
    assert_eq!(r.code, 0, "{}", r.json["findings"]);
    assert_eq!(r.verdict(), ("healthy", None));
    let settings = r.json["facts"]["host_settings"].to_string();
    assert!(
        settings.contains("SecurityLayer") && settings.contains("local value"),
        "{settings}"
    );
}

#[test]
fn policy_values_override_local_ones() {
    let r = run(&["host", &fixture("ts-policy-override.reg")]);
    // Local fDenyTSConnections = 1 is overridden by policy 0: RDP is on.
    assert!(!r.has("rdp-disabled"));
    let ev = r.evidence("nla-disabled");
    assert!(
        ev.contains("group policy") && ev.contains("overrides the local value"),
        "{ev}"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn broken_registry_gives_each_cause() {
    let r = run(&[
        "host",
        &fixture("ts-broken-regedit4.reg"),
        &fixture("schannel-tls-disabled.reg"),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.verdict(), ("broken", Some("rdp-disabled")));
    assert_eq!(r.severity("tls-disabled-in-schannel"), "blocking");
    assert_eq!(r.severity("security-layer-rdp"), "warning");
    assert_eq!(r.severity("session-limit"), "warning");
    assert!(r.evidence("port-changed").contains("3390"));
    assert!(r.has("nla-disabled"));
}

#[test]
fn network_and_logs_combine_into_one_verdict() {
    let obs = fixture("obs-tls-fails-everywhere.json");
    let alone = run(&["diagnose", &obs]);
    assert_eq!(alone.verdict(), ("broken", Some("tls-handshake-failed")));
    // Saved observations without evidence keep their shape.
    assert!(alone.json["observations"].get("evidence").is_none());

    let r = run(&["diagnose", &obs, &fixture("system-machinekeys.xml")]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.verdict(),
        ("broken", Some("cert-private-key-inaccessible"))
    );
    assert_eq!(r.json["verdict"]["step"], "tls");
    let ev = r.evidence("cert-private-key-inaccessible");
    assert!(
        ev.contains("Schannel 36870") && ev.contains("0x8009030D"),
        "{ev}"
    );
    assert!(
        ev.contains("tls-handshake-failed (network check)") && ev.contains("TLS 1.2"),
        "{ev}"
    );
    assert!(
        r.has("tls-handshake-failed"),
        "the symptom stays listed for scripts"
    );
    assert_eq!(r.json["target"], "rds01.corp.example:3389");
}

#[test]
fn diagnose_detects_kinds_by_content() {
    // A .reg and an .xml in any order, no observations at all.
    let r = run(&[
        "diagnose",
        &fixture("ts-policy-override.reg"),
        &fixture("damaged.xml"),
    ]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    assert!(r.has("nla-disabled") && r.has("security-layer-error"));
}

// ---- RD Gateway, NTLM and Kerberos events (fixtures written by make_auth_events.py) ----

#[test]
fn gateway_log_names_each_policy_limit_and_reachability_fault() {
    let r = run(&["logs", &fixture("gateway-faults.xml")]);
    assert_eq!(r.code, 1, "{}", r.json["findings"]);
    assert_eq!(r.verdict().0, "broken");
    let policy = r.evidence("gateway-policy-denied");
    // Which policy: the CAP refusal for bob and the RAP refusal for alice's NetBIOS name.
    assert!(
        policy.contains("RD CAP") && policy.contains("CORP\\\\bob"),
        "{policy}"
    );
    assert!(
        policy.contains("RD RAP") && policy.contains("rds02"),
        "{policy}"
    );
    assert_eq!(r.severity("gateway-policy-denied"), "blocking");
    assert!(r.evidence("gateway-busy").contains("203"));
    let target = r.evidence("gateway-target-unreachable");
    assert!(
        target.contains("rds09.corp.example") && target.contains("10060"),
        "{target}"
    );
    assert!(r
        .evidence("gateway-auth-method-unsupported")
        .contains("Basic"));
    // 306 has no finding of its own, but the timeline keeps it.
    assert!(!r.has("gateway-auth-failed"));
    assert!(r.json["facts"]["timeline"]
        .to_string()
        .contains("a tunnel could not be created"));
}

#[test]
fn healthy_gateway_log_stays_quiet_and_a_refusal_fixed_later_is_a_warning() {
    let ok = run(&["logs", &fixture("gateway-healthy.xml")]);
    assert_eq!(ok.code, 0, "{}", ok.json["findings"]);
    assert_eq!(ok.verdict(), ("healthy", None));
    let later = run(&["logs", &fixture("gateway-intermittent.xml")]);
    assert_eq!(later.severity("gateway-policy-denied"), "warning");
    assert!(later
        .evidence("gateway-policy-denied")
        .contains("a later attempt got through"));
}

#[test]
fn ntlm_block_is_ntlm_blocked_and_an_audit_is_only_kerberos_not_used() {
    let r = run(&["logs", &fixture("ntlm-server-blocked.xml")]);
    assert_eq!(r.verdict(), ("broken", Some("ntlm-blocked")));
    let ev = r.evidence("ntlm-blocked");
    assert!(ev.contains("4002") && ev.contains("CORP\\\\alice"), "{ev}");
    let audit = run(&["logs", &fixture("ntlm-audit-only.xml")]);
    assert!(!audit.has("ntlm-blocked"), "{}", audit.json["findings"]);
    assert_eq!(audit.severity("kerberos-not-used"), "info");
    assert!(audit
        .evidence("kerberos-not-used")
        .contains("TERMSRV/198.18.3.10"));
    assert_eq!(audit.code, 0);
}

#[test]
fn dc_kerberos_failure_codes_become_their_findings() {
    let r = run(&["logs", &fixture("dc-kerberos-faults.xml")]);
    assert_eq!(r.verdict().0, "broken");
    for (id, code, severity) in [
        ("kerberos-clock-skew", "0x25 KRB_AP_ERR_SKEW", "blocking"),
        (
            "kerberos-preauth-failed",
            "0x18 KDC_ERR_PREAUTH_FAILED",
            "warning",
        ),
        (
            "kerberos-etype-unsupported",
            "0xE KDC_ERR_ETYPE_NOSUPP",
            "blocking",
        ),
        (
            "kerberos-spn-missing",
            "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN",
            "warning",
        ),
    ] {
        assert!(r.evidence(id).contains(code), "{id}: {}", r.evidence(id));
        assert_eq!(r.severity(id), severity, "{id}");
    }
    // The service name and the client address come with it; a 0x7 for cifs/ is not ours.
    let spn = r.evidence("kerberos-spn-missing");
    assert!(
        spn.contains("TERMSRV/198.18.3.10") && spn.contains("198.18.0.22"),
        "{spn}"
    );
    assert!(!spn.contains("cifs/"), "{spn}");
}

#[test]
fn healthy_dc_kerberos_log_stays_quiet() {
    let r = run(&["logs", &fixture("dc-kerberos-healthy.xml")]);
    assert_eq!(r.code, 0, "{}", r.json["findings"]);
    assert_eq!(r.verdict(), ("healthy", None));
}

// ---- NTLM and Kerberos policy values (fixtures written by make_auth_reg.py) ----

#[test]
fn ntlm_and_kerberos_policy_values_explain_refused_logons() {
    let r = run(&["host", &fixture("auth-ntlm-refused-rc4-only.reg")]);
    assert_eq!(r.verdict().0, "degraded", "{}", r.json["findings"]);
    let ntlm = r.evidence("ntlm-blocked");
    assert!(
        ntlm.contains("RestrictReceivingNTLMTraffic") && ntlm.contains("deny all incoming NTLM"),
        "{ntlm}"
    );
    // Audit mode (RestrictSendingNTLMTraffic = 1) restricts nothing.
    assert!(!ntlm.contains("RestrictSendingNTLMTraffic"), "{ntlm}");
    let etype = r.evidence("kerberos-etype-unsupported");
    assert!(
        etype.contains("RC4-HMAC") && etype.contains("no AES"),
        "{etype}"
    );
    let settings = r.json["facts"]["host_settings"].to_string();
    assert!(settings.contains("audit all outgoing NTLM"), "{settings}");
    let dc = run(&["host", &fixture("dc-restrict-ntlm.reg")]);
    assert!(dc
        .evidence("ntlm-blocked")
        .contains("deny all NTLM in the domain"));
}

#[test]
fn hardened_but_working_auth_policy_stays_quiet_and_keeps_no_lsa_subkeys() {
    let r = run(&["host", &fixture("auth-default.reg")]);
    assert_eq!(r.code, 0, "{}", r.json["findings"]);
    assert_eq!(r.verdict(), ("healthy", None));
    let settings = r.json["facts"]["host_settings"].to_string();
    assert!(
        settings.contains("LmCompatibilityLevel") && settings.contains("AES256"),
        "{settings}"
    );
    // The Lsa key's own values are read; its subkeys (boot-key material) are not kept.
    let files = r.json["facts"]["evidence_files"].to_string();
    assert!(files.contains("9 values read, 8 RDP-relevant"), "{files}");
}
