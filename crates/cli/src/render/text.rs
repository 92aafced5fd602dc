//! The terminal report: the verdict in words first, then the finding that explains it with its
//! evidence and numbered fixes, then other findings, then details.

use super::escape::line as e;
use rdpdoctor_codes::Family;
use rdpdoctor_diagnose::{words, ClientError, Diagnosis, Finding, Status};
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
    let _ = writeln!(out, "{}: {status}", e(target));
    let _ = writeln!(out, "{}", e(&d.verdict.summary));
    if !d.verdict.scope.is_empty() {
        let _ = writeln!(out, "{}", e(&d.verdict.scope));
    }

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
    out.push_str(&super::clients::matrix(d));
    // Defence in depth: whatever field was missed above, no control character but the
    // renderer's own line ends reaches the terminal.
    super::escape::report(&out).into_owned()
}

fn full(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "Cause [{}] {} ({}, {} step)",
        e(&f.id),
        e(&f.title),
        f.severity.label(),
        f.step.label()
    );
    let _ = writeln!(out, "Evidence:");
    for ev in &f.evidence {
        let _ = writeln!(out, "  - {}", e(ev));
    }
    if !f.explanation.is_empty() {
        let _ = writeln!(out, "Why: {}", e(&f.explanation));
    }
    if let Some(c) = &f.client_error {
        let _ = writeln!(out, "{}", client_line(c));
    }
    if !f.fixes.is_empty() {
        let _ = writeln!(out, "Fixes, least invasive first:");
        for (i, fix) in f.fixes.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, e(&fix.text));
            for c in &fix.commands {
                let _ = writeln!(out, "       {}", e(c));
            }
        }
    }
}

fn brief(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "  [{}] {}: {}",
        f.severity.label(),
        e(&f.id),
        e(&f.title)
    );
    for ev in &f.evidence {
        let _ = writeln!(out, "      {}", e(ev));
    }
    if let Some(fix) = f.fixes.first() {
        let _ = writeln!(out, "      Fix: {}", e(&fix.text));
        for c in &fix.commands {
            let _ = writeln!(out, "        {}", e(c));
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
                Family::Gateway => "mstsc RD Gateway code",
                Family::Tsgu => "RD Gateway result",
                Family::Kerberos => "Kerberos error",
                Family::Win32 => "Win32 error",
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
    if let Some(r) = &f.route {
        let _ = writeln!(out, "  Route: {}", e(r));
    }
    if let Some((first, rest)) = f.rdp_file.split_first() {
        let _ = writeln!(out, "  RDP file: {}", e(first));
        for l in rest {
            let _ = writeln!(out, "    {}", e(l));
        }
    }
    if !f.addresses.is_empty() {
        let used = f
            .address_used
            .as_deref()
            .map(|a| format!(", used {a}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  Addresses: {}{}",
            e(&f.addresses.join(", ")),
            e(&used)
        );
    }
    if let Some(ms) = f.connect_ms_median {
        let _ = writeln!(out, "  TCP connect: {ms:.1} ms (median)");
    }
    if let Some(p) = &f.path {
        let _ = writeln!(
            out,
            "  Path: round trip {} lowest, {} median over {}; {} retransmitted ({} with data loss); {} of {} lost",
            words::ms(p.rtt_min_ms),
            words::ms(p.rtt_median_ms),
            words::count(p.connections, "connection"),
            words::count(p.retransmitted_segments, "segment"),
            p.connections_with_data_loss,
            p.lost_segments,
            words::count(p.data_segments, "data segment")
        );
    }
    if let Some(u) = &f.udp {
        let _ = writeln!(
            out,
            "  UDP transport ({}): {}",
            e(&u.address),
            e(&u.summary)
        );
    }
    if !f.negotiation.is_empty() {
        let _ = writeln!(out, "  Negotiation:");
        for n in &f.negotiation {
            let _ = writeln!(out, "    {}", e(n));
        }
    }
    if !f.tls_versions.is_empty() {
        let _ = writeln!(
            out,
            "  TLS versions that complete: {}",
            e(&f.tls_versions.join(", "))
        );
    }
    if let Some(c) = &f.tls_cipher {
        let _ = writeln!(out, "  Best TLS: {}", e(c));
    }
    if let Some(c) = &f.certificate {
        certificate(out, c);
    }
    if let Some(r) = &f.rdp_security {
        rdp_security(out, r);
    }
    if let Some(n) = &f.nla {
        nla(out, n);
    }
    if let Some(s) = &f.session {
        session(out, s);
    }
    if let Some(ms) = duration_ms {
        let _ = writeln!(out, "  Checked in {ms:.0} ms");
    }
}

/// The certificate section of the details.
fn certificate(out: &mut String, c: &rdpdoctor_diagnose::CertificateFacts) {
    let _ = writeln!(out, "  Certificate: {}", e(&c.subject));
    let _ = writeln!(
        out,
        "    issuer {}{}",
        e(&c.issuer),
        if c.self_signed { " (self-signed)" } else { "" }
    );
    let _ = writeln!(out, "    names {}", e(&c.names.join(", ")));
    if c.never_expires {
        let _ = writeln!(
            out,
            "    valid from {}, never expires (notAfter 99991231235959Z, RFC 5280 \"no well-defined expiration date\")",
            e(&c.not_before)
        );
    } else {
        let _ = writeln!(
            out,
            "    valid {} to {} ({})",
            e(&c.not_before),
            e(&c.not_after),
            c.expiry()
        );
    }
    let _ = writeln!(out, "    key {}, signature {}", e(&c.key), e(&c.signature));
    let _ = writeln!(out, "    SHA-1 {}", e(&c.sha1));
    let _ = writeln!(out, "    SHA-256 {}", e(&c.sha256));
}

/// The Standard RDP Security section of the details.
fn rdp_security(out: &mut String, r: &rdpdoctor_diagnose::RdpSecurityFacts) {
    let _ = writeln!(out, "  Standard RDP Security: {}", r.summary);
    let version = r
        .rdp_version
        .as_deref()
        .map(|v| format!("server {v}, "))
        .unwrap_or_default();
    let _ = writeln!(out, "    {version}methods chosen: {}", r.methods.join(", "));
    for o in &r.offers {
        let _ = writeln!(out, "    {o}");
    }
}

/// The `--full` session section of the details.
fn session(out: &mut String, s: &rdpdoctor_diagnose::SessionFacts) {
    let _ = writeln!(out, "  Session (--full):");
    let _ = writeln!(out, "    phase reached: {}", e(&s.phase_label));
    let _ = writeln!(out, "    ended with {}", e(&s.ended));
    for line in [&s.encryption, &s.multitransport].into_iter().flatten() {
        let _ = writeln!(out, "    {}", e(line));
    }
    for c in &s.codes {
        let _ = writeln!(out, "    {}", e(c));
    }
    if let Some(h) = &s.hold {
        let _ = writeln!(out, "    hold: {}", e(&h.summary));
        for l in &h.timeline {
            let _ = writeln!(out, "      {}", e(l));
        }
    }
    match &s.credentials {
        Some(c) => {
            let _ = writeln!(out, "    credentials {}", e(c));
        }
        None => {
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
        let _ = writeln!(out, "    computer {}", e(&names.join(" / ")));
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
        let _ = writeln!(out, "    domain {}", e(&domain.join(", ")));
    }
    if n.workgroup {
        let _ = writeln!(
            out,
            "    workgroup (not joined to a domain: the NTLM domain fields name the computer itself)"
        );
    }
    if let Some(os) = &n.os {
        match &n.os_also {
            Some(also) => {
                let _ = writeln!(out, "    OS {} ({})", e(os), e(also));
            }
            None => {
                let _ = writeln!(out, "    OS {}", e(os));
            }
        }
    }
    if let Some(t) = &n.server_time {
        let offset = n
            .clock_offset_secs
            .map(|o| format!(" ({o:+} s from ours)"))
            .unwrap_or_default();
        let _ = writeln!(out, "    clock {}{offset}", e(t));
    }
    if let Some(v) = n.ts_request_version {
        let _ = writeln!(out, "    CredSSP TSRequest version {v}");
    }
    if let Some(x) = &n.challenge_failed {
        let _ = writeln!(out, "    no CHALLENGE: {}", e(x));
    }
    // The logon is its own connection, with the credentials: not under the heading above.
    if let Some(l) = &n.logon {
        let _ = writeln!(out, "  Logon (--user): {}", e(l));
    }
}

/// The Kerberos readiness section (`observations.kerberos`), after the report: which package a
/// Windows client would use and why, said next to the package this check's own logon used (its
/// own Negotiate: Kerberos or NTLM, and why), then the realm, the KDCs and every exchange.
pub fn kerberos(obs: &rdpdoctor_observations::Observations) -> String {
    use rdpdoctor_observations::{KdcSource, Preauth, RealmSource};
    let Some(k) = &obs.kerberos else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(out, "\nKerberos readiness:");
    let logon = match &obs.logon {
        Some(l) => match &l.choice {
            Some(c) => format!("the logon above used {} ({}); ", l.package, c.detail),
            None => format!("the logon above used {}; ", l.package),
        },
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  {}a Windows client would use {}: {}",
        e(&logon),
        k.package.package.label(),
        e(&k.package.detail)
    );
    let realm_from = match k.realm_source {
        RealmSource::UserPrincipal => "from the user name",
        RealmSource::UserDomain => "from the user's domain",
        RealmSource::NtlmChallenge => "from the server's NTLM CHALLENGE",
        RealmSource::None => "none found",
    };
    let _ = writeln!(
        out,
        "  realm {} ({realm_from}){}",
        e(k.realm.as_deref().unwrap_or("-")),
        k.client
            .as_deref()
            .map(|c| format!(", account {}", e(c)))
            .unwrap_or_default()
    );
    let kdc_from = match (k.kdc_source, &k.kdc_proxy) {
        (Some(KdcSource::Proxy), Some(url)) => format!("through the KDC proxy {}", e(url)),
        (Some(KdcSource::Named), _) => "named by --kdc".to_string(),
        (Some(KdcSource::Srv), _) => "from the realm's SRV records".to_string(),
        _ => "not looked up".to_string(),
    };
    let names: Vec<String> = k
        .kdcs
        .iter()
        .map(|d| {
            let at: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
            match at.is_empty() {
                true => format!("{} (no address)", d.name),
                false => format!("{} ({}:{})", d.name, at.join(", "), d.port),
            }
        })
        .collect();
    let listed = match names.is_empty() {
        true => String::new(),
        false => format!(": {}", names.join("; ")),
    };
    let _ = writeln!(out, "  KDC {kdc_from}{}", e(&listed));
    if let Some(o) = k.kdc_clock_offset() {
        // Whole seconds: "-0" for a KDC a few microseconds behind says nothing.
        let _ = writeln!(
            out,
            "  KDC clock {:+} s from ours (tolerance 300 s)",
            o.round() as i64
        );
    }
    let preauth = match &k.preauth {
        Preauth::Sent => "sent (the KDC is one the delegation rule allows)".to_string(),
        Preauth::NoPassword => "none (no --user password)".to_string(),
        Preauth::Withheld { reason } => format!("withheld: {reason}"),
        Preauth::NotReached => "not reached".to_string(),
    };
    let _ = writeln!(out, "  pre-authentication: {}", e(&preauth));
    for x in &k.exchanges {
        let _ = writeln!(
            out,
            "    {}",
            e(&rdpdoctor_diagnose::describe_kdc_exchange(x))
        );
    }
    out
}
