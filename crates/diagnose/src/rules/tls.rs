//! tls-handshake-failed, tls-legacy-only, tls-modern-only, tls-legacy-enabled: which TLS
//! versions complete a handshake after negotiation selected a TLS-based protocol.

use super::{describe_tls, finding, Vars};
use crate::clients::Simulation;
use crate::context::Context;
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_observations::{Observations, TlsOutcome, TlsVersion};

pub(super) fn check(
    obs: &Observations,
    ctx: &Context,
    sim: &Simulation,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let Some(tls) = &obs.tls else {
        return;
    };
    // Attempts whose X.224 exchange did not select TLS never reached a handshake.
    let reached: Vec<_> = tls
        .attempts
        .iter()
        .filter(|a| !matches!(a.outcome, TlsOutcome::NegotiationFailed { .. }))
        .collect();
    if reached.is_empty() {
        return;
    }
    let lines =
        |versions: &mut dyn Iterator<Item = &&rdpdoctor_observations::TlsAttempt>| -> Vec<String> {
            versions
                .map(|a| format!("{}: {}", a.version.label(), describe_tls(&a.outcome)))
                .collect()
        };
    let completed: Vec<TlsVersion> = reached
        .iter()
        .filter(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
        .map(|a| a.version)
        .collect();
    if completed.is_empty() {
        out.push(finding(
            FindingId::TlsHandshakeFailed,
            vars,
            lines(&mut reached.iter()),
        ));
        return;
    }
    let evidence = lines(&mut reached.iter());
    // The chosen client's TLS step, as its simulation decides it.
    let with_client = |mut f: Finding| {
        if sim.chosen.no_common_tls_version {
            f.severity = Severity::Blocking;
            f.evidence.push(format!(
                "the client profile {:?} ({}) supports none of the versions that complete",
                ctx.client.name, ctx.client.description
            ));
        }
        f
    };
    let legacy = completed.iter().any(|v| v.is_legacy());
    let modern = completed.iter().any(|v| !v.is_legacy());
    if !modern {
        out.push(with_client(finding(
            FindingId::TlsLegacyOnly,
            vars,
            evidence,
        )));
    } else if completed == [TlsVersion::Tls13] {
        out.push(with_client(finding(
            FindingId::TlsModernOnly,
            vars,
            evidence,
        )));
    } else if legacy {
        out.push(finding(FindingId::TlsLegacyEnabled, vars, evidence));
    }
}
