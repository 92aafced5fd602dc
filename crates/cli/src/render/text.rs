//! The terminal report: the verdict in words first, then the finding that explains it with its
//! evidence and numbered fixes, then other findings, then details.

use rdpdoctor_codes::Family;
use rdpdoctor_diagnose::{ClientError, Diagnosis, Finding, Status};
use std::fmt::Write;

pub fn report(d: &Diagnosis, duration_ms: Option<f64>) -> String {
    let mut out = String::new();
    let target = d.target.as_deref().unwrap_or("(offline evidence)");
    let status = match d.verdict.status {
        Status::Healthy => "HEALTHY",
        Status::Degraded => "DEGRADED",
        Status::Broken => "BROKEN",
        Status::Unreachable => "UNREACHABLE",
    };
    let _ = writeln!(out, "{target}: {status}");
    let _ = writeln!(out, "{}", d.verdict.summary);

    let main = d
        .verdict
        .finding
        .as_deref()
        .and_then(|id| d.findings.iter().find(|f| f.id == id));
    if let Some(f) = main {
        out.push('\n');
        full(&mut out, f);
    }
    let others: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| Some(f.id.as_str()) != d.verdict.finding.as_deref())
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\nOther findings:");
        for f in others {
            brief(&mut out, f);
        }
    }
    details(&mut out, d, duration_ms);
    out
}

fn full(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "Cause [{}] {} ({}, {} step)",
        f.id,
        f.title,
        f.severity.label(),
        f.step.label()
    );
    let _ = writeln!(out, "Evidence:");
    for e in &f.evidence {
        let _ = writeln!(out, "  - {e}");
    }
    if !f.explanation.is_empty() {
        let _ = writeln!(out, "Why: {}", f.explanation);
    }
    if let Some(c) = &f.client_error {
        let _ = writeln!(out, "{}", client_line(c));
    }
    if !f.fixes.is_empty() {
        let _ = writeln!(out, "Fixes, least invasive first:");
        for (i, fix) in f.fixes.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, fix.text);
            for c in &fix.commands {
                let _ = writeln!(out, "       {c}");
            }
        }
    }
}

fn brief(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "  [{}] {}: {}", f.severity.label(), f.id, f.title);
    for e in &f.evidence {
        let _ = writeln!(out, "      {e}");
    }
    if let Some(fix) = f.fixes.first() {
        let _ = writeln!(out, "      Fix: {}", fix.text);
        for c in &fix.commands {
            let _ = writeln!(out, "        {c}");
        }
    }
}

fn client_line(c: &ClientError) -> String {
    let windows: Vec<String> = c
        .codes
        .iter()
        .filter_map(|code| {
            let label = match code.family {
                Family::Disconnect => "error code",
                Family::Extended => "extended error code",
                _ => return None,
            };
            Some(format!("{label} {} ({})", code.hex, code.name))
        })
        .collect();
    let other: Vec<String> = c
        .codes
        .iter()
        .filter_map(|code| {
            let label = match code.family {
                Family::Disconnect | Family::Extended => return None,
                Family::Errinfo => "server error info",
                Family::NegFailure => "RDP_NEG_FAILURE",
                Family::Ntstatus => "NTSTATUS",
                Family::Hresult => "HRESULT",
                Family::TlsAlert => "TLS alert",
                Family::Freerdp => "FreeRDP",
            };
            Some(format!("{label} {}", code.name))
        })
        .collect();
    let how = if c.likely {
        "would likely show"
    } else {
        "shows"
    };
    let mut line = format!("A Windows client {how}: ");
    line.push_str(if c.text.is_empty() {
        "an error"
    } else {
        &c.text
    });
    if !windows.is_empty() {
        line.push_str(&format!("; {}", windows.join(", ")));
    }
    if !other.is_empty() {
        line.push_str(&format!("\n  Related codes: {}", other.join(", ")));
    }
    line
}

fn details(out: &mut String, d: &Diagnosis, duration_ms: Option<f64>) {
    let f = &d.facts;
    let network = !f.addresses.is_empty() || !f.negotiation.is_empty() || duration_ms.is_some();
    if !network {
        return;
    }
    let _ = writeln!(out, "\nDetails:");
    if !f.addresses.is_empty() {
        let used = f
            .address_used
            .as_deref()
            .map(|a| format!(", used {a}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  Addresses: {}{used}", f.addresses.join(", "));
    }
    if let Some(ms) = f.connect_ms_median {
        let _ = writeln!(out, "  TCP connect: {ms:.1} ms (median)");
    }
    if let Some(p) = &f.path {
        let _ = writeln!(
            out,
            "  Path: round trip {:.2} ms lowest, {:.2} ms median over {} connections; {} segments retransmitted ({} with data loss)",
            p.rtt_min_ms, p.rtt_median_ms, p.connections, p.retransmitted_segments, p.connections_with_data_loss
        );
    }
    if !f.negotiation.is_empty() {
        let _ = writeln!(out, "  Negotiation:");
        for n in &f.negotiation {
            let _ = writeln!(out, "    {n}");
        }
    }
    if !f.tls_versions.is_empty() {
        let _ = writeln!(
            out,
            "  TLS versions that complete: {}",
            f.tls_versions.join(", ")
        );
    }
    if let Some(c) = &f.tls_cipher {
        let _ = writeln!(out, "  Best TLS: {c}");
    }
    if let Some(c) = &f.certificate {
        let _ = writeln!(out, "  Certificate: {}", c.subject);
        let _ = writeln!(
            out,
            "    issuer {}{}",
            c.issuer,
            if c.self_signed { " (self-signed)" } else { "" }
        );
        let _ = writeln!(out, "    names {}", c.names.join(", "));
        let _ = writeln!(
            out,
            "    valid {} to {} ({} days left)",
            c.not_before, c.not_after, c.days_left
        );
        let _ = writeln!(out, "    key {}, signature {}", c.key, c.signature);
        let _ = writeln!(out, "    SHA-1 {}", c.sha1);
        let _ = writeln!(out, "    SHA-256 {}", c.sha256);
    }
    if let Some(n) = &f.nla {
        nla(out, n);
    }
    if let Some(s) = &f.session {
        let _ = writeln!(out, "  Session (--full):");
        let _ = writeln!(out, "    phase reached: {}", s.phase_label);
        let _ = writeln!(out, "    ended with {}", s.ended);
        for c in &s.codes {
            let _ = writeln!(out, "    {c}");
        }
        let _ = writeln!(
            out,
            "    credentials {}",
            if s.delegated {
                "delegated (sent to the server)"
            } else {
                "not sent"
            }
        );
    }
    if let Some(ms) = duration_ms {
        let _ = writeln!(out, "  Checked in {ms:.0} ms");
    }
}

/// The NLA section of the details: the server's names, OS, clock, CredSSP version, logon.
fn nla(out: &mut String, n: &rdpdoctor_diagnose::NlaFacts) {
    let _ = writeln!(out, "  NLA (NTLM CHALLENGE, no credentials sent):");
    let names: Vec<&str> = [&n.netbios_computer, &n.dns_computer]
        .into_iter()
        .filter_map(|x| x.as_deref())
        .collect();
    if !names.is_empty() {
        let _ = writeln!(out, "    computer {}", names.join(" / "));
    }
    let domain: Vec<String> = [
        n.netbios_domain.as_deref().map(|d| format!("NetBIOS {d}")),
        n.domain
            .as_deref()
            .filter(|d| Some(*d) != n.netbios_domain.as_deref())
            .map(|d| format!("DNS {d}")),
        n.forest.as_deref().map(|d| format!("forest {d}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !domain.is_empty() {
        let _ = writeln!(out, "    domain {}", domain.join(", "));
    }
    if let Some(os) = &n.os {
        match &n.os_also {
            Some(also) => {
                let _ = writeln!(out, "    OS {os} ({also})");
            }
            None => {
                let _ = writeln!(out, "    OS {os}");
            }
        }
    }
    if let Some(t) = &n.server_time {
        let offset = n
            .clock_offset_secs
            .map(|o| format!(" ({o:+} s from ours)"))
            .unwrap_or_default();
        let _ = writeln!(out, "    clock {t}{offset}");
    }
    if let Some(v) = n.ts_request_version {
        let _ = writeln!(out, "    CredSSP TSRequest version {v}");
    }
    if let Some(e) = &n.challenge_failed {
        let _ = writeln!(out, "    no CHALLENGE: {e}");
    }
    if let Some(l) = &n.logon {
        let _ = writeln!(out, "    logon {l}");
    }
}
