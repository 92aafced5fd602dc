//! clients-fail: with `check --clients`, the client profiles whose simulated handshake fails.

use super::{finding, Vars};
use crate::clients::{Outcome, Simulation};
use crate::context::Context;
use crate::model::{Finding, Severity};
use crate::FindingId;

pub(super) fn check(ctx: &Context, sim: &Simulation, vars: &Vars, out: &mut Vec<Finding>) {
    let failing: Vec<_> = sim
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Fails)
        .collect();
    if failing.is_empty() {
        return;
    }
    let evidence = failing
        .iter()
        .map(|r| {
            format!(
                "{} ({}) fails at the {} step: {}",
                r.id,
                r.name,
                r.step.map_or("connection", |s| s.label()),
                r.reason
            )
        })
        .collect();
    let mut f = finding(FindingId::ClientsFail, vars, evidence);
    // The client the severities describe is among them: for that user, the server is down.
    if failing.iter().any(|r| r.id == ctx.client.id) {
        f.severity = Severity::Blocking;
    }
    out.push(f);
}
