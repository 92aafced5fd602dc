//! The tunnel packets of the RD Gateway HTTP transport (MS-TSGU 2.2.10): what a client sends
//! (handshake, tunnel create, tunnel authorization, channel create, data, keepalive, close) and
//! what a gateway answers, plus [`PacketReader`], which cuts a byte stream into packets.
//!
//! Every packet starts with HTTP_PACKET_HEADER (2.2.10.9): packetType u16, reserved u16,
//! packetLength u32 (the whole packet, header included), little-endian. The gateway's packets are
//! untrusted: every field is read with a bound check, a length below the header's own 8 bytes is
//! an error (ironrdp-mstsgu 0.1.0 subtracts there without a check and panics in debug builds),
//! and no packet larger than [`MAX_PACKET`] is buffered.

use crate::bytes::{array_at, le_u16_at, le_u32_at};

/// HTTP_PACKET_HEADER size (MS-TSGU 2.2.10.9).
pub const HEADER_LEN: usize = 8;
/// The largest packet [`PacketReader`] buffers. A gateway's largest packet is a tunnel response
/// with a consent message and a certificate (two u16-sized strings, 2.2.10.21): well below this.
pub const MAX_PACKET: usize = 256 * 1024;
/// The most payload one data packet carries (cbDataLen is a u16, 2.2.10.6). Writers split at
/// [`DATA_CHUNK`].
pub const MAX_DATA: usize = u16::MAX as usize;
/// What a writer puts in one data packet: one TLS record's worth, as clients do.
pub const DATA_CHUNK: usize = 16 * 1024;

/// HTTP_PACKET_TYPE (MS-TSGU 2.2.5.3.3).
pub mod kind {
    pub const HANDSHAKE_REQUEST: u16 = 0x1;
    pub const HANDSHAKE_RESPONSE: u16 = 0x2;
    pub const EXTENDED_AUTH_MSG: u16 = 0x3;
    pub const TUNNEL_CREATE: u16 = 0x4;
    pub const TUNNEL_RESPONSE: u16 = 0x5;
    pub const TUNNEL_AUTH: u16 = 0x6;
    pub const TUNNEL_AUTH_RESPONSE: u16 = 0x7;
    pub const CHANNEL_CREATE: u16 = 0x8;
    pub const CHANNEL_RESPONSE: u16 = 0x9;
    pub const DATA: u16 = 0xA;
    pub const SERVICE_MESSAGE: u16 = 0xB;
    pub const REAUTH_MESSAGE: u16 = 0xC;
    pub const KEEPALIVE: u16 = 0xD;
    pub const CLOSE_CHANNEL: u16 = 0x10;
    pub const CLOSE_CHANNEL_RESPONSE: u16 = 0x11;
}

/// HTTP_EXTENDED_AUTH (MS-TSGU 2.2.5.3.2): what the handshake asks for besides HTTP logon.
pub mod extended_auth {
    pub const NONE: u16 = 0x0;
    pub const SMART_CARD: u16 = 0x1;
    /// Pluggable authentication: a cookie in the tunnel create packet.
    pub const PAA: u16 = 0x2;
    pub const SSPI_NTLM: u16 = 0x4;
}

/// HTTP_CAPABILITY_TYPE (MS-TSGU 2.2.5.3.6).
pub mod capability {
    pub const QUAR_SOH: u32 = 0x1;
    pub const IDLE_TIMEOUT: u32 = 0x2;
    pub const MESSAGING_CONSENT_SIGN: u32 = 0x4;
    pub const MESSAGING_SERVICE_MSG: u32 = 0x8;
    pub const REAUTH: u32 = 0x10;
    pub const UDP_TRANSPORT: u32 = 0x20;
}

/// The capabilities this client offers in its tunnel create: the idle timeout (so the
/// authorization response says it), consent and service messages (so they are recorded). Not
/// QUAR_SOH: a gateway with a health policy would then expect a statement of health this client
/// cannot produce; not REAUTH or UDP, which a probe does not do.
pub const CLIENT_CAPABILITIES: u32 = capability::IDLE_TIMEOUT
    | capability::MESSAGING_CONSENT_SIGN
    | capability::MESSAGING_SERVICE_MSG;

/// The protocol field of the channel create packet: 3 is RDP over TCP (MS-TSGU 2.2.10.2).
pub const PROTOCOL_RDP: u16 = 3;

/// Fields-present flags of the answers (MS-TSGU 2.2.5.3.1, 2.2.5.3.5, 2.2.5.3.8) and of the
/// tunnel create packet (2.2.5.3.7).
mod fields {
    pub const CHANNEL_CHANNELID: u16 = 0x1;
    pub const CHANNEL_AUTHNCOOKIE: u16 = 0x2;
    pub const CHANNEL_UDPPORT: u16 = 0x4;
    pub const AUTH_REDIR_FLAGS: u16 = 0x1;
    pub const AUTH_IDLE_TIMEOUT: u16 = 0x2;
    pub const AUTH_SOH_RESPONSE: u16 = 0x4;
    pub const TUNNEL_TUNNEL_ID: u16 = 0x1;
    pub const TUNNEL_CAPS: u16 = 0x2;
    pub const TUNNEL_SOH_REQ: u16 = 0x4;
    pub const TUNNEL_CONSENT_MSG: u16 = 0x10;
    pub const CREATE_PAA_COOKIE: u16 = 0x1;
}

/// Why a packet could not be built or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("a tunnel packet header says {length} bytes, less than the header's own 8")]
    LengthBelowHeader { length: u32 },
    #[error("a tunnel packet of {length} bytes (type 0x{kind:X}) is larger than the {MAX_PACKET}-byte bound")]
    TooLarge { kind: u16, length: u32 },
    #[error("{packet} is {have} bytes; its fields need {need}")]
    Truncated {
        packet: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{what} is {len} bytes long; the packet's u16 length field holds at most 65535")]
    FieldTooLong { what: &'static str, len: usize },
    #[error("a channel create needs at least one target name")]
    NoResource,
}

/// One packet: the header's type and the bytes after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPacket {
    pub kind: u16,
    pub body: Vec<u8>,
}

/// Cuts a byte stream (the OUT channel's body, or the payloads of WebSocket frames) into
/// packets. Bounded: a header announcing more than [`MAX_PACKET`] is an error before any of it is
/// buffered.
#[derive(Debug, Default)]
pub struct PacketReader {
    buf: Vec<u8>,
}

impl PacketReader {
    pub fn new() -> PacketReader {
        PacketReader::default()
    }

    /// Appends bytes that arrived.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered that are not yet a whole packet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, if one is buffered.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket>, PacketError> {
        let (Some(kind), Some(length)) = (le_u16_at(&self.buf, 0), le_u32_at(&self.buf, 4)) else {
            return Ok(None);
        };
        let len = usize::try_from(length).unwrap_or(usize::MAX);
        if len < HEADER_LEN {
            return Err(PacketError::LengthBelowHeader { length });
        }
        if len > MAX_PACKET {
            return Err(PacketError::TooLarge { kind, length });
        }
        if self.buf.len() < len {
            return Ok(None);
        }
        let rest = self.buf.split_off(len);
        let mut packet = std::mem::replace(&mut self.buf, rest);
        let body = packet.split_off(HEADER_LEN);
        Ok(Some(RawPacket { kind, body }))
    }
}

fn header(kind: u16, body_len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(HEADER_LEN + body_len);
    p.extend_from_slice(&kind.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes()); // reserved
    let total = u32::try_from(HEADER_LEN + body_len).unwrap_or(u32::MAX);
    p.extend_from_slice(&total.to_le_bytes());
    p
}

fn packet(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut p = header(kind, body.len());
    p.extend_from_slice(body);
    p
}

/// UTF-16LE with a terminating NUL, as the packets carry names (HTTP_UNICODE_STRING, 2.2.10.22:
/// cbLen u16, then the string).
fn unicode_string(what: &'static str, text: &str) -> Result<Vec<u8>, PacketError> {
    let mut s: Vec<u8> = text
        .encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect();
    let len =
        u16::try_from(s.len()).map_err(|_| PacketError::FieldTooLong { what, len: s.len() })?;
    let mut out = len.to_le_bytes().to_vec();
    out.append(&mut s);
    Ok(out)
}

/// HTTP_HANDSHAKE_REQUEST_PACKET (2.2.10.10): version 1.0, clientVersion 0, `extended_auth`.
pub fn handshake_request(extended_auth: u16) -> Vec<u8> {
    let mut body = vec![1, 0]; // verMajor, verMinor
    body.extend_from_slice(&0u16.to_le_bytes()); // clientVersion
    body.extend_from_slice(&extended_auth.to_le_bytes());
    packet(kind::HANDSHAKE_REQUEST, &body)
}

/// HTTP_TUNNEL_PACKET (2.2.10.18) with `caps`, and the PAA cookie (2.2.10.19: an HTTP_BYTE_BLOB
/// holding the cookie as NUL-terminated UTF-16, as mstsc and FreeRDP send it) when given.
pub fn tunnel_create(caps: u32, paa_cookie: Option<&str>) -> Result<Vec<u8>, PacketError> {
    let mut body = caps.to_le_bytes().to_vec();
    let present = if paa_cookie.is_some() {
        fields::CREATE_PAA_COOKIE
    } else {
        0
    };
    body.extend_from_slice(&present.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes()); // reserved
    if let Some(cookie) = paa_cookie {
        body.extend(unicode_string("the PAA cookie", cookie)?);
    }
    Ok(packet(kind::TUNNEL_CREATE, &body))
}

/// HTTP_TUNNEL_AUTH_PACKET (2.2.10.14): no statement of health, the client's computer name.
pub fn tunnel_auth(client_name: &str) -> Result<Vec<u8>, PacketError> {
    let mut body = 0u16.to_le_bytes().to_vec(); // fieldsPresent
    body.extend(unicode_string("the client name", client_name)?);
    Ok(packet(kind::TUNNEL_AUTH, &body))
}

/// HTTP_CHANNEL_PACKET (2.2.10.2): the target's names (the first is the resource, the rest
/// alternates), its port, protocol RDP.
pub fn channel_create(names: &[&str], port: u16) -> Result<Vec<u8>, PacketError> {
    let Some((first, alternates)) = names.split_first() else {
        return Err(PacketError::NoResource);
    };
    let alternates_n = u8::try_from(alternates.len()).map_err(|_| PacketError::FieldTooLong {
        what: "the list of alternate names",
        len: alternates.len(),
    })?;
    let mut body = vec![1, alternates_n]; // numResources, numAlternateResourceNames
    body.extend_from_slice(&port.to_le_bytes());
    body.extend_from_slice(&PROTOCOL_RDP.to_le_bytes());
    body.extend(unicode_string("the target name", first)?);
    for name in alternates {
        body.extend(unicode_string("an alternate target name", name)?);
    }
    Ok(packet(kind::CHANNEL_CREATE, &body))
}

/// HTTP_DATA_PACKET (2.2.10.6) carrying `payload` (at most [`MAX_DATA`] bytes).
pub fn data(payload: &[u8]) -> Result<Vec<u8>, PacketError> {
    let len = u16::try_from(payload.len()).map_err(|_| PacketError::FieldTooLong {
        what: "a data packet's payload",
        len: payload.len(),
    })?;
    let mut p = header(kind::DATA, 2 + payload.len());
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(payload);
    Ok(p)
}

/// HTTP_KEEPALIVE_PACKET (2.2.10.8): the header alone.
pub fn keepalive() -> Vec<u8> {
    packet(kind::KEEPALIVE, &[])
}

/// HTTP_CLOSE_PACKET (2.2.10.3) with `status` (0: the client ends the channel normally).
pub fn close_channel(status: u32) -> Vec<u8> {
    packet(kind::CLOSE_CHANNEL, &status.to_le_bytes())
}

/// The answer to a gateway's close channel packet (same layout, PKT_TYPE_CLOSE_CHANNEL_RESPONSE).
pub fn close_channel_response(status: u32) -> Vec<u8> {
    packet(kind::CLOSE_CHANNEL_RESPONSE, &status.to_le_bytes())
}

/// HTTP_HANDSHAKE_RESPONSE_PACKET (2.2.10.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeResponse {
    pub error_code: u32,
    pub version: (u8, u8),
    pub server_version: u16,
    pub extended_auth: u16,
}

/// HTTP_TUNNEL_RESPONSE (2.2.10.20) with its optional fields (2.2.10.21).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TunnelResponse {
    pub server_version: u16,
    pub status: u32,
    pub fields_present: u16,
    pub tunnel_id: Option<u32>,
    pub capabilities: Option<u32>,
    /// The gateway asked for a statement of health (SOH_REQ: nonce and certificate).
    pub soh_requested: bool,
    /// The consent message (the logon banner the user must accept), when sent.
    pub consent_message: Option<String>,
}

/// HTTP_TUNNEL_AUTH_RESPONSE (2.2.10.16) with its optional fields (2.2.10.17).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TunnelAuthResponse {
    pub error_code: u32,
    pub fields_present: u16,
    /// HTTP_TUNNEL_REDIR_FLAGS: device redirection the gateway allows.
    pub redir_flags: Option<u32>,
    /// Minutes without user input before the gateway ends the session (0: none).
    pub idle_timeout_minutes: Option<u32>,
    /// Length of the statement-of-health response, when sent.
    pub soh_response_len: Option<usize>,
}

/// HTTP_CHANNEL_RESPONSE (2.2.10.4) with its optional fields (2.2.10.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelResponse {
    pub error_code: u32,
    pub fields_present: u16,
    pub channel_id: Option<u32>,
    /// The gateway's UDP listener (the UDP side channel), when announced.
    pub udp_port: Option<u16>,
    /// Length of the UDP authentication cookie, when sent.
    pub udp_cookie_len: Option<usize>,
}

/// A packet from the gateway, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerPacket {
    HandshakeResponse(HandshakeResponse),
    TunnelResponse(TunnelResponse),
    TunnelAuthResponse(TunnelAuthResponse),
    ChannelResponse(ChannelResponse),
    /// HTTP_DATA_PACKET: bytes from the target.
    Data(Vec<u8>),
    Keepalive,
    /// HTTP_SERVICE_MESSAGE (2.2.10.12): an administrator's message to the user.
    ServiceMessage(String),
    /// HTTP_REAUTH_MESSAGE (2.2.10.13): the gateway asks the client to re-authenticate.
    Reauth {
        context: u64,
    },
    /// HTTP_CLOSE_PACKET (2.2.10.3): the gateway ends the channel with `status`.
    CloseChannel {
        status: u32,
    },
    CloseChannelResponse {
        status: u32,
    },
    /// HTTP_EXTENDED_AUTH_MSG (2.2.10.7): an extended authentication leg (smart card, NTLM SSPI).
    ExtendedAuth {
        error_code: u32,
        blob_len: usize,
    },
    /// A type this client does not know (kept for evidence).
    Unknown {
        kind: u16,
        len: usize,
    },
}

impl ServerPacket {
    /// The name MS-TSGU gives the packet type, for evidence.
    pub fn name(&self) -> &'static str {
        match self {
            ServerPacket::HandshakeResponse(_) => "handshake response",
            ServerPacket::TunnelResponse(_) => "tunnel response",
            ServerPacket::TunnelAuthResponse(_) => "tunnel authorization response",
            ServerPacket::ChannelResponse(_) => "channel response",
            ServerPacket::Data(_) => "data",
            ServerPacket::Keepalive => "keepalive",
            ServerPacket::ServiceMessage(_) => "service message",
            ServerPacket::Reauth { .. } => "reauthentication message",
            ServerPacket::CloseChannel { .. } => "close channel",
            ServerPacket::CloseChannelResponse { .. } => "close channel response",
            ServerPacket::ExtendedAuth { .. } => "extended authentication message",
            ServerPacket::Unknown { .. } => "unknown packet",
        }
    }
}

/// Reads `N` bytes at `at` of `body`, or says which packet was short.
fn need(body: &[u8], packet: &'static str, need: usize) -> Result<(), PacketError> {
    if body.len() < need {
        return Err(PacketError::Truncated {
            packet,
            need: need + HEADER_LEN,
            have: body.len() + HEADER_LEN,
        });
    }
    Ok(())
}

/// A u16-length-prefixed field at `*at` (HTTP_UNICODE_STRING, HTTP_BYTE_BLOB); advances `*at`.
fn blob<'a>(body: &'a [u8], at: &mut usize, packet: &'static str) -> Result<&'a [u8], PacketError> {
    let short = |need| PacketError::Truncated {
        packet,
        need: need + HEADER_LEN,
        have: body.len() + HEADER_LEN,
    };
    let len = usize::from(le_u16_at(body, *at).ok_or(short(*at + 2))?);
    let start = *at + 2;
    let value = body.get(start..start + len).ok_or(short(start + len))?;
    *at = start + len;
    Ok(value)
}

/// A u32 at `*at`; advances `*at`.
fn u32_field(body: &[u8], at: &mut usize, packet: &'static str) -> Result<u32, PacketError> {
    let v = le_u32_at(body, *at).ok_or(PacketError::Truncated {
        packet,
        need: *at + 4 + HEADER_LEN,
        have: body.len() + HEADER_LEN,
    })?;
    *at += 4;
    Ok(v)
}

/// UTF-16LE text, without its terminating NULs; lossy on unpaired surrogates.
pub fn utf16_text(bytes: &[u8]) -> String {
    crate::bytes::utf16le(bytes)
        .trim_end_matches('\0')
        .to_string()
}

/// Decodes a packet from the gateway. Fields past those a packet type defines are ignored, as
/// clients do; a packet shorter than its fields is an error.
pub fn decode(packet: &RawPacket) -> Result<ServerPacket, PacketError> {
    let b = packet.body.as_slice();
    Ok(match packet.kind {
        kind::HANDSHAKE_RESPONSE => {
            need(b, "the handshake response", 10)?;
            ServerPacket::HandshakeResponse(HandshakeResponse {
                error_code: le_u32_at(b, 0).unwrap_or_default(),
                version: (
                    b.get(4).copied().unwrap_or_default(),
                    b.get(5).copied().unwrap_or_default(),
                ),
                server_version: le_u16_at(b, 6).unwrap_or_default(),
                extended_auth: le_u16_at(b, 8).unwrap_or_default(),
            })
        }
        kind::TUNNEL_RESPONSE => ServerPacket::TunnelResponse(tunnel_response(b)?),
        kind::TUNNEL_AUTH_RESPONSE => ServerPacket::TunnelAuthResponse(tunnel_auth_response(b)?),
        kind::CHANNEL_RESPONSE => ServerPacket::ChannelResponse(channel_response(b)?),
        kind::DATA => {
            let mut at = 0;
            ServerPacket::Data(blob(b, &mut at, "a data packet")?.to_vec())
        }
        kind::KEEPALIVE => ServerPacket::Keepalive,
        kind::SERVICE_MESSAGE => {
            let mut at = 0;
            ServerPacket::ServiceMessage(utf16_text(blob(b, &mut at, "a service message")?))
        }
        kind::REAUTH_MESSAGE => {
            need(b, "a reauthentication message", 8)?;
            ServerPacket::Reauth {
                context: array_at::<8>(b, 0)
                    .map(u64::from_le_bytes)
                    .unwrap_or_default(),
            }
        }
        kind::CLOSE_CHANNEL | kind::CLOSE_CHANNEL_RESPONSE => {
            need(b, "a close channel packet", 4)?;
            let status = le_u32_at(b, 0).unwrap_or_default();
            if packet.kind == kind::CLOSE_CHANNEL {
                ServerPacket::CloseChannel { status }
            } else {
                ServerPacket::CloseChannelResponse { status }
            }
        }
        kind::EXTENDED_AUTH_MSG => {
            need(b, "an extended authentication message", 4)?;
            let mut at = 4;
            ServerPacket::ExtendedAuth {
                error_code: le_u32_at(b, 0).unwrap_or_default(),
                blob_len: blob(b, &mut at, "an extended authentication message")?.len(),
            }
        }
        other => ServerPacket::Unknown {
            kind: other,
            len: b.len() + HEADER_LEN,
        },
    })
}

fn tunnel_response(b: &[u8]) -> Result<TunnelResponse, PacketError> {
    const WHAT: &str = "the tunnel response";
    need(b, WHAT, 10)?;
    let mut r = TunnelResponse {
        server_version: le_u16_at(b, 0).unwrap_or_default(),
        status: le_u32_at(b, 2).unwrap_or_default(),
        fields_present: le_u16_at(b, 6).unwrap_or_default(),
        ..TunnelResponse::default()
    };
    // A failed tunnel create need not carry its optional fields (rdpgw and Windows send them
    // anyway): the status is what matters then.
    if r.status & 0x8000_0000 != 0 {
        return Ok(r);
    }
    let mut at = 10; // after reserved
    if r.fields_present & fields::TUNNEL_TUNNEL_ID != 0 {
        r.tunnel_id = Some(u32_field(b, &mut at, WHAT)?);
    }
    if r.fields_present & fields::TUNNEL_CAPS != 0 {
        r.capabilities = Some(u32_field(b, &mut at, WHAT)?);
    }
    if r.fields_present & fields::TUNNEL_SOH_REQ != 0 {
        need(b, WHAT, at + 16)?; // the nonce (a GUID)
        at += 16;
        blob(b, &mut at, WHAT)?; // the server certificate
        r.soh_requested = true;
    }
    if r.fields_present & fields::TUNNEL_CONSENT_MSG != 0 {
        r.consent_message = Some(utf16_text(blob(b, &mut at, WHAT)?));
    }
    Ok(r)
}

fn tunnel_auth_response(b: &[u8]) -> Result<TunnelAuthResponse, PacketError> {
    const WHAT: &str = "the tunnel authorization response";
    need(b, WHAT, 8)?;
    let mut r = TunnelAuthResponse {
        error_code: le_u32_at(b, 0).unwrap_or_default(),
        fields_present: le_u16_at(b, 4).unwrap_or_default(),
        ..TunnelAuthResponse::default()
    };
    if r.error_code & 0x8000_0000 != 0 {
        return Ok(r);
    }
    let mut at = 8; // after reserved
    if r.fields_present & fields::AUTH_REDIR_FLAGS != 0 {
        r.redir_flags = Some(u32_field(b, &mut at, WHAT)?);
    }
    if r.fields_present & fields::AUTH_IDLE_TIMEOUT != 0 {
        r.idle_timeout_minutes = Some(u32_field(b, &mut at, WHAT)?);
    }
    if r.fields_present & fields::AUTH_SOH_RESPONSE != 0 {
        r.soh_response_len = Some(blob(b, &mut at, WHAT)?.len());
    }
    Ok(r)
}

fn channel_response(b: &[u8]) -> Result<ChannelResponse, PacketError> {
    const WHAT: &str = "the channel response";
    need(b, WHAT, 8)?;
    let mut r = ChannelResponse {
        error_code: le_u32_at(b, 0).unwrap_or_default(),
        fields_present: le_u16_at(b, 4).unwrap_or_default(),
        ..ChannelResponse::default()
    };
    if r.error_code & 0x8000_0000 != 0 {
        return Ok(r);
    }
    // HTTP_CHANNEL_RESPONSE_OPTIONAL: channelId, udpPort, authnCookie, in that order.
    let mut at = 8;
    if r.fields_present & fields::CHANNEL_CHANNELID != 0 {
        r.channel_id = Some(u32_field(b, &mut at, WHAT)?);
    }
    if r.fields_present & fields::CHANNEL_UDPPORT != 0 {
        r.udp_port = Some(le_u16_at(b, at).ok_or(PacketError::Truncated {
            packet: WHAT,
            need: at + 2 + HEADER_LEN,
            have: b.len() + HEADER_LEN,
        })?);
        at += 2;
    }
    if r.fields_present & fields::CHANNEL_AUTHNCOOKIE != 0 {
        r.udp_cookie_len = Some(blob(b, &mut at, WHAT)?.len());
    }
    Ok(r)
}

/// Whether a status is a failure: a failure HRESULT (MS-ERREF 2.1: the severity bit), or one of
/// the E_PROXY codes MS-TSGU 2.2.6 writes as a bare HRESULT_CODE (0x59E6
/// MAXCONNECTIONSREACHED, 0x59F6 SESSIONTIMEOUT, 0x4D4 CONNECTIONABORTED...). FreeRDP 2.11 goes
/// on after such a bare code (lab/OBSERVED.md); a diagnostic client reports the refusal it names
/// instead.
pub fn is_failure(status: u32) -> bool {
    status & 0x8000_0000 != 0 || (0x59D8..=0x5A00).contains(&status) || status == 0x4D4
}
