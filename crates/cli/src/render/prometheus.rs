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

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.0, "{name}");
        if !labels.is_empty() {
            let parts: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", parts.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }
}

pub fn probe(d: &Diagnosis, obs: &Observations) -> String {
    let mut o = Out(String::new());
    let f = &d.facts;
    let ok = matches!(d.verdict.status, Status::Healthy | Status::Degraded);
    o.family(
        "probe_success",
        "gauge",
        "1 when a default client can connect (verdict healthy or degraded).",
    );
    o.sample("probe_success", &[], f64::from(u8::from(ok)));
    o.family(
        "probe_duration_seconds",
        "gauge",
        "How long the probe took.",
    );
    o.sample(
        "probe_duration_seconds",
        &[],
        obs.duration_ms.unwrap_or(0.0) / 1000.0,
    );
    if let Some(dns) = &obs.dns {
        o.family(
            "probe_dns_lookup_time_seconds",
            "gauge",
            "Time taken for the DNS lookup.",
        );
        o.sample(
            "probe_dns_lookup_time_seconds",
            &[],
            dns.elapsed_ms / 1000.0,
        );
    }

    o.family(
        "probe_rdp_phase_duration_seconds",
        "gauge",
        "Duration of each phase (connect: median; negotiation and tls: slowest attempt).",
    );
    if let Some(ms) = f.connect_ms_median {
        o.sample(
            "probe_rdp_phase_duration_seconds",
            &[("phase", "connect")],
            ms / 1000.0,
        );
    }
    let slowest = |it: &mut dyn Iterator<Item = f64>| {
        it.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    if let Some(ms) = slowest(&mut obs.negotiation.iter().map(|a| a.elapsed_ms)) {
        o.sample(
            "probe_rdp_phase_duration_seconds",
            &[("phase", "negotiation")],
            ms / 1000.0,
        );
    }
    if let Some(tls) = &obs.tls {
        if let Some(ms) = slowest(&mut tls.attempts.iter().map(|a| a.elapsed_ms)) {
            o.sample(
                "probe_rdp_phase_duration_seconds",
                &[("phase", "tls")],
                ms / 1000.0,
            );
        }
    }

    o.family(
        "probe_rdp_verdict",
        "gauge",
        "The verdict: 1 for the current status.",
    );
    for (status, name) in [
        (Status::Healthy, "healthy"),
        (Status::Degraded, "degraded"),
        (Status::Broken, "broken"),
        (Status::Unreachable, "unreachable"),
    ] {
        o.sample(
            "probe_rdp_verdict",
            &[("status", name)],
            f64::from(u8::from(d.verdict.status == status)),
        );
    }
    o.family(
        "probe_rdp_finding",
        "gauge",
        "One series per finding (id and severity).",
    );
    for finding in &d.findings {
        o.sample(
            "probe_rdp_finding",
            &[("id", &finding.id), ("severity", finding.severity.label())],
            1.0,
        );
    }
    o.family(
        "probe_rdp_findings",
        "gauge",
        "Number of findings by severity.",
    );
    for sev in [Severity::Blocking, Severity::Warning, Severity::Info] {
        let n = d.findings.iter().filter(|x| x.severity == sev).count();
        o.sample("probe_rdp_findings", &[("severity", sev.label())], n as f64);
    }

    if !f.protocols_supported.is_empty() || !obs.negotiation.is_empty() {
        o.family(
            "probe_rdp_security_protocol_supported",
            "gauge",
            "1 when some X.224 request got this security protocol selected.",
        );
        for p in ["RDP", "SSL", "HYBRID", "HYBRID_EX", "RDSTLS"] {
            let on = f.protocols_supported.iter().any(|s| s == p);
            o.sample(
                "probe_rdp_security_protocol_supported",
                &[("protocol", p)],
                f64::from(u8::from(on)),
            );
        }
    }
    if let Some(nla) = f.nla_required {
        o.family(
            "probe_rdp_nla_required",
            "gauge",
            "1 when the server refuses every connection without NLA (CredSSP).",
        );
        o.sample("probe_rdp_nla_required", &[], f64::from(u8::from(nla)));
    }
    if let Some(tls) = &obs.tls {
        o.family(
            "probe_rdp_tls_version_supported",
            "gauge",
            "1 when a handshake pinned to this TLS version completes.",
        );
        for v in TlsVersion::ALL {
            let done = tls
                .attempts
                .iter()
                .any(|a| a.version == v && matches!(a.outcome, TlsOutcome::Completed { .. }));
            o.sample(
                "probe_rdp_tls_version_supported",
                &[("version", v.label())],
                f64::from(u8::from(done)),
            );
        }
        if let Some(best) = f.tls_versions.last() {
            o.family(
                "probe_tls_version_info",
                "gauge",
                "The newest TLS version that completes.",
            );
            o.sample("probe_tls_version_info", &[("version", best)], 1.0);
        }
    }
    if let Some(c) = &f.certificate {
        o.family(
            "probe_ssl_earliest_cert_expiry",
            "gauge",
            "Unix time of the RDP certificate's notAfter.",
        );
        o.sample(
            "probe_ssl_earliest_cert_expiry",
            &[],
            c.not_after_unix as f64,
        );
        o.family(
            "probe_ssl_cert_not_before",
            "gauge",
            "Unix time of the RDP certificate's notBefore.",
        );
        o.sample("probe_ssl_cert_not_before", &[], c.not_before_unix as f64);
        o.family(
            "probe_ssl_last_chain_info",
            "gauge",
            "The RDP certificate, in labels.",
        );
        let serial = obs
            .tls
            .as_ref()
            .and_then(|t| t.certificate.as_ref())
            .map(|c| c.serial_hex.clone())
            .unwrap_or_default();
        o.sample(
            "probe_ssl_last_chain_info",
            &[
                ("fingerprint_sha256", &c.sha256),
                ("subject", &c.subject),
                ("issuer", &c.issuer),
                ("subjectalternative", &c.names.join(",")),
                ("serialnumber", &serial),
                ("self_signed", if c.self_signed { "true" } else { "false" }),
            ],
            1.0,
        );
    }
    o.0
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
