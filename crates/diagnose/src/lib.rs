//! Pure diagnosis: observations in, findings and one verdict out. No I/O, no printing.
//!
//! `diagnose(&Observations, &Context) -> Diagnosis`. Each rule (in `rules/`) is small, named by
//! the findings it produces, and reads only observations. The finding catalog (`catalog/`) holds
//! the explanation, fixes and likely client error of every finding id as data.

pub mod catalog;
pub mod clients;
pub mod compare;
mod context;
mod describe;
mod facts;
mod finding_id;
pub mod links;
mod model;
pub mod ntstatus;
mod rules;
mod verdict;
pub mod words;

pub use context::{ClientProfile, Context, PROFILES};
pub use finding_id::{FindingId, UnknownFindingId};
pub use model::*;
pub use rules::{describe_delegation, describe_kdc_exchange};

use rdpdoctor_observations::Observations;

/// Turns observations into a diagnosis.
pub fn diagnose(obs: &Observations, ctx: &Context) -> Diagnosis {
    // The clients' simulation runs once: the rules read the chosen client's verdicts from it.
    let simulation = clients::simulate(obs, &ctx.client);
    let mut findings = rules::run(obs, ctx, &simulation);
    // A cause seen in the server's logs or registry absorbs the network symptom it explains.
    verdict::absorb_explained(&mut findings);
    // The server a broker redirected to, checked on the second leg: its own findings, marked.
    if let Some(second) = obs.redirect.as_ref().and_then(|l| l.target.as_deref()) {
        let label = second
            .target
            .as_ref()
            .map_or_else(|| "?".to_string(), |t| t.to_string());
        for mut f in diagnose(second, ctx).findings {
            f.evidence
                .insert(0, format!("redirect target {label} (the second leg)"));
            findings.push(f);
        }
    }
    // Blocking first, then warnings, then info; within a severity, in connection order.
    findings.sort_by_key(|f| (f.severity, f.step));
    let mut facts = facts::derive(obs, ctx);
    rules::offline_facts(obs, &mut facts);
    facts.nla = rules::nla_facts(obs);
    facts.session = rules::session_facts(obs);
    facts.path = rules::path_facts(obs);
    facts.udp = rules::udp_facts(obs);
    // A name lookup is already a network probe, even when it found no address.
    let probed = obs.target.is_some() && (obs.dns.is_some() || obs.gateway.is_some());
    let mut verdict = verdict::decide(&findings, &facts, probed);
    verdict::udp_scope(&mut verdict, &facts);
    Diagnosis {
        target: obs.target.as_ref().map(|t| t.to_string()),
        verdict,
        findings,
        facts,
        clients: simulation.rows,
    }
}
