//! Catalog entries for what happens between the client and the server: routers and firewalls
//! that refuse with ICMP, names with dead addresses, resolvers that never answer, devices that
//! kill TLS, MTU black holes, and the quality of the path (round trip, retransmissions).

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// Median round trip (ms) above which `high-latency` fires. RDP over TCP stays comfortable up to
/// about 100 ms; past 150 ms typing and mouse feedback lag visibly and every connection-time
/// exchange (about 15 round trips before the desktop shows) adds up.
pub(crate) const HIGH_LATENCY_MS: f64 = 150.0;
/// `packet-loss` fires when payload had to be retransmitted on at least this many of the probe
/// connections: a single retransmission can be chance, a second one on a few short connections
/// is a loss rate of several percent, where TCP throughput (and RDP over TCP with it) collapses.
pub(crate) const LOSS_CONNECTIONS: usize = 2;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::DnsTimeout,
        step: Step::Dns,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: without an answer the client has no address.",
        title: "The resolver did not answer in time",
        breaks_some_clients: false,
        explains: &[],
        explanation: "The name lookup got no answer before the deadline, and each configured resolver, asked \
            directly, stayed silent too: the resolver is down, unreachable from this network, or a firewall \
            drops DNS (UDP and TCP port 53) on the way. Unlike dns-failure, nothing says the name does not \
            exist; a client on another network (or with another resolver) may well resolve it.",
        fixes: &[
            FixDef {
                text: "Check which resolvers the client uses and whether each answers",
                commands: &["Get-DnsClientServerAddress -AddressFamily IPv4", "Resolve-DnsName {host} -Server RESOLVER -DnsOnly"],
            },
            FixDef {
                text: "On a VPN, check that the tunnel carries DNS to the internal resolvers (split DNS, the NRPT for DirectAccess/Always On VPN)",
                commands: &["Get-DnsClientNrptPolicy", "Get-VpnConnection | Format-List Name,DnsSuffix,SplitTunneling"],
            },
            FixDef {
                text: "Allow DNS (UDP and TCP 53) from the client's network to its resolvers on the firewalls between them",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x104), code(D, 0x208), code(F, 0x0002_0005)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't find the computer\" after a long wait",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PortRejectedByFirewall,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking.",
        title: "A router or firewall refused the connection with ICMP",
        breaks_some_clients: false,
        explains: &[],
        explanation: "The connection attempt was answered by an ICMP \"destination unreachable\" message, not by the \
            server's TCP stack. Codes 9, 10 and 13 (administratively prohibited) and 3 (port unreachable) sent by a \
            router mean a firewall rule rejects the connection; code 1 (host unreachable) means the last router \
            could not reach the host (it is off, or not at this address). The evidence names who sent the message: \
            a router on the way, or the server itself (a host firewall that rejects instead of dropping). A \
            closed port answers with a TCP reset instead (port-closed), a dropping firewall with silence \
            (port-filtered). The connect() error alone cannot tell: \"port unreachable\" reads \"connection \
            refused\", like a reset.",
        fixes: &[
            FixDef {
                text: "Find the device that sent the ICMP message (the address in the evidence) and the rule on it that rejects TCP {port}; trace the path to see where it sits",
                commands: &["tracert -d {host}", "Test-NetConnection {host} -Port {port} -InformationLevel Detailed"],
            },
            FixDef {
                text: "Allow TCP {port} from the client's network to the server on that firewall, VPN filter or cloud network ACL (the least invasive change: one rule for one port and one source range)",
                commands: &[],
            },
            FixDef {
                text: "If the server itself sent it, check its host firewall for a rule that rejects RDP",
                commands: &[r#"Get-NetFirewallRule -Direction Inbound -Action Block -Enabled True | Get-NetFirewallPortFilter | Where-Object LocalPort -eq {port}"#],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204), code(F, 0x0002_0006), code(F, 141)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" at once (no long wait)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::AddressUnreachable,
        step: Step::Tcp,
        severity: Severity::Warning,
        severity_rule: "Warning: at least one address connects; clients that pick a dead one fail or wait.",
        title: "Some of the name's addresses do not connect",
        breaks_some_clients: true,
        explains: &[],
        explanation: "The name resolves to several addresses and at least one of them does not accept the connection \
            (the evidence has each address's result). A client tries the addresses in the resolver's order: one \
            that meets a dead address first waits for a whole connect timeout before it tries the next, and a \
            client that does not try the next one fails. Typical causes: a stale record of a retired or moved \
            server, a load balancer or cluster node that is down, or an address (often IPv6) that is registered \
            but not reachable from this network.",
        fixes: &[
            FixDef {
                text: "List the records and remove the addresses that no longer belong to a working server",
                commands: &["Resolve-DnsName {host}", "Get-DnsServerResourceRecord -ZoneName ZONE -Name NAME"],
            },
            FixDef {
                text: "If the dead address belongs to a cluster or load-balanced pool, bring that node back or take it out of the pool",
                commands: &[],
            },
            FixDef {
                text: "If the dead address is an IPv6 one the network does not route, fix IPv6 routing or stop registering it (rather than disabling IPv6 on the clients)",
                commands: &["Get-DnsClient | Format-Table InterfaceAlias,RegisterThisConnectionsAddress"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "intermittent: \"Remote Desktop can't connect to the remote computer\" for some users or some attempts, or a long wait before it connects",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsResetInPath,
        step: Step::Tls,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: the device resets every normal TLS handshake.",
        title: "A device in the path kills the TLS handshake",
        breaks_some_clients: false,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "Every TLS handshake was reset right after the ClientHello, before any answer, but the same \
            ClientHello sent another way got through (the evidence says which: split over two TCP segments, or \
            without the server name). The server does not care how the ClientHello is cut into segments, so \
            something between the client and the server reads the ClientHello and resets the connection: an \
            inspecting firewall or IPS (TLS or application inspection, a rule against \"unknown TLS\" on the RDP \
            port), a web proxy, or a filter keyed on the server name. Clients fail with the socket closed under \
            them (0x904). A reset that no retry avoids stays ambiguous: a Windows server that cannot use its \
            certificate resets too, and Schannel event 36870 in its System log decides.",
        fixes: &[
            FixDef {
                text: "Find the inspecting device between the client and the server (the firewall, IPS or proxy the path crosses) and look at its log for resets of TCP {port}",
                commands: &["tracert -d {host}"],
            },
            FixDef {
                text: "Exempt RDP to this server from TLS/SSL inspection and application identification on that device (a bypass rule for TCP {port} to the server's address), or allow the RDP application signature",
                commands: &[],
            },
            FixDef {
                text: "Confirm from the server's own network: a check from there completes the handshake",
                commands: &["rdpdoctor check {host}:{port}"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(F, 0x0002_000D), code(F, 147)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" right after the connection starts (the socket was closed: 0x904)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PathMtuBlackhole,
        step: Step::Tls,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: every client with the normal segment size stalls in the handshake.",
        title: "An MTU black hole swallows the server's large packets",
        breaks_some_clients: false,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "The X.224 exchange (small packets) worked, but every TLS handshake stalled after the ClientHello: \
            the server's first TLS flight (its certificate, a few kilobytes in full-size packets) never arrived. \
            With a small maximum segment size the same handshake completed, so full-size packets are dropped on \
            the way while small ones pass: a link with a smaller MTU (VPN, tunnel, PPPoE, a cloud overlay) whose \
            ICMP \"fragmentation needed\" messages are dropped by a firewall, so the server never learns to send \
            smaller packets (path MTU discovery fails). The evidence brackets the path MTU. Clients wait, then \
            time out or report the socket closed.",
        fixes: &[
            FixDef {
                text: "Let ICMP \"fragmentation needed\" (type 3 code 4; ICMPv6 \"packet too big\") through the firewalls between the server and the client: path MTU discovery then works by itself",
                commands: &[],
            },
            FixDef {
                text: "Clamp the TCP MSS on the VPN gateway, tunnel endpoint or firewall to the path MTU minus 40 bytes (e.g. iptables/nftables \"tcp option maxseg size set rt mtu\", Cisco \"ip tcp adjust-mss\")",
                commands: &[],
            },
            FixDef {
                text: "Set the tunnel interface's MTU to what the path really carries, on both ends",
                commands: &["netsh interface ipv4 show subinterfaces", "netsh interface ipv4 set subinterface \"INTERFACE\" mtu=1400 store=persistent"],
            },
            FixDef {
                text: "Check the path MTU from the client with do-not-fragment pings (the largest size that passes plus 28 is the path MTU)",
                commands: &["ping -f -l 1372 {host}"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "the client waits on \"Configuring remote session\" / \"Securing remote connection\", then \"This computer can't connect to the remote computer\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::HighLatency,
        step: Step::Tcp,
        severity: Severity::Warning,
        severity_rule: "Warning when the median round trip of the probe connections exceeds 150 ms (the kernel's TCP round-trip measurement).",
        title: "The round trip to the server is long",
        breaks_some_clients: false,
        explains: &[],
        explanation: "The kernel's round-trip measurements (TCP_INFO) of the probe connections put the median above \
            150 ms. RDP stays usable, but typing and pointer feedback lag visibly, and the connection sequence \
            (about fifteen round trips before the desktop appears) takes seconds. Far-away servers, VPNs that \
            hairpin through a distant gateway, and saturated links (queueing) are the usual causes.",
        fixes: &[
            FixDef {
                text: "Compare with the round trip from elsewhere, and trace where the delay builds up",
                commands: &["Test-NetConnection {host} -TraceRoute", "pathping -n {host}"],
            },
            FixDef {
                text: "Let RDP use UDP (RDP 8+ transport, UDP {port}): it copes with latency better than TCP alone",
                commands: &[r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v SelectTransport"#],
            },
            FixDef {
                text: "On a VPN, use split tunnelling or a nearer gateway for the route to the server",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "no error; slow logon and sluggish input, a connection-quality indicator showing \"poor\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PacketLoss,
        step: Step::Tcp,
        severity: Severity::Warning,
        severity_rule: "Warning when payload had to be retransmitted on at least two of the probe connections (TCP_INFO tcpi_bytes_retrans; SYN retries do not count).",
        title: "Packets are lost on the way to the server",
        breaks_some_clients: false,
        explains: &[],
        explanation: "TCP had to retransmit data on several of the short probe connections, each only a few packets \
            long: the path loses packets at a rate of several percent. RDP over TCP stalls on every loss, so \
            sessions freeze and reconnect, and long handshakes can time out. Wi-Fi, overloaded links, duplex \
            mismatches and policers are usual causes.",
        fixes: &[
            FixDef {
                text: "Measure loss hop by hop to find the link that drops",
                commands: &["pathping -n {host}"],
            },
            FixDef {
                text: "Check the interface counters on the client, the server and the devices between for errors and drops",
                commands: &["Get-NetAdapterStatistics | Format-List Name,ReceivedDiscardedPackets,ReceivedPacketErrors,OutboundDiscardedPackets"],
            },
            FixDef {
                text: "Let RDP use UDP (RDP 8+ transport) so loss costs less than with TCP alone",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "freezes and \"Reconnecting...\" during sessions; sometimes 0x904 at connect",
            likely: true,
        }),
    },
];

#[cfg(test)]
mod tests {
    /// Each id here is one finding-ids.md lists (as a planned id or in a table), spelled alike.
    #[test]
    fn path_ids_are_the_planned_ones() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/finding-ids.md");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (the finding-id contract of the repository)"));
        for d in super::ENTRIES {
            assert!(
                text.contains(&format!("`{}`", d.id)),
                "{} is not an id finding-ids.md names",
                d.id
            );
        }
    }
}
