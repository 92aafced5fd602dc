//! The `.rdp` file the check followed: `rdp-file-setting-breaks` for a line that cannot work with
//! this server, with the line and the server's answer that rules it out: CredSSP turned off
//! against a server that requires NLA, Standard RDP Security only against a server that refuses
//! it, an authentication level that refuses (1) or warns about (2) a certificate that does not
//! verify, and a gateway the file sends the client through that refuses it.

use super::{describe_negotiation, finding, Vars};
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{
    protocol, GatewayOutcome, NegFailureCode, NegotiationOutcome, Observations, RdpFileLine,
};

/// One finding for every line that breaks (the renderer shows one finding per id), blocking
/// when any line makes the connection impossible.
pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let mut lines = Vec::new();
    lines_that_break(obs, vars, &mut lines);
    if lines.is_empty() {
        return;
    }
    let severity = lines
        .iter()
        .map(|f: &Finding| f.severity)
        .min()
        .unwrap_or(Severity::Warning);
    let evidence = lines.into_iter().flat_map(|f| f.evidence).collect();
    out.push(breaks(vars, severity, evidence));
}

fn lines_that_break(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(file) = &obs.rdp_file else {
        return;
    };
    let at = |l: &RdpFileLine| format!("{} line {}: {}", file.path, l.line, l.text);
    if let Some(l) = &file.credssp_off {
        let refused = obs.negotiation.iter().find(|a| {
            a.requested & protocol::NLA == 0
                && matches!(
                    a.outcome,
                    NegotiationOutcome::Failure {
                        code: NegFailureCode::HybridRequiredByServer
                    }
                )
        });
        if let Some(a) = refused {
            out.push(breaks(
                vars,
                Severity::Blocking,
                vec![
                    format!("{}: the client never offers CredSSP (NLA)", at(l)),
                    format!(
                        "the server requires it: request {} got {}",
                        protocol::names(a.requested),
                        describe_negotiation(&a.outcome)
                    ),
                    "fix: remove the line or set enablecredsspsupport:i:1".to_string(),
                ],
            ));
        }
    }
    if let Some(l) = &file.rdp_security_only {
        let refused = obs.negotiation.iter().find(|a| {
            a.requested == protocol::RDP && matches!(a.outcome, NegotiationOutcome::Failure { .. })
        });
        if let Some(a) = refused {
            out.push(breaks(
                vars,
                Severity::Blocking,
                vec![
                    format!("{}: the client offers Standard RDP Security only", at(l)),
                    format!(
                        "the server refuses it: request RDP got {}",
                        describe_negotiation(&a.outcome)
                    ),
                    "fix: set negotiate security layer:i:1".to_string(),
                ],
            ));
        }
    }
    authentication_level(obs, vars, &at, out);
    gateway(obs, vars, &at, out);
}

fn breaks(vars: &Vars, severity: Severity, evidence: Vec<String>) -> Finding {
    let mut f = finding(FindingId::RdpFileSettingBreaks, vars, evidence);
    f.severity = severity;
    f
}

/// `authentication level:i:1` refuses, `:i:2` warns about, a certificate that proves nothing.
fn authentication_level(
    obs: &Observations,
    vars: &Vars,
    at: &dyn Fn(&RdpFileLine) -> String,
    out: &mut Vec<Finding>,
) {
    let Some((l, level)) = obs
        .rdp_file
        .as_ref()
        .and_then(|f| f.authentication_level.as_ref())
    else {
        return;
    };
    let Some(identity) = obs.tls.as_ref().and_then(|t| t.identity.as_ref()) else {
        return;
    };
    if identity.verified_for_target || identity.matched_pin.is_some() {
        return;
    }
    let why = identity
        .verify_error
        .as_deref()
        .unwrap_or("it does not verify for the name the client uses");
    let (severity, what) = match level {
        1 => (
            Severity::Blocking,
            "the client refuses to connect to a server whose certificate does not verify",
        ),
        2 => (
            Severity::Warning,
            "the client warns about the certificate on every connection, and users learn to click through",
        ),
        _ => return,
    };
    out.push(breaks(
        vars,
        severity,
        vec![
            format!("{}: {what}", at(l)),
            format!("the server's certificate does not verify: {why}"),
            "fix: give the server a certificate the clients trust for that name (see the certificate findings); do not lower the authentication level".to_string(),
        ],
    ));
}

/// The gateway the file sends the client through refused it.
fn gateway(
    obs: &Observations,
    vars: &Vars,
    at: &dyn Fn(&RdpFileLine) -> String,
    out: &mut Vec<Finding>,
) {
    let (Some(file), Some(gw)) = (&obs.rdp_file, &obs.gateway) else {
        return;
    };
    if file.gateway.is_empty()
        || matches!(
            gw.outcome,
            GatewayOutcome::Open | GatewayOutcome::AuthRequired
        )
    {
        return;
    }
    let mut evidence: Vec<String> = file
        .gateway
        .iter()
        .map(|l| format!("{}: the client goes through this RD Gateway", at(l)))
        .collect();
    evidence.push(format!(
        "the gateway does not let it through: {} (the gateway's own finding is the cause and heads the verdict)",
        stopped_at(gw)
    ));
    // A warning: the gateway's blocking finding names the step that failed first.
    out.push(breaks(vars, Severity::Warning, evidence));
}

/// Where the gateway leg stopped, in words.
fn stopped_at(gw: &rdpdoctor_observations::GatewayObservation) -> String {
    super::gateway::outcome_parts(gw).map_or_else(
        || format!("RD Gateway {}:{} opened the channel", gw.gateway, gw.port),
        |(_, evidence)| evidence.join("; "),
    )
}
