//! One HTTPS connection to the gateway: bytes out, HTTP response heads and bodies in, each read
//! under the deadline of the phase it belongs to and bounded in size. Bytes that arrive after a
//! head stay buffered for what reads next (the OUT channel's seed and packets, WebSocket
//! frames).

use crate::excerpt_hex;
use crate::tls::Tls;
use rdpdoctor_observations::{GatewayPhase, InPhase, Transport};
use rdpdoctor_wire::tsgu::http::{self, HeadError, ResponseHead};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest response body read (a 401's or an error page): bodies are read only to keep the
/// connection in step and to quote the page.
const MAX_BODY: usize = 64 * 1024;

pub(super) type Broken = Transport<GatewayPhase, InPhase<GatewayPhase>>;

/// Why no response head came.
#[derive(Debug)]
pub(super) enum HeadFailure {
    /// The bytes are not an HTTP response (hex of the first ones).
    NotHttp {
        reason: String,
        excerpt: String,
    },
    Transport(Broken),
}

pub(super) struct Conn {
    pub(super) tls: Tls,
    /// Which HTTPS connection of the set-up this is (1: the OUT channel).
    pub(super) number: u8,
    buf: Vec<u8>,
}

impl Conn {
    pub(super) fn new(tls: Tls, number: u8) -> Conn {
        Conn {
            tls,
            number,
            buf: Vec::new(),
        }
    }

    /// Sends `bytes` within `deadline`.
    pub(super) async fn send(
        &mut self,
        bytes: &[u8],
        deadline: Duration,
        phase: GatewayPhase,
    ) -> Result<(), Broken> {
        let write = async {
            self.tls.write_all(bytes).await?;
            self.tls.flush().await
        };
        match tokio::time::timeout(deadline, write).await {
            Err(_) => Err(Transport::TimedOut { phase, bytes: 0 }),
            Ok(Err(e)) => Err(broken(&e, phase, 0)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    pub(super) async fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.tls.read(&mut chunk).await?;
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// Takes every buffered byte.
    pub(super) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The next response head, within `deadline`.
    pub(super) async fn head(
        &mut self,
        deadline: Duration,
        phase: GatewayPhase,
    ) -> Result<ResponseHead, HeadFailure> {
        let read = async {
            loop {
                match http::parse_response(&self.buf) {
                    Ok(Some((head, used))) => {
                        self.buf.drain(..used);
                        return Ok(head);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(self.not_http(&e)),
                }
                match self.fill().await {
                    Ok(0) => {
                        return Err(HeadFailure::Transport(Transport::closed(
                            phase,
                            self.buf.len(),
                        )))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Err(HeadFailure::Transport(broken(&e, phase, self.buf.len())))
                    }
                }
            }
        };
        match tokio::time::timeout(deadline, read).await {
            Err(_) => Err(HeadFailure::Transport(Transport::TimedOut {
                phase,
                bytes: self.buf.len(),
            })),
            Ok(r) => r,
        }
    }

    fn not_http(&self, e: &HeadError) -> HeadFailure {
        HeadFailure::NotHttp {
            reason: e.to_string(),
            excerpt: excerpt_hex(&self.buf, 48),
        }
    }

    /// Reads and returns the body of a response whose head is `head` (Content-Length or
    /// chunked, at most 64 KiB of it kept), so the next request can follow on this connection.
    /// A response without either has no body here (the OUT channel's 200 streams instead).
    pub(super) async fn body(
        &mut self,
        head: &ResponseHead,
        deadline: Duration,
        phase: GatewayPhase,
    ) -> Result<Vec<u8>, Broken> {
        let read = async {
            loop {
                let complete = if head.chunked() {
                    // A body whose chunking does not parse ends the exchange like a close.
                    http::chunked_body_len(&self.buf)
                        .map_err(|_| Transport::closed(phase, self.buf.len()))?
                } else {
                    let want = head.content_length().unwrap_or(0);
                    let want = usize::try_from(want).unwrap_or(usize::MAX);
                    (self.buf.len() >= want).then_some(want)
                };
                if let Some(used) = complete {
                    let body: Vec<u8> = self.buf.drain(..used).collect();
                    return Ok(body.into_iter().take(MAX_BODY).collect());
                }
                if self.buf.len() > MAX_BODY * 4 {
                    return Err(Transport::closed(phase, self.buf.len()));
                }
                match self.fill().await {
                    Ok(0) => return Err(Transport::closed(phase, self.buf.len())),
                    Ok(_) => {}
                    Err(e) => return Err(broken(&e, phase, self.buf.len())),
                }
            }
        };
        tokio::time::timeout(deadline, read)
            .await
            .unwrap_or(Err(Transport::TimedOut {
                phase,
                bytes: self.buf.len(),
            }))
    }

    /// Reads exactly `n` bytes (the OUT channel's seed), within `deadline`.
    pub(super) async fn exact(
        &mut self,
        n: usize,
        deadline: Duration,
        phase: GatewayPhase,
    ) -> Result<Vec<u8>, Broken> {
        let read = async {
            while self.buf.len() < n {
                match self.fill().await {
                    Ok(0) => return Err(Transport::closed(phase, self.buf.len())),
                    Ok(_) => {}
                    Err(e) => return Err(broken(&e, phase, self.buf.len())),
                }
            }
            Ok(self.buf.drain(..n).collect())
        };
        tokio::time::timeout(deadline, read)
            .await
            .unwrap_or(Err(Transport::TimedOut {
                phase,
                bytes: self.buf.len(),
            }))
    }

    /// Closes the TLS session politely (bounded: a silent peer does not hold it up).
    pub(super) async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(100), self.tls.shutdown()).await;
    }
}

/// An I/O error in `phase`, after `bytes` bytes of an answer.
pub(super) fn broken(e: &std::io::Error, phase: GatewayPhase, bytes: usize) -> Broken {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
            Transport::reset(phase, bytes)
        }
        _ => Transport::closed(phase, bytes),
    }
}
