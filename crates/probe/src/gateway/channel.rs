//! The data phase of an open channel as a plain byte stream: what the caller writes goes to the
//! target in data packets (MS-TSGU 2.2.10.6), what the target sends comes back out. A task owns
//! the gateway's connection(s) and pumps between them and an in-memory pipe whose other end is
//! the [`GatewayChannel`]; it sends keepalives (2.2.10.8) while the channel is idle, answers the
//! gateway's close channel packet, and closes the channel (2.2.10.3) when the caller drops or
//! shuts down its end. How the channel ended is kept for [`GatewayChannel::ending`].

use super::link::{Link, LinkError};
use crate::elapsed_ms;
use rdpdoctor_observations::{ChannelEnding, GatewayTransport};
use rdpdoctor_wire::tsgu::packet::{self, ServerPacket, DATA_CHUNK};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::oneshot;

/// Bytes in flight in each direction between the caller and the pump.
const PIPE: usize = 64 * 1024;
/// How long closing waits for the gateway's close channel response.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// An open channel through the gateway to the target: read and write it like the TCP stream a
/// direct connection would give.
pub struct GatewayChannel {
    stream: DuplexStream,
    ending: Option<oneshot::Receiver<ChannelEnding>>,
    transport: GatewayTransport,
}

impl GatewayChannel {
    /// What carries the channel.
    pub fn transport(&self) -> GatewayTransport {
        self.transport
    }

    /// How the channel ended: waits until it has (drop or shut down the stream first to end it
    /// from this side). `None` when the pump was lost (the runtime shut down).
    pub async fn ending(&mut self) -> Option<ChannelEnding> {
        match self.ending.take() {
            Some(rx) => rx.await.ok(),
            None => None,
        }
    }
}

impl AsyncRead for GatewayChannel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatewayChannel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Starts the data phase on `link`.
pub(super) fn start(link: Link, keepalive: Duration) -> GatewayChannel {
    let (ours, theirs) = tokio::io::duplex(PIPE);
    let (tx, rx) = oneshot::channel();
    let transport = link.transport();
    tokio::spawn(async move {
        let ending = pump(link, theirs, keepalive).await;
        let _ = tx.send(ending);
    });
    GatewayChannel {
        stream: ours,
        ending: Some(rx),
        transport,
    }
}

/// Moves bytes until one side ends.
async fn pump(mut link: Link, mut side: DuplexStream, keepalive: Duration) -> ChannelEnding {
    let start = Instant::now();
    let mut buf = vec![0u8; DATA_CHUNK];
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let dropped = |e: &LinkError, start: Instant| ChannelEnding::Dropped {
        after_ms: elapsed_ms(start),
        reset: e.is_reset(),
    };
    let ending = loop {
        if let Err(e) = link.flush_control().await {
            break dropped(&LinkError::Io(e), start);
        }
        tokio::select! {
            read = side.read(&mut buf) => match read {
                Ok(0) | Err(_) => break close(&mut link).await,
                Ok(n) => {
                    let mut failed = None;
                    for piece in buf.get(..n).unwrap_or_default().chunks(DATA_CHUNK) {
                        let sent = match packet::data(piece) {
                            Ok(p) => link.send(&p).await,
                            Err(e) => Err(std::io::Error::other(e)),
                        };
                        if let Err(e) = sent {
                            failed = Some(e);
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        break dropped(&LinkError::Io(e), start);
                    }
                    ticker.reset();
                }
            },
            got = link.recv() => match got.and_then(|raw| packet::decode(&raw).map_err(LinkError::from)) {
                Ok(ServerPacket::Data(bytes)) => {
                    if side.write_all(&bytes).await.is_err() {
                        // The caller is gone: end the channel properly.
                        break close(&mut link).await;
                    }
                }
                Ok(ServerPacket::Keepalive | ServerPacket::ServiceMessage(_)) => {}
                Ok(ServerPacket::CloseChannel { status }) => {
                    let _ = link.send(&packet::close_channel_response(status)).await;
                    break ChannelEnding::GatewayClosed { status, after_ms: elapsed_ms(start) };
                }
                Ok(ServerPacket::Reauth { .. }) => {
                    break ChannelEnding::ReauthRequested { after_ms: elapsed_ms(start) };
                }
                Ok(other) => break ChannelEnding::Malformed {
                    reason: format!("a {} packet in the data phase", other.name()),
                    after_ms: elapsed_ms(start),
                },
                Err(LinkError::Closed | LinkError::WebSocketClosed(_)) => {
                    break ChannelEnding::Dropped { after_ms: elapsed_ms(start), reset: false };
                }
                Err(e @ LinkError::Io(_)) => break dropped(&e, start),
                Err(e) => break ChannelEnding::Malformed { reason: e.to_string(), after_ms: elapsed_ms(start) },
            },
            _ = ticker.tick() => {
                if let Err(e) = link.send(&packet::keepalive()).await {
                    break dropped(&LinkError::Io(e), start);
                }
            }
        }
    };
    link.finish().await;
    // Dropping `side` ends the caller's reads.
    drop(side);
    ending
}

/// The client's close channel (status 0), and the gateway's response when it comes in time.
async fn close(link: &mut Link) -> ChannelEnding {
    if link.send(&packet::close_channel(0)).await.is_err() {
        return ChannelEnding::ClientClosed {
            response_status: None,
        };
    }
    let wait = async {
        loop {
            match link.recv().await.map(|raw| packet::decode(&raw)) {
                Ok(Ok(ServerPacket::CloseChannelResponse { status })) => return Some(status),
                Ok(Ok(_)) => {}
                _ => return None,
            }
        }
    };
    let response_status = tokio::time::timeout(CLOSE_WAIT, wait).await.ok().flatten();
    ChannelEnding::ClientClosed { response_status }
}
