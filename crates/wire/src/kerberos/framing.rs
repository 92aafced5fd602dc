//! How a Kerberos message travels: over TCP with a 4-byte length in front (RFC 4120 7.2.2), over
//! UDP bare (7.2.1), and through a KDC proxy inside a KDC-PROXY-MESSAGE whose kerb-message is the
//! TCP form (MS-KKDCP 2.2.2).

use super::{contained, encode, KerberosError};
use picky_asn1::restricted_string::Ia5String;
use picky_asn1::wrapper::{ExplicitContextTag0, ExplicitContextTag1, OctetStringAsn1, Optional};
use picky_krb::data_types::KerberosStringAsn1;
use picky_krb::messages::KdcProxyMessage;

/// The largest KDC reply read: tickets with a large PAC stay under Windows' MaxTokenSize (48000
/// bytes by default, 65535 at most), so this leaves room and still bounds a hostile length.
pub const MAX_MESSAGE: usize = 256 * 1024;

/// `message` with the 4-byte big-endian length of RFC 4120 7.2.2 in front.
pub fn tcp_frame(message: &[u8]) -> Result<Vec<u8>, KerberosError> {
    let len = u32::try_from(message.len())
        .ok()
        .filter(|l| *l < 0x8000_0000)
        .ok_or_else(|| KerberosError::Framing("the message is too long for TCP".to_string()))?;
    let mut out = Vec::with_capacity(message.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

/// The length a TCP reply announces in its first 4 bytes. The high bit is reserved for
/// extensions (RFC 4120 7.2.2): a KDC sets it only to refuse an extension nobody asked for here,
/// so it is an error, as is a length above [`MAX_MESSAGE`].
pub fn tcp_frame_length(header: [u8; 4]) -> Result<usize, KerberosError> {
    let len = u32::from_be_bytes(header);
    if len & 0x8000_0000 != 0 {
        return Err(KerberosError::Framing(format!(
            "the KDC's TCP length 0x{len:08X} has the reserved high bit set (RFC 4120 7.2.2)"
        )));
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_MESSAGE {
        return Err(KerberosError::Framing(format!(
            "the KDC announced a {len}-byte reply, more than the {MAX_MESSAGE} bytes read"
        )));
    }
    if len == 0 {
        return Err(KerberosError::Framing(
            "the KDC announced an empty reply".to_string(),
        ));
    }
    Ok(len)
}

/// The body of an HTTPS POST to a KDC proxy: `message` (bare) in a KDC-PROXY-MESSAGE for
/// `realm` (MS-KKDCP 2.2.2; target-domain is required for client messages, 3.1.5.1).
pub fn kkdcp_wrap(message: &[u8], realm: &str) -> Result<Vec<u8>, KerberosError> {
    let realm = Ia5String::from_string(realm.to_string())
        .map_err(|_| KerberosError::Name(realm.to_string()))?;
    let proxy = KdcProxyMessage {
        kerb_message: ExplicitContextTag0::from(OctetStringAsn1(tcp_frame(message)?)),
        target_domain: Optional::from(Some(ExplicitContextTag1::from(KerberosStringAsn1::from(
            realm,
        )))),
        dclocator_hint: Optional::from(None),
    };
    encode("a KDC-PROXY-MESSAGE", &proxy)
}

/// The bare Kerberos message in a KDC proxy's answer body (MS-KKDCP 2.2.2), its 4-byte length
/// checked against what follows it.
pub fn kkdcp_unwrap(body: &[u8]) -> Result<Vec<u8>, KerberosError> {
    kkdcp_request(body).map(|(message, _)| message)
}

/// A client's KDC-PROXY-MESSAGE (sspi builds one for an `https://` KDC): the bare message and
/// the target-domain.
pub fn kkdcp_request(body: &[u8]) -> Result<(Vec<u8>, Option<String>), KerberosError> {
    let proxy = contained("a KDC-PROXY-MESSAGE", || KdcProxyMessage::from_raw(body))?;
    let realm = proxy
        .target_domain
        .0
        .as_ref()
        .map(|d| d.0 .0.as_utf8().to_string());
    let framed = proxy.kerb_message.0 .0;
    let (header, message) = framed.split_first_chunk::<4>().ok_or_else(|| {
        KerberosError::Framing(
            "the proxied kerb-message is shorter than its 4-byte length".to_string(),
        )
    })?;
    let len = tcp_frame_length(*header)?;
    if len != message.len() {
        return Err(KerberosError::Framing(format!(
            "the proxied kerb-message announces {len} bytes and carries {}",
            message.len()
        )));
    }
    Ok((message.to_vec(), realm))
}

/// A KDC proxy's answer carrying `message` (a server message: no target-domain, MS-KKDCP 2.2.2).
pub fn kkdcp_reply(message: &[u8]) -> Result<Vec<u8>, KerberosError> {
    let proxy = KdcProxyMessage {
        kerb_message: ExplicitContextTag0::from(OctetStringAsn1(tcp_frame(message)?)),
        target_domain: Optional::from(None),
        dclocator_hint: Optional::from(None),
    };
    encode("a KDC-PROXY-MESSAGE", &proxy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_frames_carry_the_length_and_refuse_the_high_bit_and_giants() {
        assert_eq!(tcp_frame(b"abc").unwrap(), b"\0\0\0\x03abc");
        assert_eq!(tcp_frame_length([0, 0, 1, 0]).unwrap(), 256);
        assert!(tcp_frame_length([0x80, 0, 0, 1]).is_err());
        assert!(tcp_frame_length([0, 0x40, 0, 0]).is_err());
        assert!(tcp_frame_length([0, 0, 0, 0]).is_err());
    }

    /// MS-KKDCP 2.2.2, encoded by hand: SEQUENCE { [0] OCTET STRING (the TCP form), [1]
    /// GeneralString realm }.
    #[test]
    fn a_kdc_proxy_message_is_the_tcp_form_and_the_realm() {
        let body = kkdcp_wrap(&[0x6a, 0x00], "LAB.TEST").unwrap();
        let expected = [
            0x30, 0x16, // SEQUENCE
            0xa0, 0x08, 0x04, 0x06, 0, 0, 0, 2, 0x6a, 0x00, // [0] OCTET STRING
            0xa1, 0x0a, 0x1b, 0x08, b'L', b'A', b'B', b'.', b'T', b'E', b'S', b'T', // [1]
        ];
        assert_eq!(body, expected);
        assert_eq!(
            kkdcp_request(&body).unwrap(),
            (vec![0x6a, 0x00], Some("LAB.TEST".to_string()))
        );
        // A server message has no target-domain.
        let reply = [0x30, 0x0a, 0xa0, 0x08, 0x04, 0x06, 0, 0, 0, 2, 0x7e, 0x00];
        assert_eq!(kkdcp_unwrap(&reply).unwrap(), [0x7e, 0x00]);
        assert_eq!(kkdcp_reply(&[0x7e, 0x00]).unwrap(), reply);
        // Lengths that disagree, truncation, and garbage are errors, not panics.
        let short = [0x30, 0x0a, 0xa0, 0x08, 0x04, 0x06, 0, 0, 0, 9, 0x7e, 0x00];
        assert!(kkdcp_unwrap(&short).is_err());
        assert!(kkdcp_unwrap(&reply[..7]).is_err());
        assert!(kkdcp_unwrap(b"HTTP/1.1 200 OK").is_err());
        assert!(kkdcp_unwrap(&[]).is_err());
    }
}
