//! Rules over offline evidence: event log records and registry values read from exports
//! (settings and server-side errors no network probe sees, and the logon findings the Security
//! log proves).
//!
//! Both sources feed one accumulator, so an id proven by the registry and by events becomes one
//! finding with both kinds of evidence and the more severe of the severities.

mod auth;
mod describe;
mod events;
mod registry;
mod registry_auth;

use super::{finding, Vars};
use crate::catalog;
use crate::context::Context;
use crate::model::{Facts, Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::Observations;

/// Findings in the making: id → (severity, evidence).
#[derive(Default)]
pub(super) struct Acc {
    items: Vec<(FindingId, Severity, Vec<String>)>,
}

impl Acc {
    /// Adds evidence for `id`; the most severe severity wins.
    pub(super) fn add(&mut self, id: FindingId, severity: Severity, evidence: Vec<String>) {
        if let Some(item) = self.items.iter_mut().find(|i| i.0 == id) {
            item.1 = item.1.min(severity);
            item.2.extend(evidence);
        } else {
            self.items.push((id, severity, evidence));
        }
    }
}

pub(crate) fn check(obs: &Observations, ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    if obs.evidence.is_empty() {
        return;
    }
    let mut acc = Acc::default();
    registry::check(&obs.evidence.registry, ctx, &mut acc);
    if !obs.evidence.registry.is_empty() {
        registry_auth::check(&obs.evidence.registry, &mut acc);
    }
    events::check(&obs.evidence.events, &mut acc);
    auth::check(&obs.evidence.events, &mut acc);
    // Emit in catalog order, which ranks server-wide causes before symptoms.
    for def in catalog::all() {
        if let Some((_, severity, evidence)) = acc.items.iter().find(|i| i.0 == def.id) {
            let mut f = finding(def.id, vars, evidence.clone());
            f.severity = *severity;
            out.push(f);
        }
    }
}

/// Facts from the evidence: files read, effective settings, the timeline.
pub(crate) fn facts(obs: &Observations, facts: &mut Facts) {
    for s in &obs.evidence.sources {
        let mut line = format!(
            "{} ({:?}): {} {} read, {} RDP-relevant",
            s.file,
            s.kind,
            s.records,
            if matches!(s.kind, rdpdoctor_observations::EvidenceKind::Reg) {
                "values"
            } else {
                "records"
            },
            s.kept
        );
        if let (Some(a), Some(b)) = (s.first, s.last) {
            line.push_str(&format!(
                ", {} to {}",
                a.strftime("%Y-%m-%d %H:%M"),
                b.strftime("%Y-%m-%d %H:%M UTC")
            ));
        }
        if s.errors > 0 {
            line.push_str(&format!(
                "; {} could not be parsed (first: {})",
                s.errors,
                s.error_samples.first().map(String::as_str).unwrap_or("?")
            ));
        }
        facts.evidence_files.push(line);
    }
    facts.host_settings = registry::settings(&obs.evidence.registry);
    facts
        .host_settings
        .extend(registry_auth::settings(&obs.evidence.registry));
    let (timeline, omitted) = describe::timeline(obs);
    facts.timeline = timeline;
    facts.timeline_omitted = omitted;
}
