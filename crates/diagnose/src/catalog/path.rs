//! Catalog entries for what happens between the client and the server: routers and firewalls
//! that refuse with ICMP, hosts that do not answer, no route from this machine, names with dead
//! addresses, resolvers that never answer, devices that
//! kill TLS, MTU black holes, and the quality of the path (round trip, retransmissions).

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// Median round trip (ms) above which `high-latency` fires. RDP over TCP stays comfortable up to
/// about 100 ms; past 150 ms typing and mouse feedback lag visibly and every connection-time
/// exchange (about 15 round trips before the desktop shows) adds up.
pub(crate) const HIGH_LATENCY_MS: f64 = 150.0;
/// `packet-loss` fires when at least this share (percent) of the data segments sent was lost:
/// TCP's throughput falls with the square root of the loss rate (Mathis et al. 1997), and past a
/// couple of percent RDP over TCP stalls visibly on every loss.
pub(crate) const LOSS_PERCENT: f64 = 2.0;
/// ... and at least this many segments were lost: one retransmission is chance (a tail-loss
/// probe whose D-SACK was not seen, a reordering), even over 50 segments.
pub(crate) const LOSS_MIN_SEGMENTS: u32 = 2;

/// The fixes a device that kills TLS in the path (reset or drop) shares, after finding it.
const EXEMPT_FROM_INSPECTION: FixDef = FixDef {
    text: "Exempt RDP to this server from TLS/SSL inspection and application identification on that device (a bypass rule for TCP {port} to the server's address), or allow the RDP application signature",
    commands: &[],
};
const CONFIRM_FROM_THE_SERVER: FixDef = FixDef {
    text: "Confirm from the server's own network: a check from there completes the handshake",
    commands: &["rdpdoctor check {host}:{port}"],
};

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::DnsTimeout,
        step: Step::Dns,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: without an answer the client has no address.",
        title: "The resolver did not answer in time",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
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
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The connection attempt was answered by an ICMP \"destination unreachable\" message that a \
            firewall rule sends, not by the server's TCP stack: codes 9, 10 and 13 (administratively prohibited; \
            ICMPv6 1, 5, 6) and 3 (port unreachable; ICMPv6 4, what iptables' REJECT sends by default). The \
            evidence names who sent it. Windows Defender Firewall drops silently and never answers with ICMP, so \
            a reject comes from a router, a firewall appliance, a VPN or cloud network filter on the way, or a \
            Linux host's own REJECT rule when the sender is the server itself. A closed port answers with a TCP \
            reset instead (port-closed), a dropping firewall with silence (port-filtered), a host that is off or \
            does not answer ARP with \"host unreachable\" (host-unreachable). The connect() error alone cannot \
            tell: \"port unreachable\" reads \"connection refused\", like a reset.",
        fixes: &[
            FixDef {
                text: "Find the device that sent the ICMP message (its address is in the evidence) and the rule on it that rejects TCP {port}; trace the path to see where it sits",
                commands: &["tracert -d {host}", "Test-NetConnection {host} -Port {port} -InformationLevel Detailed"],
            },
            FixDef {
                text: "Allow TCP {port} from the client's network to the server on that router, firewall, VPN filter or cloud network ACL (the least invasive change: one rule for one port and one source range)",
                commands: &[],
            },
            FixDef {
                text: "If the server itself sent it, it is a Linux or appliance host firewall with a REJECT rule for the port (Windows Defender Firewall never sends one): allow the port there",
                commands: &["nft list ruleset | grep -n reject", "iptables -S | grep -n REJECT"],
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
        id: FindingId::HostUnreachable,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: nothing at the address answers.",
        title: "Nothing answers at the server's address (host unreachable)",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The connection attempt was answered by ICMP \"host unreachable\" (or \"network unreachable\"; \
            ICMPv6 \"address unreachable\" or \"no route\"), or failed with \"no route to host\" on this machine: \
            the last router (its address is in the evidence), or this machine itself when the address is on its \
            own network, asked for the address with ARP (IPv6: neighbour discovery) and got no answer, or has no \
            route onward. The host is off, asleep, disconnected or moved to another address (a new DHCP lease, a \
            stale DNS record), or a VM is stopped. This is not a firewall rule: a reject reads \"administratively \
            prohibited\" (port-rejected-by-firewall), though a few firewalls are set to answer with \"host \
            unreachable\"; if the host is up at that address, look at the device named in the evidence.",
        fixes: &[
            FixDef {
                text: "Check that the server is running and has this address: its console, the hypervisor or cloud portal (a stopped or deallocated VM), or its own network settings",
                commands: &["ipconfig /all", "Get-VM -Name NAME | Format-List State,NetworkAdapters"],
            },
            FixDef {
                text: "Check that the name still points at the server's current address (a stale record after a DHCP change or a move)",
                commands: &["Resolve-DnsName {host}", "Get-DnsServerResourceRecord -ZoneName ZONE -Name NAME"],
            },
            FixDef {
                text: "From a machine on the server's subnet (or on the router that sent the message), see whether the address answers ARP",
                commands: &["Get-NetNeighbor -IPAddress ADDRESS", "ping -n 2 ADDRESS", "arp -a"],
            },
            FixDef {
                text: "If the server sleeps or is powered off by policy, wake it (Wake-on-LAN) or change its power plan so it stays reachable for remote sessions",
                commands: &["powercfg /requests"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204), code(F, 0x0002_0006), code(F, 141)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" after a few seconds (the router's ARP wait)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NoRoute,
        step: Step::Tcp,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: this machine sends nothing towards the address.",
        title: "This machine has no route to the server's address",
        breaks_some_clients: false,
        verdict: Verdict::Unreachable,
        explains: &[],
        explanation: "The connect failed on this machine at once with \"network is unreachable\", before any packet \
            left: its routing table has no route for the address. Nothing on the network refused anything. The \
            usual causes are a VPN that is down or not connected, a split-tunnel VPN whose routes do not include \
            the server's network, a missing static route, or no default gateway (a network adapter without one, \
            a DHCP lease that did not come). Other machines, or this one once the VPN is up, may connect fine.",
        fixes: &[
            FixDef {
                text: "See which route (if any) this machine would use for the address",
                commands: &["Find-NetRoute -RemoteIPAddress ADDRESS", "route print", "ip route get ADDRESS"],
            },
            FixDef {
                text: "Connect the VPN that leads to the server's network, and check that it is up",
                commands: &["Get-VpnConnection | Format-Table Name,ConnectionStatus,SplitTunneling", "rasdial"],
            },
            FixDef {
                text: "With a split-tunnel VPN, add the server's network to the routes the VPN sets (on the VPN server's policy, or for one profile)",
                commands: &["Add-VpnConnectionRoute -ConnectionName NAME -DestinationPrefix PREFIX"],
            },
            FixDef {
                text: "Without a VPN, check the adapter's default gateway",
                commands: &["Get-NetIPConfiguration | Format-List InterfaceAlias,IPv4Address,IPv4DefaultGateway"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" at once",
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
        verdict: Verdict::Ordinary,
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
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "Every TLS handshake was reset right after the ClientHello, before any answer; the same \
            ClientHello retried once was reset again (so the reset repeats: a reset that does not is a passing \
            fault, and no device is named then), and either the same ClientHello sent another way got through (the evidence says which: split over two TCP segments, or \
            without the server name; the server does not care how the ClientHello is cut into segments), or the \
            ClientHello sent with a limited IP TTL was reset although it expired before reaching the server (the \
            TTL walk: a SYN with the same TTL expired at a router short of the server, which the evidence names, \
            and the hop before it lets the ClientHello through). Either way \
            something between the client and the server reads the ClientHello and resets the connection: an \
            inspecting firewall or IPS (TLS or application inspection, a rule against \"unknown TLS\" on the RDP \
            port), a web proxy, or a filter keyed on the server name. Clients fail with the socket closed under \
            them (0x904). A reset that no retry avoids and the TTL walk cannot place before the server stays \
            ambiguous: a Windows server that cannot use its certificate resets too, and Schannel event 36870 in \
            its System log decides.",
        fixes: &[
            FixDef {
                text: "Find the inspecting device between the client and the server (the firewall, IPS or proxy the path crosses; the TTL walk in the evidence names the hops it lies between) and look at its log for resets of TCP {port}",
                commands: &["tracert -d {host}"],
            },
            EXEMPT_FROM_INSPECTION,
            CONFIRM_FROM_THE_SERVER,
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
        id: FindingId::TlsDroppedInPath,
        step: Step::Tls,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: the device drops every normal TLS handshake.",
        title: "A device in the path silently drops the TLS handshake",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "The X.224 exchange worked, but every TLS handshake stalled right after the ClientHello, with a \
            small TCP segment size too (so it is not an MTU black hole). The ClientHello was then sent with a limited \
            IP TTL, hop by hop (the TTL walk): up to some router it expired normally (ICMP time exceeded came back), \
            but one hop further, at a router that does answer a TCP SYN with the same TTL, it vanished without a \
            trace, short of the server. Something between those two hops drops the ClientHello on purpose: an \
            inspecting firewall or IPS whose policy blocks TLS or \"unknown\" applications on the RDP port with a \
            silent drop, or a filter keyed on the server name. Clients wait, then time out (0x904 or \"can't \
            connect\"). A silent stop at the server's own hop stays ambiguous (the server or a device beside it) \
            and is not reported as this finding.",
        fixes: &[
            FixDef {
                text: "Look at the device between the two hops the evidence names (a firewall, IPS or proxy): its log shows the drops of TCP {port} to the server",
                commands: &["tracert -d {host}"],
            },
            EXEMPT_FROM_INSPECTION,
            CONFIRM_FROM_THE_SERVER,
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(F, 0x0002_000D)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "a long wait on \"Securing remote connection\", then \"This computer can't connect to the remote computer\"",
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
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "The X.224 exchange (small packets) worked, but every TLS handshake stalled after the ClientHello: \
            the server's first TLS flight (its certificate, a few kilobytes in full-size packets) never arrived. \
            With a small maximum segment size the same handshake completed, and a full-size one retried right \
            after stalled again (a stall that does not repeat is a passing fault, and no black hole is named \
            then), so full-size packets are dropped on \
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
        severity: Severity::Info,
        severity_rule: "Info when the median round trip of the probe connections exceeds 150 ms (the kernel's TCP round-trip measurement): a far site is a fact. Warning when the session suffers from it: packet loss on the same path (each loss costs a round trip to repair), or a --full session that timed out or a --hold session that was dropped.",
        title: "The round trip to the server is long",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The kernel's round-trip measurements (TCP_INFO) of the probe connections put the median above \
            150 ms. RDP stays usable, but typing and pointer feedback lag visibly, and the connection sequence \
            (about fifteen round trips before the desktop appears) takes seconds. On its own that is a fact about \
            a far site, reported as info; it becomes a warning when the check saw the session suffer (loss on the \
            same path, a --full session that timed out, a --hold session that was dropped). Far-away servers, VPNs that \
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
        severity_rule: "Warning when at least 2% (and at least 2) of 50 or more data segments sent were lost: retransmitted (tcpi_total_retrans of connections that retransmitted payload) less those the server reported as needless duplicates (tcpi_dsack_dups). A first loss on too few segments makes the check send more, one byte per segment.",
        title: "Packets are lost on the way to the server",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TCP had to retransmit a share of the data segments the probe connections sent that a healthy \
            path does not show: the path loses packets at a rate of a few percent or more. The rate is taken over at \
            least 50 data segments (after a first loss the check sends an X.224 request one byte per segment to \
            have enough), and the retransmissions Linux makes without a loss (tail-loss probes, RFC 8985) are taken \
            off when the server reports them as duplicates (D-SACK). RDP over TCP stalls on every loss, so \
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
