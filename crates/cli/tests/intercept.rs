//! Interception, for real: pyrdp-mitm 2.1.0 (lab/intercept.sh) in front of the lab's xrdp and
//! freerdp-nla. The direct check stays as it was; through the interceptor rdpdoctor reports
//! negotiation-protocol-violation, cert-changed and interception-suspected, and `--user` never
//! sends the NTLM AUTHENTICATE (a canary account never reaches pyrdp-mitm's hash log).
//!
//! How the remembered certificate models reality: a client remembers the certificate of the
//! address it connects to, and an interceptor later answers on that same address (ARP or DNS
//! spoofing, a compromised jump host). Here the interceptor listens on its own port, so each test
//! first checks the real server with a fresh --known-certs file, then moves that entry to the
//! interceptor's host:port (what the client would have remembered for the address the
//! interceptor took over), then checks through the interceptor with the same file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{bin, ids, Lab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// pyrdp-mitm is single-threaded and takes seconds per connection: one check through it at a
/// time, with a generous per-phase deadline and two connections.
static SERIAL: Mutex<()> = Mutex::new(());
const SLOW: &[&str] = &["--timeout", "20", "--connections", "2"];

/// A canary account unique to this run, so that what earlier runs (or other tools) left in
/// pyrdp-mitm's logs cannot be mistaken for it.
fn canary() -> (String, String) {
    let n = std::process::id();
    (
        format!("canary-intercept-{n}"),
        format!("Canary-Pw-{n}-9c41e7!"),
    )
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdpdoctor-intercept-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// Runs `rdpdoctor check ... --json` and returns (exit code, JSON, stderr).
fn check(args: &[&str], password: Option<&str>) -> (i32, Value, String) {
    let mut c = bin();
    c.arg("check").args(args).arg("--json");
    if let Some(p) = password {
        c.env("RDPDOCTOR_PASSWORD", p);
    }
    let out = c.output().expect("rdpdoctor runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {stdout:?}, stderr {stderr:?}"));
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {:#}", v["findings"]))
}

fn evidence(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Moves the entry remembered for `from` to `to` in a known-certs file.
fn move_entry(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("known-certs file written");
    let mut v: Value = serde_json::from_str(&text).expect("known-certs is JSON");
    let entry = v["targets"][from].take();
    assert!(entry.is_object(), "no entry for {from} in {text}");
    v["targets"][to] = entry;
    if let Some(m) = v["targets"].as_object_mut() {
        m.remove(from);
    }
    std::fs::write(file, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

fn remembered_sha256(file: &Path, key: &str) -> String {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
    v["targets"][key]["sha256_hex"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every file pyrdp-mitm wrote for the lab server `name`, as text.
fn pyrdp_output(name: &str) -> String {
    fn walk(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let state = common::workspace_root().join("lab/state");
    let mut out = std::fs::read_to_string(state.join(format!("{name}.log"))).unwrap_or_default();
    walk(&state.join(name), &mut out);
    out
}

#[test]
fn direct_checks_remember_the_certificate_and_stay_clean() {
    let lab = Lab::get();
    let known = temp_file("direct.json");
    let k = known.to_str().expect("utf-8 path");
    let addr = lab.addr("xrdp-negotiate");
    for round in 0..2 {
        let (_, v, stderr) = check(&[&addr, "--known-certs", k], None);
        let got = ids(&v);
        assert!(
            !got.iter()
                .any(|i| i == "cert-changed" || i == "interception-suspected"),
            "round {round}: {got:?}; stderr {stderr}"
        );
        assert_eq!(v["verdict"]["status"], "degraded", "{:#}", v["verdict"]);
    }
    assert_eq!(
        remembered_sha256(&known, &addr),
        v_sha256(&lab, &addr),
        "the remembered certificate is the one the server presents"
    );
}

/// The SHA-256 of the certificate `addr` presents now (a check without known certificates).
fn v_sha256(_lab: &Lab, addr: &str) -> String {
    let (_, v, _) = check(&[addr], None);
    v["observations"]["tls"]["certificate"]["sha256_hex"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn pyrdp_in_front_of_xrdp_is_a_changed_certificate_and_suspected_interception() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::get();
    let known = temp_file("xrdp.json");
    let k = known.to_str().expect("utf-8 path");
    let real = lab.addr("xrdp-negotiate");
    let mitm = lab.addr("pyrdp-xrdp");
    let (_, direct, _) = check(&[&real, "--known-certs", k], None);
    assert!(!ids(&direct).contains(&"cert-changed".to_string()));
    move_entry(&known, &real, &mitm);
    let before = remembered_sha256(&known, &mitm);

    let mut args = vec![mitm.as_str(), "--known-certs", k];
    args.extend_from_slice(SLOW);
    let (code, v, stderr) = check(&args, None);
    let got = ids(&v);
    // pyrdp-mitm answers xrdp's TLS selections faithfully: its certificate and its older TLS
    // (xrdp completes TLS 1.3, pyrdp-mitm refuses it) are the signs.
    let changed = finding(&v, "cert-changed");
    let text = evidence(changed);
    assert!(text.contains(&before), "{text}");
    assert!(text.contains("does not look like a renewal"), "{text}");
    assert!(text.contains("a new key"), "{text}");
    let suspected = finding(&v, "interception-suspected");
    assert_eq!(
        suspected["severity"], "blocking",
        "two signs: {suspected:#}"
    );
    let signs = evidence(suspected);
    assert!(signs.contains("cert-changed"), "{suspected:#}");
    assert!(
        signs.contains("TLS 1.3 completed with the certificate remembered for this target")
            && signs.contains("newest now: TLS 1.2"),
        "{suspected:#}"
    );
    assert_eq!(v["verdict"]["status"], "broken", "{got:?}");
    assert_eq!(
        v["verdict"]["finding"], "interception-suspected",
        "{:#}",
        v["verdict"]
    );
    assert_eq!(code, 1, "findings exit 1");
    // The remembered certificate is kept, not replaced by the interceptor's.
    assert_eq!(remembered_sha256(&known, &mitm), before);
    assert!(stderr.contains("the remembered one is kept"), "{stderr}");
}

#[test]
fn user_through_pyrdp_never_sends_the_authenticate() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::get();
    let known = temp_file("nla.json");
    let k = known.to_str().expect("utf-8 path");
    let real = lab.addr("freerdp-nla");
    let mitm = lab.addr("pyrdp-nla");
    // The direct logon is unchanged: the server's verdict, nothing withheld. It also remembers
    // the real certificate. (It runs before anything goes through pyrdp-nla, whose lingering
    // connections to freerdp-nla can make freerdp-shadow refuse a logon for a while.)
    let (_, direct, stderr) = check(
        &[&real, "--known-certs", k, "--user", "labuser"],
        Some("LabPass-2026!"),
    );
    let got = ids(&direct);
    assert!(got.contains(&"auth-ok".to_string()), "{got:?}; {stderr}");
    assert!(!got
        .iter()
        .any(|i| i == "interception-suspected" || i == "negotiation-protocol-violation"));
    assert!(!stderr.contains("did NOT log on"), "{stderr}");
    move_entry(&known, &real, &mitm);

    let (user, password) = canary();
    let hashes_before = pyrdp_output("pyrdp-nla");
    assert!(!hashes_before.contains(&user));
    let mut args = vec![mitm.as_str(), "--known-certs", k, "--user", &user];
    args.extend_from_slice(SLOW);
    let (code, v, stderr) = check(&args, Some(&password));
    let got = ids(&v);

    // Nothing of the canary reached the interceptor: no NTLMv2 hash for the account in its
    // log (it logs every one it sees), and neither name nor password anywhere it wrote.
    let after = pyrdp_output("pyrdp-nla");
    assert!(!after.contains(&user), "pyrdp-mitm saw the canary account");
    assert!(!after.contains(&password));
    let ntlmssp = common::workspace_root().join("lab/state/pyrdp-nla/logs/ntlmssp.log");
    let hashes = std::fs::read_to_string(&ntlmssp).unwrap_or_default();
    assert!(!hashes.contains(&user), "{hashes}");
    // pyrdp-mitm did see the check (it logs every connection): the test looked in the right place.
    assert!(
        after.len() > hashes_before.len(),
        "pyrdp-mitm logged nothing"
    );

    // Why, in the observations, the findings and on stderr.
    assert_eq!(
        v["observations"]["logon"]["outcome"]["kind"], "withheld",
        "{:#}",
        v["observations"]["logon"]
    );
    assert!(!got.contains(&"auth-ok".to_string()), "{got:?}");
    assert!(
        !got.contains(&"credssp-pubkey-mismatch".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"negotiation-protocol-violation".to_string()),
        "{got:?}"
    );
    assert!(got.contains(&"cert-changed".to_string()), "{got:?}");
    let suspected = finding(&v, "interception-suspected");
    assert_eq!(
        suspected["severity"], "blocking",
        "two signs: {suspected:#}"
    );
    let text = evidence(suspected);
    assert!(text.contains("negotiation-protocol-violation"), "{text}");
    assert!(text.contains("cert-changed"), "{text}");
    assert!(text.contains("no NTLM AUTHENTICATE was sent"), "{text}");
    assert_eq!(
        v["verdict"]["finding"], "interception-suspected",
        "{:#}",
        v["verdict"]
    );
    assert_eq!(v["verdict"]["status"], "broken");
    assert!(
        !v["verdict"]["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("logon up to"),
        "the verdict must not claim a logon: {:#}",
        v["verdict"]
    );
    assert_eq!(code, 1, "findings exit 1");
    assert!(stderr.contains("did NOT log on as"), "{stderr}");
    assert!(stderr.contains("--cert-sha256"), "{stderr}");
}
