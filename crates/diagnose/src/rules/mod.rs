//! The rules: each small, named for the findings it produces, reading only observations.

mod certificate;
mod clients;
mod gateway;
mod hold;
mod intercept;
mod kerberos;
mod negotiation;
mod nla;
mod offline;
mod path;
mod rdp_file;
mod rdp_security;
mod reachability;
mod redirect;
mod session;
mod tls;
mod trust;
mod ttl_walk;
mod udp;

pub(crate) use certificate::cert_names;
pub use kerberos::exchange_line as describe_kdc_exchange;
pub(crate) use nla::facts as nla_facts;
pub(crate) use offline::facts as offline_facts;
pub(crate) use path::facts as path_facts;
pub(crate) use rdp_security::facts as rdp_security_facts;
pub use session::describe_delegation;
pub(crate) use session::facts as session_facts;
pub(crate) use udp::facts as udp_facts;

use crate::catalog;
use crate::clients::Simulation;
use crate::context::Context;
use crate::model::{ClientError, CodeRef, Finding, Fix, Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{HostKind, Observations};

/// Runs every rule.
pub(crate) fn run(obs: &Observations, ctx: &Context, sim: &Simulation) -> Vec<Finding> {
    let vars = Vars::from(obs);
    let mut out = Vec::new();
    gateway::check(obs, ctx, &vars, &mut out);
    reachability::check(obs, &vars, &mut out);
    negotiation::check(obs, &vars, &mut out);
    tls::check(obs, ctx, sim, &vars, &mut out);
    certificate::check(obs, ctx, sim, &vars, &mut out);
    rdp_security::check(obs, &vars, &mut out);
    nla::check(obs, ctx, &vars, &mut out);
    kerberos::check(obs, &vars, &mut out);
    session::check(obs, &vars, &mut out);
    redirect::check(obs, &vars, &mut out);
    rdp_file::check(obs, &vars, &mut out);
    hold::check(obs, &vars, &mut out);
    trust::check(obs, &vars, &mut out);
    intercept::check(obs, ctx, &vars, &mut out);
    offline::check(obs, ctx, &vars, &mut out);
    clients::check(ctx, sim, &vars, &mut out);
    path::check(obs, &vars, &mut out);
    udp::check(obs, &vars, &mut out);
    out
}

/// Values substituted into catalog fix commands.
pub(crate) struct Vars {
    host: String,
    port: String,
    /// The UDP port `check --udp` probed (the TCP port unless --udp-port said otherwise).
    udp_port: String,
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
        let udp_port = obs
            .udp
            .as_ref()
            .map_or_else(|| port.clone(), |u| u.address.port().to_string());
        Vars {
            host,
            port,
            udp_port,
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
            .replace("{udp_port}", &self.udp_port)
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

pub(crate) use crate::describe::{
    alert_name, describe_negotiation, describe_route, describe_tls, errinfo_name, neg_failure_name,
};
