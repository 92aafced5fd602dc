//! `rdpdoctor check` through the path lab (lab/path/start.sh): the real binary runs inside the
//! client network namespace (`ip netns exec`) and reaches real xrdp and freerdp-shadow servers
//! through a router namespace with nftables faults, haproxy and dnsmasq. Each case asserts the
//! verdict, the exact set of finding ids and the exit status; healthy servers through the bare
//! router and through haproxy must stay healthy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{bin, ids, workspace_root};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The transient-reset firewall keeps a token bucket per client for 2 s after its first
/// ClientHello (lab/path/start.sh, set tls_burst): checks of that target run one at a time, each
/// after the previous one's bucket expired.
static FRESH_BURST: Mutex<()> = Mutex::new(());
/// The slow link is one queue: two checks through it at once would measure each other.
static SLOW_LINK: Mutex<()> = Mutex::new(());
const BURST_EXPIRY: Duration = Duration::from_millis(2200);

/// The running path lab. Tests fail, never skip, when it is not running.
struct PathLab {
    doc: Value,
}

impl PathLab {
    fn get() -> PathLab {
        let path = std::env::var_os("RDPDOCTOR_PATH_LAB_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("lab/path/state/path.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the path lab is not running ({}: {e}). Start it as root with `lab/start.sh && lab/path/start.sh` (./test.sh does this for you)",
                path.display()
            )
        });
        PathLab {
            doc: serde_json::from_str(&text).expect("path.json is JSON"),
        }
    }

    /// (client namespace, target string) of target `name`.
    fn target(&self, name: &str) -> (String, String) {
        let t = self.doc["targets"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == name))
            .unwrap_or_else(|| panic!("path lab target {name} is missing from path.json"));
        let ns = t["client_ns"].as_str().expect("client_ns").to_string();
        let target = t["target"].as_str().expect("target").to_string();
        assert!(
            ns.starts_with("rdpd-"),
            "path lab namespaces are named rdpd-*, {name} runs in {ns}"
        );
        (ns, target)
    }

    /// Runs `rdpdoctor check TARGET --json ARGS` in the target's client namespace.
    fn check(&self, name: &str, args: &[&str]) -> (i32, Value, Duration) {
        if name == "tls-reset-transient" {
            let _one = FRESH_BURST.lock().unwrap_or_else(|e| e.into_inner());
            std::thread::sleep(BURST_EXPIRY);
            return self.check_now(name, args);
        }
        if name == "slow-link" {
            let _one = SLOW_LINK.lock().unwrap_or_else(|e| e.into_inner());
            return self.check_now(name, args);
        }
        self.check_now(name, args)
    }

    fn check_now(&self, name: &str, args: &[&str]) -> (i32, Value, Duration) {
        let (ns, target) = self.target(name);
        let start = Instant::now();
        let out = Command::new("ip")
            .args(["netns", "exec", &ns])
            // The path lab makes new certificates on every start: nothing to remember.
            .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
            .arg(bin().get_program())
            .args(["check", &target, "--json"])
            .args(args)
            .output()
            .expect("ip netns exec runs");
        let elapsed = start.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "rdpdoctor check {target} in {ns} did not print JSON ({e}); stdout {text:?}, stderr {:?}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v, elapsed)
    }
}

struct Case {
    target: &'static str,
    timeout: &'static str,
    status: &'static str,
    finding: Option<&'static str>,
    ids: &'static [&'static str],
    exit: i32,
}

const CASES: &[Case] = &[
    // No false alarm: the healthy NLA server through the bare router, by name, and behind haproxy.
    Case {
        target: "healthy-nla-router",
        timeout: "3",
        status: "healthy",
        finding: None,
        ids: &["nla-required"],
        exit: 0,
    },
    Case {
        target: "healthy-nla-name",
        timeout: "3",
        status: "healthy",
        finding: None,
        ids: &["nla-required"],
        exit: 0,
    },
    Case {
        target: "healthy-nla-haproxy",
        timeout: "3",
        status: "healthy",
        finding: None,
        ids: &["nla-required"],
        exit: 0,
    },
    // xrdp says the same through the path as on loopback (lab.rs: xrdp-negotiate).
    Case {
        target: "xrdp-router",
        timeout: "3",
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced"],
        exit: 1,
    },
    Case {
        target: "xrdp-haproxy",
        timeout: "3",
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced"],
        exit: 1,
    },
    // Silence, ICMP and the host's own reset, told apart.
    Case {
        target: "filtered",
        timeout: "2",
        status: "unreachable",
        finding: Some("port-filtered"),
        ids: &["port-filtered"],
        exit: 1,
    },
    Case {
        target: "rejected-admin",
        timeout: "2",
        status: "unreachable",
        finding: Some("port-rejected-by-firewall"),
        ids: &["port-rejected-by-firewall"],
        exit: 1,
    },
    Case {
        target: "rejected-port-unreachable",
        timeout: "2",
        status: "unreachable",
        finding: Some("port-rejected-by-firewall"),
        ids: &["port-rejected-by-firewall"],
        exit: 1,
    },
    // A host that is off (no ARP answer) and no route from this machine are not firewalls.
    Case {
        target: "host-unreachable",
        timeout: "2",
        status: "unreachable",
        finding: Some("host-unreachable"),
        ids: &["host-unreachable"],
        exit: 1,
    },
    Case {
        target: "no-neighbour",
        timeout: "2",
        status: "unreachable",
        finding: Some("host-unreachable"),
        ids: &["host-unreachable"],
        exit: 1,
    },
    Case {
        target: "no-route",
        timeout: "2",
        status: "unreachable",
        finding: Some("no-route"),
        ids: &["no-route"],
        exit: 1,
    },
    Case {
        target: "closed",
        timeout: "2",
        status: "unreachable",
        finding: Some("port-closed"),
        ids: &["port-closed"],
        exit: 1,
    },
    Case {
        target: "tls-reset",
        timeout: "3",
        status: "broken",
        finding: Some("tls-reset-in-path"),
        ids: &[
            "nla-not-enforced",
            "tls-handshake-failed",
            "tls-reset-in-path",
        ],
        exit: 1,
    },
    Case {
        target: "tls-reset-name",
        timeout: "3",
        status: "broken",
        finding: Some("tls-reset-in-path"),
        ids: &[
            "nla-not-enforced",
            "tls-handshake-failed",
            "tls-reset-in-path",
        ],
        exit: 1,
    },
    // A passing fault: the firewall resets the first four ClientHellos only. The control retry
    // completes, so no device is named and the server is not called broken.
    Case {
        target: "tls-reset-transient",
        timeout: "3",
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced", "tls-handshake-failed"],
        exit: 1,
    },
    Case {
        target: "mtu-blackhole",
        timeout: "2",
        status: "broken",
        finding: Some("path-mtu-blackhole"),
        ids: &[
            "nla-not-enforced",
            "path-mtu-blackhole",
            "tls-handshake-failed",
        ],
        exit: 1,
    },
    Case {
        target: "lossy",
        timeout: "5",
        status: "degraded",
        finding: Some("packet-loss"),
        ids: &["nla-not-enforced", "packet-loss"],
        exit: 1,
    },
    Case {
        // A slow link queues every answer behind the one before it: the kernel's round-trip
        // samples pass 150 ms while nothing is lost. A far site is a fact (info), so the top
        // finding is xrdp's own.
        target: "slow-link",
        timeout: "10",
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["high-latency", "nla-not-enforced"],
        exit: 1,
    },
    Case {
        target: "dual-address",
        timeout: "2",
        status: "degraded",
        finding: Some("address-unreachable"),
        ids: &["address-unreachable", "nla-required"],
        exit: 1,
    },
    Case {
        target: "stale-record",
        timeout: "3",
        status: "degraded",
        finding: Some("cert-name-mismatch"),
        ids: &[
            "cert-name-mismatch",
            "host-identity-mismatch",
            "nla-required",
        ],
        exit: 1,
    },
    Case {
        target: "missing-name",
        timeout: "2",
        status: "unreachable",
        finding: Some("dns-failure"),
        ids: &["dns-failure"],
        exit: 1,
    },
    Case {
        target: "dns-timeout",
        timeout: "2",
        status: "unreachable",
        finding: Some("dns-timeout"),
        ids: &["dns-timeout"],
        exit: 1,
    },
    // The TTL walk (lab/path/router.d/depth.sh): a firewall that resets every segment beginning
    // like a TLS record, so no retry gets through. One router before the server: the walk meets
    // the reset at the server's distance, and the reset stays ambiguous.
    Case {
        target: "tls-reset-all",
        timeout: "3",
        status: "broken",
        finding: Some("tls-handshake-failed"),
        ids: &["nla-not-enforced", "tls-handshake-failed"],
        exit: 1,
    },
    // Two routers before the server: a ClientHello that expires at the second is still reset.
    Case {
        target: "tls-reset-deep",
        timeout: "3",
        status: "broken",
        finding: Some("tls-reset-in-path"),
        ids: &[
            "nla-not-enforced",
            "tls-handshake-failed",
            "tls-reset-in-path",
        ],
        exit: 1,
    },
    // The same segments dropped: the ClientHello vanishes at a router that answers SYNs.
    Case {
        target: "tls-drop-deep",
        timeout: "2",
        status: "broken",
        finding: Some("tls-dropped-in-path"),
        ids: &[
            "nla-not-enforced",
            "tls-dropped-in-path",
            "tls-handshake-failed",
        ],
        exit: 1,
    },
    // Three hops with nothing in the way: xrdp as through one router.
    Case {
        target: "healthy-deep",
        timeout: "3",
        status: "degraded",
        finding: Some("nla-not-enforced"),
        ids: &["nla-not-enforced"],
        exit: 1,
    },
];

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {v}"))
}

fn evidence(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn every_path_target_gets_its_exact_findings_and_verdict() {
    let lab = PathLab::get();
    let mut failures = Vec::new();
    for c in CASES {
        let (code, v, _) = lab.check(c.target, &["--timeout", c.timeout]);
        let got = ids(&v);
        let status = v["verdict"]["status"].as_str().unwrap_or("");
        let top = v["verdict"]["finding"].as_str();
        if got != c.ids || status != c.status || top != c.finding || code != c.exit {
            failures.push(format!(
                "{}: got status {status}, finding {top:?}, ids {got:?}, exit {code}; want {}, {:?}, {:?}, {}",
                c.target, c.status, c.finding, c.ids, c.exit
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_path_lab_target_has_a_case() {
    let lab = PathLab::get();
    for t in lab.doc["targets"].as_array().expect("targets") {
        let name = t["name"].as_str().unwrap_or("");
        assert!(
            CASES.iter().any(|c| c.target == name),
            "path lab target {name} has no test case"
        );
    }
}

#[test]
fn icmp_evidence_names_the_router_and_the_code() {
    let lab = PathLab::get();
    let (_, v, elapsed) = lab.check("rejected-admin", &["--timeout", "2"]);
    let e = evidence(finding(&v, "port-rejected-by-firewall"));
    assert!(
        e.contains("ICMP type 3 code 13 (communication administratively prohibited) from 198.18.1.1, a router on the way"),
        "{e}"
    );
    // ICMP answers at once: no deadline was waited for.
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let (_, v, _) = lab.check("rejected-port-unreachable", &["--timeout", "2"]);
    let f = finding(&v, "port-rejected-by-firewall");
    let e = evidence(f);
    assert!(e.contains("ICMP type 3 code 3 (port unreachable)"), "{e}");
    assert!(e.contains("Connection refused"), "{e}");
    // Windows Defender Firewall never sends ICMP: the fix points at the sender, not at it.
    let fixes = f["fixes"].to_string();
    assert!(!fixes.contains("Get-NetFirewallRule"), "{fixes}");
    assert!(fixes.contains("sent the ICMP message"), "{fixes}");
}

#[test]
fn host_unreachable_and_no_route_name_who_could_not_deliver() {
    let lab = PathLab::get();
    let (_, v, elapsed) = lab.check("host-unreachable", &["--timeout", "2"]);
    let e = evidence(finding(&v, "host-unreachable"));
    assert!(
        e.contains("ICMP type 3 code 1 (host unreachable) from 198.18.1.1, a router on the way"),
        "{e}"
    );
    // The router's ARP wait (two requests 250 ms apart), not the deadline.
    assert!(elapsed < Duration::from_millis(1900), "{elapsed:?}");
    let (_, v, _) = lab.check("no-neighbour", &["--timeout", "2"]);
    let e = evidence(finding(&v, "host-unreachable"));
    assert!(
        e.contains("from 198.18.1.2, this machine itself (no answer to its own ARP"),
        "{e}"
    );
    let (_, v, elapsed) = lab.check("no-route", &["--timeout", "2"]);
    let e = evidence(finding(&v, "no-route"));
    assert!(
        e.contains("failed at once on this machine: Network is unreachable"),
        "{e}"
    );
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
}

#[test]
fn tls_reset_retries_say_which_cut_got_through() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("tls-reset", &["--timeout", "3"]);
    let e = evidence(finding(&v, "tls-reset-in-path"));
    // The control came first and was reset again: the reset repeats.
    assert!(
        e.contains("retry with the same ClientHello once more (the control) (TLS 1.2): the server reset the connection after 0 bytes"),
        "{e}"
    );
    assert!(
        e.contains("retry with the ClientHello's first byte in a TCP segment of its own (TLS 1.2): completed"),
        "{e}"
    );
    assert!(
        e.contains("TLS 1.3: the server reset the connection after 0 bytes"),
        "{e}"
    );
    // By name the probe sends SNI, so a retry without it runs too (and is reset: this firewall
    // matches every ClientHello sent in one segment).
    let (_, v, _) = lab.check("tls-reset-name", &["--timeout", "3"]);
    let e = evidence(finding(&v, "tls-reset-in-path"));
    assert!(
        e.contains("retry with no server name (SNI) in the ClientHello (TLS 1.2): the server reset the connection after 0 bytes"),
        "{e}"
    );
    assert!(e.contains("own (TLS 1.2): completed"), "{e}");
}

#[test]
fn mtu_blackhole_brackets_the_path_mtu() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("mtu-blackhole", &["--timeout", "2"]);
    let e = evidence(finding(&v, "path-mtu-blackhole"));
    assert!(
        e.contains("with TCP MSS 536 (packets of at most 576 bytes): completed"),
        "{e}"
    );
    // The control: full size once more, and it stalled again.
    assert!(
        e.contains("full size retried once (the control): handshake (TLS 1.2) with TCP MSS 1460 (packets of at most 1500 bytes): no handshake before the deadline"),
        "{e}"
    );
    // The lab's route MTU is 1000 bytes: the estimate must contain it.
    let line = e
        .lines()
        .find(|l| l.starts_with("estimated path MTU"))
        .unwrap_or_else(|| panic!("no estimate in {e}"));
    let numbers: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let (lo, hi) = (numbers[0], numbers[1]);
    assert!(lo <= 1000 && 1000 < hi, "{line}");
}

#[test]
fn dual_address_evidence_has_each_address() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("dual-address", &["--timeout", "2"]);
    let e = evidence(finding(&v, "address-unreachable"));
    assert!(
        e.contains("TCP connect to 198.18.2.99:3389 no answer within 2 s"),
        "{e}"
    );
    assert!(
        e.contains("TCP connect to 198.18.2.10:3389 connected"),
        "{e}"
    );
}

#[test]
fn dns_timeout_is_bounded_by_the_deadline_and_names_the_silent_resolver() {
    let lab = PathLab::get();
    let (_, v, elapsed) = lab.check("dns-timeout", &["--timeout", "2"]);
    let e = evidence(finding(&v, "dns-timeout"));
    assert!(
        e.contains("resolver 198.18.0.53 asked directly: no answer within 2 s"),
        "{e}"
    );
    // The lookup (2 s) and the direct question (2 s), not glibc's own 10 s retry schedule.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    let (_, v, _) = lab.check("missing-name", &["--timeout", "2"]);
    let e = evidence(finding(&v, "dns-failure"));
    assert!(e.contains("failed"), "{e}");
}

/// A healthy check costs no extra connection: no retry, no MSS probe, no other address; and the
/// path-quality facts come from every probe connection.
#[test]
fn healthy_checks_make_no_retries_and_report_path_quality() {
    let lab = PathLab::get();
    for name in ["healthy-nla-router", "healthy-nla-haproxy", "xrdp-router"] {
        let dir =
            std::env::temp_dir().join(format!("rdpdoctor-path-{}-{name}", std::process::id()));
        let save = dir.with_extension("json");
        let save_arg = save.to_string_lossy().to_string();
        let (_, v, _) = lab.check(name, &["--timeout", "3", "--save", &save_arg]);
        let saved: Value =
            serde_json::from_str(&std::fs::read_to_string(&save).expect("the saved observations"))
                .expect("saved observations are JSON");
        let _ = std::fs::remove_file(&save);
        let path = &saved["path"];
        for key in [
            "tls_retries",
            "mss_probes",
            "other_addresses",
            "icmp",
            "resolvers",
        ] {
            assert!(
                path[key].is_null(),
                "{name}: a healthy check made {key}: {path}"
            );
        }
        let samples = path["tcp_info"].as_array().map(Vec::len).unwrap_or(0);
        let connections = saved["tcp"]["samples_ms"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        assert!(
            samples >= 5 && samples <= connections,
            "{name}: {samples} samples, {connections} connections"
        );
        let facts = &v["facts"]["path"];
        assert_eq!(facts["connections"], samples, "{name}: {facts}");
        let min = facts["rtt_min_ms"].as_f64().unwrap_or(-1.0);
        let median = facts["rtt_median_ms"].as_f64().unwrap_or(-1.0);
        assert!(
            min > 0.0 && min <= median && median < 50.0,
            "{name}: {facts}"
        );
        assert_eq!(facts["connections_with_data_loss"], 0, "{name}: {facts}");
        // Nothing lost: no loss sample was taken, and the segment counts are facts.
        assert_eq!(facts["lost_segments"], 0, "{name}: {facts}");
        assert!(
            facts["data_segments"].as_u64().unwrap_or(0) > 0,
            "{name}: {facts}"
        );
    }
}

#[test]
fn logon_through_haproxy_is_accepted() {
    let lab = PathLab::get();
    let creds = &lab.doc["credentials"]["rdp-a"];
    let (ns, target) = lab.target("healthy-nla-haproxy");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        // The path lab makes new certificates on every start: nothing to remember.
        .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
        .arg(bin().get_program())
        .args(["check", &target, "--json", "--timeout", "3", "--user"])
        .arg(creds["user"].as_str().expect("user"))
        .env(
            "RDPDOCTOR_PASSWORD",
            creds["password"].as_str().expect("password"),
        )
        .output()
        .expect("ip netns exec runs");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(ids(&v), ["auth-ok", "nla-required"], "{v}");
    assert_eq!(v["verdict"]["status"], "healthy");
}

#[test]
fn a_reset_that_does_not_repeat_names_no_device() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("tls-reset-transient", &["--timeout", "3"]);
    let f = finding(&v, "tls-handshake-failed");
    assert_eq!(f["severity"], "warning", "{f}");
    let e = evidence(f);
    assert!(
        e.contains("TLS 1.2: the server reset the connection after 0 bytes"),
        "{e}"
    );
    assert!(
        e.contains("retry with the same ClientHello once more (the control) (TLS 1.2): completed"),
        "{e}"
    );
    assert!(e.contains("the reset did not repeat"), "{e}");
    // Nothing is compared once the control passed: no split or SNI-less retry.
    assert!(!e.contains("first byte in a TCP segment"), "{e}");
}

/// Loss is a rate over at least 50 data segments (the check sends more when it saw a first loss
/// on fewer); a long round trip with nothing lost is a fact, not a warning.
#[test]
fn loss_is_a_rate_and_latency_alone_is_a_fact() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("lossy", &["--timeout", "5"]);
    let f = finding(&v, "packet-loss");
    let e = evidence(f);
    let numbers: Vec<u32> = e
        .lines()
        .next()
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let (lost, segments) = (numbers[0], numbers[1]);
    assert!(segments >= 50 && lost * 50 >= segments, "{e}");
    assert!(e.contains("data segments sent to 198.18.2.40:3389"), "{e}");
    let facts = &v["facts"]["path"];
    assert_eq!(facts["data_segments"], segments, "{facts}");

    let (_, v, _) = lab.check("slow-link", &["--timeout", "10"]);
    let f = finding(&v, "high-latency");
    assert_eq!(f["severity"], "info", "{f}");
    assert!(
        evidence(f).contains("a far site, reported as a fact"),
        "{f}"
    );
    // A spurious retransmission on a slow link is no loss.
    assert!(
        !ids(&v).contains(&"packet-loss".to_string()),
        "{}",
        v["facts"]["path"]
    );
}

/// The walk's hops, as saved in the observations of a check.
fn walk(v: &Value) -> &Value {
    &v["observations"]["path"]["ttl_walk"]
}

/// A device that resets every segment beginning like a TLS record (not only a naive one-segment
/// ClientHello): the split retry is reset too, and only the TTL walk places the device, before
/// the second router, so before the server.
#[test]
fn the_ttl_walk_locates_a_reset_two_routers_before_the_server() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("tls-reset-deep", &["--timeout", "3"]);
    let e = evidence(finding(&v, "tls-reset-in-path"));
    assert!(
        e.contains("retry with the ClientHello's first byte in a TCP segment of its own (TLS 1.2): the server reset the connection"),
        "{e}"
    );
    assert!(
        e.contains(
            "TTL 1: the SYN expired at 198.18.1.1 (ICMP time exceeded); the ClientHello expired"
        ),
        "{e}"
    );
    assert!(
        e.contains("TTL 2: the SYN expired at 198.18.5.2 (ICMP time exceeded); the ClientHello was reset after 0 bytes"),
        "{e}"
    );
    assert!(
        e.contains("a device at or after hop 1 (198.18.1.1, the last to let the ClientHello expire normally) and no further than hop 2 sent the reset"),
        "{e}"
    );
    let w = walk(&v);
    assert_eq!(w["trigger"], "reset", "{w}");
    assert_eq!(w["hops"].as_array().map(Vec::len), Some(2), "{w}");
}

/// With one router before the server the walk cannot tell the server from a device next to it:
/// nothing is accused, and the evidence says how far the walk got.
#[test]
fn a_reset_at_the_server_s_distance_stays_ambiguous() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("tls-reset-all", &["--timeout", "3"]);
    let e = evidence(finding(&v, "tls-handshake-failed"));
    assert!(
        e.contains("TTL 2: the SYN was accepted: the server (or what terminates TCP) is this far; the ClientHello was reset after 0 bytes"),
        "{e}"
    );
    assert!(
        e.contains(
            "sits at or after hop 1 (198.18.1.1, the last router to let the ClientHello expire)"
        ),
        "{e}"
    );
    assert!(
        e.contains("ambiguous between a device in the path and a server"),
        "{e}"
    );
}

/// A ClientHello dropped without a trace: the walk finds the hop that answers a SYN but never
/// expires the ClientHello, and the dropped ClientHellos' retransmissions are not packet loss.
#[test]
fn the_ttl_walk_locates_where_the_client_hello_vanishes() {
    let lab = PathLab::get();
    let (_, v, _) = lab.check("tls-drop-deep", &["--timeout", "2"]);
    let e = evidence(finding(&v, "tls-dropped-in-path"));
    assert!(
        e.contains(
            "with TCP MSS 536 (packets of at most 576 bytes): no handshake before the deadline"
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "TTL 2: the SYN expired at 198.18.5.2 (ICMP time exceeded); the ClientHello vanished"
        ),
        "{e}"
    );
    assert!(
        e.contains("dropped short of the server, by a device at or after hop 1 (198.18.1.1"),
        "{e}"
    );
    assert!(!ids(&v).contains(&"packet-loss".to_string()), "{e}");
    assert_eq!(walk(&v)["trigger"], "stall");
}

/// The walk runs only after the controls: never on a healthy path, not after a reset that did
/// not repeat or a stall a small MSS avoided (an MTU black hole, whose loss is on the server's
/// packets, which a client's TTL cannot locate); after a naive device's reset it runs and adds
/// the hops to the finding the split retry already proved.
#[test]
fn the_ttl_walk_runs_only_after_a_repeated_reset_or_an_unexplained_stall() {
    let lab = PathLab::get();
    for (name, timeout) in [
        ("healthy-deep", "3"),
        ("tls-reset-transient", "3"),
        ("mtu-blackhole", "2"),
    ] {
        let (_, v, _) = lab.check(name, &["--timeout", timeout]);
        assert!(walk(&v).is_null(), "{name}: {}", walk(&v));
    }
    let (_, v, _) = lab.check("tls-reset", &["--timeout", "3"]);
    let e = evidence(finding(&v, "tls-reset-in-path"));
    assert!(e.contains("own (TLS 1.2): completed"), "{e}");
    assert!(e.contains("TTL 1: the SYN expired at 198.18.1.1"), "{e}");
}

/// The UDP transport probe through a router (check --udp): the server's own port unreachable,
/// a router's reject, and silence with exactly one retry; the verdict is the one without --udp.
#[test]
fn the_udp_probe_tells_the_server_from_a_router_and_silence() {
    let lab = PathLab::get();
    let udp_evidence = |v: &Value| evidence(finding(v, "udp-transport-unavailable"));
    let (code, v, _) = lab.check("xrdp-router", &["--timeout", "3", "--udp"]);
    assert_eq!(
        (code, &v["verdict"]["finding"]),
        (1, &Value::from("nla-not-enforced"))
    );
    let e = udp_evidence(&v);
    assert!(
        e.contains("to UDP 198.18.2.10:3390: ICMP type 3 code 3 (port unreachable) from 198.18.2.10, the server itself"),
        "{e}"
    );
    let (_, v, _) = lab.check("healthy-deep", &["--timeout", "3", "--udp"]);
    let e = udp_evidence(&v);
    assert!(
        e.contains("ICMP type 3 code 13 (administratively prohibited) from 198.18.1.1, a router or firewall on the way (not the server)"),
        "{e}"
    );
    let (_, v, _) = lab.check(
        "healthy-deep",
        &["--timeout", "3", "--udp", "--udp-port", "3390"],
    );
    let e = udp_evidence(&v);
    assert!(e.starts_with("2 SYN datagrams (1232 bytes"), "{e}");
    assert_eq!(v["observations"]["udp"]["datagrams_sent"], 2);
    assert_eq!(v["observations"]["udp"]["outcome"]["kind"], "silent");
}
