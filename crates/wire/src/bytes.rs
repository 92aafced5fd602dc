//! Integers read at an offset of an untrusted buffer, `None` when the buffer is too short.
//!
//! The decoders here read fields where the spec or the message's own offset fields put them
//! (NTLM payload fields, MS-NLMP 2.2.1.2; Share Data headers, MS-RDPBCGR 2.2.8.1.1.1), often out
//! of order, and a short message is an answer to report, not an error to propagate. `ironrdp-core`'s
//! `ReadCursor` reads sequentially and its plain `read_*` methods panic on short input, so these
//! helpers take an offset instead. The native-endian readers are for kernel answers (netlink's
//! sock_diag, whose fields are in host byte order).

/// The `N` bytes at `at`.
pub fn array_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// A little-endian u16 at `at` (RDP and NTLM fields).
pub fn le_u16_at(b: &[u8], at: usize) -> Option<u16> {
    array_at(b, at).map(u16::from_le_bytes)
}

/// A little-endian u32 at `at`.
pub fn le_u32_at(b: &[u8], at: usize) -> Option<u32> {
    array_at(b, at).map(u32::from_le_bytes)
}

/// A big-endian u16 at `at` (TLS, TPKT and DER lengths).
pub fn be_u16_at(b: &[u8], at: usize) -> Option<u16> {
    array_at(b, at).map(u16::from_be_bytes)
}

/// A native-endian u16 at `at`.
pub fn ne_u16_at(b: &[u8], at: usize) -> Option<u16> {
    array_at(b, at).map(u16::from_ne_bytes)
}

/// A native-endian u32 at `at`.
pub fn ne_u32_at(b: &[u8], at: usize) -> Option<u32> {
    array_at(b, at).map(u32::from_ne_bytes)
}

/// A native-endian u64 at `at`.
pub fn ne_u64_at(b: &[u8], at: usize) -> Option<u64> {
    array_at(b, at).map(u64::from_ne_bytes)
}

/// UTF-16LE text (NTLM names with NTLMSSP_NEGOTIATE_UNICODE, MS-TSGU strings); lossy on unpaired
/// surrogates, a trailing odd byte ignored.
pub fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .filter_map(|c| <[u8; 2]>::try_from(c).ok())
        .map(u16::from_le_bytes)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_within_bounds_only() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05];
        assert_eq!(le_u16_at(&b, 0), Some(0x0201));
        assert_eq!(be_u16_at(&b, 3), Some(0x0405));
        assert_eq!(le_u32_at(&b, 1), Some(0x0504_0302));
        assert_eq!(le_u32_at(&b, 2), None);
        assert_eq!(le_u16_at(&b, 4), None);
        assert_eq!(le_u16_at(&b, usize::MAX), None);
        assert_eq!(ne_u64_at(&b, 0), None);
        assert_eq!(ne_u32_at(&b, 0), Some(u32::from_ne_bytes([1, 2, 3, 4])));
        assert_eq!(ne_u16_at(&[], 0), None);
    }
}
