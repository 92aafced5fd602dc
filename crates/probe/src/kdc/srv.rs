//! The DNS SRV lookup a Kerberos client makes to find its realm's KDCs: `_kerberos._tcp.REALM`
//! and `_kerberos._udp.REALM` (RFC 4120 7.2.3.2), type SRV (RFC 2782), asked of the resolvers in
//! /etc/resolv.conf over UDP.
//!
//! Written here rather than with a DNS library, like `resolver.rs`'s A query: one question, one
//! record type, and the parse must keep every record (a DC locator tries them all) and never
//! panic on what a resolver sends; the only subtle part, name compression (RFC 1035 4.1.4), is a
//! bounded loop below. sspi's own SRV support (hickory, `dns_resolver` feature) keeps only the
//! first record and has no deadline of ours.

use super::Budget;
use crate::elapsed_ms;
use rdpdoctor_observations::{SrvLookup, SrvOutcome, SrvRecord};
use std::net::SocketAddr;
use std::time::Instant;

const TYPE_SRV: u16 = 33;
/// At most this many records are kept from one answer.
const MAX_RECORDS: usize = 32;

/// A standard query (RFC 1035 4.1.1), recursion desired, for the SRV records of `name`.
pub(crate) fn query(id: u16, name: &str) -> Option<Vec<u8>> {
    crate::resolver::question(id, name, TYPE_SRV)
}

/// Reads a (possibly compressed) name at `pos`; returns it and the position after it in the
/// record (after the first pointer, if any).
fn name_at(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    let mut total = 0usize;
    // Every jump goes somewhere; a message of at most 64 KiB cannot need more jumps than this
    // without a loop.
    for _ in 0..128 {
        let len = *msg.get(pos)?;
        match len {
            0 => {
                let after = end.unwrap_or(pos + 1);
                return Some((labels.join("."), after));
            }
            l if l & 0xc0 == 0xc0 => {
                let low = *msg.get(pos + 1)?;
                end.get_or_insert(pos + 2);
                pos = usize::from(l & 0x3f) << 8 | usize::from(low);
            }
            l if l & 0xc0 == 0 => {
                let l = usize::from(l);
                let label = msg.get(pos + 1..pos + 1 + l)?;
                total += l + 1;
                if total > 255 {
                    return None;
                }
                labels.push(String::from_utf8_lossy(label).into_owned());
                pos += 1 + l;
            }
            _ => return None, // the reserved 01/10 label types
        }
    }
    None
}

fn u16_at(msg: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]))
}

/// The answer to query `id`: its SRV records, or NoRecords with the RCODE; `None` for anything
/// that is not an answer to that query.
pub(crate) fn answer(msg: &[u8], id: u16) -> Option<SrvOutcome> {
    if u16_at(msg, 0)? != id || msg.get(2)? & 0x80 == 0 {
        return None;
    }
    let rcode = msg.get(3)? & 0x0f;
    let questions = u16_at(msg, 4)?;
    let answers = u16_at(msg, 6)?;
    let mut pos = 12;
    for _ in 0..questions {
        pos = name_at(msg, pos)?.1 + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        let (_, after) = name_at(msg, pos)?;
        let kind = u16_at(msg, after)?;
        let rdlength = usize::from(u16_at(msg, after + 8)?);
        let rdata = after + 10;
        msg.get(rdata..rdata + rdlength)?;
        if kind == TYPE_SRV && rdlength >= 7 && records.len() < MAX_RECORDS {
            let (target, _) = name_at(msg, rdata + 6)?;
            records.push(SrvRecord {
                priority: u16_at(msg, rdata)?,
                weight: u16_at(msg, rdata + 2)?,
                port: u16_at(msg, rdata + 4)?,
                target,
            });
        }
        pos = rdata + rdlength;
    }
    // "." as the target means the service is decidedly not available (RFC 2782).
    records.retain(|r| !r.target.is_empty());
    if records.is_empty() {
        return Some(SrvOutcome::NoRecords { rcode });
    }
    // The order a client tries them in: lowest priority first, heavier weight first within one.
    records.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
    Some(SrvOutcome::Records { records })
}

/// Asks every resolver of /etc/resolv.conf for the SRV records of `name`, at once.
pub(crate) async fn lookup(name: &str, budget: &Budget) -> Vec<SrvLookup> {
    let name = name.to_string();
    let deadline = budget.phase();
    crate::resolver::ask_all(move |server| ask(server, name.clone(), deadline)).await
}

async fn ask(resolver: SocketAddr, name: String, deadline: std::time::Duration) -> SrvLookup {
    let start = Instant::now();
    let id = rdpdoctor_wire::kerberos::nonce() as u16;
    let outcome = match query(id, &name) {
        None => SrvOutcome::Error {
            error: format!("{name:?} cannot be written as a DNS name"),
        },
        Some(q) => match tokio::time::timeout(deadline, exchange(resolver, &q, id)).await {
            Err(_) => SrvOutcome::TimedOut,
            Ok(Err(e)) => SrvOutcome::Error {
                error: e.to_string(),
            },
            Ok(Ok(o)) => o,
        },
    };
    SrvLookup {
        name,
        resolver,
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
}

async fn exchange(server: SocketAddr, q: &[u8], id: u16) -> std::io::Result<SrvOutcome> {
    crate::resolver::exchange_with(server, q, 4096, |m| answer(m, id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer shaped as Samba's DNS gives it (two records, the owner name a pointer to the
    /// question, the targets compressed against it), in the wrong order on purpose.
    #[test]
    fn reads_every_srv_record_with_compression_in_order() {
        let q = query(0xbeef, "_kerberos._tcp.LAB.TEST").unwrap();
        assert_eq!(&q[q.len() - 4..], &[0, 33, 0, 1]);
        let mut msg = vec![0xbe, 0xef, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        msg.extend_from_slice(&q[12..]);
        for (prio, weight, target) in [
            (10u16, 0u16, &b"\x03dc2\xc0\x1b"[..]),
            (0, 100, &b"\x03dc1\xc0\x1b"[..]),
        ] {
            msg.extend_from_slice(&[0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0x03, 0x84]);
            let mut rdata = Vec::new();
            rdata.extend_from_slice(&prio.to_be_bytes());
            rdata.extend_from_slice(&weight.to_be_bytes());
            rdata.extend_from_slice(&88u16.to_be_bytes());
            rdata.extend_from_slice(target);
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(&rdata);
        }
        // 0x1b is the offset of "LAB.TEST" in the question name.
        assert_eq!(&msg[0x1b..0x1f], b"\x03LAB");
        let Some(SrvOutcome::Records { records }) = answer(&msg, 0xbeef) else {
            panic!("no records");
        };
        let got: Vec<(u16, &str)> = records
            .iter()
            .map(|r| (r.priority, r.target.as_str()))
            .collect();
        assert_eq!(got, [(0, "dc1.LAB.TEST"), (10, "dc2.LAB.TEST")]);
        assert_eq!(answer(&msg, 0xbeee), None);
        // Every truncation is None or a smaller answer, never a panic.
        for n in 0..msg.len() {
            let _ = answer(&msg[..n], 0xbeef);
        }
    }

    #[test]
    fn nxdomain_pointer_loops_and_the_root_target() {
        let q = query(7, "_kerberos._udp.NOSRV.TEST").unwrap();
        let mut nx = vec![0, 7, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        nx.extend_from_slice(&q[12..]);
        assert_eq!(answer(&nx, 7), Some(SrvOutcome::NoRecords { rcode: 3 }));
        // A name that points at itself.
        let looped = [0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c];
        assert_eq!(answer(&looped, 7), None);
        assert!(query(1, &format!("{}.TEST", "x".repeat(64))).is_none());
    }
}
