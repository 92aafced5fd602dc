//! The rules: each small, named for the findings it produces, reading only observations.

mod certificate;
mod clients;
mod hold;
mod intercept;
mod negotiation;
mod nla;
mod offline;
mod path;
mod rdp_security;
mod reachability;
mod session;
mod tls;
mod trust;

pub(crate) use certificate::cert_names;
pub(crate) use nla::facts as nla_facts;
pub(crate) use offline::facts as offline_facts;
pub(crate) use path::facts as path_facts;
pub(crate) use rdp_security::facts as rdp_security_facts;
pub use session::describe_delegation;
pub(crate) use session::facts as session_facts;

use crate::catalog;
use crate::context::Context;
use crate::model::{ClientError, CodeRef, Finding, Fix, Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{
    protocol, HostKind, NegotiationOutcome, Observations, TlsOutcome, Transport,
};

/// Runs every rule.
pub(crate) fn run(obs: &Observations, ctx: &Context) -> Vec<Finding> {
    let vars = Vars::from(obs);
    let mut out = Vec::new();
    reachability::check(obs, &vars, &mut out);
    negotiation::check(obs, &vars, &mut out);
    tls::check(obs, ctx, &vars, &mut out);
    certificate::check(obs, ctx, &vars, &mut out);
    rdp_security::check(obs, &vars, &mut out);
    nla::check(obs, ctx, &vars, &mut out);
    session::check(obs, &vars, &mut out);
    hold::check(obs, &vars, &mut out);
    trust::check(obs, &vars, &mut out);
    intercept::check(obs, &vars, &mut out);
    offline::check(obs, ctx, &vars, &mut out);
    clients::check(obs, ctx, &vars, &mut out);
    path::check(obs, &vars, &mut out);
    out
}

/// Values substituted into catalog fix commands.
pub(crate) struct Vars {
    host: String,
    port: String,
    sha1: String,
    /// The target is an IP address, not a name: commands that resolve or register a name
    /// (`Resolve-DnsName 127.0.0.1`, an SPN for an address) make no sense for it.
    address: bool,
}

impl Vars {
    fn from(obs: &Observations) -> Vars {
        let (host, port, address) = match &obs.target {
            Some(t) => (
                t.host.clone(),
                t.port.to_string(),
                matches!(t.kind, HostKind::Ipv4 | HostKind::Ipv6),
            ),
            None => ("HOST".to_string(), "3389".to_string(), false),
        };
        let sha1 = obs
            .tls
            .as_ref()
            .and_then(|t| t.certificate.as_ref())
            .map(|c| c.sha1_hex.clone())
            .unwrap_or_else(|| "THUMBPRINT".to_string());
        Vars {
            host,
            port,
            sha1,
            address,
        }
    }

    /// Whether a catalog command applies to this target.
    fn applies(&self, command: &str) -> bool {
        !(self.address && name_only(command))
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{host}", &self.host)
            .replace("{port}", &self.port)
            .replace("{sha1}", &self.sha1)
    }
}

/// Builds a finding from its catalog entry, with `evidence`.
pub(crate) fn finding(id: FindingId, vars: &Vars, evidence: Vec<String>) -> Finding {
    let Some(def) = catalog::get(id) else {
        // Unreachable: the catalog test proves every FindingId has an entry.
        return Finding {
            id: id.as_str().to_string(),
            severity: Severity::Warning,
            step: Step::Host,
            title: id.as_str().to_string(),
            evidence,
            explanation: String::new(),
            fixes: Vec::new(),
            client_error: None,
        };
    };
    Finding {
        id: id.as_str().to_string(),
        severity: def.severity,
        step: def.step,
        title: def.title.to_string(),
        evidence,
        explanation: def.explanation.to_string(),
        fixes: def
            .fixes
            .iter()
            .filter_map(|f| {
                let commands: Vec<String> = f
                    .commands
                    .iter()
                    .filter(|c| vars.applies(c))
                    .map(|c| vars.fill(c))
                    .collect();
                // A fix that consists only of name commands is about the name: none for an
                // address.
                if commands.is_empty() && !f.commands.is_empty() {
                    return None;
                }
                Some(Fix {
                    text: vars.fill(f.text),
                    commands,
                })
            })
            .collect(),
        client_error: client_error(def),
    }
}

/// Commands that only make sense when the target is a name: resolving it, or an SPN for it.
pub(crate) fn name_only(command: &str) -> bool {
    [
        "Resolve-DnsName {host}",
        "nslookup {host}",
        "TERMSRV/{host}",
    ]
    .iter()
    .any(|n| command.contains(n))
}

/// The client's view of a finding: words from the catalog, codes from the shared code table.
fn client_error(def: &catalog::FindingDef) -> Option<ClientError> {
    let codes = catalog::client_codes(def.id);
    if def.client.is_none() && codes.codes.is_empty() {
        return None;
    }
    Some(ClientError {
        codes: codes
            .codes
            .iter()
            .map(|c| code_ref(c.family, c.value))
            .collect(),
        text: def
            .client
            .as_ref()
            .map_or_else(String::new, |c| c.text.to_string()),
        likely: def.client.as_ref().is_some_and(|c| c.likely) || codes.inferred,
    })
}

fn code_ref(family: Family, value: u32) -> CodeRef {
    CodeRef {
        family,
        value,
        hex: format!("0x{value:X}"),
        name: rdpdoctor_codes::lookup(family, value)
            .map(|e| e.name.to_string())
            .unwrap_or_else(|| "undocumented".to_string()),
    }
}

/// `HYBRID_REQUIRED_BY_SERVER (5)`, from the shared code table.
pub(crate) fn neg_failure_name(code: u32) -> String {
    match rdpdoctor_codes::lookup(Family::NegFailure, code) {
        Some(e) => format!("{} ({code})", e.name),
        None => format!("undocumented code {code} (0x{code:08X})"),
    }
}

/// `40 handshake_failure`, from the shared code table.
pub(crate) fn alert_name(alert: u8) -> String {
    match rdpdoctor_codes::lookup(Family::TlsAlert, u32::from(alert)) {
        Some(e) => format!("{alert} {}", e.name),
        None => format!("{alert}"),
    }
}

/// One line for what answered an X.224 request.
pub(crate) fn describe_negotiation(outcome: &NegotiationOutcome) -> String {
    match outcome {
        NegotiationOutcome::Selected { protocol: p, flags } => {
            format!(
                "selected {} (RDP_NEG_RSP flags 0x{flags:02X})",
                protocol::names(*p)
            )
        }
        NegotiationOutcome::Failure { code } => {
            format!("RDP_NEG_FAILURE {}", neg_failure_name(code.as_u32()))
        }
        NegotiationOutcome::NoNegotiationData => {
            "a Connection Confirm without negotiation data".to_string()
        }
        NegotiationOutcome::Malformed {
            reason,
            excerpt_hex,
        } => {
            format!("an invalid Connection Confirm ({reason}); bytes {excerpt_hex}")
        }
        NegotiationOutcome::NotRdp {
            bytes,
            excerpt_hex,
            excerpt_text,
        } => match excerpt_text {
            Some(t) => format!("{bytes} bytes that are not RDP: {t:?} (hex {excerpt_hex})"),
            None => format!("{bytes} bytes that are not RDP: hex {excerpt_hex}"),
        },
        NegotiationOutcome::Transport(t) => match t {
            Transport::Reset { bytes, .. } => format!("a reset after {bytes} bytes"),
            Transport::Closed { bytes: 0, .. } => "a close without a byte".to_string(),
            Transport::Closed { bytes, .. } => {
                format!("a close after {bytes} bytes of an incomplete answer")
            }
            Transport::TimedOut { bytes: 0, .. } => {
                "silence until the deadline (no byte received)".to_string()
            }
            Transport::TimedOut { bytes, .. } => {
                format!("{bytes} bytes of an incomplete answer, then nothing until the deadline")
            }
        },
        NegotiationOutcome::ConnectFailed { outcome } => format!("no connection ({outcome:?})"),
    }
}

/// One line for how a TLS handshake ended.
pub(crate) fn describe_tls(outcome: &TlsOutcome) -> String {
    match outcome {
        TlsOutcome::Completed { cipher } => format!("completed ({cipher})"),
        TlsOutcome::AlertReceived { alert } => {
            format!("the server sent fatal alert {}", alert_name(*alert))
        }
        TlsOutcome::ClientAborted { reason } => format!("refused by the probe: {reason}"),
        TlsOutcome::Transport(Transport::Closed { bytes: 0, .. }) => {
            "the server closed the connection without answering the ClientHello".to_string()
        }
        TlsOutcome::Transport(Transport::Closed { bytes, .. }) => {
            format!("the server closed the connection after {bytes} bytes")
        }
        TlsOutcome::Transport(Transport::Reset { bytes, .. }) => {
            format!("the server reset the connection after {bytes} bytes")
        }
        TlsOutcome::NotTls { bytes, excerpt_hex } => {
            format!("the server answered with {bytes} bytes that are not TLS: {excerpt_hex}")
        }
        TlsOutcome::Transport(Transport::TimedOut { bytes, .. }) => {
            format!("no handshake before the deadline ({bytes} bytes received)")
        }
        TlsOutcome::NegotiationFailed { outcome } => {
            format!(
                "X.224 negotiation before it got {}",
                describe_negotiation(outcome)
            )
        }
        TlsOutcome::Error { reason } => format!("failed: {reason}"),
    }
}
