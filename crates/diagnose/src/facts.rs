//! Derived facts shown beside the findings (latency, protocols, TLS versions, certificate).

use crate::context::Context;
use crate::describe::describe_negotiation;
use crate::model::{CertificateFacts, Facts};
use crate::rules::cert_names;
use rdpdoctor_observations::{protocol, Certificate, NegotiationOutcome, Observations, TlsOutcome};

pub(crate) fn derive(obs: &Observations, ctx: &Context) -> Facts {
    let mut facts = Facts {
        route: obs.gateway.as_ref().map(gateway_line),
        rdp_file: obs
            .rdp_file
            .as_ref()
            .map(rdp_file_lines)
            .unwrap_or_default(),
        ..Facts::default()
    };
    addresses_and_latency(obs, &mut facts);
    negotiation(obs, &mut facts);
    facts.rdp_security = crate::rules::rdp_security_facts(obs);
    if let Some(tls) = &obs.tls {
        for a in &tls.attempts {
            if let TlsOutcome::Completed { cipher } = &a.outcome {
                facts.tls_versions.push(a.version.label().to_string());
                facts.tls_cipher = Some(format!("{} with {cipher}", a.version.label()));
            }
        }
        facts.certificate = tls.certificate.as_ref().map(|c| certificate(c, ctx));
    }
    facts
}

/// The addresses the name resolves to, the one used, and the median TCP connect time.
fn addresses_and_latency(obs: &Observations, facts: &mut Facts) {
    if let Some(dns) = &obs.dns {
        facts.addresses = dns
            .outcome
            .addresses()
            .iter()
            .map(|a| a.to_string())
            .collect();
    }
    if let Some(tcp) = &obs.tcp {
        facts.address_used = tcp.address.map(|a| a.to_string());
        let mut s = tcp.samples_ms.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        if !s.is_empty() {
            facts.connect_ms_median = Some(s[s.len() / 2]);
        }
    }
}

/// One line per X.224 request, the protocol an up-to-date client gets, every protocol some
/// request got, and whether NLA is required.
fn negotiation(obs: &Observations, facts: &mut Facts) {
    facts.negotiation = obs
        .negotiation
        .iter()
        .map(|a| match a.implied_by {
            Some(by) => format!(
                "{} -> {} (not sent: implied by the answer to {})",
                protocol::names(a.requested),
                describe_negotiation(&a.outcome),
                protocol::names(by)
            ),
            None => format!(
                "{} -> {} ({:.1} ms)",
                protocol::names(a.requested),
                describe_negotiation(&a.outcome),
                a.elapsed_ms
            ),
        })
        .collect();
    facts.selected_protocol = obs.negotiation.first().and_then(|a| match a.outcome {
        NegotiationOutcome::Selected { protocol: p, .. } => Some(protocol::names(p)),
        NegotiationOutcome::NoNegotiationData => Some("RDP (no negotiation)".to_string()),
        _ => None,
    });
    for a in &obs.negotiation {
        let name = match a.outcome {
            NegotiationOutcome::Selected { protocol: p, .. } => protocol::names(p),
            NegotiationOutcome::NoNegotiationData => "RDP".to_string(),
            _ => continue,
        };
        if !facts.protocols_supported.contains(&name) {
            facts.protocols_supported.push(name);
        }
    }
    let answered: Vec<_> = obs
        .negotiation
        .iter()
        .filter(|a| {
            matches!(
                a.outcome,
                NegotiationOutcome::Selected { .. }
                    | NegotiationOutcome::Failure { .. }
                    | NegotiationOutcome::NoNegotiationData
            )
        })
        .collect();
    if !answered.is_empty() {
        let nla = protocol::NLA;
        let accepted_without = answered.iter().any(|a| {
            a.requested & nla == 0
                && matches!(
                    a.outcome,
                    NegotiationOutcome::Selected { .. } | NegotiationOutcome::NoNegotiationData
                )
        });
        let accepted_with = answered.iter().any(
            |a| matches!(a.outcome, NegotiationOutcome::Selected { protocol: p, .. } if p & nla != 0),
        );
        facts.nla_required = Some(accepted_with && !accepted_without);
    }
}

/// The certificate the server presents, as shown.
fn certificate(c: &Certificate, ctx: &Context) -> CertificateFacts {
    let key = format!("{} {} bits", c.key_type, c.key_bits);
    CertificateFacts {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        names: cert_names(c),
        not_before: c.not_before.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        not_after: if c.never_expires {
            "9999-12-31 23:59:59 UTC (never expires: RFC 5280 \"no well-defined expiration date\")"
                .to_string()
        } else {
            c.not_after.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
        },
        days_left: crate::model::whole_days(c.not_after.as_second() - ctx.now.as_second()),
        expired: c.not_after < ctx.now && !c.never_expires,
        not_before_unix: c.not_before.as_second(),
        not_after_unix: if c.never_expires {
            253_402_300_799
        } else {
            c.not_after.as_second()
        },
        never_expires: c.never_expires,
        self_signed: c.self_signed,
        key,
        signature: c.signature_algorithm.clone(),
        sha1: c.sha1_hex.clone(),
        sha256: c.sha256_hex.clone(),
    }
}

/// The gateway leg in one line: where, over what, as whom, how long the first channel took.
fn gateway_line(gw: &rdpdoctor_observations::GatewayObservation) -> String {
    use rdpdoctor_observations::{GatewayOutcome, GatewayTransport};
    let over = match gw.transport {
        Some(GatewayTransport::Websocket) => " over WebSocket",
        Some(GatewayTransport::HttpChannels) => {
            " over the two HTTP channels (RDG_OUT_DATA, RDG_IN_DATA)"
        }
        None => "",
    };
    let logon = gw.logon.as_ref().map_or_else(String::new, |l| {
        format!(
            ", logon {}{}{}",
            l.method.scheme(),
            l.user
                .as_deref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default(),
            if l.accepted { "" } else { " (refused)" }
        )
    });
    let state = match gw.outcome {
        GatewayOutcome::Open => format!(
            "channel to {}:{} set up in {:.0} ms",
            gw.target, gw.target_port, gw.elapsed_ms
        ),
        _ => format!("stopped after {:.0} ms", gw.elapsed_ms),
    };
    // The path this side can measure ends at the gateway: its TCP connect is the one latency.
    let connect = gw
        .connects
        .iter()
        .find(|c| c.outcome == rdpdoctor_observations::ConnectOutcome::Connected)
        .map(|c| format!(", TCP connect {:.1} ms", c.elapsed_ms))
        .unwrap_or_default();
    format!(
        "RD Gateway {}:{}{over}{connect}{logon}; {state}",
        gw.gateway, gw.port
    )
}

/// The .rdp file in lines: where it is, then each line followed, not followed, unknown.
fn rdp_file_lines(f: &rdpdoctor_observations::RdpFileObservation) -> Vec<String> {
    let mut lines = vec![format!("{} ({})", f.path, f.encoding)];
    let each = |what: &str, l: &rdpdoctor_observations::RdpFileLine| {
        let effect = if l.effect.is_empty() {
            String::new()
        } else {
            format!(": {}", l.effect)
        };
        format!("{what} line {}: {}{effect}", l.line, l.text)
    };
    lines.extend(f.followed.iter().map(|l| each("followed", l)));
    lines.extend(f.not_followed.iter().map(|l| each("not followed", l)));
    lines.extend(
        f.unknown
            .iter()
            .map(|l| each("unknown setting (listed, not interpreted)", l)),
    );
    lines.extend(f.problems.iter().map(|p| format!("problem: {p}")));
    if let Some(n) = f.saved_password_line {
        lines.push(format!(
            "line {n}: a saved password (password 51), not read"
        ));
    }
    lines
}
