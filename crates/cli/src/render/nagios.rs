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
    match &d.facts.certificate {
        Some(c) if c.never_expires => {
            text.push_str("; certificate never expires (notAfter 99991231235959Z)")
        }
        Some(c) => text.push_str(&format!("; certificate {}", c.expiry())),
        None => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnosis(days_left: i64, expired: bool) -> Diagnosis {
        let doc = serde_json::json!({
            "target": "rds01:3389",
            "verdict": {"status": "degraded", "finding": null, "summary": "Degraded"},
            "findings": [],
            "facts": {"certificate": {
                "subject": "CN=rds01", "issuer": "CN=CA", "names": [],
                "not_before": "", "not_after": "", "days_left": days_left, "expired": expired,
                "not_before_unix": 0, "not_after_unix": 0, "self_signed": false,
                "key": "RSA 2048 bits", "signature": "", "sha1": "", "sha256": ""
            }}
        });
        serde_json::from_value(doc).expect("a diagnosis")
    }

    /// The status line says the days in the words every other output uses, and the perfdata
    /// carries the same whole number.
    #[test]
    fn certificate_days_in_words_and_perfdata_agree() {
        let t = Thresholds {
            warn_days: 30,
            crit_days: 7,
        };
        for (days, expired, words) in [
            (-2, true, "certificate expired 2 days ago"),
            (0, true, "certificate expired less than a day ago"),
            (0, false, "certificate expires within a day"),
            (1, false, "certificate expires in 1 day"),
            (27, false, "certificate expires in 27 days"),
        ] {
            let (line, _) = report(&diagnosis(days, expired), None, &t);
            assert!(line.contains(words), "{line}");
            assert!(line.contains(&format!("cert_days={days};30;7")), "{line}");
            assert!(!line.contains("in -"), "{line}");
        }
    }
}
