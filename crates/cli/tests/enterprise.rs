//! A healthy enterprise is not an attack (issue 20), on real servers (lab/farm.sh): a renewal,
//! the nodes of a farm behind haproxy, alias and wildcard certificates from the lab CA, pins of a
//! CA or a key, a TLS terminator the admin names, and loopback tunnels. Each healthy set-up stays
//! free of interception-suspected and its `--user` logon goes out; beside each, pyrdp-mitm cloning
//! what was remembered is still interception-suspected and never gets an NTLM response.
//!
//! As in intercept.rs, a client remembers the certificate of the address it connects to; when
//! another lab server plays that address later (the renewed server, the interceptor), the entry is
//! moved to that server's host:port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod remembered;

use common::{bin, ids, Lab};
use remembered::{
    canary, check, evidence, finding, move_entry, presented_sha256, pyrdp_output,
    remembered_sha256, run_check, Checked, LAB_PASSWORD, LAB_USER, SERIAL, SLOW,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The farm's haproxy state is shared: one farm test at a time.
static FARM: Mutex<()> = Mutex::new(());

fn temp_file(name: &str) -> PathBuf {
    remembered::temp_file("enterprise", name)
}

fn no_interception(v: &serde_json::Value, what: &str) {
    let got = ids(v);
    assert!(
        !got.iter()
            .any(|i| i == "interception-suspected" || i == "cert-changed"),
        "{what}: {got:?}\n{:#}",
        v["findings"]
    );
}

fn logon_kind(v: &serde_json::Value) -> String {
    v["observations"]["logon"]["outcome"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_renewal_is_info_updates_the_entry_and_withholds_nothing() {
    let lab = Lab::get();
    let known = temp_file("renewal.json");
    let k = known.to_str().expect("utf-8 path");
    let old = lab.addr("renew-old");
    let new = lab.addr("renew-new");
    let (_, first, _) = check(&[&old, "--known-certs", k], None);
    no_interception(&first, "first sight");
    let old_sha = remembered_sha256(&known, &old);
    assert_eq!(
        old_sha.len(),
        64,
        "the first sight was remembered: {old_sha:?}"
    );
    move_entry(&known, &old, &new);

    // The renewal: same subject, names and issuer, newer notBefore, a new key, and the old one
    // expires in 10 days. The new server also lost TLS 1.3 (a key in a legacy CSP): no sign.
    let (code, v, stderr) = check(&[&new, "--known-certs", k], None);
    no_interception(&v, "renewal");
    let renewed = finding(&v, "cert-renewed");
    assert_eq!(renewed["severity"], "info", "{renewed:#}");
    let text = evidence(renewed);
    let new_sha = v["observations"]["tls"]["certificate"]["sha256_hex"]
        .as_str()
        .expect("sha256");
    let new_sha1 = v["observations"]["tls"]["certificate"]["sha1_hex"]
        .as_str()
        .expect("sha1");
    assert!(text.contains(&old_sha) && text.contains(new_sha), "{text}");
    assert!(text.contains(new_sha1), "the SHA-1 thumbprint: {text}");
    assert!(text.contains("expires within 30 days"), "{text}");
    assert_ne!(v["verdict"]["status"], "broken", "{:#}", v["verdict"]);
    // Exit 1 stays for the self-signed certificate's own warnings (cert-name-mismatch...).
    let _ = code;
    // The entry now holds the renewed certificate; the next check is quiet.
    assert_eq!(remembered_sha256(&known, &new), new_sha);
    assert!(
        stderr.contains("remembered the renewed certificate"),
        "{stderr}"
    );
    let (_, again, _) = check(&[&new, "--known-certs", k], None);
    assert!(!ids(&again).contains(&"cert-renewed".to_string()));
    no_interception(&again, "after the renewal");
}

#[test]
fn tls_13_gone_with_a_new_key_is_no_sign_without_the_clone_marks() {
    let lab = Lab::get();
    let known = temp_file("tls13.json");
    let k = known.to_str().expect("utf-8 path");
    // xrdp-negotiate completes TLS 1.3; renew-new has another key, another subject, and only
    // TLS 1.2 (a policy change on the same address): a changed certificate, one sign at most.
    let before = lab.addr("xrdp-negotiate");
    let after = lab.addr("renew-new");
    check(&[&before, "--known-certs", k], None);
    move_entry(&known, &before, &after);
    let (_, v, _) = check(&[&after, "--known-certs", k], None);
    assert!(
        ids(&v).contains(&"cert-changed".to_string()),
        "{:?}",
        ids(&v)
    );
    let suspected = finding(&v, "interception-suspected");
    let text = evidence(suspected);
    assert!(!text.contains("TLS 1.3 completed"), "{text}");
    assert_eq!(suspected["severity"], "warning", "one sign: {suspected:#}");
    assert_ne!(v["verdict"]["status"], "broken", "{:#}", v["verdict"]);
}

/// Sends one command to the farm's haproxy admin socket.
fn haproxy(command: &str) {
    let sock = common::workspace_root().join("lab/state/haproxy-farm.sock");
    let mut s = std::os::unix::net::UnixStream::connect(&sock)
        .unwrap_or_else(|e| panic!("haproxy admin socket {}: {e}", sock.display()));
    s.write_all(format!("{command}\n").as_bytes())
        .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.trim().is_empty(), "haproxy: {command}: {answer}");
}

/// Sends the farm's traffic to `node` only (the other one drained, as for maintenance).
fn farm_to(node: &str) {
    let other = if node == "farm-a" { "farm-b" } else { "farm-a" };
    haproxy(&format!("set server farm/{node} state ready"));
    haproxy(&format!("set server farm/{other} state maint"));
}

struct FarmRestore;
impl Drop for FarmRestore {
    fn drop(&mut self) {
        haproxy("set server farm/farm-a state ready");
        haproxy("set server farm/farm-b state ready");
    }
}

fn computer(v: &serde_json::Value) -> String {
    v["observations"]["nla"]["outcome"]["info"]["netbios_computer"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn another_farm_node_is_info_and_pyrdp_cloning_a_node_is_still_interception() {
    let _farm = FARM.lock().unwrap_or_else(|e| e.into_inner());
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _restore = FarmRestore;
    let lab = Lab::get();
    let known = temp_file("farm.json");
    let k = known.to_str().expect("utf-8 path");
    let front = lab.addr("farm-front");
    let login = |extra: &[&str]| {
        let mut args = vec![front.as_str(), "--known-certs", k, "--user", LAB_USER];
        args.extend_from_slice(extra);
        check(&args, Some(LAB_PASSWORD))
    };

    farm_to("farm-a");
    let (_, a, stderr) = login(&[]);
    assert_eq!(computer(&a), "FARM-A");
    assert!(
        ids(&a).contains(&"auth-ok".to_string()),
        "{:?}; {stderr}",
        ids(&a)
    );

    // The load balancer now sends us to the other node: a new key with a new computer name.
    farm_to("farm-b");
    let (code, b, stderr) = login(&[]);
    assert_eq!(computer(&b), "FARM-B");
    no_interception(&b, "the other node");
    let node = finding(&b, "farm-node-changed");
    assert_eq!(node["severity"], "info");
    assert!(evidence(node).contains("FARM-B"), "{node:#}");
    assert!(
        ids(&b).contains(&"auth-ok".to_string()),
        "the logon goes out: {:?}; {stderr}",
        ids(&b)
    );
    assert_ne!(b["verdict"]["status"], "broken", "{:#}", b["verdict"]);
    let _ = code;
    let entry = remembered::entry(&known, &front);
    assert_eq!(entry["ntlm_computer"], "FARM-A", "{entry:#}");
    assert_eq!(
        entry["other_nodes"][0]["ntlm_computer"], "FARM-B",
        "{entry:#}"
    );

    // Both nodes are remembered now: either is quiet.
    for node in ["farm-a", "farm-b"] {
        farm_to(node);
        let (_, v, _) = login(&[]);
        no_interception(&v, node);
        assert!(
            !ids(&v).contains(&"farm-node-changed".to_string()),
            "{node}: {:?}",
            ids(&v)
        );
    }

    // pyrdp-mitm takes over the address and clones FARM-A's certificate: its CHALLENGE names
    // WINNT, but the clone marks (FARM-A's subject and notBefore on another key) and its own
    // protocol selection keep it a suspect; the canary's NTLM response is never sent.
    let mitm = lab.addr("pyrdp-farm");
    move_entry(&known, &front, &mitm);
    let (user, password) = canary("farm");
    let before = pyrdp_output("pyrdp-farm");
    let mut args = vec![mitm.as_str(), "--known-certs", k, "--user", &user];
    args.extend_from_slice(SLOW);
    let (code, v, stderr) = check(&args, Some(&password));
    let after = pyrdp_output("pyrdp-farm");
    assert!(after.len() > before.len(), "pyrdp-mitm logged nothing");
    assert!(
        !after.contains(&user) && !after.contains(&password),
        "pyrdp-mitm saw the canary"
    );
    assert!(
        !ids(&v).contains(&"farm-node-changed".to_string()),
        "{:?}",
        ids(&v)
    );
    let suspected = finding(&v, "interception-suspected");
    assert_eq!(suspected["severity"], "blocking", "{suspected:#}");
    assert!(
        evidence(suspected).contains("the marks of a clone"),
        "{suspected:#}"
    );
    assert_eq!(logon_kind(&v), "withheld");
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn pins_of_several_leaves_a_key_or_the_issuing_ca_prove_the_server() {
    let _farm = FARM.lock().unwrap_or_else(|e| e.into_inner());
    let _restore = FarmRestore;
    let lab = Lab::get();
    let a = presented_sha256(&lab.addr("farm-a"), &[]);
    let b = presented_sha256(&lab.addr("farm-b"), &[]);
    let front = lab.addr("farm-front");
    // --cert-sha256 given twice: the farm's two nodes, both proven.
    let pin_a = format!("leaf:{a}");
    for node in ["farm-a", "farm-b"] {
        farm_to(node);
        let (_, v, stderr) = check(
            &[
                &front,
                "--cert-sha256",
                &pin_a,
                "--cert-sha256",
                &b,
                "--user",
                LAB_USER,
            ],
            Some(LAB_PASSWORD),
        );
        no_interception(&v, node);
        assert!(
            ids(&v).contains(&"auth-ok".to_string()),
            "{node}: {:?}; {stderr}",
            ids(&v)
        );
        assert!(v["observations"]["tls"]["identity"]["matched_pin"].is_object());
    }

    // The issuing CA (xrdp sends it in its chain) and the key: each proves the server.
    let xrdp = lab.addr("xrdp-negotiate");
    let ca_pem = common::workspace_root().join("lab/state/certs/ca.pem");
    let ca = openssl_sha256(&ca_pem);
    let key = presented(&xrdp, "public_key_sha256");
    for (pin, kind) in [(format!("ca:{ca}"), "ca"), (format!("spki:{key}"), "spki")] {
        let (_, v, _) = check(&[&xrdp, "--cert-sha256", &pin], None);
        assert_eq!(
            v["observations"]["tls"]["identity"]["matched_pin"]["kind"], kind,
            "{:#}",
            v["observations"]["tls"]
        );
        no_interception(&v, kind);
    }
    // The same CA pin does not prove pyrdp-mitm's clone (same issuer name, not signed by it).
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec![lab.addr("pyrdp-xrdp")];
    args.extend(["--cert-sha256".to_string(), format!("ca:{ca}")]);
    args.extend(SLOW.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, v, _) = check(&args, None);
    let suspected = finding(&v, "interception-suspected");
    assert!(
        evidence(suspected).contains("is not the pinned one"),
        "{suspected:#}"
    );
}

fn presented(addr: &str, field: &str) -> String {
    let (_, v, _) = check(&[addr], None);
    v["observations"]["tls"]["certificate"][field]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The SHA-256 of a PEM certificate's DER, by openssl.
fn openssl_sha256(pem: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.rsplit('=')
        .next()
        .unwrap_or_default()
        .trim()
        .replace(':', "")
        .to_ascii_lowercase()
}

/// `rdpdoctor` run with a private /etc/hosts (a mount namespace of its own) that maps the lab's
/// corp.example names to 127.0.0.1, and the lab CA as its trust store: the names resolve without
/// any DNS query, and certificates for them verify as a CA-issued certificate does.
fn with_corp_names() -> Command {
    let hosts = temp_file("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.1 rdp.corp.example rdsh01.corp.example\n",
    )
    .expect("hosts");
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg("mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"")
        .arg("sh")
        .arg(&hosts)
        .arg(env!("CARGO_BIN_EXE_rdpdoctor"))
        .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
        .env(
            "SSL_CERT_FILE",
            common::workspace_root().join("lab/state/certs/ca.pem"),
        );
    c
}

#[test]
fn alias_and_wildcard_certificates_that_verify_are_no_sign_and_the_logon_goes_out() {
    let lab = Lab::get();
    // rdp.corp.example served by computer SRV01; *.corp.example served by RDSH01.
    for (name, server, computer_name) in [
        ("rdp.corp.example", "alias-srv01", "SRV01"),
        ("rdsh01.corp.example", "wildcard-rdsh01", "RDSH01"),
    ] {
        let target = format!("{name}:{}", lab.port(server));
        let known = temp_file(&format!("{server}.json"));
        let k = known.to_str().expect("utf-8 path");
        let Checked {
            json: v, stderr, ..
        } = run_check(
            with_corp_names(),
            &[&target, "--known-certs", k, "--user", LAB_USER],
            Some(LAB_PASSWORD),
        );
        assert_eq!(computer(&v), computer_name, "{stderr}");
        no_interception(&v, name);
        assert!(
            ids(&v).contains(&"auth-ok".to_string()),
            "{name}: {:?}; {stderr}",
            ids(&v)
        );
        assert!(!stderr.contains("did NOT log on"), "{stderr}");
        assert_eq!(
            v["observations"]["tls"]["identity"]["verified_for_target"], true,
            "{:#}",
            v["observations"]["tls"]
        );
    }
}

#[test]
fn the_expected_terminator_is_info_and_another_one_is_a_sign() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::get();
    let mitm = lab.addr("pyrdp-nla");
    let terminator = presented_sha256(&mitm, SLOW);
    assert_eq!(terminator.len(), 64);

    // The admin runs this terminator on purpose: it is named, what it does is no sign, and the
    // logon is not withheld (the lab account; pyrdp-mitm then fails the pubKeyAuth, as it must).
    let mut args = vec![
        mitm.as_str(),
        "--expect-terminator",
        &terminator,
        "--user",
        LAB_USER,
    ];
    args.extend_from_slice(SLOW);
    let (_, v, stderr) = check(&args, Some(LAB_PASSWORD));
    let named = finding(&v, "expected-terminator");
    assert_eq!(named["severity"], "info");
    assert!(evidence(named).contains(&terminator), "{named:#}");
    assert!(
        !ids(&v).contains(&"interception-suspected".to_string()),
        "{:?}",
        ids(&v)
    );
    assert!(
        v["observations"]["logon"].is_object(),
        "no logon: {:#}",
        v["observations"]
    );
    assert_ne!(
        logon_kind(&v),
        "withheld",
        "{:#}; {stderr}",
        v["observations"]["logon"]
    );

    // Another terminator than the one named: a sign, and the canary never reaches it.
    let other = presented_sha256(&lab.addr("xrdp-negotiate"), &[]);
    let (user, password) = canary("terminator");
    let mut args = vec![
        mitm.as_str(),
        "--expect-terminator",
        &other,
        "--user",
        &user,
    ];
    args.extend_from_slice(SLOW);
    let before = pyrdp_output("pyrdp-nla");
    let (_, v, _) = check(&args, Some(&password));
    let after = pyrdp_output("pyrdp-nla");
    assert!(after.len() > before.len(), "pyrdp-mitm logged nothing");
    assert!(
        !after.contains(&user) && !after.contains(&password),
        "pyrdp-mitm saw the canary"
    );
    let suspected = finding(&v, "interception-suspected");
    assert!(
        evidence(suspected).contains("is not the expected one"),
        "{suspected:#}"
    );
    assert!(!ids(&v).contains(&"expected-terminator".to_string()));
    assert_eq!(logon_kind(&v), "withheld");
    assert!(
        !pyrdp_output("pyrdp-nla").contains(&user),
        "pyrdp-mitm saw the canary"
    );
}

#[test]
fn the_default_file_does_not_remember_loopback_targets_an_explicit_one_does() {
    let lab = Lab::get();
    let addr = lab.addr("xrdp-negotiate");
    let home = temp_file("home");
    std::fs::create_dir_all(&home).expect("home");
    let default = home.join(".local/share/rdpdoctor/known-certs.json");
    // What an older version left in the default file for this address: another machine behind
    // the same tunnel port. It is not compared (no cert-changed) and not written to.
    std::fs::create_dir_all(default.parent().expect("parent")).expect("dirs");
    let stale = format!(
        r#"{{"schema":"rdpdoctor.known-certs/1","targets":{{"{addr}":{{"sha256_hex":"{}","subject":"CN=other","issuer":"CN=other","not_before":"2020-01-01T00:00:00Z","not_after":"2030-01-01T00:00:00Z","first_seen":"2024-01-01T00:00:00Z","last_seen":"2024-01-01T00:00:00Z"}}}}}}"#,
        "ab".repeat(32)
    );
    std::fs::write(&default, &stale).expect("write");
    let mut c = bin();
    c.env_remove("RDPDOCTOR_NO_KNOWN_CERTS")
        .env("HOME", &home)
        .env_remove("XDG_DATA_HOME");
    let checked = run_check(c, &[&addr], None);
    no_interception(&checked.json, "a tunnel's port");
    assert_eq!(
        checked.json["observations"]["tls"]["certificate"]["sha256_hex"]
            .as_str()
            .map(str::len),
        Some(64),
        "the certificate was read"
    );
    assert!(
        checked.json["observations"]["expected_certificate"]["remembered"].is_null(),
        "{:#}",
        checked.json["observations"]["expected_certificate"]
    );
    assert_eq!(std::fs::read_to_string(&default).expect("read"), stale);

    // With --known-certs the same target is remembered (as the lab tests rely on).
    let explicit = temp_file("explicit.json");
    check(
        &[&addr, "--known-certs", explicit.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(remembered_sha256(&explicit, &addr).len(), 64);
}
