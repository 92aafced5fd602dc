//! WebSocket framing for the RD Gateway's WebSocket transport (RFC 6455), client side: the
//! opening handshake's key and accept value (4.1, 4.2.2), masked client frames (5.2, 5.3), and
//! a reader for the gateway's frames.
//!
//! Own code rather than `tungstenite`: the gateway client needs the upgrade inside its own HTTP
//! exchange (the logon legs run on the same request), each phase under its own deadline and
//! recorded as evidence, and a byte-level reader it can bound; `tungstenite` brings its own HTTP
//! handshake and message layer for none of that. The framing a client needs is this small file.

use crate::bytes::{array_at, be_u16_at};
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID a server appends to the key before hashing (RFC 6455 1.3).
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest frame payload read from the gateway. Tunnel packets are at most a few KiB per
/// frame in practice; anything past this is refused, not buffered.
pub const MAX_FRAME: usize = 1024 * 1024;

/// Frame opcodes (RFC 6455 5.2).
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// Sec-WebSocket-Key: 16 random bytes, base64 (RFC 6455 4.1).
pub fn key(random: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(random)
}

/// The Sec-WebSocket-Accept a server must answer `key` with (RFC 6455 4.2.2).
pub fn accept_for(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// A client frame: FIN set, masked with `mask` (RFC 6455 5.3: every client frame is masked).
pub fn client_frame(op: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | (op & 0x0F));
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    f
}

/// One frame from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Why the server's frames cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the gateway sent a masked WebSocket frame (RFC 6455 5.1 forbids it)")]
    Masked,
    #[error("a WebSocket frame of {0} bytes is larger than the {MAX_FRAME}-byte bound")]
    TooLarge(u64),
    #[error("a WebSocket control frame (opcode 0x{opcode:X}) is fragmented or longer than 125 bytes (RFC 6455 5.5)")]
    BadControl { opcode: u8 },
    #[error("a WebSocket frame with reserved bits 0x{0:X} set, which no extension was agreed for")]
    Reserved(u8),
    #[error("a WebSocket frame with the unknown opcode 0x{0:X}")]
    UnknownOpcode(u8),
}

/// Reads the server's frames out of a byte stream.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let (Some(&b0), Some(&b1)) = (self.buf.first(), self.buf.get(1)) else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(FrameError::Reserved(b0 & 0x70));
        }
        let op = b0 & 0x0F;
        if !matches!(op, 0x0..=0x2 | 0x8..=0xA) {
            return Err(FrameError::UnknownOpcode(op));
        }
        if b1 & 0x80 != 0 {
            return Err(FrameError::Masked);
        }
        let (len, head) = match b1 & 0x7F {
            126 => match be_u16_at(&self.buf, 2) {
                Some(n) => (u64::from(n), 4),
                None => return Ok(None),
            },
            127 => match array_at::<8>(&self.buf, 2) {
                Some(b) => (u64::from_be_bytes(b), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let fin = b0 & 0x80 != 0;
        if op >= 0x8 && (!fin || len > 125) {
            return Err(FrameError::BadControl { opcode: op });
        }
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_FRAME)
            .ok_or(FrameError::TooLarge(len))?;
        if self.buf.len() < head + len {
            return Ok(None);
        }
        let rest = self.buf.split_off(head + len);
        let mut frame = std::mem::replace(&mut self.buf, rest);
        let payload = frame.split_off(head);
        Ok(Some(Frame {
            fin,
            opcode: op,
            payload,
        }))
    }
}
