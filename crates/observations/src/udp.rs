//! The RDP UDP transport (MS-RDPEUDP): what came back for one SYN datagram (at most one retry)
//! sent to the server's UDP port (`check --udp`).

use crate::IcmpError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// One SYN (and at most one retry) to the server's UDP port, and what answered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpTransportObservation {
    /// The address the SYN went to (the server's address, the UDP port).
    pub address: SocketAddr,
    /// SYN datagrams sent: 1, or 2 when the first got no answer in time (never more: RDP's UDP
    /// port answers unsolicited datagrams, a reflection vector).
    pub datagrams_sent: u8,
    /// Size of the SYN datagram, padding included (MS-RDPEUDP 3.1.5.1.1 step 6).
    pub syn_bytes: usize,
    /// snInitialSequenceNumber of the SYN: a SYN+ACK acknowledges it in snSourceAck.
    pub initial_sequence_number: u32,
    /// uUdpVer offered in the SYN's RDPUDP_SYNDATAEX_PAYLOAD.
    pub version_offered: u16,
    pub elapsed_ms: f64,
    pub outcome: UdpOutcome,
}

/// What answered the SYN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum UdpOutcome {
    /// A connection set-up datagram came back (decoded; whether a client can use it is the
    /// diagnosis' call).
    Answered { answer: UdpSetupAnswer },
    /// A datagram came back that is not a connection set-up datagram.
    Malformed {
        bytes: usize,
        excerpt_hex: String,
        problem: String,
    },
    /// Nothing came back before the deadline, retry included.
    Silent,
    /// An ICMP error answered (read from the socket's error queue, IP_RECVERR): port
    /// unreachable from the server itself (nothing listens on UDP), or a router's reject.
    Unreachable { icmp: IcmpError },
    /// The datagram could not be sent or the answer not read.
    Error { error: String },
}

/// The fields of the answer (MS-RDPEUDP 2.2.2.1, 2.2.2.5, 2.2.2.8, 2.2.2.9), as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpSetupAnswer {
    pub sn_source_ack: u32,
    pub receive_window: u16,
    /// uFlags (SYN|ACK expected; SYNEX when it carries a version).
    pub flags: u16,
    pub initial_sequence_number: u32,
    pub upstream_mtu: u16,
    pub downstream_mtu: u16,
    /// uCorrelationId, hex, when RDPUDP_FLAG_CORRELATION_ID was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// uSynExFlags of the RDPUDP_SYNDATAEX_PAYLOAD, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synex_flags: Option<u16>,
    /// uUdpVer of the RDPUDP_SYNDATAEX_PAYLOAD, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u16>,
    /// The datagram's length, padding included.
    pub length: usize,
}
