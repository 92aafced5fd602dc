//! Catalog entries for answers rdpdoctor cannot take at face value: a selected protocol that is
//! unknown or was never requested, MCS and CredSSP answers that do not decode, a CredSSP server
//! that does not prove it holds the TLS key, and credentials withheld for want of such proof.

use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict, LISTENER_CERT};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const NEGOTIATION: &[FindingDef] = &[
    FindingDef {
        id: FindingId::UnknownProtocolSelected,
        step: Step::Negotiation,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the request a current client sends (TLS|CredSSP|CredSSP-EX) gets it; a warning when only another request does.",
        title: "The server selected a security protocol value that does not exist",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The Connection Confirm's selectedProtocol must be exactly one of PROTOCOL_RDP (0), PROTOCOL_SSL (1), \
            PROTOCOL_HYBRID (2), PROTOCOL_RDSTLS (4), PROTOCOL_HYBRID_EX (8) or PROTOCOL_RDSAAD (0x10) (MS-RDPBCGR \
            2.2.1.2.1). A client cannot know which handshake the server expects after any other value, so it drops the \
            connection. rdpdoctor did not guess either: it attempted no TLS handshake on these answers. Something other \
            than a Windows RDP listener answered: a proxy, a gateway or an appliance speaking a modified protocol, or \
            software with a bug.",
        fixes: &[
            FixDef {
                text: "Find out what answers on the port: on the server, the process that owns the listener (a third-party RDP proxy, a gateway agent or a port forward)",
                commands: &[
                    "Get-NetTCPConnection -LocalPort {port} -State Listen | Select-Object LocalAddress, OwningProcess, @{n='Process';e={(Get-Process -Id $_.OwningProcess).Path}}",
                ],
            },
            FixDef {
                text: "Compare with a connection that bypasses the device in between (the server's own address from the same network)",
                commands: &["rdpdoctor check SERVER-ADDRESS:3389"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NegotiationProtocolViolation,
        step: Step::Negotiation,
        severity: Severity::Warning,
        severity_rule: "A warning; blocking when the request a current client sends (TLS|CredSSP|CredSSP-EX) gets it.",
        title: "The server selected a security protocol the client did not request",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A server must select one of the protocols the client offered, or PROTOCOL_RDP, which every client \
            supports (MS-RDPBCGR 3.3.5.3.1); when it supports none of them it answers RDP_NEG_FAILURE. Windows, xrdp and \
            FreeRDP follow that rule. A selection outside the request means the answer did not come from the server's \
            own negotiation logic: an interceptor or proxy that answers every request the same way (pyrdp-mitm does), \
            or a broken implementation. Clients that asked for something else fail.",
        fixes: &[
            FixDef {
                text: "Check for a device or program that terminates RDP between the client and the server (a proxy, a bastion, an inspecting firewall, an interceptor): compare with the server's own address",
                commands: &["rdpdoctor check SERVER-ADDRESS:3389 --json"],
            },
            FixDef {
                text: "On the server, confirm which process owns the listening port",
                commands: &[
                    "Get-NetTCPConnection -LocalPort {port} -State Listen | Select-Object LocalAddress, OwningProcess",
                ],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];

pub(super) const RDP_SECURITY: &[FindingDef] = &[FindingDef {
    id: FindingId::McsResponseMalformed,
    step: Step::RdpSecurity,
    severity: Severity::Blocking,
    severity_rule: "Blocking when the offer of every encryption method gets it and no request selects TLS; a warning otherwise.",
    title: "The server's MCS Connect Response cannot be decoded or holds impossible values",
    breaks_some_clients: true,
    verdict: Verdict::Ordinary,
    explains: &[],
    explanation: "After the X.224 exchange the client sends an MCS Connect Initial and the server must answer with an MCS \
        Connect Response carrying its core, security and network data (MS-RDPBCGR 2.2.1.4). The answer here could not be \
        decoded (garbage, or the connection ended in the middle of it), or it holds values outside what the protocol \
        defines (an encryption level above FIPS (4), or a method that is not one of 40-bit, 56-bit, 128-bit or FIPS). A \
        client cannot set up Standard RDP Security from it. Nothing can be said about the server's encryption \
        settings, so no encryption finding is raised from it.",
    fixes: &[
        FixDef {
            text: "Compare with a connection that bypasses any device in between, from the server's own network",
            commands: &["rdpdoctor check SERVER-ADDRESS:3389 --json"],
        },
        FixDef {
            text: "Read the server's RDP logs around the time of the check for the listener's own errors",
            commands: &[
                "Get-WinEvent -LogName Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational -MaxEvents 50",
            ],
        },
    ],
    client_codes: ClientCodes::NONE,
    client: Some(ClientDef {
        text: "\"Because of a protocol error, this session will be disconnected\"",
        likely: true,
    }),
}];

pub(super) const NLA: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CredsspResponseMalformed,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the request a current client sends selects CredSSP, and always for the logon of the account given with --user; a warning otherwise.",
        title: "The server's CredSSP answer is missing or cannot be decoded, so NLA fails",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "With NLA the server answers the client's NTLM NEGOTIATE with a TSRequest (MS-CSSP 2.2.1) carrying an \
            NTLM CHALLENGE (MS-NLMP 2.2.1.2), and the NTLM AUTHENTICATE with its verdict: pubKeyAuth, or an error code. \
            What came back is not a decodable TSRequest or CHALLENGE, cannot be processed by the CredSSP library, or \
            never came before the deadline, so a client cannot continue the NLA step and the logon is not proven either \
            way: no verdict on the credentials was read. Windows servers do not do this; a proxy or inspecting device \
            that rewrites the stream, a broken CredSSP implementation, or an interceptor that cannot answer does. A \
            server that waits for an unreachable domain controller answers the AUTHENTICATE late: the evidence says \
            which answer was missing.",
        fixes: &[
            FixDef {
                text: "Compare with a connection that bypasses any device in between, from the server's own network",
                commands: &["rdpdoctor check SERVER-ADDRESS:3389 --json"],
            },
            FixDef {
                text: "If the answer to the NTLM AUTHENTICATE was missing: repeat with a longer deadline, and check that the server reaches a domain controller",
                commands: &[
                    "rdpdoctor check {host}:{port} --user 'DOMAIN\\user' --timeout 30",
                    "nltest /sc_verify:DOMAIN",
                ],
            },
            FixDef {
                text: "On the server, check the CredSSP and TLS errors of the RDP listener",
                commands: &[
                    "Get-WinEvent -FilterHashtable @{LogName='Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational'} -MaxEvents 50",
                ],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"An authentication error has occurred\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CredsspPubkeyMismatch,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Always blocking, and the verdict's headline.",
        title: "The CredSSP server did not prove it holds the TLS key: TLS is intercepted, or its CredSSP is broken",
        breaks_some_clients: false,
        verdict: Verdict::Headline { rank: 0 },
        explains: &[],
        explanation: "CredSSP binds the logon to the TLS channel: after the NTLM AUTHENTICATE the server must return \
            pubKeyAuth, the TLS public key the client saw, encrypted with the NTLM session key (MS-CSSP 3.1.5). Only the \
            machine that holds both the account database's answer and the TLS private key the client is talking to can \
            produce it. Here it did not verify, or the server answered without one (no pubKeyAuth and no error code, \
            errorCode 0, another CHALLENGE: none of that is a proof): whoever terminated TLS did not prove it is the \
            machine that checked the password. \
            That is the signature of TLS interception (an interceptor such as pyrdp-mitm, an inspecting proxy), or of a \
            CredSSP implementation that disagrees with Windows. The NTLM response (a crackable hash of the password) \
            already went to whoever terminated TLS; nothing else was sent.",
        fixes: &[
            FixDef {
                text: "Treat the password of the account used as exposed if the path is not yours: change it",
                commands: &["Set-ADAccountPassword -Identity USER -Reset"],
            },
            FixDef {
                text: "Find what terminates TLS between client and server: compare the SHA-1 thumbprint seen here with the one the RDP listener uses (SSLCertificateSHA1Hash, on the server), and check from the server's own network",
                commands: &[
                    LISTENER_CERT,
                    "rdpdoctor check SERVER-ADDRESS:3389",
                ],
            },
            FixDef {
                text: "Pin the server's real certificate for later checks, so an interceptor is refused before any credential goes out",
                commands: &["rdpdoctor check {host}:{port} --user 'DOMAIN\\user' --cert-sha256 REAL-SHA256"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"An authentication error has occurred\" (mstsc refuses a pubKeyAuth that does not match)",
            likely: true,
        }),
    },
];

pub(super) const SESSION: &[FindingDef] = &[FindingDef {
    id: FindingId::CredentialsNotDelegated,
    step: Step::Logon,
    severity: Severity::Info,
    severity_rule: "Always info: it describes what rdpdoctor withheld, not a server fault (the findings about the channel say what is wrong with it).",
    title: "The password was not sent: nothing proved who the server is",
    breaks_some_clients: false,
    verdict: Verdict::Ordinary,
    explains: &[],
    explanation: "check --full --user delegates the password only over a channel whose server identity is proven: CredSSP \
        after the server's pubKeyAuth verified, or TLS whose certificate verifies for the probed name against the system \
        trust store or matches --cert-sha256, or when --trust-any-cert says so. Standard RDP Security at encryption level \
        None is never used (the password would travel in clear text). Here none of that held, so the connection went on \
        without the password and the logon itself was not tested.",
    fixes: &[
        FixDef {
            text: "If the certificate the report shows is really the server's, pin it (compare its SHA-1 thumbprint with the one the RDP listener uses, SSLCertificateSHA1Hash, on the server first)",
            commands: &[
                LISTENER_CERT,
                "rdpdoctor check {host}:{port} --full --user 'DOMAIN\\user' --cert-sha256 SHA256",
            ],
        },
        FixDef {
            text: "Better: give the server a certificate clients trust, and require NLA, so every client can prove who it talks to",
            commands: &[],
        },
    ],
    client_codes: ClientCodes::NONE,
    client: None,
}];
