//! Catalog entries for what a network probe sees: reachability, X.224 negotiation, TLS and the
//! certificate.

use super::families::*;
use super::{
    ClientCodes, ClientDef, FindingDef, FixDef, Verdict, CERT_EVENTS, CERT_STORE, CONFIRM_1056,
    FIREWALL_ENABLE_SCOPED, FIREWALL_SHOW, KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT,
    RESTART_SESSIONENV, RESTART_TERMSERVICE,
};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// Binds a certificate from LocalMachine\My to the listener (Microsoft: "Configure a custom
/// server authentication certificate for TLS" uses Win32_TSGeneralSetting.SSLCertificateSHA1Hash).
const BIND_CERT: &str = r#"$ts = Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-Tcp'"; Set-CimInstance -InputObject $ts -Property @{SSLCertificateSHA1Hash='NEW_THUMBPRINT'}"#;

const Q_SECURITY_LAYER_POLICY: &str =
    r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v SecurityLayer"#;
const Q_SECURITY_LAYER: &str = r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SecurityLayer"#;
const SET_SECURITY_LAYER_SSL: &str = r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SecurityLayer /t REG_DWORD /d 2 /f"#;

pub(super) const REACHABILITY: &[FindingDef] = &[
    FindingDef {
        id: FindingId::DnsFailure,
        step: Step::Dns,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: without an address the client cannot connect.",
        title: "The name does not resolve",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The resolver could not turn the name into an address, so no connection was attempted. \
            Either the record does not exist (typo, wrong DNS suffix, the computer never registered), or the \
            resolver could not be reached in time.",
        fixes: &[
            FixDef {
                text: "Check the name from the client, and try the fully qualified name",
                commands: &["Resolve-DnsName {host}", "nslookup {host}"],
            },
            FixDef {
                text: "On the server, register its DNS record again",
                commands: &["ipconfig /registerdns"],
            },
            FixDef {
                text: "On the client, flush a stale cache and check the DNS suffix search list",
                commands: &["Clear-DnsClientCache", "Get-DnsClientGlobalSetting"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x104), code(D, 0x208), code(D, 0x508), code(D, 0x604), code(F, 0x0002_0004), code(F, 0x0002_0005), code(F, 139), code(F, 140)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't find the computer\" (DNS name lookup failure)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PortClosed,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "Nothing listens on the RDP port (connection refused)",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The host answered the TCP connection attempt with a reset: it is up, but nothing \
            accepts connections on this port. Remote Desktop is switched off, the Remote Desktop Services \
            service (TermService) is stopped, or RDP listens on another port.",
        fixes: &[
            FixDef {
                text: "Check that Remote Desktop Services runs on the server, and start it",
                commands: &["Get-Service TermService", "Start-Service TermService"],
            },
            FixDef {
                text: "Check that remote connections are allowed (fDenyTSConnections must be 0; the policy value wins over the local one). Enable through System Properties > Remote, or the policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Allow users to connect remotely by using Remote Desktop Services",
                commands: &[
                    r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server" /v fDenyTSConnections"#,
                    r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v fDenyTSConnections"#,
                    r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' -Name fDenyTSConnections -Value 0"#,
                ],
            },
            FixDef {
                text: "Check which port RDP really listens on, and connect to that one (mstsc /v:HOST:PORT)",
                commands: &[
                    r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v PortNumber"#,
                    "netstat -ano | findstr LISTENING | findstr :{port}",
                ],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204), code(F, 0x0002_0006), code(F, 141)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" (socket connect failed)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PortFiltered,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "The RDP port does not answer (dropped by a firewall, or no host)",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The TCP connection attempt got no answer before the deadline (or the network reported the \
            host unreachable). A firewall on the way or on the server drops the packets, or the host is off \
            or not at this address. A closed port would have answered with a reset.",
        fixes: &[
            FixDef {
                text: "Test the path from the client, then from a machine on the server's own network",
                commands: &["Test-NetConnection {host} -Port {port}"],
            },
            FixDef {
                text: "On the server, check the Windows Firewall rules for Remote Desktop and the active network profile (a domain server that falls back to the Public profile loses rules scoped to Domain). Enable the rules for the profiles you mean: the command below scopes them to Domain and Private; enabling the whole group as it is may open RDP on the Public profile too",
                commands: &[FIREWALL_SHOW, "Get-NetConnectionProfile", FIREWALL_ENABLE_SCOPED],
            },
            FixDef {
                text: "Check network firewalls, cloud security groups and VPN filters between client and server for TCP {port}",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204), code(D, 0x108), code(F, 0x0002_0006), code(F, 141)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" after a long wait",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::ConnectionReset,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "The connection was reset before the server answered the RDP request",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TCP connected, but the connection was reset before any X.224 answer. Remote Desktop Services \
            does not do this to a well-formed request; a middlebox (IPS, proxy, load balancer, VPN or tunnel) \
            usually does, or the listener is overloaded (too many half-open connections, often from Internet \
            scanners).",
        fixes: &[
            FixDef {
                text: "Check which process owns the port on the server: it must be svchost.exe running TermService",
                commands: &["netstat -anob | findstr :{port}", "tasklist /svc /fi \"services eq TermService\""],
            },
            FixDef {
                text: "Probe the server from its own network segment to find out whether a device on the path resets the connection",
                commands: &["rdpdoctor check {host}:{port}"],
            },
            FixDef {
                text: "Look at the server's RDP transport log for refused or failed connections",
                commands: &["Get-WinEvent -LogName Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational -MaxEvents 50 | Format-List TimeCreated,Id,Message"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(F, 0x0002_000D), code(F, 147)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" (socket closed)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::ClosedWithoutReply,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "The server accepted TCP, then closed without answering the RDP request",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TCP connected, but the connection was closed before a complete X.224 Connection Confirm \
            arrived. Causes seen in practice: the listener is refusing new connections (MaxOutstandingConnections \
            reached, drain mode, the service shutting down), or a proxy, tunnel or gateway accepted the connection \
            but could not reach the real server.",
        fixes: &[
            FixDef {
                text: "Look at the server's logs around the time of the probe for refused connections and listener errors",
                commands: &[
                    "Get-WinEvent -LogName Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational -MaxEvents 50 | Format-List TimeCreated,Id,Message",
                    "Get-WinEvent -LogName Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational -MaxEvents 50 | Format-List TimeCreated,Id,Message",
                ],
            },
            FixDef {
                text: "Check that the server accepts logons (not in drain mode) and list its sessions",
                commands: &["chglogon /query", "qwinsta /server:{host}"],
            },
            FixDef {
                text: "If a proxy, gateway or tunnel sits in front of the server, probe the server directly to see which of the two closes",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(F, 0x0002_000D), code(F, 147)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" (socket closed)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NoReply,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "The server accepted TCP, then stayed silent",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TCP connected, but no answer to the X.224 Connection Request arrived before the deadline. \
            The port belongs to a program that does not speak RDP and waits for its own protocol, or Remote \
            Desktop Services is hung.",
        fixes: &[
            FixDef {
                text: "Check which program owns the port on the server",
                commands: &["netstat -anob | findstr :{port}"],
            },
            FixDef {
                text: "If TermService owns it, restart it (this ends every session on the server: do it last)",
                commands: &["Restart-Service TermService -Force"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x108), code(D, 0x704)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "the client waits, then reports that the connection timed out",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NotRdp,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "Something other than an RDP server answered",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The answer to the X.224 Connection Request is not a valid Connection Confirm. The port \
            belongs to another service (the evidence shows what it sent), or a device in between rewrote the \
            traffic.",
        fixes: &[
            FixDef {
                text: "Check the port number the client uses, and which program owns that port on the server",
                commands: &["netstat -anob | findstr :{port}", r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v PortNumber"#],
            },
            FixDef {
                text: "Connect to the port RDP really listens on",
                commands: &["mstsc /v:{host}:PORT"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "a generic \"This computer can't connect to the remote computer\" or \"An internal error has occurred\"",
            likely: true,
        }),
    },
];

pub(super) const NEGOTIATION: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CertNotOnServer,
        step: Step::Negotiation,
        severity: Severity::Blocking,
        severity_rule: "Blocking: TLS and NLA cannot start.",
        title: "The server has no usable certificate for TLS (SSL_CERT_NOT_ON_SERVER)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server refused the TLS/NLA request with RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER \
            (MS-RDPBCGR 2.2.1.2.2): it cannot start TLS because it has no certificate it can use. On Windows \
            the usual causes are a configured certificate (SSLCertificateSHA1Hash) that was deleted or expired, \
            or a self-signed certificate that could not be created because its private key in MachineKeys \
            cannot be opened.",
        fixes: &[
            FixDef {
                text: "First read what stops the server from using or creating a certificate: the System log's certificate events (RemoteConnectionManager 1057/1058/1065, Schannel 36870) name it",
                commands: &[CERT_EVENTS],
            },
            FixDef {
                text: "List the certificates of the Remote Desktop store and check whether a custom certificate is configured",
                commands: &[
                    CERT_STORE,
                    r#"Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGeneralSetting | Format-List TerminalName,SSLCertificateSHA1Hash,SSLCertificateSHA1HashType"#,
                ],
            },
            FixDef {
                text: "If the configured certificate is gone, remove the binding so the server falls back to its self-signed certificate, then restart the Remote Desktop Configuration service (SessionEnv; sessions stay up)",
                commands: &[
                    r#"reg delete "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SSLCertificateSHA1Hash /f"#,
                    RESTART_SESSIONENV,
                ],
            },
            FixDef {
                text: "If the events say \"Keyset does not exist\" or \"Access is denied\", repair the ACL of the one key file the certificate uses (SYSTEM and Administrators Full control, NETWORK SERVICE Read), after saving the current ACL. Do not rename or delete the MachineKeys folder, which holds every machine private key",
                commands: &[KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT],
            },
            FixDef {
                text: "Once the key store is sound, delete the broken self-signed certificate and restart the Remote Desktop Configuration service (SessionEnv): Windows creates a new certificate (event 1056 confirms)",
                commands: &[
                    r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Remove-Item"#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if no new certificate appears: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(N, 3), code(F, 0x0002_0008), code(F, 143)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"An internal error has occurred\" or \"This computer can't connect to the remote computer\"; FreeRDP reports a TLS connect failure",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NegotiationRefused,
        step: Step::Negotiation,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the request an up-to-date client sends (TLS, CredSSP) is refused; warning when only another request is.",
        title: "The server refused the security protocols requested",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server answered with an RDP_NEG_FAILURE that no other finding explains (for example \
            INCONSISTENT_FLAGS, SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER, or a code the specification does not \
            define). The code and its name are in the evidence.",
        // The first fix always applies; the rule keeps of the others only those for the codes the
        // server sent (each starts with the code's name and number, as in the code table), and
        // fills `{code}` in.
        fixes: &[
            FixDef {
                text: "Decode the failure code the server sent and compare the server's security layer settings with what the client offers",
                commands: &["rdpdoctor explain --as neg-failure {code}", Q_SECURITY_LAYER_POLICY, Q_SECURITY_LAYER],
            },
            FixDef {
                text: "SSL_REQUIRED_BY_SERVER (1) to a request that offered TLS contradicts the request (MS-RDPBCGR 2.2.1.2.2): Windows does not answer this way, so a proxy, gateway or non-Windows server in front answers. Probe the server directly and compare",
                commands: &[],
            },
            FixDef {
                text: "SSL_NOT_ALLOWED_BY_SERVER (2) to a request without TLS or CredSSP contradicts the request: a proxy, gateway or non-Windows server answers this way. Probe the server directly and compare",
                commands: &[],
            },
            FixDef {
                text: "INCONSISTENT_FLAGS (4): the server found the requested protocols at odds with the protocol already in use, which only the Direct Approach (TLS before the X.224 request) produces. A TLS-terminating proxy or load balancer in front of the server is the usual cause: probe the server directly",
                commands: &[],
            },
            FixDef {
                text: "HYBRID_REQUIRED_BY_SERVER (5) to a request that offered CredSSP contradicts the request: the server (or a device in front of it) refuses the CredSSP it was offered. Probe the server directly; if it still answers 5, compare the protocols it accepts (rdpdoctor check lists them) with its security layer settings",
                commands: &[],
            },
            FixDef {
                text: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER (6) means the server wants a client certificate: configure one on the client, or switch the server back to ordinary TLS with NLA",
                commands: &[],
            },
            FixDef {
                text: "Undocumented code: MS-RDPBCGR 2.2.1.2.2 defines failure codes 1 to 6 only, so another value comes from a non-Windows server or a device in between. Find out which program answers on the port",
                commands: &["netstat -anob | findstr :{port}"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "a security negotiation error; FreeRDP reports ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsNotAllowed,
        step: Step::Negotiation,
        severity: Severity::Warning,
        severity_rule: "Warning: mstsc falls back to Standard RDP Security and connects, but clients that require TLS or NLA cannot; blocking when the Standard RDP Security request is refused too.",
        title: "The server allows only Standard RDP Security (SSL_NOT_ALLOWED_BY_SERVER)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server refused TLS with RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER: its security layer is \
            set to RDP (SecurityLayer = 0). Connections use the legacy RC4-based Standard RDP Security, the server \
            cannot prove its identity, and clients that require TLS or NLA fail.",
        fixes: &[
            FixDef {
                text: "Check the security layer (policy value first, then the listener)",
                commands: &[Q_SECURITY_LAYER_POLICY, Q_SECURITY_LAYER],
            },
            FixDef {
                text: "Before requiring TLS, check that the server has a usable certificate (HasPrivateKey True, not expired, no 1057/1058/36870 events). A server without one that is set to SSL accepts no client at all; fix the certificate first",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Then set it to SSL: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Require use of specific security layer for remote (RDP) connections = SSL, or on the listener (new connections pick it up)",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "On xrdp, set security_layer=negotiate (or tls) in xrdp.ini with a valid certificate and key_file",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(N, 2)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "mstsc connects with a warning that the identity of the remote computer cannot be verified; clients that require TLS refuse",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::SecurityDowngrade,
        step: Step::Negotiation,
        severity: Severity::Warning,
        severity_rule: "Warning: most clients carry on with weak security; clients that insist on TLS fail.",
        title: "A request for TLS or NLA was answered with Standard RDP Security",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The client offered only TLS and/or CredSSP, and the server selected PROTOCOL_RDP instead of \
            refusing with SSL_NOT_ALLOWED_BY_SERVER as MS-RDPBCGR 3.3.5.3.1 asks. The connection then runs \
            Standard RDP Security (RC4, no server authentication), open to a man in the middle. xrdp with \
            security_layer=rdp behaves like this.",
        fixes: &[
            FixDef {
                text: "On Windows, first check that the server has a usable certificate (HasPrivateKey True, not expired, no 1057/1058/36870 events): a server that falls back to RDP security for want of one accepts no client at all once TLS is required",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Then enable TLS: set the security layer to SSL (Require use of specific security layer for remote (RDP) connections = SSL)",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "On xrdp, set security_layer=tls (or negotiate) in xrdp.ini with a valid certificate and key_file",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc connects with an identity warning; clients that require TLS fail with a security negotiation error",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::LegacyNegotiation,
        step: Step::Negotiation,
        severity: Severity::Warning,
        severity_rule: "Warning: such a server speaks only Standard RDP Security; clients that require TLS or NLA fail.",
        title: "The server does not negotiate security (pre-RDP 5.2 behaviour)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The X.224 Connection Confirm carries no negotiation data (MS-RDPBCGR 2.2.1.2), so the server \
            cannot do TLS or NLA: it is older than Windows Server 2003 SP1, or a proxy or load balancer in front \
            of the server strips the negotiation.",
        fixes: &[
            FixDef {
                text: "Probe the server directly, bypassing any proxy or load balancer, to see which of the two answers this way",
                commands: &[],
            },
            FixDef {
                text: "Upgrade or replace the server: nothing older than Windows Server 2003 SP1 can offer TLS",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc falls back to Standard RDP Security with an identity warning; clients that require NLA refuse",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NlaNotEnforced,
        step: Step::Negotiation,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect, but anyone reaching the port gets a logon screen and a session before authenticating.",
        title: "The server lets clients in without NLA",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A request without CredSSP (Standard RDP Security or TLS only) was accepted, so the server does \
            not require Network Level Authentication. It starts a session, with its logon screen, for anyone who \
            reaches the port: a resource-exhaustion and pre-authentication attack surface (BlueKeep-class flaws), \
            and brute force goes straight to winlogon.",
        fixes: &[
            FixDef {
                text: "Check the security layer first: NLA runs inside TLS, so on a server whose SecurityLayer is 0 (RDP) UserAuthentication = 1 alone is an inconsistent combination. If it is 0, check that the server has a usable certificate",
                commands: &[Q_SECURITY_LAYER_POLICY, Q_SECURITY_LAYER, CERT_STORE],
            },
            FixDef {
                text: "If SecurityLayer is 0 and the certificate is usable, set it to SSL (2) before requiring NLA (policy: Require use of specific security layer for remote (RDP) connections = SSL)",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "Require NLA: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Require user authentication for remote connections by using Network Level Authentication = Enabled, or on the listener",
                commands: &[
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v UserAuthentication /t REG_DWORD /d 1 /f"#,
                ],
            },
            FixDef {
                text: "Servers that cannot do NLA (xrdp, very old Windows): allow connections only through a VPN or an RD Gateway",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::NlaRequired,
        step: Step::Negotiation,
        severity: Severity::Info,
        severity_rule: "Info: the recommended setting; only clients without CredSSP fail.",
        title: "The server requires NLA (HYBRID_REQUIRED_BY_SERVER)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Requests without CredSSP were refused with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER: the server \
            requires Network Level Authentication, as it should. Clients that cannot do CredSSP (very old clients, \
            some thin clients, tools with NLA switched off) are refused.",
        fixes: &[FixDef {
            text: "Keep NLA. For a client that fails, turn CredSSP on in the client instead: in the .rdp file set enablecredsspsupport:i:1; with FreeRDP use /sec:nla (or leave /sec unset)",
            commands: &[],
        }],
        client_codes: ClientCodes {
            codes: &[code(N, 5), code(F, 0x0002_001E), code(F, 161)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "clients without CredSSP: \"The remote computer requires Network Level Authentication, which your computer does not support\"; FreeRDP: ERRCONNECT_HYBRID_REQUIRED_BY_SERVER",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::TlsRequired,
        step: Step::Negotiation,
        severity: Severity::Info,
        severity_rule: "Info: the recommended setting; only clients limited to Standard RDP Security fail.",
        title: "The server refuses Standard RDP Security (SSL_REQUIRED_BY_SERVER)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A request for Standard RDP Security only was refused with RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER: \
            the server insists on TLS or CredSSP. Only very old clients, or clients forced to /sec:rdp, fail.",
        fixes: &[FixDef {
            text: "Nothing to change on the server. Update clients that can only do Standard RDP Security",
            commands: &[],
        }],
        client_codes: ClientCodes {
            codes: &[code(N, 1)],
            inferred: false,
        },
        client: None,
    },
];

pub(super) const TLS: &[FindingDef] = &[
    FindingDef {
        id: FindingId::TlsHandshakeFailed,
        step: Step::Tls,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "The server chose TLS, but no TLS version completes a handshake",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Negotiation selected a TLS-based protocol, then every TLS handshake from TLS 1.0 to 1.3 failed \
            (the evidence shows how each ended). On Windows this is the signature of a server that cannot use its \
            own certificate: its private key in MachineKeys is missing or unreadable (Schannel 36870, \
            0x8009030D), its self-signed certificate expired and could not be renewed (RemoteConnectionManager \
            1058), or every TLS version it needs is disabled in SCHANNEL (Schannel 36871). Turning NLA off does \
            not help: NLA runs inside this TLS channel.",
        fixes: &[
            FixDef {
                text: "Read the server's System log for Schannel and certificate events; they name the cause",
                commands: &[CERT_EVENTS],
            },
            FixDef {
                text: "List the Remote Desktop certificate and check that its private key is usable",
                commands: &[CERT_STORE],
            },
            FixDef {
                text: "Check that TLS 1.2 is not disabled for the server side in SCHANNEL (Enabled must not be 0)",
                commands: &[r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols" /s"#],
            },
            FixDef {
                text: "If the key file cannot be read (36870 with 0x8009030D, or 1057/1058 \"Access is denied\"), save its ACL, then restore Read for NETWORK SERVICE and Full control for SYSTEM and Administrators on that one key file; never rename or delete the whole MachineKeys folder",
                commands: &[KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT],
            },
            FixDef {
                text: "Once the key store is sound, if the self-signed certificate is expired or broken, delete it and restart the Remote Desktop Configuration service (SessionEnv) so Windows creates a new one (event 1056 confirms; sessions stay up)",
                commands: &[
                    r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Remove-Item"#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if handshakes still fail: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(F, 0x0002_0008), code(F, 143), code(T, 40), code(T, 70)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" or \"An internal error has occurred\" right after the connection starts",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsLegacyOnly,
        step: Step::Tls,
        severity: Severity::Warning,
        severity_rule: "Warning for the default client profile (it still speaks TLS 1.0/1.1); blocking for a client profile with TLS 1.0 and 1.1 disabled (--client hardened).",
        title: "Only TLS 1.0 and/or 1.1 complete",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server completes handshakes only with TLS 1.0 or 1.1, which are deprecated (RFC 8996). \
            Clients that have them disabled cannot connect: hardened Windows clients, FreeRDP 3 and the macOS \
            Windows App at their default security level. Typical of Windows Server 2008 R2 without the TLS 1.2 \
            update, or of TLS 1.2 disabled in SCHANNEL.",
        fixes: &[
            FixDef {
                text: "On Windows Server 2008 R2 / Windows 7 install KB3080079 (TLS 1.1/1.2 for Remote Desktop) before touching TLS 1.0",
                commands: &[],
            },
            FixDef {
                text: "Enable TLS 1.2 for the server side in SCHANNEL, then restart the server",
                commands: &[
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v Enabled /t REG_DWORD /d 1 /f"#,
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v DisabledByDefault /t REG_DWORD /d 0 /f"#,
                ],
            },
            FixDef {
                text: "On xrdp, set ssl_protocols=TLSv1.2, TLSv1.3 in xrdp.ini",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(T, 70), code(H, 0x8009_0302), code(F, 0x0002_0008)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "clients with TLS 1.0/1.1 disabled fail during the TLS handshake; FreeRDP reports a TLS connect failure",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsModernOnly,
        step: Step::Tls,
        severity: Severity::Warning,
        severity_rule: "Warning: Windows 11 connects, but Windows 10, Server 2019 and older clients have no TLS 1.3 and fail; blocking for --client windows10.",
        title: "Only TLS 1.3 completes",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server completes handshakes only with TLS 1.3. Windows clients before Windows 11 and Server \
            2022 have no TLS 1.3 in Schannel, so they cannot connect.",
        fixes: &[
            // Schannel reads the protocol values at startup and honours DisabledByDefault as well
            // as Enabled (Microsoft Learn, "Transport Layer Security (TLS) registry settings").
            FixDef {
                text: "Enable TLS 1.2 beside TLS 1.3 for the server side in SCHANNEL, then restart the server (Schannel reads these values at startup)",
                commands: &[
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v Enabled /t REG_DWORD /d 1 /f"#,
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v DisabledByDefault /t REG_DWORD /d 0 /f"#,
                    "Restart-Computer",
                ],
            },
            FixDef {
                text: "On xrdp, set ssl_protocols=TLSv1.2, TLSv1.3 in xrdp.ini",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(T, 70), code(H, 0x8009_0302), code(F, 0x0002_0008)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "older clients fail during the TLS handshake with a generic connection error",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsLegacyEnabled,
        step: Step::Tls,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect, but TLS 1.0/1.1 stay available to an attacker who can force a downgrade.",
        title: "TLS 1.0 or 1.1 still completes beside a modern version",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server still accepts deprecated TLS versions (RFC 8996) beside TLS 1.2 or 1.3. Clients \
            connect fine; the old versions are a weakness auditors flag and no current client needs.",
        fixes: &[
            // The SCHANNEL protocol keys are machine-wide: every Schannel server on the host reads
            // them (Microsoft Learn, "Transport Layer Security (TLS) registry settings").
            FixDef {
                text: "Confirm that every client can do TLS 1.2, then disable TLS 1.0 and 1.1 for the server side in SCHANNEL and restart the server. These settings are machine-wide: they also apply to IIS, SQL Server, WinRM over HTTPS and every other TLS service on the same host, so check those services' clients first",
                commands: &[
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0\Server" /v Enabled /t REG_DWORD /d 0 /f"#,
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.1\Server" /v Enabled /t REG_DWORD /d 0 /f"#,
                    "Restart-Computer",
                ],
            },
            FixDef {
                text: "On xrdp, set ssl_protocols=TLSv1.2, TLSv1.3 in xrdp.ini",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];

pub(super) const CERTIFICATE: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CertExpired,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Warning for the default client profiles: mstsc shows its identity dialog and the user can accept the expired certificate. Blocking for a client that refuses servers it cannot authenticate (--client hardened: the policy \"Configure server authentication for client\" = Do not connect if authentication fails).",
        title: "The server's certificate has expired",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The certificate the server presents for RDP is past its notAfter date. Windows renews its own \
            self-signed Remote Desktop certificate by itself; an expired one means the renewal failed \
            (RemoteConnectionManager 1058, often \"Access is denied\" on MachineKeys) or a configured certificate \
            was never replaced.",
        fixes: &[
            FixDef {
                text: "Confirm which certificate the listener uses (thumbprint {sha1})",
                commands: &[CERT_STORE],
            },
            FixDef {
                text: "Read why Windows did not renew it before touching it: RemoteConnectionManager 1058 (self-signed certificate not replaced), 1057 (not created), 1065 (template certificate not replaced) and Schannel 36870 carry the reason, often \"Access is denied\" or \"Keyset does not exist\" on the key file",
                commands: &[CERT_EVENTS],
            },
            FixDef {
                text: "Certificate from your CA: issue a new one (or let autoenrollment with the template from the policy Server authentication certificate template do it) and bind it to the listener",
                commands: &[BIND_CERT],
            },
            FixDef {
                text: "Self-signed, and the events name the key file: save its ACL, then give SYSTEM and Administrators Full control and NETWORK SERVICE Read on that one file. Never rename or delete the MachineKeys folder",
                commands: &[KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT],
            },
            FixDef {
                text: "Self-signed, once the key store is sound: delete the expired certificate from the Remote Desktop store and restart the Remote Desktop Configuration service (SessionEnv); Windows creates a new one (event 1056 confirms) and sessions stay up",
                commands: &[
                    r#"Remove-Item "Cert:\LocalMachine\Remote Desktop\{sha1}""#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if no new certificate appears: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        // No 0x904 / extended 0x7: a certificate problem stops the connection in TLS, before
        // the MCS connect after which alone a Set Error Info can be sent (MS-RDPBCGR 3.3.5.7.1),
        // and `explain 0x904 0x7` rates the certificate cause as reported, not documented.
        client_codes: ClientCodes {
            codes: &[code(D, 0x1B07), code(T, 45), code(H, 0x8009_0328)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"The certificate is expired\" in the identity dialog, or a refusal when server authentication is required",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CertNotYetValid,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Like an expired certificate: warning for the default client profiles (mstsc shows its identity dialog and the user can accept), blocking for a client that refuses servers it cannot authenticate (--client hardened).",
        title: "The server's certificate is not valid yet",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The certificate's notBefore date is in the future. Either the server's clock was wrong when it \
            created the certificate, or this machine's clock is wrong.",
        fixes: &[
            FixDef {
                text: "Check the time on the server and on this machine",
                commands: &["w32tm /query /status", "w32tm /resync"],
            },
            FixDef {
                text: "Once the clock is right, check that nothing blocks certificate creation (no RemoteConnectionManager 1057/1058, no Schannel 36870), then replace the certificate: delete it from the Remote Desktop store and restart the Remote Desktop Configuration service (SessionEnv; event 1056 confirms)",
                commands: &[
                    CERT_EVENTS,
                    r#"Remove-Item "Cert:\LocalMachine\Remote Desktop\{sha1}""#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if no new certificate appears: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(T, 45), code(H, 0x8009_0328)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "an identity warning about the certificate's validity period, or a refusal when server authentication is required",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CertExpiringSoon,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Warning when fewer days are left than the threshold (default 30, --cert-warn-days).",
        title: "The server's certificate expires soon",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The certificate is still valid but expires within the warning threshold. When it expires, \
            clients that check it will refuse to connect.",
        fixes: &[
            FixDef {
                text: "Renew it before it expires. A self-signed Remote Desktop certificate renews by itself; if it does not, look for RemoteConnectionManager 1058 in the System log",
                commands: &[CERT_EVENTS],
            },
            FixDef {
                text: "For a CA certificate, issue and bind a new one",
                commands: &[BIND_CERT],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::CertNameMismatch,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Warning: mstsc shows an identity warning; clients set to require server authentication refuse.",
        title: "The certificate does not name the host that was probed",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Neither the subject alternative names nor the common name match the name or address that was \
            probed. Either clients connect by a name the certificate does not carry (an alias, or an IP address), or \
            DNS points at a different machine than intended. Connecting by IP address always mismatches a \
            certificate that names the host: Windows' self-signed Remote Desktop certificate carries only the \
            computer's name, and an address matches only an IP entry in the subject alternative names \
            (RFC 6125), so connect by the name instead.",
        fixes: &[
            FixDef {
                text: "Connect by a name the certificate carries (see the evidence), or issue a certificate that includes the name clients use",
                commands: &[],
            },
            FixDef {
                text: "Check that the name resolves to the machine you expect",
                commands: &["Resolve-DnsName {host}"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"The name in the certificate from the remote computer is invalid\" / \"Certificate name mismatch\" in the identity dialog",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::CertWeakKey,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Warning: RSA keys under 2048 bits are refused by clients at current security levels (FreeRDP 3, OpenSSL defaults).",
        title: "The certificate's key is too short",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server's key is weaker than current minimums (RSA under 2048 bits, or an elliptic curve key \
            under 224 bits). Clients built on current OpenSSL refuse it at their default security level.",
        fixes: &[
            FixDef {
                text: "Issue a certificate with an RSA 2048-bit (or larger) key from your CA and bind it to the listener",
                commands: &[BIND_CERT],
            },
            FixDef {
                text: "For the self-signed certificate: check that nothing blocks certificate creation (no RemoteConnectionManager 1057/1058, no Schannel 36870), then delete it and restart the Remote Desktop Configuration service (SessionEnv) so Windows makes a 2048-bit one (event 1056 confirms)",
                commands: &[
                    CERT_EVENTS,
                    r#"Remove-Item "Cert:\LocalMachine\Remote Desktop\{sha1}""#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if no new certificate appears: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::CertWeakSignature,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Warning.",
        title: "The certificate is signed with SHA-1 or MD5",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The certificate's signature uses a broken hash (SHA-1 or MD5). Clients that validate the chain \
            refuse it.",
        fixes: &[FixDef {
            text: "Issue a certificate signed with SHA-256 or better and bind it to the listener",
            commands: &[BIND_CERT],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::CertSelfSigned,
        step: Step::Certificate,
        severity: Severity::Info,
        severity_rule: "Info: the Windows default; mstsc asks the user to trust it.",
        title: "The certificate is self-signed",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server presents a self-signed certificate (the Windows default for Remote Desktop). Clients \
            cannot verify the server's identity and show a warning users learn to click through.",
        fixes: &[FixDef {
            text: "Deploy certificates from your CA: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Server authentication certificate template",
            commands: &[],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"The identity of the remote computer cannot be verified\" dialog",
            likely: false,
        }),
    },
];
