//! Catalog entries for `check --full --hold`: a session that the far side ended without any code
//! of the server's (session-dropped: a FIN, a reset, or silence that swallows the client's data),
//! and a session that stayed open but stopped working (session-unusable).

use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::SessionDropped,
        step: Step::Session,
        severity: Severity::Warning,
        severity_rule: "Warning when an up session was dropped while held (a FIN or reset, or silently: the client's PDU at the end of the hold went unanswered and TCP retransmitted it); blocking when the connection was dropped during the connection sequence, before the session was up.",
        title: "The session was dropped without a server code (FIN, reset or silence from the far side)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "While the probe held the session (`--hold`), or during the connection sequence of `--full` (for \
            example right after the Client Info PDU, the logon), the connection was closed or reset from the far \
            side, or it went silent: the probe's Refresh Rect at the end of the hold (MS-RDPBCGR 2.2.11.2) got no \
            answer and TCP kept retransmitting it. The server sent neither a Set Error Info PDU (MS-RDPBCGR \
            2.2.5.1.1) nor an MCS Disconnect Provider Ultimatum first. A Remote Desktop server that ends a session \
            on purpose (idle or session time limits, another logon taking the session, an administrator's logoff) \
            says so with a code; a bare FIN or reset is what a device on the path does when it forgets or cuts a \
            connection: a load balancer, firewall or NAT whose idle timeout ran out, or a tunnel, bastion or VPN \
            that restarted. Cloud load balancers drop idle flows without telling either side (Azure Load Balancer \
            after 4 minutes by default, AWS Network Load Balancer after 350 seconds): the client only notices when \
            it sends again and nothing comes back. The evidence says after how many seconds, how long the session \
            had been silent, and whether the client was idle. A drop after a round number of idle seconds (30, 60, \
            300...) points at an idle timeout on the path; a drop right after the logon through a tunnel points at \
            the tunnel (compare a direct connection with `rdpdoctor compare`).",
        fixes: &[
            FixDef {
                text: "If the drop came after a round number of idle seconds, or silently: raise the idle (inactivity) timeout of the load balancer, firewall or NAT device on the path above the longest idle period of a session. haproxy in TCP mode: `timeout tunnel` (in the backend or defaults), which supersedes `timeout client` and `timeout server` once the connection is relayed; Azure Load Balancer: the rule's idle timeout (4 to 100 minutes, 4 by default), and TCP reset on idle so that clients see a reset instead of silence; AWS Network Load Balancer: the TCP listener's idle timeout (60 to 6000 s, 350 by default); most firewalls: the TCP session idle timeout of the rule or service",
                commands: &[
                    "timeout tunnel 1h",
                    "az network lb rule update --resource-group GROUP --lb-name LB --name RULE --idle-timeout 30 --enable-tcp-reset true",
                    "aws elbv2 modify-listener-attributes --listener-arn LISTENER-ARN --attributes Key=tcp.idle_timeout.seconds,Value=3600",
                ],
            },
            FixDef {
                text: "Make the server send keep-alives more often than the device's idle timeout: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Configure keep-alive connection interval (Enabled; the interval is in minutes, 1 to 999999: 1 stays below Azure's 4 minutes and AWS's 350 s); gpupdate applies it, to new connections",
                commands: &[
                    r#"reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v KeepAliveEnable /t REG_DWORD /d 1 /f"#,
                    r#"reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v KeepAliveInterval /t REG_DWORD /d 1 /f"#,
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
    },
    FindingDef {
        id: FindingId::SessionUnusable,
        step: Step::Session,
        severity: Severity::Warning,
        severity_rule: "Warning: the session came up and the connection stayed open, but during --hold it stopped doing what a session does (deactivated and never reactivated, a Refresh Rect TCP delivered but the server never answered, a frame the probe could not read).",
        title: "The session stayed connected but stopped working during the hold",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The session came up, and the connection was neither closed nor reset, yet the server stopped \
            behaving like a live session. Either it sent Deactivate All (MS-RDPBCGR 1.3.1.3, the start of a \
            Deactivation-Reactivation Sequence, used for a resolution change or a reconnection) and never the Demand \
            Active that must follow, so a client shows a frozen or black screen; or TCP delivered the client's \
            Refresh Rect (the server's TCP acknowledged it, no retransmission) but the server never drew anything in \
            answer, although its capabilities say it accepts one; or the server sent bytes the probe could not read \
            as RDP frames. The server's own logs say what its session manager was doing at that time. A device that \
            rewrites the stream (an inspecting proxy) can cause the same.",
        fixes: &[
            FixDef {
                text: "Read the server's RDP logs at the time in the evidence (session state changes, graphics errors)",
                commands: &[
                    "Get-WinEvent -LogName Microsoft-Windows-TerminalServices-LocalSessionManager/Operational -MaxEvents 50",
                    "Get-WinEvent -LogName Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational -MaxEvents 50",
                ],
            },
            FixDef {
                text: "Compare with a connection that bypasses any device in between, held as long",
                commands: &["rdpdoctor compare {host}:{port} DIRECT-ADDRESS --full --user USER"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "the session window stays open but freezes or turns black, until the user disconnects",
            likely: true,
        }),
    },
];
