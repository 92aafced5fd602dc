//! TPKT framing (RFC 1006 / T.123 section 8, as used by MS-RDPBCGR 2.2.1.2).
//!
//! The probes read exactly one TPKT per answer. This module tells them how many bytes that needs,
//! so that a read never waits for more than the peer announced and never buffers more than a
//! TPKT can hold.

/// TPKT header: version (3), reserved (0), length (u16, big-endian, whole packet).
pub const HEADER_LEN: usize = 4;
/// The smallest packet that can carry an X.224 TPDU header (TPKT 4 + LI + code + 5).
pub const MIN_PACKET_LEN: usize = 7;
/// The largest packet a TPKT length field can describe.
pub const MAX_PACKET_LEN: usize = u16::MAX as usize;

/// What the bytes received so far say about the first TPKT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// At least this many bytes in total are needed before anything can be decided.
    NeedMore(usize),
    /// The first packet is complete and is this many bytes long.
    Complete(usize),
    /// The bytes cannot be the start of a TPKT: another protocol is talking.
    NotTpkt,
    /// A TPKT header with a length too small to hold an X.224 TPDU.
    BadLength(usize),
}

/// Decides how the first TPKT in `buf` is framed.
pub fn frame(buf: &[u8]) -> Frame {
    match buf {
        [] => Frame::NeedMore(HEADER_LEN),
        [v, ..] if *v != 3 => Frame::NotTpkt,
        [_, r, ..] if *r != 0 => Frame::NotTpkt,
        [_, _, hi, lo, ..] => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            if len < MIN_PACKET_LEN {
                Frame::BadLength(len)
            } else if buf.len() >= len {
                Frame::Complete(len)
            } else {
                Frame::NeedMore(len)
            }
        }
        _ => Frame::NeedMore(HEADER_LEN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_tpkt_and_rejects_other_protocols() {
        assert_eq!(frame(&[]), Frame::NeedMore(4));
        assert_eq!(frame(&[3, 0]), Frame::NeedMore(4));
        assert_eq!(frame(&[3, 0, 0, 11, 6]), Frame::NeedMore(11));
        assert_eq!(
            frame(&[3, 0, 0, 11, 6, 0xd0, 0, 0, 0x12, 0x34, 0]),
            Frame::Complete(11)
        );
        assert_eq!(frame(b"SSH-2.0-OpenSSH"), Frame::NotTpkt);
        assert_eq!(frame(b"HTTP/1.1 400"), Frame::NotTpkt);
        assert_eq!(frame(&[3, 1, 0, 11]), Frame::NotTpkt);
        assert_eq!(frame(&[3, 0, 0, 2]), Frame::BadLength(2));
    }
}
