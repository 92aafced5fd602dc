//! One verdict from the findings: the step where a connection breaks and the finding that best
//! explains it.

use crate::catalog;
use crate::model::{Finding, Severity, Status, Step, Verdict};

/// Findings that mean the RDP service could not be reached at all.
const UNREACHABLE: &[&str] = &[
    "dns-failure",
    "port-closed",
    "port-filtered",
    "dns-timeout",
    "port-rejected-by-firewall",
];

/// Folds each explained finding's evidence into the finding that explains it (catalog
/// `explains`), which also takes the more severe of the two severities: a cause proven by the
/// server's own logs is as bad as the symptom the network check saw. Both stay in the list, so
/// scripts that look for either id keep working.
pub(crate) fn absorb_explained(findings: &mut [Finding]) {
    let snapshot: Vec<(String, Severity, Vec<String>)> = findings
        .iter()
        .map(|f| (f.id.clone(), f.severity, f.evidence.clone()))
        .collect();
    for f in findings.iter_mut() {
        let Some(def) = catalog::get(&f.id) else {
            continue;
        };
        for (id, severity, evidence) in &snapshot {
            if def.explains.contains(&id.as_str()) {
                f.severity = f.severity.min(*severity);
                // A line the explaining finding already cites is not repeated.
                let fresh: Vec<String> = evidence
                    .iter()
                    .filter(|e| !f.evidence.contains(e))
                    .map(|e| format!("{id} (network check): {e}"))
                    .collect();
                f.evidence.extend(fresh);
            }
        }
    }
}

/// Where in the connection sequence a finding breaks things: its own step, or the earliest step
/// of a finding it explains (a broken certificate key breaks TLS, whatever log showed it).
fn effective_step(f: &Finding) -> Step {
    catalog::get(&f.id)
        .map(|d| {
            d.explains
                .iter()
                .filter_map(|id| catalog::get(id))
                .map(|e| e.step)
                .fold(f.step, Step::min)
        })
        .unwrap_or(f.step)
}

/// True when `f` explains another finding present in `all`.
fn explains_present(f: &Finding, all: &[Finding]) -> bool {
    catalog::get(&f.id).is_some_and(|d| all.iter().any(|o| d.explains.contains(&o.id.as_str())))
}

/// `findings` must already be sorted (severity, then step).
pub(crate) fn decide(findings: &[Finding], facts: &crate::model::Facts) -> Verdict {
    // The earliest step wins; at the same step a cause beats the symptom it explains.
    let first_blocking = findings
        .iter()
        .filter(|f| f.severity == Severity::Blocking)
        .min_by_key(|f| (effective_step(f), !explains_present(f, findings)));
    if let Some(f) = first_blocking {
        let status = if UNREACHABLE.contains(&f.id.as_str()) {
            Status::Unreachable
        } else {
            Status::Broken
        };
        let word = if status == Status::Unreachable {
            "Unreachable"
        } else {
            "Broken"
        };
        let step = effective_step(f);
        return Verdict {
            status,
            finding: Some(f.id.clone()),
            step: Some(step),
            summary: format!("{word} at the {} step: {}", step.label(), f.title),
        };
    }
    let warnings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    // Name first a warning that makes some clients fail; a mere weakness comes after.
    let breaking = |f: &&&Finding| catalog::get(&f.id).is_some_and(|d| d.breaks_some_clients);
    let explaining = |f: &&&Finding| explains_present(f, findings);
    let top = warnings
        .iter()
        .find(|f| breaking(f) && explaining(f))
        .or_else(|| warnings.iter().find(breaking))
        .or_else(|| warnings.iter().find(explaining))
        .or(warnings.first());
    if let Some(f) = top {
        let others = if warnings.len() > 1 {
            format!(
                " (and {} more warning{})",
                warnings.len() - 1,
                if warnings.len() > 2 { "s" } else { "" }
            )
        } else {
            String::new()
        };
        return Verdict {
            status: Status::Degraded,
            finding: Some(f.id.clone()),
            step: None,
            summary: format!(
                "Degraded: clients connect, but {}{others}",
                lower_first(&f.title)
            ),
        };
    }
    let how = match (&facts.selected_protocol, facts.tls_versions.last()) {
        (Some(p), Some(v)) => format!(": connects with {p} over {v}"),
        (Some(p), None) => format!(": connects with {p}"),
        _ => String::new(),
    };
    Verdict {
        status: Status::Healthy,
        finding: None,
        step: None,
        summary: format!("Healthy{how}"),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if !s.starts_with("TLS") && !s.starts_with("NLA") => {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}
