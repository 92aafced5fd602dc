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
mod remembered;

use common::{ids, Lab};
use remembered::{
    check, evidence, finding, move_entry, pyrdp_output, remembered_sha256, SERIAL, SLOW,
};

fn canary() -> (String, String) {
    remembered::canary("intercept")
}

fn temp_file(name: &str) -> std::path::PathBuf {
    remembered::temp_file("intercept", name)
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
        remembered::presented_sha256(&addr, &[]),
        "the remembered certificate is the one the server presents"
    );
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
