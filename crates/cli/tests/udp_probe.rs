//! `rdpdoctor check --udp`, the RDP UDP transport probe, against the lab: the RDPEUDP responder
//! stand-in's five modes (lab/udp_responder.py: answer, silent, badversion, malformed, closed),
//! each behind a real xrdp on TCP as a Windows server has both, and the real servers (xrdp,
//! freerdp-shadow-cli), which do not speak RDPEUDP. Wireshark's rdpudp dissector (Debian's
//! tshark) decodes the SYN rdpdoctor sends; the responder's own log counts the datagrams, so the
//! one-retry bound is seen from the receiving side. The path lab's cases (a router's reject,
//! silence behind a router, the server's port unreachable across a router) are in path.rs.
//!
//! Cost: about 7 s (tshark's start-up, the silent port's two waits, eight checks).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;
mod rdpeudp_lab;

use common::{ids, run_json, workspace_root, Lab};
use rdpeudp_lab::{port, udp_state};
use serde_json::Value;
use std::sync::Mutex;

/// The tests send to the same ports, and the tshark test asserts that a plain check sends no
/// datagram: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many SYNs with `isn` the responder recorded (its events log, one JSON object a line).
fn syns_received(state: &Value, isn: u64) -> usize {
    let log = workspace_root().join(state["events"].as_str().expect("events log"));
    std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["received"]["initial_sequence_number"] == isn)
        .count()
}

/// `check TCP --udp --udp-port UDP --json`: the real xrdp on TCP, the responder on UDP.
fn check_udp(tcp: &str, udp: u16) -> (i32, Value) {
    run_json(&[
        "check",
        tcp,
        "--udp",
        "--udp-port",
        &udp.to_string(),
        "--timeout",
        "2",
        "--json",
    ])
}

fn udp_finding(v: &Value) -> String {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "udp-transport-unavailable"))
        .map(|f| {
            assert_eq!(f["severity"], "info", "{f}");
            common::evidence_text(f)
        })
        .unwrap_or_else(|| panic!("no udp-transport-unavailable in {}", v["findings"]))
}

#[test]
fn each_responder_mode_is_reported_as_a_client_would_take_it() {
    let _one = one_at_a_time();
    let lab = Lab::get();
    let state = udp_state();
    let xrdp = lab.addr("xrdp-negotiate");
    // Without --udp the same server: the verdict every --udp run must keep.
    let (plain_code, plain) = run_json(&["check", &xrdp, "--timeout", "2", "--json"]);
    assert!(plain["observations"]["udp"].is_null(), "no UDP by default");

    let (code, v) = check_udp(&xrdp, port(&state, "answer"));
    assert_eq!(ids(&v), ids(&plain), "an answer is a fact, not a finding");
    assert_eq!(
        (code, &v["verdict"]["status"]),
        (plain_code, &plain["verdict"]["status"])
    );
    let facts = &v["facts"]["udp"];
    assert_eq!(facts["answered"], true, "{facts}");
    assert_eq!(facts["version"], "RDPUDP_PROTOCOL_VERSION_2", "{facts}");
    let o = &v["observations"]["udp"];
    assert_eq!(
        o["outcome"]["answer"]["sn_source_ack"], o["initial_sequence_number"],
        "the SYN+ACK acknowledges our SYN: {o}"
    );
    assert_eq!(o["datagrams_sent"], 1);
    assert_eq!(
        syns_received(&state, o["initial_sequence_number"].as_u64().unwrap()),
        1
    );
    assert!(
        v["verdict"]["scope"].as_str().unwrap_or("").contains(
            "The RDP UDP transport: one SYN datagram (at most one retry) to UDP 127.0.0.1:"
        ),
        "{}",
        v["verdict"]["scope"]
    );

    // Silent: one retry, never a third datagram, as the responder counts them.
    let (code, v) = check_udp(&xrdp, port(&state, "silent"));
    assert_eq!(
        code, plain_code,
        "an info finding does not change the exit status"
    );
    let e = udp_finding(&v);
    assert!(
        e.starts_with("2 SYN datagrams (1232 bytes, RDPUDP_PROTOCOL_VERSION_2 offered)"),
        "{e}"
    );
    let isn = v["observations"]["udp"]["initial_sequence_number"]
        .as_u64()
        .unwrap();
    assert_eq!(
        syns_received(&state, isn),
        2,
        "the responder saw the SYN and one retry"
    );

    let (_, v) = check_udp(&xrdp, port(&state, "badversion"));
    let e = udp_finding(&v);
    assert!(
        e.contains(
            "a client refuses this answer and stays on TCP: uUdpVer 0x0007 is no RDP-UDP version"
        ),
        "{e}"
    );

    let (_, v) = check_udp(&xrdp, port(&state, "malformed"));
    let e = udp_finding(&v);
    assert!(
        e.contains("answered with 8 bytes that are not an RDPEUDP set-up datagram (8 bytes: too short for RDPUDP_SYNDATA_PAYLOAD"),
        "{e}"
    );

    let (_, v) = check_udp(&xrdp, port(&state, "closed"));
    let e = udp_finding(&v);
    assert!(
        e.contains("ICMP type 3 code 3 (port unreachable) from 127.0.0.1, the server itself"),
        "{e}"
    );
    assert_eq!(
        v["observations"]["udp"]["datagrams_sent"], 1,
        "an ICMP error ends it at once"
    );
}

/// xrdp and freerdp-shadow-cli speak TCP only: their UDP port is closed, which is info, and the
/// verdict is the one a check without --udp gives.
#[test]
fn real_servers_have_no_udp_transport_and_keep_their_verdict() {
    let _one = one_at_a_time();
    let lab = Lab::get();
    for name in ["xrdp-negotiate", "freerdp-nla"] {
        let addr = lab.addr(name);
        let (plain_code, plain) = run_json(&["check", &addr, "--timeout", "3", "--json"]);
        let (code, v) = run_json(&["check", &addr, "--udp", "--timeout", "3", "--json"]);
        let e = udp_finding(&v);
        assert!(
            e.contains(&format!("to UDP {addr}: ICMP type 3 code 3 (port unreachable) from 127.0.0.1, the server itself: nothing listens")),
            "{name}: {e}"
        );
        let mut without: Vec<String> = ids(&v);
        without.retain(|i| i != "udp-transport-unavailable");
        assert_eq!(without, ids(&plain), "{name}");
        assert_eq!(code, plain_code, "{name}");
        assert_eq!(
            v["verdict"]["finding"], plain["verdict"]["finding"],
            "{name}"
        );
        assert_eq!(v["facts"]["udp"]["answered"], false, "{name}");
    }
}

/// The SYN rdpdoctor sends, as Wireshark's rdpudp dissector reads it; and a check without --udp
/// sends no datagram at all.
#[test]
fn tshark_decodes_the_syn_rdpdoctor_sends() {
    let _one = one_at_a_time();
    let lab = Lab::get();
    let state = udp_state();
    let answer = port(&state, "answer");
    let silent = port(&state, "silent");
    let xrdp = lab.addr("xrdp-negotiate");
    let xrdp_port: u16 = lab.port("xrdp-negotiate").parse().expect("port");
    let capture = rdpeudp_lab::Capture::start(&[answer, silent, xrdp_port], silent);
    // A plain check of the same server: nothing on its UDP port.
    let (_, _) = run_json(&["check", &xrdp, "--timeout", "2", "--json"]);
    let (_, v) = check_udp(&xrdp, answer);
    let rows = capture.stop();
    let isn = format!(
        "0x{:08x}",
        v["observations"]["udp"]["initial_sequence_number"]
            .as_u64()
            .expect("isn")
    );
    assert!(
        !rows.iter().any(|r| r[1] == xrdp_port.to_string()),
        "a check without --udp sent a datagram: {rows:?}"
    );
    let syn = rows
        .iter()
        .find(|r| r[1] == answer.to_string() && r[4] == isn)
        .unwrap_or_else(|| panic!("tshark saw no SYN to {answer}: {rows:?}"));
    assert_eq!(
        (
            syn[2].as_str(),
            syn[3].as_str(),
            syn[4].as_str(),
            syn[5].as_str(),
            syn[6].as_str(),
            syn[10].as_str()
        ),
        (
            "0xffffffff",
            "0x1001",
            isn.as_str(),
            "1232",
            "0x0002",
            "1240"
        ),
        "{syn:?}"
    );
    assert!(
        syn[7].is_empty(),
        "tshark flags our SYN as malformed: {syn:?}"
    );
    let reply = rows
        .iter()
        .find(|r| r[0] == answer.to_string())
        .unwrap_or_else(|| panic!("no SYN+ACK from {answer}: {rows:?}"));
    assert_eq!(
        (reply[2].as_str(), reply[3].as_str()),
        (isn.as_str(), "0x1005"),
        "{reply:?}"
    );
}
