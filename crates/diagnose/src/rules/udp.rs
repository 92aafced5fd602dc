//! udp-transport-unavailable, and the UDP fact: what one SYN datagram to the server's UDP port
//! got back (observations `udp`, `check --udp`), judged as a client would (MS-RDPEUDP 3.1.5.1.3:
//! the SYN+ACK acknowledges the client's initial sequence number, names a version both ends
//! know, and keeps both MTUs within 1132..1232).

use super::{finding, Vars};
use crate::model::{Finding, UdpFacts};
use crate::words;
use crate::FindingId;
use rdpdoctor_observations::{
    IcmpError, Observations, UdpOutcome, UdpSetupAnswer, UdpTransportObservation,
};

/// What a client checks in a SYN+ACK, from MS-RDPEUDP (the wire crate encodes and decodes the
/// datagrams; judging them is the diagnosis' part, so the few values it needs are named here).
mod rdpeudp {
    /// uFlags (2.2.2.1), in bit order.
    pub(super) const FLAGS: [(u16, &str); 13] = [
        (0x0001, "SYN"),
        (0x0002, "FIN"),
        (0x0004, "ACK"),
        (0x0008, "DATA"),
        (0x0010, "FEC"),
        (0x0020, "CN"),
        (0x0040, "CWR"),
        (0x0080, "SACK_OPTION"),
        (0x0100, "ACK_OF_ACKS"),
        (0x0200, "SYNLOSSY"),
        (0x0400, "ACKDELAYED"),
        (0x0800, "CORRELATION_ID"),
        (0x1000, "SYNEX"),
    ];
    pub(super) const FLAG_SYN: u16 = 0x0001;
    pub(super) const FLAG_ACK: u16 = 0x0004;
    /// RDPUDP_VERSION_INFO_VALID (2.2.2.9).
    pub(super) const SYNEX_VERSION_INFO_VALID: u16 = 0x0001;
    /// RDPUDP_PROTOCOL_VERSION_1: what both ends use when either names none (3.1.5.1.3).
    pub(super) const VERSION_1: u16 = 0x0001;
    /// The MTU range of 2.2.2.5.
    pub(super) const MTU_MIN: u16 = 1132;
    pub(super) const MTU_MAX: u16 = 1232;

    pub(super) fn version_name(v: u16) -> Option<&'static str> {
        match v {
            0x0001 => Some("RDPUDP_PROTOCOL_VERSION_1"),
            0x0002 => Some("RDPUDP_PROTOCOL_VERSION_2"),
            0x0101 => Some("RDPUDP_PROTOCOL_VERSION_3"),
            _ => None,
        }
    }

    pub(super) fn mtu_in_range(m: u16) -> bool {
        (MTU_MIN..=MTU_MAX).contains(&m)
    }

    /// The names of the flags set, unknown bits as hex.
    pub(super) fn flag_names(flags: u16) -> Vec<String> {
        let table: Vec<(u32, &str)> = FLAGS.iter().map(|(b, n)| (u32::from(*b), *n)).collect();
        super::bit_names(u32::from(flags), &table, 4)
    }
}

/// The names of the bits of `flags` that `table` names, then the rest as hex of `digits` digits.
fn bit_names(flags: u32, table: &[(u32, &str)], digits: usize) -> Vec<String> {
    let mut out: Vec<String> = table
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| (*name).to_string())
        .collect();
    let rest = table.iter().fold(flags, |acc, (bit, _)| acc & !bit);
    if rest != 0 {
        out.push(format!("0x{rest:0digits$X}"));
    }
    out
}

/// The values of MS-RDPBCGR's multitransport PDUs a report names (the probe decodes them).
pub(crate) mod multitransport {
    /// Transport types of the Multitransport Channel Data (2.2.1.3.8, 2.2.1.4.6), in bit order.
    const FLAGS: [(u32, &str); 4] = [
        (0x0001, "TRANSPORTTYPE_UDPFECR"),
        (0x0004, "TRANSPORTTYPE_UDPFECL"),
        (0x0100, "TRANSPORTTYPE_UDP_PREFERRED"),
        (0x0200, "SOFTSYNC_TCP_TO_UDP"),
    ];
    /// Either RDP-UDP transport: what makes the server's block an offer of UDP.
    pub(crate) const UDP: u32 = 0x0001 | 0x0004;

    /// requestedProtocol of an Initiate Multitransport Request (2.2.15.1).
    pub(crate) fn protocol_name(protocol: u16) -> &'static str {
        match protocol {
            0x0001 => "RDP-UDP reliable (INITITATE_REQUEST_PROTOCOL_UDPFECR)",
            0x0002 => "RDP-UDP lossy (INITITATE_REQUEST_PROTOCOL_UDPFECL)",
            _ => "an unknown protocol",
        }
    }

    /// The names of the flags set, unknown bits as hex.
    pub(crate) fn flag_names(flags: u32) -> Vec<String> {
        super::bit_names(flags, &FLAGS, 8)
    }
}

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(u) = &obs.udp else {
        return;
    };
    if let Err(mut lines) = judge(u) {
        let offered = offer(obs);
        if let Some(offer) = &offered {
            lines.push(format!(
                "yet the server offers UDP inside its sessions ({offer}, seen by --full): every client that can use UDP (mstsc, the Windows App) tries it, waits, and stays on TCP; open UDP {} on the way, or stop the offer on the server (\"Select RDP transport protocols\" = Use only TCP) if UDP is not meant to reach it",
                u.address.port()
            ));
        }
        let mut f = finding(FindingId::UdpTransportUnavailable, vars, lines);
        if offered.is_some() {
            // Offered but unreachable: clients pay for it at every connection.
            f.severity = crate::model::Severity::Warning;
        }
        out.push(f);
    }
}

/// The server's offer of UDP in a `--full` session, in words, when it made one: its
/// Multitransport Channel Data with a UDP transport type, or an Initiate Multitransport Request.
pub(crate) fn offer(obs: &Observations) -> Option<String> {
    use multitransport::{flag_names, protocol_name, UDP};
    let m = obs.session.as_ref()?.multitransport.as_ref()?;
    let server = m.server_flags.filter(|f| f & UDP != 0);
    if server.is_none() && m.requests.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(f) = server {
        parts.push(format!(
            "Server Multitransport Channel Data {}",
            flag_names(f).join("|")
        ));
    }
    for r in &m.requests {
        parts.push(format!(
            "Initiate Multitransport Request {} for {}",
            r.request_id,
            protocol_name(r.protocol)
        ));
    }
    Some(parts.join(", "))
}

pub(crate) fn facts(obs: &Observations) -> Option<UdpFacts> {
    let u = obs.udp.as_ref()?;
    let (answered, summary) = match judge(u) {
        Ok(line) => (true, line),
        Err(lines) => (false, lines.join("; ")),
    };
    let version = match (&u.outcome, answered) {
        (UdpOutcome::Answered { answer }, true) => Some(version_words(effective_version(answer))),
        _ => None,
    };
    Some(UdpFacts {
        address: u.address.to_string(),
        answered,
        version,
        summary,
    })
}

/// What came back, in words: `Ok` for an answer a client can use, `Err` with the evidence of
/// why there is none.
fn judge(u: &UdpTransportObservation) -> Result<String, Vec<String>> {
    let sent = format!(
        "{} ({} bytes, RDPUDP_PROTOCOL_VERSION_{} offered) to UDP {}",
        words::count(u.datagrams_sent, "SYN datagram"),
        u.syn_bytes,
        u.version_offered,
        u.address
    );
    let took = words::ms(u.elapsed_ms);
    match &u.outcome {
        UdpOutcome::Answered { answer } => {
            let problems = refusals(u, answer);
            let described = describe(answer);
            if problems.is_empty() {
                Ok(format!("answers: {described}, after {took}"))
            } else {
                let mut lines = vec![format!("{sent}: answered with {described} after {took}")];
                lines.extend(problems.into_iter().map(|p| {
                    format!("a client refuses this answer and stays on TCP: {p}")
                }));
                Err(lines)
            }
        }
        UdpOutcome::Silent => Err(vec![format!(
            "{sent}: no answer within {took}, retry included (at most one retry: an answered SYN is a reflection vector). A firewall drops UDP on the way or at the server, or nothing listens there and the host sends no ICMP"
        )]),
        UdpOutcome::Unreachable { icmp } => Err(vec![format!("{sent}: {}", unreachable(icmp))]),
        UdpOutcome::Malformed {
            bytes,
            excerpt_hex,
            problem,
        } => Err(vec![format!(
            "{sent}: answered with {bytes} bytes that are not an RDPEUDP set-up datagram ({problem}; starts {excerpt_hex}): a client ignores it and stays on TCP"
        )]),
        UdpOutcome::Error { error } => Err(vec![format!(
            "{sent}: the probe failed, so nothing is known about the UDP transport: {error}"
        )]),
    }
}

/// What a client must refuse in a SYN+ACK (MS-RDPEUDP 3.1.5.1.3, 2.2.2.5, 2.2.2.9).
fn refusals(u: &UdpTransportObservation, a: &UdpSetupAnswer) -> Vec<String> {
    let mut out = Vec::new();
    let syn_ack = rdpeudp::FLAG_SYN | rdpeudp::FLAG_ACK;
    if a.flags & syn_ack != syn_ack {
        out.push(format!(
            "uFlags 0x{:04X} ({}) is not a SYN+ACK",
            a.flags,
            rdpeudp::flag_names(a.flags).join("|")
        ));
    }
    if a.sn_source_ack != u.initial_sequence_number {
        out.push(format!(
            "snSourceAck 0x{:08X} does not acknowledge the SYN's initial sequence number 0x{:08X}",
            a.sn_source_ack, u.initial_sequence_number
        ));
    }
    for (name, mtu) in [
        ("uUpStreamMtu", a.upstream_mtu),
        ("uDownStreamMtu", a.downstream_mtu),
    ] {
        if !rdpeudp::mtu_in_range(mtu) {
            out.push(format!(
                "{name} {mtu} is outside {}..{}",
                rdpeudp::MTU_MIN,
                rdpeudp::MTU_MAX
            ));
        }
    }
    let v = effective_version(a);
    if rdpeudp::version_name(v).is_none() {
        out.push(format!(
            "uUdpVer 0x{v:04X} is no RDP-UDP version (MS-RDPEUDP 2.2.2.9 defines 0x0001, 0x0002 and 0x0101)"
        ));
    } else if v > u.version_offered {
        out.push(format!(
            "uUdpVer 0x{v:04X} is above the version the SYN offered (0x{:04X}): the answer must name the highest version both ends support",
            u.version_offered
        ));
    }
    out
}

/// The version the answer settles on: uUdpVer when its SYNEX payload says it is valid, else 1.
fn effective_version(a: &UdpSetupAnswer) -> u16 {
    match (a.synex_flags, a.version) {
        (Some(f), Some(v)) if f & rdpeudp::SYNEX_VERSION_INFO_VALID != 0 => v,
        _ => rdpeudp::VERSION_1,
    }
}

fn version_words(v: u16) -> String {
    rdpeudp::version_name(v).map_or_else(|| format!("0x{v:04X}"), str::to_string)
}

fn describe(a: &UdpSetupAnswer) -> String {
    let correlation = a
        .correlation_id
        .as_deref()
        .map(|c| format!(", correlation id {c}"))
        .unwrap_or_default();
    format!(
        "SYN+ACK {} bytes, flags {}, {}, MTU {}/{} (up/down), receive window {}{correlation}",
        a.length,
        rdpeudp::flag_names(a.flags).join("|"),
        version_words(effective_version(a)),
        a.upstream_mtu,
        a.downstream_mtu,
        a.receive_window
    )
}

/// An ICMP error in words: who sent it says whether the server or a device on the way refused.
fn unreachable(i: &IcmpError) -> String {
    let what = match (i.ip_version, i.icmp_type, i.code) {
        (4, 3, 3) | (6, 1, 4) => "port unreachable",
        (4, 3, 9 | 10 | 13) | (6, 1, 1) => "administratively prohibited",
        (4, 3, 1) | (6, 1, 3) => "host unreachable",
        (4, 3, 0) | (6, 1, 0) => "network unreachable",
        _ => "unreachable",
    };
    let server = i.from == Some(i.address.ip());
    let who = match i.from {
        Some(f) if server => format!("from {f}, the server itself"),
        Some(f) if Some(f) == i.local => format!("from {f}, this machine itself"),
        Some(f) => format!("from {f}, a router or firewall on the way (not the server)"),
        None => "from an unknown sender".to_string(),
    };
    let meaning = if server && what == "port unreachable" {
        "nothing listens on that UDP port on the server: its RDP UDP listener is off (\"Select RDP transport protocols\" set to use only TCP), or it is not a Windows RDP server (xrdp and FreeRDP speak TCP only)"
    } else if server {
        "the server's own firewall rejects the datagram"
    } else {
        "a device on the way rejects UDP to the server"
    };
    format!(
        "ICMP type {} code {} ({what}) {who}: {meaning}",
        i.icmp_type, i.code
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn observation(outcome: UdpOutcome) -> UdpTransportObservation {
        UdpTransportObservation {
            address: "198.18.2.10:3389".parse::<SocketAddr>().unwrap(),
            datagrams_sent: 1,
            syn_bytes: 1232,
            initial_sequence_number: 0x5EED_1234,
            version_offered: 2,
            elapsed_ms: 0.8,
            outcome,
        }
    }

    fn answer() -> UdpSetupAnswer {
        UdpSetupAnswer {
            sn_source_ack: 0x5EED_1234,
            receive_window: 64,
            flags: 0x1005,
            initial_sequence_number: 9,
            upstream_mtu: 1232,
            downstream_mtu: 1232,
            correlation_id: None,
            synex_flags: Some(1),
            version: Some(2),
            length: 1232,
        }
    }

    #[test]
    fn a_usable_answer_is_a_fact_and_anything_else_says_why_not() {
        let ok = judge(&observation(UdpOutcome::Answered { answer: answer() })).unwrap();
        assert!(
            ok.contains("RDPUDP_PROTOCOL_VERSION_2, MTU 1232/1232"),
            "{ok}"
        );
        let bad = |a: UdpSetupAnswer| {
            judge(&observation(UdpOutcome::Answered { answer: a }))
                .unwrap_err()
                .join("\n")
        };
        let e = bad(UdpSetupAnswer {
            version: Some(7),
            ..answer()
        });
        assert!(e.contains("uUdpVer 0x0007 is no RDP-UDP version"), "{e}");
        let e = bad(UdpSetupAnswer {
            sn_source_ack: 1,
            ..answer()
        });
        assert!(e.contains("does not acknowledge"), "{e}");
        let e = bad(UdpSetupAnswer {
            upstream_mtu: 1500,
            ..answer()
        });
        assert!(e.contains("uUpStreamMtu 1500 is outside 1132..1232"), "{e}");
        let e = bad(UdpSetupAnswer {
            version: Some(0x0101),
            ..answer()
        });
        assert!(e.contains("above the version the SYN offered"), "{e}");
        // No SYNEX payload: version 1, which a client accepts.
        assert!(judge(&observation(UdpOutcome::Answered {
            answer: UdpSetupAnswer {
                flags: 0x0005,
                synex_flags: None,
                version: None,
                ..answer()
            }
        }))
        .unwrap()
        .contains("RDPUDP_PROTOCOL_VERSION_1"));
    }

    /// A `--full` session whose server announced `server_flags` and sent `requests` Initiate
    /// Multitransport Requests, with `--udp`'s `outcome`.
    fn offered(server_flags: Option<u32>, requests: usize, outcome: UdpOutcome) -> Observations {
        let mut o = Observations::new(None);
        let declined = requests;
        let requests: Vec<_> = (0..requests)
            .map(|i| serde_json::json!({"request_id": i, "protocol": 1}))
            .collect();
        o.session = serde_json::from_value(serde_json::json!({
            "requested": 1, "selected": 1, "delegated": false, "phase": "session-up",
            "frames": 9, "elapsed_ms": 40.0, "outcome": {"kind": "session-up"},
            "multitransport": {"client_flags": 5, "server_flags": server_flags,
                               "answered": true, "requests": requests, "declined": declined}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        o.udp = Some(observation(outcome));
        o
    }

    #[test]
    fn an_offer_of_udp_whose_port_is_silent_is_a_warning_and_otherwise_stays_info() {
        let find = |o: &Observations| {
            crate::rules::hold::tests::findings(o)
                .into_iter()
                .find(|(id, _, _)| id == "udp-transport-unavailable")
        };
        // Offered in the session (server block and a request), UDP silent: a warning that says so.
        let (_, severity, evidence) = find(&offered(Some(0x0305), 1, UdpOutcome::Silent))
            .unwrap_or_else(|| panic!("no finding"));
        assert_eq!(severity, crate::model::Severity::Warning);
        assert!(
            evidence.contains("yet the server offers UDP inside its sessions (Server Multitransport Channel Data TRANSPORTTYPE_UDPFECR|TRANSPORTTYPE_UDPFECL|TRANSPORTTYPE_UDP_PREFERRED|SOFTSYNC_TCP_TO_UDP, Initiate Multitransport Request 0 for RDP-UDP reliable"),
            "{evidence}"
        );
        // A request alone is an offer too.
        let (_, severity, _) =
            find(&offered(None, 1, UdpOutcome::Silent)).unwrap_or_else(|| panic!("no finding"));
        assert_eq!(severity, crate::model::Severity::Warning);
        // Not offered (no UDP type in the block, no request): the port's silence stays info.
        let (_, severity, evidence) = find(&offered(Some(0x0200), 0, UdpOutcome::Silent))
            .unwrap_or_else(|| panic!("no finding"));
        assert_eq!(severity, crate::model::Severity::Info);
        assert!(!evidence.contains("inside its sessions"), "{evidence}");
        // Offered and answered: no finding, and the session facts join both.
        let o = offered(Some(0x0001), 1, UdpOutcome::Answered { answer: answer() });
        assert!(find(&o).is_none());
        let facts = crate::rules::session_facts(&o).and_then(|f| f.multitransport);
        assert!(
            facts
                .as_deref()
                .is_some_and(|f| f.contains("offered in the session") && f.contains("answers")),
            "{facts:?}"
        );
    }

    #[test]
    fn icmp_names_who_refused() {
        let icmp = |from: &str, code| IcmpError {
            address: "198.18.2.10:3389".parse().unwrap(),
            from: Some(from.parse().unwrap()),
            local: Some("198.18.1.2".parse().unwrap()),
            ip_version: 4,
            icmp_type: 3,
            code,
            error: "Connection refused (os error 111)".into(),
        };
        let e = judge(&observation(UdpOutcome::Unreachable {
            icmp: icmp("198.18.2.10", 3),
        }))
        .unwrap_err()
        .join("");
        assert!(e.contains("the server itself: nothing listens"), "{e}");
        let e = judge(&observation(UdpOutcome::Unreachable {
            icmp: icmp("198.18.1.1", 13),
        }))
        .unwrap_err()
        .join("");
        assert!(
            e.contains("(administratively prohibited) from 198.18.1.1, a router"),
            "{e}"
        );
        let silent = judge(&UdpTransportObservation {
            datagrams_sent: 2,
            ..observation(UdpOutcome::Silent)
        })
        .unwrap_err()
        .join("");
        assert!(
            silent.starts_with("2 SYN datagrams (1232 bytes"),
            "{silent}"
        );
    }
}
