//! A lax DER walker for the few answers read field by field (the KRB-ERROR and its e-data): one
//! TLV at a time, single-byte tags (Kerberos uses tag numbers below 31), definite lengths of at
//! most four bytes. Nothing here panics or allocates; a value that does not fit is `None`.

/// One element: its tag byte and its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
}

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const GENERAL_STRING: u8 = 0x1b;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;

/// The first element of `bytes` and what follows it.
pub(crate) fn read(bytes: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tag numbers are not used by Kerberos
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (digits, rest) = rest.split_at_checked(n)?;
        let len = digits
            .iter()
            .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
        (len, rest)
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((Tlv { tag, content }, rest))
}

/// The only element of `bytes`, which must hold nothing else.
pub(crate) fn single(bytes: &[u8]) -> Option<Tlv<'_>> {
    match read(bytes)? {
        (tlv, []) => Some(tlv),
        _ => None,
    }
}

/// The elements inside a constructed element's content, until the first that does not parse.
pub(crate) fn children(mut content: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let (tlv, rest) = read(content)?;
        content = rest;
        Some(tlv)
    })
}

/// The element inside the explicit context tag `[n]` of a SEQUENCE's content.
pub(crate) fn field(sequence: &[u8], n: u8) -> Option<Tlv<'_>> {
    let tagged = children(sequence).find(|t| t.tag == 0xa0 | n)?;
    single(tagged.content)
}

/// A DER INTEGER that fits an i64.
pub(crate) fn integer(tlv: Tlv<'_>) -> Option<i64> {
    if tlv.tag != INTEGER || tlv.content.is_empty() || tlv.content.len() > 8 {
        return None;
    }
    let negative = tlv.content.first().is_some_and(|b| b & 0x80 != 0);
    let start: i64 = if negative { -1 } else { 0 };
    Some(
        tlv.content
            .iter()
            .fold(start, |acc, &b| (acc << 8) | i64::from(b)),
    )
}

/// A KerberosString (GeneralString, RFC 4120 5.2.1) as text; bytes that are not UTF-8 are
/// replaced, since the value is only shown.
pub(crate) fn string(tlv: Tlv<'_>) -> Option<String> {
    (tlv.tag == GENERAL_STRING).then(|| String::from_utf8_lossy(tlv.content).into_owned())
}

/// A PrincipalName (RFC 4120 5.2.2) as `a/b`.
pub(crate) fn principal(tlv: Tlv<'_>) -> Option<String> {
    if tlv.tag != SEQUENCE {
        return None;
    }
    let names = field(tlv.content, 1).filter(|t| t.tag == SEQUENCE)?;
    let parts: Vec<String> = children(names.content).filter_map(string).collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_elements_and_refuses_what_does_not_fit() {
        let seq = [0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x19, 0x00];
        let (tlv, rest) = read(&seq).unwrap();
        assert_eq!((tlv.tag, rest), (SEQUENCE, &[0x00][..]));
        assert_eq!(integer(field(tlv.content, 0).unwrap()), Some(25));
        assert_eq!(field(tlv.content, 1), None);
        assert_eq!(
            integer(Tlv {
                tag: INTEGER,
                content: &[0xff]
            }),
            Some(-1)
        );
        assert_eq!(
            integer(Tlv {
                tag: INTEGER,
                content: &[0x00, 0x80]
            }),
            Some(128)
        );
        // Lengths past the end, long-form lengths of 5 bytes, multi-byte tags.
        assert_eq!(read(&[0x30, 0x05, 0x00]), None);
        assert_eq!(read(&[0x30, 0x85, 0, 0, 0, 0, 1, 0]), None);
        assert_eq!(read(&[0x1f, 0x01, 0x00]), None);
        assert_eq!(
            read(&[0x04, 0x82, 0x00, 0x01, 0x41]).map(|(t, _)| t.content),
            Some(&b"A"[..])
        );
        assert_eq!(read(&[]), None);
    }

    #[test]
    fn reads_principal_names() {
        // { [0] 2, [1] { "TERMSRV", "rdp" } }
        let p = [
            0x30, 0x17, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x10, 0x30, 0x0e, 0x1b, 0x07, b'T',
            b'E', b'R', b'M', b'S', b'R', b'V', 0x1b, 0x03, b'r', b'd', b'p',
        ];
        assert_eq!(
            principal(single(&p).unwrap()).as_deref(),
            Some("TERMSRV/rdp")
        );
    }
}
