//! The second leg after a Server Redirection PDU: `redirect-target-unreachable` when no name or
//! address the broker gave answers from here, and the lines that say how the leg went.

use super::{finding, Vars};
use crate::model::Finding;
use crate::FindingId;
use rdpdoctor_observations::{Observations, RedirectLeg, RedirectTryOutcome};

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(leg) = &obs.redirect else {
        return;
    };
    if leg.target.is_some() || leg.not_followed.is_some() || leg.tried.is_empty() {
        return;
    }
    let mut evidence = vec![format!(
        "the Server Redirection PDU sent the client on to port {}{}; none of the {} target(s) it names answers from here ({})",
        leg.port,
        token_words(leg),
        leg.tried.len(),
        leg.order
    )];
    evidence.extend(tries(leg));
    out.push(finding(
        FindingId::RedirectTargetUnreachable,
        vars,
        evidence,
    ));
}

/// How the second leg went, for the `redirected` finding's evidence.
pub(super) fn leg_lines(obs: &Observations) -> Vec<String> {
    let Some(leg) = &obs.redirect else {
        return Vec::new();
    };
    if let Some(why) = &leg.not_followed {
        return vec![format!("not followed: {why}")];
    }
    let mut lines = vec![format!(
        "followed on port {}{} ({})",
        leg.port,
        token_words(leg),
        leg.order
    )];
    lines.extend(tries(leg));
    if let Some(why) = &leg.credentials_withheld {
        lines.push(format!(
            "the second leg went without the credentials given with --user: {why} (pin the \
             broker's certificate with --cert-sha256 to let them follow)"
        ));
    }
    if let Some(t) = leg.target.as_ref().and_then(|t| t.target.as_ref()) {
        lines.push(format!(
            "the findings marked \"redirect target {t}\" are that server's own"
        ));
    }
    lines
}

fn token_words(leg: &RedirectLeg) -> String {
    leg.routing_token
        .as_deref()
        .map(|t| format!(" with the routing token {t:?} in the X.224 request"))
        .unwrap_or_default()
}

fn tries(leg: &RedirectLeg) -> impl Iterator<Item = String> + '_ {
    leg.tried.iter().map(move |t| {
        let how = match &t.outcome {
            RedirectTryOutcome::Reached => "connected".to_string(),
            RedirectTryOutcome::NotResolved { reason } => {
                format!("the name does not resolve here ({reason})")
            }
            RedirectTryOutcome::ConnectFailed { outcome } => {
                crate::describe::describe_connect(outcome)
            }
            RedirectTryOutcome::GatewayRefused { reason } => {
                format!("the RD Gateway opened no channel to it ({reason})")
            }
        };
        format!("{} {}:{}: {how}", t.field, t.target, leg.port)
    })
}
