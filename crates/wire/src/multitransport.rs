//! The server's offer of the RDP UDP transport inside a session (MS-RDPBCGR 1.3.1.1 step 8,
//! multitransport bootstrapping): the transport types of the Server Multitransport Channel Data
//! (2.2.1.4.6, answered to the client's 2.2.1.3.8) and the Initiate Multitransport Request PDU
//! (2.2.15.1) the server sends on the MCS message channel after licensing.
//!
//! The request is decoded with `ironrdp-pdu` (`rdp::multitransport`); this module finds it in a
//! server frame and keeps what a diagnosis reports: the request id and the protocol, never the
//! security cookie (it binds the UDP tunnel to this connection, MS-RDPEMT 2.2.2.1).

use ironrdp_core::decode;
use ironrdp_pdu::mcs::McsMessage;
use ironrdp_pdu::rdp::multitransport::{MultitransportRequestPdu, RequestedProtocol};
use ironrdp_pdu::x224::X224;

/// requestedProtocol of an Initiate Multitransport Request (2.2.15.1).
pub const PROTOCOL_UDPFECR: u16 = 0x0001;
pub const PROTOCOL_UDPFECL: u16 = 0x0002;

/// An Initiate Multitransport Request, without its security cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub request_id: u32,
    /// requestedProtocol, raw.
    pub protocol: u16,
}

/// The Initiate Multitransport Request a server frame carries (one TPKT, unencrypted: under
/// Standard RDP Security as the security layer hands it on), if it is one: a Send Data
/// Indication on `message_channel` (or any channel when it is unknown) whose Basic Security Header
/// says SEC_TRANSPORT_REQ.
pub fn request(frame: &[u8], message_channel: Option<u16>) -> Option<Request> {
    let X224(McsMessage::SendDataIndication(sdi)) = decode::<X224<McsMessage<'_>>>(frame).ok()?
    else {
        return None;
    };
    if message_channel.is_some_and(|c| c != sdi.channel_id) {
        return None;
    }
    let flags = crate::bytes::le_u16_at(&sdi.user_data, 0)?;
    if flags & crate::rdp_crypto::header::SEC_TRANSPORT_REQ == 0 {
        return None;
    }
    let pdu = decode::<MultitransportRequestPdu>(&sdi.user_data).ok()?;
    Some(Request {
        request_id: pdu.request_id,
        protocol: match pdu.requested_protocol {
            RequestedProtocol::UdpFecR => PROTOCOL_UDPFECR,
            RequestedProtocol::UdpFecL => PROTOCOL_UDPFECL,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_core::encode_vec;
    use ironrdp_pdu::mcs::SendDataIndication;
    use std::borrow::Cow;

    /// A Send Data Indication from the server (user 1002) on `channel`, built from the layout of
    /// MS-RDPBCGR 2.2.15.1: Basic Security Header (flags SEC_TRANSPORT_REQ 0x0002, flagsHi 0),
    /// requestId, requestedProtocol, reserved, securityCookie.
    fn initiate_request(channel: u16, flags: u16, protocol: u16) -> Vec<u8> {
        let mut user_data = Vec::new();
        user_data.extend_from_slice(&flags.to_le_bytes());
        user_data.extend_from_slice(&[0, 0]);
        user_data.extend_from_slice(&0x0000_0102u32.to_le_bytes());
        user_data.extend_from_slice(&protocol.to_le_bytes());
        user_data.extend_from_slice(&[0, 0]);
        user_data.extend_from_slice(&[0xC0; 16]);
        encode_vec(&X224(McsMessage::SendDataIndication(SendDataIndication {
            initiator_id: 1002,
            channel_id: channel,
            user_data: Cow::Owned(user_data),
        })))
        .unwrap_or_default()
    }

    #[test]
    fn an_initiate_multitransport_request_is_read_without_its_cookie() {
        let frame = initiate_request(1006, 0x0002, PROTOCOL_UDPFECR);
        assert_eq!(
            request(&frame, Some(1006)),
            Some(Request {
                request_id: 0x102,
                protocol: PROTOCOL_UDPFECR
            })
        );
        assert_eq!(
            request(&initiate_request(1006, 0x0002, PROTOCOL_UDPFECL), None).map(|r| r.protocol),
            Some(PROTOCOL_UDPFECL)
        );
        // Another channel, another flag, another protocol, or cut short: not a request.
        assert_eq!(request(&frame, Some(1003)), None);
        assert_eq!(
            request(&initiate_request(1006, 0x1000, PROTOCOL_UDPFECR), None),
            None
        );
        assert_eq!(request(&initiate_request(1006, 0x0002, 7), None), None);
        for cut in 0..frame.len() {
            let _ = request(frame.get(..cut).unwrap_or_default(), None);
        }
    }
}
