//! X.224 connection initiation: the Client X.224 Connection Request with RDP_NEG_REQ
//! (MS-RDPBCGR 2.2.1.1, 2.2.1.1.1) and the Server X.224 Connection Confirm with RDP_NEG_RSP or
//! RDP_NEG_FAILURE (2.2.1.2, 2.2.1.2.1, 2.2.1.2.2).

use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::nego::{
    ConnectionConfirm, ConnectionRequest, NegoRequestData, RequestFlags, SecurityProtocol,
};
use ironrdp_pdu::x224::X224;

/// TPDU code of a Connection Confirm (X.224 / MS-RDPBCGR 2.2.1.2).
const CONNECTION_CONFIRM: u8 = 0xD0;
/// Fixed part of a Connection Confirm TPDU header: LI, code, dst-ref, src-ref, class.
const CC_FIXED_LEN: usize = 7;
/// RDP_NEG_RSP and RDP_NEG_FAILURE are both exactly 8 bytes (2.2.1.2.1, 2.2.1.2.2).
const NEG_DATA_LEN: usize = 8;

/// Why a request could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the X.224 Connection Request: {0}")]
pub struct EncodeError(String);

/// What a Connection Request carries before its RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1): the
/// `mstshash` cookie a client sends on a first connection, or the routing token a Connection
/// Broker handed out for the second leg after a redirection (MS-RDPBCGR 3.1.5.1, the
/// LoadBalanceInfo of the Server Redirection PDU, 2.2.13.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestCookie {
    /// `Cookie: mstshash=NAME\r\n`: servers ignore it, their traces show it.
    Name(String),
    /// `Cookie: msts=TOKEN\r\n`: the broker's routing token for this connection.
    RoutingToken(String),
}

/// Encodes a Connection Request carrying `cookie` and an RDP_NEG_REQ with `requested` as
/// requestedProtocols.
pub fn connection_request(requested: u32, cookie: &RequestCookie) -> Result<Vec<u8>, EncodeError> {
    let nego_data = match cookie {
        RequestCookie::Name(name) => NegoRequestData::cookie(name.clone()),
        RequestCookie::RoutingToken(token) => NegoRequestData::routing_token(token.clone()),
    };
    let request = ConnectionRequest {
        nego_data: Some(nego_data),
        flags: RequestFlags::empty(),
        protocol: SecurityProtocol::from_bits_retain(requested),
        correlation_info: None,
    };
    encode_vec(&X224(request)).map_err(|e| EncodeError(e.to_string()))
}

/// The meaning of one complete Connection Confirm packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// RDP_NEG_RSP: the protocol the server selected and its flags.
    Selected { protocol: u32, flags: u8 },
    /// RDP_NEG_FAILURE with its failureCode, kept raw so unknown codes survive.
    Failure { code: u32 },
    /// A Connection Confirm whose LI leaves no room for negotiation data.
    NoNegotiationData,
    /// Anything else, with the reason.
    Malformed(String),
}

/// Decodes one complete TPKT (as delimited by [`crate::tpkt::frame`]) as a Connection Confirm.
///
/// `ironrdp-pdu` decodes the RDP_NEG_RSP / RDP_NEG_FAILURE body, but it maps a Confirm without
/// negotiation data to "selected PROTOCOL_RDP" and does not check the length field, and a
/// diagnosis needs both distinctions (legacy servers and broken middleboxes look exactly like
/// that). So the TPDU header and the negotiation length are checked here first.
pub fn decode_connection_confirm(packet: &[u8]) -> Confirm {
    let Some(&li) = packet.get(4) else {
        return Confirm::Malformed("packet too short for an X.224 header".into());
    };
    let code = packet.get(5).copied().unwrap_or(0);
    if code & 0xF0 != CONNECTION_CONFIRM {
        return Confirm::Malformed(format!(
            "TPDU code 0x{code:02X} ({}) where a Connection Confirm (0xD0) was expected",
            tpdu_name(code)
        ));
    }
    let header_len = usize::from(li) + 1;
    if header_len < CC_FIXED_LEN || 4 + header_len > packet.len() {
        return Confirm::Malformed(format!(
            "length indicator {li} does not fit a {}-byte packet",
            packet.len()
        ));
    }
    let variable = header_len - CC_FIXED_LEN;
    if variable == 0 {
        return Confirm::NoNegotiationData;
    }
    if variable < NEG_DATA_LEN {
        return Confirm::Malformed(format!(
            "{variable} bytes of negotiation data, expected {NEG_DATA_LEN}"
        ));
    }
    let neg = &packet[4 + CC_FIXED_LEN..];
    let neg_len = neg.get(2..4).map(|b| u16::from_le_bytes([b[0], b[1]]));
    if neg_len != Some(NEG_DATA_LEN as u16) {
        return Confirm::Malformed(format!(
            "negotiation data announces length {}, expected {NEG_DATA_LEN}",
            neg_len.map_or_else(|| "?".to_string(), |l| l.to_string())
        ));
    }
    match decode::<X224<ConnectionConfirm>>(packet) {
        Ok(X224(ConnectionConfirm::Response { flags, protocol })) => Confirm::Selected {
            protocol: protocol.bits(),
            flags: flags.bits(),
        },
        Ok(X224(ConnectionConfirm::Failure { code })) => Confirm::Failure { code: code.into() },
        Err(e) => Confirm::Malformed(e.to_string()),
    }
}

fn tpdu_name(code: u8) -> &'static str {
    match code & 0xF0 {
        0xE0 => "Connection Request",
        0x80 => "Disconnect Request",
        0xF0 => "Data",
        0x70 => "Error",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(h: &str) -> Vec<u8> {
        hex::decode(h.replace(' ', "")).expect("test vector is hex")
    }

    #[test]
    fn request_matches_the_documented_example() {
        // An X.224 Connection Request with a cookie and an RDP_NEG_REQ for SSL|HYBRID: 43 bytes.
        let mut want = bytes("0300002b26e00000000000");
        want.extend_from_slice(b"Cookie: mstshash=probe\r\n");
        want.extend_from_slice(&bytes("0100080003000000"));
        let cookie = RequestCookie::Name("probe".into());
        assert_eq!(connection_request(3, &cookie).expect("encodes"), want);
    }

    #[test]
    fn a_routing_token_replaces_the_cookie() {
        // The second leg after a redirection: the broker's token (here in the IP.port.reserved
        // form load balancers use) where the cookie was (MS-RDPBCGR 2.2.1.1 routingToken).
        let line = b"Cookie: msts=3640205228.15629.0000\r\n";
        let mut want = vec![0x03, 0x00, 0x00, (4 + 7 + line.len() + 8) as u8];
        want.extend_from_slice(&bytes(&format!("{:02x}e00000000000", 6 + line.len() + 8)));
        want.extend_from_slice(line);
        want.extend_from_slice(&bytes("0100080003000000"));
        let token = RequestCookie::RoutingToken("3640205228.15629.0000".into());
        assert_eq!(connection_request(3, &token).expect("encodes"), want);
    }

    #[test]
    fn decodes_recorded_confirms() {
        // MS-RDPBCGR 2.2.1.2 (X.224 Connection Confirm) and its RDP_NEG_RSP / RDP_NEG_FAILURE forms.
        assert_eq!(
            decode_connection_confirm(&bytes(
                "030000130ed000001234000 21f080002000000"
                    .replace(' ', "")
                    .as_str()
            )),
            Confirm::Selected {
                protocol: 2,
                flags: 0x1f
            }
        );
        assert_eq!(
            decode_connection_confirm(&bytes("030000130ed00000123400030008000500000 0")),
            Confirm::Failure { code: 5 }
        );
        assert_eq!(
            decode_connection_confirm(&bytes("0300000b06d00000123400")),
            Confirm::NoNegotiationData
        );
        // Unknown failure codes are kept raw.
        assert_eq!(
            decode_connection_confirm(&bytes("030000130ed00000123400030008002a000000")),
            Confirm::Failure { code: 42 }
        );
    }

    #[test]
    fn decodes_confirms_recorded_from_the_lab_servers() {
        // lab/OBSERVED.md: xrdp 0.9.21 selecting SSL, freerdp-shadow 2.11 (src-ref 0) selecting
        // HYBRID with flags 0x03, and refusing with HYBRID_REQUIRED_BY_SERVER.
        assert_eq!(
            decode_connection_confirm(&bytes("030000130ed00000123400020108000100000 0")),
            Confirm::Selected {
                protocol: 1,
                flags: 0x01
            }
        );
        assert_eq!(
            decode_connection_confirm(&bytes("030000130ed00000000000020308000200000 0")),
            Confirm::Selected {
                protocol: 2,
                flags: 0x03
            }
        );
        assert_eq!(
            decode_connection_confirm(&bytes("030000130ed00000000000030008000500000 0")),
            Confirm::Failure { code: 5 }
        );
        // xrdp security_layer=tls: the failure, then an MCS Disconnect Provider Ultimatum in the
        // same read; framing hands over only the first TPKT.
        let both = bytes("030000130ed000001234000300080001000000 030000090 2f0802180");
        let crate::tpkt::Frame::Complete(len) = crate::tpkt::frame(&both) else {
            panic!("first TPKT is complete")
        };
        assert_eq!(
            decode_connection_confirm(&both[..len]),
            Confirm::Failure { code: 1 }
        );
    }

    #[test]
    fn rejects_malformed_confirms_without_panicking() {
        for h in [
            "0300000b",                                // header only
            "030000130e80000012340003000800050000 00", // Disconnect Request
            "030000130ed00000123400030009000500000 0", // negotiation length 9
            "030000130ed000001234000300",              // LI larger than the packet
            "0300000e09d000001234000300",              // 3 bytes of negotiation data
            "030000130ed00000123400090008000500000 0", // unknown message type 9
        ] {
            let b = bytes(h);
            assert!(
                matches!(decode_connection_confirm(&b), Confirm::Malformed(_)),
                "{h}: {:?}",
                decode_connection_confirm(&b)
            );
        }
    }
}
