//! The TTL walk: after every TLS handshake was reset (or stalled) the same way twice, the same
//! ClientHello sent with a limited IP TTL, hop by hop, to find where on the path the reset comes
//! from or the ClientHello disappears. Each hop has two probes: a TCP SYN with that TTL (who the
//! hop is, from its ICMP time exceeded; whether the server is that far) and the ClientHello with
//! that TTL on a connection whose TCP and X.224 exchanges ran at the normal TTL.

use crate::TlsVersion;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Why the walk ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TtlWalkTrigger {
    /// Every handshake, the control retry included, was reset right after the ClientHello.
    Reset,
    /// Every handshake stalled, with a small MSS too (not an MTU black hole).
    Stall,
}

/// Why the walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TtlWalkEnd {
    /// A ClientHello met something other than an expiry (a reset, an answer, a close, or
    /// silence at a hop that answers SYNs), or reached the server's distance.
    Done,
    /// Several hops in a row answered neither probe: the rest of the path is not seen.
    SilentHops,
    /// The hop limit of the walk.
    HopLimit,
    /// The check's overall deadline.
    Deadline,
}

/// The walk and every hop it probed, nearest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtlWalk {
    pub trigger: TtlWalkTrigger,
    /// The ClientHello's version (the one the retries use) and the X.224 request before it.
    pub version: TlsVersion,
    pub requested: u32,
    pub elapsed_ms: f64,
    pub hops: Vec<TtlHop>,
    pub ended: TtlWalkEnd,
}

/// The two probes with one TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtlHop {
    pub ttl: u8,
    pub syn: SynProbe,
    /// Absent when the walk stopped before sending it (the deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<HelloProbe>,
}

/// A TCP SYN with the hop's TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynProbe {
    pub elapsed_ms: f64,
    pub outcome: SynOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SynOutcome {
    /// ICMP time exceeded (type 11; ICMPv6 type 3) from the hop: the SYN expired there.
    TimeExceeded {
        from: IpAddr,
    },
    /// Another ICMP error (destination unreachable and its kin), from `from` when known.
    Unreachable {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<IpAddr>,
        icmp_type: u8,
        code: u8,
    },
    /// The connection was accepted: what answers TCP on the port (the server, or a proxy that
    /// terminates TCP) is this many hops away. Closed at once.
    Reached,
    /// A TCP reset answered the SYN.
    Refused,
    /// No answer before the hop's deadline.
    Silent,
    Error {
        error: String,
    },
}

/// The ClientHello with the hop's TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HelloProbe {
    pub elapsed_ms: f64,
    pub outcome: HelloOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HelloOutcome {
    /// The connection failed with an ICMP error (the kernel reports it, for an open TCP
    /// connection, as EHOSTUNREACH and without its sender): a ClientHello whose TTL ran out gets
    /// ICMP time exceeded.
    Icmp {
        error: String,
    },
    /// A TCP reset came back.
    Reset {
        bytes: usize,
    },
    /// The connection was closed (FIN).
    Closed {
        bytes: usize,
    },
    /// Something answered with `bytes` bytes (a ServerHello or an alert): the ClientHello
    /// reached whatever terminates TLS.
    Answered {
        bytes: usize,
    },
    /// Nothing before the hop's deadline.
    Silent,
    /// The connection or its X.224 exchange failed, so no ClientHello was sent.
    NotSent {
        reason: String,
    },
    Error {
        error: String,
    },
}
