//! Nagios / Icinga plugin output (Monitoring Plugins Development Guidelines): one status line,
//! `SERVICE STATE - text | perfdata`, and the exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

use rdpdoctor_diagnose::{Diagnosis, Severity, Status};

pub const OK: u8 = 0;
pub const WARNING: u8 = 1;
pub const CRITICAL: u8 = 2;
pub const UNKNOWN: u8 = 3;

/// Certificate thresholds in days left (`--cert-warn-days`, `--cert-crit-days`).
pub struct Thresholds {
    pub warn_days: i64,
    pub crit_days: i64,
}

/// The status line and the plugin exit status.
pub fn report(d: &Diagnosis, duration_ms: Option<f64>, t: &Thresholds) -> (String, u8) {
    let mut state = match d.verdict.status {
        Status::Healthy => OK,
        Status::Degraded => WARNING,
        Status::Broken | Status::Unreachable => CRITICAL,
    };
    let days = d.facts.certificate.as_ref().map(|c| c.days_left);
    if let Some(days) = days {
        if days <= t.crit_days {
            state = state.max(CRITICAL);
        } else if days <= t.warn_days {
            state = state.max(WARNING);
        }
    }
    let mut text = d.verdict.summary.clone();
    if let Some(id) = &d.verdict.finding {
        text.push_str(&format!(" [{id}]"));
    }
    let never = d
        .facts
        .certificate
        .as_ref()
        .is_some_and(|c| c.never_expires);
    if never {
        text.push_str("; certificate never expires (notAfter 99991231235959Z)");
    } else if let Some(days) = days {
        text.push_str(&format!("; certificate expires in {days} days"));
    }
    let count = |s: Severity| d.findings.iter().filter(|f| f.severity == s).count();
    let mut perf = vec![format!(
        "time={:.3}s;;;0",
        duration_ms.unwrap_or(0.0) / 1000.0
    )];
    if let Some(days) = days {
        perf.push(format!("cert_days={days};{};{}", t.warn_days, t.crit_days));
    }
    perf.push(format!("blocking={};;;0", count(Severity::Blocking)));
    perf.push(format!("warnings={};;;0", count(Severity::Warning)));
    let label = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][usize::from(state.min(UNKNOWN))];
    (
        format!("RDP {label} - {} | {}", one_line(&text), perf.join(" ")),
        state,
    )
}

/// The plugin line for an error before any probe: UNKNOWN.
pub fn unknown(message: &str) -> (String, u8) {
    (format!("RDP UNKNOWN - {}", one_line(message)), UNKNOWN)
}

/// Plugin output must not break the line or use `|` outside the perfdata separator.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "/")
}
