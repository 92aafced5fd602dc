//! The direct route: TCP straight to the server, as a client on the same network connects. Its
//! stream is the TCP connection itself, so it carries a sampler of the kernel's statistics and
//! the path probes may measure it.
//!
//! Two ways to connect: [`connect_redialing`] for the probe connections (a second SYN races the
//! first when the first is slow: a listener whose accept queue is full drops SYNs), and
//! [`connect`] where the connect itself is the measurement (the first connection that proves the
//! port open, the other addresses of a name, the MSS probes), which also reads the ICMP error
//! answering it (IP_RECVERR), so a router's "administratively prohibited" or "port unreachable"
//! is told apart from the host's own reset, and shows who sent it.

use super::{ByteStream, Cost, DialSpec, Dialed, Dialing, Route};
use crate::elapsed_ms;
use crate::options::ProbeOptions;
use crate::tcp_info::Sampler;
use rdpdoctor_observations::{
    ConnectOutcome, IcmpError, RouteFailure, RouteObservation, TcpAttempt,
};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};

/// TCP to one address of the server.
pub(crate) struct Direct {
    address: SocketAddr,
    /// When a connect has not completed after this long, a second SYN is sent beside it: a
    /// server whose listen queue overflowed drops the SYN, and the kernel would only retry after
    /// a full second.
    redial_after: Duration,
}

impl Direct {
    /// The route to `address`, whose first connect took `first_connect_ms`.
    pub(crate) fn new(address: SocketAddr, first_connect_ms: f64) -> Direct {
        Direct {
            address,
            redial_after: Duration::from_secs_f64((first_connect_ms * 4.0 / 1000.0).max(0.05)),
        }
    }
}

impl Route for Direct {
    fn observation(&self) -> RouteObservation {
        RouteObservation::Direct {
            address: Some(self.address),
        }
    }

    fn server_address(&self) -> SocketAddr {
        self.address
    }

    fn dial(&self, spec: DialSpec, deadline: Duration) -> Dialing<'_> {
        Box::pin(async move {
            let (attempt, stream) = match spec.mss {
                Some(mss) => {
                    let (attempt, stream, _icmp) = connect(self.address, deadline, Some(mss)).await;
                    (attempt, stream)
                }
                None => connect_redialing(self.address, deadline, self.redial_after).await,
            };
            match stream {
                Some(s) => Ok(dialed(s, attempt.elapsed_ms)),
                None => Err(RouteFailure::ConnectFailed {
                    outcome: attempt.outcome,
                }),
            }
        })
    }

    fn cost(&self) -> Cost {
        Cost::CHEAP
    }

    fn measures_path(&self) -> bool {
        true
    }

    fn direct(&self) -> Option<&Direct> {
        Some(self)
    }
}

impl Direct {
    /// A TCP connection of its own to the server, as the socket (for the experiments that set
    /// its options mid-connection: the TTL walk).
    pub(crate) async fn dial_tcp(&self, deadline: Duration) -> (TcpAttempt, Option<TcpStream>) {
        connect_redialing(self.address, deadline, self.redial_after).await
    }
}

/// A connected stream as the route hands it out: boxed, with the sampler of its statistics,
/// taken before the first byte: once the server (or a proxy in front of it) has reset the
/// connection, the socket no longer knows its peer address and the sample would be lost.
fn dialed(stream: TcpStream, elapsed_ms: f64) -> Dialed {
    let sampler = match (stream.local_addr(), stream.peer_addr()) {
        (Ok(local), Ok(remote)) => Some(Sampler::new(local, remote, keep(&stream))),
        _ => None,
    };
    let stream: Box<dyn ByteStream> = Box::new(stream);
    Dialed {
        stream,
        sampler,
        elapsed_ms,
    }
}

/// A second descriptor of the socket, so the sampler can read its statistics after the stream
/// is dropped.
#[cfg(target_os = "linux")]
fn keep(stream: &TcpStream) -> crate::tcp_info::Keep {
    use std::os::fd::AsFd;
    stream.as_fd().try_clone_to_owned().ok()
}

#[cfg(not(target_os = "linux"))]
fn keep(_: &TcpStream) -> crate::tcp_info::Keep {}

/// How the first connection went: every connect that decided which address to use, the ICMP
/// errors that answered them, and the route with its first connection when one accepted.
pub(crate) struct Reach {
    pub(crate) attempts: Vec<TcpAttempt>,
    pub(crate) icmp: Vec<IcmpError>,
    pub(crate) first: Option<(Direct, Dialed)>,
}

/// Like a client: tries each address in turn until one accepts. Only then do the other
/// connections start, so a closed or filtered port costs one deadline, not several.
pub(crate) async fn reach(addresses: &[IpAddr], port: u16, options: &ProbeOptions) -> Reach {
    let mut reach = Reach {
        attempts: Vec::new(),
        icmp: Vec::new(),
        first: None,
    };
    let global_slot = match &options.global {
        Some(g) => g.clone().acquire_owned().await.ok(),
        None => None,
    };
    for ip in addresses {
        let address = SocketAddr::new(*ip, port);
        let (attempt, stream, icmp) = connect(address, options.timeout, None).await;
        reach.icmp.extend(icmp);
        let ms = attempt.elapsed_ms;
        let connected = attempt.outcome == ConnectOutcome::Connected;
        reach.attempts.push(attempt);
        if let (true, Some(s)) = (connected, stream) {
            reach.first = Some((Direct::new(address, ms), dialed(s, ms)));
            break;
        }
    }
    // The first job takes its own slot for this connection; holding this one as well could
    // deadlock a scan whose global budget is a single connection.
    drop(global_slot);
    reach
}

/// A TCP socket of the address's family, or why none could be made.
pub(crate) fn socket_for(address: SocketAddr) -> Result<TcpSocket, String> {
    match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| format!("cannot create a socket: {e}"))
}

/// Connects to `address` within `deadline`, with TCP_MAXSEG set first when `mss` is given. The
/// stream comes back only when the connect succeeded; an ICMP error that answered it comes back
/// whatever the outcome (a timeout can hide a soft ICMP error too).
pub(crate) async fn connect(
    address: SocketAddr,
    deadline: Duration,
    mss: Option<u16>,
) -> (TcpAttempt, Option<TcpStream>, Option<IcmpError>) {
    let start = Instant::now();
    let attempt = |outcome| TcpAttempt {
        address,
        elapsed_ms: elapsed_ms(start),
        outcome,
    };
    let socket = match socket_for(address) {
        Ok(s) => s,
        Err(error) => return (attempt(ConnectOutcome::Error { error }), None, None),
    };
    let errors = sys::prepare(&socket, address, mss);
    match tokio::time::timeout(deadline, socket.connect(address)).await {
        Err(_) => {
            let icmp = sys::icmp(errors, address, "no answer before the deadline");
            (attempt(ConnectOutcome::TimedOut), None, icmp)
        }
        Ok(Ok(stream)) => {
            sys::connected(&stream, address);
            // Small request/response exchanges: do not let Nagle delay them.
            let _ = stream.set_nodelay(true);
            (attempt(ConnectOutcome::Connected), Some(stream), None)
        }
        Ok(Err(e)) => {
            let icmp = sys::icmp(errors, address, &e.to_string());
            (attempt(classify(&e)), None, icmp)
        }
    }
}

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

/// The socket options behind [`connect`]: TCP_MAXSEG, and the error queue (`errqueue.rs`) while
/// the connect is under way.
mod sys {
    use crate::errqueue;
    use rdpdoctor_observations::IcmpError;
    use std::net::SocketAddr;

    #[cfg(target_os = "linux")]
    type Queue = std::os::fd::OwnedFd;
    #[cfg(not(target_os = "linux"))]
    type Queue = ();

    /// Asks for ICMP errors on the error queue and sets the MSS; returns a second descriptor of
    /// the socket, so the queue can still be read after a failed connect consumed the socket.
    #[cfg(target_os = "linux")]
    pub(super) fn prepare<F: std::os::fd::AsFd>(
        socket: &F,
        address: SocketAddr,
        mss: Option<u16>,
    ) -> Option<Queue> {
        use nix::sys::socket::{setsockopt, sockopt};
        if let Some(m) = mss {
            let _ = setsockopt(socket, sockopt::TcpMaxSeg, &u32::from(m));
        }
        if !errqueue::enable(socket, address.is_ipv6()) {
            return None;
        }
        socket.as_fd().try_clone_to_owned().ok()
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn prepare<F>(_: &F, _: SocketAddr, _: Option<u16>) -> Option<Queue> {
        None
    }

    /// A connected stream goes back to ordinary error reporting.
    #[cfg(target_os = "linux")]
    pub(super) fn connected<F: std::os::fd::AsFd>(stream: &F, address: SocketAddr) {
        errqueue::disable(stream, address.is_ipv6());
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn connected<F>(stream: &F, address: SocketAddr) {
        errqueue::disable(stream, address.is_ipv6());
    }

    /// The ICMP error queued on the socket, if one is.
    pub(super) fn icmp(
        queue: Option<Queue>,
        address: SocketAddr,
        error: &str,
    ) -> Option<IcmpError> {
        errqueue::take(&queue?).map(|q| q.to_icmp_error(address, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_reports_a_reset_without_icmp() {
        // A port nobody listens on: the loopback host itself resets, no ICMP is involved.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let (attempt, stream, icmp) = connect(addr, Duration::from_secs(2), None).await;
        assert_eq!(attempt.outcome, ConnectOutcome::Refused);
        assert!(stream.is_none() && icmp.is_none());
    }
}
