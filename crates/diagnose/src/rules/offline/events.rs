//! Findings proven by event records: each rule names the event ids and fields that prove it.

use super::describe::{cite, cite_many, describe, disconnect, logon_status, num, src, time, Src};
use super::Acc;
use crate::model::Severity;
use crate::FindingId;
use rdpdoctor_observations::EventRecord;
use std::collections::BTreeSet;

pub(super) fn check(events: &[EventRecord], acc: &mut Acc) {
    certificate(events, acc);
    schannel(events, acc);
    server(events, acc);
    firewall(events, acc);
    logon(events, acc);
    client(events, acc);
}

fn select(events: &[EventRecord], pred: impl Fn(&EventRecord) -> bool) -> Vec<&EventRecord> {
    events.iter().filter(|e| pred(e)).collect()
}

/// Schannel 36870 on the server credential; RCM 1057/1058 and their status text.
fn certificate(events: &[EventRecord], acc: &mut Acc) {
    // Type "client" is this machine acting as a TLS client (another service), not RDP's listener.
    let key = select(events, |e| {
        src(e) == Src::Schannel
            && e.id == 36870
            && !e
                .field("Type")
                .is_some_and(|t| t.eq_ignore_ascii_case("client"))
    });
    let renewal = select(events, |e| {
        src(e) == Src::Rcm && matches!(e.id, 1057 | 1058)
    });
    // "Keyset does not exist" / "Access is denied" (or their codes) put the key store at fault.
    let key_store = |e: &&EventRecord| {
        let t = e.all_text().to_ascii_lowercase();
        [
            "keyset",
            "access is denied",
            "0x80090016",
            "0x80070005",
            "8009030d",
        ]
        .iter()
        .any(|p| t.contains(p))
    };
    let renewal_key: Vec<&EventRecord> = renewal.iter().copied().filter(key_store).collect();
    if !key.is_empty() || !renewal_key.is_empty() {
        let mut ev = cite_many(&key);
        ev.extend(cite_many(&renewal_key));
        acc.add(
            FindingId::CertPrivateKeyInaccessible,
            Severity::Blocking,
            ev,
        );
    }
    if let Some(last) = renewal.last() {
        let mut ev = cite_many(&renewal);
        let recovered = events
            .iter()
            .filter(|e| src(e) == Src::Rcm && e.id == 1056)
            .find(|e| e.time.is_some() && e.time > last.time);
        let severity = match recovered {
            Some(ok) => {
                ev.push(format!("recovered later: {}", cite(ok)));
                Severity::Info
            }
            None => {
                ev.push(
                    "no event 1056 (new self-signed certificate) after the last failure"
                        .to_string(),
                );
                Severity::Blocking
            }
        };
        acc.add(FindingId::CertRenewalFailed, severity, ev);
    }
    let custom = select(events, |e| {
        src(e) == Src::Rcm && matches!(e.id, 1051 | 1053 | 1054 | 1055 | 1059)
    });
    if !custom.is_empty() {
        acc.add(
            FindingId::CustomCertUnusable,
            Severity::Warning,
            cite_many(&custom),
        );
    }
}

/// Schannel protocol and alert events.
fn schannel(events: &[EventRecord], acc: &mut Acc) {
    let alert = |e: &EventRecord| e.field("AlertDesc").and_then(num);
    let disabled = select(events, |e| {
        src(e) == Src::Schannel
            && (e.id == 36874
                || (e.id == 36871
                    && !e
                        .field("Type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("client")))
                || (e.id == 36888 && alert(e) == Some(70)))
    });
    if !disabled.is_empty() {
        let mut ev = cite_many(&disabled);
        if disabled
            .iter()
            .any(|e| e.id == 36871 && e.field("ErrorState") == Some("10013"))
        {
            ev.push("36871 with state 10013 is the pattern Microsoft gives for the TLS versions a credential needs being disabled".to_string());
        }
        acc.add(FindingId::TlsDisabledInSchannel, Severity::Warning, ev);
    }
    let sent = select(events, |e| src(e) == Src::Schannel && e.id == 36888);
    if !sent.is_empty() {
        let codes: BTreeSet<String> = sent
            .iter()
            .filter_map(|e| e.field("AlertDesc"))
            .map(str::to_string)
            .collect();
        let mut ev = vec![format!(
            "alerts sent: {}",
            codes.into_iter().collect::<Vec<_>>().join(", ")
        )];
        ev.extend(cite_many(&sent));
        if sent.iter().any(|e| alert(e) == Some(80)) {
            ev.push("alert 80 internal_error often means the server could not use its own credential (certificate key)".to_string());
        }
        acc.add(FindingId::TlsAlertSent, Severity::Warning, ev);
    }
    let received = select(events, |e| src(e) == Src::Schannel && e.id == 36887);
    if !received.is_empty() {
        acc.add(
            FindingId::TlsAlertReceived,
            Severity::Info,
            cite_many(&received),
        );
    }
}

/// TermDD / RdpCoreTS security-layer errors, refused logons, service crashes.
fn server(events: &[EventRecord], acc: &mut Acc) {
    let layer = select(events, |e| {
        matches!((src(e), e.id), (Src::TermDd, 56) | (Src::RdpCore, 139))
    });
    let protocol = select(events, |e| {
        matches!((src(e), e.id), (Src::TermDd, 50) | (Src::RdpCore, 97))
    });
    if !layer.is_empty() || !protocol.is_empty() {
        let clients: BTreeSet<&str> = layer
            .iter()
            .filter_map(|e| {
                if src(e) == Src::TermDd {
                    e.positional(1)
                } else {
                    e.any_field(&["ClientIP", "IPString"])
                }
            })
            .collect();
        let mut ev = cite_many(&layer);
        ev.extend(cite_many(&protocol));
        if !clients.is_empty() {
            ev.push(format!(
                "client addresses: {}",
                clients.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let severity = if layer.is_empty() {
            Severity::Info
        } else {
            Severity::Warning
        };
        acc.add(FindingId::SecurityLayerError, severity, ev);
    }
    // 1070: "A logon request was denied because the terminal server is currently in drain
    // mode" (Microsoft Docs "Event ID 1070 — Terminal Server Connections"). No primary source
    // documents a 1071 for refused logons, so it is not read as one.
    let refused = select(events, |e| src(e) == Src::Rcm && e.id == 1070);
    if !refused.is_empty() {
        acc.add(
            FindingId::LogonsDisabled,
            Severity::Blocking,
            cite_many(&refused),
        );
    }
    let crashed = select(events, |e| {
        src(e) == Src::Scm && matches!(e.id, 7031 | 7034)
    });
    if !crashed.is_empty() {
        acc.add(
            FindingId::TermserviceDisabled,
            Severity::Warning,
            cite_many(&crashed),
        );
    }
}

/// True when an event shows a connection to RDP getting through.
fn got_through(e: &EventRecord) -> bool {
    matches!(
        (src(e), e.id),
        (Src::RdpCore, 131 | 98)
            | (Src::Rcm, 261 | 1149)
            | (Src::Lsm, 21 | 25)
            | (Src::Security, 5156)
    ) || (src(e) == Src::Security && e.id == 4624)
        // A failed RemoteInteractive logon still proves the connection reached winlogon.
        || (src(e) == Src::Security && e.id == 4625 && e.field("LogonType") == Some("10"))
}

/// WFP 5152/5157 on the RDP port (the reader kept only those).
fn firewall(events: &[EventRecord], acc: &mut Acc) {
    let drops = select(events, |e| {
        src(e) == Src::Security
            && matches!(e.id, 5152 | 5157)
            && e.field("Direction").is_none_or(|d| d != "%%14593")
    });
    let Some(last) = drops.last() else {
        return;
    };
    let sources: BTreeSet<&str> = drops
        .iter()
        .filter_map(|e| e.field("SourceAddress"))
        .collect();
    let mut ev = cite_many(&drops);
    ev.push(format!(
        "dropped sources: {}",
        sources.into_iter().collect::<Vec<_>>().join(", ")
    ));
    let later = events
        .iter()
        .find(|e| got_through(e) && e.time.is_some() && e.time > last.time);
    let severity = match later {
        Some(e) => {
            ev.push(format!("a later connection got through: {}", cite(e)));
            Severity::Warning
        }
        None => Severity::Blocking,
    };
    acc.add(FindingId::FirewallDrop, severity, ev);
}

/// Security 4625 / 4825 and RdpCoreTS 140.
fn logon(events: &[EventRecord], acc: &mut Acc) {
    // Addresses that talked RDP: a LogonType 3 failure from one of them is an NLA logon.
    let rdp_ips: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match (src(e), e.id) {
            (Src::RdpCore, _) => e
                .any_field(&["ClientIP", "IPString"])
                .map(|ip| ip.rsplit_once(':').map_or(ip, |(a, _)| a)),
            (Src::Rcm, 1149) => e.any_field(&["Param3"]),
            (Src::Lsm, _) => e.any_field(&["Address"]),
            (Src::TermDd, 56) => e.positional(1),
            (Src::Security, 4825 | 4778 | 4779) => e.any_field(&["ClientAddress"]),
            _ => None,
        })
        .collect();
    let failures = select(events, |e| {
        src(e) == Src::Security
            && e.id == 4625
            && match e.field("LogonType") {
                Some("10") => true,
                _ => e.field("IpAddress").is_some_and(|ip| rdp_ips.contains(ip)),
            }
    });
    let mut groups: Vec<(FindingId, Severity, Vec<&EventRecord>)> = Vec::new();
    fn put<'a>(
        groups: &mut Vec<(FindingId, Severity, Vec<&'a EventRecord>)>,
        id: FindingId,
        severity: Severity,
        e: &'a EventRecord,
    ) {
        match groups.iter_mut().find(|g| g.0 == id) {
            Some(g) => g.2.push(e),
            None => groups.push((id, severity, vec![e])),
        }
    }
    // The id each NTSTATUS proves (a 4625 record's Status or SubStatus), from the one mapping the NLA
    // rule uses too. Bad credentials are a warning; the account and logon-right findings block.
    for e in &failures {
        let id = match logon_status(e).and_then(crate::ntstatus::finding) {
            Some(FindingId::LogonFailure) => (FindingId::LogonFailure, Severity::Warning),
            Some(
                id @ (FindingId::AccountRestricted
                | FindingId::LogonRightMissing
                | FindingId::AccountLocked
                | FindingId::AccountDisabled
                | FindingId::PasswordExpired
                | FindingId::PasswordMustChange),
            ) => (id, Severity::Blocking),
            // Other statuses (no logon servers, clock skew, access denied...) are not proven by
            // a 4625 alone.
            _ => continue,
        };
        put(&mut groups, id.0, id.1, e);
    }
    for e in events
        .iter()
        .filter(|e| src(e) == Src::Security && e.id == 4825)
    {
        put(
            &mut groups,
            FindingId::LogonRightMissing,
            Severity::Blocking,
            e,
        );
    }
    for e in events
        .iter()
        .filter(|e| src(e) == Src::RdpCore && e.id == 140)
    {
        put(&mut groups, FindingId::LogonFailure, Severity::Warning, e);
    }
    for (id, severity, group) in groups {
        let mut ev = Vec::new();
        let ips: BTreeSet<&str> = group
            .iter()
            .filter_map(|e| e.any_field(&["IpAddress", "ClientAddress", "IPString"]))
            .collect();
        if ips.len() > 1 {
            ev.push(format!("{} distinct source addresses", ips.len()));
        }
        ev.extend(cite_many(&group));
        acc.add(id, severity, ev);
    }
}

/// RDPClient 1026, joined to its 1024 by ActivityID.
fn client(events: &[EventRecord], acc: &mut Acc) {
    let disconnects = select(events, |e| src(e) == Src::Client && e.id == 1026);
    let mut severity = Severity::Info;
    let mut ev = Vec::new();
    for d in &disconnects {
        let value = d.field("Value").and_then(num);
        // 1 local disconnect, 2 remote disconnect by the user, 3 by the server (logoff): not errors.
        if !matches!(value, Some(0..=3)) {
            severity = Severity::Warning;
        }
        let server = d
            .activity_id
            .as_deref()
            .and_then(|aid| {
                events.iter().find(|e| {
                    src(e) == Src::Client && e.id == 1024 && e.activity_id.as_deref() == Some(aid)
                })
            })
            .and_then(|c| {
                c.field("Value")
                    .map(|s| format!("{s} (1024 at {})", time(c)))
            })
            .unwrap_or_else(|| "a server not named in the log".to_string());
        let code = value.map(disconnect).unwrap_or_else(|| describe(d));
        ev.push(format!(
            "{} RDPClient 1026: disconnected from {server}: reason {code}; ActivityID {} [{}]",
            time(d),
            d.activity_id.as_deref().unwrap_or("none"),
            d.source.rsplit(['/', '\\']).next().unwrap_or(&d.source)
        ));
    }
    if !ev.is_empty() {
        if ev.len() > 6 {
            let n = ev.len();
            ev.drain(..n - 5);
            ev.insert(0, format!("{n} disconnects; the latest 5:"));
        }
        acc.add(FindingId::ClientDisconnectCode, severity, ev);
    }
}
