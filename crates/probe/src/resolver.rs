//! After a failed or timed-out lookup: ask each configured resolver directly, so a resolver that
//! never answers (dns-timeout) is told apart from one that answers "no such name" (dns-failure).
//!
//! The query is a minimal DNS message (RFC 1035 4.1: header, one question for an A record,
//! recursion desired) over UDP, built and parsed here without a DNS library.

use crate::elapsed_ms;
use rdpdoctor_observations::{ResolverOutcome, ResolverProbe};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// The resolver configuration a Unix client uses.
const RESOLV_CONF: &str = "/etc/resolv.conf";
/// glibc uses at most three nameserver lines (MAXNS).
const MAX_SERVERS: usize = 3;

/// Asks every resolver in /etc/resolv.conf for `name`, at once, within `deadline`.
pub(crate) async fn probe(name: &str, deadline: Duration) -> Vec<ResolverProbe> {
    let name = name.to_string();
    ask_all(move |server| {
        let name = name.clone();
        async move { ask(server, &name, deadline).await }
    })
    .await
}

/// Runs `ask` for every nameserver of /etc/resolv.conf at once; the answers in the file's
/// order. Shared by the resolver check and the Kerberos SRV lookup.
pub(crate) async fn ask_all<T, F, Fut>(ask: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let text = tokio::fs::read_to_string(RESOLV_CONF)
        .await
        .unwrap_or_default();
    let mut set = tokio::task::JoinSet::new();
    for (i, server) in nameservers(&text).into_iter().enumerate() {
        let asked = ask(server);
        set.spawn(async move { (i, asked.await) });
    }
    let mut out: Vec<(usize, T)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(r) = joined {
            out.push(r);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}

/// `nameserver` lines of a resolv.conf, as socket addresses on port 53.
pub(crate) fn nameservers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        // A link-local IPv6 server may carry a zone ("fe80::1%eth0"); the zone is dropped.
        .filter_map(|a| a.split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .take(MAX_SERVERS)
        .collect()
}

async fn ask(server: SocketAddr, name: &str, deadline: Duration) -> ResolverProbe {
    let start = Instant::now();
    // Any 16 bits that differ between runs will do: the answer is matched on it.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = (nanos as u16) ^ (std::process::id() as u16);
    let outcome = match query(id, name) {
        None => ResolverOutcome::Error {
            error: format!("{name:?} cannot be written as a DNS name"),
        },
        Some(q) => match tokio::time::timeout(deadline, exchange(server, &q, id)).await {
            Err(_) => ResolverOutcome::TimedOut,
            Ok(Err(e)) => ResolverOutcome::Error {
                error: e.to_string(),
            },
            Ok(Ok(o)) => o,
        },
    };
    ResolverProbe {
        server,
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
}

async fn exchange(server: SocketAddr, q: &[u8], id: u16) -> std::io::Result<ResolverOutcome> {
    exchange_with(server, q, 512, |m| answer(m, id)).await
}

/// Sends the query `q` to `server` from a connected UDP socket and waits for a datagram of at
/// most `max` bytes that `read` takes as the answer (the caller's deadline bounds the wait).
/// Shared by the resolver check and the Kerberos SRV lookup.
pub(crate) async fn exchange_with<T>(
    server: SocketAddr,
    q: &[u8],
    max: usize,
    read: impl Fn(&[u8]) -> Option<T>,
) -> std::io::Result<T> {
    let bind: SocketAddr = match server {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    let sock = UdpSocket::bind(bind).await?;
    // Connected: an ICMP "port unreachable" comes back as an error instead of silence.
    sock.connect(server).await?;
    sock.send(q).await?;
    let mut buf = vec![0u8; max];
    loop {
        let n = sock.recv(&mut buf).await?;
        if let Some(outcome) = buf.get(..n).and_then(&read) {
            return Ok(outcome);
        }
        // Not an answer to this query: keep waiting (the deadline bounds it).
    }
}

/// A standard query (RFC 1035 4.1.1) with recursion desired for `name`, type A, class IN.
pub(crate) fn query(id: u16, name: &str) -> Option<Vec<u8>> {
    question(id, name, TYPE_A)
}

/// QTYPE A (RFC 1035 3.2.2).
const TYPE_A: u16 = 1;

/// A standard query (RFC 1035 4.1.1) with recursion desired for `name`, of type `qtype`, class
/// IN; `None` when `name` cannot be written as a DNS name.
pub(crate) fn question(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; QDCOUNT 1
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    if q.len() > 12 + 255 {
        return None;
    }
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // QCLASS IN
    Some(q)
}

/// The RCODE and ANCOUNT of an answer to query `id`, or None for anything else.
pub(crate) fn answer(bytes: &[u8], id: u16) -> Option<ResolverOutcome> {
    let header = bytes.get(..12)?;
    let is_response = header[2] & 0x80 != 0;
    if u16::from_be_bytes([header[0], header[1]]) != id || !is_response {
        return None;
    }
    Some(ResolverOutcome::Answered {
        rcode: header[3] & 0x0f,
        answers: u16::from_be_bytes([header[6], header[7]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameserver_lines_like_glibc() {
        let text = "# comment\nsearch lab.test\nnameserver 198.18.0.53\nnameserver fe80::1%eth0\n\
                    nameserver bogus\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions timeout:1\n";
        let got: Vec<String> = nameservers(text).iter().map(|s| s.to_string()).collect();
        assert_eq!(got, ["198.18.0.53:53", "[fe80::1]:53", "10.0.0.1:53"]);
    }

    #[test]
    fn builds_a_query_and_reads_only_its_answer() {
        let q = query(0x1234, "rdp-a.lab.test.").unwrap_or_default();
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..18], b"\x05rdp-a");
        assert_eq!(&q[q.len() - 4..], &[0, 1, 0, 1]);
        assert!(query(1, "a..b").is_none());
        assert!(query(1, &"x".repeat(64)).is_none());
        let nx = [0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            answer(&nx, 0x1234),
            Some(ResolverOutcome::Answered {
                rcode: 3,
                answers: 0
            })
        );
        assert_eq!(answer(&nx, 0x1235), None);
        assert_eq!(answer(&nx[..11], 0x1234), None);
        assert_eq!(answer(&q, 0x1234), None); // a query, not a response
    }
}
