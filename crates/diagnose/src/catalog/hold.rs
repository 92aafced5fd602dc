//! Catalog entry for `check --full --hold`: a session that the far side ended without any code
//! of the server's: session-dropped (no Set Error Info, no disconnect ultimatum, just a close).

use super::{ClientCodes, ClientDef, FindingDef, FixDef};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const ENTRIES: &[FindingDef] = &[FindingDef {
    id: FindingId::SessionDropped,
    step: Step::Session,
    severity: Severity::Warning,
    severity_rule: "Warning when an up session was dropped while held; blocking when the connection was dropped after the Client Info PDU (the logon), before the session was up.",
    title: "The session was dropped without a server code (FIN or reset from the far side)",
    breaks_some_clients: true,
    explains: &[],
    explanation: "While the probe held the session (`--hold`), or right after it sent the Client Info PDU (the \
        logon), the connection was closed or reset from the far side, and the server sent neither a Set Error \
        Info PDU (MS-RDPBCGR 2.2.5.1.1) nor an MCS Disconnect Provider Ultimatum first. A Remote Desktop server \
        that ends a session on purpose (idle or session time limits, another logon taking the session, an \
        administrator's logoff) says so with a code; a bare FIN or reset is what a device on the path does when \
        it forgets or cuts a connection: a load balancer, firewall or NAT whose idle timeout ran out, or a \
        tunnel, bastion or VPN that restarted. The evidence says after how many seconds, how long the session \
        had been silent, and whether the client was idle. A drop after a round number of idle seconds (30, 60, \
        300...) points at an idle timeout on the path; a drop right after the logon through a tunnel points at \
        the tunnel (compare a direct connection with `rdpdoctor compare`).",
    fixes: &[
        FixDef {
            text: "If the drop came after a round number of idle seconds: raise the idle (inactivity) timeout of the load balancer, firewall or NAT device on the path above the longest idle period of a session (haproxy: timeout client and timeout server; most firewalls: the TCP session idle timeout of the rule or service)",
            commands: &[],
        },
        FixDef {
            text: "Make the server send keep-alives more often than the device's idle timeout: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Configure keep-alive connection interval (Enabled, interval in minutes)",
            commands: &[
                r#"reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v KeepAliveEnable /t REG_DWORD /d 1 /f"#,
                r#"reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v KeepAliveInterval /t REG_DWORD /d 1 /f"#,
            ],
        },
        FixDef {
            text: "Shorten the server's TCP keepalive time (KeepAliveTime, milliseconds, default two hours) below the device's idle timeout, so idle connections carry TCP keepalives; a restart of the server applies it",
            commands: &[
                r#"reg add "HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters" /v KeepAliveTime /t REG_DWORD /d 300000 /f"#,
            ],
        },
        FixDef {
            text: "If it dropped right after the logon through a tunnel, RD Gateway, bastion or VPN: connect directly and through the route side by side, and fix or update the component that closes (its logs at the time of the drop)",
            commands: &["rdpdoctor compare {host}:{port} DIRECT-ADDRESS --full --user USER"],
        },
    ],
    client_codes: ClientCodes::NONE,
    client: Some(ClientDef {
        text: "the session freezes, then \"Trying to reconnect\" or \"This computer can't connect to the remote computer\" with error code 0x904 and no meaningful extended code",
        likely: true,
    }),
}];
