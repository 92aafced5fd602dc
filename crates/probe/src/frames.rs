//! One frame loop for a connection past its security upgrade: `--full`'s connection sequence
//! (`full.rs`), and `--hold`'s idle session and its reactivations (`hold.rs`) run in [`run`], each
//! as a [`Frames`] handler that says what the client sends next, what to make of each server
//! frame, and how a broken read ends it.
//!
//! Between the frames on the wire and the PDUs the handlers see sits a [`SecurityLayer`]: nothing
//! over TLS ([`Clear`]); Standard RDP Security's encryption (MS-RDPBCGR 5.3.6: the security
//! header, RC4 or FIPS, the MAC; `rdpdoctor_wire::rdp_crypto`) plugs in here, so the connection
//! sequence and the hold run unchanged over an encrypted Standard RDP Security session.
//!
//! A read that ends without a frame is classified once, here ([`Broken`]).

use crate::framed::{send, FrameError, FrameReader, Framing};
use crate::route::ByteStream;
use ironrdp_core::WriteBuf;
use rdpdoctor_observations::SessionEncryption;
use rdpdoctor_wire::session::{self, ServerFrame};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Bytes per read: fast-path updates come back to back, so a read takes several at once and the
/// reader keeps the rest for the next frame.
const READ_CHUNK: usize = 8192;

/// What sits between the frames and the PDUs.
pub(crate) trait SecurityLayer: Send {
    /// A server frame as it arrived -> the PDU the handlers read (decrypted, its MAC checked).
    fn inbound(&mut self, frame: Vec<u8>) -> Result<Vec<u8>, String>;
    /// A client PDU -> the frame that goes on the wire (encrypted, with its security header).
    fn outbound(&mut self, pdu: Vec<u8>) -> Result<Vec<u8>, String>;
    /// What the layer's encryption ran, for the observation (none without encryption).
    fn encryption(&self) -> Option<SessionEncryption> {
        None
    }
}

/// No layer: TLS (or no encryption at all) carries the frames as they are.
pub(crate) struct Clear;

impl SecurityLayer for Clear {
    fn inbound(&mut self, frame: Vec<u8>) -> Result<Vec<u8>, String> {
        Ok(frame)
    }
    fn outbound(&mut self, pdu: Vec<u8>) -> Result<Vec<u8>, String> {
        Ok(pdu)
    }
}

/// How a read ended without a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// The far side ended the connection, with a FIN or (`reset`) a reset.
    Closed { reset: bool },
    /// No complete frame before the deadline.
    TimedOut,
    /// Bytes that are not a frame of the connection sequence, in words.
    Garbled(String),
}

/// The connection's frames, both ways, through its security layer.
pub(crate) struct Link {
    stream: Box<dyn ByteStream>,
    reader: FrameReader,
    layer: Box<dyn SecurityLayer>,
    /// Whether the stream is TLS (for how an I/O error reads: `FrameError::ended`).
    tls: bool,
}

impl Link {
    pub(crate) fn new(
        stream: Box<dyn ByteStream>,
        tls: bool,
        layer: Box<dyn SecurityLayer>,
    ) -> Link {
        Link {
            stream,
            reader: FrameReader::buffered(Framing::TpktOrFastPath, READ_CHUNK),
            layer,
            tls,
        }
    }

    /// One server frame (TPKT or fast-path, at most 64 KiB) within `deadline`, through the
    /// security layer, with what it is.
    pub(crate) async fn read(
        &mut self,
        deadline: Duration,
    ) -> Result<(Vec<u8>, ServerFrame), Broken> {
        let frame = self
            .reader
            .read(&mut self.stream, deadline)
            .await
            .map_err(|e| broken(&e, self.tls))?;
        let pdu = self
            .layer
            .inbound(frame)
            .map_err(|why| Broken::Garbled(format!("a frame the security layer refused: {why}")))?;
        let kind = session::inspect(&pdu);
        Ok((pdu, kind))
    }

    /// Sends what `out` holds (through the security layer) within `deadline` and empties it;
    /// false when the write failed or timed out.
    pub(crate) async fn send(&mut self, out: &mut WriteBuf, deadline: Duration) -> bool {
        if out.filled_len() == 0 {
            return true;
        }
        let frame = self.layer.outbound(out.filled().to_vec());
        out.clear();
        let Ok(frame) = frame else {
            return false;
        };
        let mut buf = WriteBuf::new();
        buf.write_slice(&frame);
        send(&mut self.stream, &mut buf, deadline).await
    }

    /// What the security layer's encryption ran.
    pub(crate) fn encryption(&self) -> Option<SessionEncryption> {
        self.layer.encryption()
    }

    /// Ends the connection: a close (TLS close_notify, then FIN), not waited for long.
    pub(crate) async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(100), self.stream.shutdown()).await;
    }
}

/// A failed frame read, as a connection sequence sees it.
fn broken(e: &FrameError, tls: bool) -> Broken {
    match (e.ended(tls), e) {
        (Some(reset), _) => Broken::Closed { reset },
        (None, FrameError::TimedOut { .. }) => Broken::TimedOut,
        (None, _) => Broken::Garbled(format!(
            "bytes that are neither TPKT nor fast-path: {}",
            crate::excerpt_hex(e.seen(), 32)
        )),
    }
}

/// What a handler does before the next read.
pub(crate) enum Turn<E> {
    /// Wait at most this long for a server frame.
    Read(Duration),
    /// Send what the handler wrote (the client's own PDU), within this long, then ask again.
    Send(Duration),
    End(E),
}

/// Whether the loop goes on.
pub(crate) enum Flow<E> {
    Go,
    End(E),
}

/// One phase of a connection, as the frame loop drives it.
pub(crate) trait Frames {
    type End;
    /// The client's turn: a PDU of its own (written to `out`), a read, or the end.
    fn turn(&mut self, out: &mut WriteBuf) -> Turn<Self::End>;
    /// A server frame; an answer goes to `out` (sent within [`Frames::write_deadline`]).
    fn frame(&mut self, pdu: &[u8], kind: ServerFrame, out: &mut WriteBuf) -> Flow<Self::End>;
    /// A read that ended without a frame.
    fn broken(&mut self, why: Broken) -> Flow<Self::End>;
    /// The deadline of an answer's write.
    fn write_deadline(&self) -> Duration;
    /// A write that failed or timed out.
    fn unsent(&mut self) -> Self::End;
}

/// Runs `handler` over `link` until it ends.
pub(crate) async fn run<F: Frames>(link: &mut Link, handler: &mut F) -> F::End {
    let mut out = WriteBuf::new();
    loop {
        let wait = match handler.turn(&mut out) {
            Turn::End(end) => return end,
            Turn::Send(deadline) => {
                if !link.send(&mut out, deadline).await {
                    return handler.unsent();
                }
                continue;
            }
            Turn::Read(wait) => wait,
        };
        out.clear();
        let flow = match link.read(wait).await {
            Ok((pdu, kind)) => handler.frame(&pdu, kind, &mut out),
            Err(why) => handler.broken(why),
        };
        if let Flow::End(end) = flow {
            return end;
        }
        if !link.send(&mut out, handler.write_deadline()).await {
            return handler.unsent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt};

    /// A layer that flips every byte, as a stand-in for an encryption: what the handler sees and
    /// what goes on the wire pass through it.
    struct Flip;

    impl SecurityLayer for Flip {
        fn inbound(&mut self, frame: Vec<u8>) -> Result<Vec<u8>, String> {
            // The TPKT header stays readable; the payload is "decrypted".
            let (head, body) = frame.split_at(4.min(frame.len()));
            Ok([head.to_vec(), body.iter().map(|b| !b).collect()].concat())
        }
        fn outbound(&mut self, pdu: Vec<u8>) -> Result<Vec<u8>, String> {
            self.inbound(pdu)
        }
    }

    /// Reads frames until the peer closes, answering each with its own payload.
    struct Echo {
        seen: Vec<Vec<u8>>,
    }

    impl Frames for Echo {
        type End = Broken;
        fn turn(&mut self, _: &mut WriteBuf) -> Turn<Broken> {
            Turn::Read(Duration::from_millis(500))
        }
        fn frame(&mut self, pdu: &[u8], _: ServerFrame, out: &mut WriteBuf) -> Flow<Broken> {
            self.seen.push(pdu.to_vec());
            out.write_slice(pdu);
            Flow::Go
        }
        fn broken(&mut self, why: Broken) -> Flow<Broken> {
            Flow::End(why)
        }
        fn write_deadline(&self) -> Duration {
            Duration::from_millis(500)
        }
        fn unsent(&mut self) -> Broken {
            Broken::Closed { reset: false }
        }
    }

    /// The handler sees the layer's PDUs, the wire carries the layer's frames, and the loop ends
    /// with the close, classified once.
    #[tokio::test]
    async fn frames_pass_through_the_security_layer_both_ways() {
        let (client, mut server) = duplex(4096);
        // An MCS Disconnect Provider Ultimatum on the wire, "encrypted" by the flip.
        let wire = b"\x03\x00\x00\x09\xfd\x0f\x7f\xde\x7f";
        let task = tokio::spawn(async move {
            let _ = tokio::io::AsyncWriteExt::write_all(&mut server, wire).await;
            let mut back = [0u8; 9];
            let _ = server.read_exact(&mut back).await;
            back
        });
        let mut link = Link::new(Box::new(client), false, Box::new(Flip));
        let mut echo = Echo { seen: Vec::new() };
        let end = run(&mut link, &mut echo).await;
        assert_eq!(
            echo.seen,
            [b"\x03\x00\x00\x09\x02\xf0\x80\x21\x80".to_vec()]
        );
        assert_eq!(task.await.ok(), Some(*wire));
        assert_eq!(end, Broken::Closed { reset: false });
    }
}
