//! TCP connect with a deadline.

use crate::elapsed_ms;
use rdpdoctor_observations::{ConnectOutcome, TcpAttempt};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Connects to `address`; when the connect has not completed after `redial_after`, a second
/// attempt races the first and the first to complete wins. A listener whose accept queue is
/// full (xrdp listens with a backlog of 2) drops a SYN silently, and the kernel would retry it
/// only after a full second.
pub(crate) async fn connect_redialing(
    address: SocketAddr,
    deadline: Duration,
    redial_after: Duration,
) -> (TcpAttempt, Option<TcpStream>) {
    let start = Instant::now();
    let first = TcpStream::connect(address);
    tokio::pin!(first);
    let raced = async {
        tokio::select! {
            r = &mut first => r,
            _ = tokio::time::sleep(redial_after) => {
                let second = TcpStream::connect(address);
                tokio::pin!(second);
                tokio::select! {
                    r = &mut first => r,
                    r = &mut second => r,
                }
            }
        }
    };
    let (outcome, stream) = match tokio::time::timeout(deadline, raced).await {
        Err(_) => (ConnectOutcome::TimedOut, None),
        Ok(Ok(s)) => {
            // Small request/response exchanges: do not let Nagle delay them.
            let _ = s.set_nodelay(true);
            (ConnectOutcome::Connected, Some(s))
        }
        Ok(Err(e)) => (classify(&e), None),
    };
    (
        TcpAttempt {
            address,
            elapsed_ms: elapsed_ms(start),
            outcome,
        },
        stream,
    )
}

pub(crate) fn classify(e: &std::io::Error) -> ConnectOutcome {
    match e.kind() {
        ErrorKind::ConnectionRefused => ConnectOutcome::Refused,
        ErrorKind::TimedOut => ConnectOutcome::TimedOut,
        ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::AddrNotAvailable => ConnectOutcome::Unreachable {
            error: e.to_string(),
            // ENETUNREACH: the local routing table has nothing for the address (an ICMP
            // "network unreachable" from a router reads the same, but leaves its message on the
            // error queue, which the rules look at first).
            no_route: e.kind() == ErrorKind::NetworkUnreachable,
        },
        _ => ConnectOutcome::Error {
            error: e.to_string(),
        },
    }
}
