//! What a check changes in the remembered certificates, as operations rather than a copy of the
//! whole file: each writer re-reads the file under the lock and applies only its own operations
//! to what is there now, so entries another writer added or replaced meanwhile are kept (a
//! `serve` that saw the old certificate only touches it, it never puts it back).

use rdpdoctor_observations::{KnownCertificate, TlsVersion, MAX_NODES};
use std::collections::BTreeMap;

pub(super) type Targets = BTreeMap<String, KnownCertificate>;

/// One change to the entry of one target.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// The certificate `sha256` was seen again.
    Touch {
        sha256: String,
        newest_tls: Option<TlsVersion>,
        ntlm_computer: Option<String>,
        now: jiff::Timestamp,
    },
    /// A first certificate for the target (kept only if nobody remembered one meanwhile).
    Insert(KnownCertificate),
    /// `old` was replaced by a renewal or by `--accept-changed-cert` (`explicit`): an explicit
    /// replacement stands even when another writer changed the entry meanwhile.
    Replace {
        old: String,
        new: KnownCertificate,
        explicit: bool,
    },
    /// Another node of a farm behind the target.
    AddNode(KnownCertificate),
}

/// Applies `op` to the entry of `key` in `targets`.
pub(super) fn apply(targets: &mut Targets, key: &str, op: &Op) {
    let Some(entry) = targets.get_mut(key) else {
        match op {
            Op::Touch { .. } => {}
            Op::Insert(new) | Op::AddNode(new) | Op::Replace { new, .. } => {
                targets.insert(key.to_string(), new.clone());
            }
        }
        return;
    };
    match op {
        Op::Touch {
            sha256,
            newest_tls,
            ntlm_computer,
            now,
        } => touch(entry, sha256, *newest_tls, ntlm_computer.as_deref(), *now),
        Op::Insert(new) | Op::AddNode(new) if has(entry, &new.sha256_hex) => touch(
            entry,
            &new.sha256_hex,
            new.newest_tls,
            new.ntlm_computer.as_deref(),
            new.last_seen,
        ),
        // Someone else remembered another certificate first: theirs is kept.
        Op::Insert(_) => {}
        Op::AddNode(new) => add_node(entry, new.clone()),
        Op::Replace { old, new, explicit } => {
            if let Some(node) = node_mut(entry, old) {
                let first = node.first_seen.min(new.first_seen);
                *node = KnownCertificate {
                    other_nodes: std::mem::take(&mut node.other_nodes),
                    ..new.clone()
                };
                // A renewal of the same node keeps its history.
                if !explicit {
                    node.first_seen = first;
                }
            } else if has(entry, &new.sha256_hex) {
                touch(
                    entry,
                    &new.sha256_hex,
                    new.newest_tls,
                    new.ntlm_computer.as_deref(),
                    new.last_seen,
                );
            } else if *explicit {
                *entry = new.clone();
            }
        }
    }
}

fn has(entry: &KnownCertificate, sha256: &str) -> bool {
    entry
        .nodes()
        .any(|n| n.sha256_hex.eq_ignore_ascii_case(sha256))
}

fn node_mut<'a>(entry: &'a mut KnownCertificate, sha256: &str) -> Option<&'a mut KnownCertificate> {
    if entry.sha256_hex.eq_ignore_ascii_case(sha256) {
        return Some(entry);
    }
    entry
        .other_nodes
        .iter_mut()
        .find(|n| n.sha256_hex.eq_ignore_ascii_case(sha256))
}

fn touch(
    entry: &mut KnownCertificate,
    sha256: &str,
    newest_tls: Option<TlsVersion>,
    ntlm_computer: Option<&str>,
    now: jiff::Timestamp,
) {
    let Some(node) = node_mut(entry, sha256) else {
        return;
    };
    node.last_seen = node.last_seen.max(now);
    // The same certificate proves the same server: what its TLS offers now is the baseline (a
    // server whose TLS 1.3 was turned off is no sign of anything).
    if newest_tls.is_some() {
        node.newest_tls = newest_tls;
    }
    if node.ntlm_computer.is_none() {
        node.ntlm_computer = ntlm_computer.map(str::to_string);
    }
}

/// Adds a node; beyond [`MAX_NODES`] the least recently seen other node goes (the entry
/// itself, the first node remembered, stays).
fn add_node(entry: &mut KnownCertificate, node: KnownCertificate) {
    entry.other_nodes.push(node);
    while entry.other_nodes.len() + 1 > MAX_NODES {
        let oldest = entry
            .other_nodes
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| n.last_seen)
            .map(|(i, _)| i);
        match oldest {
            Some(i) => {
                entry.other_nodes.remove(i);
            }
            None => break,
        }
    }
}

/// When a node of `entry` was last seen: the most recent of all its nodes.
pub(super) fn last_seen(entry: &KnownCertificate) -> jiff::Timestamp {
    entry
        .nodes()
        .map(|n| n.last_seen)
        .max()
        .unwrap_or(entry.last_seen)
}
