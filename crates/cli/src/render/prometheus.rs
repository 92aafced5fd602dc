//! Prometheus text exposition format (version 0.0.4) of one probe, in the names of the
//! multi-target exporters (blackbox_exporter, ssl_exporter) where they exist, so existing alert
//! rules on `probe_success` and `probe_ssl_earliest_cert_expiry` keep working.

use rdpdoctor_diagnose::{Diagnosis, Severity, Status};
use rdpdoctor_observations::{Observations, TlsOutcome, TlsVersion};
use std::fmt::Write;

/// A label value with `\`, `"` and newlines escaped.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One sample of a family: its labels and value.
struct Sample {
    labels: Vec<(&'static str, String)>,
    value: f64,
}

impl Sample {
    fn plain(value: f64) -> Sample {
        Sample {
            labels: Vec::new(),
            value,
        }
    }
    fn labelled(name: &'static str, label: &str, value: f64) -> Sample {
        Sample {
            labels: vec![(name, label.to_string())],
            value,
        }
    }
}

/// One metric family of a probe's exposition. `samples` answers `None` when the family does
/// not apply to this probe (it is left out, HELP and TYPE included), and an empty list when it
/// applies but has no sample this time (HELP and TYPE alone).
struct Series {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: fn(&Diagnosis, &Observations) -> Option<Vec<Sample>>,
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

/// The largest of some durations, if any.
fn slowest(it: impl Iterator<Item = f64>) -> Option<f64> {
    it.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
}

/// The families of `/probe`, in the order they are written.
const SERIES: &[Series] = &[
    Series {
        name: "probe_success",
        kind: "gauge",
        help: "1 when a default client can connect (verdict healthy or degraded).",
        samples: |d, _| {
            let ok = matches!(d.verdict.status, Status::Healthy | Status::Degraded);
            Some(vec![Sample::plain(flag(ok))])
        },
    },
    Series {
        name: "probe_duration_seconds",
        kind: "gauge",
        help: "How long the probe took.",
        samples: |_, obs| Some(vec![Sample::plain(obs.duration_ms.unwrap_or(0.0) / 1000.0)]),
    },
    Series {
        name: "probe_dns_lookup_time_seconds",
        kind: "gauge",
        help: "Time taken for the DNS lookup.",
        samples: |_, obs| {
            let dns = obs.dns.as_ref()?;
            Some(vec![Sample::plain(dns.elapsed_ms / 1000.0)])
        },
    },
    Series {
        name: "probe_rdp_phase_duration_seconds",
        kind: "gauge",
        help: "Duration of each phase (connect: median; negotiation and tls: slowest attempt).",
        samples: |d, obs| {
            let tls = obs
                .tls
                .as_ref()
                .and_then(|t| slowest(t.attempts.iter().map(|a| a.elapsed_ms)));
            let phases = [
                ("connect", d.facts.connect_ms_median),
                (
                    "negotiation",
                    slowest(obs.negotiation.iter().map(|a| a.elapsed_ms)),
                ),
                ("tls", tls),
            ];
            Some(
                phases
                    .into_iter()
                    .filter_map(|(phase, ms)| Some(Sample::labelled("phase", phase, ms? / 1000.0)))
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_rdp_verdict",
        kind: "gauge",
        help: "The verdict: 1 for the current status.",
        samples: |d, _| {
            let statuses = [
                (Status::Healthy, "healthy"),
                (Status::Degraded, "degraded"),
                (Status::Broken, "broken"),
                (Status::Unreachable, "unreachable"),
            ];
            Some(
                statuses
                    .into_iter()
                    .map(|(s, name)| Sample::labelled("status", name, flag(d.verdict.status == s)))
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_rdp_finding",
        kind: "gauge",
        help: "One series per finding (id and severity).",
        samples: |d, _| {
            Some(
                d.findings
                    .iter()
                    .map(|f| Sample {
                        labels: vec![
                            ("id", f.id.clone()),
                            ("severity", f.severity.label().to_string()),
                        ],
                        value: 1.0,
                    })
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_rdp_findings",
        kind: "gauge",
        help: "Number of findings by severity.",
        samples: |d, _| {
            let count = |sev| d.findings.iter().filter(|x| x.severity == sev).count() as f64;
            Some(
                [Severity::Blocking, Severity::Warning, Severity::Info]
                    .into_iter()
                    .map(|sev| Sample::labelled("severity", sev.label(), count(sev)))
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_rdp_security_protocol_supported",
        kind: "gauge",
        help: "1 when some X.224 request got this security protocol selected.",
        samples: |d, obs| {
            let supported = &d.facts.protocols_supported;
            if supported.is_empty() && obs.negotiation.is_empty() {
                return None;
            }
            Some(
                ["RDP", "SSL", "HYBRID", "HYBRID_EX", "RDSTLS"]
                    .into_iter()
                    .map(|p| {
                        Sample::labelled("protocol", p, flag(supported.iter().any(|s| s == p)))
                    })
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_rdp_nla_required",
        kind: "gauge",
        help: "1 when the server refuses every connection without NLA (CredSSP).",
        samples: |d, _| Some(vec![Sample::plain(flag(d.facts.nla_required?))]),
    },
    Series {
        name: "probe_rdp_tls_version_supported",
        kind: "gauge",
        help: "1 when a handshake pinned to this TLS version completes.",
        samples: |_, obs| {
            let tls = obs.tls.as_ref()?;
            let done = |v| {
                tls.attempts
                    .iter()
                    .any(|a| a.version == v && matches!(a.outcome, TlsOutcome::Completed { .. }))
            };
            Some(
                TlsVersion::ALL
                    .into_iter()
                    .map(|v| Sample::labelled("version", v.label(), flag(done(v))))
                    .collect(),
            )
        },
    },
    Series {
        name: "probe_tls_version_info",
        kind: "gauge",
        help: "The newest TLS version that completes.",
        samples: |d, obs| {
            obs.tls.as_ref()?;
            let best = d.facts.tls_versions.last()?;
            Some(vec![Sample::labelled("version", best, 1.0)])
        },
    },
    Series {
        name: "probe_ssl_earliest_cert_expiry",
        kind: "gauge",
        help: "Unix time of the RDP certificate's notAfter.",
        samples: |d, _| {
            let c = d.facts.certificate.as_ref()?;
            Some(vec![Sample::plain(c.not_after_unix as f64)])
        },
    },
    Series {
        name: "probe_ssl_cert_not_before",
        kind: "gauge",
        help: "Unix time of the RDP certificate's notBefore.",
        samples: |d, _| {
            let c = d.facts.certificate.as_ref()?;
            Some(vec![Sample::plain(c.not_before_unix as f64)])
        },
    },
    Series {
        name: "probe_ssl_last_chain_info",
        kind: "gauge",
        help: "The RDP certificate, in labels.",
        samples: |d, obs| {
            let c = d.facts.certificate.as_ref()?;
            let serial = obs
                .tls
                .as_ref()
                .and_then(|t| t.certificate.as_ref())
                .map(|c| c.serial_hex.clone())
                .unwrap_or_default();
            let self_signed = if c.self_signed { "true" } else { "false" };
            Some(vec![Sample {
                labels: vec![
                    ("fingerprint_sha256", c.sha256.clone()),
                    ("subject", c.subject.clone()),
                    ("issuer", c.issuer.clone()),
                    ("subjectalternative", c.names.join(",")),
                    ("serialnumber", serial),
                    ("self_signed", self_signed.to_string()),
                ],
                value: 1.0,
            }])
        },
    },
];

/// The exposition of one probe: every family of [`SERIES`] that applies, in order.
pub fn probe(d: &Diagnosis, obs: &Observations) -> String {
    let mut out = String::new();
    for series in SERIES {
        let Some(samples) = (series.samples)(d, obs) else {
            continue;
        };
        let name = series.name;
        let _ = writeln!(out, "# HELP {name} {}", series.help);
        let _ = writeln!(out, "# TYPE {name} {}", series.kind);
        for sample in samples {
            let _ = write!(out, "{name}");
            if !sample.labels.is_empty() {
                let parts: Vec<String> = sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", parts.join(","));
            }
            let _ = writeln!(out, " {}", sample.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The exposition of every observation file of the golden corpus, diagnosed at its recorded
    /// time, concatenated with a `## FILE` line before each.
    fn golden_exposition() -> String {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("the golden corpus")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p.to_string_lossy().ends_with(".expect.json")
            })
            .collect();
        files.sort();
        let mut all = String::new();
        for path in files {
            let obs = Observations::from_json(&std::fs::read_to_string(&path).expect("readable"))
                .expect("observations");
            let expect: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(path.with_extension("expect.json")).expect("readable"),
            )
            .expect("json");
            let at: jiff::Timestamp = expect["at"].as_str().expect("at").parse().expect("time");
            let d = rdpdoctor_diagnose::diagnose(&obs, &rdpdoctor_diagnose::Context::new(at));
            let name = path.file_name().expect("name").to_string_lossy();
            let _ = writeln!(all, "## {name}");
            all.push_str(&probe(&d, &obs));
        }
        all
    }

    /// A logon the server never proved (no pubKeyAuth, or an answer that does not decode) is not a
    /// success for a scrape either.
    #[test]
    fn an_unproven_logon_is_not_a_success() {
        use rdpdoctor_observations::{LogonObservation, LogonOutcome, NlaPhase};
        for outcome in [
            LogonOutcome::PubKeyAuthMissing {
                answer: "a TSRequest (version 6) without pubKeyAuth: errorCode 0".into(),
            },
            LogonOutcome::Malformed {
                phase: NlaPhase::Authenticate,
                reason: "the server answered with bytes that are not a TSRequest".into(),
                excerpt_hex: "1337".into(),
            },
            LogonOutcome::TimedOut {
                phase: NlaPhase::Authenticate,
                bytes: 0,
            },
        ] {
            let mut obs = Observations::new(None);
            obs.logon = Some(LogonObservation {
                user: "LAB\\u".into(),
                package: "NTLM".into(),
                package_reason: None,
                choice: None,
                kdc_exchanges: Vec::new(),
                delegated: false,
                ts_request_version: Some(6),
                elapsed_ms: 1.0,
                outcome: outcome.clone(),
            });
            let at: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().expect("time");
            let d = rdpdoctor_diagnose::diagnose(&obs, &rdpdoctor_diagnose::Context::new(at));
            let text = probe(&d, &obs);
            assert!(text.contains("probe_success 0"), "{outcome:?}: {text}");
            assert!(
                text.contains("probe_rdp_verdict{status=\"broken\"} 1"),
                "{outcome:?}: {text}"
            );
        }
    }

    /// The exposition is a contract with dashboards and alert rules: the fixture was recorded
    /// from the renderer as it was before it became a table of series, and must not change
    /// (`RDPDOCTOR_BLESS=1` rewrites it after an intended change).
    #[test]
    fn golden_corpus_exposition_is_unchanged() {
        let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden.prom");
        let got = golden_exposition();
        if std::env::var_os("RDPDOCTOR_BLESS").is_some() {
            std::fs::create_dir_all(fixture.parent().expect("dir")).expect("mkdir");
            std::fs::write(&fixture, &got).expect("write the fixture");
        }
        let want = std::fs::read_to_string(&fixture).expect("the recorded fixture");
        assert!(
            got == want,
            "the exposition differs from {}",
            fixture.display()
        );
    }
}
