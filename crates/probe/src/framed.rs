//! Frames in and out of a probe connection: every read of a probe takes exactly one frame whose
//! length its first bytes announce -- a TPKT (T.123 section 8, as MS-RDPBCGR 2.2.1.x uses it), a
//! fast-path PDU (MS-RDPBCGR 2.2.9.1.2) or a DER TSRequest (MS-CSSP 2.2.1) -- under a deadline and
//! a size bound, and says in one typed failure why it did not, with the bytes seen so far kept as
//! evidence. Each probe turns that failure into its own outcome.

use ironrdp_core::WriteBuf;
use rdpdoctor_wire::{credssp, session, tpkt};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest read buffer: a read never takes more than this at once.
const MAX_CHUNK: usize = 8192;

/// Bytes an exact reader asks for at most per read.
const EXACT_CHUNK: usize = 4096;

/// How the first bytes of a frame tell its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A TPKT: version 3, reserved 0, big-endian length of the whole packet (T.123 section 8).
    Tpkt,
    /// A TPKT or a fast-path output PDU, as a server sends them once the connection sequence
    /// runs (MS-RDPBCGR 2.2.9.1.2).
    TpktOrFastPath,
    /// One DER TSRequest, a SEQUENCE with a definite length (MS-CSSP 2.2.1).
    TsRequest,
}

/// What the bytes received so far say about the first frame, in one vocabulary for every framing.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    NeedMore(usize),
    Complete(usize),
    /// The bytes cannot start a frame of this kind: another protocol is talking.
    Foreign,
    /// A header whose length is too small for any frame of this kind.
    BadLength(usize),
    /// A header whose length is larger than any frame of this kind may be.
    TooLong(usize),
}

impl Framing {
    fn cut(self, buf: &[u8]) -> Cut {
        match self {
            Framing::Tpkt => match tpkt::frame(buf) {
                tpkt::Frame::NeedMore(n) => Cut::NeedMore(n),
                tpkt::Frame::Complete(n) => Cut::Complete(n),
                tpkt::Frame::NotTpkt => Cut::Foreign,
                tpkt::Frame::BadLength(n) => Cut::BadLength(n),
            },
            Framing::TpktOrFastPath => match session::frame_len(buf) {
                session::FrameLen::NeedMore(n) => Cut::NeedMore(n),
                session::FrameLen::Complete(n) => Cut::Complete(n),
                session::FrameLen::Invalid => Cut::Foreign,
            },
            Framing::TsRequest => match credssp::frame(buf) {
                credssp::Frame::NeedMore(n) => Cut::NeedMore(n),
                credssp::Frame::Complete(n) => Cut::Complete(n),
                credssp::Frame::NotTsRequest => Cut::Foreign,
                credssp::Frame::TooLong(n) => Cut::TooLong(n),
            },
        }
    }

    /// The size bound: the largest frame of this kind.
    fn max_len(self) -> usize {
        match self {
            Framing::Tpkt => tpkt::MAX_PACKET_LEN,
            Framing::TpktOrFastPath => session::MAX_FRAME_LEN,
            Framing::TsRequest => credssp::MAX_LEN,
        }
    }
}

/// Why no frame was read. Every variant keeps the bytes received so far (`seen`).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// The peer ended the stream (a read returned no bytes).
    #[error("the peer closed the connection after {} bytes", .seen.len())]
    Closed { seen: Vec<u8> },
    /// A read failed with ECONNRESET.
    #[error("the peer reset the connection after {} bytes", .seen.len())]
    Reset { seen: Vec<u8> },
    /// A read failed otherwise; over TLS, this is the TLS layer seeing the connection end.
    #[error("reading failed after {} bytes ({kind})", .seen.len())]
    Io { kind: ErrorKind, seen: Vec<u8> },
    /// The deadline passed before the frame was complete.
    #[error("no complete frame before the deadline ({} bytes received)", .seen.len())]
    TimedOut { seen: Vec<u8> },
    /// The header announces a frame larger than the size bound.
    #[error("the frame announces {announced} bytes, more than {max}")]
    TooLarge {
        announced: usize,
        max: usize,
        seen: Vec<u8>,
    },
    /// The bytes cannot start a frame of the expected kind.
    #[error("the bytes received cannot start a {framing:?} frame")]
    NotFramed { framing: Framing, seen: Vec<u8> },
    /// The header announces a length too small for a frame.
    #[error("the header announces {announced} bytes, too few for a frame")]
    BadLength { announced: usize, seen: Vec<u8> },
}

impl FrameError {
    /// Whether the peer ended the connection, and if so whether with a reset (`Some(true)`): the
    /// one reading of a failed frame read that every probe shares. `tls`: the stream is TLS.
    pub(crate) fn ended(&self, tls: bool) -> Option<bool> {
        match self {
            FrameError::Closed { .. } => Some(false),
            FrameError::Reset { .. } => Some(true),
            FrameError::Io { kind, .. } => Some(reset_by(*kind, tls)),
            _ => None,
        }
    }

    /// The bytes received before the read failed.
    pub(crate) fn seen(&self) -> &[u8] {
        match self {
            FrameError::Closed { seen }
            | FrameError::Reset { seen }
            | FrameError::Io { seen, .. }
            | FrameError::TimedOut { seen }
            | FrameError::TooLarge { seen, .. }
            | FrameError::NotFramed { seen, .. }
            | FrameError::BadLength { seen, .. } => seen,
        }
    }
}

/// Whether an I/O error that ended a read or a write was a reset rather than a close. Over TLS,
/// any error other than a reset is the TLS layer seeing the connection end; on a plain stream an
/// early end or a broken pipe is a close, anything else (an abort, an ICMP error after the
/// connect) a reset.
pub(crate) fn reset_by(kind: ErrorKind, tls: bool) -> bool {
    match kind {
        ErrorKind::ConnectionReset => true,
        ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => false,
        _ => !tls,
    }
}

/// Reads one frame at a time from a stream.
pub(crate) struct FrameReader {
    framing: Framing,
    /// Bytes per read.
    chunk: usize,
    /// Whether a read may take bytes beyond the frame (kept for the next frame).
    past_frame: bool,
    /// Bytes received and not yet returned.
    pending: Vec<u8>,
}

impl FrameReader {
    /// A reader that never takes a byte past the frame: what follows belongs to another layer
    /// (the TLS handshake, the Early User Authorization Result, the next phase).
    pub(crate) fn exact(framing: Framing) -> FrameReader {
        FrameReader {
            framing,
            chunk: EXACT_CHUNK,
            past_frame: false,
            pending: Vec::new(),
        }
    }

    /// A reader that reads up to `chunk` bytes at a time (at most 8 KiB); bytes past one frame
    /// start the next one. The first read also decides how much of a foreign answer is kept as
    /// evidence.
    pub(crate) fn buffered(framing: Framing, chunk: usize) -> FrameReader {
        FrameReader {
            framing,
            chunk: chunk.clamp(1, MAX_CHUNK),
            past_frame: true,
            pending: Vec::new(),
        }
    }

    /// Reads exactly one frame within `deadline`. The buffer never holds more than the size
    /// bound plus one read.
    pub(crate) async fn read<S>(
        &mut self,
        stream: &mut S,
        deadline: Duration,
    ) -> Result<Vec<u8>, FrameError>
    where
        S: AsyncRead + Unpin + ?Sized,
    {
        let end = Instant::now() + deadline;
        let mut chunk = [0u8; MAX_CHUNK];
        loop {
            let need = match self.framing.cut(&self.pending) {
                Cut::Complete(n) => {
                    let rest = self.pending.split_off(n.min(self.pending.len()));
                    return Ok(std::mem::replace(&mut self.pending, rest));
                }
                Cut::NeedMore(n) if n > self.framing.max_len() => {
                    return Err(self.too_large(n));
                }
                Cut::TooLong(n) => return Err(self.too_large(n)),
                Cut::NeedMore(n) => n,
                Cut::Foreign => {
                    return Err(FrameError::NotFramed {
                        framing: self.framing,
                        seen: self.take(),
                    })
                }
                Cut::BadLength(announced) => {
                    return Err(FrameError::BadLength {
                        announced,
                        seen: self.take(),
                    })
                }
            };
            let want = if self.past_frame {
                self.chunk
            } else {
                need.saturating_sub(self.pending.len()).clamp(1, self.chunk)
            };
            let slice = chunk.get_mut(..want).unwrap_or_default();
            let remaining = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, stream.read(slice)).await {
                Err(_) => return Err(FrameError::TimedOut { seen: self.take() }),
                Ok(Ok(0)) => return Err(FrameError::Closed { seen: self.take() }),
                Ok(Ok(n)) => self
                    .pending
                    .extend_from_slice(slice.get(..n).unwrap_or_default()),
                Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => {
                    return Err(FrameError::Reset { seen: self.take() })
                }
                Ok(Err(e)) => {
                    return Err(FrameError::Io {
                        kind: e.kind(),
                        seen: self.take(),
                    })
                }
            }
        }
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    fn too_large(&mut self, announced: usize) -> FrameError {
        FrameError::TooLarge {
            announced,
            max: self.framing.max_len(),
            seen: self.take(),
        }
    }
}

/// Sends what `out` holds within `deadline` and empties it; false when the write failed or
/// timed out.
pub(crate) async fn send<S>(stream: &mut S, out: &mut WriteBuf, deadline: Duration) -> bool
where
    S: AsyncWrite + Unpin + ?Sized,
{
    if out.filled_len() == 0 {
        return true;
    }
    let ok = matches!(
        tokio::time::timeout(deadline, stream.write_all(out.filled())).await,
        Ok(Ok(()))
    );
    out.clear();
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;
    use tokio::net::{TcpListener, TcpStream};

    const CC: &[u8] = b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00";

    /// Reads with `reader` from a peer that writes `parts` one by one (a pause between them),
    /// then closes unless `hold`.
    async fn serve(
        reader: &mut FrameReader,
        parts: &'static [&'static [u8]],
        hold: bool,
        deadline: Duration,
    ) -> Result<Vec<u8>, FrameError> {
        let (mut client, mut server) = duplex(1 << 17);
        let task = tokio::spawn(async move {
            for part in parts {
                let _ = server.write_all(part).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if hold {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let out = reader.read(&mut client, deadline).await;
        task.abort();
        out
    }

    const SHORT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn reads_one_frame_across_split_reads() {
        let mut r = FrameReader::exact(Framing::Tpkt);
        let parts: &[&[u8]] = &[
            b"\x03",
            b"\x00\x00",
            b"\x0b\x06\xd0",
            b"\x00\x00\x12\x34\x00",
        ];
        assert_eq!(serve(&mut r, parts, true, SHORT).await, Ok(CC.to_vec()));
    }

    #[tokio::test]
    async fn an_exact_reader_leaves_the_next_bytes_in_the_stream() {
        let (mut client, mut server) = duplex(4096);
        server
            .write_all(&[CC, b"\x16\x03\x01"].concat())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = FrameReader::exact(Framing::Tpkt);
        assert_eq!(r.read(&mut client, SHORT).await, Ok(CC.to_vec()));
        let mut next = [0u8; 3];
        client
            .read_exact(&mut next)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&next, b"\x16\x03\x01");
    }

    #[tokio::test]
    async fn a_buffered_reader_keeps_bytes_past_a_frame_for_the_next() {
        // Two fast-path PDUs (2 and 3 bytes) and a TPKT in one write.
        let parts: &[&[u8]] =
            &[b"\x00\x02\x00\x03\x01\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00"];
        let mut r = FrameReader::buffered(Framing::TpktOrFastPath, 8192);
        assert_eq!(serve(&mut r, parts, true, SHORT).await, Ok(vec![0, 2]));
        let (mut idle, _peer) = duplex(16);
        assert_eq!(r.read(&mut idle, SHORT).await, Ok(vec![0, 3, 1]));
        assert_eq!(r.read(&mut idle, SHORT).await, Ok(CC.to_vec()));
    }

    #[tokio::test]
    async fn says_how_a_read_failed_with_the_bytes_seen() {
        let mut r = FrameReader::exact(Framing::Tpkt);
        assert_eq!(
            serve(&mut r, &[b"\x03\x00\x00\x0b\x06"], false, SHORT).await,
            Err(FrameError::Closed {
                seen: b"\x03\x00\x00\x0b\x06".to_vec()
            })
        );
        assert_eq!(
            serve(&mut r, &[b"\x03\x00\x00\x0b\x06"], true, SHORT).await,
            Err(FrameError::TimedOut {
                seen: b"\x03\x00\x00\x0b\x06".to_vec()
            })
        );
        assert_eq!(
            serve(&mut r, &[], false, SHORT).await,
            Err(FrameError::Closed { seen: Vec::new() })
        );
        assert_eq!(
            serve(&mut r, &[b"\x03\x00\x00\x02"], true, SHORT).await,
            Err(FrameError::BadLength {
                announced: 2,
                seen: b"\x03\x00\x00\x02".to_vec()
            })
        );
        // An exact reader takes the header only; a buffered one a whole read, for evidence.
        assert_eq!(
            serve(&mut r, &[b"SSH-2.0-OpenSSH_9.2\r\n"], true, SHORT).await,
            Err(FrameError::NotFramed {
                framing: Framing::Tpkt,
                seen: b"SSH-".to_vec()
            })
        );
        let mut b = FrameReader::buffered(Framing::Tpkt, 512);
        assert_eq!(
            serve(&mut b, &[b"SSH-2.0-OpenSSH_9.2\r\n"], true, SHORT).await,
            Err(FrameError::NotFramed {
                framing: Framing::Tpkt,
                seen: b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()
            })
        );
    }

    #[tokio::test]
    async fn bounds_the_size_of_a_frame() {
        // A DER SEQUENCE announcing 65535 content bytes: more than any TSRequest.
        let mut r = FrameReader::exact(Framing::TsRequest);
        let err = serve(&mut r, &[b"\x30\x82\xff\xff\x02"], true, SHORT).await;
        assert!(
            matches!(&err, Err(FrameError::TooLarge { announced: 65539, max: 65535, seen }) if seen.len() == 4),
            "{err:?}"
        );
        // The largest TPKT is read whole, and nothing more.
        let mut big = vec![0u8; 65535];
        big[..4].copy_from_slice(b"\x03\x00\xff\xff");
        let (mut client, mut server) = duplex(1 << 17);
        let task = tokio::spawn(async move {
            let _ = server.write_all(&big).await;
            let _ = server.write_all(b"\x03\x00").await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let mut r = FrameReader::buffered(Framing::Tpkt, 8192);
        let frame = r.read(&mut client, Duration::from_secs(2)).await;
        task.abort();
        assert_eq!(frame.map(|f| f.len()), Ok(65535));
        assert!(r.pending.len() <= 2);
    }

    #[tokio::test]
    async fn reads_a_ts_request_and_rejects_other_bytes() {
        let mut r = FrameReader::exact(Framing::TsRequest);
        assert_eq!(
            serve(&mut r, &[b"\x30\x03", b"\x02\x01\x06\xff"], true, SHORT).await,
            Ok(b"\x30\x03\x02\x01\x06".to_vec())
        );
        assert_eq!(
            serve(&mut r, &[b"\x15\x03\x03\x00\x02"], true, SHORT).await,
            Err(FrameError::NotFramed {
                framing: Framing::TsRequest,
                seen: b"\x15\x03".to_vec()
            })
        );
    }

    #[tokio::test]
    async fn a_reset_on_a_socket_is_a_reset() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let task = tokio::spawn(async move {
            if let Ok((mut peer, _)) = listener.accept().await {
                let _ = peer.write_all(b"\x03\x00").await;
                // SO_LINGER 0: close() sends RST instead of FIN.
                let _ = peer.set_zero_linger();
                drop(peer);
            }
        });
        let mut client = TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = task.await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut r = FrameReader::exact(Framing::Tpkt);
        let err = r.read(&mut client, SHORT).await;
        // The two bytes may or may not be read before the RST is seen.
        assert!(matches!(err, Err(FrameError::Reset { .. })), "{err:?}");
    }

    #[tokio::test]
    async fn the_deadline_holds_against_a_trickle() {
        // One byte every 50 ms: each read succeeds, the frame never completes in time.
        let (mut client, mut server) = duplex(64);
        let task = tokio::spawn(async move {
            let _ = server.write_all(b"\x03\x00\x01\x00").await;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if server.write_all(b"\x00").await.is_err() {
                    break;
                }
            }
        });
        let mut r = FrameReader::exact(Framing::Tpkt);
        let t = Instant::now();
        let err = r.read(&mut client, SHORT).await;
        task.abort();
        assert!(matches!(err, Err(FrameError::TimedOut { .. })), "{err:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
