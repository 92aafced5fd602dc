//! Facts about the network path between the client and the server: the kernel's TCP statistics
//! of the probe connections, ICMP errors that answered a connect, the other addresses of a name,
//! the resolvers asked directly after a failed lookup, and the retries made when a first attempt
//! failed in a way a middlebox explains.

use crate::{ConnectOutcome, TcpAttempt, TlsOutcome, TlsVersion, TtlWalk};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Data segments a loss rate is computed over: below it one retransmission is a rate of several
/// percent by chance alone, so the check gathers more before it speaks of loss.
pub const LOSS_SAMPLE_SEGMENTS: u32 = 50;

/// Everything the path probes gathered. Empty lists are left out of saved documents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PathObservation {
    /// One sample of the kernel's `struct tcp_info` per probe connection, taken at its end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_info: Vec<TcpInfoSample>,
    /// ICMP errors that answered a connect (read from the socket's error queue, IP_RECVERR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub icmp: Vec<IcmpError>,
    /// Addresses of the name that the connect loop did not need, each tried once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_addresses: Vec<TcpAttempt>,
    /// The configured resolvers, asked directly after the lookup failed or timed out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<ResolverProbe>,
    /// Handshakes retried after a reset right after the ClientHello: the unchanged one first
    /// (the control), then, only when it was reset again, the split one and the one without SNI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_retries: Vec<TlsRetry>,
    /// Handshakes retried with a small MSS after every handshake stalled, then one at full size
    /// (the control), then, when that stalled again, a search between the two.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mss_probes: Vec<MssProbe>,
    /// The ClientHello sent with a limited TTL, hop by hop, after the retries above repeated a
    /// reset, or after a stall that a small MSS did not avoid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_walk: Option<TtlWalk>,
}

impl PathObservation {
    pub fn is_empty(&self) -> bool {
        self.tcp_info.is_empty()
            && self.icmp.is_empty()
            && self.other_addresses.is_empty()
            && self.resolvers.is_empty()
            && self.tls_retries.is_empty()
            && self.mss_probes.is_empty()
            && self.ttl_walk.is_none()
    }
}

/// The fields of Linux's `struct tcp_info` (linux/tcp.h) the diagnosis uses. Fields an older
/// kernel does not report are absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpInfoSample {
    pub remote: SocketAddr,
    /// Smoothed round-trip time (tcpi_rtt), microseconds.
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// The lowest round trip the connection saw (tcpi_min_rtt, Linux 4.6+), microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rtt_us: Option<u32>,
    /// Segments retransmitted, SYNs included (tcpi_total_retrans).
    pub total_retrans: u32,
    /// Payload bytes retransmitted (tcpi_bytes_retrans, Linux 4.19+): loss of data, not of SYNs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_retrans: Option<u64>,
    /// Payload bytes sent, retransmissions included (tcpi_bytes_sent, Linux 4.19+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// Segments sent (tcpi_segs_out, Linux 4.2+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segs_out: Option<u32>,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    /// Segments sent that carried data (tcpi_data_segs_out, Linux 4.6+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_segs_out: Option<u32>,
    /// Retransmissions the receiver reported as duplicates with D-SACK (tcpi_dsack_dups, Linux
    /// 5.x): sent again without having been lost, e.g. tail-loss probes (RFC 8985 7) that Linux
    /// counts as retransmissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsack_dups: Option<u32>,
}

impl TcpInfoSample {
    /// Data segments lost on the way, as far as the sender can tell: retransmissions less the
    /// ones the receiver reported as duplicates. A connection that retransmitted no payload
    /// lost none (its retransmissions were SYNs).
    pub fn lost_segments(&self) -> u32 {
        if self.bytes_retrans == Some(0) {
            return 0;
        }
        self.total_retrans
            .saturating_sub(self.dsack_dups.unwrap_or(0))
    }

    /// Segments that carried data; all segments sent on kernels without tcpi_data_segs_out.
    pub fn data_segments(&self) -> u32 {
        self.data_segs_out.or(self.segs_out).unwrap_or(0)
    }
}

/// An ICMP error that answered a connect (MS: none; RFC 792 / RFC 4443 types and codes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IcmpError {
    /// The address the connect went to.
    pub address: SocketAddr,
    /// Who sent the ICMP message: a router on the way, the server itself, or this machine (its
    /// own failed ARP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IpAddr>,
    /// This machine's address on the connection (the connect's source), to tell its own
    /// messages from a router's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<IpAddr>,
    /// 4 for ICMP, 6 for ICMPv6.
    pub ip_version: u8,
    pub icmp_type: u8,
    pub code: u8,
    /// The error the connect returned, as the system words it.
    pub error: String,
}

/// One resolver asked directly for the name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolverProbe {
    pub server: SocketAddr,
    pub elapsed_ms: f64,
    pub outcome: ResolverOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ResolverOutcome {
    /// An answer came back (RFC 1035 4.1.1 RCODE: 0 no error, 2 server failure, 3 no such name).
    Answered { rcode: u8, answers: u16 },
    /// Nothing came back before the deadline.
    TimedOut,
    /// The query could not be sent or the answer was refused by the network (ICMP).
    Error { error: String },
}

/// How a retried handshake differed from the first ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsRetryKind {
    /// The same ClientHello again, in one segment with the same server name: the control. A
    /// reset that does not repeat was a passing fault, not a device that resets every
    /// ClientHello, and no other retry is made.
    Unchanged,
    /// The ClientHello's first byte in a TCP segment of its own, the rest after a pause: a
    /// device that matches the record header or the SNI in one segment no longer sees it.
    SplitClientHello,
    /// No server_name extension.
    NoSni,
}

/// A handshake retried after a reset right after the ClientHello.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TlsRetry {
    pub kind: TlsRetryKind,
    pub version: TlsVersion,
    /// requestedProtocols of the X.224 request before it.
    pub requested: u32,
    pub elapsed_ms: f64,
    pub outcome: TlsOutcome,
}

/// A handshake retried with TCP_MAXSEG set before connect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MssProbe {
    pub mss: u16,
    /// The control: a handshake at the full Ethernet segment size, made once right after the
    /// small one completed. When it completes too, the first stalls did not repeat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    pub version: TlsVersion,
    pub elapsed_ms: f64,
    /// How the connect went; `outcome` is only meaningful when it connected.
    pub connect: ConnectOutcome,
    pub outcome: TlsOutcome,
}
