//! Name resolution, as the client's resolver would do it (getaddrinfo).

use crate::elapsed_ms;
use rdpdoctor_observations::{DnsObservation, DnsOutcome, Target};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Resolves `target` to every address, in the resolver's order, within `deadline`.
pub(crate) async fn resolve(target: &Target, deadline: Duration) -> DnsObservation {
    let start = Instant::now();
    if let Some(ip) = target.ip() {
        return DnsObservation {
            name: target.host.clone(),
            elapsed_ms: 0.0,
            outcome: DnsOutcome::Literal {
                addresses: vec![ip],
            },
        };
    }
    let outcome = match tokio::time::timeout(deadline, lookup(target)).await {
        Err(_) => DnsOutcome::TimedOut,
        Ok(Err(e)) => DnsOutcome::Failed {
            error: e.to_string(),
        },
        Ok(Ok(addrs)) => {
            let mut addresses: Vec<IpAddr> = Vec::new();
            for a in addrs {
                if !addresses.contains(&a.ip()) {
                    addresses.push(a.ip());
                }
            }
            if addresses.is_empty() {
                DnsOutcome::Failed {
                    error: "the name has no address".to_string(),
                }
            } else {
                DnsOutcome::Resolved { addresses }
            }
        }
    };
    DnsObservation {
        name: target.host.clone(),
        elapsed_ms: elapsed_ms(start),
        outcome,
    }
}

/// getaddrinfo on a thread of its own rather than tokio's blocking pool: a resolver that never
/// answers keeps glibc busy for its full retry schedule (10 s and more), and the runtime waits
/// for its blocking pool on exit, so `--timeout` would not bound the whole run.
async fn lookup(target: &Target) -> std::io::Result<Vec<std::net::SocketAddr>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let query = (target.host.clone(), target.port);
    std::thread::Builder::new()
        .name("rdpdoctor-dns".to_string())
        .spawn(move || {
            let result = std::net::ToSocketAddrs::to_socket_addrs(&query).map(|a| a.collect());
            let _ = tx.send(result);
        })?;
    rx.await.unwrap_or_else(|_| {
        Err(std::io::Error::other(
            "the resolver thread ended without an answer",
        ))
    })
}
