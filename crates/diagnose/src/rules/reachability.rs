//! dns-failure, port-closed, port-filtered, connection-reset, closed-without-reply, no-reply,
//! not-rdp: how far a connection gets before any RDP answer.

use super::{describe_negotiation, finding, Vars};
use crate::model::Finding;
use crate::FindingId;
use rdpdoctor_observations::{
    ConnectOutcome, DnsOutcome, NegotiationOutcome, Observations, Transport,
};

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let timeout = obs.timeout_secs.unwrap_or(5.0);
    dns_failure(obs, timeout, vars, out);
    tcp_failure(obs, timeout, vars, out);
    no_rdp_answer(obs, timeout, vars, out);
}

/// dns-failure: the name did not resolve.
fn dns_failure(obs: &Observations, timeout: f64, vars: &Vars, out: &mut Vec<Finding>) {
    // A resolver that never answered is path::check's dns-timeout.
    if let Some(dns) = obs
        .dns
        .as_ref()
        .filter(|_| !super::path::dns_timed_out(obs))
    {
        match &dns.outcome {
            DnsOutcome::Failed { error } => out.push(finding(
                FindingId::DnsFailure,
                vars,
                vec![format!(
                    "resolving {:?} failed after {:.1} ms: {error}",
                    dns.name, dns.elapsed_ms
                )],
            )),
            DnsOutcome::TimedOut => out.push(finding(
                FindingId::DnsFailure,
                vars,
                vec![format!(
                    "resolving {:?} got no answer within {timeout} s",
                    dns.name
                )],
            )),
            _ => {}
        }
    }
}

/// port-closed, port-filtered: no TCP connection to any address.
fn tcp_failure(obs: &Observations, timeout: f64, vars: &Vars, out: &mut Vec<Finding>) {
    if let Some(tcp) = &obs.tcp {
        // ICMP from a router, or no route, is path::check's port-rejected-by-firewall,
        // host-unreachable or no-route.
        if tcp.address.is_none()
            && !tcp.attempts.is_empty()
            && !super::path::refused_by_network(obs)
        {
            let evidence = tcp
                .attempts
                .iter()
                .map(|a| {
                    let what = match &a.outcome {
                        ConnectOutcome::Refused => "refused (TCP reset)".to_string(),
                        ConnectOutcome::TimedOut => format!("no answer within {timeout} s"),
                        ConnectOutcome::Unreachable { error, .. } => {
                            format!("unreachable: {error}")
                        }
                        ConnectOutcome::Error { error } => format!("failed: {error}"),
                        ConnectOutcome::Connected => "connected".to_string(),
                    };
                    format!(
                        "TCP connect to {} {what} after {:.1} ms",
                        a.address, a.elapsed_ms
                    )
                })
                .collect();
            let all_refused = tcp
                .attempts
                .iter()
                .all(|a| a.outcome == ConnectOutcome::Refused);
            let id = if all_refused {
                FindingId::PortClosed
            } else {
                FindingId::PortFiltered
            };
            out.push(finding(id, vars, evidence));
        }
    }
}

/// connection-reset, closed-without-reply, no-reply, not-rdp: TCP connected, but the X.224
/// Connection Request got no RDP answer.
fn no_rdp_answer(obs: &Observations, timeout: f64, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(first) = obs.negotiation.first() else {
        return;
    };
    let address = obs
        .tcp
        .as_ref()
        .and_then(|t| t.address)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "the server".to_string());
    let said = format!(
        "{address} accepted TCP; the X.224 Connection Request got {}",
        describe_negotiation(&first.outcome)
    );
    let after = format!("after {:.1} ms", first.elapsed_ms);
    match &first.outcome {
        NegotiationOutcome::Transport(Transport::Reset { .. }) => out.push(finding(
            FindingId::ConnectionReset,
            vars,
            vec![format!("{said} {after}")],
        )),
        NegotiationOutcome::Transport(Transport::Closed { .. }) => out.push(finding(
            FindingId::ClosedWithoutReply,
            vars,
            vec![format!("{said} {after}")],
        )),
        NegotiationOutcome::Transport(Transport::TimedOut { bytes, .. }) => {
            let mut f = finding(
                FindingId::NoReply,
                vars,
                vec![format!("{said} ({timeout} s deadline)")],
            );
            if *bytes > 0 {
                // Not silence: part of an answer came, then the server stalled.
                f.title = format!(
                    "The server accepted TCP, sent {bytes} bytes of an answer, then stalled"
                );
            }
            out.push(f);
        }
        NegotiationOutcome::NotRdp { excerpt_text, .. } => {
            let mut evidence = vec![said];
            if let Some(kind) = excerpt_text.as_deref().and_then(identify_banner) {
                evidence.push(format!("the reply looks like {kind}"));
            }
            out.push(finding(FindingId::NotRdp, vars, evidence));
        }
        NegotiationOutcome::Malformed { .. } => {
            out.push(finding(FindingId::NotRdp, vars, vec![said]))
        }
        _ => {}
    }
}

/// Names the service behind a text banner.
fn identify_banner(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_uppercase();
    if t.starts_with("SSH-") {
        Some("an SSH server")
    } else if t.starts_with("HTTP/") || t.starts_with("<!DOCTYPE") || t.starts_with("<HTML") {
        Some("a web server")
    } else if t.starts_with("220") {
        Some("an FTP or SMTP server")
    } else if t.starts_with("+OK") {
        Some("a POP3 server")
    } else if t.starts_with("* OK") {
        Some("an IMAP server")
    } else if t.starts_with("RFB ") {
        Some("a VNC server")
    } else {
        None
    }
}
