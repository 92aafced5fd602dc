//! Catalog entries for what a full connection (`check --full`) shows: the server's own codes
//! after the security handshake (Set Error Info, disconnect ultimatums, licensing errors), and a
//! connection sequence that never reached the session without any of them.

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::ServerDeniedConnection,
        step: Step::Session,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the server ended the connection with Set Error Info 0x7 during the connection sequence.",
        title: "The server denied the connection (Set Error Info 0x7: what mstsc shows as error 0x904, extended error 0x7)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "After the security handshake (TLS, and CredSSP when NLA is on) the server sent a Set Error Info PDU \
            with errorInfo 0x00000007 ERRINFO_SERVER_DENIED_CONNECTION (MS-RDPBCGR 2.2.5.1.1) and then disconnected. A \
            Windows client most likely stores that code and reports it at the disconnect as \"Error code: 0x904, Extended \
            error code: 0x7\" (0x904 is documented as \"Socket closed\", extended 0x7 as \"The server denied the \
            connection\"; the pairing is an inference from the identical numbering, MS-RDPBCGR 3.2.5.7.1). The server reported that it \
            denied the connection; the protocol carries no reason. Since the password was accepted (or was not asked for \
            yet), the refusal comes from the server's session logic, not from the account's credentials: check, on the \
            server, whether logons are disabled or drained, whether the account may log on through Remote Desktop \
            Services, whether a session limit is reached, and whether the licensing grace period ran out. On servers \
            built on IronRDP, 0x7 is also the answer to a wrong password in the Client Info PDU with NLA off.",
        fixes: &[
            FixDef {
                // Event 1070: "A logon request was denied because the terminal server is currently
                // in drain mode" (Microsoft Docs "Event ID 1070 — Terminal Server Connections"),
                // logged in the RemoteConnectionManager Operational channel.
                text: "Check whether new logons are disabled or the server is in drain mode (RD Session Host); RemoteConnectionManager event 1070 names a logon refused because of drain mode",
                commands: &[
                    "chglogon /query",
                    "wevtutil qe Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational \"/q:*[System[Provider[@Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'] and (EventID=1070)]]\" /c:10 /rd:true /f:text",
                    "chglogon /enable",
                ],
            },
            FixDef {
                text: "Check the account's logon right: Computer Configuration > Windows Settings > Security Settings > Local Policies > User Rights Assignment > Allow / Deny log on through Remote Desktop Services, and membership of Remote Desktop Users",
                commands: &["net localgroup \"Remote Desktop Users\"", "gpresult /h C:\\rdpdiag\\gp.html"],
            },
            FixDef {
                text: "Check session limits: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Limit number of connections, and Restrict Remote Desktop Services users to a single session; list the sessions in use",
                commands: &["qwinsta /server:{host}", "reg query \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\" /v MaxInstanceCount"],
            },
            FixDef {
                text: "Check RD licensing: the grace period of an RD Session Host without a license server ends after 120 days",
                // A CimInstance carries no WMI methods; Invoke-CimMethod calls GetGracePeriodDays
                // (Microsoft Learn, "GetGracePeriodDays method of the Win32_TerminalServiceSetting
                // class": out parameter DaysLeft, 0 = the grace period is over).
                commands: &["(Get-CimInstance -Namespace root/cimv2/TerminalServices -ClassName Win32_TerminalServiceSetting | Invoke-CimMethod -MethodName GetGracePeriodDays).DaysLeft", "wevtutil qe System \"/q:*[System[Provider[@Name='Microsoft-Windows-TerminalServices-Licensing']]]\" /c:10 /rd:true /f:text"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(X, 7), code(E, 7), code(F, 7), code(F, 131)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" with Error code: 0x904, Extended error code: 0x7",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::ServerErrorInfo,
        step: Step::Session,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the server ended the connection sequence with the code; warning when the session still came up.",
        title: "The server ended the connection with a Set Error Info code",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "During the connection sequence the server sent a Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1) with a \
            code other than 0 and 0x7; the evidence names the code from the errorInfo table (`rdpdoctor explain \
            errinfo:CODE`). A Windows client shows the same number as its extended error code, next to a disconnect \
            code such as 0x904. Unknown codes are kept raw.",
        fixes: &[FixDef {
            text: "Look the code up and follow its meaning (idle or logon-time limits, another connection took the session, insufficient privileges, a licensing or Connection Broker code)",
            commands: &["rdpdoctor explain errinfo:CODE"],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "the errorInfo code as the extended error code of the disconnect dialog",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::LicensingFailure,
        step: Step::Session,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the licensing exchange ended in an error (a licensing error message other than STATUS_VALID_CLIENT, or a licensing Set Error Info code 0x100-0x10A).",
        title: "Remote Desktop licensing refused the connection",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server's licensing phase (MS-RDPELE) ended in an error: a licensing error message with a code \
            other than STATUS_VALID_CLIENT (0x7, which means success and is unrelated to extended error 0x7), or a Set \
            Error Info licensing code (0x100-0x10A: no license server, no CALs, grace period over, ...). An RD Session \
            Host needs an RD License Server with CALs for the licensing mode it is set to after its 120-day grace \
            period; the Administrative mode (2 connections for administrators) needs none.",
        fixes: &[
            FixDef {
                text: "Check the licensing mode and license server the RD Session Host uses (Licensing Diagnoser, or the settings)",
                commands: &["lsdiag.msc", "(Get-CimInstance -Namespace root/cimv2/terminalservices -ClassName Win32_TerminalServiceSetting) | Select-Object LicensingType, LicensingName"],
            },
            FixDef {
                text: "Point the host at a license server: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Licensing > Use the specified Remote Desktop license servers, and Set the Remote Desktop licensing mode",
                commands: &["gpresult /h C:\\rdpdiag\\gp.html"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x808), code(D, 0x908), code(E, 0x100), code(E, 0x101), code(E, 0x102), code(E, 0x10A)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license\" (or another licensing message)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::SessionNotReached,
        step: Step::Session,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the server kept the connection sequence from completing (silence, a stream of frames until the deadline or the probe's frame limit, an ultimatum without a code); a warning when the probe could not process a frame the server sent (that may be the probe's own limit).",
        title: "The full connection never reached the session, and the server gave no code",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "`check --full` runs the connection sequence a client runs (MS-RDPBCGR 1.3.1.1) until the session is \
            up. Here it ended before that, in the phase the evidence names, without a Set Error Info code or a licensing \
            error that would say why: the server went silent, kept sending frames without moving the sequence on until \
            the check's deadline or the probe's frame limit, ended the connection with an MCS Disconnect Provider \
            Ultimatum but no code, or sent a frame the probe could not process. A client waits at \"Configuring remote \
            session\" or \"Securing remote connection\" and then gives up. A server under heavy load, a stuck session \
            manager, a broken proxy that rewrites the stream, or an implementation that speaks its own dialect do this. \
            A frame the probe could not process may also be one that its RDP library (IronRDP) does not support: then \
            compare with mstsc or xfreerdp before blaming the server.",
        fixes: &[
            FixDef {
                text: "Repeat with a longer per-phase deadline to tell a slow server from a stuck one",
                commands: &["rdpdoctor check {host}:{port} --full --timeout 30"],
            },
            FixDef {
                text: "Read the server's RDP logs at the time of the check (session creation, licensing, graphics)",
                commands: &[
                    "Get-WinEvent -LogName Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational -MaxEvents 50",
                    "Get-WinEvent -LogName Microsoft-Windows-TerminalServices-LocalSessionManager/Operational -MaxEvents 50",
                ],
            },
            FixDef {
                text: "Compare with a connection that bypasses any device in between, and with another client",
                commands: &[
                    "rdpdoctor compare {host}:{port} DIRECT-ADDRESS --full",
                    "xfreerdp /v:{host}:{port} /log-level:DEBUG",
                ],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "the client stays at \"Configuring remote session\", then \"This computer can't connect to the remote computer\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::Redirected,
        step: Step::Session,
        severity: Severity::Info,
        severity_rule: "Always info: redirection is how RD Connection Broker farms work.",
        title: "The server redirected the client to another server",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server sent a Server Redirection PDU (MS-RDPBCGR 2.2.13.1): an RD Connection Broker (or a \
            farm member) tells the client to reconnect to the target in the evidence, usually with a load-balancing \
            token. The probe does not follow it; a failure after redirection belongs to the target, so check that \
            name or address too.",
        fixes: &[FixDef {
            text: "Check the target the server named",
            commands: &["rdpdoctor check TARGET --full"],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];
