//! X.224 negotiation probe (MS-RDPBCGR 1.3.1.1 connection initiation, 2.2.1.1-2.2.1.2): send one
//! Connection Request and read exactly one TPKT back.

use crate::excerpt_hex;
use crate::framed::{reset_by, FrameError, FrameReader, Framing};
use rdpdoctor_observations::{NegotiationOutcome, Phase, Transport};
use rdpdoctor_wire::x224::{self, RequestCookie};
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// Bytes of a non-RDP reply kept as evidence.
const EXCERPT: usize = 48;

/// Sends a Connection Request for `requested` carrying `cookie`, and classifies the answer.
pub(crate) async fn negotiate<S>(
    stream: &mut S,
    requested: u32,
    cookie: &RequestCookie,
    deadline: Duration,
) -> NegotiationOutcome
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let request = match x224::connection_request(requested, cookie) {
        Ok(r) => r,
        Err(e) => {
            return NegotiationOutcome::Malformed {
                reason: e.to_string(),
                excerpt_hex: String::new(),
            }
        }
    };
    match tokio::time::timeout(deadline, stream.write_all(&request)).await {
        Err(_) => {
            return NegotiationOutcome::Transport(Transport::TimedOut {
                phase: Phase::X224,
                bytes: 0,
            })
        }
        Ok(Err(e)) => return io_failure(e.kind(), 0),
        Ok(Ok(())) => {}
    }
    read_confirm(stream, deadline).await
}

/// Reads the Connection Confirm: one TPKT, read in chunks of 512 bytes so that a reply in
/// another protocol (an SSH or HTTP banner) is kept whole enough to name it. Bytes after the
/// TPKT are dropped: a server sends nothing before the client's next message.
async fn read_confirm<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    deadline: Duration,
) -> NegotiationOutcome {
    let mut reader = FrameReader::buffered(Framing::Tpkt, 512);
    let e = match reader.read(stream, deadline).await {
        Ok(packet) => return confirm(&packet),
        Err(e) => e,
    };
    let bytes = e.seen().len();
    match (e.ended(false), e) {
        (Some(true), _) => NegotiationOutcome::Transport(Transport::Reset { at: (), bytes }),
        (Some(false), _) => NegotiationOutcome::Transport(Transport::Closed { at: (), bytes }),
        (None, FrameError::NotFramed { seen, .. }) => NegotiationOutcome::NotRdp {
            bytes: seen.len(),
            excerpt_hex: excerpt_hex(&seen, EXCERPT),
            excerpt_text: printable_prefix(&seen),
        },
        (None, FrameError::BadLength { announced, seen }) => NegotiationOutcome::Malformed {
            reason: format!("TPKT header announces {announced} bytes, too few for an X.224 TPDU"),
            excerpt_hex: excerpt_hex(&seen, EXCERPT),
        },
        (None, FrameError::TimedOut { .. }) => NegotiationOutcome::Transport(Transport::TimedOut {
            phase: Phase::X224,
            bytes,
        }),
        // A TPKT length field cannot announce more than the bound.
        (None, e) => NegotiationOutcome::Malformed {
            reason: e.to_string(),
            excerpt_hex: excerpt_hex(e.seen(), EXCERPT),
        },
    }
}

fn confirm(packet: &[u8]) -> NegotiationOutcome {
    match x224::decode_connection_confirm(packet) {
        x224::Confirm::Selected { protocol, flags } => {
            NegotiationOutcome::Selected { protocol, flags }
        }
        x224::Confirm::Failure { code } => NegotiationOutcome::Failure { code: code.into() },
        x224::Confirm::NoNegotiationData => NegotiationOutcome::NoNegotiationData,
        x224::Confirm::Malformed(reason) => NegotiationOutcome::Malformed {
            reason,
            excerpt_hex: excerpt_hex(packet, EXCERPT),
        },
    }
}

/// A failed write of the request.
fn io_failure(kind: ErrorKind, bytes: usize) -> NegotiationOutcome {
    if reset_by(kind, false) {
        NegotiationOutcome::Transport(Transport::Reset { at: (), bytes })
    } else {
        NegotiationOutcome::Transport(Transport::Closed { at: (), bytes })
    }
}

/// The printable ASCII start of a reply, for banners such as `SSH-2.0-...` or `HTTP/1.1 400`.
fn printable_prefix(bytes: &[u8]) -> Option<String> {
    let text: String = bytes
        .iter()
        .take_while(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
        .take(80)
        .map(|&b| b as char)
        .collect();
    let line = text.lines().next().unwrap_or("").trim().to_string();
    (line.len() >= 3).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt};

    async fn answer(reply: &'static [u8], close: bool) -> NegotiationOutcome {
        let (mut client, mut server) = duplex(4096);
        let server_task = tokio::spawn(async move {
            let mut req = [0u8; 64];
            let _ = server.read(&mut req).await;
            let _ = server.write_all(reply).await;
            if !close {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let cookie = RequestCookie::Name("t".into());
        let out = negotiate(&mut client, 0x0b, &cookie, Duration::from_millis(300)).await;
        server_task.abort();
        out
    }

    #[tokio::test]
    async fn classifies_answers() {
        let ok = b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00";
        assert_eq!(
            answer(ok, false).await,
            NegotiationOutcome::Selected {
                protocol: 2,
                flags: 0x1f
            }
        );
        match answer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", false).await {
            NegotiationOutcome::NotRdp { excerpt_text, .. } => {
                assert_eq!(
                    excerpt_text.as_deref(),
                    Some("SSH-2.0-OpenSSH_9.2p1 Debian-2")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            answer(b"\x03\x00\x00\x13\x0e\xd0\x00", true).await,
            NegotiationOutcome::Transport(Transport::Closed { at: (), bytes: 7 })
        );
        assert_eq!(
            answer(b"\x03\x00\x00\x13\x0e\xd0\x00", false).await,
            NegotiationOutcome::Transport(Transport::TimedOut {
                phase: Phase::X224,
                bytes: 7
            })
        );
        assert_eq!(
            answer(b"", true).await,
            NegotiationOutcome::Transport(Transport::Closed { at: (), bytes: 0 })
        );
        assert!(matches!(
            answer(b"\x03\x00\x00\x02", false).await,
            NegotiationOutcome::Malformed { .. }
        ));
    }
}
