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
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let outcome = match tokio::time::timeout(deadline, lookup).await {
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
