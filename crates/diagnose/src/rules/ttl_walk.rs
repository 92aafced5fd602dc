//! What the TTL walk (observations `path.ttl_walk`) proves: the evidence lines, hop by hop, and
//! whether they place the device that resets or drops the ClientHello before the server.
//!
//! The proof rests on the SYN sent with the same TTL: when it expired at a router (ICMP time
//! exceeded from that router), a packet with that TTL cannot reach the server, so a reset that
//! answered the ClientHello with that TTL came from something on the way, and a ClientHello
//! that vanished there (while the router answers SYNs) was dropped on the way. A reset or a
//! silence at the server's own distance proves nothing about a device: the server, or a device
//! on its last hop, sends the same.

use crate::words;
use rdpdoctor_observations::{
    HelloOutcome, SynOutcome, TtlHop, TtlWalk, TtlWalkEnd, TtlWalkTrigger,
};
use std::net::IpAddr;

/// What the walk shows.
pub(super) struct Reading {
    pub lines: Vec<String>,
    pub proof: Option<Proof>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proof {
    /// A reset answered a ClientHello that expired before the server.
    Reset,
    /// A ClientHello vanished short of the server, at a hop that answers SYNs.
    Dropped,
}

pub(super) fn read(walk: &TtlWalk) -> Reading {
    let mut lines = vec![format!(
        "TTL walk: the same ClientHello ({}) sent with a limited IP TTL on connections whose TCP and X.224 exchanges ran at the normal TTL, hop by hop, beside a TCP SYN with the same TTL that names each hop ({} probed in {})",
        walk.version.label(),
        words::count(walk.hops.len(), "hop"),
        words::ms(walk.elapsed_ms)
    )];
    lines.extend(walk.hops.iter().map(hop_line));
    let (conclusion, proof) = conclude(walk);
    lines.push(conclusion);
    Reading { lines, proof }
}

fn hop_line(h: &TtlHop) -> String {
    let syn = match &h.syn.outcome {
        SynOutcome::TimeExceeded { from } => format!("expired at {from} (ICMP time exceeded)"),
        SynOutcome::Reached => {
            "was accepted: the server (or what terminates TCP) is this far".to_string()
        }
        SynOutcome::Refused => "was answered with a TCP reset".to_string(),
        SynOutcome::Silent => {
            "got no answer (a router that sends no time exceeded, or a drop)".to_string()
        }
        SynOutcome::Unreachable {
            from,
            icmp_type,
            code,
        } => format!(
            "got ICMP type {icmp_type} code {code}{}",
            from.map(|f| format!(" from {f}")).unwrap_or_default()
        ),
        SynOutcome::Error { error } => format!("could not be sent: {error}"),
    };
    let hello = match h.client_hello.as_ref().map(|p| &p.outcome) {
        None => "not sent".to_string(),
        Some(HelloOutcome::Icmp { error }) => {
            format!("expired (an ICMP error failed the connection: {error})")
        }
        Some(HelloOutcome::Reset { bytes }) => format!("was reset after {bytes} bytes"),
        Some(HelloOutcome::Closed { bytes }) => format!("was closed after {bytes} bytes"),
        Some(HelloOutcome::Answered { bytes }) => format!("was answered ({bytes} bytes)"),
        Some(HelloOutcome::Silent) => {
            "vanished: neither an answer nor an ICMP error came back".to_string()
        }
        Some(HelloOutcome::NotSent { reason }) => format!("not sent: {reason}"),
        Some(HelloOutcome::Error { error }) => format!("failed: {error}"),
    };
    format!("TTL {}: the SYN {syn}; the ClientHello {hello}", h.ttl)
}

/// The hop whose SYN expired at `ttl`, by address.
fn expired_at(h: &TtlHop) -> Option<IpAddr> {
    match h.syn.outcome {
        SynOutcome::TimeExceeded { from } => Some(from),
        _ => None,
    }
}

/// The nearest hop before `last` where the ClientHello expired normally and the SYN named the
/// router: the device is at or after it.
fn last_passed(walk: &TtlWalk, last: &TtlHop) -> Option<(u8, IpAddr)> {
    walk.hops
        .iter()
        .filter(|h| h.ttl < last.ttl)
        .filter(|h| {
            matches!(
                h.client_hello.as_ref().map(|p| &p.outcome),
                Some(HelloOutcome::Icmp { .. })
            )
        })
        .filter_map(|h| expired_at(h).map(|a| (h.ttl, a)))
        .next_back()
}

fn conclude(walk: &TtlWalk) -> (String, Option<Proof>) {
    let Some(last) = walk.hops.last() else {
        return (
            "the walk probed no hop before the check's deadline".to_string(),
            None,
        );
    };
    let hello = last.client_hello.as_ref().map(|p| &p.outcome);
    let after = match last_passed(walk, last) {
        Some((ttl, a)) => {
            format!("at or after hop {ttl} ({a}, the last to let the ClientHello expire normally)")
        }
        None => "between this machine and the first router".to_string(),
    };
    match (hello, expired_at(last), &last.syn.outcome, walk.ended) {
        (Some(HelloOutcome::Reset { .. }), Some(hop), ..) => (
            format!(
                "the reset answered a ClientHello with TTL {ttl}, which expires at hop {ttl} ({hop}) short of the server (the SYN with TTL {ttl} expired there): the server never saw it, so a device {after} and no further than hop {ttl} sent the reset",
                ttl = last.ttl
            ),
            Some(Proof::Reset),
        ),
        (Some(HelloOutcome::Silent), Some(hop), ..) if walk.trigger == TtlWalkTrigger::Stall => (
            format!(
                "the ClientHello with TTL {ttl} vanished although hop {ttl} ({hop}) answers a SYN with the same TTL: it was dropped short of the server, by a device {after} and before hop {ttl}",
                ttl = last.ttl
            ),
            Some(Proof::Dropped),
        ),
        (Some(HelloOutcome::Reset { .. } | HelloOutcome::Silent), _, SynOutcome::Reached, _) => (
            match last_passed(walk, last) {
                Some((ttl, a)) => format!(
                    "every ClientHello with a TTL below the server's distance ({}) expired normally, and the one that reached it met the same fate as the first handshakes: what does that sits at or after hop {ttl} ({a}, the last router to let the ClientHello expire): that router's own filtering, a device between it and the server, or the server itself; the walk cannot tell these apart",
                    words::count(last.ttl, "hop")
                ),
                None => format!(
                    "the ClientHello that reached the server's distance ({}) met the same fate as the first handshakes, and no router before it named itself: the walk cannot tell the server from a device in front of it",
                    words::count(last.ttl, "hop")
                ),
            },
            None,
        ),
        (Some(HelloOutcome::Answered { .. }), Some(hop), ..) => (
            format!(
                "something answered the ClientHello with TTL {} although a SYN with that TTL expires at {hop}, short of the server: a device on the way terminates TLS",
                last.ttl
            ),
            None,
        ),
        (.., TtlWalkEnd::SilentHops) => (
            "several hops in a row answered neither probe: the walk could not see further, and locates nothing".to_string(),
            None,
        ),
        (.., TtlWalkEnd::Deadline) => (
            "the check's deadline ended the walk before it located anything".to_string(),
            None,
        ),
        (.., TtlWalkEnd::HopLimit) => (
            "the walk reached its hop limit without meeting the server".to_string(),
            None,
        ),
        _ => (
            "the walk located nothing: the hop where the ClientHello stopped did not name itself (no time exceeded for the SYN with the same TTL)".to_string(),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::{HelloProbe, SynProbe, TlsVersion};

    fn hop(ttl: u8, syn: SynOutcome, hello: HelloOutcome) -> TtlHop {
        TtlHop {
            ttl,
            syn: SynProbe {
                elapsed_ms: 0.2,
                outcome: syn,
            },
            client_hello: Some(HelloProbe {
                elapsed_ms: 200.0,
                outcome: hello,
            }),
        }
    }

    fn te(a: &str) -> SynOutcome {
        SynOutcome::TimeExceeded {
            from: a.parse().unwrap(),
        }
    }

    fn expired() -> HelloOutcome {
        HelloOutcome::Icmp {
            error: "No route to host (os error 113)".into(),
        }
    }

    fn walk(trigger: TtlWalkTrigger, hops: Vec<TtlHop>) -> TtlWalk {
        TtlWalk {
            trigger,
            version: TlsVersion::Tls12,
            requested: 11,
            elapsed_ms: 400.0,
            hops,
            ended: TtlWalkEnd::Done,
        }
    }

    #[test]
    fn a_reset_before_the_server_is_proof_and_names_both_hops() {
        let w = walk(
            TtlWalkTrigger::Reset,
            vec![
                hop(1, te("198.18.1.1"), expired()),
                hop(2, te("198.18.5.2"), HelloOutcome::Reset { bytes: 0 }),
            ],
        );
        let r = read(&w);
        assert_eq!(r.proof, Some(Proof::Reset));
        let text = r.lines.join("\n");
        assert!(
            text.contains("TTL 1: the SYN expired at 198.18.1.1"),
            "{text}"
        );
        assert!(
            text.contains("a device at or after hop 1 (198.18.1.1, the last to let the ClientHello expire normally) and no further than hop 2 sent the reset"),
            "{text}"
        );
    }

    #[test]
    fn at_the_server_s_distance_nothing_is_proven() {
        let w = walk(
            TtlWalkTrigger::Reset,
            vec![
                hop(1, te("198.18.1.1"), expired()),
                hop(2, SynOutcome::Reached, HelloOutcome::Reset { bytes: 0 }),
            ],
        );
        let r = read(&w);
        assert_eq!(r.proof, None);
        assert!(
            r.lines
                .join("\n")
                .contains("sits at or after hop 1 (198.18.1.1, the last router"),
            "{:?}",
            r.lines
        );
    }

    #[test]
    fn a_silence_proves_a_drop_only_after_a_stall_and_at_a_hop_that_answers() {
        let hops = || {
            vec![
                hop(1, te("198.18.1.1"), expired()),
                hop(2, te("198.18.5.2"), HelloOutcome::Silent),
            ]
        };
        assert_eq!(
            read(&walk(TtlWalkTrigger::Stall, hops())).proof,
            Some(Proof::Dropped)
        );
        // After a reset, a silent hop is not what was seen at full TTL: no conclusion.
        assert_eq!(read(&walk(TtlWalkTrigger::Reset, hops())).proof, None);
        // A hop that answers neither probe locates nothing.
        let mut w = walk(
            TtlWalkTrigger::Stall,
            vec![
                hop(1, SynOutcome::Silent, HelloOutcome::Silent),
                hop(2, SynOutcome::Silent, HelloOutcome::Silent),
                hop(3, SynOutcome::Silent, HelloOutcome::Silent),
            ],
        );
        w.ended = TtlWalkEnd::SilentHops;
        let r = read(&w);
        assert_eq!(r.proof, None);
        assert!(r.lines.join("\n").contains("could not see further"));
    }

    #[test]
    fn a_reset_at_the_first_hop_is_placed_before_the_first_router() {
        let w = walk(
            TtlWalkTrigger::Reset,
            vec![hop(1, te("198.18.1.1"), HelloOutcome::Reset { bytes: 0 })],
        );
        let r = read(&w);
        assert_eq!(r.proof, Some(Proof::Reset));
        assert!(r
            .lines
            .join("\n")
            .contains("a device between this machine and the first router"));
    }
}
