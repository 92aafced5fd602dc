//! Catalog entry for the RDP UDP transport (MS-RDPEUDP), probed by `check --udp`.

use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;

/// The policy value behind "Select RDP transport protocols" on the server.
const SELECT_TRANSPORT: &str = r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v SelectTransport"#;

pub(super) const ENTRIES: &[FindingDef] = &[FindingDef {
    id: FindingId::UdpTransportUnavailable,
    step: Step::Session,
    severity: Severity::Info,
    severity_rule: "Info: without UDP every client stays on TCP, and the session works; it matters on lossy or distant links, where UDP carries graphics and input better. Warning when check --full --udp saw the server offer UDP inside its sessions (Multitransport Channel Data or an Initiate Multitransport Request) while its UDP port gives no usable answer: every client that can use UDP tries it and waits before it stays on TCP.",
    title: "The RDP UDP transport does not answer",
    breaks_some_clients: false,
    verdict: Verdict::Ordinary,
    explains: &[],
    explanation: "RDP 8 and later clients open a second, UDP connection beside the TCP one (MS-RDPEUDP, \
        UDP 3389 by default) when the server offers it during the session, and move graphics and input onto \
        it. The check sent one SYN datagram to the server's UDP port (and one retry) and got no usable \
        answer: the evidence says whether nothing came back (a firewall drops UDP, or nothing listens and \
        sends no ICMP), an ICMP port unreachable came from the server itself (nothing listens on UDP: the \
        transport is turned off by the \"Select RDP transport protocols\" policy, or the server is not Windows \
        (xrdp and FreeRDP speak TCP only)), a router or firewall on the way rejected it, or the answer was one \
        a client must refuse. A client then stays on TCP: the session works as well as TCP allows, and users \
        notice only on lossy or high-latency links (sluggish graphics, freezes while TCP retransmits). \
        Turning UDP off on the client (fClientDisableUDP) changes nothing here: the client is already on TCP.",
    fixes: &[
        FixDef {
            text: "If the server should offer UDP: check on the server that the RDP UDP listener exists and that the built-in firewall rule \"Remote Desktop - User Mode (UDP-In)\" is enabled for the client's profile",
            commands: &[
                "Get-NetUDPEndpoint -LocalPort {udp_port}",
                "Get-NetFirewallRule -Name RemoteDesktop-UserMode-In-UDP | Format-List Enabled,Profile,Action",
                "Enable-NetFirewallRule -Name RemoteDesktop-UserMode-In-UDP",
            ],
        },
        FixDef {
            text: "Check the server's policy \"Select RDP transport protocols\" (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections; SelectTransport: 0 use both UDP and TCP, 1 use only TCP, 2 use either): 1 turns UDP off on purpose",
            commands: &[SELECT_TRANSPORT],
        },
        FixDef {
            text: "Allow UDP {udp_port} from the clients' networks to the server on the firewalls between them (through an RD Gateway: UDP 3391 to the gateway)",
            commands: &[],
        },
        FixDef {
            text: "Leave it as it is where TCP serves well: UDP is an optimization, not a requirement",
            commands: &[],
        },
    ],
    client_codes: ClientCodes::NONE,
    client: Some(ClientDef {
        text: "no error: the session runs over TCP only",
        likely: true,
    }),
}];
