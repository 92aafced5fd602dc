//! Catalog entries for the RD Gateway leg (MS-TSGU: HTTPS to the gateway, its logon, its
//! connection and resource authorization policies, the tunnel and channel to the session host),
//! for Connection Broker redirection and for settings of the user's .rdp file. `check --gateway`
//! raises them from the gateway's answers; `logs` raises the policy, limit and reachability ones
//! from the gateway's own Operational log (Microsoft-Windows-TerminalServices-Gateway: 201 CAP not
//! met, 203 connection limit, 301 / 308 RAP not met, 304 host unreachable, 305 authentication
//! method not supported, 306 tunnel not created; Microsoft's "RD Gateway Server Connections"
//! event pages, ee891388 and the per-event pages beside it).
//!
//! Until the gateway has a step of its own, its findings sit in the step of the same kind on the
//! direct path (TCP, certificate, logon), so a verdict says how far the gateway leg went.

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// The gateway's connection events: who was refused by which policy and why (%5 is the error).
const GW_EVENTS: &str = "Get-WinEvent -FilterHashtable @{LogName='Microsoft-Windows-TerminalServices-Gateway/Operational'; ProviderName='Microsoft-Windows-TerminalServices-Gateway'; Id=200,201,203,301,304,305,306,308} -MaxEvents 30 -ErrorAction SilentlyContinue | Format-List TimeCreated,Id,Message";
/// The RDS PowerShell provider of the gateway (RD Gateway role).
const GW_MODULE: &str = "Import-Module RemoteDesktopServices";
const GW_CAPS: &str = r"Get-ChildItem RDS:\GatewayServer\CAP | ForEach-Object { Get-ChildItem $_.PSPath } | Format-Table PSParentPath,Name,CurrentValue";
const GW_RAPS: &str = r"Get-ChildItem RDS:\GatewayServer\RAP | ForEach-Object { Get-ChildItem $_.PSPath } | Format-Table PSParentPath,Name,CurrentValue";
const GW_CENTRAL_CAP: &str = r"Get-Item RDS:\GatewayServer\CentralCAPEnabled";
const GW_CERT: &str = r"Get-Item RDS:\GatewayServer\SSLCertificate\Thumbprint";
const GW_RESTART: &str = "Restart-Service TSGateway";

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::GatewayUnreachable,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: no connection through this gateway can start.",
        title: "The RD Gateway does not answer on its HTTPS port",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway's name did not resolve, or nothing accepted a TCP connection on its port (443 unless the .rdp \
            file says otherwise), so the client never reached the gateway; the session host behind it was not tried. The \
            evidence says which step failed (DNS, refused, no answer).",
        fixes: &[
            FixDef {
                text: "From the client's network, check the gateway name and port (the gatewayhostname line of the .rdp file)",
                commands: &["Resolve-DnsName <gateway-name>", "Test-NetConnection <gateway-name> -Port 443"],
            },
            FixDef {
                text: "On the gateway, check that the service runs and listens on 443",
                commands: &["Get-Service TSGateway", "Get-NetTCPConnection -LocalPort 443 -State Listen"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_000C), code(G, 0x0300_000D)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Your computer can't connect to the remote computer because the Remote Desktop Gateway server address is unreachable or incorrect\" (0x300000C), or \"... is temporarily unavailable\" (0x300000D)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayNotAGateway,
        step: Step::Negotiation,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the HTTPS server at that address does not speak the RD Gateway protocol.",
        title: "The server at the gateway address is not an RD Gateway",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TLS completed, but the HTTP answers to RDG_OUT_DATA on /remoteDesktopGateway/ (and to the WebSocket upgrade) \
            are not an RD Gateway's: no 401 with Negotiate / NTLM / Basic, or a page from a web server, load balancer or \
            captive portal. The .rdp file names the wrong host or port, or a reverse proxy in front does not forward the \
            gateway path.",
        fixes: &[
            FixDef {
                text: "Check the gateway name and port in the .rdp file (gatewayhostname) against the gateway's real name",
                commands: &["Select-String -Path <file>.rdp -Pattern '^gateway'"],
            },
            FixDef {
                text: "If a reverse proxy or load balancer publishes the gateway, forward /remoteDesktopGateway/ (RDG_OUT_DATA, RDG_IN_DATA and the WebSocket upgrade) unchanged to the gateway",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"An error occurred while receiving data from the Remote Desktop Gateway server\" or a generic gateway error",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayWebsocketRefused,
        step: Step::Negotiation,
        severity: Severity::Info,
        severity_rule: "Info: clients fall back to the two HTTP channels; it matters only where something in the path breaks those (the evidence says whether the fallback worked).",
        title: "The gateway refused the WebSocket upgrade; clients use the two HTTP channels",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway (or a proxy in front of it) answered the WebSocket upgrade with something other than 101, so the \
            client falls back to RDG_OUT_DATA and RDG_IN_DATA, two long-lived HTTP requests. That works, but a proxy that \
            buffers or times out long requests then breaks or stalls sessions.",
        fixes: &[],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::GatewayCertUntrusted,
        step: Step::Certificate,
        severity: Severity::Blocking,
        severity_rule: "Blocking: mstsc refuses a gateway whose certificate does not chain to a trusted root (no prompt, unlike for a session host).",
        title: "The RD Gateway's certificate is not trusted",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The certificate the gateway presents does not chain to a root the client trusts (self-signed, an internal CA \
            the client lacks, a missing intermediate) or its revocation cannot be checked. Windows clients refuse such a \
            gateway outright; rdpdoctor sends no credentials to it unless told to trust it.",
        fixes: &[
            FixDef {
                text: "Bind a certificate from a CA the clients trust, whose name is the gateway name clients use, then restart the gateway",
                commands: &[GW_MODULE, GW_CERT, r"Set-Item RDS:\GatewayServer\SSLCertificate\Thumbprint -Value <thumbprint>", GW_RESTART],
            },
            FixDef {
                text: "For an internal CA, deploy its root (and intermediates) to the clients, and make the CRL distribution point reachable from outside",
                commands: &[r"certutil -addstore Root C:\certs\internal-root.cer", "certutil -url <gateway-cert>.cer"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0003), code(G, 0x0300_0005), code(G, 0x0300_0002)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't verify the identity of the RD Gateway\" (0x3000005) or \"... the certificate root authority does not trust the certificate\" (0x3000003)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayCertNameMismatch,
        step: Step::Certificate,
        severity: Severity::Blocking,
        severity_rule: "Blocking: clients refuse a gateway whose certificate does not name it.",
        title: "The RD Gateway's certificate does not name the gateway",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Neither the subject nor a subject alternative name of the gateway's certificate matches the gateway name \
            the client uses (gatewayhostname). Common after a certificate renewal that dropped a name, or when users reach \
            the gateway by an alias.",
        fixes: &[
            FixDef {
                text: "Bind a certificate whose SAN lists every name clients use for the gateway, then restart the gateway",
                commands: &[GW_MODULE, GW_CERT, r"Set-Item RDS:\GatewayServer\SSLCertificate\Thumbprint -Value <thumbprint>", GW_RESTART],
            },
            FixDef {
                text: "Or make the .rdp files (RD Web / published feeds) use the name on the certificate",
                commands: &["Get-RDSessionCollectionConfiguration -CollectionName <collection> -Connection"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0006), code(G, 0x0300_0003)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"... the Remote Desktop Gateway server address requested and the certificate subject name do not match\" (0x3000006)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::GatewayCertExpired,
        step: Step::Certificate,
        severity: Severity::Blocking,
        severity_rule: "Blocking once the certificate has expired (or is not yet valid).",
        title: "The RD Gateway's certificate has expired",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway presents a certificate outside its validity period. Every client refuses the gateway until a \
            valid certificate is bound; the gateway keeps using the old one even when a renewed one sits in the store.",
        fixes: &[FixDef {
            text: "Bind the renewed certificate (RD Gateway Manager > Properties > SSL Certificate, or the provider), then restart the gateway",
            commands: &[
                GW_MODULE,
                r#"Get-ChildItem Cert:\LocalMachine\My | Sort-Object NotAfter | Format-Table Subject,Thumbprint,NotAfter"#,
                r"Set-Item RDS:\GatewayServer\SSLCertificate\Thumbprint -Value <thumbprint>",
                GW_RESTART,
            ],
        }],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0007), code(G, 0x0300_0003)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"... the Remote Desktop Gateway server's certificate has expired or has been revoked\" (0x3000007)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::GatewayAuthRequired,
        step: Step::Logon,
        severity: Severity::Info,
        severity_rule: "Info: the gateway wants a logon (the methods it offers are in the evidence); give --user to test it.",
        title: "The gateway requires a logon; the methods it offers are listed",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway answered 401 with the authentication methods it accepts (WWW-Authenticate: Negotiate, NTLM, \
            Basic, or a pluggable-authentication cookie). Without --user the check stops here: the policies and the session \
            host behind the gateway were not tried.",
        fixes: &[],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::GatewayAuthFailed,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for this account: the gateway rejected the credentials (wrong password, locked or disabled account, or a gateway that cannot reach a domain controller).",
        title: "The RD Gateway rejected the logon",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway's HTTP logon (NTLM or Negotiate, or Basic) failed with a final 401. Usually the user name or \
            password is wrong, or the account is locked or expired; the gateway's Security log (4625) gives the status. When \
            every account fails, the gateway may not reach a domain controller, or it enforces channel binding that a \
            TLS-inspecting proxy breaks.",
        fixes: &[
            FixDef {
                text: "Read the failure on the gateway: Security 4625 for the account, with its Status / SubStatus",
                commands: &["Get-WinEvent -FilterHashtable @{LogName='Security'; ProviderName='Microsoft-Windows-Security-Auditing'; Id=4625} -MaxEvents 20 -ErrorAction SilentlyContinue | Format-List TimeCreated,Message"],
            },
            FixDef {
                text: "Check the account (lockout, expiry, password age) and retry with the domain spelled as the gateway expects (DOMAIN\\user or user@domain)",
                commands: &["Get-ADUser <user> -Properties LockedOut,Enabled,PasswordExpired,LastBadPasswordAttempt"],
            },
            FixDef {
                text: "If every account fails, check the gateway's secure channel to the domain",
                commands: &["Test-ComputerSecureChannel -Verbose", "nltest /sc_query:<domain>"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_001A), code(G, 0x0300_0015), code(G, 0x0300_0001)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "The credential prompt for the gateway comes back, or \"... your credentials (the combination of user name, domain, and password) were incorrect\" (0x300001A)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayAuthMethodUnsupported,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for clients without the method the gateway requires (smart card, pluggable authentication).",
        title: "The gateway requires an authentication method the client did not use",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway offers only methods the client lacks, or its connection authorization policy requires another \
            method (a smart card where a password was given), or it runs pluggable authentication and expects a cookie \
            (E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD). The gateway logs event 305 with the method attempted.",
        fixes: &[
            FixDef {
                text: "Read which method was attempted and which the CAP requires (AuthMethod: 1 password, 2 smart card, 3 either)",
                commands: &[GW_EVENTS, GW_MODULE, GW_CAPS],
            },
            FixDef {
                text: "Make the client use the method the policy requires (the .rdp file's gatewaycredentialssource: 0 password / NTLM, 1 smart card, 4 let the user choose). Loosen the CAP's method only as a security decision, never to make an error go away",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0037), code(P, 0x8007_59F9), code(G, 0x0300_002B), code(G, 0x0300_002C)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"... the Remote Desktop Gateway server is expecting an authentication method different from the one attempted\" (0x3000037)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayPolicyDenied,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for this user and target: the gateway's connection (CAP) or resource (RAP) authorization policy refuses it; the evidence says which.",
        title: "The gateway's authorization policy refuses the user or the target computer",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The logon succeeded but a policy refused: a connection authorization policy (RD CAP: which users and \
            computers may use the gateway, and how they authenticate; event 201, E_PROXY_NAP_ACCESSDENIED at tunnel \
            authorization) or a resource authorization policy (RD RAP: which computers each group may reach; event 301 or \
            308, E_PROXY_RAP_ACCESSDENIED at channel creation). A RAP that lists computers by FQDN refuses the same computer \
            asked for by NetBIOS name or address, and a farm needs its farm name in the RAP.",
        fixes: &[
            FixDef {
                text: "Read the refusal and its reason on the gateway (201 = CAP, 301 / 308 = RAP)",
                commands: &[GW_EVENTS],
            },
            FixDef {
                text: "Check the CAP's user groups (and whether CAPs are held on a central NPS server) and the RAP's user groups and computer group",
                commands: &[GW_MODULE, GW_CENTRAL_CAP, GW_CAPS, GW_RAPS],
            },
            FixDef {
                text: "Add the user's group to the right policy, or add the target (by the name clients use: FQDN, NetBIOS name and farm name) to the RAP's computer group; with a central NPS, change the network policy there",
                commands: &[r"New-Item -Path RDS:\GatewayServer\RAP\<policy>\UserGroups -Name '<group>@<DOMAIN>'", r"New-Item -Path RDS:\GatewayServer\GatewayManagedComputerGroups\<group>\Computers -Name <target-fqdn>"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_001B), code(G, 0x0300_001C), code(P, 0x8007_59DA), code(P, 0x8007_59DB)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer for one of these reasons: 1) Your user account is not listed in the RD Gateway's permission list ...\" (0x300001B, RAP) or \"... not authorized to access the RD Gateway\" (0x300001C, CAP)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::GatewayBusy,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking while the limit holds: the gateway accepts no new connection until one ends.",
        title: "The RD Gateway has reached its connection limit",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway already carries the maximum number of simultaneous connections its administrator set, so it \
            refuses new tunnels (E_PROXY_MAXCONNECTIONSREACHED; gateway event 203). Idle or orphaned connections count until \
            the gateway's idle and session timeouts end them.",
        fixes: &[
            FixDef {
                text: "Read the limit and the current connections",
                commands: &[GW_MODULE, r"Get-Item RDS:\GatewayServer\MaxConnections", r"Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGatewayConnection | Measure-Object"],
            },
            FixDef {
                text: "Raise the limit (or allow the maximum the server supports), and set idle and session timeouts in the CAP so orphaned connections end",
                commands: &[r"Set-Item RDS:\GatewayServer\MaxConnections -Value <n>", r"Set-Item RDS:\GatewayServer\CAP\<policy>\IdleTimeout -Value 60"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0022), code(P, 0x59E6)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"... the Remote Desktop Gateway server reached its maximum allowed connections\" (0x3000022)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::GatewayTargetUnreachable,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the gateway authorized the connection but cannot reach the session host.",
        title: "The gateway cannot reach the session host",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Both policies allowed the connection, but the gateway could not connect to the target (E_PROXY_TS_CONNECTFAILED \
            in the channel response; gateway event 304 with the error). The name in the .rdp file does not resolve on the \
            gateway, the host is off, Remote Desktop is disabled there, or a firewall between gateway and host blocks 3389.",
        fixes: &[
            FixDef {
                text: "On the gateway, resolve and reach the target by the name clients ask for",
                commands: &["Resolve-DnsName <target>", "Test-NetConnection <target> -Port 3389", GW_EVENTS],
            },
            FixDef {
                text: "Allow 3389 from the gateway to the host, and check that Remote Desktop is enabled there (rdpdoctor check <target> from the gateway's network)",
                commands: &["rdpdoctor check <target>"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(P, 0x8007_59DD)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" through the gateway, often with 0x3000008",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayTlsFailed,
        step: Step::Tls,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: without TLS no client gets to the gateway's HTTP endpoint.",
        title: "TLS with the RD Gateway does not complete",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway accepted the TCP connection but the TLS handshake failed: an alert (no protocol version or \
            cipher suite in common, often TLS 1.0/1.1 only on an old gateway, or TLS 1.2 disabled in Schannel), a reset or \
            close (a firewall or reverse proxy in front that inspects or blocks TLS), or an answer that is not TLS at all (plain \
            HTTP on 443, another service). The evidence has what came back.",
        fixes: &[
            FixDef {
                text: "On the gateway, check which TLS versions Schannel allows and that a certificate is bound to the gateway's HTTPS listener",
                commands: &[
                    r"Get-ChildItem 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols' -Recurse | Get-ItemProperty | Format-List PSPath,Enabled,DisabledByDefault",
                    "netsh http show sslcert ipport=0.0.0.0:443",
                    GW_MODULE,
                    GW_CERT,
                ],
            },
            FixDef {
                text: "If a load balancer or reverse proxy terminates TLS in front of the gateway, check its TLS settings and that it forwards /remoteDesktopGateway/",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0009), code(G, 0x0300_000A)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Your computer can't connect to the remote computer because an error occurred while sending (or receiving) data to the Remote Desktop Gateway server\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::GatewayTunnelFailed,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the tunnel through the gateway was not set up (the evidence says at which step and with which code).",
        title: "The RD Gateway broke off the tunnel set-up",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The gateway answered the HTTP logon, then the tunnel set-up (handshake, tunnel create, tunnel \
            authorization, channel create) ended without a cause that has a finding of its own: an E_PROXY code such as \
            E_PROXY_INTERNALERROR or E_PROXY_CAPABILITYMISMATCH, a close channel packet during set-up, an answer that does not \
            decode, or a connection that broke or went silent. The evidence names the step, the code (`rdpdoctor explain` \
            decodes it) and what came back; the gateway's own log (306: tunnel not created, 304, 202) has its side.",
        fixes: &[
            FixDef {
                text: "Read the gateway's events for the same minute (306 tunnel not created, 304 resource unreachable, 202 administrator ended)",
                commands: &[GW_EVENTS],
            },
            FixDef {
                text: "Check that the gateway service runs and has a certificate it can use, then restart it",
                commands: &["Get-Service TSGateway", GW_MODULE, GW_CERT, GW_RESTART],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(G, 0x0300_0018), code(P, 0x8007_59D8), code(G, 0x0300_000D)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"The RD Gateway ended the connection\" or \"... the Remote Desktop Gateway server is temporarily unavailable\" (0x300000D)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::RedirectTargetUnreachable,
        step: Step::Session,
        severity: Severity::Blocking,
        severity_rule: "Blocking for clients on this network: the broker sends them to an address they cannot reach.",
        title: "The Connection Broker redirects to an address this machine cannot reach",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server sent a Server Redirection PDU (MS-RDPBCGR 2.2.13) naming a session host, and that address \
            does not answer from here. The classic farm fault: the broker hands out a node's internal address or NetBIOS name, \
            which works inside but not through a VPN, NAT or gateway. The evidence has the address and the redirection \
            flags.",
        fixes: &[
            FixDef {
                text: "Check which name the broker hands out; clients outside need an FQDN they can resolve (or the gateway in the path)",
                commands: &["Get-RDSessionHost -CollectionName <collection>", "Test-NetConnection <redirected-address> -Port 3389"],
            },
            FixDef {
                text: "Connect through the RD Gateway, or make the session hosts register their FQDN with the broker (use redirection server name:i:1 in the .rdp file when the broker returns a name)",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "A connection that starts, then fails with \"Remote Desktop can't connect to the remote computer\" after the redirection",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::RdpFileSettingBreaks,
        step: Step::Negotiation,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the setting makes the connection impossible with this server (e.g. enablecredsspsupport:i:0 against a server that requires NLA); warning when it weakens or delays it.",
        title: "A setting in the .rdp file cannot work with this server",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A line of the .rdp file asks for something this server does not do: CredSSP turned off against a server that \
            requires NLA, 'authentication level:i:2' with a certificate that does not verify, a gateway usage that bypasses a \
            gateway the network needs, a port or address that does not answer. The evidence quotes the line.",
        fixes: &[FixDef {
            text: "Change or remove the line the evidence names (RD Web and published feeds: change it in the collection's custom RDP properties)",
            commands: &["Get-RDSessionCollectionConfiguration -CollectionName <collection> | Select-Object CustomRdpProperty"],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];
