//! What a server sends after the MCS Connect Response, classified one frame at a time, so that a
//! full connection (`check --full`) can report the server's own codes with their exact numbers at
//! whatever phase they arrive.
//!
//! - Framing: slow-path TPKT (T.123) and fast-path output (MS-RDPBCGR 2.2.9.1.2), bounded.
//! - Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1): `errorInfo` is read here as a raw u32, because
//!   `ironrdp-pdu`'s `ServerSetErrorInfoPdu` decoder rejects codes it does not know and a
//!   diagnostic tool must keep them.
//! - MCS Disconnect Provider Ultimatum (T.125 DomainMCSPDU choice 8): decoded with `ironrdp-pdu`,
//!   with this module's own reading of the 3-bit reason when `ironrdp-pdu` refuses the value.
//! - Server Redirection PDU (MS-RDPBCGR 2.2.13.1, both security variants): `ironrdp-pdu`.
//! - Licensing error message (MS-RDPELE 2.2.2.7.1, bMsgType ERROR_ALERT 0xFF): read here.
//!   dwErrorCode 0x7 is STATUS_VALID_CLIENT, the normal "no licence needed" answer, not an error.
//! - Basic Security Header `flagsHi` (MS-RDPBCGR 2.2.8.1.1.2.1) is never trusted: it means nothing
//!   unless SEC_FLAGSHI_VALID is set in `flags`, and Windows fills it with whatever was in memory
//!   (0x0010 on 2000/XP/2003, arbitrary values over TLS). Licensing and Standard Security
//!   redirection PDUs are told from Share Control PDUs by their own structure instead.

use crate::bytes::{le_u16_at, le_u32_at};
use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::mcs::{DisconnectProviderUltimatum, DisconnectReason, McsMessage};
use ironrdp_pdu::rdp::server_redirection::decode_server_redirection;
use ironrdp_pdu::x224::{X224Data, X224};

/// The largest frame either framing can announce (TPKT: u16; fast-path: 15 bits).
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// PDUTYPE2_SET_ERROR_INFO_PDU (MS-RDPBCGR 2.2.8.1.1.1.2).
pub const PDUTYPE2_SET_ERROR_INFO: u8 = 0x2F;
/// Licensing bMsgType ERROR_ALERT (MS-RDPELE 2.2.2.7.1).
pub const LICENSE_ERROR_ALERT: u8 = 0xFF;
/// Licensing dwErrorCode STATUS_VALID_CLIENT: success (the client needs no licence).
pub const STATUS_VALID_CLIENT: u32 = 0x0000_0007;

/// Basic Security Header flags (MS-RDPBCGR 2.2.8.1.1.2.1).
const SEC_LICENSE_PKT: u16 = 0x0080;
const SEC_REDIRECTION_PKT: u16 = 0x0400;
/// Licensing preamble bMsgType values (MS-RDPELE 2.2.2.x), both directions.
const LICENSE_MSG_TYPES: [u8; 8] = [
    0x01,
    0x02,
    0x03,
    0x04,
    0x12,
    0x13,
    0x15,
    LICENSE_ERROR_ALERT,
];
/// Share Control Header pduType values (2.2.8.1.1.1.1), low 4 bits; the next 12 bits carry
/// TS_PROTOCOL_VERSION (0x1).
const PDUTYPE_DEMANDACTIVEPDU: u16 = 0x1;
const PDUTYPE_DEACTIVATEALLPDU: u16 = 0x6;
const PDUTYPE_DATAPDU: u16 = 0x7;
const PDUTYPE_SERVER_REDIR_PKT: u16 = 0xA;
const TS_PROTOCOL_VERSION_BITS: u16 = 0x0010;
/// compressedType flag PACKET_COMPRESSED (2.2.8.1.1.1.2).
const PACKET_COMPRESSED: u8 = 0x20;

/// How the first frame in a buffer is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameLen {
    /// At least this many bytes in total are needed.
    NeedMore(usize),
    /// The first frame is complete and this long.
    Complete(usize),
    /// Neither a TPKT nor a fast-path header.
    Invalid,
}

/// Delimits the first frame of `buf`: a TPKT (first byte 3) or a fast-path output PDU (action
/// bits 0, length in one or two bytes, MS-RDPBCGR 2.2.9.1.2).
pub fn frame_len(buf: &[u8]) -> FrameLen {
    let done = |len: usize| {
        if buf.len() >= len {
            FrameLen::Complete(len)
        } else {
            FrameLen::NeedMore(len)
        }
    };
    match buf {
        [] => FrameLen::NeedMore(1),
        [3, ..] => match crate::tpkt::frame(buf) {
            crate::tpkt::Frame::NeedMore(n) => FrameLen::NeedMore(n),
            crate::tpkt::Frame::Complete(n) => FrameLen::Complete(n),
            _ => FrameLen::Invalid,
        },
        [h, ..] if h & 0x03 != 0 => FrameLen::Invalid,
        [_] => FrameLen::NeedMore(2),
        [_, l1, ..] if l1 & 0x80 == 0 => {
            let len = usize::from(*l1);
            if len < 2 {
                FrameLen::Invalid
            } else {
                done(len)
            }
        }
        [_, _] => FrameLen::NeedMore(3),
        [_, l1, l2, ..] => {
            let len = (usize::from(l1 & 0x7F) << 8) | usize::from(*l2);
            if len < 3 {
                FrameLen::Invalid
            } else {
                done(len)
            }
        }
    }
}

/// A Server Redirection PDU's fields that matter to a diagnosis and to following it (never the
/// password cookie, which is dropped as soon as the PDU is decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirection {
    pub session_id: u32,
    /// RedirFlags, raw.
    pub flags: u32,
    /// The target as the server named it: FQDN, else NetBIOS name, else address(es).
    pub target: Option<String>,
    /// Whether a load-balancing token (routing token for the next request) came with it.
    pub load_balance_info: bool,
    pub username: Option<String>,
    pub domain: Option<String>,
    /// LoadBalanceInfo, raw: the routing token the client's next X.224 request carries.
    pub load_balance: Option<Vec<u8>>,
    /// TargetNetAddress, then every TargetNetAddresses entry (2.2.13.1.1), in the server's order.
    pub addresses: Vec<String>,
    /// TargetFQDN.
    pub fqdn: Option<String>,
    /// TargetNetBiosName.
    pub netbios: Option<String>,
}

/// RedirFlags LB_NOREDIRECT (MS-RDPBCGR 2.2.13.1): reconnect to the same server, with the token.
pub const LB_NOREDIRECT: u32 = 0x0000_0080;

impl Redirection {
    fn from_pdu(r: ironrdp_pdu::rdp::server_redirection::ServerRedirectionPdu) -> Redirection {
        let clean =
            |t: &String| Some(t.trim_end_matches('\0').to_string()).filter(|t| !t.is_empty());
        let fqdn = r.target_fqdn.as_ref().and_then(clean);
        let netbios = r.target_netbios_name.as_ref().and_then(clean);
        let mut addresses: Vec<String> = r.target_net_address.iter().filter_map(clean).collect();
        for a in r.target_net_addresses.iter().flatten().filter_map(clean) {
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        let target = fqdn
            .clone()
            .or_else(|| netbios.clone())
            .or_else(|| Some(addresses.join(", ")).filter(|a| !a.is_empty()));
        Redirection {
            session_id: r.session_id,
            flags: r.flags.bits(),
            target,
            load_balance_info: r.load_balance_info.is_some(),
            username: r.username,
            domain: r.domain,
            load_balance: r.load_balance_info,
            addresses,
            fqdn,
            netbios,
        }
    }
}

/// The meaning of one server frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerFrame {
    /// A fast-path output PDU (updates: the session is up).
    FastPath,
    /// Set Error Info PDU, errorInfo raw.
    SetErrorInfo {
        code: u32,
    },
    /// MCS Disconnect Provider Ultimatum with its T.125 reason (3 is rn-user-requested).
    Ultimatum {
        reason: u8,
    },
    Redirection(Redirection),
    /// Licensing error message: dwErrorCode and dwStateTransition raw.
    LicenseError {
        code: u32,
        state_transition: u32,
    },
    /// Another licensing PDU (bMsgType raw: 0x01 LICENSE_REQUEST, 0x02 PLATFORM_CHALLENGE, ...).
    License {
        msg_type: u8,
    },
    DemandActive,
    DeactivateAll,
    /// Another Share Data PDU (pduType2 raw).
    Data {
        pdu_type2: u8,
    },
    /// Another MCS PDU (Connect Response, Attach User Confirm, Channel Join Confirm, ...).
    Mcs,
    /// Data this module does not classify (virtual channel traffic, compressed data, ...).
    Other,
    /// Not a valid X.224 Data TPDU.
    Malformed(String),
}

/// Classifies one complete frame as delimited by [`frame_len`].
pub fn inspect(frame: &[u8]) -> ServerFrame {
    if frame.first() != Some(&3) {
        return ServerFrame::FastPath;
    }
    let payload = match decode::<X224<X224Data<'_>>>(frame) {
        Ok(X224(d)) => d.data.into_owned(),
        Err(e) => return ServerFrame::Malformed(format!("not an X.224 Data TPDU: {e}")),
    };
    // An MCS Connect-Response (BER, application tag 102) is not a DomainMCSPDU.
    if payload.starts_with(&[0x7F, 0x66]) {
        return ServerFrame::Mcs;
    }
    match decode::<X224<McsMessage<'_>>>(frame) {
        Ok(X224(McsMessage::SendDataIndication(sdi))) => user_data(&sdi.user_data),
        Ok(X224(McsMessage::DisconnectProviderUltimatum(u))) => ServerFrame::Ultimatum {
            reason: reason_value(u.reason),
        },
        Ok(_) => ServerFrame::Mcs,
        Err(e) => match payload.as_slice() {
            // DomainMCSPDU choice 8 with a reason ironrdp-pdu does not know: read it raw (6 bits
            // of choice, then the 3-bit reason across the byte boundary).
            [first, second, ..] if first >> 2 == 8 => ServerFrame::Ultimatum {
                reason: ((first & 0x03) << 1) | (second >> 7),
            },
            _ => ServerFrame::Malformed(format!("MCS PDU not understood: {e}")),
        },
    }
}

fn reason_value(r: DisconnectReason) -> u8 {
    match r {
        DisconnectReason::DomainDisconnected => 0,
        DisconnectReason::ProviderInitiated => 1,
        DisconnectReason::TokenPurged => 2,
        DisconnectReason::UserRequested => 3,
        DisconnectReason::ChannelPurged => 4,
    }
}

/// The user data of a Send Data Indication.
fn user_data(d: &[u8]) -> ServerFrame {
    // Licensing first: a flagsHi of 0x0010 (Windows 2000/XP/2003) would otherwise read as a
    // Share Control Header with TS_PROTOCOL_VERSION.
    if let Some(frame) = licensing(d) {
        return frame;
    }
    let redirection = match standard_redirection_flags_hi_cleared(d)
        .or_else(|| enhanced_redirection_version_cleared(d))
    {
        Some(cleared) => decode_server_redirection(&cleared),
        None => decode_server_redirection(d),
    };
    if let Ok(Some(r)) = redirection {
        return ServerFrame::Redirection(Redirection::from_pdu(r));
    }
    let (Some(first), Some(second)) = (le_u16_at(d, 0), le_u16_at(d, 2)) else {
        return ServerFrame::Other;
    };
    if (second == 0 && first & SEC_REDIRECTION_PKT != 0) || redirection_packet(d) {
        // A redirection packet ironrdp-pdu could not read.
        return ServerFrame::Malformed("a Server Redirection PDU that does not decode".into());
    }
    if second & 0xFFF0 == TS_PROTOCOL_VERSION_BITS {
        return share_control(d, second & 0x000F);
    }
    ServerFrame::Other
}

/// A licensing PDU (MS-RDPELE 2.2.2): a Basic Security Header with SEC_LICENSE_PKT, then the
/// preamble (bMsgType, flags, wMsgSize) and the message.
///
/// `flagsHi` is not read (2.2.8.1.1.2.1). When it is zero the header cannot be a Share Control
/// Header (pduType 0 does not exist), as before; when it is not, the preamble must hold together:
/// a known bMsgType and a wMsgSize that spans exactly the rest of the PDU. A Share Control PDU has
/// pduSource (a channel id such as 0x03EA) and shareId there, which do not.
fn licensing(d: &[u8]) -> Option<ServerFrame> {
    let flags = le_u16_at(d, 0)?;
    let flags_hi = le_u16_at(d, 2)?;
    if flags & SEC_LICENSE_PKT == 0 {
        return None;
    }
    let msg_type = *d.get(4)?;
    let consistent = LICENSE_MSG_TYPES.contains(&msg_type)
        && le_u16_at(d, 6).map(usize::from) == d.len().checked_sub(4);
    if flags_hi != 0 && !consistent {
        return None;
    }
    if msg_type == LICENSE_ERROR_ALERT {
        if let (Some(code), Some(state_transition)) = (le_u32_at(d, 8), le_u32_at(d, 12)) {
            return Some(ServerFrame::LicenseError {
                code,
                state_transition,
            });
        }
    }
    Some(ServerFrame::License { msg_type })
}

/// Whether `d` is shaped like a Standard Security Server Redirection PDU (2.2.13.2.1): a Basic
/// Security Header with SEC_REDIRECTION_PKT, then an RDP_SERVER_REDIRECTION_PACKET whose own
/// `Flags` is SEC_REDIRECTION_PKT and whose `Length` fits in what follows the header.
fn redirection_packet(d: &[u8]) -> bool {
    let (Some(flags), Some(packet_flags), Some(length)) =
        (le_u16_at(d, 0), le_u16_at(d, 4), le_u16_at(d, 6))
    else {
        return false;
    };
    flags & SEC_REDIRECTION_PKT != 0
        && packet_flags == SEC_REDIRECTION_PKT
        && usize::from(length) <= d.len().saturating_sub(4)
}

/// A copy of a Standard Security Server Redirection PDU with `flagsHi` set to zero, when `d` is
/// one whose `flagsHi` is not zero.
///
/// `ironrdp-pdu`'s `decode_server_redirection` takes a non-zero second word for a Share Control
/// Header (it assumes flagsHi is always 0) and so returns "not a redirection" for the Standard
/// Security variant from a server that puts garbage in flagsHi, as Windows does. flagsHi carries
/// nothing this decoder uses (2.2.8.1.1.2.1), so clearing it changes no decoded field.
fn standard_redirection_flags_hi_cleared(d: &[u8]) -> Option<Vec<u8>> {
    if le_u16_at(d, 2)? == 0 || !redirection_packet(d) {
        return None;
    }
    let mut copy = d.to_vec();
    copy.get_mut(2..4)?.fill(0);
    Some(copy)
}

/// A copy of an Enhanced Security Server Redirection PDU (2.2.13.3.1) with the version bits of
/// its Share Control Header's pduType cleared, when `d` is one that sets them.
///
/// Windows brokers (and the lab's broker stand-in, which xfreerdp 2.11 follows) send pduType
/// 0x001A: PDUTYPE_SERVER_REDIR_PKT with TS_PROTOCOL_VERSION in the version bits, as every other
/// Share Control PDU carries it (2.2.8.1.1.1.1). `ironrdp-pdu` 0.11 accepts this one PDU only with
/// a version of zero and otherwise fails with "invalid `pdu_version`"; the version carries nothing
/// the decoder uses, so clearing it changes no decoded field.
fn enhanced_redirection_version_cleared(d: &[u8]) -> Option<Vec<u8>> {
    if le_u16_at(d, 2)? != TS_PROTOCOL_VERSION_BITS | PDUTYPE_SERVER_REDIR_PKT {
        return None;
    }
    let mut copy = d.to_vec();
    copy.get_mut(2..4)?
        .copy_from_slice(&PDUTYPE_SERVER_REDIR_PKT.to_le_bytes());
    Some(copy)
}

/// A Share Control PDU (2.2.8.1.1.1.1) of `pdu_type`.
fn share_control(d: &[u8], pdu_type: u16) -> ServerFrame {
    match pdu_type {
        PDUTYPE_DEMANDACTIVEPDU => ServerFrame::DemandActive,
        PDUTYPE_DEACTIVATEALLPDU => ServerFrame::DeactivateAll,
        PDUTYPE_DATAPDU => {
            // Share Data Header after the 6-byte Share Control Header: shareId (4), pad1,
            // streamId, uncompressedLength (2), pduType2, compressedType, compressedLength (2).
            let (Some(&pdu_type2), Some(&compressed)) = (d.get(14), d.get(15)) else {
                return ServerFrame::Other;
            };
            if compressed & PACKET_COMPRESSED != 0 {
                return ServerFrame::Data { pdu_type2 };
            }
            if pdu_type2 == PDUTYPE2_SET_ERROR_INFO {
                if let Some(code) = le_u32_at(d, 18) {
                    return ServerFrame::SetErrorInfo { code };
                }
            }
            ServerFrame::Data { pdu_type2 }
        }
        _ => ServerFrame::Other,
    }
}

/// The client's MCS Disconnect Provider Ultimatum (rn-user-requested): how a client ends a
/// connection politely.
pub fn disconnect_request() -> Vec<u8> {
    encode_vec(&X224(McsMessage::DisconnectProviderUltimatum(
        DisconnectProviderUltimatum {
            reason: DisconnectReason::UserRequested,
        },
    )))
    .unwrap_or_else(|_| vec![0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x21, 0x80])
}

/// A Refresh Rect PDU (MS-RDPBCGR 2.2.11.2) asking for the whole `width` x `height` desktop:
/// Share Data PDU type 0x21 in a Share Control header from `user_channel` with `share_id`, in
/// an MCS Send Data Request on `io_channel`. A server that supports it (General Capability Set
/// refreshRectSupport) answers with the graphics of that area.
pub fn refresh_rect(
    user_channel: u16,
    io_channel: u16,
    share_id: u32,
    width: u16,
    height: u16,
) -> Option<Vec<u8>> {
    use ironrdp_pdu::geometry::InclusiveRectangle;
    use ironrdp_pdu::rdp::headers::{encode_share_data, ShareDataPdu};
    use ironrdp_pdu::rdp::refresh_rectangle::RefreshRectanglePdu;
    let pdu = ShareDataPdu::RefreshRectangle(RefreshRectanglePdu {
        areas_to_refresh: vec![InclusiveRectangle {
            left: 0,
            top: 0,
            right: width.saturating_sub(1),
            bottom: height.saturating_sub(1),
        }],
    });
    let mut buf = ironrdp_core::WriteBuf::new();
    encode_share_data(user_channel, io_channel, share_id, pdu, &mut buf).ok()?;
    Some(buf.filled().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(h: &str) -> Vec<u8> {
        hex::decode(h.replace(' ', "")).unwrap_or_default()
    }

    /// Set Error Info PDU errorInfo 0x7 as lab/standin.py `errorinfo` sends it, recorded from
    /// the wire (TPKT, X.224 DT, MCS SDin from user 1002 on the I/O channel 1003, Share Control
    /// header, Share Data header with pduType2 47, errorInfo).
    const SET_ERROR_INFO_7: &str =
        "0300002402f08068000103eb701616001700ea03ea0301000001 0800 2f00 0000 07000000";
    /// The same PDU with a code no table knows: kept raw.
    const SET_ERROR_INFO_UNKNOWN: &str =
        "0300002402f08068000103eb701616001700ea03ea0301000001 0800 2f00 0000 78563412";
    /// MCS Disconnect Provider Ultimatum rn-user-requested, as xrdp-tls-only sends it after
    /// RDP_NEG_FAILURE (lab/OBSERVED.md).
    const DPUM_USER_REQUESTED: &str = "0300000902f0802180";

    #[test]
    fn frames_tpkt_and_fast_path() {
        assert_eq!(frame_len(&[]), FrameLen::NeedMore(1));
        assert_eq!(frame_len(&bytes("030000")), FrameLen::NeedMore(4));
        assert_eq!(
            frame_len(&bytes(DPUM_USER_REQUESTED)),
            FrameLen::Complete(9)
        );
        // Fast-path, one-byte and two-byte lengths.
        assert_eq!(frame_len(&[0x00, 0x05, 1, 2, 3]), FrameLen::Complete(5));
        assert_eq!(frame_len(&[0x00, 0x05, 1]), FrameLen::NeedMore(5));
        assert_eq!(frame_len(&[0x00, 0x81, 0x00]), FrameLen::NeedMore(256));
        assert_eq!(frame_len(&[0x00, 0x01]), FrameLen::Invalid);
        assert_eq!(frame_len(b"SSH-2.0"), FrameLen::Invalid);
    }

    #[test]
    fn reads_set_error_info_raw() {
        assert_eq!(
            inspect(&bytes(SET_ERROR_INFO_7)),
            ServerFrame::SetErrorInfo { code: 7 }
        );
        assert_eq!(
            inspect(&bytes(SET_ERROR_INFO_UNKNOWN)),
            ServerFrame::SetErrorInfo { code: 0x1234_5678 }
        );
    }

    #[test]
    fn reads_disconnect_provider_ultimatum() {
        assert_eq!(
            inspect(&bytes(DPUM_USER_REQUESTED)),
            ServerFrame::Ultimatum { reason: 3 }
        );
        // rn-provider-initiated.
        assert_eq!(
            inspect(&bytes("0300000902f0802080")),
            ServerFrame::Ultimatum { reason: 1 }
        );
        assert_eq!(disconnect_request(), bytes(DPUM_USER_REQUESTED));
    }

    #[test]
    fn encodes_a_refresh_rect_for_the_whole_desktop() {
        let pdu = refresh_rect(1007, 1003, 0x0001_03EA, 1024, 768).unwrap_or_default();
        // TPKT (44), X.224 DT, MCS Send Data Request (initiator 1007 = 1001 + 6, channel 1003,
        // 30 bytes), Share Control header (30 bytes, PDUTYPE_DATAPDU | TS_PROTOCOL_VERSION,
        // pduSource 1007, shareId), Share Data header (STREAM_MED, pduType2 0x21
        // PDUTYPE2_REFRESH_RECT, uncompressed), numberOfAreas 1, pad, one TS_RECTANGLE16
        // 0,0 .. 1023,767 (inclusive).
        assert_eq!(
            hex::encode(&pdu),
            "0300002c02f08064000603eb701e1e001700ef03ea03010000020c00210000000100000000000000ff03ff02"
        );
        assert_eq!(frame_len(&pdu), FrameLen::Complete(pdu.len()));
    }

    #[test]
    fn reads_licensing_error_alert_and_keeps_status_valid_client_raw() {
        // xrdp's licensing answer: SEC_LICENSE_PKT, ERROR_ALERT, STATUS_VALID_CLIENT,
        // ST_NO_TRANSITION, empty error blob.
        let valid = "0300002202f08068000103eb70148000000 0ff031000 07000000 02000000 0400 0000";
        assert_eq!(
            inspect(&bytes(valid)),
            ServerFrame::LicenseError {
                code: STATUS_VALID_CLIENT,
                state_transition: 2
            }
        );
        let no_server = "0300002202f08068000103eb70148000000 0ff031000 06000000 01000000 0400 0000";
        assert_eq!(
            inspect(&bytes(no_server)),
            ServerFrame::LicenseError {
                code: 6,
                state_transition: 1
            }
        );
    }

    #[test]
    fn share_control_lengths_with_the_license_bit_stay_share_control() {
        // A 128-byte Demand Active: totalLength 0x0080 looks like SEC_LICENSE_PKT, and the
        // pduType word like a non-zero flagsHi; pduSource 0x03EA is no licensing preamble.
        let mut d = vec![0u8; 0x80];
        d[..6].copy_from_slice(&[0x80, 0x00, 0x11, 0x00, 0xEA, 0x03]);
        assert_eq!(user_data(&d), ServerFrame::DemandActive);
        // The same header over a consistent preamble is a licensing PDU whatever flagsHi says.
        let mut l = vec![0u8; 0x14];
        l[..8].copy_from_slice(&[0x80, 0x00, 0x11, 0x00, 0x02, 0x03, 0x10, 0x00]);
        assert_eq!(user_data(&l), ServerFrame::License { msg_type: 0x02 });
    }

    #[test]
    fn reads_enhanced_security_server_redirection() {
        // Share Control Header type 10, pad2Octets, then the
        // RDP_SERVER_REDIRECTION_PACKET: flags 0x0400, length, session 5, RedirFlags
        // LB_TARGET_NET_ADDRESS, TargetNetAddress "10.0.0.9" (UTF-16LE with terminator).
        let addr: Vec<u8> = "10.0.0.9\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut packet = Vec::new();
        packet.extend_from_slice(&0x0400u16.to_le_bytes());
        let plen = 2 + 2 + 4 + 4 + 4 + addr.len() + 8;
        packet.extend_from_slice(&(plen as u16).to_le_bytes());
        packet.extend_from_slice(&5u32.to_le_bytes());
        packet.extend_from_slice(&1u32.to_le_bytes());
        packet.extend_from_slice(&(addr.len() as u32).to_le_bytes());
        packet.extend_from_slice(&addr);
        packet.extend_from_slice(&[0; 8]);
        let mut user = Vec::new();
        let total = 6 + 2 + packet.len() + 1;
        user.extend_from_slice(&(total as u16).to_le_bytes());
        // PDUTYPE_SERVER_REDIR_PKT with PDUVersion 0 (2.2.13.3.1).
        user.extend_from_slice(&0x000Au16.to_le_bytes());
        user.extend_from_slice(&1002u16.to_le_bytes());
        user.extend_from_slice(&[0, 0]);
        user.extend_from_slice(&packet);
        user.push(0);
        match user_data(&user) {
            ServerFrame::Redirection(r) => {
                assert_eq!(r.session_id, 5);
                assert_eq!(r.flags, 1);
                assert_eq!(r.target.as_deref(), Some("10.0.0.9"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// lab/broker.py's Enhanced Security Server Redirection PDUs (share control pduType 0x001A,
    /// as Windows sends it), as the stand-in writes them: lb-info mode for 127.0.0.1:26395
    /// (redirFlags 0x3, TargetNetAddress and the routing token), and the unreachable broker
    /// (0x301: 198.18.99.10, FQDN rdsh-internal.lab.invalid, NetBIOS RDSH-INTERNAL).
    const BROKER_LB_INFO: &str = "0300006702f08068000103eb705959001a00ea030000000451000000000003000000140000003100320037002e0030002e0030002e003100000021000000436f6f6b69653a206d7374733d31363737373334332e373031352e303030300d0a0000000000000000";
    const BROKER_UNREACHABLE: &str = "030000a102f08068000103eb70809292001a00ea03000000048a0000000000010300001a0000003100390038002e00310038002e00390039002e003100300000003400000072006400730068002d0069006e007400650072006e0061006c002e006c00610062002e0069006e00760061006c006900640000001c00000052004400530048002d0049004e005400450052004e0041004c0000000000000000000000";

    #[test]
    fn reads_the_brokers_redirection_with_the_protocol_version_set() {
        let ServerFrame::Redirection(r) = inspect(&bytes(BROKER_LB_INFO)) else {
            panic!("{:?}", inspect(&bytes(BROKER_LB_INFO)));
        };
        assert_eq!(r.flags, 0x3);
        assert_eq!(r.addresses, vec!["127.0.0.1".to_string()]);
        assert_eq!(
            r.load_balance.as_deref(),
            Some(&b"Cookie: msts=16777343.7015.0000\r\n"[..])
        );
        assert!(r.load_balance_info && r.fqdn.is_none() && r.netbios.is_none());
        let ServerFrame::Redirection(u) = inspect(&bytes(BROKER_UNREACHABLE)) else {
            panic!("{:?}", inspect(&bytes(BROKER_UNREACHABLE)));
        };
        assert_eq!(u.flags, 0x301);
        assert_eq!(u.addresses, vec!["198.18.99.10".to_string()]);
        assert_eq!(u.fqdn.as_deref(), Some("rdsh-internal.lab.invalid"));
        assert_eq!(u.netbios.as_deref(), Some("RDSH-INTERNAL"));
        assert_eq!(u.target.as_deref(), Some("rdsh-internal.lab.invalid"));
        assert!(u.load_balance.is_none());
    }

    #[test]
    fn connect_response_and_garbage_are_not_errors_in_disguise() {
        assert_eq!(inspect(&bytes("0300000b02f0807f660100")), ServerFrame::Mcs);
        assert!(matches!(
            inspect(&bytes("0300000702e000")),
            ServerFrame::Malformed(_)
        ));
        assert_eq!(inspect(&[0x00, 0x03, 0x00]), ServerFrame::FastPath);
    }
}
