//! `check`'s Kerberos readiness against the Kerberos lab's real Samba KDC (lab/kerberos/start.sh):
//! the real binary runs inside the lab's client and VPN namespaces (`ip netns exec`), finds the
//! realm's KDC through its SRV records, and reports what the KDC answered. Each fault the lab
//! prepares (proven with MIT kinit/kvno in kerberos_lab.rs) gets its finding; the healthy cases
//! (by name, without a password, through the KDC proxy, with --kdc) stay quiet. Where the
//! pre-authentication may not go, a packet capture (dumpcap, read with tshark's Kerberos
//! dissector, independent of rdpdoctor's own decoding) shows that it did not.
//!
//! Cost: about 8 s (the checks from the VPN namespace wait for their 2 s deadlines; the ones from
//! the client namespace run one at a time, so each capture sees only its own check).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod krblab;
mod remembered;

use common::ids;
use krblab::{in_ns, How, KrbLab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The checks from the client namespace run one at a time (the captures must not mix).
static CLIENT: Mutex<()> = Mutex::new(());

/// One check: its exit status and its JSON.
struct Check {
    code: i32,
    json: Value,
}

impl Check {
    fn kerberos(&self) -> &Value {
        let k = &self.json["observations"]["kerberos"];
        assert!(k.is_object(), "no observations.kerberos in {:#}", self.json);
        k
    }

    fn package(&self) -> (String, String) {
        let p = &self.kerberos()["package"];
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        (s("package"), s("reason"))
    }

    fn finding(&self, id: &str) -> &Value {
        remembered::finding(&self.json, id)
    }

    fn evidence(&self, id: &str) -> String {
        remembered::evidence(self.finding(id))
    }

    /// The ids of the kerberos-* and ntlm-* findings.
    fn kerberos_ids(&self) -> Vec<String> {
        ids(&self.json)
            .into_iter()
            .filter(|i| i.starts_with("kerberos-") || i.starts_with("ntlm-"))
            .collect()
    }

    /// Asserts finding `id` is there and its evidence holds `needle`.
    fn expect(&self, id: &str, needle: &str) {
        let ev = self.evidence(id);
        assert!(ev.contains(needle), "{id}: {needle:?} not in\n{ev}");
    }

    /// (step, transport, KDC error code or message) of every exchange.
    fn exchanges(&self) -> Vec<(String, String, String)> {
        self.kerberos()["exchanges"]
            .as_array()
            .map(|a| a.iter().map(exchange).collect())
            .unwrap_or_default()
    }
}

fn exchange(e: &Value) -> (String, String, String) {
    let o = &e["outcome"];
    let what = match o["kind"].as_str() {
        Some("error") => o["error"]["code"].to_string(),
        Some("ticket") => o["message"].as_str().unwrap_or("").to_string(),
        other => other.unwrap_or("").to_string(),
    };
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
    (s("step"), s("transport"), what)
}

fn check(lab: &KrbLab, which: &str, args: &[&str], password: Option<&str>) -> Check {
    check_how(lab, which, args, password, How::default())
}

fn check_how(
    lab: &KrbLab,
    which: &str,
    args: &[&str],
    password: Option<&str>,
    how: How<'_>,
) -> Check {
    let c = remembered::run_check(in_ns(lab, which, how), args, password);
    Check {
        code: c.code,
        json: c.json,
    }
}

/// The text report of `check ARGS` in namespace WHICH.
fn text(lab: &KrbLab, which: &str, args: &[&str], password: &str) -> String {
    let out = in_ns(lab, which, How::default())
        .arg("check")
        .args(args)
        .env("RDPDOCTOR_PASSWORD", password)
        .output()
        .expect("ip netns exec runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn password(lab: &KrbLab, account: &str) -> String {
    lab.s(&format!("/accounts/{account}/password"))
}

/// A packet capture of Kerberos (port 88) in a namespace, by dumpcap, read back with tshark.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(ns: &str, name: &str) -> Capture {
        let file = std::env::temp_dir().join(format!(
            "rdpdoctor-krb-{}-{name}.pcapng",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&file);
        let child = Command::new("ip")
            .args([
                "netns", "exec", ns, "dumpcap", "-q", "-i", "eth0", "-f", "port 88", "-w",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap runs");
        // dumpcap writes the file's header once it captures.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) == 0 {
            assert!(
                Instant::now() < deadline,
                "dumpcap did not start capturing in {ns}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        Capture { child, file }
    }

    /// Stops the capture (the dumpcap this test started, by its PID) and returns, for every
    /// AS-REQ seen, its client name and PA-DATA types.
    fn finish(mut self) -> Vec<(String, String)> {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(&self.file)
            .args([
                "-Y",
                "kerberos.msg_type == 10",
                "-T",
                "fields",
                "-e",
                "kerberos.CNameString",
                "-e",
                "kerberos.padata_type",
            ])
            .stderr(Stdio::null())
            .output()
            .expect("tshark runs");
        let _ = std::fs::remove_file(&self.file);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (c, p) = l.split_once('\t').unwrap_or((l, ""));
                (c.to_string(), p.to_string())
            })
            .collect()
    }
}

/// Whether an AS-REQ's PA-DATA types (tshark's comma-separated list) include PA-ENC-TIMESTAMP (2).
fn has_preauth(padata: &str) -> bool {
    padata.split(',').any(|t| t.trim() == "2")
}

fn lines_of(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn by_name_a_client_would_use_kerberos_and_so_does_the_logon_with_one_preauth() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let pw = password(&lab, "normal");
    let capture = Capture::start(&lab.ns("client"), "by-name");
    let c = check(
        &lab,
        "client",
        &["rdp-k.lab.test", "--user", "LAB\\kuser"],
        Some(&pw),
    );
    let seen = capture.finish();
    assert_eq!(c.code, 0, "healthy: {:#}", c.json["verdict"]);
    assert_eq!(c.json["verdict"]["status"], "healthy");
    assert_eq!(
        c.kerberos_ids(),
        Vec::<String>::new(),
        "a healthy domain server stays quiet"
    );
    assert_eq!(
        c.package(),
        ("kerberos".to_string(), "ticket-issued".to_string())
    );
    let k = c.kerberos();
    assert_eq!(
        (k["realm"].as_str(), k["realm_source"].as_str()),
        (Some("LAB.TEST"), Some("ntlm-challenge"))
    );
    assert_eq!(k["spn"], "TERMSRV/rdp-k.lab.test");
    assert_eq!(k["kdc_source"], "srv");
    assert_eq!(k["kdcs"][0]["name"], "dc1.lab.test");
    let ex = c.exchanges();
    for transport in ["udp", "tcp"] {
        assert!(
            ex.contains(&("probe".into(), transport.into(), "25".into())),
            "{ex:?}"
        );
    }
    assert!(
        ex.contains(&("tgt".into(), "tcp".into(), "AS-REP".into())),
        "{ex:?}"
    );
    assert!(
        ex.contains(&("service-ticket".into(), "tcp".into(), "TGS-REP".into())),
        "{ex:?}"
    );
    // The capture saw what the record says: the pre-authentication went to the realm's KDC,
    // once: the readiness checks took the logon's TGT and service ticket instead of asking again.
    assert_eq!(
        seen.iter()
            .filter(|(c, p)| c == "kuser" && has_preauth(p))
            .count(),
        1,
        "{seen:?}"
    );
    assert_eq!(c.json["observations"]["logon"]["package"], "Kerberos");
    // The text report says which package the check's own logon used.
    let text = text(
        &lab,
        "client",
        &["rdp-k.lab.test", "--user", "LAB\\kuser"],
        &pw,
    );
    assert!(
        text.contains("the logon above used Kerberos (the KDC issued a ticket for TERMSRV/rdp-k.lab.test); a Windows client would use Kerberos: the KDC issued a ticket for TERMSRV/rdp-k.lab.test"),
        "{text}"
    );
}

#[test]
fn without_a_password_the_kdc_is_asked_about_the_servers_own_account_and_nothing_secret_leaves() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let capture = Capture::start(&lab.ns("client"), "no-password");
    let c = check(&lab, "client", &["rdp-k.lab.test"], None);
    let seen = capture.finish();
    assert_eq!(c.kerberos_ids(), Vec::<String>::new());
    assert_eq!(c.package(), ("kerberos".to_string(), "ready".to_string()));
    let k = c.kerberos();
    assert_eq!(
        (k["client"].as_str(), k["client_kind"].as_str()),
        (Some("RDP-K$@LAB.TEST"), Some("computer-account"))
    );
    assert_eq!(k["preauth"]["kind"], "no-password");
    assert!(c
        .exchanges()
        .contains(&("service-probe".into(), "tcp".into(), "25".into())));
    assert!(
        !seen.is_empty() && seen.iter().all(|(_, p)| !has_preauth(p)),
        "{seen:?}"
    );
}

#[test]
fn an_alias_without_spn_is_kerberos_spn_missing() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let pw = password(&lab, "normal");
    for password in [Some(pw.as_str()), None] {
        let user: &[&str] = if password.is_some() {
            &["--user", "LAB\\kuser"]
        } else {
            &[]
        };
        let mut args = vec!["rdp-alias.lab.test"];
        args.extend(user);
        let c = check(&lab, "client", &args, password);
        assert_eq!(
            c.kerberos_ids(),
            ["kerberos-spn-missing"],
            "password {}",
            password.is_some()
        );
        assert_eq!(c.finding("kerberos-spn-missing")["severity"], "warning");
        let ev = c.evidence("kerberos-spn-missing");
        assert!(
            ev.contains("KDC_ERR_S_PRINCIPAL_UNKNOWN (0x7)")
                && ev.contains("TERMSRV/rdp-alias.lab.test"),
            "{ev}"
        );
        assert_eq!(c.package(), ("ntlm".to_string(), "spn-missing".to_string()));
    }
}

#[test]
fn by_address_kerberos_is_not_used_and_no_preauth_goes_to_a_realm_the_server_named() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let pw = password(&lab, "normal");
    let host = lab.s("/addresses/host");
    let capture = Capture::start(&lab.ns("client"), "by-address");
    let c = check(&lab, "client", &[&host, "--user", "LAB\\kuser"], Some(&pw));
    let seen = capture.finish();
    assert_eq!(c.kerberos_ids(), ["kerberos-not-used"]);
    assert_eq!(c.finding("kerberos-not-used")["severity"], "info");
    assert_eq!(c.json["verdict"]["status"], "healthy");
    let ev = c.evidence("kerberos-not-used");
    assert!(
        ev.contains("address target: a client asks for no service ticket for TERMSRV/<address>, so NTLM; by its name the KDC knows TERMSRV/rdp-k.lab.test"),
        "{ev}"
    );
    // The realm came from the server's CHALLENGE and an address proves nothing: no
    // pre-authentication left the machine, as the capture shows.
    let k = c.kerberos();
    assert_eq!(k["preauth"]["kind"], "withheld");
    assert!(!seen.is_empty(), "the probe itself was captured");
    assert!(seen.iter().all(|(_, p)| !has_preauth(p)), "{seen:?}");
    // The same address with the realm named by the user: the rule lets it go.
    let c = check(
        &lab,
        "client",
        &[&host, "--user", "kuser@LAB.TEST"],
        Some(&pw),
    );
    assert_eq!(c.kerberos()["preauth"]["kind"], "sent");
}

#[test]
fn from_the_vpn_the_kdc_is_unreachable_and_the_kdc_proxy_reaches_it() {
    let lab = KrbLab::get();
    let pw = password(&lab, "normal");
    let start = Instant::now();
    let c = check(
        &lab,
        "vpn",
        &["rdp-k.lab.test", "--user", "LAB\\kuser", "--timeout", "2"],
        Some(&pw),
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.kerberos_ids(), ["kerberos-kdc-unreachable"]);
    let ev = c.evidence("kerberos-kdc-unreachable");
    assert!(
        ev.contains("over UDP: no answer (receive timed out)")
            && ev.contains("over TCP: no answer (connect timed out)"),
        "{ev}"
    );
    assert!(
        ev.contains("DNS reaches the domain, Kerberos does not"),
        "{ev}"
    );
    assert_eq!(
        c.package(),
        ("ntlm".to_string(), "kdc-unreachable".to_string())
    );

    // Through the KDC proxy (python3-kdcproxy) the same VPN client gets its ticket.
    let url = lab.s("/kdc_proxy/url");
    let log = PathBuf::from(lab.s("/kdc_proxy/log"));
    let args = [
        "rdp-k.lab.test",
        "--user",
        "LAB\\kuser",
        "--kdc-proxy",
        url.as_str(),
    ];
    let c = check_how(
        &lab,
        "vpn",
        &args,
        Some(&pw),
        How {
            skew: None,
            ca: true,
        },
    );
    assert_eq!(c.kerberos_ids(), Vec::<String>::new());
    assert_eq!(
        c.package(),
        ("kerberos".to_string(), "ticket-issued".to_string())
    );
    assert!(
        c.exchanges().iter().all(|(_, t, _)| t == "kkdcp"),
        "{:?}",
        c.exchanges()
    );
    // A proxy whose certificate does not verify gets nothing: no request reached it.
    let before = lines_of(&log);
    let c = check(&lab, "vpn", &args, Some(&pw));
    assert_eq!(c.kerberos_ids(), ["kerberos-kdc-unreachable"]);
    c.expect("kerberos-kdc-unreachable", "certificate does not verify");
    assert_eq!(lines_of(&log), before, "the KDC proxy logged a request");
}

#[test]
fn a_realm_without_srv_records_and_a_dead_kdc() {
    let lab = KrbLab::get();
    let pw = password(&lab, "normal");
    let c = check(
        &lab,
        "vpn",
        &[
            "rdp-k.lab.test",
            "--user",
            "kuser@NOSRV.TEST",
            "--timeout",
            "2",
        ],
        Some(&pw),
    );
    assert_eq!(c.kerberos_ids(), ["kerberos-kdc-not-found"]);
    let ev = c.evidence("kerberos-kdc-not-found");
    assert!(
        ev.contains("SRV _kerberos._tcp.NOSRV.TEST asked of 198.18.65.10:53: NXDOMAIN"),
        "{ev}"
    );
    let c = check(
        &lab,
        "vpn",
        &[
            "rdp-k.lab.test",
            "--user",
            "kuser@DEAD.LAB.TEST",
            "--timeout",
            "2",
        ],
        Some(&pw),
    );
    assert_eq!(c.kerberos_ids(), ["kerberos-kdc-unreachable"]);
    c.expect("kerberos-kdc-unreachable", &lab.s("/addresses/dead_kdc"));
    // --kdc names a KDC directly: the dead one, then the real one.
    let dead = lab.s("/addresses/dead_kdc");
    let c = check(
        &lab,
        "vpn",
        &[
            "rdp-k.lab.test",
            "--user",
            "kuser@LAB.TEST",
            "--kdc",
            &dead,
            "--timeout",
            "2",
        ],
        Some(&pw),
    );
    assert_eq!(c.kerberos_ids(), ["kerberos-kdc-unreachable"]);
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let c = check(
        &lab,
        "client",
        &[
            "rdp-k.lab.test",
            "--user",
            "kuser@LAB.TEST",
            "--kdc",
            "dc1.lab.test",
        ],
        Some(&pw),
    );
    assert_eq!(c.kerberos_ids(), Vec::<String>::new());
    assert_eq!(c.kerberos()["kdc_source"], "named");
    assert_eq!(
        c.package(),
        ("kerberos".to_string(), "ticket-issued".to_string())
    );
}

#[test]
fn a_skewed_clock_is_kerberos_clock_skew_measured_from_the_kdcs_answer() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let pw = password(&lab, "normal");
    let c = check_how(
        &lab,
        "client",
        &["rdp-k.lab.test", "--user", "LAB\\kuser"],
        Some(&pw),
        How {
            skew: Some("+20m"),
            ca: false,
        },
    );
    assert!(c
        .kerberos_ids()
        .contains(&"kerberos-clock-skew".to_string()));
    // The logon fell back to NTLM, which this host accepts: a warning (blocking only where NTLM
    // is refused).
    assert_eq!(c.finding("kerberos-clock-skew")["severity"], "warning");
    let ev = c.evidence("kerberos-clock-skew");
    assert!(
        ev.contains("the KDC's clock is -120") && ev.contains("(behind)"),
        "{ev}"
    );
    assert!(ev.contains("KRB_AP_ERR_SKEW (0x25)"), "{ev}");
    let ex = c.exchanges();
    assert!(
        ex.contains(&("tgt".into(), "tcp".into(), "37".into())),
        "{ex:?}"
    );
    assert!(
        ex.contains(&("tgt-retry".into(), "tcp".into(), "AS-REP".into())),
        "{ex:?}"
    );
    assert_eq!(c.package(), ("ntlm".to_string(), "clock-skew".to_string()));
}

#[test]
fn a_wrong_password_and_rc4_only_accounts() {
    let lab = KrbLab::get();
    let _one = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let c = check(
        &lab,
        "client",
        &["rdp-k.lab.test", "--user", "LAB\\kuser"],
        Some("not-the-password"),
    );
    assert!(c
        .kerberos_ids()
        .contains(&"kerberos-preauth-failed".to_string()));
    c.expect("kerberos-preauth-failed", "KDC_ERR_PREAUTH_FAILED (0x18)");
    // rc4user has only an NT hash: the KDC lists no AES key and refuses an AES one.
    let rc4 = password(&lab, "rc4_only");
    let c = check(
        &lab,
        "client",
        &["rdp-k.lab.test", "--user", "LAB\\rc4user"],
        Some(&rc4),
    );
    assert!(c
        .kerberos_ids()
        .contains(&"kerberos-etype-unsupported".to_string()));
    let ev = c.evidence("kerberos-etype-unsupported");
    assert!(
        ev.contains("KDC_ERR_ETYPE_NOSUPP (0xE) \"No key matching entype\""),
        "{ev}"
    );
    // RDP-OLD$ allows RC4 only: the service ticket is refused to an AES-only client.
    let pw = password(&lab, "normal");
    let c = check(
        &lab,
        "client",
        &["rdp-old.lab.test", "--user", "LAB\\kuser"],
        Some(&pw),
    );
    assert!(c
        .kerberos_ids()
        .contains(&"kerberos-etype-unsupported".to_string()));
    c.expect(
        "kerberos-etype-unsupported",
        "TGS-REQ for TERMSRV/rdp-old.lab.test",
    );
}

/// Set in the copy of this test binary that runs inside the client namespace.
const IN_NAMESPACE: &str = "RDPDOCTOR_TEST_IN_KRB_CLIENT_NS";

/// The piece the CredSSP integration will use: sspi 0.23's Negotiate, limited to Kerberos,
/// resolves its KDC round trips with `resolve_with_async_client` over rdpdoctor's recorded KDC
/// client, and gets its tickets from the lab's KDC. The test runs itself again inside the client
/// namespace (sockets and the namespace's resolv.conf), where the KDC is reachable.
#[test]
fn sspi_kerberos_gets_its_tickets_through_the_recorded_kdc_client() {
    let name = "sspi_kerberos_gets_its_tickets_through_the_recorded_kdc_client";
    if std::env::var_os(IN_NAMESPACE).is_none() {
        let lab = KrbLab::get();
        let out = Command::new("ip")
            .args(["netns", "exec", &lab.ns("client"), "timeout", "60"])
            .arg(std::env::current_exe().expect("the test binary"))
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .env(IN_NAMESPACE, password(&lab, "normal"))
            .env("RDPDOCTOR_TEST_KDC", lab.s("/addresses/kdc"))
            .output()
            .expect("ip netns exec runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && all.contains("1 passed"), "{all}");
        return;
    }
    let exchanges = sspi_kerberos_in_namespace();
    let got: Vec<(String, String, String)> = exchanges.iter().map(exchange).collect();
    assert!(got.iter().all(|(step, _, _)| step == "logon"), "{got:?}");
    let whats: Vec<&str> = got.iter().map(|(_, _, w)| w.as_str()).collect();
    assert_eq!(whats, ["25", "AS-REP", "TGS-REP"], "{got:?}");
    let tgs = exchanges.last().unwrap();
    assert_eq!(tgs["service"], "TERMSRV/rdp-k.lab.test");
    assert!(exchanges.iter().any(|e| e["preauth"] == true));
}

/// sspi's Negotiate (Kerberos only) for TERMSRV/rdp-k.lab.test; returns the recorded exchanges
/// as JSON, with the first token (SPNEGO with the AP-REQ) checked.
fn sspi_kerberos_in_namespace() -> Vec<Value> {
    use rdpdoctor_probe::kdc::{Budget, KdcClient, SspiNetworkClient};
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials,
        DataRepresentation, KerberosConfig, Negotiate, NegotiateConfig, SecurityBuffer, Sspi,
        SspiImpl, Username,
    };
    let password = std::env::var(IN_NAMESPACE).unwrap();
    let kdc = format!("tcp://{}:88", std::env::var("RDPDOCTOR_TEST_KDC").unwrap());
    let config = NegotiateConfig::new(
        Box::new(KerberosConfig::new(&kdc, "rdpdoctor-test".to_string())),
        Some("kerberos,!ntlm".to_string()),
        "rdpdoctor-test".to_string(),
    );
    let mut negotiate = Negotiate::new_client(config).unwrap();
    let identity = AuthIdentity {
        username: Username::new_upn("kuser", "LAB.TEST").unwrap(),
        password: password.into(),
    };
    let mut creds = negotiate
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&Credentials::AuthIdentity(identity))
        .execute(&mut negotiate)
        .unwrap()
        .credentials_handle;
    let mut input = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut builder = negotiate
        .initialize_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(
            ClientRequestFlags::MUTUAL_AUTH
                | ClientRequestFlags::INTEGRITY
                | ClientRequestFlags::CONFIDENTIALITY,
        )
        .with_target_data_representation(DataRepresentation::Native)
        .with_target_name("TERMSRV/rdp-k.lab.test")
        .with_input(&mut input)
        .with_output(&mut output);
    let mut client =
        SspiNetworkClient::new(KdcClient::new(Budget::new(Duration::from_secs(5), None)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        negotiate
            .initialize_security_context_impl(&mut builder)
            .unwrap()
            .resolve_with_async_client(&mut client)
            .await
    });
    let result = result.unwrap_or_else(|e| {
        panic!(
            "sspi Kerberos failed: {e}; exchanges {:?}",
            client.exchanges()
        )
    });
    assert_eq!(result.status, sspi::SecurityStatus::ContinueNeeded);
    let token = &output[0].buffer;
    // SPNEGO NegTokenInit ([APPLICATION 0]) carrying the Kerberos AP-REQ.
    assert_eq!(token.first(), Some(&0x60), "{token:02x?}");
    serde_json::to_value(client.exchanges())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}
