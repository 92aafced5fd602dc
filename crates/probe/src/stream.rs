//! A TCP stream wrapper that remembers how many bytes the server sent and what they started
//! with, so a failed TLS handshake can say "closed after 7 bytes" or show the non-TLS bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many leading bytes are kept for evidence.
pub(crate) const KEEP: usize = 64;

pub(crate) struct Recording<S> {
    inner: S,
    pub(crate) received: usize,
    pub(crate) head: Vec<u8>,
    /// How many leading bytes `head` keeps.
    keep: usize,
}

impl<S> Recording<S> {
    /// Keeps the first `keep` bytes (the cipher probe reads the whole first server flight).
    pub(crate) fn keeping(inner: S, keep: usize) -> Self {
        Recording {
            inner,
            received: 0,
            head: Vec::new(),
            keep,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let new = &buf.filled()[before..];
            this.received += new.len();
            let room = this.keep.saturating_sub(this.head.len());
            this.head.extend_from_slice(&new[..new.len().min(room)]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
