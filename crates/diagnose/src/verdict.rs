//! One verdict from the findings: the step where a connection breaks and the finding that best
//! explains it.

use crate::catalog;
use crate::model::{Finding, Severity, Status, Verdict};

/// Findings that mean the RDP service could not be reached at all.
const UNREACHABLE: &[&str] = &["dns-failure", "port-closed", "port-filtered"];

/// `findings` must already be sorted (severity, then step).
pub(crate) fn decide(findings: &[Finding], facts: &crate::model::Facts) -> Verdict {
    let first_blocking = findings
        .iter()
        .filter(|f| f.severity == Severity::Blocking)
        .min_by_key(|f| f.step);
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
        return Verdict {
            status,
            finding: Some(f.id.clone()),
            step: Some(f.step),
            summary: format!("{word} at the {} step: {}", f.step.label(), f.title),
        };
    }
    let warnings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    // Name first a warning that makes some clients fail; a mere weakness comes after.
    let breaking = |f: &&&Finding| catalog::get(&f.id).is_some_and(|d| d.breaks_some_clients);
    let top = warnings.iter().find(breaking).or(warnings.first());
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
