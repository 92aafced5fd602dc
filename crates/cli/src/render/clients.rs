//! The `--clients` part of the text report: the server's TLS policy as enumerated, and the
//! matrix of client profiles (client, outcome, why).

use super::escape::line as e;
use rdpdoctor_diagnose::Diagnosis;
use rdpdoctor_observations::Observations;
use std::fmt::Write;

/// The accepted suites, order and groups per TLS version; empty without `--clients`.
pub fn policy(obs: &Observations) -> String {
    let Some(scan) = &obs.ciphers else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nTLS policy ({}, {:.0} ms):",
        rdpdoctor_diagnose::words::count(scan.connections, "connection"),
        scan.elapsed_ms
    );
    for v in scan.versions.iter().rev() {
        let order = match v.server_order {
            Some(true) => "server's order",
            Some(false) => "client's order",
            None => "order not determined",
        };
        let _ = writeln!(out, "  {} ({order}):", v.version.label());
        for s in &v.accepted {
            let _ = writeln!(out, "    {}", e(s));
        }
        if v.accepted.is_empty() {
            let _ = writeln!(out, "    (no suite the probe offers)");
        }
        if !v.groups.is_empty() {
            let more = if v.groups_complete {
                ""
            } else {
                " (not all tried)"
            };
            let _ = writeln!(out, "    groups: {}{more}", e(&v.groups.join(", ")));
        }
        if let Some(sig) = &v.signature {
            let _ = writeln!(out, "    key exchange signed with {}", e(sig));
        }
        if let Some(bits) = v.dh_bits {
            let _ = writeln!(out, "    DH group: {bits} bits");
        }
        if let Some(why) = &v.stopped {
            let _ = writeln!(out, "    enumeration stopped early: {}", e(why));
        }
    }
    if let (Some(false), Some(why)) = (scan.certificate_verified, &scan.certificate_problem) {
        let _ = writeln!(out, "  Certificate: {}", e(why));
    }
    out
}

/// The matrix: one line per client profile; empty without `--clients`.
pub fn matrix(d: &Diagnosis) -> String {
    if d.clients.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nWhich clients can connect:\n");
    let width = d
        .clients
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(out, "  {:<width$}  {:<8}  why", "client", "outcome");
    for c in &d.clients {
        let step = match (c.outcome, c.step) {
            (rdpdoctor_diagnose::clients::Outcome::Fails, Some(s)) => format!(" at {}", s.label()),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:<8}  {}{}",
            e(&c.id),
            c.outcome.label(),
            if step.is_empty() {
                String::new()
            } else {
                format!("[{}] ", step.trim_start())
            },
            e(&c.reason)
        );
        if let Some(err) = &c.client_error {
            let codes: Vec<String> = err
                .codes
                .iter()
                .map(|k| format!("{} {}", k.hex, k.name))
                .collect();
            let mut what = e(&err.text).into_owned();
            if !codes.is_empty() {
                what = format!("{what} ({})", codes.join(", "));
            }
            let _ = writeln!(out, "  {:<width$}            client shows: {what}", "");
        }
    }
    out
}
