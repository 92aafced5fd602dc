//! dns-timeout, port-rejected-by-firewall, address-unreachable, tls-reset-in-path,
//! path-mtu-blackhole, high-latency, packet-loss: what the path between the client and the
//! server does, from the path probes' facts (observations `path`).

use super::{describe_tls, finding, ttl_walk, Vars};
use crate::catalog::path::{HIGH_LATENCY_MS, LOSS_MIN_SEGMENTS, LOSS_PERCENT};
use crate::model::{Finding, Fix, PathFacts, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    ConnectOutcome, DnsOutcome, IcmpError, MssProbe, Observations, PathObservation,
    ResolverOutcome, SessionOutcome, TcpAttempt, TcpInfoSample, TlsOutcome, TlsRetry, TlsRetryKind,
    TtlWalkTrigger, LOSS_SAMPLE_SEGMENTS,
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
    if let Some(id) = network_refusal(obs) {
        let evidence = obs
            .tcp
            .iter()
            .flat_map(|t| &t.attempts)
            .map(|a| attempt_line(a, path, timeout))
            .collect();
        out.push(finding(id, vars, evidence));
    }
    address_unreachable(obs, path, vars, timeout, out);
    tls_reset(obs, path, vars, out);
    mtu(obs, path, vars, out);
    quality(obs, path, vars, out);
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

/// No address connected, and ICMP (or the error it causes) answered at least one connect, or
/// this machine had no route.
pub(super) fn refused_by_network(obs: &Observations) -> bool {
    network_refusal(obs).is_some()
}

/// Which refusal by the network explains why no address connected: a firewall's reject (the
/// most specific) before a host that does not answer, before no route from this machine.
fn network_refusal(obs: &Observations) -> Option<FindingId> {
    let tcp = obs.tcp.as_ref().filter(|t| t.address.is_none())?;
    let icmp = obs.path.as_ref().map(|p| &p.icmp[..]).unwrap_or(&[]);
    let kinds: Vec<FindingId> = tcp
        .attempts
        .iter()
        .filter_map(|a| {
            let message = icmp
                .iter()
                .find(|i| i.address == a.address && unreachable(i));
            refusal(&a.outcome, message)
        })
        .collect();
    [
        FindingId::PortRejectedByFirewall,
        FindingId::HostUnreachable,
        FindingId::NoRoute,
    ]
    .into_iter()
    .find(|id| kinds.contains(id))
}

/// One connect's refusal, by the ICMP message that answered it (RFC 792, RFC 1812 5.2.7.1;
/// ICMPv6: RFC 4443 3.1), or by the local error when none did.
fn refusal(outcome: &ConnectOutcome, message: Option<&IcmpError>) -> Option<FindingId> {
    if let Some(i) = message {
        let host = match i.ip_version {
            // net and host unreachable, unknown net or host, isolated, net or host for TOS
            4 => matches!(i.code, 0 | 1 | 5..=8 | 11 | 12),
            // no route to destination, address unreachable
            _ => matches!(i.code, 0 | 3),
        };
        // The rest are rejects: administratively prohibited (9, 10, 13; ICMPv6 1, 5, 6) and
        // port unreachable (3; ICMPv6 4), which is what iptables' REJECT sends by default.
        return Some(if host {
            FindingId::HostUnreachable
        } else {
            FindingId::PortRejectedByFirewall
        });
    }
    match outcome {
        ConnectOutcome::Unreachable { no_route: true, .. } => Some(FindingId::NoRoute),
        // EHOSTUNREACH with no message: this machine's own ARP for the address failed, or a
        // route marks it unreachable.
        ConnectOutcome::Unreachable { .. } => Some(FindingId::HostUnreachable),
        _ => None,
    }
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
        Some(from) if Some(from) == i.local => format!(
            "from {from}, this machine itself (no answer to its own ARP or neighbour request: the address is on its own network)"
        ),
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
        (
            ConnectOutcome::Unreachable {
                error,
                no_route: true,
            },
            None,
        ) => format!(
            "failed at once on this machine: {error} (no route to the address; nothing was sent)"
        ),
        (ConnectOutcome::Unreachable { error, .. }, None) => {
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

fn retry_line(r: &TlsRetry) -> String {
    let how = match r.kind {
        TlsRetryKind::Unchanged => "the same ClientHello once more (the control)",
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
}

fn tls_reset(obs: &Observations, path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    if path.tls_retries.is_empty() {
        return;
    }
    let completed = |r: &&TlsRetry| matches!(r.outcome, TlsOutcome::Completed { .. });
    let control = path
        .tls_retries
        .iter()
        .find(|r| r.kind == TlsRetryKind::Unchanged);
    let mut lines: Vec<String> = path.tls_retries.iter().map(retry_line).collect();
    if control.as_ref().is_some_and(completed) {
        lines.push(
            "the reset did not repeat: a passing fault (a reset storm, a firewall failover), not a device that resets every ClientHello; no other retry was made. Run the check again for the server's TLS versions and certificate"
                .to_string(),
        );
        transient_handshake_failure(out, lines);
        return;
    }
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
    // A document saved before the control existed has none: without it nothing accuses.
    let passed = control.is_some()
        && path
            .tls_retries
            .iter()
            .filter(|r| r.kind != TlsRetryKind::Unchanged)
            .any(|r| completed(&r));
    let walk = path
        .ttl_walk
        .as_ref()
        .filter(|w| w.trigger == TtlWalkTrigger::Reset)
        .map(ttl_walk::read);
    let located = walk
        .as_ref()
        .is_some_and(|w| w.proof == Some(ttl_walk::Proof::Reset));
    let walk_lines = walk.map(|w| w.lines).unwrap_or_default();
    if passed || (control.is_some() && located) {
        let mut evidence = first_handshakes(obs);
        evidence.extend(lines);
        evidence.push(if passed {
            "the same ClientHello was reset again, but the server does not care how the ClientHello is cut into segments or whether it names the server: a device in the path reads it and resets the connection"
                .to_string()
        } else {
            "every retry was reset too, however the ClientHello was cut: the device resets every ClientHello, and the TTL walk places it before the server"
                .to_string()
        });
        evidence.extend(walk_lines);
        out.push(finding(FindingId::TlsResetInPath, vars, evidence));
    } else if control.is_none() {
        lines.push(
            "no retry of the same ClientHello was made (observations from an older rdpdoctor): without that control a passing fault cannot be ruled out, so no device is named; run the check again"
                .to_string(),
        );
        add_to_handshake_failed(out, lines);
    } else {
        lines.extend(walk_lines);
        lines.push(
            "every handshake, retries included, was reset right after the ClientHello: ambiguous between a device in the path and a server that cannot use its certificate; Schannel event 36870 in the server's System log decides (cert-private-key-inaccessible), `rdpdoctor check` from the server's own network tells the two apart"
                .to_string(),
        );
        add_to_handshake_failed(out, lines);
    }
}

/// The first handshakes failed but their control completed: the server's TLS works, so the
/// failure is a warning about the path, not a broken server.
fn transient_handshake_failure(out: &mut [Finding], lines: Vec<String>) {
    if let Some(f) = out
        .iter_mut()
        .find(|f| f.id == FindingId::TlsHandshakeFailed)
    {
        f.severity = Severity::Warning;
        f.title = "TLS handshakes were reset once; the same handshake, retried, completed (a passing fault)"
            .to_string();
        f.evidence.extend(lines);
        // The server's own logs come second: the first thing to do about a passing fault is to
        // see whether it comes back.
        f.fixes.insert(
            0,
            Fix {
                text: "Run the check again, a few times: a server whose handshake completes on a retry is working; resets that come back now and then point at a device on the way (an IPS under load, a firewall failing over), whose own log has them".to_string(),
                commands: Vec::new(),
            },
        );
    }
}

fn mss_line(p: &MssProbe) -> String {
    let what = match (&p.connect, &p.outcome) {
        (ConnectOutcome::Connected, o) => describe_tls(o),
        (c, _) => format!("no connection ({c:?})"),
    };
    let again = if p.control {
        "full size retried once (the control): "
    } else {
        ""
    };
    format!(
        "{again}handshake ({}) with TCP MSS {} (packets of at most {} bytes): {what} after {:.1} ms",
        p.version.label(),
        p.mss,
        u32::from(p.mss) + 40,
        p.elapsed_ms
    )
}

/// After a stall a small MSS did not avoid: the TTL walk's lines, and tls-dropped-in-path when
/// the walk saw the ClientHello vanish short of the server.
fn stall_walk(
    obs: &Observations,
    path: &PathObservation,
    vars: &Vars,
    mut lines: Vec<String>,
    out: &mut Vec<Finding>,
) {
    let Some(walk) = path
        .ttl_walk
        .as_ref()
        .filter(|w| w.trigger == TtlWalkTrigger::Stall)
        .map(ttl_walk::read)
    else {
        add_to_handshake_failed(out, lines);
        return;
    };
    lines.extend(walk.lines);
    if walk.proof == Some(ttl_walk::Proof::Dropped) {
        let mut evidence =
            vec!["the X.224 exchange (small packets) completed on every connection".to_string()];
        evidence.extend(first_handshakes(obs));
        evidence.extend(lines);
        out.push(finding(FindingId::TlsDroppedInPath, vars, evidence));
    } else {
        add_to_handshake_failed(out, lines);
    }
}

fn mtu(obs: &Observations, path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(small) = path.mss_probes.first() else {
        return;
    };
    let completed = |p: &&MssProbe| matches!(p.outcome, TlsOutcome::Completed { .. });
    let control = path.mss_probes.iter().find(|p| p.control);
    let mut lines: Vec<String> = path.mss_probes.iter().map(mss_line).collect();
    if control.as_ref().is_some_and(completed) {
        lines.push(
            "the full-size handshake, retried once, completed: the stall did not repeat, so it was a passing fault (congestion, a flapping link), not an MTU black hole; run the check again for the server's TLS versions and certificate"
                .to_string(),
        );
        transient_handshake_failure(out, lines);
        return;
    }
    if completed(&small) && control.is_none() {
        lines.push(
            "no full-size retry was made (observations from an older rdpdoctor): without that control a passing stall cannot be ruled out, so no black hole is named; run the check again"
                .to_string(),
        );
        add_to_handshake_failed(out, lines);
        return;
    }
    if !completed(&small) {
        let mut lines = lines;
        lines.push(
            "a handshake with a small MSS stalled too: the stall is not (only) an MTU black hole"
                .to_string(),
        );
        stall_walk(obs, path, vars, lines, out);
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
fn rtt_ms(s: &TcpInfoSample) -> f64 {
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
        data_segments: samples.iter().map(TcpInfoSample::data_segments).sum(),
        lost_segments: samples.iter().map(TcpInfoSample::lost_segments).sum(),
    })
}

fn quality(obs: &Observations, path: &PathObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let obs_like = Observations {
        path: Some(path.clone()),
        ..Observations::new(None)
    };
    let Some(f) = facts(&obs_like) else {
        return;
    };
    if f.rtt_median_ms > HIGH_LATENCY_MS {
        let mut high = finding(
            FindingId::HighLatency,
            vars,
            vec![format!(
                "median round trip {} over {} (lowest {}), from the kernel's TCP statistics (TCP_INFO); the threshold is {HIGH_LATENCY_MS} ms",
                crate::words::ms(f.rtt_median_ms),
                crate::words::count(f.connections, "probe connection"),
                crate::words::ms(f.rtt_min_ms)
            )],
        );
        let suffers = suffering(obs, &f, out);
        if suffers.is_empty() {
            high.evidence.push(
                "nothing this check saw suffers from it (no packet loss; no --full or --hold session that timed out or was dropped): a far site, reported as a fact"
                    .to_string(),
            );
        } else {
            high.severity = Severity::Warning;
            high.evidence.extend(suffers);
        }
        out.push(high);
    }
    // A device that drops every ClientHello makes TCP retransmit each one: that is the device
    // at work (tls-dropped-in-path says so), not a lossy path.
    let dropped = out.iter_mut().find(|x| x.id == FindingId::TlsDroppedInPath);
    if let (true, Some(d)) = (lossy(&f), dropped) {
        d.evidence.push(format!(
            "{} of {} were retransmitted: the dropped ClientHellos, sent again by TCP; not counted as packet loss",
            f.lost_segments,
            crate::words::count(f.data_segments, "data segment")
        ));
        return;
    }
    if lossy(&f) {
        let servers: Vec<SocketAddr> = path.tcp_info.iter().map(|s| s.remote).collect();
        let dsack: u32 = path.tcp_info.iter().filter_map(|s| s.dsack_dups).sum();
        let evidence = vec![
            format!(
                "{} of {} sent to {} over {} were lost ({:.1}%): {} retransmitted, less {dsack} the server reported as needless duplicates (D-SACK)",
                f.lost_segments,
                crate::words::count(f.data_segments, "data segment"),
                servers.first().map(|s| s.to_string()).unwrap_or_default(),
                crate::words::count(f.connections, "probe connection"),
                loss_percent(&f),
                f.retransmitted_segments,
            ),
            format!(
                "the threshold is {LOSS_MIN_SEGMENTS} lost segments and {LOSS_PERCENT}% of at least {LOSS_SAMPLE_SEGMENTS} data segments (after a first loss the check sends more, one byte per segment, to have enough; SYN retries and tail-loss probes the server saw twice do not count)"
            ),
        ];
        out.push(finding(FindingId::PacketLoss, vars, evidence));
    }
}

/// What a long round trip makes worse, from what the check saw: each loss costs at least a
/// round trip to repair (so loss and latency together freeze a session), and a --full or --hold
/// session that timed out or was dropped did suffer.
fn suffering(obs: &Observations, f: &PathFacts, out: &[Finding]) -> Vec<String> {
    let mut why = Vec::new();
    if lossy(f) {
        why.push(format!(
            "with {:.1}% of data segments lost (packet-loss), every loss costs at least one {:.0} ms round trip to repair: sessions freeze",
            loss_percent(f),
            f.rtt_median_ms
        ));
    }
    if let Some(s) = &obs.session {
        if s.outcome == SessionOutcome::TimedOut {
            why.push(format!(
                "the --full session timed out in its {} phase after {:.0} ms",
                s.phase.label(),
                s.elapsed_ms
            ));
        }
    }
    if out.iter().any(|x| x.id == FindingId::SessionDropped) {
        why.push("the --hold session was dropped (session-dropped)".to_string());
    }
    why
}

fn loss_percent(f: &PathFacts) -> f64 {
    f64::from(f.lost_segments) * 100.0 / f64::from(f.data_segments.max(1))
}

/// Enough segments for a rate, and a rate above what RDP over TCP takes well.
fn lossy(f: &PathFacts) -> bool {
    f.data_segments >= LOSS_SAMPLE_SEGMENTS
        && f.lost_segments >= LOSS_MIN_SEGMENTS
        && loss_percent(f) >= LOSS_PERCENT
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

    /// A probe connection of 10 data segments, `lost` of them retransmitted, `dsack` of those
    /// reported by the server as duplicates.
    fn sample(rtt_us: u32, lost: u32, dsack: u32) -> TcpInfoSample {
        TcpInfoSample {
            remote: "198.18.2.10:3389"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
            rtt_us,
            rttvar_us: 0,
            min_rtt_us: Some(rtt_us),
            total_retrans: lost,
            bytes_retrans: Some(u64::from(lost) * 100),
            bytes_sent: Some(1000),
            segs_out: Some(14),
            snd_mss: 1448,
            rcv_mss: 1448,
            data_segs_out: Some(10),
            dsack_dups: Some(dsack),
        }
    }

    fn with_samples(samples: Vec<TcpInfoSample>) -> Observations {
        let mut obs = Observations::new(None);
        obs.path = Some(PathObservation {
            tcp_info: samples,
            ..PathObservation::default()
        });
        obs
    }

    #[test]
    fn quality_thresholds() {
        let obs = with_samples(vec![
            sample(149_000, 0, 0),
            sample(150_000, 0, 0),
            sample(151_000, 3, 0),
        ]);
        // 3 lost of 30 data segments: a rate, but over too few segments to speak of.
        assert!(ids(&obs).is_empty(), "{:?}", ids(&obs));
        let far = with_samples(vec![
            sample(151_000, 0, 0),
            sample(180_000, 0, 0),
            sample(20_000, 0, 0),
        ]);
        // A far site that loses nothing: a fact, not a warning.
        assert_eq!(ids(&far), ["high-latency"]);
        assert_eq!(severity_of(&far, "high-latency"), Some(Severity::Info));
        let d = crate::diagnose(&far, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(d.verdict.status, crate::model::Status::Healthy);
        // The same round trip with loss: the session suffers.
        let mut slow = vec![
            sample(151_000, 3, 0),
            sample(180_000, 1, 0),
            sample(160_000, 0, 0),
        ];
        slow.extend((0..3).map(|_| sample(20_000, 0, 0)));
        let slow = with_samples(slow);
        assert_eq!(ids(&slow), ["high-latency", "packet-loss"]);
        assert_eq!(severity_of(&slow, "high-latency"), Some(Severity::Warning));
    }

    #[test]
    fn tail_loss_probes_the_server_saw_twice_are_no_loss() {
        // 60 data segments; a tail-loss probe on each of two connections, both reported by the
        // server as duplicates (D-SACK): nothing was lost.
        let mut samples = vec![sample(500, 1, 1), sample(500, 1, 1)];
        samples.extend((0..4).map(|_| sample(500, 0, 0)));
        assert!(ids(&with_samples(samples)).is_empty());
        // One real loss in 60 is chance, two (3.3%) are a lossy path.
        let mut samples = vec![sample(500, 1, 0), sample(500, 1, 1)];
        samples.extend((0..4).map(|_| sample(500, 0, 0)));
        assert!(ids(&with_samples(samples)).is_empty());
        let mut samples = vec![sample(500, 1, 0), sample(500, 1, 0)];
        samples.extend((0..4).map(|_| sample(500, 0, 0)));
        assert_eq!(ids(&with_samples(samples)), ["packet-loss"]);
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
                local: "198.18.1.2".parse().ok(),
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

    /// Every first handshake reset at the ClientHello, then `retries` (kind, completed).
    fn reset_then(retries: &[(&str, bool)]) -> Observations {
        let reset = serde_json::json!({"kind": "reset", "bytes": 0});
        let done =
            serde_json::json!({"kind": "completed", "cipher": "ECDHE-RSA-AES256-GCM-SHA384"});
        let attempts: Vec<_> = ["TLS 1.2", "TLS 1.3"]
            .iter()
            .map(|v| serde_json::json!({"version": v, "requested": 11, "elapsed_ms": 0.2, "outcome": reset}))
            .collect();
        let retries: Vec<_> = retries
            .iter()
            .map(|(kind, ok)| {
                let outcome = if *ok { &done } else { &reset };
                serde_json::json!({"kind": kind, "version": "TLS 1.2", "requested": 11, "elapsed_ms": 1.0, "outcome": outcome})
            })
            .collect();
        let mut obs = Observations::new(None);
        obs.tls = serde_json::from_value(serde_json::json!({ "attempts": attempts })).ok();
        obs.path = serde_json::from_value(serde_json::json!({ "tls_retries": retries })).ok();
        assert!(obs.tls.is_some() && obs.path.is_some());
        obs
    }

    fn severity_of(obs: &Observations, id: &str) -> Option<Severity> {
        let d = crate::diagnose(obs, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        d.findings.iter().find(|f| f.id == id).map(|f| f.severity)
    }

    #[test]
    fn a_reset_is_named_a_device_only_when_the_control_is_reset_too() {
        // The control reset again, the split one passed: a device.
        let obs = reset_then(&[("unchanged", false), ("split-client-hello", true)]);
        assert_eq!(ids(&obs), ["tls-handshake-failed", "tls-reset-in-path"]);
        // The control passed: a passing fault, a warning, nothing named.
        let obs = reset_then(&[("unchanged", true)]);
        assert_eq!(ids(&obs), ["tls-handshake-failed"]);
        assert_eq!(
            severity_of(&obs, "tls-handshake-failed"),
            Some(Severity::Warning)
        );
        // An older document without the control: no accusation either.
        let obs = reset_then(&[("split-client-hello", true)]);
        assert_eq!(ids(&obs), ["tls-handshake-failed"]);
        assert_eq!(
            severity_of(&obs, "tls-handshake-failed"),
            Some(Severity::Blocking)
        );
    }

    #[test]
    fn a_stall_is_a_black_hole_only_when_full_size_stalls_again() {
        let stalled =
            serde_json::json!({"kind": "timed-out", "phase": "tls-handshake", "bytes": 0});
        let done =
            serde_json::json!({"kind": "completed", "cipher": "ECDHE-RSA-AES256-GCM-SHA384"});
        let probe = |mss: u16, control: bool, ok: bool| {
            serde_json::json!({"mss": mss, "control": control, "version": "TLS 1.2", "elapsed_ms": 5.0,
                "connect": {"kind": "connected"}, "outcome": if ok { &done } else { &stalled }})
        };
        let obs_with = |probes: Vec<serde_json::Value>| {
            let mut obs = Observations::new(None);
            obs.tls = serde_json::from_value(serde_json::json!({"attempts": [
                {"version": "TLS 1.2", "requested": 11, "elapsed_ms": 2000.0, "outcome": stalled}]}))
            .ok();
            obs.path = serde_json::from_value(serde_json::json!({ "mss_probes": probes })).ok();
            assert!(obs.tls.is_some() && obs.path.is_some());
            obs
        };
        let obs = obs_with(vec![probe(536, false, true), probe(1460, true, false)]);
        assert_eq!(ids(&obs), ["path-mtu-blackhole", "tls-handshake-failed"]);
        let obs = obs_with(vec![probe(536, false, true), probe(1460, true, true)]);
        assert_eq!(ids(&obs), ["tls-handshake-failed"]);
        assert_eq!(
            severity_of(&obs, "tls-handshake-failed"),
            Some(Severity::Warning)
        );
        let obs = obs_with(vec![probe(536, false, true)]);
        assert_eq!(ids(&obs), ["tls-handshake-failed"]);
    }

    #[test]
    fn a_network_refusal_is_named_by_its_icmp_code_or_the_local_error() {
        let i = |code: u8| IcmpError {
            address: "198.18.2.98:3389"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
            from: "198.18.1.1".parse().ok(),
            local: "198.18.1.2".parse().ok(),
            ip_version: 4,
            icmp_type: 3,
            code,
            error: "No route to host (os error 113)".to_string(),
        };
        let unreachable = |no_route| ConnectOutcome::Unreachable {
            error: "x".to_string(),
            no_route,
        };
        let firewall = Some(FindingId::PortRejectedByFirewall);
        let host = Some(FindingId::HostUnreachable);
        assert_eq!(refusal(&unreachable(false), Some(&i(13))), firewall);
        assert_eq!(refusal(&unreachable(false), Some(&i(10))), firewall);
        assert_eq!(refusal(&ConnectOutcome::Refused, Some(&i(3))), firewall);
        assert_eq!(refusal(&unreachable(false), Some(&i(1))), host);
        assert_eq!(refusal(&unreachable(false), Some(&i(0))), host);
        assert_eq!(refusal(&unreachable(false), None), host);
        assert_eq!(refusal(&unreachable(true), None), Some(FindingId::NoRoute));
        assert_eq!(refusal(&ConnectOutcome::TimedOut, None), None);
    }
}
