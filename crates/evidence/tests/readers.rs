//! The readers on the real public samples (tests/data/evtx, origin and licences in its
//! NOTICE.md) and on the project's own XML and .reg fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_evidence::{read_path, sniff, EvidenceError, FileKind, ReadOptions};
use rdpdoctor_observations::{EventRecord, Evidence, EvidenceKind};
use std::path::PathBuf;

/// A public sample in `tests/data/evtx`. A missing sample fails the test: it must not pass
/// silently in CI.
fn sample(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/evtx")
        .join(name);
    assert!(p.is_file(), "sample {} is missing", p.display());
    p
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(p: PathBuf) -> Evidence {
    match read_path(&p, &ReadOptions::default()) {
        Ok(e) => e,
        Err(e) => panic!("{}: {e}", p.display()),
    }
}

fn find(ev: &Evidence, id: u16) -> &EventRecord {
    ev.events
        .iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no event {id}"))
}

#[test]
fn every_sample_parses_with_the_expected_record_counts() {
    // (file, records read, damaged)
    let table = [
        ("mdecrevoisier__1149_rdp_success.evtx", 11, false),
        (
            "mdecrevoisier__4625_LT10_account_restriction.evtx",
            2,
            false,
        ),
        ("mdecrevoisier__4825_denied_rdp.evtx", 2, false),
        (
            "omerbenamram__RdpCoreTS-Operational_vss-dirty.evtx",
            1910,
            true,
        ),
        (
            "omerbenamram__RemoteConnectionManager-Operational_vss-dirty.evtx",
            1795,
            true,
        ),
        ("omerbenamram__Security_short_selected.evtx", 7, false),
        ("omerbenamram__System_vss7_rcm1056.evtx", 1160, false),
        ("python-evtx__system_termdd.evtx", 1601, false),
    ];
    for (name, records, damaged) in table {
        let ev = read(sample(name));
        let src = &ev.sources[0];
        assert_eq!(src.kind, EvidenceKind::Evtx);
        assert_eq!(src.records, records, "{name}");
        assert_eq!(src.kept, ev.events.len(), "{name}");
        assert!(src.kept > 0, "{name}: no RDP-relevant event kept");
        if damaged {
            // The VSS-recovered files: partial read plus a count of what failed.
            assert!(src.errors > 0, "{name}: expected parse errors");
            assert!(!src.error_samples.is_empty());
        } else {
            assert_eq!(src.errors, 0, "{name}: {:?}", src.error_samples);
        }
        assert!(src.first.is_some() && src.first <= src.last, "{name}");
    }
}

#[test]
fn security_4625_status_fields() {
    let ev = read(sample("mdecrevoisier__4625_LT10_account_restriction.evtx"));
    let e = find(&ev, 4625);
    assert_eq!(e.field("Status"), Some("0xc000006e"));
    assert_eq!(e.field("LogonType"), Some("10"));
    assert_eq!(e.field("IpAddress"), Some("10.23.23.9"));
    assert_eq!(e.channel, "Security");

    let ev = read(sample("omerbenamram__Security_short_selected.evtx"));
    let e = find(&ev, 4625);
    assert_eq!(e.field("Status"), Some("0xc000006d"));
    assert_eq!(e.field("SubStatus"), Some("0xc000006a"));
    let drop = find(&ev, 5152);
    assert_eq!(drop.field("DestPort"), Some("3389"));
    // 5 of the 7 records are not about RDP (other ports, other events).
    assert_eq!(ev.events.len(), 2);
}

#[test]
fn security_4825_and_wfp_5156() {
    let ev = read(sample("mdecrevoisier__4825_denied_rdp.evtx"));
    assert_eq!(find(&ev, 4825).field("ClientAddress"), Some("10.23.23.9"));
}

/// The Security records of an RDP session: only the ones that belong to remote desktop are kept
/// (LogonType 10, not the NLA network logon 3; WFP 5156 to 3389, not to 445).
#[test]
fn security_rdp_session_records_are_kept_and_the_rest_dropped() {
    let ev = read(fixture("security-rdp-sessions.xml"));
    assert_eq!(ev.sources[0].records, 6);
    assert_eq!(
        ev.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [5156, 4624, 4779, 4778]
    );
    let logon = find(&ev, 4624);
    assert_eq!(logon.field("LogonType"), Some("10"));
    assert_eq!(logon.field("IpAddress"), Some("10.20.30.41"));
    assert_eq!(find(&ev, 5156).field("DestPort"), Some("3389"));
    assert_eq!(find(&ev, 4778).field("ClientAddress"), Some("10.20.30.41"));
    assert_eq!(find(&ev, 4779).field("ClientName"), Some("LAPTOP-MR"));
}

/// LocalSessionManager puts its fields under UserData/EventXML: a session's whole lifecycle.
#[test]
fn local_session_manager_userdata_lifecycle() {
    let ev = read(fixture("lsm-session.xml"));
    assert_eq!(
        ev.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [21, 22, 40, 24, 25, 23]
    );
    let logon = find(&ev, 21);
    assert_eq!(logon.field("User"), Some(r"CORP\mrivera"));
    assert_eq!(logon.field("SessionID"), Some("7"));
    assert_eq!(logon.field("Address"), Some("10.20.30.41"));
    assert_eq!(find(&ev, 40).field("Reason"), Some("12"));
    assert_eq!(find(&ev, 25).field("Address"), Some("10.20.30.58"));
    assert_eq!(
        logon.channel,
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
    );
}

#[test]
fn rcm_userdata_1149_and_classic_1056() {
    let ev = read(sample("mdecrevoisier__1149_rdp_success.evtx"));
    let e = find(&ev, 1149);
    assert_eq!(e.field("Param1"), Some("admmig"));
    assert_eq!(e.field("Param3"), Some("10.23.123.11"));
    let ev = read(sample(
        "omerbenamram__RemoteConnectionManager-Operational_vss-dirty.evtx",
    ));
    assert_eq!(find(&ev, 261).field("listenerName"), Some("RDP-Tcp"));
    assert_eq!(find(&ev, 1149).field("Param2"), Some("MAGNETIC-DESKTO"));

    let ev = read(sample("omerbenamram__System_vss7_rcm1056.evtx"));
    assert_eq!(ev.events.len(), 1);
    let e = find(&ev, 1056);
    assert_eq!(e.qualifiers, Some(49152));
    assert_eq!(e.event_source.as_deref(), Some("TermService"));
    assert!(e
        .binary
        .as_deref()
        .is_some_and(|b| b.starts_with("59EFF2E3")));
    assert!(e.positional(0).is_some());
}

#[test]
fn termdd_56_positional_data_and_binary() {
    let ev = read(sample("python-evtx__system_termdd.evtx"));
    let e = find(&ev, 56);
    assert_eq!(e.provider, "TermDD");
    assert_eq!(e.qualifiers, Some(49162));
    assert_eq!(e.positional(0), Some(r"\Device\Termdd"));
    assert_eq!(e.positional(1), Some("10.3.16.5"));
    assert!(e.binary.is_some());
    assert_eq!(find(&ev, 50).positional(1), Some("X.224"));
    // SCM 7036 kept only for the Remote Desktop services.
    assert!(ev
        .events
        .iter()
        .filter(|e| e.id == 7036)
        .all(|e| e.all_text().contains("Remote Desktop")
            || e.all_text().to_ascii_lowercase().contains("termservice")));
}

#[test]
fn xml_fixture_schannel_and_rcm_certificate_events() {
    let ev = read(fixture("system-machinekeys.xml"));
    assert_eq!(ev.sources[0].kind, EvidenceKind::EventXml);
    assert_eq!(ev.sources[0].records, 6);
    let e = find(&ev, 36870);
    assert_eq!(e.provider, "Schannel");
    assert_eq!(e.field("ErrorCode"), Some("0x8009030d"));
    assert_eq!(
        e.field("type"),
        Some("server"),
        "field names are case-insensitive"
    );
    assert_eq!(
        e.activity_id.as_deref(),
        Some("{7e2a1b44-90d3-0001-a51b-2a7ed390dc01}")
    );
    let e = find(&ev, 1057);
    assert_eq!(e.qualifiers, Some(49152));
    assert!(e.all_text().contains("Keyset does not exist"));
    assert_eq!(find(&ev, 1058).positional(0), Some("Access is denied."));
    // Sorted by time: the 1056 from May comes first.
    assert_eq!(ev.events[0].id, 1056);
}

#[test]
fn xml_with_events_root_and_utf16_encoding() {
    let ev = read(fixture("schannel-tls-disabled.xml"));
    assert_eq!(
        ev.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [36871, 36874, 36888, 36887]
    );
    let utf8 = read(fixture("rdpclient.xml"));
    let utf16 = read(fixture("rdpclient-utf16.xml"));
    assert_eq!(utf8.events.len(), 4);
    assert_eq!(
        utf8.events
            .iter()
            .map(|e| (e.id, e.field("Value").map(str::to_string)))
            .collect::<Vec<_>>(),
        utf16
            .events
            .iter()
            .map(|e| (e.id, e.field("Value").map(str::to_string)))
            .collect::<Vec<_>>()
    );
    let d = find(&utf8, 1026);
    assert_eq!(d.field("Value"), Some("2308"));
    assert_eq!(
        d.channel,
        "Microsoft-Windows-TerminalServices-RDPClient/Operational"
    );
    assert_eq!(d.activity_id, find(&utf8, 1024).activity_id);
}

#[test]
fn damaged_xml_keeps_what_parses_and_counts_the_rest() {
    let ev = read(fixture("damaged.xml"));
    let src = &ev.sources[0];
    assert_eq!(src.records, 2);
    assert_eq!(src.errors, 3);
    assert_eq!(
        ev.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [56, 1056]
    );
}

#[test]
fn a_file_that_is_not_an_event_log_is_refused() {
    match read_path(&fixture("not-a-log.txt"), &ReadOptions::default()) {
        Err(EvidenceError::Unrecognized { file }) => assert!(file.ends_with("not-a-log.txt")),
        other => panic!("expected Unrecognized, got {other:?}"),
    }
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"\x00\x01\x02garbage"), None);
    // An XML file without any <Event> is not an event export either.
    assert!(rdpdoctor_evidence::read_bytes(
        "x.xml",
        b"<Events><Foo/></Events>".to_vec(),
        &ReadOptions::default()
    )
    .is_err());
    // A truncated evtx header must not panic.
    assert!(rdpdoctor_evidence::read_bytes(
        "x.evtx",
        b"ElfFile\0\x01\x02".to_vec(),
        &ReadOptions::default()
    )
    .is_err());
}

#[test]
fn sniffing_is_by_content() {
    assert_eq!(
        sniff(&std::fs::read(fixture("ts-default.reg")).unwrap_or_default()),
        Some(FileKind::Reg)
    );
    assert_eq!(
        sniff(&std::fs::read(fixture("ts-broken-regedit4.reg")).unwrap_or_default()),
        Some(FileKind::Reg)
    );
    assert_eq!(
        sniff(&std::fs::read(fixture("rdpclient-utf16.xml")).unwrap_or_default()),
        Some(FileKind::EventXml)
    );
    assert_eq!(
        sniff(&std::fs::read(fixture("obs-tls-fails-everywhere.json")).unwrap_or_default()),
        Some(FileKind::Json)
    );
    assert_eq!(sniff(b"ElfFile\0rest"), Some(FileKind::Evtx));
}

#[test]
fn reg_export_utf16_with_bom_and_crlf() {
    let raw = std::fs::read(fixture("ts-default.reg")).unwrap_or_default();
    assert!(
        raw.starts_with(&[0xFF, 0xFE]),
        "fixture must be UTF-16LE with BOM"
    );
    assert!(
        raw.windows(4).any(|w| w == [b'\r', 0, b'\n', 0]),
        "fixture must have CRLF line ends"
    );
    let ev = read(fixture("ts-default.reg"));
    assert_eq!(ev.sources[0].kind, EvidenceKind::Reg);
    let port = ev
        .registry
        .iter()
        .find(|v| v.name == "PortNumber")
        .unwrap_or_else(|| panic!("no PortNumber"));
    assert_eq!(
        port.key,
        r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
    );
    assert_eq!(port.dword(), Some(3389));
    // A wrapped hex value joins across lines.
    let ss = ev
        .registry
        .iter()
        .find(|v| v.name == "SelfSignedCertificate")
        .map(|v| v.display());
    assert_eq!(
        ss.as_deref(),
        Some("hex:59,ef,f2,e3,0b,41,7c,0d,55,a1,3b,c9,27,84,90,7a,61,aa,12,34")
    );
}

#[test]
fn regedit4_and_a_value_type_the_parser_cannot_take() {
    let ev = read(fixture("ts-broken-regedit4.reg"));
    let src = &ev.sources[0];
    assert_eq!(src.errors, 1, "{:?}", src.error_samples);
    assert!(ev
        .registry
        .iter()
        .any(|v| v.name == "SecurityLayer" && v.dword() == Some(0)));
    assert!(ev
        .registry
        .iter()
        .any(|v| v.name == "PortNumber" && v.dword() == Some(3390)));
}

#[test]
fn firewall_export_keeps_only_remote_desktop_rules() {
    let ev = read(fixture("firewall-default.reg"));
    assert_eq!(ev.sources[0].records, 6);
    assert_eq!(ev.sources[0].kept, 5);
    assert!(!ev.registry.iter().any(|v| v.name.starts_with("FPS-SMB")));
}
