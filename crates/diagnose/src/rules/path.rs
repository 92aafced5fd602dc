//! dns-timeout, port-rejected-by-firewall, address-unreachable, tls-reset-in-path,
//! path-mtu-blackhole, high-latency, packet-loss: what the path between the client and the
//! server does, from the path probes' facts (observations `path`).

use super::{describe_tls, finding, Vars};
use crate::catalog::path::{HIGH_LATENCY_MS, LOSS_CONNECTIONS};
use crate::model::{Finding, PathFacts};
use crate::FindingId;
use rdpdoctor_observations::{
    ConnectOutcome, DnsOutcome, IcmpError, MssProbe, Observations, PathObservation,
    ResolverOutcome, TcpAttempt, TlsOutcome, TlsRetryKind,
};
use std::net::SocketAddr;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let empty = PathObservation::default();
    let path = obs.path.as_ref().unwrap_or(&empty);
    let timeout = obs.timeout_secs.unwrap_or(5.0);
    if dns_timed_out(obs) {
        out.push(finding(
            FindingId::DnsTimeout,
            vars,
            dns_evidence(obs, path, timeout),
        ));
    }
    if rejected_by_icmp(obs) {
        let evidence = obs
            .tcp
            .iter()
            .flat_map(|t| &t.attempts)
            .map(|a| attempt_line(a, path, timeout))
            .collect();
        out.push(finding(FindingId::PortRejectedByFirewall, vars, evidence));
    }
    address_unreachable(obs, path, vars, timeout, out);
    tls_reset(obs, path, vars, out);
    mtu(obs, path, vars, out);
    quality(path, vars, out);
}

/// The lookup timed out, or failed with every resolver silent when asked directly.
pub(super) fn dns_timed_out(obs: &Observations) -> bool {
    let Some(dns) = &obs.dns else {
        return false;
    };
    let resolvers = obs.path.as_ref().map(|p| &p.resolvers[..]).unwrap_or(&[]);
    match dns.outcome {
        DnsOutcome::TimedOut => true,
        DnsOutcome::Failed { .. } => {
            !resolvers.is_empty()
                && resolvers
                    .iter()
                    .all(|r| r.outcome == ResolverOutcome::TimedOut)
        }
        _ => false,
    }
}

/// No address connected, and ICMP (or the error it causes) answered at least one connect.
pub(super) fn rejected_by_icmp(obs: &Observations) -> bool {
    let Some(tcp) = &obs.tcp else {
        return false;
    };
    let icmp = obs.path.as_ref().map(|p| &p.icmp[..]).unwrap_or(&[]);
    tcp.address.is_none()
        && tcp.attempts.iter().any(|a| {
            matches!(a.outcome, ConnectOutcome::Unreachable { .. })
                || icmp
                    .iter()
                    .any(|i| i.address == a.address && unreachable(i))
        })
}

fn unreachable(i: &IcmpError) -> bool {
    (i.ip_version == 4 && i.icmp_type == 3) || (i.ip_version == 6 && i.icmp_type == 1)
}

fn dns_evidence(obs: &Observations, path: &PathObservation, timeout: f64) -> Vec<String> {
    let mut evidence = Vec::new();
    if let Some(dns) = &obs.dns {
        evidence.push(match &dns.outcome {
            DnsOutcome::Failed { error } => format!(
                "resolving {:?} failed after {:.1} ms: {error}",
                dns.name, dns.elapsed_ms
            ),
            _ => format!("resolving {:?} got no answer within {timeout} s", dns.name),
        });
    }
    for r in &path.resolvers {
        evidence.push(match &r.outcome {
            ResolverOutcome::TimedOut => format!(
                "resolver {} asked directly: no answer within {timeout} s",
                r.server.ip()
            ),
            ResolverOutcome::Answered { rcode, answers } => format!(
                "resolver {} asked directly: answered {} with {answers} record(s) after {:.1} ms",
                r.server.ip(),
                rcode_name(*rcode),
                r.elapsed_ms
            ),
            ResolverOutcome::Error { error } => {
                format!("resolver {} asked directly: {error}", r.server.ip())
            }
        });
    }
    evidence
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".to_string(),
        2 => "SERVFAIL".to_string(),
        3 => "NXDOMAIN (no such name)".to_string(),
        4 => "NOTIMP".to_string(),
        5 => "REFUSED".to_string(),
        n => format!("RCODE {n}"),
    }
}

/// ICMP destination unreachable codes (RFC 792, RFC 1812 5.2.7.1; ICMPv6: RFC 4443 3.1).
fn icmp_code_name(i: &IcmpError) -> &'static str {
    match (i.ip_version, i.icmp_type, i.code) {
        (4, 3, 0) => "network unreachable",
        (4, 3, 1) => "host unreachable",
        (4, 3, 2) => "protocol unreachable",
        (4, 3, 3) => "port unreachable",
        (4, 3, 4) => "fragmentation needed",
        (4, 3, 9) => "network administratively prohibited",
        (4, 3, 10) => "host administratively prohibited",
        (4, 3, 13) => "communication administratively prohibited",
        (4, 11, _) => "time exceeded",
        (6, 1, 0) => "no route to destination",
        (6, 1, 1) => "communication administratively prohibited",
        (6, 1, 3) => "address unreachable",
        (6, 1, 4) => "port unreachable",
        (6, 1, 5) => "source address failed ingress/egress policy",
        (6, 1, 6) => "reject route to destination",
        _ => "other",
    }
}

fn icmp_line(i: &IcmpError) -> String {
    let family = if i.ip_version == 6 { "ICMPv6" } else { "ICMP" };
    let who = match i.from {
        Some(from) if from == i.address.ip() => format!("from {from}, the server itself"),
        Some(from) => format!("from {from}, a router on the way (not the server)"),
        None => "from an unknown sender".to_string(),
    };
    format!(
        "{family} type {} code {} ({}) {who}",
        i.icmp_type,
        i.code,
        icmp_code_name(i)
    )
}

fn attempt_line(a: &TcpAttempt, path: &PathObservation, timeout: f64) -> String {
    let icmp = path.icmp.iter().find(|i| i.address == a.address);
    let what = match (&a.outcome, icmp) {
        (ConnectOutcome::Connected, _) => "connected".to_string(),
        (_, Some(i)) => format!("answered by {}; connect() said: {}", icmp_line(i), i.error),
        (ConnectOutcome::Refused, None) => "refused (TCP reset)".to_string(),
        (ConnectOutcome::TimedOut, None) => format!("no answer within {timeout} s"),
        (ConnectOutcome::Unreachable { error }, None) => {
            format!("unreachable: {error} (no ICMP detail captured)")
        }
        (ConnectOutcome::Error { error }, None) => format!("failed: {error}"),
    };
    format!(
        "TCP connect to {} {what} after {:.1} ms",
        a.address, a.elapsed_ms
    )
}

fn address_unreachable(
    obs: &Observations,
    path: &PathObservation,
    vars: &Vars,
    timeout: f64,
    out: &mut Vec<Finding>,
) {
    let Some(dns) = &obs.dns else {
        return;
    };
    if !matches!(&dns.outcome, DnsOutcome::Resolved { addresses } if addresses.len() > 1) {
        return;
    }
    let mut results: Vec<&TcpAttempt> = obs.tcp.iter().flat_map(|t| &t.attempts).collect();
    results.extend(&path.other_addresses);
    let ok = |a: &&TcpAttempt| a.outcome == ConnectOutcome::Connected;
    if !results.iter().any(ok) || results.iter().all(ok) {
        return;
    }
    let mut evidence = vec![format!(
        "{:?} resolves to {}",
        dns.name,
        dns.outcome
            .addresses()
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    evidence.extend(results.iter().map(|a| attempt_line(a, path, timeout)));
    if let Some(used) = obs.tcp.as_ref().and_then(|t| t.address) {
        evidence.push(format!("the check went on with {used}"));
    }
    out.push(finding(FindingId::AddressUnreachable, vars, evidence));
}

/// The first handshakes, one line each, as the TLS rules word them.
fn first_handshakes(obs: &Observations) -> Vec<String> {
    obs.tls
        .iter()
        .flat_map(|t| &t.attempts)
        .filter(|a| !matches!(a.outcome, TlsOutcome::NegotiationFailed { .. }))
        .map(|a| format!("{}: {}", a.version.label(), describe_tls(&a.outcome)))
        .collect()
}

/// Adds `lines` to the tls-handshake-failed finding already made, when there is one.
fn add_to_handshake_failed(out: &mut [Finding], lines: Vec<String>) {
    if let Some(f) = out
        .iter_mut()
        .find(|f| f.id == FindingId::TlsHandshakeFailed)
    {
        f.evidence.extend(lines);
    }
}

fn tls_reset(obs: &Observations, path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    if path.tls_retries.is_empty() {
        return;
    }
    let mut lines: Vec<String> = path
        .tls_retries
        .iter()
        .map(|r| {
            let how = match r.kind {
                TlsRetryKind::SplitClientHello => {
                    "the ClientHello's first byte in a TCP segment of its own"
                }
                TlsRetryKind::NoSni => "no server name (SNI) in the ClientHello",
            };
            format!(
                "retry with {how} ({}): {}",
                r.version.label(),
                describe_tls(&r.outcome)
            )
        })
        .collect();
    if !path
        .tls_retries
        .iter()
        .any(|r| r.kind == TlsRetryKind::NoSni)
    {
        lines.push(
            "no retry without SNI: the target is an address, so no ClientHello carried a server name"
                .to_string(),
        );
    }
    let passed = path
        .tls_retries
        .iter()
        .any(|r| matches!(r.outcome, TlsOutcome::Completed { .. }));
    if passed {
        let mut evidence = first_handshakes(obs);
        evidence.extend(lines);
        evidence.push(
            "the server does not care how the ClientHello is cut into segments or whether it names the server: a device in the path reads it and resets the connection"
                .to_string(),
        );
        out.push(finding(FindingId::TlsResetInPath, vars, evidence));
    } else {
        lines.push(
            "every handshake, retries included, was reset right after the ClientHello: ambiguous between a device in the path and a server that cannot use its certificate; Schannel event 36870 in the server's System log decides (cert-private-key-inaccessible), `rdpdoctor check` from the server's own network tells the two apart"
                .to_string(),
        );
        add_to_handshake_failed(out, lines);
    }
}

fn mss_line(p: &MssProbe) -> String {
    let what = match (&p.connect, &p.outcome) {
        (ConnectOutcome::Connected, o) => describe_tls(o),
        (c, _) => format!("no connection ({c:?})"),
    };
    format!(
        "handshake ({}) with TCP MSS {} (packets of at most {} bytes): {what} after {:.1} ms",
        p.version.label(),
        p.mss,
        u32::from(p.mss) + 40,
        p.elapsed_ms
    )
}

fn mtu(obs: &Observations, path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(small) = path.mss_probes.first() else {
        return;
    };
    let completed = |p: &&MssProbe| matches!(p.outcome, TlsOutcome::Completed { .. });
    let lines: Vec<String> = path.mss_probes.iter().map(mss_line).collect();
    if !completed(&small) {
        let mut lines = lines;
        lines.push(
            "a handshake with a small MSS stalled too: the stall is not (only) an MTU black hole"
                .to_string(),
        );
        add_to_handshake_failed(out, lines);
        return;
    }
    let v6 = obs
        .tcp
        .as_ref()
        .and_then(|t| t.address)
        .is_some_and(|a| a.is_ipv6());
    let headers: u32 = if v6 { 60 } else { 40 };
    let lo = path
        .mss_probes
        .iter()
        .filter(completed)
        .map(|p| u32::from(p.mss))
        .max()
        .unwrap_or(u32::from(small.mss));
    let hi = path
        .mss_probes
        .iter()
        .filter(|p| !completed(p) && p.connect == ConnectOutcome::Connected)
        .map(|p| u32::from(p.mss))
        .filter(|m| *m > lo)
        .min();
    let mut evidence =
        vec!["the X.224 exchange (small packets) completed on every connection".to_string()];
    evidence.extend(first_handshakes(obs));
    evidence.extend(lines);
    evidence.push(match hi {
        Some(hi) => format!(
            "estimated path MTU: at least {} and below {} bytes (largest MSS that completed + {headers}, smallest that stalled + {headers}); clamp the MSS to {lo} or less",
            lo + headers,
            hi + headers
        ),
        None => format!(
            "estimated path MTU: at least {} bytes (largest MSS that completed + {headers}); full-size packets do not pass",
            lo + headers
        ),
    });
    out.push(finding(FindingId::PathMtuBlackhole, vars, evidence));
}

/// The round trip of one sample: the lowest the connection saw when the kernel reports it.
fn rtt_ms(s: &rdpdoctor_observations::TcpInfoSample) -> f64 {
    let us = s.min_rtt_us.filter(|m| *m > 0).unwrap_or(s.rtt_us);
    f64::from(us) / 1000.0
}

/// Path-quality facts of every check: round trip and retransmissions from TCP_INFO.
pub(crate) fn facts(obs: &Observations) -> Option<PathFacts> {
    let samples = &obs.path.as_ref()?.tcp_info;
    if samples.is_empty() {
        return None;
    }
    let mut rtts: Vec<f64> = samples.iter().map(rtt_ms).collect();
    rtts.sort_by(|a, b| a.total_cmp(b));
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let bytes: Vec<u64> = samples.iter().filter_map(|s| s.bytes_retrans).collect();
    Some(PathFacts {
        connections: samples.len(),
        rtt_min_ms: round(rtts[0]),
        rtt_median_ms: round(rtts[rtts.len() / 2]),
        retransmitted_segments: samples.iter().map(|s| s.total_retrans).sum(),
        retransmitted_bytes: (bytes.len() == samples.len()).then(|| bytes.iter().sum()),
        connections_with_data_loss: samples
            .iter()
            .filter(|s| s.bytes_retrans.unwrap_or(0) > 0)
            .count(),
    })
}

fn quality(path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let obs_like = Observations {
        path: Some(path.clone()),
        ..Observations::new(None)
    };
    let Some(f) = facts(&obs_like) else {
        return;
    };
    if f.rtt_median_ms > HIGH_LATENCY_MS {
        out.push(finding(
            FindingId::HighLatency,
            vars,
            vec![format!(
                "median round trip {} over {} (lowest {}), from the kernel's TCP statistics (TCP_INFO); the threshold is {HIGH_LATENCY_MS} ms",
                crate::words::ms(f.rtt_median_ms),
                crate::words::count(f.connections, "probe connection"),
                crate::words::ms(f.rtt_min_ms)
            )],
        ));
    }
    if f.connections_with_data_loss >= LOSS_CONNECTIONS {
        let servers: Vec<SocketAddr> = path.tcp_info.iter().map(|s| s.remote).collect();
        let mut evidence = vec![format!(
            "data was retransmitted on {} of {} to {} ({} retransmitted in all{})",
            f.connections_with_data_loss,
            crate::words::count(f.connections, "probe connection"),
            servers.first().map(|s| s.to_string()).unwrap_or_default(),
            crate::words::count(f.retransmitted_segments, "segment"),
            f.retransmitted_bytes
                .map(|b| format!(", {b} bytes of payload"))
                .unwrap_or_default()
        )];
        evidence.push(format!(
            "the threshold is data retransmissions on {LOSS_CONNECTIONS} connections (SYN retries do not count)"
        ));
        out.push(finding(FindingId::PacketLoss, vars, evidence));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use rdpdoctor_observations::{IcmpError, Target, TcpInfoSample, TcpObservation};

    fn ids(obs: &Observations) -> Vec<String> {
        let d = crate::diagnose(obs, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        let mut ids: Vec<String> = d.findings.iter().map(|f| f.id.clone()).collect();
        ids.sort();
        ids
    }

    fn sample(rtt_us: u32, bytes_retrans: u64) -> TcpInfoSample {
        TcpInfoSample {
            remote: "198.18.2.10:3389"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
            rtt_us,
            rttvar_us: 0,
            min_rtt_us: Some(rtt_us),
            total_retrans: u32::from(bytes_retrans > 0),
            bytes_retrans: Some(bytes_retrans),
            bytes_sent: Some(1000),
            segs_out: Some(10),
            snd_mss: 1448,
            rcv_mss: 1448,
        }
    }

    #[test]
    fn quality_thresholds() {
        let mut obs = Observations::new(None);
        obs.path = Some(PathObservation {
            tcp_info: vec![sample(149_000, 0), sample(150_000, 0), sample(151_000, 300)],
            ..PathObservation::default()
        });
        assert!(ids(&obs).is_empty(), "{:?}", ids(&obs));
        obs.path = Some(PathObservation {
            tcp_info: vec![sample(151_000, 300), sample(180_000, 40), sample(20_000, 0)],
            ..PathObservation::default()
        });
        assert_eq!(ids(&obs), ["high-latency", "packet-loss"]);
    }

    #[test]
    fn icmp_port_unreachable_is_a_firewall_not_a_closed_port() {
        let address: SocketAddr = "198.18.2.10:3394"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let mut obs = Observations::new(Target::parse("198.18.2.10:3394", 3389).ok());
        obs.tcp = Some(TcpObservation {
            attempts: vec![TcpAttempt {
                address,
                elapsed_ms: 0.4,
                outcome: ConnectOutcome::Refused,
            }],
            address: None,
            samples_ms: Vec::new(),
        });
        assert_eq!(ids(&obs), ["port-closed"]);
        obs.path = Some(PathObservation {
            icmp: vec![IcmpError {
                address,
                from: "198.18.1.1".parse().ok(),
                ip_version: 4,
                icmp_type: 3,
                code: 3,
                error: "Connection refused (os error 111)".to_string(),
            }],
            ..PathObservation::default()
        });
        let d = crate::diagnose(&obs, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(ids(&obs), ["port-rejected-by-firewall"]);
        assert_eq!(
            d.verdict.finding.as_deref(),
            Some("port-rejected-by-firewall")
        );
        assert!(d.findings[0].evidence[0].contains("198.18.1.1, a router on the way"));
    }
}
