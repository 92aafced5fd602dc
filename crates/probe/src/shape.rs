//! How a probe's bytes leave: the path probes shape the client's writes to see what a device on
//! the path does with them. A wrapper around any stream, so it works over every route.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The pause between the first byte of a split ClientHello and the rest.
const SPLIT_PAUSE: Duration = Duration::from_millis(50);

/// The pause between the one-byte segments of the loss sample: long enough that the kernel sends
/// each at once (no autocorking behind the one before), short enough that a request of ~50 bytes
/// takes a tenth of a second.
const TRICKLE_PAUSE: Duration = Duration::from_millis(2);

/// A stream whose first `singles` writes send one byte each, with a pause after each, before
/// the rest goes as it comes. With TCP_NODELAY each of those bytes leaves in a segment of its own.
pub(crate) struct SplitWrite<S> {
    inner: S,
    state: Split,
    singles: usize,
    pause: Duration,
}

enum Split {
    First,
    Pause(Pin<Box<tokio::time::Sleep>>),
    Done,
}

impl<S> SplitWrite<S> {
    /// The split retry: the TLS record header's first byte alone, then [`SPLIT_PAUSE`], then
    /// the rest, so a device matching the ClientHello (record header, SNI) within one segment
    /// does not see it.
    pub(crate) fn new(inner: S) -> Self {
        SplitWrite {
            inner,
            state: Split::First,
            singles: 1,
            pause: SPLIT_PAUSE,
        }
    }

    /// Every byte in a segment of its own, [`TRICKLE_PAUSE`] apart: many small data segments
    /// from one short message (the loss sample).
    pub(crate) fn trickle(inner: S) -> Self {
        SplitWrite {
            inner,
            state: Split::First,
            singles: usize::MAX,
            pause: TRICKLE_PAUSE,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SplitWrite<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SplitWrite<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                Split::First if buf.len() > 1 && this.singles > 0 => {
                    let r = Pin::new(&mut this.inner).poll_write(cx, &buf[..1]);
                    if let Poll::Ready(Ok(_)) = r {
                        this.singles -= 1;
                        this.state = Split::Pause(Box::pin(tokio::time::sleep(this.pause)));
                    }
                    return r;
                }
                Split::First => this.state = Split::Done,
                Split::Pause(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) if this.singles > 0 => this.state = Split::First,
                    Poll::Ready(()) => this.state = Split::Done,
                },
                Split::Done => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn split_stream_sends_the_first_byte_alone_then_the_rest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 16];
            let n = s.read(&mut first).await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            (first[..n].to_vec(), rest)
        });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut split = SplitWrite::new(stream);
        split
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05])
            .await
            .unwrap();
        split.shutdown().await.unwrap();
        let (first, rest) = server.await.unwrap();
        // The pause lets the first segment be read on its own.
        assert_eq!(first, [0x16]);
        assert_eq!(rest, [0x03, 0x01, 0x00, 0x05]);
    }
}
