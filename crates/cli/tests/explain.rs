//! Runs the real `rdpdoctor explain` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdpdoctor"))
        .arg("explain")
        .args(args)
        .output()
        .expect("the rdpdoctor binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run(&all);
    let v = serde_json::from_slice(&o.stdout).expect("valid JSON on stdout");
    (o.status.code(), v)
}

#[test]
fn pair_0x904_0x7_text() {
    let o = run(&["0x904", "0x7"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "disconnectReasonAtClientWinsockFDCLOSE",
        "exDiscReasonServerDeniedConnection",
        "ERRINFO_SERVER_DENIED_CONNECTION",
        "Which step failed",
        "Known causes, ranked",
        "cert-expired",
        "tls-handshake-failed",
        "server-denied-connection",
        "Schannel 36870",
        "$ rdpdoctor check HOST",
        "Popular explanations that do not fit",
        "Inference",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn pair_0x904_0x7_json() {
    let (code, v) = json(&["0x904", "0x7"]);
    assert_eq!(code, Some(0));
    let codes = v["codes"].as_array().expect("codes array");
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0]["input"], "0x904");
    assert_eq!(codes[0]["family"], "disconnect");
    assert_eq!(codes[0]["value"], 0x904);
    assert_eq!(codes[0]["name"], "disconnectReasonAtClientWinsockFDCLOSE");
    assert_eq!(codes[1]["family"], "extended");
    assert_eq!(codes[1]["value"], 7);
    assert_eq!(codes[1]["name"], "exDiscReasonServerDeniedConnection");
    for c in codes {
        assert!(c["meaning"].is_string());
        let causes = c["causes"].as_array().expect("causes");
        assert!(!causes.is_empty());
        assert!(!c["checks"].as_array().expect("checks").is_empty());
        let findings: Vec<&str> = causes
            .iter()
            .flat_map(|k| k["findings"].as_array().into_iter().flatten())
            .filter_map(|f| f.as_str())
            .collect();
        for f in [
            "cert-expired",
            "tls-handshake-failed",
            "server-denied-connection",
        ] {
            assert!(findings.contains(&f), "{f} not linked: {findings:?}");
        }
        for k in causes {
            assert!(k["rank"].is_u64() && k["confidence"].is_string() && k["evidence"].is_array());
        }
    }
    let it = &v["interpretations"][0];
    assert_eq!(it["id"], "socket-closed-server-denied");
    assert!(!it["does_not_fit"].as_array().expect("list").is_empty());
    assert!(it["step"]["inference"].is_string());
}

#[test]
fn decimal_2308() {
    let (code, v) = json(&["2308"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["codes"][0]["family"], "disconnect");
    assert_eq!(
        v["codes"][0]["name"],
        "disconnectReasonAtClientWinsockFDCLOSE"
    );
    assert!(!v["codes"][0]["causes"]
        .as_array()
        .expect("causes")
        .is_empty());
}

#[test]
fn as_errinfo_7() {
    let (code, v) = json(&["--as", "errinfo", "0x7"]);
    assert_eq!(code, Some(0));
    let codes = v["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0]["family"], "errinfo");
    assert_eq!(codes[0]["name"], "ERRINFO_SERVER_DENIED_CONNECTION");
    let text = stdout(&run(&["--as", "errinfo", "0x7"]));
    assert!(text.contains("MS-RDPBCGR 2.2.5.1.1"), "{text}");
}

#[test]
fn one_number_lists_every_family() {
    let (code, v) = json(&["0x7"]);
    assert_eq!(code, Some(0));
    let fams: Vec<&str> = v["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c["family"].as_str())
        .collect();
    assert_eq!(fams.first(), Some(&"extended"), "{fams:?}");
    assert!(
        fams.contains(&"errinfo") && fams.contains(&"freerdp"),
        "{fams:?}"
    );
}

#[test]
fn symbolic_status_logon_failure() {
    let (code, v) = json(&["STATUS_LOGON_FAILURE"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["codes"][0]["family"], "ntstatus");
    assert_eq!(v["codes"][0]["value"], 0xC000_006Du32);
    let checks = v["codes"][0]["checks"].to_string();
    assert!(checks.contains("logon-failure"), "{checks}");
}

#[test]
fn ntstatus_0xc000015b() {
    let o = run(&["0xC000015B"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("STATUS_LOGON_TYPE_NOT_GRANTED"), "{out}");
    assert!(out.contains("logon-right-missing"), "{out}");
    assert!(out.contains("4625"), "{out}");
}

#[test]
fn freerdp_alias() {
    let (code, v) = json(&["ERRINFO_UNKNOWN_DATA_PDU_TYPE"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["codes"][0]["name"], "ERRINFO_UNKNOWNPDUTYPE2");
}

#[test]
fn unknown_code_exit_1_with_range() {
    let o = run(&["--as", "disconnect", "0x1234"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("undocumented"), "{out}");
    let (code, v) = json(&["0x1234"]);
    assert_eq!(code, Some(1));
    let range = v["codes"][0]["unknown"]["range"].to_string();
    assert!(range.contains("exDiscReasonProtocolRange"), "{range}");
    assert!(v["codes"][0]["name"].is_null());
}

#[test]
fn undocumented_event_1026_code_exit_1() {
    let (code, v) = json(&["2311"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["codes"][0]["family"], "disconnect");
    assert!(v["codes"][0]["name"].is_null());
    assert_eq!(v["codes"][0]["documented"], false);
}

#[test]
fn bad_input_exit_2_without_panic() {
    for args in [
        vec!["banana"],
        vec!["0x"],
        vec![""],
        vec![],
        vec!["99999999999999999999"],
        vec!["0xZZ"],
        vec!["--as", "nonsense", "0x7"],
        vec!["--as", "ntstatus", "ERRINFO_SERVER_DENIED_CONNECTION"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one line expected: {err}"
        );
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

/// The "Documented:" block quotes Microsoft and keeps inference out.
#[test]
fn documented_lines_quote_the_source_and_hold_no_inference() {
    let out = stdout(&run(&["0x904"]));
    let documented: String = out
        .split("  Documented:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n  Inference:").next())
        .unwrap_or_else(|| panic!("no Documented block: {out}"))
        .to_string();
    assert!(documented.contains("\"Socket closed.\""), "{documented}");
    assert!(
        documented.contains("IMsTscAxEvents::OnDisconnected"),
        "{documented}"
    );
    assert!(!documented.contains("other side"), "{documented}");
}

/// RDP_NEG_FAILURE defines 1–6; 7 is shown raw, without a borrowed name.
#[test]
fn neg_failure_7_is_raw_and_undocumented() {
    let o = run(&["--as", "neg-failure", "7"]);
    let out = stdout(&o);
    assert!(!out.contains("ENTRA") && !out.contains("IronRDP"), "{out}");
    assert!(out.contains("1–6"), "{out}");
}

/// A range sentence names the range the value is in, or says it is in none.
#[test]
fn errinfo_outside_every_block_says_so() {
    for v in ["0x2407", "0x1200", "0x5000"] {
        let out = stdout(&run(&["--as", "errinfo", v]));
        assert!(out.contains("outside every block"), "{v}: {out}");
        assert!(!out.contains("lies in the RDP"), "{v}: {out}");
    }
}

// ---- RD Gateway, Kerberos and NTLM codes (issues 24 and 25) ----

#[test]
fn gateway_client_codes_decode_with_their_findings() {
    for (input, name, finding) in [
        (
            "0x300001B",
            "RDG_RESOURCE_NOT_AUTHORIZED",
            "gateway-policy-denied",
        ),
        (
            "50331675",
            "RDG_RESOURCE_NOT_AUTHORIZED",
            "gateway-policy-denied",
        ),
        (
            "0x300000D",
            "RDG_TEMPORARILY_UNAVAILABLE",
            "gateway-unreachable",
        ),
        ("0x3000022", "RDG_MAX_CONNECTIONS", "gateway-busy"),
    ] {
        let (code, v) = json(&[input]);
        assert_eq!(code, Some(0), "{input}: {v}");
        assert_eq!(v["codes"][0]["family"], "gateway", "{input}");
        assert_eq!(v["codes"][0]["name"], name, "{input}");
        assert!(
            v["codes"][0]["findings"].to_string().contains(finding),
            "{input}: {v}"
        );
    }
    let o = run(&["0x3000008"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("RDG_REMOTE_ERROR") && out.contains("rdpdoctor's label"),
        "{out}"
    );
    assert!(!out.contains("not in rdpdoctor's code tables"), "{out}");
}

#[test]
fn gateway_hresults_decode_in_both_forms_with_sources() {
    for (input, name, finding) in [
        (
            "0x800759DA",
            "E_PROXY_RAP_ACCESSDENIED",
            "gateway-policy-denied",
        ),
        (
            "0x800759DB",
            "E_PROXY_NAP_ACCESSDENIED",
            "gateway-policy-denied",
        ),
        (
            "0x800759DD",
            "E_PROXY_TS_CONNECTFAILED",
            "gateway-target-unreachable",
        ),
        (
            "0x59DD",
            "E_PROXY_TS_CONNECTFAILED",
            "gateway-target-unreachable",
        ),
        (
            "0x800759E6",
            "E_PROXY_MAXCONNECTIONSREACHED",
            "gateway-busy",
        ),
        (
            "0x800759F9",
            "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD",
            "gateway-auth-method-unsupported",
        ),
    ] {
        let (code, v) = json(&[input]);
        assert_eq!(code, Some(0), "{input}: {v}");
        assert_eq!(v["codes"][0]["family"], "tsgu", "{input}");
        assert_eq!(v["codes"][0]["name"], name, "{input}");
        assert!(v["codes"][0]["source"]
            .as_str()
            .unwrap_or("")
            .contains("MS-TSGU"));
        assert!(
            v["codes"][0]["findings"].to_string().contains(finding),
            "{input}: {v}"
        );
    }
    let (code, v) = json(&["--as", "tsgu", "0x800759EE"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["codes"][0]["name"], "E_PROXY_NOCERTAVAILABLE");
}

#[test]
fn kerberos_errors_by_name_and_by_number() {
    for (args, name, finding) in [
        (
            &["KRB_AP_ERR_SKEW"][..],
            "KRB_AP_ERR_SKEW",
            "kerberos-clock-skew",
        ),
        (
            &["KDC_ERR_S_PRINCIPAL_UNKNOWN"][..],
            "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            "kerberos-spn-missing",
        ),
        (
            &["0x25", "--as", "kerberos"][..],
            "KRB_AP_ERR_SKEW",
            "kerberos-clock-skew",
        ),
        (
            &["--as", "krb", "0x18"][..],
            "KDC_ERR_PREAUTH_FAILED",
            "kerberos-preauth-failed",
        ),
        (
            &["KRB5KDC_ERR_ETYPE_NOSUPP"][..],
            "KDC_ERR_ETYPE_NOSUPP",
            "kerberos-etype-unsupported",
        ),
    ] {
        let (code, v) = json(args);
        assert_eq!(code, Some(0), "{args:?}: {v}");
        assert_eq!(
            v["codes"].as_array().map(Vec::len),
            Some(1),
            "{args:?}: {v}"
        );
        assert_eq!(v["codes"][0]["family"], "kerberos");
        assert_eq!(v["codes"][0]["name"], name, "{args:?}");
        assert!(
            v["codes"][0]["findings"].to_string().contains(finding),
            "{args:?}: {v}"
        );
    }
    let o = run(&["KDC_ERR_S_PRINCIPAL_UNKNOWN"]);
    let out = stdout(&o);
    assert!(out.contains("TERMSRV") && out.contains("RFC 4120"), "{out}");
}

#[test]
fn ntlm_blocked_codes_point_at_ntlm_blocked() {
    for input in ["0xC0000418", "1937", "ERROR_NTLM_BLOCKED", "0x80070791"] {
        let (code, v) = json(&[input]);
        assert_eq!(code, Some(0), "{input}: {v}");
        assert!(
            v["codes"][0]["findings"]
                .to_string()
                .contains("ntlm-blocked"),
            "{input}: {v}"
        );
    }
    let o = run(&["0xC0000418"]);
    let out = stdout(&o);
    assert!(
        out.contains("STATUS_NTLM_BLOCKED") && out.contains("4002"),
        "{out}"
    );
}
