//! The PDUs around the security layer: the Client Security Exchange PDU (MS-RDPBCGR 2.2.1.10),
//! client slow-path PDUs framed in an MCS Send Data Request (3.2.5.1), and server slow-path PDUs
//! turned back into what they would be without encryption, so that [`crate::session::inspect`]
//! reads them as it reads any other.

use super::header::{
    SEC_AUTODETECT_REQ, SEC_EXCHANGE_PKT, SEC_HEARTBEAT, SEC_LICENSE_ENCRYPT, SEC_LICENSE_PKT,
    SEC_REDIRECTION_PKT, SEC_TRANSPORT_REQ,
};
use super::{ClientSecurity, CryptoError, Opened};
use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::mcs::{McsMessage, SendDataIndication, SendDataRequest};
use ironrdp_pdu::x224::X224;
use std::borrow::Cow;

/// Why a PDU could not be framed or unframed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("cannot encode an MCS Send Data Request: {0}")]
    Encode(String),
    #[error("not an MCS PDU: {0}")]
    NotMcs(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A client slow-path PDU: TPKT, X.224 Data, MCS Send Data Request from `initiator` (the user
/// channel) on `channel` (the I/O channel), carrying `user_data`.
pub fn send_data_request(
    initiator: u16,
    channel: u16,
    user_data: &[u8],
) -> Result<Vec<u8>, FrameError> {
    encode_vec(&X224(McsMessage::SendDataRequest(SendDataRequest {
        initiator_id: initiator,
        channel_id: channel,
        user_data: Cow::Borrowed(user_data),
    })))
    .map_err(|e| FrameError::Encode(e.to_string()))
}

/// The Client Security Exchange PDU (2.2.1.10): a Basic Security Header with SEC_EXCHANGE_PKT,
/// and SEC_LICENSE_ENCRYPT_SC when `license_encrypt` (the client decrypts encrypted licensing
/// PDUs, 3.2.5.3.10), the length of the encrypted random, and the encrypted random with its 8
/// bytes of padding ([`super::ServerPublicKey::encrypt_client_random`]).
pub fn security_exchange_pdu(
    initiator: u16,
    io_channel: u16,
    encrypted_random: &[u8],
    license_encrypt: bool,
) -> Result<Vec<u8>, FrameError> {
    let len = u32::try_from(encrypted_random.len())
        .map_err(|_| FrameError::Encode("encrypted random too long".into()))?;
    let mut data = Vec::with_capacity(8 + encrypted_random.len());
    let flags = if license_encrypt {
        SEC_EXCHANGE_PKT | SEC_LICENSE_ENCRYPT
    } else {
        SEC_EXCHANGE_PKT
    };
    data.extend_from_slice(&flags.to_le_bytes());
    data.extend_from_slice(&[0, 0]);
    data.extend_from_slice(&len.to_le_bytes());
    data.extend_from_slice(encrypted_random);
    send_data_request(initiator, io_channel, &data)
}

/// Security header flags of the server PDUs that keep a Basic Security Header when they travel
/// unencrypted (under Enhanced RDP Security too): licensing (2.2.1.12), redirection (2.2.13.1),
/// and the message channel's multitransport (2.2.15.1), auto-detect (2.2.14.3) and heartbeat
/// (2.2.16.1) PDUs.
const KEEPS_HEADER: u16 =
    SEC_LICENSE_PKT | SEC_REDIRECTION_PKT | SEC_TRANSPORT_REQ | SEC_AUTODETECT_REQ | SEC_HEARTBEAT;

/// A server slow-path frame (one TPKT) with its Standard RDP Security removed: a Send Data
/// Indication is opened with `security` and framed again, its licensing, redirection and message
/// channel PDUs with a Basic Security Header whose flags no longer say SEC_ENCRYPT (that is how
/// those PDUs travel unencrypted), every other PDU without a security header (as under Enhanced
/// RDP Security).
/// Any other MCS PDU is returned as it came. The [`Opened`] value says what the header held.
pub fn open_server_frame(
    security: &mut ClientSecurity,
    frame: &[u8],
) -> Result<(Vec<u8>, Option<Opened>), FrameError> {
    let sdi = match decode::<X224<McsMessage<'_>>>(frame) {
        Ok(X224(McsMessage::SendDataIndication(sdi))) => sdi,
        Ok(_) => return Ok((frame.to_vec(), None)),
        Err(e) => return Err(FrameError::NotMcs(e.to_string())),
    };
    let opened = security.open_slow_path(&sdi.user_data)?;
    let mut user_data = Vec::with_capacity(opened.data.len() + 4);
    if opened.flags & KEEPS_HEADER != 0 {
        let flags = opened.flags & !super::header::SEC_ENCRYPT;
        user_data.extend_from_slice(&flags.to_le_bytes());
        user_data.extend_from_slice(&[0, 0]);
    }
    user_data.extend_from_slice(&opened.data);
    let plain = encode_vec(&X224(McsMessage::SendDataIndication(SendDataIndication {
        initiator_id: sdi.initiator_id,
        channel_id: sdi.channel_id,
        user_data: Cow::Owned(user_data),
    })))
    .map_err(|e| FrameError::Encode(e.to_string()))?;
    Ok((plain, Some(opened)))
}

/// What the client needs from the Server MCS Connect Response (2.2.1.4) to run Standard RDP
/// Security and join its channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSecurityData {
    /// encryptionMethod and encryptionLevel of the Server Security Data (2.2.1.4.3), raw.
    pub method: u32,
    pub level: u32,
    /// serverRandom (absent at level None).
    pub server_random: Option<Vec<u8>>,
    /// serverCertificate, as sent.
    pub certificate: Vec<u8>,
    /// MCSChannelId of the Server Network Data (2.2.1.4.4): the I/O channel.
    pub io_channel: u16,
    /// The static virtual channels the server allocated.
    pub channels: Vec<u16>,
    /// MCSChannelId of the Server Message Channel Data (2.2.1.4.5), when the server created one.
    pub message_channel: Option<u16>,
}

/// Reads the Server Security and Network Data of one complete MCS Connect Response TPKT with
/// `ironrdp-pdu` (whose limits, listed in [`crate::mcs`], refuse only responses no real server
/// running Standard RDP Security sends: X.509 chains over 1 KiB are read by [`crate::mcs`] for the
/// diagnosis, not here).
pub fn server_security_data(frame: &[u8]) -> Result<ServerSecurityData, FrameError> {
    let X224(data) = decode::<X224<ironrdp_pdu::x224::X224Data<'_>>>(frame)
        .map_err(|e| FrameError::NotMcs(e.to_string()))?;
    let response = decode::<ironrdp_pdu::mcs::ConnectResponse>(&data.data)
        .map_err(|e| FrameError::NotMcs(format!("MCS Connect Response: {e}")))?;
    let blocks = response.conference_create_response.gcc_blocks();
    Ok(ServerSecurityData {
        method: blocks.security.encryption_method.bits(),
        level: crate::mcs::level_value(blocks.security.encryption_level),
        server_random: blocks.security.server_random.map(|r| r.to_vec()),
        certificate: blocks.security.server_cert.clone(),
        io_channel: blocks.network.io_channel,
        channels: blocks.network.channel_ids.clone(),
        message_channel: blocks
            .message_channel
            .as_ref()
            .map(|m| m.mcs_message_channel_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdp_crypto::{Method, Rc4Keys, SessionKeys};
    use crate::session::{inspect, ServerFrame};

    /// An encrypted licensing PDU (what a server sends after SEC_LICENSE_ENCRYPT_SC, MS-RDPBCGR
    /// 2.2.1.12) is framed again with its Basic Security Header, so `session::inspect` reads the
    /// License Error inside; an encrypted Set Error Info loses its security header.
    #[test]
    fn encrypted_server_pdus_are_framed_again_for_inspect() {
        let keys = SessionKeys::derive(Method::Rc4Bit128, &[3; 32], &[4; 32])
            .unwrap_or_else(|e| panic!("{e}"));
        let SessionKeys::Rc4 { method, keys: k } = &keys else {
            panic!("RC4 keys");
        };
        let server_keys = SessionKeys::Rc4 {
            method: *method,
            keys: Rc4Keys {
                mac: k.mac.clone(),
                encrypt: k.decrypt.clone(),
                decrypt: k.encrypt.clone(),
            },
        };
        let mut client = ClientSecurity::new(&keys, false);
        let mut server = ClientSecurity::new(&server_keys, false);
        let sdi = |user_data: Vec<u8>| {
            encode_vec(&X224(McsMessage::SendDataIndication(SendDataIndication {
                initiator_id: 1002,
                channel_id: 1003,
                user_data: Cow::Owned(user_data),
            })))
            .unwrap_or_default()
        };
        // ERROR_ALERT, STATUS_VALID_CLIENT, ST_NO_TRANSITION, empty blob (MS-RDPELE 2.2.2.7.1).
        let license = [0xFF, 0x03, 0x10, 0x00, 7, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0];
        let frame = sdi(server.seal(SEC_LICENSE_PKT | SEC_LICENSE_ENCRYPT, &license));
        let (plain, opened) =
            open_server_frame(&mut client, &frame).unwrap_or_else(|e| panic!("{e}"));
        assert!(opened.is_some_and(|o| o.was_encrypted));
        assert_eq!(
            inspect(&plain),
            ServerFrame::LicenseError {
                code: crate::session::STATUS_VALID_CLIENT,
                state_transition: 2
            }
        );
        // Share Control + Share Data headers with PDUTYPE2_SET_ERROR_INFO, errorInfo 0x904... 0x7.
        let error_info = [
            0x16, 0, 0x17, 0, 0xEA, 0x03, 0xEA, 0x03, 1, 0, 0, 1, 0x08, 0, 0x2F, 0, 0, 0, 7, 0, 0,
            0,
        ];
        let frame = sdi(server.seal(0, &error_info));
        let (plain, _) = open_server_frame(&mut client, &frame).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inspect(&plain), ServerFrame::SetErrorInfo { code: 7 });
    }
}
