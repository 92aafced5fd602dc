//! CredSSP TSRequest framing (MS-CSSP 2.2.1) on `sspi`'s `TsRequest`, and the Early User
//! Authorization Result PDU (MS-RDPBCGR 2.2.10.2).
//!
//! `sspi` encodes and decodes the DER; this module adds what a prober needs around it: how many
//! bytes the first TSRequest in a buffer needs (so a read never waits for more than the peer
//! announced), a size bound, and a decoded view that keeps the NTSTATUS raw.

pub use sspi::credssp::TsRequest;

/// The TSRequest version the probes announce (MS-CSSP 2.2.1: 6 is the current version, with the
/// CVE-2018-0886 nonce binding and errorCode).
pub const VERSION: u32 = 6;

/// A TSRequest is one DER SEQUENCE; `sspi` sizes it with a u16, so none is larger than this.
pub const MAX_LEN: usize = u16::MAX as usize;

/// What the bytes received so far say about the first TSRequest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// At least this many bytes in total are needed.
    NeedMore(usize),
    /// The first TSRequest is complete and is this many bytes long.
    Complete(usize),
    /// Not a DER SEQUENCE with a definite length of at most two length bytes.
    NotTsRequest,
    /// A SEQUENCE whose header announces this many bytes in total, more than [`MAX_LEN`].
    TooLong(usize),
}

/// Frames the first DER SEQUENCE (tag 0x30, definite length in short or long form).
pub fn frame(buf: &[u8]) -> Frame {
    match buf {
        [t, ..] if *t != 0x30 => Frame::NotTsRequest,
        [] | [_] => Frame::NeedMore(2),
        [_, l, rest @ ..] => {
            let (header, len) = match *l {
                n if n < 0x80 => (2, usize::from(n)),
                0x81 => match rest {
                    [a, ..] => (3, usize::from(*a)),
                    _ => return Frame::NeedMore(3),
                },
                0x82 => match rest {
                    [a, b, ..] => (4, usize::from(u16::from_be_bytes([*a, *b]))),
                    _ => return Frame::NeedMore(4),
                },
                _ => return Frame::NotTsRequest,
            };
            let total = header + len;
            if total > MAX_LEN {
                Frame::TooLong(total)
            } else if buf.len() >= total {
                Frame::Complete(total)
            } else {
                Frame::NeedMore(total)
            }
        }
    }
}

/// Why a TSRequest could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CredsspError {
    #[error("cannot encode the TSRequest: {0}")]
    Encode(String),
    #[error("not a valid TSRequest: {0}")]
    Decode(String),
}

/// Encodes a TSRequest (version [`VERSION`]) carrying one negoToken.
pub fn encode_nego_token(token: &[u8]) -> Result<Vec<u8>, CredsspError> {
    let request = TsRequest {
        version: VERSION,
        nego_tokens: Some(token.to_vec()),
        ..TsRequest::default()
    };
    encode(&request)
}

/// Encodes any TSRequest.
pub fn encode(request: &TsRequest) -> Result<Vec<u8>, CredsspError> {
    let mut out = Vec::new();
    crate::contain::call("sspi TsRequest::encode_ts_request", || {
        request.encode_ts_request(&mut out)
    })
    .map_err(|p| CredsspError::Encode(p.to_string()))?
    .map_err(|e| CredsspError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes one complete TSRequest (as delimited by [`frame`]); `sspi`'s DER decoder reads the
/// server's bytes, so a panic in it is contained (`contain.rs`).
pub fn decode(bytes: &[u8]) -> Result<TsRequest, CredsspError> {
    crate::contain::call("sspi TsRequest::from_buffer", || {
        TsRequest::from_buffer(bytes)
    })
    .map_err(|p| CredsspError::Decode(p.to_string()))?
    .map_err(|e| CredsspError::Decode(e.to_string()))
}

/// The size of an NTLM message signature (MS-NLMP 2.2.2.9.1, NTLMSSP_MESSAGE_SIGNATURE with
/// extended session security): every message NTLM seals, pubKeyAuth included, starts with one.
pub const NTLM_SIGNATURE_LEN: usize = 16;

/// What the server's TSRequest in answer to the NTLM AUTHENTICATE says (MS-CSSP 3.1.5), before
/// any of it reaches `sspi`: a logon is proven only by a pubKeyAuth that verifies, or refused
/// by an error code; anything else is neither.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthenticateAnswer {
    /// errorCode other than 0 (an NTSTATUS): the server's verdict on the credentials.
    Refused(u32),
    /// A pubKeyAuth long enough to be checked: `sspi` verifies it.
    Proof,
    /// No pubKeyAuth and no error: what the TSRequest carried instead, in words.
    Missing(String),
    /// A pubKeyAuth too short to be NTLM-sealed data: why, in words.
    Unverifiable(String),
}

/// Classifies the answer to the AUTHENTICATE. `sspi` 0.23.0 panics on a pubKeyAuth shorter than
/// [`NTLM_SIGNATURE_LEN`] ("mid > len" in `CredSspContext::decrypt_message`), so such a value is
/// judged here and never handed to it.
pub fn classify_authenticate_answer(answer: &TsRequest) -> AuthenticateAnswer {
    if let Some(code) = answer.error_code.map(|c| c.0).filter(|c| *c != 0) {
        return AuthenticateAnswer::Refused(code);
    }
    match &answer.pub_key_auth {
        Some(p) if p.len() < NTLM_SIGNATURE_LEN => AuthenticateAnswer::Unverifiable(format!(
            "a pubKeyAuth of {} bytes, shorter than the {NTLM_SIGNATURE_LEN}-byte NTLM message signature every sealed message starts with, MS-NLMP 2.2.2.9.1",
            p.len()
        )),
        Some(_) => AuthenticateAnswer::Proof,
        None => AuthenticateAnswer::Missing(instead_of_proof(answer)),
    }
}

/// What a TSRequest without pubKeyAuth carried instead, in words.
fn instead_of_proof(answer: &TsRequest) -> String {
    let token = answer.nego_tokens.as_deref().unwrap_or_default();
    let what = if answer.error_code.is_some() {
        "errorCode 0 (STATUS_SUCCESS), which is no proof".to_string()
    } else if token.get(..8) == Some(crate::ntlm::SIGNATURE.as_slice())
        && crate::ntlm::parse_challenge(token).is_ok()
    {
        format!(
            "another NTLM CHALLENGE ({} bytes of negoTokens)",
            token.len()
        )
    } else if !token.is_empty() {
        format!("{} bytes of negoTokens", token.len())
    } else {
        "nothing but its version".to_string()
    };
    format!(
        "a TSRequest (version {}) without pubKeyAuth: {what}",
        answer.version
    )
}

/// Early User Authorization Result (MS-RDPBCGR 2.2.10.2): AUTHZ_SUCCESS.
pub const AUTHZ_SUCCESS: u32 = 0;
/// AUTHZ_ACCESS_DENIED: the credentials are valid, the user may not log on remotely.
pub const AUTHZ_ACCESS_DENIED: u32 = 5;
/// The PDU is exactly one u32.
pub const EARLY_USER_AUTH_LEN: usize = 4;

/// The authorizationResult of an Early User Authorization Result PDU, kept raw.
pub fn decode_early_user_auth(bytes: &[u8]) -> Option<u32> {
    let four: [u8; 4] = bytes.get(..EARLY_USER_AUTH_LEN)?.try_into().ok()?;
    Some(u32::from_le_bytes(four))
}

/// The subjectPublicKey BIT STRING contents (without the unused-bits byte) of a DER
/// SubjectPublicKeyInfo (RFC 5280 4.1): what CredSSP binds pubKeyAuth to (MS-CSSP 3.1.5). Passing
/// the whole certificate or SubjectPublicKeyInfo instead makes servers refuse the exchange
/// (sspi-rs#651).
pub fn subject_public_key(spki: &[u8]) -> Option<&[u8]> {
    let (tag, body, _) = der_tlv(spki)?;
    if tag != 0x30 {
        return None;
    }
    let (alg_tag, _, rest) = der_tlv(body)?;
    if alg_tag != 0x30 {
        return None;
    }
    let (bits_tag, bits, _) = der_tlv(rest)?;
    if bits_tag != 0x03 {
        return None;
    }
    match bits {
        [0, key @ ..] if !key.is_empty() => Some(key),
        _ => None,
    }
}

/// One DER TLV: (tag, contents, what follows).
fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let (&a, rest) = rest.split_first()?;
            (usize::from(a), rest)
        }
        0x82 => {
            let (len, rest) = rest.split_at_checked(2)?;
            (
                usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?])),
                rest,
            )
        }
        _ => return None,
    };
    let (body, after) = rest.split_at_checked(len)?;
    Some((tag, body, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntlm;

    /// freerdp-shadow-cli 2.11 (lab server freerdp-nla) answering the NEGOTIATE: version 6,
    /// negoTokens with the CHALLENGE, and a clientNonce field.
    const FREERDP_REPLY: &str = "30819fa003020106a17430723070a06e046c4e544c4d53535000020000000400040038000000b78288e248a3f83a2fb4ec080000000000000000300030003c0000000601b11d0000000f56004d000200040056004d000100040056004d000400040076006d000300040076006d000700080000eb6ae5d479dd0100000000a52204205c8d4ef81859ca777b74994ce23c8481f1bf35ca74f9153dd149956ce71285d4";

    #[test]
    fn encodes_the_negotiate_request_as_windows_does() {
        let bytes = encode_nego_token(&ntlm::negotiate_message()).unwrap_or_default();
        assert_eq!(
            hex::encode(&bytes),
            "3037a003020106a130302e302ca02a04284e544c4d5353500001000000b78208e2000000000000000000000000000000000a0063450000000f"
        );
        assert_eq!(frame(&bytes), Frame::Complete(bytes.len()));
    }

    #[test]
    fn decodes_the_recorded_freerdp_reply() {
        let bytes = hex::decode(FREERDP_REPLY).unwrap_or_default();
        assert_eq!(frame(&bytes[..1]), Frame::NeedMore(2));
        assert_eq!(frame(&bytes[..2]), Frame::NeedMore(3));
        assert_eq!(frame(&bytes[..10]), Frame::NeedMore(bytes.len()));
        assert_eq!(frame(&bytes), Frame::Complete(bytes.len()));
        let Ok(request) = decode(&bytes) else {
            panic!("recorded reply does not decode");
        };
        assert_eq!(request.version, 6);
        assert!(request.error_code.is_none());
        let token = request.nego_tokens.unwrap_or_default();
        let challenge = ntlm::parse_challenge(&token).unwrap_or_default();
        assert_eq!(challenge.netbios_computer.as_deref(), Some("VM"));
    }

    #[test]
    fn frames_and_rejects_other_bytes() {
        assert_eq!(frame(b"\x15\x03\x03"), Frame::NotTsRequest);
        assert_eq!(frame(&[0x30, 0x83, 0, 0, 0]), Frame::NotTsRequest);
        assert_eq!(frame(&[0x30, 0x82, 0xff, 0xff]), Frame::TooLong(65539));
        assert_eq!(frame(&[0x30, 0x03, 1]), Frame::NeedMore(5));
        assert!(decode(&[0x30, 0x03, 1, 2, 3]).is_err());
        assert_eq!(
            decode_early_user_auth(&[5, 0, 0, 0]),
            Some(AUTHZ_ACCESS_DENIED)
        );
        assert_eq!(decode_early_user_auth(&[5, 0]), None);
    }

    #[test]
    fn finds_the_subject_public_key() {
        // SubjectPublicKeyInfo { rsaEncryption, BIT STRING 00 | 30 06 02 01 05 02 01 03 }.
        let spki = hex::decode("301a300d06092a864886f70d01010105000309003006020105020103")
            .unwrap_or_default();
        assert_eq!(
            subject_public_key(&spki).map(hex::encode).as_deref(),
            Some("3006020105020103")
        );
        assert_eq!(subject_public_key(&spki[..spki.len() - 1]), None);
        assert_eq!(subject_public_key(&[0x30, 0x82, 0xff]), None);
    }

    #[test]
    fn answers_to_the_authenticate_are_proof_refusal_or_neither() {
        let with = |f: &dyn Fn(&mut TsRequest)| {
            let mut r = TsRequest {
                version: 6,
                ..TsRequest::default()
            };
            f(&mut r);
            classify_authenticate_answer(&r)
        };
        assert_eq!(
            with(&|r| r.error_code = Some(sspi::credssp::NStatusCode(0xC000_006D))),
            AuthenticateAnswer::Refused(0xC000_006D)
        );
        assert_eq!(
            with(&|r| r.pub_key_auth = Some(vec![0; 48])),
            AuthenticateAnswer::Proof
        );
        for short in [0, 8, 15] {
            let AuthenticateAnswer::Unverifiable(why) =
                with(&|r| r.pub_key_auth = Some(vec![0; short]))
            else {
                panic!("{short} bytes");
            };
            assert!(why.contains(&format!("of {short} bytes")), "{why}");
        }
        // errorCode 0 is STATUS_SUCCESS: not a refusal, and not a proof either.
        let AuthenticateAnswer::Missing(why) =
            with(&|r| r.error_code = Some(sspi::credssp::NStatusCode(0)))
        else {
            panic!("errorCode 0");
        };
        assert!(why.contains("errorCode 0"), "{why}");
        let AuthenticateAnswer::Missing(why) = with(&|_| {}) else {
            panic!("empty");
        };
        assert!(why.contains("nothing but its version"), "{why}");
        let bytes = hex::decode(FREERDP_REPLY).unwrap_or_default();
        let challenge = decode(&bytes).unwrap_or_default();
        let AuthenticateAnswer::Missing(why) =
            with(&|r| r.nego_tokens = challenge.nego_tokens.clone())
        else {
            panic!("another CHALLENGE");
        };
        assert!(why.contains("another NTLM CHALLENGE"), "{why}");
    }

    #[test]
    fn decodes_an_error_code() {
        // TSRequest { version 6, errorCode 0xC000006D } as Windows sends on a failed logon.
        let request = TsRequest {
            version: 6,
            error_code: Some(sspi::credssp::NStatusCode(0xC000_006D)),
            ..TsRequest::default()
        };
        let bytes = encode(&request).unwrap_or_default();
        let back = decode(&bytes).ok().and_then(|r| r.error_code).map(|c| c.0);
        assert_eq!(back, Some(0xC000_006D));
    }
}
