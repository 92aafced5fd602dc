//! The frames that let a connection sequence written for unencrypted Standard RDP Security (level
//! None, as `ironrdp-connector` 0.12 speaks it: it offers no encryption method and refuses a
//! server that chose one) run over an encrypted one, without I/O:
//!
//! - [`offer_methods`]: the client's MCS Connect Initial with the encryption methods offered in
//!   its Client Security Data (MS-RDPBCGR 2.2.1.3.3), everything else kept;
//! - [`without_security`]: the server's MCS Connect Response with its Server Security Data
//!   (2.2.1.4.3) replaced by the level-None block, so the connector goes on (the real block is
//!   read first with [`super::exchange::server_security_data`]);
//! - [`open_fast_path_frame`]: an encrypted fast-path output PDU (2.2.9.1.2) as the same PDU
//!   unencrypted, for [`crate::session::inspect`] and the connector.

use super::exchange::FrameError;
use super::{ClientSecurity, Opened};
use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::gcc::{ClientSecurityData, ConferenceCreateRequest, ConferenceCreateResponse};
use ironrdp_pdu::gcc::{EncryptionMethod, ServerSecurityData};
use ironrdp_pdu::mcs::{ConnectInitial, ConnectResponse};
use ironrdp_pdu::x224::{X224Data, X224};
use std::borrow::Cow;

/// BER tags of the MCS Connect-Initial and Connect-Response (T.125 application 101 and 102).
const CONNECT_INITIAL: [u8; 2] = [0x7F, 0x65];
const CONNECT_RESPONSE: [u8; 2] = [0x7F, 0x66];

/// The T.124 nodeID a rewritten Connect Response carries. `ironrdp-pdu` decodes it but does not
/// hand it out, and the connector reads only the GCC blocks of the response; Windows sends this
/// value (MS-RDPBCGR 4.1.4).
const NODE_ID: u16 = 0x79F3;

fn x224_payload(frame: &[u8]) -> Result<Vec<u8>, FrameError> {
    let X224(data) =
        decode::<X224<X224Data<'_>>>(frame).map_err(|e| FrameError::NotMcs(e.to_string()))?;
    Ok(data.data.into_owned())
}

fn x224_frame(payload: Vec<u8>) -> Result<Vec<u8>, FrameError> {
    encode_vec(&X224(X224Data {
        data: Cow::Owned(payload),
    }))
    .map_err(|e| FrameError::Encode(e.to_string()))
}

/// `frame` (one TPKT) with `methods` offered, when it is an MCS Connect Initial; `None` for any
/// other frame.
pub fn offer_methods(frame: &[u8], methods: u32) -> Result<Option<Vec<u8>>, FrameError> {
    let Ok(payload) = x224_payload(frame) else {
        return Ok(None);
    };
    if !payload.starts_with(&CONNECT_INITIAL) {
        return Ok(None);
    }
    let mut initial = decode::<ConnectInitial>(&payload)
        .map_err(|e| FrameError::NotMcs(format!("MCS Connect Initial: {e}")))?;
    let mut blocks = initial.conference_create_request.into_gcc_blocks();
    blocks.security = ClientSecurityData {
        encryption_methods: EncryptionMethod::from_bits_retain(methods),
        ext_encryption_methods: 0,
    };
    initial.conference_create_request =
        ConferenceCreateRequest::new(blocks).map_err(|e| FrameError::Encode(e.to_string()))?;
    let body = encode_vec(&initial).map_err(|e| FrameError::Encode(e.to_string()))?;
    x224_frame(body).map(Some)
}

/// An MCS Connect Response (one TPKT) with the level-None Server Security Data in place of the
/// server's.
pub fn without_security(frame: &[u8]) -> Result<Vec<u8>, FrameError> {
    let payload = x224_payload(frame)?;
    if !payload.starts_with(&CONNECT_RESPONSE) {
        return Err(FrameError::NotMcs("not an MCS Connect Response".into()));
    }
    let mut response = decode::<ConnectResponse>(&payload)
        .map_err(|e| FrameError::NotMcs(format!("MCS Connect Response: {e}")))?;
    let mut blocks = response.conference_create_response.into_gcc_blocks();
    blocks.security = ServerSecurityData::no_security();
    response.conference_create_response = ConferenceCreateResponse::new(NODE_ID, blocks)
        .map_err(|e| FrameError::Encode(e.to_string()))?;
    let body = encode_vec(&response).map_err(|e| FrameError::Encode(e.to_string()))?;
    x224_frame(body)
}

/// A fast-path output PDU (as [`crate::session::frame_len`] delimits it) opened with `security`
/// and framed again without encryption: the fpOutputHeader's action and reserved bits kept, its
/// flags cleared, the length recomputed (two bytes), then the updates.
pub fn open_fast_path_frame(
    security: &mut ClientSecurity,
    frame: &[u8],
) -> Result<(Vec<u8>, Opened), FrameError> {
    let opened = security.open_fast_path(frame)?;
    let header = frame.first().copied().unwrap_or(0) & 0x3F;
    let len = opened.data.len() + 3;
    // Two-byte PER length (2.2.9.1.2, length1 with the top bit set): at most 0x7FFF.
    let len = u16::try_from(len)
        .ok()
        .filter(|l| *l <= 0x7FFF)
        .ok_or_else(|| FrameError::Encode(format!("a fast-path PDU of {len} bytes")))?;
    let [hi, lo] = len.to_be_bytes();
    let mut plain = Vec::with_capacity(usize::from(len));
    plain.extend_from_slice(&[header, 0x80 | hi, lo]);
    plain.extend_from_slice(&opened.data);
    Ok((plain, opened))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcs;
    use crate::rdp_crypto::exchange::server_security_data;

    #[test]
    fn a_connect_initial_offers_the_methods_and_keeps_the_rest() {
        let none = mcs::connect_initial(mcs::method::NONE, 0).unwrap_or_default();
        let offered = offer_methods(&none, mcs::method::ALL)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(
            offered,
            mcs::connect_initial(mcs::method::ALL, 0).unwrap_or_default()
        );
        // Anything else is left alone.
        let cc = b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00";
        assert_eq!(offer_methods(cc, mcs::method::ALL), Ok(None));
    }

    #[test]
    fn an_encrypting_connect_response_reads_as_level_none_and_keeps_its_channels() {
        // xrdp at High, 128-bit RC4, recorded from the lab.
        let response = crate::mcs::tests::bytes(crate::mcs::tests::XRDP_HIGH);
        let real = server_security_data(&response).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(real.level, 0);
        let plain = without_security(&response).unwrap_or_else(|e| panic!("{e}"));
        let rewritten = server_security_data(&plain).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rewritten.level, rewritten.method), (0, 0));
        assert!(rewritten.certificate.is_empty());
        assert_eq!(rewritten.io_channel, real.io_channel);
        assert_eq!(rewritten.channels, real.channels);
        assert!(without_security(b"\x03\x00\x00\x09\x02\xf0\x80\x21\x80").is_err());
    }
}
