//! The Kerberos lab (lab/kerberos/start.sh) proven with real Kerberos clients, before rdpdoctor's
//! own Kerberos logon is tested against it: MIT `kinit`/`kvno` against the Samba KDC found through
//! DNS SRV records, rdesktop 1.9 (CredSSP through GSSAPI, Kerberos only) and xfreerdp 2.11 (NTLM)
//! against the session-host stand-in, each run inside the lab's client namespaces with
//! `ip netns exec`. Every fault the later rdpdoctor findings must name is shown here with the
//! error the real client prints and the KDC's error code, next to a healthy control.
//!
//! Cost: about 20 s in all (the two "KDC unreachable" cases wait for MIT's own 18 s of retries,
//! in parallel with everything else).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod krblab;

use krblab::KrbLab;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// MIT's com_err codes for KDC errors are ERROR_TABLE_BASE_krb5 plus the RFC 4120 7.5.9 number.
const KRB5_ERR_BASE: i64 = -1_765_328_384;
const KDC_ERR_ETYPE_NOSUPP: i64 = 14;
const KDC_ERR_PREAUTH_FAILED: i64 = 24;
const KDC_ERR_PREAUTH_REQUIRED: i64 = 25;
const KRB_AP_ERR_SKEW: i64 = 37;

/// Tests that read the stand-ins' event logs run one at a time, so each sees only its own events.
static STAND_IN: Mutex<()> = Mutex::new(());

struct Run {
    code: i32,
    out: String,
}

impl KrbLab {
    /// Runs CMD in namespace NS with ENV, STDIN fed, stdout and stderr together, bounded by 40 s.
    fn run(&self, ns: &str, env: &[(&str, String)], stdin: &str, cmd: &[&str]) -> Run {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "timeout", "40"])
            .args(cmd)
            .env_remove("KRB5_CONFIG")
            .env_remove("KRB5CCNAME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("ip netns exec runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        Run {
            code: out.status.code().unwrap_or(-1),
            out: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// kinit PRINCIPAL in namespace WHICH with krb5.conf CONF, the password on stdin, a trace.
    fn kinit(
        &self,
        which: &str,
        conf: &str,
        cc: &Ccache,
        principal: &str,
        password: &str,
        faketime: Option<&str>,
    ) -> Run {
        let mut cmd = Vec::new();
        if let Some(offset) = faketime {
            cmd.extend(["faketime", "-f", offset]);
        }
        cmd.extend(["kinit", principal]);
        self.run(
            &self.ns(which),
            &cc.env(&self.conf(conf)),
            &format!("{password}\n"),
            &cmd,
        )
    }

    /// kinit of the lab account ACCOUNT ("normal", "rc4_only") with its own password.
    fn kinit_account(
        &self,
        which: &str,
        conf: &str,
        cc: &Ccache,
        account: &str,
        faketime: Option<&str>,
    ) -> Run {
        let principal = self.s(&format!("/accounts/{account}/principal"));
        let password = self.s(&format!("/accounts/{account}/password"));
        self.kinit(which, conf, cc, &principal, &password, faketime)
    }

    fn kvno(&self, conf: &str, cc: &Ccache, spn: &str) -> Run {
        self.run(
            &self.ns("client"),
            &cc.env(&self.conf(conf)),
            "",
            &["kvno", spn],
        )
    }

    fn host(&self, mode: &str) -> (String, String) {
        let h = self.doc["session_hosts"]
            .as_array()
            .and_then(|a| a.iter().find(|h| h["mode"] == mode))
            .unwrap_or_else(|| panic!("no session host in mode {mode} in kerberos.json"));
        (
            h["port"].to_string(),
            h["events"].as_str().expect("events").to_string(),
        )
    }

    /// rdesktop 1.9 to TARGET:PORT with the ticket cache CC: password and the answer to its
    /// certificate question on stdin (its CredSSP uses the ticket; the password goes in
    /// TSCredentials).
    fn rdesktop(&self, cc: &Ccache, target: &str, port: &str) -> Run {
        let home = cc.path.with_extension("home");
        std::fs::create_dir_all(&home).expect("rdesktop home");
        let mut env = cc.env(&self.conf("default"));
        env.push(("HOME", home.display().to_string()));
        env.push(("DISPLAY", self.s("/display")));
        let user = self.s("/accounts/normal/user");
        let domain = self.s("/netbios_domain");
        let pass = self.s("/accounts/normal/password");
        let addr = format!("{target}:{port}");
        let args = ["rdesktop", "-u", &user, "-d", &domain, "-p", "-", &addr];
        self.run(&self.ns("client"), &env, &format!("{pass}\nyes\n"), &args)
    }

    /// xfreerdp 2.11 +auth-only (NTLM: Debian's build has no GSSAPI) to TARGET:PORT, the password on stdin.
    fn xfreerdp(&self, target: &str, port: &str, home: &Path) -> Run {
        std::fs::create_dir_all(home).expect("xfreerdp home");
        let env = vec![
            ("HOME", home.display().to_string()),
            ("DISPLAY", self.s("/display")),
        ];
        let v = format!("/v:{target}:{port}");
        let u = format!("/u:{}", self.s("/accounts/normal/user"));
        let d = format!("/d:{}", self.s("/netbios_domain"));
        let pass = self.s("/accounts/normal/password");
        let args = [
            "xfreerdp",
            &v,
            &u,
            &d,
            "/from-stdin:force",
            "/cert:ignore",
            "+auth-only",
        ];
        self.run(&self.ns("client"), &env, &format!("{pass}\n"), &args)
    }
}

/// A ticket cache of one test, removed at the end.
struct Ccache {
    path: PathBuf,
}

impl Ccache {
    fn new(name: &str) -> Ccache {
        let path = std::env::temp_dir().join(format!(
            "rdpdoctor-krb-{}-{name}.ccache",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        Ccache { path }
    }

    fn env(&self, conf: &str) -> Vec<(&'static str, String)> {
        vec![
            ("KRB5_CONFIG", conf.to_string()),
            ("KRB5CCNAME", format!("FILE:{}", self.path.display())),
            ("KRB5_TRACE", "/dev/stderr".to_string()),
        ]
    }
}

impl Drop for Ccache {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir_all(self.path.with_extension("home"));
    }
}

/// "Received error from KDC: CODE/..." as MIT's trace prints it, for KDC error number N.
fn kdc_error(n: i64) -> String {
    format!("Received error from KDC: {}/", KRB5_ERR_BASE + n)
}

fn assert_has(run: &Run, what: &str, needle: &str) {
    assert!(
        run.out.contains(needle),
        "{what}: expected {needle:?} in the output (exit {}):\n{}",
        run.code,
        run.out
    );
}

/// Events the stand-in appended to FILE after OFFSET, waiting (bounded) until COUNT arrived.
fn events_after(file: &str, offset: usize, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(file).expect("stand-in events file");
        let events: Vec<Value> = text
            .get(offset..)
            .unwrap_or("")
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
            .collect();
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn events_len(file: &str) -> usize {
    std::fs::read_to_string(file)
        .expect("stand-in events file")
        .len()
}

fn with_ticket(lab: &KrbLab, name: &str) -> Ccache {
    let cc = Ccache::new(name);
    let run = lab.kinit_account("client", "default", &cc, "normal", None);
    assert_eq!(
        run.code, 0,
        "kinit of the normal user must work:\n{}",
        run.out
    );
    cc
}

#[test]
fn kinit_finds_the_kdc_through_srv_records_and_kvno_gets_the_termsrv_ticket() {
    let lab = KrbLab::get();
    let cc = with_ticket(&lab, "healthy");
    let spn = lab.s("/hosts/rdp-k/spn");
    let run = lab.kvno("default", &cc, &spn);
    assert_eq!(run.code, 0, "kvno {spn}:\n{}", run.out);
    assert_has(&run, "kvno", &format!("{spn}@{}: kvno = ", lab.s("/realm")));
    let klist = lab.run(
        &lab.ns("client"),
        &cc.env(&lab.conf("default")),
        "",
        &["klist", "-e"],
    );
    assert_has(&klist, "klist -e", "aes256-cts-hmac-sha1-96");
    // The KDC came from DNS: MIT's trace shows the SRV query and the DC's address.
    let again = Ccache::new("healthy-trace");
    let run = lab.kinit_account("client", "default", &again, "normal", None);
    assert_has(
        &run,
        "kinit trace",
        &format!(
            "Sending DNS SRV query for _kerberos._udp.{}.",
            lab.s("/realm")
        ),
    );
    assert_has(
        &run,
        "kinit trace",
        &format!("{}:88", lab.s("/kdc/address")),
    );
    // The first answer is a request for pre-authentication (it carries the KDC's clock).
    assert_has(&run, "kinit trace", &kdc_error(KDC_ERR_PREAUTH_REQUIRED));
}

#[test]
fn spn_missing_for_an_alias_and_an_address() {
    let lab = KrbLab::get();
    let cc = with_ticket(&lab, "nospn");
    let alias = format!("TERMSRV/{}", lab.s("/hosts/rdp-alias/fqdn"));
    let by_address = format!("TERMSRV/{}", lab.s("/addresses/host"));
    for spn in [alias, by_address] {
        let run = lab.kvno("default", &cc, &spn);
        assert_ne!(run.code, 0, "kvno {spn} must fail:\n{}", run.out);
        // KDC_ERR_S_PRINCIPAL_UNKNOWN (7): a TGS error travels inside FAST armour, so MIT's
        // trace does not print its number, only the message of that code.
        assert_has(
            &run,
            &spn,
            "Server not found in Kerberos database while getting credentials",
        );
    }
}

#[test]
fn wrong_password_is_preauth_failed() {
    let lab = KrbLab::get();
    let cc = Ccache::new("wrongpw");
    let run = lab.kinit(
        "client",
        "default",
        &cc,
        &lab.s("/accounts/normal/principal"),
        "Not-The-Password-1",
        None,
    );
    assert_ne!(
        run.code, 0,
        "kinit with a wrong password must fail:\n{}",
        run.out
    );
    assert_has(
        &run,
        "kinit",
        "Password incorrect while getting initial credentials", // MIT's words for KDC_ERR_PREAUTH_FAILED (24)
    );
    assert_has(&run, "kinit", &kdc_error(KDC_ERR_PREAUTH_FAILED));
}

#[test]
fn skewed_client_clock_is_krb_ap_err_skew_unless_mit_corrects_it() {
    let lab = KrbLab::get();
    let cc = Ccache::new("skew");
    let run = lab.kinit_account("client", "no_timesync", &cc, "normal", Some("+20m"));
    assert_ne!(
        run.code, 0,
        "kinit 20 minutes ahead without kdc_timesync must fail:\n{}",
        run.out
    );
    assert_has(
        &run,
        "skewed kinit",
        "Clock skew too great while getting initial credentials",
    );
    assert_has(&run, "skewed kinit", &kdc_error(KRB_AP_ERR_SKEW));
    // Control: the same clock with MIT's default kdc_timesync: the client takes the KDC's time from
    // its first error reply and succeeds (what rdpdoctor can measure without a password).
    let cc = Ccache::new("skew-synced");
    let run = lab.kinit_account("client", "default", &cc, "normal", Some("+20m"));
    assert_eq!(
        run.code, 0,
        "kinit with kdc_timesync corrects the clock:\n{}",
        run.out
    );
    // Control: the unskewed client with kdc_timesync off logs on.
    let cc = Ccache::new("skew-none");
    let run = lab.kinit_account("client", "no_timesync", &cc, "normal", None);
    assert_eq!(run.code, 0, "kinit with the right clock:\n{}", run.out);
}

#[test]
fn rc4_only_accounts_fail_on_an_aes_only_client() {
    let lab = KrbLab::get();
    let cc = Ccache::new("rc4");
    let run = lab.kinit_account("client", "aes_only", &cc, "rc4_only", None);
    assert_ne!(
        run.code, 0,
        "an NT-hash-only account on an AES-only client must fail:\n{}",
        run.out
    );
    assert_has(
        &run,
        "kinit rc4user (AES only)",
        "KDC has no support for encryption type",
    );
    assert_has(
        &run,
        "kinit rc4user (AES only)",
        &kdc_error(KDC_ERR_ETYPE_NOSUPP),
    );
    // Control: a client that still allows RC4 gets the TGT, with MIT's deprecation warning.
    let cc = Ccache::new("rc4-allowed");
    let run = lab.kinit_account("client", "default", &cc, "rc4_only", None);
    assert_eq!(run.code, 0, "rc4user with RC4 allowed:\n{}", run.out);
    assert_has(
        &run,
        "kinit rc4user",
        "arcfour-hmac used for authentication is deprecated",
    );
    // The service side: RDP-OLD$ announces no AES, so an AES-only client gets no ticket for it...
    let cc = Ccache::new("rc4-service");
    let run = lab.kinit_account("client", "aes_only", &cc, "normal", None);
    assert_eq!(
        run.code, 0,
        "the normal user on the AES-only client:\n{}",
        run.out
    );
    let old = lab.s("/hosts/rdp-old/spn");
    let run = lab.kvno("aes_only", &cc, &old);
    assert_ne!(
        run.code, 0,
        "kvno {old} on an AES-only client must fail:\n{}",
        run.out
    );
    assert_has(
        &run,
        &old,
        "KDC has no support for encryption type while getting credentials",
    );
    // ...while RDP-K$ (0x1C) still does.
    let run = lab.kvno("aes_only", &cc, &lab.s("/hosts/rdp-k/spn"));
    assert_eq!(
        run.code, 0,
        "kvno TERMSRV/rdp-k on the AES-only client:\n{}",
        run.out
    );
}

#[test]
fn kdc_unreachable_from_the_vpn_and_through_a_dead_srv_target_and_not_found_without_srv() {
    let lab = KrbLab::get();
    let realm = lab.s("/realm");
    let dead = lab.s("/realms_without_kdc/dead_srv");
    let no_srv = lab.s("/realms_without_kdc/no_srv");
    std::thread::scope(|s| {
        let vpn = s.spawn(|| {
            let cc = Ccache::new("vpn");
            lab.kinit_account("vpn", "default", &cc, "normal", None)
        });
        let dead_run = s.spawn(|| {
            let cc = Ccache::new("dead");
            lab.kinit(
                "client",
                "default",
                &cc,
                &format!("kuser@{dead}"),
                "x",
                None,
            )
        });
        let cc = Ccache::new("nosrv");
        let run = lab.kinit(
            "client",
            "default",
            &cc,
            &format!("kuser@{no_srv}"),
            "x",
            None,
        );
        assert_has(
            &run,
            "no SRV records",
            &format!("Cannot find KDC for realm \"{no_srv}\""),
        );
        let run = vpn.join().expect("vpn thread");
        assert_has(
            &run,
            "vpn client",
            &format!("Cannot contact any KDC for realm '{realm}'"),
        );
        assert_has(
            &run,
            "vpn client (the SRV lookup worked)",
            &format!("{}:88", lab.s("/kdc/address")),
        );
        let run = dead_run.join().expect("dead thread");
        assert_has(
            &run,
            "dead KDC",
            &format!("Cannot contact any KDC for realm '{dead}'"),
        );
        assert_has(
            &run,
            "dead KDC",
            &format!("{}:88", lab.s("/addresses/dead_kdc")),
        );
    });
    // Control: the VPN client resolves names through the DC and reaches the session host, so
    // only Kerberos is cut.
    let (port, _) = lab.host("normal");
    let probe = format!("exec 3<>/dev/tcp/{}/{port}", lab.s("/addresses/host"));
    let run = lab.run(&lab.ns("vpn"), &[], "", &["bash", "-c", &probe]);
    assert_eq!(
        run.code, 0,
        "the VPN client reaches the session host:\n{}",
        run.out
    );
}

#[test]
fn rdesktop_logs_on_with_kerberos_and_the_stand_in_verifies_pubkeyauth() {
    let lab = KrbLab::get();
    let _serial = STAND_IN.lock().unwrap_or_else(|e| e.into_inner());
    let cc = with_ticket(&lab, "rdesktop");
    for mode in ["normal", "refuse-ntlm"] {
        let (port, events) = lab.host(mode);
        let offset = events_len(&events);
        let run = lab.rdesktop(&cc, &lab.s("/hosts/rdp-k/fqdn"), &port);
        assert_has(
            &run,
            "rdesktop with a ticket",
            "Connection established using CredSSP.",
        );
        let ev = events_after(&events, offset, 1);
        let ev = ev
            .first()
            .unwrap_or_else(|| panic!("the {mode} stand-in recorded no connection"));
        assert_eq!(ev["result"], "success", "{ev}");
        assert_eq!(ev["package"], "kerberos", "{ev}");
        assert_eq!(
            ev["client_principal"],
            lab.s("/accounts/normal/principal"),
            "{ev}"
        );
        assert_eq!(ev["pubkeyauth"], "verified", "{ev}");
        assert_eq!(
            ev["credentials"]["user"],
            lab.s("/accounts/normal/user"),
            "{ev}"
        );
        assert_eq!(ev["credentials"]["password_empty"], false, "{ev}");
    }
}

#[test]
fn rdesktop_without_a_usable_ticket_fails_nla_as_against_an_ntlm_only_server() {
    let lab = KrbLab::get();
    let _serial = STAND_IN.lock().unwrap_or_else(|e| e.into_inner());
    let (port, events) = lab.host("normal");
    let with = with_ticket(&lab, "rdesktop-noticket");
    let without = Ccache::new("rdesktop-empty");
    let cases = [
        ("no ticket", &without, lab.s("/hosts/rdp-k/fqdn")),
        ("by address", &with, lab.s("/addresses/host")),
        ("alias without SPN", &with, lab.s("/hosts/rdp-alias/fqdn")),
    ];
    for (what, cc, target) in cases {
        let offset = events_len(&events);
        let run = lab.rdesktop(cc, &target, &port);
        assert_has(
            &run,
            what,
            "Failed to initialize NLA, do you have correct Kerberos TGT initialized ?",
        );
        // rdesktop gives up inside TLS without sending a token, then retries with TLS only,
        // which the stand-in refuses (HYBRID_REQUIRED_BY_SERVER).
        let ev = events_after(&events, offset, 2);
        assert!(
            ev.iter()
                .all(|e| e["package"].is_null() && e["result"] != "success"),
            "{what}: {ev:?}"
        );
        assert!(
            ev.iter().any(|e| e["result"] == "hybrid-required"),
            "{what}: {ev:?}"
        );
    }
}

#[test]
fn xfreerdp_ntlm_is_accepted_by_the_normal_host_and_refused_by_the_no_ntlm_host() {
    let lab = KrbLab::get();
    let _serial = STAND_IN.lock().unwrap_or_else(|e| e.into_inner());
    let home = std::env::temp_dir().join(format!("rdpdoctor-krb-{}-xfreerdp", std::process::id()));
    let fqdn = lab.s("/hosts/rdp-k/fqdn");
    let account = format!(
        "{}\\{}",
        lab.s("/netbios_domain"),
        lab.s("/accounts/normal/user")
    );

    let (port, events) = lab.host("normal");
    let offset = events_len(&events);
    let run = lab.xfreerdp(&fqdn, &port, &home);
    assert!(
        !run.out.contains("SPNEGO failed"),
        "NTLM to the normal host:\n{}",
        run.out
    );
    let ev = events_after(&events, offset, 1);
    let ev = ev
        .first()
        .expect("the normal stand-in recorded the NTLM logon");
    assert_eq!(
        (ev["result"].as_str(), ev["package"].as_str()),
        (Some("success"), Some("ntlm")),
        "{ev}"
    );
    assert_eq!(ev["pubkeyauth"], "verified", "{ev}");
    assert_eq!(ev["client_principal"], account, "{ev}");

    let (port, events) = lab.host("refuse-ntlm");
    let offset = events_len(&events);
    let run = lab.xfreerdp(&fqdn, &port, &home);
    assert_has(
        &run,
        "NTLM refused",
        "SPNEGO failed with NTSTATUS: STATUS_NOT_SUPPORTED [0xC00000BB]",
    );
    assert_has(&run, "NTLM refused", "ERRCONNECT_AUTHENTICATION_FAILED");
    let ev = events_after(&events, offset, 1);
    let ev = ev
        .first()
        .expect("the refuse-ntlm stand-in recorded the attempt");
    assert_eq!(ev["result"], "ntlm-refused", "{ev}");
    assert_eq!(ev["refused_account"], account, "{ev}");
    assert_eq!(ev["error_code"], "0xC00000BB", "{ev}");
    let _ = std::fs::remove_dir_all(&home);
}
