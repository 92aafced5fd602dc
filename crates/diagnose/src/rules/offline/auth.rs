//! Findings from the authentication and gateway logs: the RD Gateway's Operational log
//! (Microsoft-Windows-TerminalServices-Gateway; Microsoft's "RD Gateway Server Connections" event
//! pages), NTLM/Operational (Microsoft-Windows-NTLM: 4001-4003 blocked, 8001-8003 audit only) and
//! the domain controller's Kerberos events (Security 4768 TGT request, 4769 service ticket request,
//! 4771 pre-authentication failed), whose Status is a Kerberos error number (RFC 4120 7.5.9).
//!
//! Each accusation has its control: a policy refusal followed by a success for the same user (and
//! resource) is reported as intermittent, not as the cause of every failure.

use super::describe::{cite, cite_many, f, num, src, Src};
use super::Acc;
use crate::model::Severity;
use crate::FindingId;
use rdpdoctor_codes::{lookup, Family};
use rdpdoctor_observations::EventRecord;

pub(super) fn check(events: &[EventRecord], acc: &mut Acc) {
    gateway(events, acc);
    ntlm(events, acc);
    kerberos(events, acc);
}

// ---------------------------------------------------------------------------------------------
// RD Gateway (Microsoft-Windows-TerminalServices-Gateway/Operational).

/// The gateway's fields live in UserData (`<EventInfo>`); rendered logs give them as %1..%7.
fn gw_user(e: &EventRecord) -> &str {
    e.any_field(&["Username", "UserName"])
        .or_else(|| e.positional(0))
        .unwrap_or("?")
}

fn gw_resource(e: &EventRecord) -> &str {
    e.any_field(&["Resource"])
        .or_else(|| e.positional(3))
        .unwrap_or("?")
}

fn gw_error(e: &EventRecord) -> &str {
    e.any_field(&["ErrorCode"])
        .or_else(|| e.positional(4))
        .unwrap_or("?")
}

fn gw_client(e: &EventRecord) -> &str {
    e.any_field(&["IpAddress"])
        .or_else(|| e.positional(1))
        .unwrap_or("?")
}

pub(super) fn describe_gateway(e: &EventRecord) -> String {
    let (user, client) = (gw_user(e), gw_client(e));
    let auth = e.any_field(&["AuthType"]).unwrap_or("?");
    match e.id {
        200 => format!("{user} from {client} met the connection authorization policy (RD CAP), authentication {auth}"),
        201 => format!("{user} from {client} did not meet the connection authorization policy (RD CAP), authentication {auth}, error {}", gw_error(e)),
        202 => format!("an administrator disconnected {user} from {client} (resource {})", gw_resource(e)),
        203 => format!("connection limit reached: {user} from {client} was refused"),
        300 => format!("{user} from {client} met the resource authorization policy (RD RAP) for {}", gw_resource(e)),
        301 => format!("{user} from {client} did not meet the resource authorization policy (RD RAP) for {}, error {}", gw_resource(e), gw_error(e)),
        302 => format!("{user} from {client} connected to {}", gw_resource(e)),
        303 => format!("{user} from {client} disconnected from {}", gw_resource(e)),
        304 => format!("{user} from {client} passed both policies but the gateway could not connect to {}, error {}", gw_resource(e), gw_error(e)),
        305 => format!("{user} from {client} was refused: authentication method {auth} is not supported, error {}", gw_error(e)),
        306 => format!("{user} from {client}: a tunnel could not be created (authentication {auth}, error {})", gw_error(e)),
        307 => format!("{user} from {client} was disconnected from {}: session timeout", gw_resource(e)),
        308 => format!("{user} from {client} met the RD RAP but the resource {} did not, so the connection was refused", gw_resource(e)),
        309 => format!("{user} from {client} was disconnected from {}: reauthentication / reauthorization failed", gw_resource(e)),
        id => format!("RD Gateway event {id}: {}", e.all_text()),
    }
}

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

pub(super) fn describe_ntlm(e: &EventRecord) -> String {
    let target = e.any_field(&["TargetName"]).unwrap_or("?");
    // 4001 / 8001 / 4003 / 8003 name the account in UserName / DomainName; 4002 / 8002 in
    // ClientUserName / ClientDomainName.
    let who = match (
        e.any_field(&["DomainName", "ClientDomainName"]),
        e.any_field(&["UserName", "ClientUserName"]),
    ) {
        (Some(d), Some(u)) if !d.is_empty() => format!("{d}\\{u}"),
        (_, Some(u)) => u.to_string(),
        _ => "?".to_string(),
    };
    let process = e.any_field(&["ProcessName"]).unwrap_or("?");
    match e.id {
        4001 => format!("NTLM blocked on this client: outgoing NTLM from {process} as {who} to {target}"),
        4002 => format!("NTLM blocked on this server: incoming NTLM from {who} (caller {process})"),
        4003 => format!("NTLM blocked by the domain controller: {who} from workstation {}", f(e, "Workstation")),
        8001 => format!("audit (not blocked): outgoing NTLM from {process} as {who} to {target} would be blocked by Restrict NTLM"),
        8002 => format!("audit (not blocked): incoming NTLM from {who} would be blocked by Restrict NTLM"),
        8003 => format!("audit (not blocked): domain NTLM logon of {who} from {} would be blocked by Restrict NTLM", f(e, "Workstation")),
        id => format!("NTLM event {id}: {}", e.all_text()),
    }
}

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

/// The Kerberos error number of a 4768 / 4769 / 4771 (`Status`, hex as the event shows it).
fn krb_status(e: &EventRecord) -> Option<u32> {
    e.field("Status").and_then(num)
}

fn krb_name(code: u32) -> String {
    match lookup(Family::Kerberos, code) {
        Some(k) => format!("0x{code:X} {}", k.name),
        None => format!("0x{code:X}"),
    }
}

/// `::ffff:198.18.3.10` → `198.18.3.10`.
fn client_address(e: &EventRecord) -> &str {
    let ip = f(e, "IpAddress");
    ip.strip_prefix("::ffff:").unwrap_or(ip)
}

pub(super) fn describe_kerberos(e: &EventRecord) -> String {
    let what = match e.id {
        4768 => "TGT request",
        4769 => "service ticket request",
        _ => "pre-authentication",
    };
    let status = krb_status(e).map_or("?".to_string(), krb_name);
    format!(
        "Kerberos {what} for {} (service {}) from {}: {}",
        f(e, "TargetUserName"),
        f(e, "ServiceName"),
        client_address(e),
        if krb_status(e) == Some(0) {
            "success".to_string()
        } else {
            format!("failure {status}")
        },
    )
}

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
