//! Tunnel packets to and from the gateway over either transport: one connection upgraded to
//! WebSocket (packets in binary frames, RFC 6455; pings answered), or the two HTTP channels
//! (packets read from the OUT channel's body, written as chunks of the IN channel's body).
//!
//! `recv` is cancellation-safe (it only awaits one read; everything else is synchronous), so
//! the data phase can wait on the gateway and on its caller at once. Control frames that need
//! an answer are queued and sent by `flush_control`, outside any such wait.

use super::conn::Conn;
use rdpdoctor_observations::GatewayTransport;
use rdpdoctor_wire::tsgu::http;
use rdpdoctor_wire::tsgu::packet::{PacketError, PacketReader, RawPacket};
use rdpdoctor_wire::tsgu::websocket::{self, opcode, FrameError, FrameReader};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Why no packet came.
#[derive(Debug, thiserror::Error)]
pub(super) enum LinkError {
    #[error("the gateway closed the connection")]
    Closed,
    #[error("the gateway closed the WebSocket (close code {0:?})")]
    WebSocketClosed(Option<u16>),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Packet(#[from] PacketError),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("the gateway sent a WebSocket text frame; the tunnel is binary")]
    Text,
}

impl LinkError {
    pub(super) fn is_reset(&self) -> bool {
        matches!(self, LinkError::Io(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe))
    }
}

enum Kind {
    WebSocket { conn: Conn, frames: FrameReader },
    Http { out: Conn, inbound: Conn },
}

pub(super) struct Link {
    kind: Kind,
    packets: PacketReader,
    /// Control frames to send (pongs, the answer to a close).
    control: Vec<Vec<u8>>,
    /// The gateway sent a WebSocket close.
    ws_closed: Option<Option<u16>>,
    /// Bytes received from the gateway since the tunnel started.
    pub(super) received: usize,
}

impl Link {
    pub(super) fn websocket(mut conn: Conn) -> Link {
        let mut frames = FrameReader::new();
        frames.feed(&conn.take());
        Link::new(Kind::WebSocket { conn, frames })
    }

    pub(super) fn http(mut out: Conn, inbound: Conn) -> Link {
        let leftover = out.take();
        let mut link = Link::new(Kind::Http { out, inbound });
        link.packets.feed(&leftover);
        link
    }

    fn new(kind: Kind) -> Link {
        Link {
            kind,
            packets: PacketReader::new(),
            control: Vec::new(),
            ws_closed: None,
            received: 0,
        }
    }

    pub(super) fn transport(&self) -> GatewayTransport {
        match self.kind {
            Kind::WebSocket { .. } => GatewayTransport::Websocket,
            Kind::Http { .. } => GatewayTransport::HttpChannels,
        }
    }

    /// Sends one packet.
    pub(super) async fn send(&mut self, packet: &[u8]) -> std::io::Result<()> {
        self.flush_control().await?;
        match &mut self.kind {
            Kind::WebSocket { conn, .. } => {
                let frame = websocket::client_frame(opcode::BINARY, packet, mask());
                write(conn, &frame).await
            }
            Kind::Http { inbound, .. } => write(inbound, &http::chunk(packet)).await,
        }
    }

    /// Sends the control frames queued by `recv`.
    pub(super) async fn flush_control(&mut self) -> std::io::Result<()> {
        if let Kind::WebSocket { conn, .. } = &mut self.kind {
            for frame in std::mem::take(&mut self.control) {
                write(conn, &frame).await?;
            }
        }
        Ok(())
    }

    /// The next packet from the gateway.
    pub(super) async fn recv(&mut self) -> Result<RawPacket, LinkError> {
        loop {
            if let Some(p) = self.packets.next_packet()? {
                return Ok(p);
            }
            if let Some(code) = self.ws_closed {
                return Err(LinkError::WebSocketClosed(code));
            }
            let conn = match &mut self.kind {
                Kind::WebSocket { conn, .. } => conn,
                Kind::Http { out, .. } => out,
            };
            let n = conn.fill().await?;
            if n == 0 {
                return Err(LinkError::Closed);
            }
            self.received += n;
            let bytes = conn.take();
            match &mut self.kind {
                Kind::WebSocket { frames, .. } => {
                    frames.feed(&bytes);
                    self.unframe()?;
                }
                Kind::Http { .. } => self.packets.feed(&bytes),
            }
        }
    }

    /// Moves the payloads of whole frames into the packet reader; queues the answers to pings
    /// and to a close (RFC 6455 5.5).
    fn unframe(&mut self) -> Result<(), LinkError> {
        let Kind::WebSocket { frames, .. } = &mut self.kind else {
            return Ok(());
        };
        while let Some(f) = frames.next_frame()? {
            match f.opcode {
                opcode::BINARY | opcode::CONTINUATION => self.packets.feed(&f.payload),
                opcode::TEXT => return Err(LinkError::Text),
                opcode::PING => {
                    self.control
                        .push(websocket::client_frame(opcode::PONG, &f.payload, mask()))
                }
                opcode::CLOSE => {
                    let code = rdpdoctor_wire::bytes::be_u16_at(&f.payload, 0);
                    self.control.push(websocket::client_frame(
                        opcode::CLOSE,
                        f.payload.get(..2).unwrap_or_default(),
                        mask(),
                    ));
                    self.ws_closed = Some(code);
                    break;
                }
                _ => {} // pong
            }
        }
        Ok(())
    }

    /// Ends the client's side: the WebSocket close (normal closure, 1000) or the chunked body's
    /// last chunk, then TLS close_notify; bounded, so a gateway that stopped reading does not
    /// hold it up.
    pub(super) async fn finish(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            let _ = self.flush_control().await;
            match &mut self.kind {
                Kind::WebSocket { conn, .. } => {
                    if self.ws_closed.is_none() {
                        let close =
                            websocket::client_frame(opcode::CLOSE, &1000u16.to_be_bytes(), mask());
                        let _ = write(conn, &close).await;
                    }
                    conn.shutdown().await;
                }
                Kind::Http { out, inbound } => {
                    let _ = write(inbound, &http::chunk(&[])).await;
                    inbound.shutdown().await;
                    out.shutdown().await;
                }
            }
        })
        .await;
    }
}

async fn write(conn: &mut Conn, bytes: &[u8]) -> std::io::Result<()> {
    conn.tls.write_all(bytes).await?;
    conn.tls.flush().await
}

/// A frame mask: unpredictable, as RFC 6455 10.3 requires (OpenSSL's CSPRNG).
fn mask() -> [u8; 4] {
    let mut m = [0u8; 4];
    let _ = openssl::rand::rand_bytes(&mut m);
    m
}
