//! What is Kerberos's own in CredSSP: the layout of the sealed values (pubKeyAuth, authInfo),
//! which are GSS Wrap tokens (RFC 4121 4.2.6.2).
//!
//! A Wrap token is a 16-byte header and then the encrypted data and its checksum, "rotated
//! right" by the header's RRC octets (RFC 4121 4.2.5). Windows SSPI always rotates by 28 plus
//! the EC filler (MS-KILE 3.4.5.4.1) and `sspi` 0.23 assumes that and ignores the field, while
//! MIT GSSAPI acceptors send RRC 0 (lab/kerberos/OBSERVED.md: the stand-in's pubKeyAuth failed
//! `sspi`'s integrity check until this). So a server's token is brought to Windows' rotation
//! before `sspi` reads it; one that already has it is left as it is.

/// TOK_ID of a Wrap token (RFC 4121 4.2.6.2).
const WRAP_TOK_ID: [u8; 2] = [0x05, 0x04];
const HEADER_LEN: usize = 16;
/// The rotation Windows uses (MS-KILE 3.4.5.4.1), without EC.
const WINDOWS_RRC: usize = 28;

/// `sealed` with the rotation `sspi` expects; anything that is not a Wrap token unchanged (the
/// package then says why it cannot read it).
pub(crate) fn with_windows_rotation(sealed: &[u8]) -> Vec<u8> {
    let mut token = sealed.to_vec();
    let field = |at: usize| {
        token
            .get(at..at + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(|b| usize::from(u16::from_be_bytes(b)))
    };
    let (Some(ec), Some(rrc)) = (field(4), field(6)) else {
        return token;
    };
    let id = token.get(0..2).unwrap_or_default();
    if id != WRAP_TOK_ID || token.len() <= HEADER_LEN {
        return token;
    }
    let want = WINDOWS_RRC + ec;
    if rrc == want {
        return token;
    }
    let (header, content) = token.split_at_mut(HEADER_LEN);
    let n = content.len();
    // Undo the sender's rotation, then rotate as Windows does.
    content.rotate_left(rrc % n);
    content.rotate_right(want % n);
    if let Some(field) = header.get_mut(6..8) {
        field.copy_from_slice(&(WINDOWS_RRC as u16).to_be_bytes());
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ec: u16, rrc: u16) -> Vec<u8> {
        let mut h = vec![0x05, 0x04, 0x03, 0xff];
        h.extend_from_slice(&ec.to_be_bytes());
        h.extend_from_slice(&rrc.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        h
    }

    /// An MIT token (RRC 0) gets Windows' rotation: the same bytes after the header, rotated
    /// right by 28 + EC; the header's RRC says 28.
    #[test]
    fn an_unrotated_token_is_rotated_as_windows_does() {
        let body: Vec<u8> = (0u8..100).collect();
        let mit = [header(0, 0), body.clone()].concat();
        let got = with_windows_rotation(&mit);
        let mut rotated = body.clone();
        rotated.rotate_right(28);
        assert_eq!(got, [header(0, 28), rotated.clone()].concat());
        // Already rotated: unchanged.
        assert_eq!(with_windows_rotation(&got), got);
        // With EC filler bytes the rotation is 28 + EC.
        let with_ec = [header(4, 0), body.clone()].concat();
        let mut r = body;
        r.rotate_right(32);
        assert_eq!(with_windows_rotation(&with_ec), [header(4, 28), r].concat());
    }

    /// What is not a Wrap token, or has nothing after its header, is left alone.
    #[test]
    fn other_bytes_are_left_alone() {
        for bytes in [vec![], vec![0x05], header(0, 0), vec![0x30; 40]] {
            assert_eq!(with_windows_rotation(&bytes), bytes);
        }
    }
}
