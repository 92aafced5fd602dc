//! `check --user` logs on the way a domain client does, against the Kerberos lab
//! (lab/kerberos/start.sh): the real binary runs in the lab's client (or VPN) namespace, gets its
//! tickets from the real Samba KDC and logs on to the CredSSP session-host stand-in
//! (lab/kerberos/credssp_host.py, proven with rdesktop's GSSAPI Kerberos in kerberos_lab.rs),
//! whose event log says which package it saw and whether pubKeyAuth verified. Kerberos by name;
//! NTLM, with the reason, by address, by an alias without SPN, with the KDC unreachable and with
//! a skewed clock; no logon where Negotiate does not fall back (wrong password, RC4-only
//! account); `ntlm-blocked` where the server refuses the NTLM fall-back; the KDC proxy from the
//! VPN; and a hostile host (a test-owned script in the lab's server namespace) whose answers to
//! the AP-REQ are malformed, never a panic or a delegation.
//!
//! Cost: about 17 s (the VPN case waits for its 2 s deadlines; the checks run one at a time so
//! each reads only its own events).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod krblab;
mod remembered;

use krblab::{in_ns, How, KrbLab};
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One check at a time: each reads only the stand-in events its own logon caused.
static SERIAL: Mutex<()> = Mutex::new(());

/// The running lab, and this test's turn.
fn lab() -> (KrbLab, MutexGuard<'static, ()>) {
    let turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    (KrbLab::get(), turn)
}

struct Logon {
    /// rdpdoctor's exit status (0 healthy, 1 findings, 2 usage or input error).
    code: i32,
    json: Value,
    /// The stand-in's events during the check.
    events: Vec<Value>,
}

impl Logon {
    fn logon(&self) -> &Value {
        let l = &self.json["observations"]["logon"];
        assert!(l.is_object(), "no observations.logon in {:#}", self.json);
        l
    }

    /// (package, reason) of the logon.
    fn package(&self) -> (String, String) {
        let l = self.logon();
        (
            l["package"].as_str().unwrap_or_default().to_string(),
            l["choice"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// Asserts the logon's package and reason.
    fn expect(&self, package: &str, reason: &str) {
        assert_eq!(
            self.package(),
            (package.to_string(), reason.to_string()),
            "{:#}",
            self.logon()
        );
    }

    fn outcome(&self) -> String {
        self.logon()["outcome"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn ids(&self) -> Vec<String> {
        common::ids(&self.json)
    }

    /// The stand-in's events of the logon: a package was seen (not the credential-less probe,
    /// whose NTLM NEGOTIATE gets no further).
    fn logons(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| !e["package"].is_null())
            .collect()
    }
}

fn host(lab: &KrbLab, mode: &str) -> (String, String) {
    let h = lab.doc["session_hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|h| h["mode"] == mode))
        .unwrap_or_else(|| panic!("no session host in mode {mode}"));
    (
        h["port"].to_string(),
        h["events"].as_str().expect("events").to_string(),
    )
}

fn events_since(file: &str, offset: usize) -> Vec<Value> {
    // The stand-in writes an event when its connection ends, which may be just after the check.
    std::thread::sleep(Duration::from_millis(300));
    let text = std::fs::read_to_string(file).expect("stand-in events");
    text.get(offset..)
        .unwrap_or("")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// `check TARGET:PORT --user USER ARGS --json` in namespace WHICH against the stand-in in MODE.
fn logon(
    lab: &KrbLab,
    which: &str,
    how: How<'_>,
    (target, mode): (&str, &str),
    user: &str,
    password: &str,
    args: &[&str],
) -> Logon {
    let (port, events) = host(lab, mode);
    let offset = std::fs::metadata(&events).map(|m| m.len()).unwrap_or(0) as usize;
    let target = format!("{target}:{port}");
    let mut all = vec![target.as_str(), "--user", user];
    all.extend_from_slice(args);
    let started = Instant::now();
    let c = remembered::run_check(in_ns(lab, which, how), &all, Some(password));
    eprintln!("check {all:?}: {:?}", started.elapsed());
    Logon {
        code: c.code,
        json: c.json,
        events: events_since(&events, offset),
    }
}

/// `logon` from the client namespace, without more arguments.
fn plain(lab: &KrbLab, at: (&str, &str), user: &str, password: &str) -> Logon {
    logon(lab, "client", How::default(), at, user, password, &[])
}

fn password(lab: &KrbLab, account: &str) -> String {
    lab.s(&format!("/accounts/{account}/password"))
}

/// By name, the logon is Kerberos (SPNEGO with the AP-REQ, as mstsc sends it), its tickets from
/// the lab's KDC through the recorded KDC client; the stand-in saw Kerberos for kuser@LAB.TEST
/// and verified pubKeyAuth, and this client verified the stand-in's. No finding accuses anything.
#[test]
fn by_name_the_logon_is_kerberos_and_the_stand_in_verifies_pubkeyauth() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    for user in ["LAB\\kuser", "kuser@LAB.TEST"] {
        let l = plain(&lab, ("rdp-k.lab.test", "normal"), user, &pw);
        l.expect("Kerberos", "ticket-issued");
        assert_eq!(l.outcome(), "accepted", "{:#}", l.logon());
        assert_eq!(l.logon()["delegated"], false);
        let reason = l.logon()["package_reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("ticket for TERMSRV/rdp-k.lab.test"),
            "{reason}"
        );
        // The AS and TGS exchanges of the logon, through the recorded client.
        let kdc: Vec<String> = l.logon()["kdc_exchanges"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["outcome"]["message"].as_str().unwrap_or("error").into())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            kdc.contains(&"AS-REP".to_string()) && kdc.contains(&"TGS-REP".to_string()),
            "{kdc:?}"
        );
        let seen = l.logons();
        let ev = seen
            .first()
            .unwrap_or_else(|| panic!("the stand-in saw no logon: {:?}", l.events));
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(ev["package"], "kerberos", "{ev}");
        assert_eq!(ev["client_principal"], "kuser@LAB.TEST", "{ev}");
        assert_eq!(ev["pubkeyauth"], "verified", "{ev}");
        // Nothing delegated without --full.
        assert!(ev["credentials"].is_null(), "{ev}");
        let ids = l.ids();
        assert!(
            !ids.iter()
                .any(|i| i.starts_with("ntlm-") || i == "credentials-rejected"),
            "{ids:?}"
        );
        assert!(!ids.contains(&"kerberos-not-used".to_string()), "{ids:?}");
    }
}

/// From the VPN, where port 88 is dropped, the KDC proxy (MS-KKDCP over HTTPS, its certificate
/// verified against the lab CA) carries the logon's AS and TGS exchanges: Kerberos again, and the
/// proxy's log shows the requests.
#[test]
fn through_the_kdc_proxy_the_vpn_client_logs_on_with_kerberos() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    let proxy = lab.s("/kdc_proxy/url");
    let log = lab.s("/kdc_proxy/log");
    let before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    let with_ca = How {
        ca: true,
        ..How::default()
    };
    let l = logon(
        &lab,
        "vpn",
        with_ca,
        ("rdp-k.lab.test", "normal"),
        "kuser@LAB.TEST",
        &pw,
        &["--kdc-proxy", &proxy, "--timeout", "2"],
    );
    l.expect("Kerberos", "ticket-issued");
    assert_eq!(l.outcome(), "accepted", "{:#}", l.logon());
    let kdcs: Vec<&str> = l.logon()["kdc_exchanges"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["kdc"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !kdcs.is_empty() && kdcs.iter().all(|k| k.starts_with("https://")),
        "{kdcs:?}"
    );
    let after = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(after > before, "the KDC proxy logged no request");
    assert_eq!(
        l.logons().first().map(|e| e["package"].clone()),
        Some("kerberos".into())
    );
}

/// `--full --user` by name delegates over Kerberos once the stand-in proved itself: Kerberos
/// mutual authentication (its AP-REP, which only a holder of TERMSRV/rdp-k.lab.test's key can
/// make) and its pubKeyAuth over this TLS key, as a Windows client takes a Kerberos-authenticated
/// server as proven whatever its certificate. The stand-in decrypts the TSCredentials of LAB's
/// kuser, as typed. A canary password the KDC refuses never reaches the host: no token, no
/// TSCredentials.
#[test]
fn full_by_name_delegates_over_kerberos_only_to_a_proven_host() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    let target = ("rdp-k.lab.test", "normal");
    let full = |password: &str| {
        logon(
            &lab,
            "client",
            How::default(),
            target,
            "LAB\\kuser",
            password,
            &["--full"],
        )
    };
    let l = full(&pw);
    assert_eq!(l.package().0, "Kerberos", "{:#}", l.logon());
    assert_eq!(l.logon()["delegated"], true, "{:#}", l.json["observations"]);
    let ev = l
        .logons()
        .into_iter()
        .find(|e| e["package"] == "kerberos")
        .cloned()
        .unwrap_or_else(|| panic!("no Kerberos logon: {:?}", l.events));
    assert_eq!(ev["pubkeyauth"], "verified", "{ev}");
    // The account as typed (LAB\\kuser), as a Windows client delegates it.
    assert_eq!(ev["credentials"]["user"], "kuser", "{ev}");
    assert_eq!(ev["credentials"]["domain"], "LAB", "{ev}");
    assert_eq!(ev["credentials"]["password_empty"], false, "{ev}");

    let canary = format!("Canary-{}-Pw!", std::process::id());
    let l = full(&canary);
    l.expect("Kerberos", "preauth-failed");
    assert!(
        l.events
            .iter()
            .all(|e| e["credentials"].is_null() && e["package"].is_null()),
        "the canary logon reached the host: {:?}",
        l.events
    );
    assert_ne!(l.logon()["delegated"], true, "{:#}", l.logon());
}

/// A fall-back case: namespace, how, target, reason, extra arguments, words of the reason.
type Fallback<'a> = (&'a str, How<'a>, &'a str, &'a str, &'a [&'a str], &'a str);

/// Where Kerberos is not possible, the logon falls back to NTLM as Windows does, and says why:
/// by address, by an alias without SPN, from the VPN where the KDC does not answer, and with the
/// client's clock 20 minutes ahead. The stand-in accepts the NTLM logon each time.
#[test]
fn where_kerberos_is_not_possible_the_logon_falls_back_to_ntlm_and_says_why() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    let address = lab.s("/addresses/host");
    let skewed = How {
        skew: Some("+20m"),
        ..How::default()
    };
    let cases: [Fallback<'_>; 4] = [
        (
            "client",
            How::default(),
            &address,
            "address-target",
            &[],
            "address target: a client asks for no service ticket for TERMSRV/198.18.65.20, so NTLM",
        ),
        (
            "client",
            How::default(),
            "rdp-alias.lab.test",
            "spn-missing",
            &[],
            "no SPN TERMSRV/rdp-alias.lab.test: KDC_ERR_S_PRINCIPAL_UNKNOWN, so no ticket: NTLM",
        ),
        (
            "vpn",
            How::default(),
            "rdp-k.lab.test",
            "kdc-unreachable",
            &["--timeout", "2"],
            "did not answer",
        ),
        (
            "client",
            skewed,
            "rdp-k.lab.test",
            "clock-skew",
            &[],
            "KRB_AP_ERR_SKEW",
        ),
    ];
    for (which, how, target, reason, args, detail) in cases {
        let l = logon(
            &lab,
            which,
            how,
            (target, "normal"),
            "kuser@LAB.TEST",
            &pw,
            args,
        );
        l.expect("NTLM", reason);
        let said = l.logon()["package_reason"].as_str().unwrap_or_default();
        assert!(said.contains(detail), "{reason}: {said}");
        assert_eq!(l.outcome(), "accepted", "{reason}: {:#}", l.logon());
        if reason == "clock-skew" {
            // Clients connect (with NTLM): the skew is a warning, not the end of the check.
            let f = remembered::finding(&l.json, "kerberos-clock-skew");
            assert_eq!(f["severity"], "warning", "{f}");
            assert_ne!(
                l.json["verdict"]["status"], "broken",
                "{:#}",
                l.json["verdict"]
            );
        }
        let ev = l.logons();
        assert!(!ev.is_empty(), "{reason}: the stand-in saw no logon");
        assert!(
            ev.iter()
                .all(|e| e["package"] == "ntlm" && e["result"] != "auth-failed"),
            "{reason}: {ev:?}"
        );
        // The stand-in accepted the NTLM logon: the pubKeyAuth exchange completed (the check
        // then closes without delegating, which the stand-in logs as connection-ended).
        assert!(
            ev.iter().all(|e| e["pubkeyauth"] == "verified"),
            "{reason}: {ev:?}"
        );
    }
}

/// Where Kerberos fails in a way Negotiate does not fall back from, the logon stops before the
/// server sees a token: a wrong password (KDC_ERR_PREAUTH_FAILED) and an account with only RC4
/// keys (KDC_ERR_ETYPE_NOSUPP), each with its finding, blocking.
#[test]
fn a_wrong_password_and_an_rc4_only_account_get_no_logon_and_their_findings() {
    let (lab, _one) = lab();
    let rc4 = password(&lab, "rc4_only");
    let cases = [
        (
            "kuser@LAB.TEST",
            "Wrong-Password-1!",
            "preauth-failed",
            "kerberos-preauth-failed",
        ),
        (
            "rc4user@LAB.TEST",
            rc4.as_str(),
            "etype-unsupported",
            "kerberos-etype-unsupported",
        ),
    ];
    for (user, pw, reason, finding) in cases {
        let l = plain(&lab, ("rdp-k.lab.test", "normal"), user, pw);
        l.expect("Kerberos", reason);
        assert_eq!(l.outcome(), "failed", "{:#}", l.logon());
        assert!(l.logons().is_empty(), "{user}: {:?}", l.events);
        // The KDC's refusal is why the account cannot log on: blocking, the verdict's cause.
        assert_eq!(l.json["verdict"]["finding"], finding, "{:?}", l.ids());
        assert_eq!(l.code, 1, "{user}: exit status");
        // The verdict says how far the check went: to the KDC, not to the server.
        let scope = l.json["verdict"]["scope"].as_str().unwrap_or_default();
        assert!(scope.contains("up to the KDC, which refused it"), "{scope}");
        let f = remembered::finding(&l.json, finding);
        assert_eq!(f["severity"], "blocking", "{f}");
        assert!(
            remembered::evidence(f).contains("the logon stopped here"),
            "{f}"
        );
    }
}

/// Against the host that refuses NTLM: by name the logon is Kerberos and succeeds; by the alias
/// without SPN and by address it falls back to NTLM, which the host refuses: `ntlm-blocked`,
/// saying why Kerberos was not possible (and, by address, that the name would work).
#[test]
fn ntlm_refused_by_the_server_kerberos_succeeds_and_the_fallback_is_ntlm_blocked() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    let l = plain(&lab, ("rdp-k.lab.test", "refuse-ntlm"), "LAB\\kuser", &pw);
    assert_eq!(l.package().0, "Kerberos", "{:#}", l.logon());
    assert_eq!(l.outcome(), "accepted", "{:#}", l.logon());
    assert!(
        !l.ids().contains(&"ntlm-blocked".to_string()),
        "{:?}",
        l.ids()
    );

    // By the alias and by address NTLM is refused: the finding says why the logon was NTLM, and
    // by address that the name would have worked.
    let address = lab.s("/addresses/host");
    let cases = [
        (
            "rdp-alias.lab.test",
            "spn-missing",
            "because Kerberos was not possible: no SPN TERMSRV/rdp-alias.lab.test",
        ),
        (
            address.as_str(),
            "address-target",
            "by its name the KDC knows TERMSRV/rdp-k.lab.test",
        ),
    ];
    for (target, reason, why) in cases {
        let l = plain(&lab, (target, "refuse-ntlm"), "LAB\\kuser", &pw);
        l.expect("NTLM", reason);
        assert_eq!(
            l.json["verdict"]["finding"],
            "ntlm-blocked",
            "{:?}",
            l.ids()
        );
        assert_eq!(l.code, 1, "{target}: exit status");
        let ev = remembered::evidence(remembered::finding(&l.json, "ntlm-blocked"));
        assert!(ev.contains(why), "{ev}");
        if reason == "spn-missing" {
            // The SPN finding is why the logon fails here.
            let f = remembered::finding(&l.json, "kerberos-spn-missing");
            assert_eq!(f["severity"], "blocking", "{f}");
        }
        assert!(
            l.logons().iter().any(|e| e["result"] == "ntlm-refused"),
            "{:?}",
            l.events
        );
    }
}

/// A hostile session host for one test: on 198.18.65.20:PORT in the lab's server namespace (the
/// address rdp-k.lab.test resolves to, so the logon's Kerberos gets a real ticket for it), it
/// selects CredSSP, completes TLS with the lab's certificate, and answers the client's first
/// TSRequest (the AP-REQ) with the negoTokens TOKEN_HEX. A test-owned process, stopped by its PID.
const HOSTILE: &str = r#"
import socket, ssl, struct, sys
address, port, cert, key, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], bytes.fromhex(sys.argv[5])
def der(tag, body):
    n = len(body)
    if n < 0x80: return bytes([tag, n]) + body
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + body
def exact(s, n):
    out = b""
    while len(out) < n:
        c = s.recv(n - len(out))
        if not c: raise ConnectionError("closed")
        out += c
    return out
def confirm(kind, value):
    neg = struct.pack("<BBHI", kind, 0, 8, value)
    x224 = bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224
reply = der(0x30, der(0xA0, der(0x02, b"\x06")) + der(0xA1, der(0x30, der(0x30, der(0xA0, der(0x04, token))))))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.create_server((address, port))
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    conn.settimeout(5)
    try:
        head = exact(conn, 4)
        cr = head + exact(conn, struct.unpack(">H", head[2:4])[0] - 4)
        requested = struct.unpack("<I", cr[-4:])[0] if len(cr) >= 19 and cr[-8] == 1 else 0
        if not requested & 2:
            conn.sendall(confirm(3, 5))
            conn.close()
            continue
        conn.sendall(confirm(2, 2))
        tls = ctx.wrap_socket(conn, server_side=True)
        first = exact(tls, 2)
        n = first[1] & 0x7F if first[1] & 0x80 else 0
        length = int.from_bytes(exact(tls, n), "big") if n else first[1]
        exact(tls, length)
        tls.sendall(reply)
        tls.recv(65536)
    except Exception:
        pass
    finally:
        conn.close()
"#;

/// The server's answer to the AP-REQ is hostile (not SPNEGO, a length past its end, a
/// NegTokenResp that rejects, 60 000 bytes of noise): the logon's Kerberos ends with the
/// server's token named malformed, nothing panics, and with --full nothing is delegated.
#[test]
fn hostile_answers_to_the_kerberos_token_are_malformed_and_nothing_is_delegated() {
    let (lab, _one) = lab();
    let pw = password(&lab, "normal");
    let certs = lab
        .s("/ca")
        .replace("lab/state/certs/ca.pem", "lab/kerberos/state/certs");
    let noise: String = (0..60_000u32)
        .map(|i| format!("{:02x}", (i.wrapping_mul(2_654_435_761) >> 24) as u8))
        .collect();
    let tokens = [
        "00000000000000000000",
        "a181ff30",
        "a1073005a0030a0102",
        &noise,
    ];
    for (i, token) in tokens.iter().enumerate() {
        let port = 3_395 + i;
        let mut server = std::process::Command::new("ip")
            .args(["netns", "exec", &lab.ns("srv"), "python3", "-c", HOSTILE])
            .args([&lab.s("/addresses/host"), &port.to_string()])
            .arg(format!("{certs}/rdp-k.pem"))
            .arg(format!("{certs}/rdp-k.key"))
            .arg(token)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut ready = String::new();
        let out = server.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut ready).ok();
        assert_eq!(ready.trim(), "ready", "the hostile server did not start");
        let target = format!("rdp-k.lab.test:{port}");
        let c = remembered::run_check(
            in_ns(&lab, "client", How::default()),
            &[&target, "--user", "kuser@LAB.TEST", "--full"],
            Some(&pw),
        );
        let _ = server.kill();
        let _ = server.wait();
        let logon = &c.json["observations"]["logon"];
        assert_eq!(logon["package"], "Kerberos", "{token:.20}: {logon:#}");
        assert_eq!(
            logon["outcome"]["kind"], "malformed",
            "{token:.20}: {logon:#}"
        );
        eprintln!("{token:.20}: {}", logon["outcome"]["reason"]);
        assert_ne!(logon["delegated"], true, "{logon:#}");
        assert!(!c.stderr.contains("panicked"), "{}", c.stderr);
    }
}
