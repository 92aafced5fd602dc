//! Findings from the authentication and gateway logs: the RD Gateway's Operational log
//! (Microsoft-Windows-TerminalServices-Gateway; Microsoft's "RD Gateway Server Connections" event
//! pages), NTLM/Operational (Microsoft-Windows-NTLM: 4001-4003 blocked, 8001-8003 audit only) and
//! the domain controller's Kerberos events (Security 4768 TGT request, 4769 service ticket request,
//! 4771 pre-authentication failed), whose Status is a Kerberos error number (RFC 4120 7.5.9).
//!
//! Each accusation has its control: a policy refusal followed by a success for the same user (and
//! resource) is reported as intermittent, not as the cause of every failure.

use super::describe::{cite, cite_many, f, gw_resource, gw_user, krb_status, src, Src};
use super::Acc;
use crate::model::Severity;
use crate::FindingId;
use rdpdoctor_observations::EventRecord;

pub(super) fn check(events: &[EventRecord], acc: &mut Acc) {
    gateway(events, acc);
    ntlm(events, acc);
    kerberos(events, acc);
}

// ---------------------------------------------------------------------------------------------
// RD Gateway (Microsoft-Windows-TerminalServices-Gateway/Operational).

/// A success for the same user (and resource) after `last` (a policy refusal): the refusal was
/// not for every attempt.
fn later_success<'a>(
    events: &'a [EventRecord],
    last: &EventRecord,
    ids: &[u16],
    same_resource: bool,
) -> Option<&'a EventRecord> {
    events.iter().find(|e| {
        src(e) == Src::Gateway
            && ids.contains(&e.id)
            && e.time.is_some()
            && e.time > last.time
            && gw_user(e).eq_ignore_ascii_case(gw_user(last))
            && (!same_resource || gw_resource(e).eq_ignore_ascii_case(gw_resource(last)))
    })
}

/// Adds `id` for `hits` (gateway events), blocking unless a later success for the same user
/// (`ok_ids`) shows the refusal was not for every attempt.
fn gw_add(
    events: &[EventRecord],
    acc: &mut Acc,
    id: FindingId,
    head: &str,
    hits: &[&EventRecord],
    ok_ids: &[u16],
    same_resource: bool,
) {
    let Some(last) = hits.last() else {
        return;
    };
    let mut ev = vec![head.to_string()];
    ev.extend(cite_many(hits));
    let severity = match later_success(events, last, ok_ids, same_resource) {
        Some(ok) => {
            ev.push(format!("a later attempt got through: {}", cite(ok)));
            Severity::Warning
        }
        None => Severity::Blocking,
    };
    acc.add(id, severity, ev);
}

fn gateway(events: &[EventRecord], acc: &mut Acc) {
    let of = |ids: &[u16]| -> Vec<&EventRecord> {
        events
            .iter()
            .filter(|e| src(e) == Src::Gateway && ids.contains(&e.id))
            .collect()
    };
    let cap = of(&[201]);
    gw_add(
        events,
        acc,
        FindingId::GatewayPolicyDenied,
        "connection authorization policy (RD CAP) refused the user (gateway event 201)",
        &cap,
        &[200],
        false,
    );
    let rap = of(&[301, 308]);
    gw_add(
        events,
        acc,
        FindingId::GatewayPolicyDenied,
        "resource authorization policy (RD RAP) refused the target (gateway event 301 / 308)",
        &rap,
        &[300, 302],
        true,
    );
    gw_add(
        events,
        acc,
        FindingId::GatewayBusy,
        "the gateway reached its connection limit (event 203)",
        &of(&[203]),
        &[302],
        false,
    );
    gw_add(
        events,
        acc,
        FindingId::GatewayTargetUnreachable,
        "the gateway could not connect to the session host (event 304)",
        &of(&[304]),
        &[302],
        true,
    );
    gw_add(
        events,
        acc,
        FindingId::GatewayAuthMethodUnsupported,
        "the gateway refused the authentication method (event 305)",
        &of(&[305]),
        &[200],
        false,
    );
}

// ---------------------------------------------------------------------------------------------
// NTLM/Operational.

fn ntlm(events: &[EventRecord], acc: &mut Acc) {
    let blocked: Vec<&EventRecord> = events
        .iter()
        .filter(|e| src(e) == Src::Ntlm && (4001..=4003).contains(&e.id))
        .collect();
    if !blocked.is_empty() {
        let mut ev = vec![
            "a Restrict NTLM policy refused NTLM logons (4001 = this client, 4002 = this server, \
             4003 = the domain controller); a logon that falls back from Kerberos fails here"
                .to_string(),
        ];
        ev.extend(cite_many(&blocked));
        acc.add(FindingId::NtlmBlocked, Severity::Blocking, ev);
    }
    let audited: Vec<&EventRecord> = events
        .iter()
        .filter(|e| src(e) == Src::Ntlm && (8001..=8003).contains(&e.id))
        .collect();
    if !audited.is_empty() {
        let mut ev = vec![
            "NTLM was used where Kerberos was not (audit events: the logons succeeded, and would \
             be refused once Restrict NTLM is enforced)"
                .to_string(),
        ];
        ev.extend(cite_many(&audited));
        acc.add(FindingId::KerberosNotUsed, Severity::Info, ev);
    }
}

// ---------------------------------------------------------------------------------------------
// Kerberos on the domain controller (Security 4768 / 4769 / 4771).

fn is_termsrv(e: &EventRecord) -> bool {
    f(e, "ServiceName")
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("TERMSRV/"))
}

fn kerberos(events: &[EventRecord], acc: &mut Acc) {
    let krb = |e: &&EventRecord| src(e) == Src::Security && matches!(e.id, 4768 | 4769 | 4771);
    let with = |code: u32, ids: &[u16]| -> Vec<&EventRecord> {
        events
            .iter()
            .filter(krb)
            .filter(|e| ids.contains(&e.id) && krb_status(e) == Some(code))
            .collect()
    };
    let skew = with(0x25, &[4768, 4769, 4771]);
    if !skew.is_empty() {
        let mut ev = vec![
            "the KDC refused requests as outside the clock tolerance (KRB_AP_ERR_SKEW 0x25)"
                .to_string(),
        ];
        ev.extend(cite_many(&skew));
        acc.add(FindingId::KerberosClockSkew, Severity::Blocking, ev);
    }
    let preauth = with(0x18, &[4768, 4771]);
    if !preauth.is_empty() {
        let mut ev = vec![
            "wrong password at Kerberos pre-authentication (KDC_ERR_PREAUTH_FAILED 0x18)"
                .to_string(),
        ];
        ev.extend(cite_many(&preauth));
        acc.add(FindingId::KerberosPreauthFailed, Severity::Warning, ev);
    }
    let etype = with(0xE, &[4768, 4769]);
    if !etype.is_empty() {
        let mut ev =
            vec!["no encryption type both sides allow (KDC_ERR_ETYPE_NOSUPP 0xE)".to_string()];
        ev.extend(cite_many(&etype));
        acc.add(FindingId::KerberosEtypeUnsupported, Severity::Blocking, ev);
    }
    // Only TERMSRV/ names: a 0x7 for another service says nothing about Remote Desktop.
    let spn: Vec<&EventRecord> = with(0x7, &[4769])
        .into_iter()
        .filter(|e| is_termsrv(e))
        .collect();
    if let Some(last) = spn.last() {
        let mut ev = vec!["no account holds the TERMSRV SPN the client asked for (KDC_ERR_S_PRINCIPAL_UNKNOWN 0x7): the client falls back to NTLM".to_string()];
        ev.extend(cite_many(&spn));
        let ok = events.iter().filter(krb).find(|e| {
            e.id == 4769
                && krb_status(e) == Some(0)
                && e.time > last.time
                && f(e, "ServiceName").eq_ignore_ascii_case(f(last, "ServiceName"))
        });
        let severity = match ok {
            Some(ok) => {
                ev.push(format!(
                    "a later request for the same name got a ticket: {}",
                    cite(ok)
                ));
                Severity::Info
            }
            None => Severity::Warning,
        };
        acc.add(FindingId::KerberosSpnMissing, severity, ev);
    }
}
