//! One-line descriptions of event records (used as evidence and in the timeline), and the
//! timeline itself. The wording follows the events' own Windows descriptions, shortened.

use crate::model::TimelineEntry;
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{EventRecord, Observations};

/// The timeline keeps this many lines (the most recent).
const TIMELINE_MAX: usize = 40;
/// Evidence lists at most this many single events per finding; more are summarized.
const CITE_MAX: usize = 4;

/// Which log family a record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Src {
    Schannel,
    Rcm,
    TermDd,
    RdpCore,
    Lsm,
    Security,
    Scm,
    Client,
    /// Microsoft-Windows-TerminalServices-Gateway (the RD Gateway's own log).
    Gateway,
    /// Microsoft-Windows-NTLM (NTLM/Operational: blocks and audits).
    Ntlm,
    Other,
}

pub(super) fn src(e: &EventRecord) -> Src {
    let p = e.provider.to_ascii_lowercase();
    if p.contains("schannel") {
        Src::Schannel
    } else if p.contains("terminalservices-gateway") {
        Src::Gateway
    } else if p == "microsoft-windows-ntlm" {
        Src::Ntlm
    } else if p.contains("remoteconnectionmanager") || e.from_provider("TermService") {
        Src::Rcm
    } else if p == "termdd" {
        Src::TermDd
    } else if p.contains("rdpcorets") {
        Src::RdpCore
    } else if p.contains("localsessionmanager") {
        Src::Lsm
    } else if p.contains("security-auditing") {
        Src::Security
    } else if p == "service control manager" {
        Src::Scm
    } else if p.contains("clientactivexcore")
        || e.channel.to_ascii_lowercase().contains("rdpclient")
    {
        Src::Client
    } else {
        Src::Other
    }
}

fn short(s: Src) -> &'static str {
    match s {
        Src::Schannel => "Schannel",
        Src::Rcm => "RemoteConnectionManager",
        Src::TermDd => "TermDD",
        Src::RdpCore => "RdpCoreTS",
        Src::Lsm => "LocalSessionManager",
        Src::Security => "Security",
        Src::Scm => "Service Control Manager",
        Src::Client => "RDPClient",
        Src::Gateway => "RD Gateway",
        Src::Ntlm => "NTLM",
        Src::Other => "event",
    }
}

/// Parses `0x8009030d`, `8009030D` (when it has hex letters) or `10001`.
pub(super) fn num(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    s.parse::<u32>()
        .ok()
        .or_else(|| u32::from_str_radix(s, 16).ok())
}

/// `0xC000006E STATUS_ACCOUNT_RESTRICTION`, from the shared code tables.
pub(super) fn code(family: Family, v: u32) -> String {
    match rdpdoctor_codes::lookup(family, v) {
        Some(e) if !e.name.is_empty() => format!("0x{v:08X} {}", e.name),
        _ => format!("0x{v:08X}"),
    }
}

/// `2308 = 0x904 disconnectReasonAtClientWinsockFDCLOSE`.
pub(super) fn disconnect(v: u32) -> String {
    match rdpdoctor_codes::lookup(Family::Disconnect, v) {
        Some(e) if !e.name.is_empty() => format!("{v} = 0x{v:X} {}", e.name),
        Some(e) => format!("{v} = 0x{v:X} (undocumented: {})", e.meaning),
        None => format!("{v} = 0x{v:X} (not in the code tables)"),
    }
}

fn alert(v: &str) -> String {
    match num(v).and_then(|n| u8::try_from(n).ok()) {
        Some(a) => super::super::alert_name(a),
        None => v.to_string(),
    }
}

/// The status a 4625 is about: SubStatus when it says more than Status.
pub(super) fn logon_status(e: &EventRecord) -> Option<u32> {
    let status = e.field("Status").and_then(num);
    let sub = e.field("SubStatus").and_then(num).filter(|s| *s != 0);
    sub.or(status)
}

pub(super) fn f<'a>(e: &'a EventRecord, name: &str) -> &'a str {
    e.field(name).filter(|v| !v.is_empty()).unwrap_or("?")
}

fn user(e: &EventRecord, domain: &str, name: &str) -> String {
    match (e.any_field(&[domain]), e.any_field(&[name])) {
        (Some(d), Some(u)) => format!("{d}\\{u}"),
        (None, Some(u)) => u.to_string(),
        _ => "?".to_string(),
    }
}

/// What the event says, with its key fields.
pub(super) fn describe(e: &EventRecord) -> String {
    match src(e) {
        Src::Schannel => describe_schannel(e, e.id),
        Src::Rcm => describe_remote_connection_manager(e, e.id),
        Src::TermDd => describe_termdd(e, e.id),
        Src::RdpCore => describe_rdp_core(e, e.id),
        Src::Lsm => describe_local_session_manager(e, e.id),
        Src::Security if matches!(e.id, 4768 | 4769 | 4771) => describe_kerberos(e),
        Src::Security => describe_security(e, e.id),
        Src::Scm => describe_service_control_manager(e, e.id),
        Src::Client => describe_client(e, e.id),
        Src::Gateway => describe_gateway(e),
        Src::Ntlm => describe_ntlm(e),
        Src::Other => describe_other(e, e.id),
    }
}

/// Schannel (TLS) events.
fn describe_schannel(e: &EventRecord, id: u16) -> String {
    match id {
        36870 => format!(
            "fatal error accessing the TLS {} credential's private key: ErrorCode {}, ErrorStatus {}",
            e.field("Type").unwrap_or("server"),
            e.field("ErrorCode").and_then(num).map_or("?".to_string(), |v| code(Family::Hresult, v)),
            f(e, "ErrorStatus")
        ),
        36871 => format!(
            "fatal error creating a TLS {} credential, internal error state {}",
            e.field("Type").unwrap_or("server"),
            f(e, "ErrorState")
        ),
        36874 => format!(
            "a {} connection request arrived, but none of its cipher suites is enabled on the server",
            f(e, "Protocol")
        ),
        36887 => format!("fatal alert received from the peer: {}", alert(f(e, "AlertDesc"))),
        36888 => {
            let mut s = format!("fatal alert generated and sent: {}", alert(f(e, "AlertDesc")));
            if let Some(st) = e.field("ErrorState") {
                s.push_str(&format!(", error state {st}"));
            }
            if let Some(t) = e.any_field(&["TargetName"]) {
                s.push_str(&format!(", target {t}"));
            }
            s
        }
        id => format!("Schannel event {id}: {}", e.all_text()),
    }
}

/// TerminalServices-RemoteConnectionManager events: certificates, listeners, logons.
fn describe_remote_connection_manager(e: &EventRecord, id: u16) -> String {
    let text = e.positional(0).unwrap_or_default().trim().to_string();
    match id {
        1056 => format!(
            "created a new self-signed certificate ({}), SHA-1 {}",
            if text.is_empty() { "?" } else { &text },
            e.binary.as_deref().unwrap_or("?")
        ),
        1057 => format!("failed to create a new self-signed certificate: {:?}", e.all_text().trim()),
        1058 => format!("failed to replace the expired self-signed certificate: {:?}", e.all_text().trim()),
        1050 => "security layer and encryption level were inconsistent and were corrected".to_string(),
        1051 => "the configured certificate was not found; using the self-signed one".to_string(),
        1052 => format!("the configured certificate expires soon ({})", e.all_text()),
        1053 => "the configured certificate has expired; using the self-signed one".to_string(),
        1054 => "the configured certificate lacks the Server Authentication usage; using the self-signed one".to_string(),
        1055 => "the configured certificate's private key is inaccessible; using the self-signed one".to_string(),
        1059 => "the certificate configuration was invalid and was reset".to_string(),
        1070 => "a logon was refused: the server is in drain mode".to_string(),
        1012 => format!("a client exceeded the maximum failed logon attempts ({})", e.all_text()),
        1149 => format!(
            "user authentication succeeded: {} from {}",
            user(e, "Param2", "Param1"),
            f(e, "Param3")
        ),
        261 => format!("listener {} received a connection", f(e, "listenerName")),
        258 => format!("listener {} started", f(e, "listenerName")),
        259 => format!("listener {} stopped", f(e, "listenerName")),
        260 => format!("listener {} failed: {}", f(e, "listenerName"), e.all_text()),
        1158 => format!("accepted a connection from {}", e.all_text()),
        id => format!("RemoteConnectionManager event {id}: {}", e.all_text()),
    }
}

/// TermDD (the RDP transport driver) events.
fn describe_termdd(e: &EventRecord, id: u16) -> String {
    match id {
        56 => {
            let status = e
                .binary
                .as_deref()
                .and_then(|b| b.get(80..88))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .map(|v| {
                    format!(
                        ", driver dump data 0x{:08X} (offset 0x28; meaning unverified)",
                        v.swap_bytes()
                    )
                })
                .unwrap_or_default();
            format!(
                "the security layer found an error in the protocol stream and disconnected client {}{status}",
                e.positional(1).unwrap_or("?")
            )
        }
        50 => format!(
            "X.224 protocol error ({}); the client was disconnected",
            e.positional(1).unwrap_or("?")
        ),
        id => format!("TermDD event {id}: {}", e.all_text()),
    }
}

/// RemoteDesktopServices-RdpCoreTS events.
fn describe_rdp_core(e: &EventRecord, id: u16) -> String {
    match id {
        131 => format!(
            "accepted a new {} connection from {}",
            f(e, "ConnType"),
            f(e, "ClientIP")
        ),
        98 => "a TCP connection was established".to_string(),
        140 => format!(
            "a connection from {} failed: the user name or password is wrong (NLA)",
            f(e, "IPString")
        ),
        139 => format!(
            "the security layer detected an error and disconnected the client: {}",
            e.all_text()
        ),
        97 => format!("a protocol component detected an error: {}", e.all_text()),
        105 => "the security layer lets the server use native RDP encryption".to_string(),
        153 => format!("the session negotiated {}", e.all_text()),
        102 => "the server terminated the main RDP connection".to_string(),
        103 => format!(
            "the client disconnected, reason code {}",
            f(e, "ReasonCode")
        ),
        142 => format!("TCP socket read failed, error {}", f(e, "error")),
        143 => format!("TCP socket write failed, error {}", f(e, "error")),
        226 => format!(
            "state machine error in {} → {} on {}: {}",
            f(e, "StateTransition"),
            f(e, "NewStateName"),
            f(e, "EventName"),
            e.field("ErrorCode")
                .and_then(num)
                .map_or("?".to_string(), |v| code(Family::Hresult, v))
        ),
        id => format!("RdpCoreTS event {id}: {}", e.all_text()),
    }
}

/// TerminalServices-LocalSessionManager events: the session lifecycle.
fn describe_local_session_manager(e: &EventRecord, id: u16) -> String {
    let what = match id {
        21 => "session logon succeeded",
        22 => "shell start",
        23 => "session logoff",
        24 => "session disconnected",
        25 => "session reconnected",
        39 => "session disconnected by another session",
        40 => "session disconnected",
        41 => "begin session arbitration",
        42 => "end session arbitration",
        _ => "session event",
    };
    let mut s = what.to_string();
    if let Some(u) = e.any_field(&["User"]) {
        s.push_str(&format!(": {u}"));
    }
    if let Some(id) = e.any_field(&["SessionID", "Session"]) {
        s.push_str(&format!(", session {id}"));
    }
    if let Some(a) = e.any_field(&["Address"]) {
        s.push_str(&format!(", from {a}"));
    }
    if let Some(r) = e.any_field(&["Reason"]) {
        s.push_str(&format!(", reason {r}"));
    }
    s
}

/// Security log events: logons, Remote Desktop access, the Windows Filtering Platform.
fn describe_security(e: &EventRecord, id: u16) -> String {
    match id {
        4624 => format!(
            "logon of {} (LogonType {}) from {}",
            user(e, "TargetDomainName", "TargetUserName"),
            f(e, "LogonType"),
            f(e, "IpAddress")
        ),
        4625 => {
            let mut s = format!(
                "logon failure for {} (LogonType {}) from {}: Status {}",
                user(e, "TargetDomainName", "TargetUserName"),
                f(e, "LogonType"),
                f(e, "IpAddress"),
                e.field("Status")
                    .and_then(num)
                    .map_or("?".to_string(), |v| code(Family::Ntstatus, v)),
            );
            if let Some(sub) = e.field("SubStatus").and_then(num).filter(|v| *v != 0) {
                s.push_str(&format!(", SubStatus {}", code(Family::Ntstatus, sub)));
            }
            s
        }
        4778 => format!(
            "session reconnected: {} from {}",
            f(e, "AccountName"),
            f(e, "ClientAddress")
        ),
        4779 => format!(
            "session disconnected: {} from {}",
            f(e, "AccountName"),
            f(e, "ClientAddress")
        ),
        4825 => format!(
            "{} was denied access to Remote Desktop from {}",
            user(e, "AccountDomain", "AccountName"),
            f(e, "ClientAddress")
        ),
        id @ (5152 | 5156 | 5157) => format!(
            "the Windows Filtering Platform {} {} from {}:{} to port {} (filter {})",
            match id {
                5152 => "dropped a packet",
                5157 => "blocked a connection",
                _ => "allowed a connection",
            },
            match e.field("Direction") {
                Some("%%14592") => "inbound",
                Some("%%14593") => "outbound",
                _ => "",
            },
            f(e, "SourceAddress"),
            f(e, "SourcePort"),
            f(e, "DestPort"),
            f(e, "FilterRTID")
        ),
        id => format!("Security event {id}"),
    }
}

/// Service Control Manager events.
fn describe_service_control_manager(e: &EventRecord, id: u16) -> String {
    match id {
        7036 => format!(
            "{} entered the {} state",
            e.any_field(&["param1"]).or(e.positional(0)).unwrap_or("?"),
            e.any_field(&["param2"]).or(e.positional(1)).unwrap_or("?")
        ),
        id => format!(
            "service terminated unexpectedly (event {id}): {}",
            e.all_text()
        ),
    }
}

/// RDPClient (mstsc) events.
fn describe_client(e: &EventRecord, id: u16) -> String {
    match id {
        1024 => format!("trying to connect to {}", f(e, "Value")),
        1025 => "connected".to_string(),
        1026 => match e.field("Value").and_then(num) {
            Some(v) => format!(
                "disconnected: reason {} ({:?})",
                disconnect(v),
                e.field("Name").unwrap_or_default()
            ),
            None => format!("disconnected: {}", e.all_text()),
        },
        1027 => format!(
            "connected to domain {}, session {}",
            f(e, "DomainName"),
            f(e, "SessionId")
        ),
        1029 => "hashed user name logged".to_string(),
        1102 => format!("initiated a UDP connection to {}", f(e, "Value")),
        1103 => "UDP connection established".to_string(),
        1105 => "UDP connection disconnected".to_string(),
        id => format!("client event {id}: {}", e.all_text()),
    }
}

/// Events of any other provider.
fn describe_other(e: &EventRecord, id: u16) -> String {
    format!("{} event {id}: {}", e.provider, e.all_text())
}

pub(super) fn time(e: &EventRecord) -> String {
    e.time
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "(no time)".to_string())
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `2026-11-20 08:14:03 UTC Schannel 36870: ... [System.evtx]`: time, id and key fields.
pub(super) fn cite(e: &EventRecord) -> String {
    format!(
        "{} {} {}: {} [{}]",
        time(e),
        short(src(e)),
        e.id,
        describe(e),
        file_name(&e.source)
    )
}

/// Evidence lines for a group of events: each one when few, else a count, the range and the
/// latest few.
pub(super) fn cite_many(events: &[&EventRecord]) -> Vec<String> {
    if events.len() <= CITE_MAX {
        return events.iter().map(|e| cite(e)).collect();
    }
    let mut out = vec![format!(
        "{} events from {} to {}; the latest {}:",
        events.len(),
        events.first().map(|e| time(e)).unwrap_or_default(),
        events.last().map(|e| time(e)).unwrap_or_default(),
        CITE_MAX - 1
    )];
    let skip = events.len().saturating_sub(CITE_MAX - 1);
    out.extend(events.iter().skip(skip).map(|e| cite(e)));
    out
}

/// The short timeline: server events one per line (identical neighbours collapsed), client
/// attempts one per ActivityID.
pub(super) fn timeline(obs: &Observations) -> (Vec<TimelineEntry>, usize) {
    let events = &obs.evidence.events;
    let mut entries: Vec<TimelineEntry> = Vec::new();
    let mut seen_attempts: Vec<&str> = Vec::new();
    for e in events {
        let side = if src(e) == Src::Client {
            "client"
        } else {
            "server"
        };
        if src(e) == Src::Client {
            if let Some(aid) = e.activity_id.as_deref() {
                if seen_attempts.contains(&aid) {
                    continue;
                }
                seen_attempts.push(aid);
                let attempt: Vec<&EventRecord> = events
                    .iter()
                    .filter(|x| src(x) == Src::Client && x.activity_id.as_deref() == Some(aid))
                    .collect();
                entries.push(TimelineEntry {
                    time: time(e),
                    side: side.to_string(),
                    event: format!(
                        "attempt {}",
                        attempt
                            .iter()
                            .map(|x| x.id.to_string())
                            .collect::<Vec<_>>()
                            .join("→")
                    ),
                    text: attempt_text(&attempt),
                    count: 1,
                });
                continue;
            }
        }
        let event = format!("{} {}", short(src(e)), e.id);
        let text = describe(e);
        if let Some(last) = entries.last_mut() {
            if last.event == event && last.text == text {
                last.count += 1;
                continue;
            }
        }
        entries.push(TimelineEntry {
            time: time(e),
            side: side.to_string(),
            event,
            text,
            count: 1,
        });
    }
    let omitted = entries.len().saturating_sub(TIMELINE_MAX);
    (entries.split_off(omitted), omitted)
}

/// One client attempt in words: where to, and how it ended.
pub(super) fn attempt_text(attempt: &[&EventRecord]) -> String {
    let server = attempt
        .iter()
        .find(|e| e.id == 1024)
        .and_then(|e| e.field("Value"))
        .unwrap_or("(server not logged)");
    let end = attempt
        .iter()
        .rev()
        .find(|e| e.id == 1026)
        .map(|e| describe(e))
        .unwrap_or_else(|| "no disconnect recorded".to_string());
    format!("to {server}: {end}")
}

// ---------------------------------------------------------------------------------------------
// The authentication and gateway logs (their rules are in auth.rs).

/// The gateway's fields live in UserData (`<EventInfo>`); rendered logs give them as %1..%7.
pub(super) fn gw_user(e: &EventRecord) -> &str {
    e.any_field(&["Username", "UserName"])
        .or_else(|| e.positional(0))
        .unwrap_or("?")
}

pub(super) fn gw_resource(e: &EventRecord) -> &str {
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

/// The Kerberos error number of a 4768 / 4769 / 4771 (`Status`, hex as the event shows it).
pub(super) fn krb_status(e: &EventRecord) -> Option<u32> {
    e.field("Status").and_then(num)
}

fn krb_name(code: u32) -> String {
    match rdpdoctor_codes::lookup(Family::Kerberos, code) {
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
