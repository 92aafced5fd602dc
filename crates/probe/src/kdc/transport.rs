//! One Kerberos round trip over TCP (RFC 4120 7.2.2: a 4-byte length in front, both ways) or UDP
//! (7.2.1: one datagram each way), each phase under the budget's deadline and the answer bounded
//! by `MAX_MESSAGE`.

use super::Budget;
use crate::excerpt_hex;
use rdpdoctor_wire::kerberos::{tcp_frame, tcp_frame_length, MAX_MESSAGE};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Why a round trip brought no whole answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    TimedOut(&'static str),
    Refused,
    Unreachable(String),
    Closed { bytes: usize, reset: bool },
    Malformed { reason: String, excerpt_hex: String },
    Failed(String),
}

pub(crate) fn io_failure(e: &std::io::Error, bytes: usize) -> Failure {
    match e.kind() {
        ErrorKind::ConnectionRefused => Failure::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
            Failure::Closed { bytes, reset: true }
        }
        ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => Failure::Closed {
            bytes,
            reset: false,
        },
        ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::AddrNotAvailable => Failure::Unreachable(e.to_string()),
        _ => Failure::Failed(e.to_string()),
    }
}

async fn within<T>(
    deadline: Duration,
    phase: &'static str,
    f: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(deadline, f)
        .await
        .unwrap_or(Err(Failure::TimedOut(phase)))
}

/// Sends `message` (bare) over TCP and reads one framed answer; returns it bare.
pub(crate) async fn tcp(
    address: SocketAddr,
    message: &[u8],
    budget: &Budget,
) -> Result<Vec<u8>, Failure> {
    let framed = tcp_frame(message).map_err(|e| Failure::Failed(e.to_string()))?;
    let mut stream = within(budget.phase(), "connect", async {
        TcpStream::connect(address)
            .await
            .map_err(|e| io_failure(&e, 0))
    })
    .await?;
    let _ = stream.set_nodelay(true);
    within(budget.phase(), "send", async {
        stream
            .write_all(&framed)
            .await
            .map_err(|e| io_failure(&e, 0))
    })
    .await?;
    within(budget.phase(), "receive", read_framed(&mut stream)).await
}

/// One framed answer: the 4-byte length, then exactly that many bytes.
pub(crate) async fn read_framed<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, Failure> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        let buf = header.get_mut(got..).unwrap_or_default();
        match stream.read(buf).await {
            Ok(0) => {
                return Err(Failure::Closed {
                    bytes: got,
                    reset: false,
                })
            }
            Ok(n) => got += n,
            Err(e) => return Err(io_failure(&e, got)),
        }
    }
    let len = tcp_frame_length(header).map_err(|e| Failure::Malformed {
        reason: e.to_string(),
        excerpt_hex: excerpt_hex(&header, 4),
    })?;
    let mut body = vec![0u8; len.min(MAX_MESSAGE)];
    let mut got = 0;
    while got < body.len() {
        let buf = body.get_mut(got..).unwrap_or_default();
        match stream.read(buf).await {
            Ok(0) => {
                return Err(Failure::Closed {
                    bytes: 4 + got,
                    reset: false,
                })
            }
            Ok(n) => got += n,
            Err(e) => return Err(io_failure(&e, 4 + got)),
        }
    }
    Ok(body)
}

/// Sends `message` in one datagram and waits for one answer; sent once more halfway through the
/// deadline (a lost datagram is the usual reason for UDP silence, and a client resends).
pub(crate) async fn udp(
    address: SocketAddr,
    message: &[u8],
    budget: &Budget,
) -> Result<Vec<u8>, Failure> {
    let bind = match address {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| io_failure(&e, 0))?;
    // Connected: ICMP port or host unreachable comes back as an error instead of silence.
    sock.connect(address).await.map_err(|e| io_failure(&e, 0))?;
    let deadline = budget.phase();
    let mut buf = vec![0u8; 65_536];
    within(deadline, "receive", async {
        sock.send(message).await.map_err(|e| io_failure(&e, 0))?;
        let resend = tokio::time::sleep(deadline / 2);
        tokio::pin!(resend);
        let mut resent = false;
        loop {
            tokio::select! {
                r = sock.recv(&mut buf) => {
                    let n = r.map_err(|e| io_failure(&e, 0))?;
                    return Ok(buf.get(..n).unwrap_or_default().to_vec());
                }
                _ = &mut resend, if !resent => {
                    resent = true;
                    sock.send(message).await.map_err(|e| io_failure(&e, 0))?;
                }
            }
        }
    })
    .await
}
