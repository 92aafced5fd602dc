//! Basic Settings Exchange for Standard RDP Security: the Client MCS Connect Initial PDU with a GCC
//! Conference Create Request (MS-RDPBCGR 2.2.1.3) and the Server MCS Connect Response PDU with a
//! GCC Conference Create Response (2.2.1.4), read for what the server enforces: its RDP version
//! (Server Core Data, 2.2.1.4.2), the encryption method and level it chose (Server Security Data,
//! 2.2.1.4.3) and its certificate (2.2.1.4.3.1).
//!
//! The request is built entirely from `ironrdp-pdu`'s GCC and MCS types. The response is decoded
//! with `ironrdp_pdu::mcs::ConnectResponse` first; this module reads it itself only where that
//! decoder falls short for a diagnosis, each place saying why:
//! - it reads the MCS `result` and throws it away, so a refusal (T.125 result 14
//!   rt-unspecified-failure, MS-RDPBCGR 3.3.5.3.3.1) would look like a decoding error;
//! - `ServerSecurityData::decode` refuses `serverCertLen > 1024` (X.509 chains are larger), any
//!   `serverRandomLen` other than 32 (the length is itself a fact to report) and any unknown
//!   method bit (a server that answers with one is exactly what a diagnosis must show);
//! - `ServerGccBlocks::decode` requires a Server Network Data block the probe does not need.
//!
//! Every read is bounded by the bytes at hand; nothing here panics on server bytes.

use ironrdp_core::{decode, encode_vec, Decode, ReadCursor};
use ironrdp_pdu::gcc::{
    ClientCoreData, ClientCoreOptionalData, ClientEarlyCapabilityFlags, ClientGccBlocks,
    ClientNetworkData, ClientSecurityData, ColorDepth, ConnectionType, EncryptionMethod,
    HighColorDepth, KeyboardType, RdpVersion, SecureAccessSequence, ServerCoreData,
    SupportedColorDepths,
};
use ironrdp_pdu::mcs;
use ironrdp_pdu::nego::SecurityProtocol;
use ironrdp_pdu::rdp::server_license::cert::ProprietaryCertificate;
use ironrdp_pdu::x224::{X224Data, X224};
use std::borrow::Cow;

/// encryptionMethods flags (MS-RDPBCGR 2.2.1.3.3).
pub mod method {
    pub const NONE: u32 = 0x0000_0000;
    pub const BIT_40: u32 = 0x0000_0001;
    pub const BIT_128: u32 = 0x0000_0002;
    pub const BIT_56: u32 = 0x0000_0008;
    pub const FIPS: u32 = 0x0000_0010;
    /// Every method a client can offer.
    pub const ALL: u32 = BIT_40 | BIT_128 | BIT_56 | FIPS;
}

/// The client name the request carries (TS_UD_CS_CORE clientName, at most 15 characters).
const CLIENT_NAME: &str = "rdpdoctor";
/// X.224 Data TPDU header (LI 2, DT code 0xF0, EOT): the bytes between TPKT and MCS.
const X224_DATA_HEADER: [u8; 3] = [0x02, 0xF0, 0x80];
/// BER tag of the MCS Connect-Response (APPLICATION 102, T.125).
const CONNECT_RESPONSE_TAG: [u8; 2] = [0x7F, 0x66];
/// T.124 object key of the GCC ConnectData (0.0.20.124.0.1), as PER-encoded after its length.
const T124_OBJECT_ID: [u8; 5] = [0x00, 0x14, 0x7C, 0x00, 0x01];
/// The server-to-client H.221 key of the GCC user data (MS-RDPBCGR 2.2.1.4).
const H221_SERVER_KEY: &[u8; 4] = b"McDn";
/// User data block types (MS-RDPBCGR 2.2.1.4.1).
const SC_CORE: u16 = 0x0C01;
const SC_SECURITY: u16 = 0x0C02;
/// The most certificate bytes kept: far above any real chain, small enough for a probe.
const MAX_CERT_LEN: usize = 32 * 1024;
/// The most certificates read from an X.509 chain (CERT_CHAIN_VERSION_2).
const MAX_CHAIN: usize = 16;

/// Why a request could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the MCS Connect Initial: {0}")]
pub struct EncodeError(String);

/// The Client MCS Connect Initial PDU (MS-RDPBCGR 2.2.1.3), framed in TPKT and X.224 Data, offering
/// `encryption_methods` in the Client Security Data (2.2.1.3.3). The Client Core Data echoes
/// `server_selected_protocol` (0 for Standard RDP Security, 5.4.2.1) and sets earlyCapabilityFlags
/// RNS_UD_CS_SUPPORT_ERRINFO_PDU, so a server may answer later steps with a Set Error Info PDU.
pub fn connect_initial(
    encryption_methods: u32,
    server_selected_protocol: u32,
) -> Result<Vec<u8>, EncodeError> {
    let core = ClientCoreData {
        version: RdpVersion::V5_PLUS,
        desktop_width: 1024,
        desktop_height: 768,
        color_depth: ColorDepth::Bpp8,
        sec_access_sequence: SecureAccessSequence::Del,
        keyboard_layout: 0x409,
        client_build: 2600,
        client_name: CLIENT_NAME.to_string(),
        keyboard_type: KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        ime_file_name: String::new(),
        optional_data: ClientCoreOptionalData {
            post_beta2_color_depth: Some(ColorDepth::Bpp8),
            client_product_id: Some(1),
            serial_number: Some(0),
            high_color_depth: Some(HighColorDepth::Bpp24),
            supported_color_depths: Some(SupportedColorDepths::BPP24),
            early_capability_flags: Some(ClientEarlyCapabilityFlags::SUPPORT_ERR_INFO_PDU),
            dig_product_id: Some(String::new()),
            connection_type: Some(ConnectionType::NotUsed),
            server_selected_protocol: Some(SecurityProtocol::from_bits_retain(
                server_selected_protocol,
            )),
            desktop_physical_width: None,
            desktop_physical_height: None,
            desktop_orientation: None,
            desktop_scale_factor: None,
            device_scale_factor: None,
        },
    };
    let blocks = ClientGccBlocks {
        core,
        security: ClientSecurityData {
            encryption_methods: EncryptionMethod::from_bits_retain(encryption_methods),
            ext_encryption_methods: 0,
        },
        network: Some(ClientNetworkData {
            channels: Vec::new(),
        }),
        cluster: None,
        monitor: None,
        message_channel: None,
        multi_transport_channel: None,
        monitor_extended: None,
    };
    let initial =
        mcs::ConnectInitial::with_gcc_blocks(blocks).map_err(|e| EncodeError(e.to_string()))?;
    let body = encode_vec(&initial).map_err(|e| EncodeError(e.to_string()))?;
    encode_vec(&X224(X224Data {
        data: Cow::Owned(body),
    }))
    .map_err(|e| EncodeError(e.to_string()))
}

/// The server's certificate in the Server Security Data (MS-RDPBCGR 2.2.1.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCertificate {
    /// CERT_CHAIN_VERSION_1: a Proprietary Certificate (2.2.1.4.3.1.1).
    Proprietary {
        /// The `t` bit of dwVersion: CERT_TEMPORARILY_ISSUED.
        temporary: bool,
        /// The modulus' real size in bits (leading zero bytes and the 8 padding bytes removed).
        key_bits: u32,
        /// The bitlen field of RSA_PUBLIC_KEY, as declared.
        declared_bits: u32,
        public_exponent: u32,
        /// Length of the SignatureBlob: an MD5 hash "signed" with the Terminal Services Signing
        /// Key, whose private half is published in the specification (5.3.3.1.1).
        signature_len: usize,
    },
    /// CERT_CHAIN_VERSION_2: an X.509 chain (2.2.1.4.3.1, MS-RDPELE 2.2.1.4.2), DER certificates
    /// in the order sent; the last one is the server's.
    X509 {
        temporary: bool,
        certificates: Vec<Vec<u8>>,
    },
    /// A certificate that could not be read, with the reason.
    Unreadable {
        version: u32,
        length: usize,
        reason: String,
    },
}

impl ServerCertificate {
    /// The key size to show for a proprietary certificate: the declared `bitlen` of its
    /// RSA_PUBLIC_KEY (MS-RDPBCGR 2.2.1.4.3.1.1.1) when the modulus agrees with it (the same size
    /// give or take the top byte's leading zero bits), else the modulus' significant bits.
    ///
    /// Windows 2000/XP/2003 declare 512 for a modulus that can have its top bit clear (511
    /// significant bits): that is a 512-bit key, the number Windows itself reports. A declared
    /// size the modulus does not back (a larger number than its bits) is not believed.
    pub fn key_size(&self) -> Option<u32> {
        match *self {
            ServerCertificate::Proprietary {
                key_bits,
                declared_bits,
                ..
            } => Some(
                if declared_bits >= key_bits && declared_bits - key_bits < 8 {
                    declared_bits
                } else {
                    key_bits
                },
            ),
            _ => None,
        }
    }
}

/// What the server enforces, from an MCS Connect Response with result rt-successful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSettings {
    /// Server Core Data `version` (2.2.1.4.2), e.g. 0x00080004 for RDP 5.0 to 8.1.
    pub rdp_version: Option<u32>,
    /// Server Core Data `clientRequestedProtocols`: the server's echo of RDP_NEG_REQ.
    pub client_requested_protocols: Option<u32>,
    /// Server Security Data `encryptionMethod` (2.2.1.4.3), raw.
    pub encryption_method: u32,
    /// Server Security Data `encryptionLevel` (0 None ... 4 FIPS), raw.
    pub encryption_level: u32,
    /// `serverRandomLen`, absent when level and method are both None.
    pub server_random_len: Option<u32>,
    pub certificate: Option<ServerCertificate>,
    /// Why `ironrdp-pdu`'s decoder refused this response, when it did and this module's own
    /// reading was used instead.
    pub ironrdp_refused: Option<String>,
}

/// The meaning of one complete TPKT that answered a Connect Initial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectResponse {
    Accepted(ServerSettings),
    /// An MCS Connect Response whose result is not rt-successful (T.125: 14 is
    /// rt-unspecified-failure, what MS-RDPBCGR 3.3.5.3.3.1 says a server sends for bad GCC data).
    Refused {
        result: u8,
    },
    /// An MCS Disconnect Provider Ultimatum instead (xrdp's answer to a request it rejects), with
    /// its T.125 reason (3 is rn-user-requested).
    Disconnected {
        reason: u8,
    },
    /// Anything else, with the reason.
    Malformed(String),
}

/// Decodes one complete TPKT (as delimited by [`crate::tpkt::frame`]) that answered a Connect
/// Initial.
pub fn decode_connect_response(packet: &[u8]) -> ConnectResponse {
    let Some(mcs_bytes) = packet
        .get(4..)
        .and_then(|p| p.strip_prefix(&X224_DATA_HEADER))
    else {
        return ConnectResponse::Malformed(format!(
            "not an X.224 Data TPDU (header {})",
            hex(packet.get(4..7).unwrap_or_default())
        ));
    };
    // MCS Disconnect Provider Ultimatum (T.125 DomainMCSPDU choice 8, PER): 6 bits of choice,
    // then the 3-bit reason across the byte boundary.
    if let [first, second, ..] = *mcs_bytes {
        if first >> 2 == 8 {
            return ConnectResponse::Disconnected {
                reason: ((first & 0x03) << 1) | (second >> 7),
            };
        }
    }
    let mut r = Reader::new(mcs_bytes);
    if r.take(2) != Some(&CONNECT_RESPONSE_TAG[..]) {
        return ConnectResponse::Malformed(format!(
            "MCS PDU starts {} where a Connect-Response (7F 66) was expected",
            hex(mcs_bytes.get(..2).unwrap_or(mcs_bytes))
        ));
    }
    // ironrdp-pdu discards the result: read it first.
    let result = r
        .ber_length()
        .and_then(|_| r.ber_tlv(0x0A))
        .and_then(|v| v.first().copied());
    let Some(result) = result else {
        return ConnectResponse::Malformed("Connect-Response without a result".into());
    };
    if result != 0 {
        return ConnectResponse::Refused { result };
    }
    match decode::<mcs::ConnectResponse>(mcs_bytes) {
        Ok(response) => {
            let blocks = response.conference_create_response.gcc_blocks();
            // The certificate is parsed here too: ironrdp-pdu keeps it as bytes.
            let sec = &blocks.security;
            ConnectResponse::Accepted(ServerSettings {
                rdp_version: Some(blocks.core.version.0),
                client_requested_protocols: blocks
                    .core
                    .optional_data
                    .client_requested_protocols
                    .map(|p| p.bits()),
                encryption_method: sec.encryption_method.bits(),
                encryption_level: level_value(sec.encryption_level),
                server_random_len: sec
                    .server_random
                    .as_ref()
                    .and_then(|r| u32::try_from(r.len()).ok()),
                certificate: (!sec.server_cert.is_empty())
                    .then(|| server_certificate(&sec.server_cert)),
                ironrdp_refused: None,
            })
        }
        Err(e) => match own_decode(&mut r) {
            Ok(mut settings) => {
                settings.ironrdp_refused = Some(e.to_string());
                ConnectResponse::Accepted(settings)
            }
            Err(reason) => ConnectResponse::Malformed(format!("{reason} (ironrdp-pdu: {e})")),
        },
    }
}

pub(crate) fn level_value(level: ironrdp_pdu::gcc::EncryptionLevel) -> u32 {
    use ironrdp_pdu::gcc::EncryptionLevel as L;
    match level {
        L::None => 0,
        L::Low => 1,
        L::ClientCompatible => 2,
        L::High => 3,
        L::Fips => 4,
    }
}

/// The rest of a Connect-Response after its result, read without `ironrdp-pdu` (see the module
/// comment for why): calledConnectId, domainParameters, then the GCC Conference Create Response
/// (T.124, ALIGNED PER) and the server data blocks.
fn own_decode(r: &mut Reader<'_>) -> Result<ServerSettings, String> {
    r.ber_tlv(0x02).ok_or("no calledConnectId")?;
    r.ber_tlv(0x30).ok_or("no domainParameters")?;
    let user_data = r.ber_tlv(0x04).ok_or("no userData")?;
    let mut g = Reader::new(user_data);
    // ConnectData: key choice 0 (object), OID length 5, the T.124 OID.
    if g.take(2) != Some(&[0x00, 0x05][..]) || g.take(5) != Some(&T124_OBJECT_ID[..]) {
        return Err("GCC ConnectData does not carry the T.124 object key".into());
    }
    // connectPDU length: servers put wrong values here (xrdp sends 0x2A), the spec says ignore it.
    g.per_length().ok_or("no connectPDU length")?;
    // ConferenceCreateResponse choice (0x14), nodeID (2), tag (length-prefixed INTEGER),
    // result (1), number of user data sets (1), h221NonStandard choice (0xC0).
    if g.u8() != Some(0x14) {
        return Err("GCC PDU is not a ConferenceCreateResponse".into());
    }
    g.take(2).ok_or("no nodeID")?;
    let tag_len = g.u8().ok_or("no tag")?;
    g.take(usize::from(tag_len)).ok_or("short tag")?;
    if g.u8() != Some(0) {
        return Err("GCC ConferenceCreateResponse result is not success".into());
    }
    g.take(2).ok_or("no user data set")?;
    // H.221 key: length - 4 (PER octet string with lower bound 4), then "McDn".
    let extra = g.u8().ok_or("no H.221 key")?;
    if g.take(usize::from(extra) + 4) != Some(&H221_SERVER_KEY[..]) {
        return Err("user data key is not McDn".into());
    }
    let blocks_len = g.per_length().ok_or("no user data length")?;
    let blocks = g.take(blocks_len).unwrap_or(g.rest());

    let mut settings = ServerSettings {
        rdp_version: None,
        client_requested_protocols: None,
        encryption_method: 0,
        encryption_level: 0,
        server_random_len: None,
        certificate: None,
        ironrdp_refused: None,
    };
    let mut security_seen = false;
    let mut b = Reader::new(blocks);
    while !b.is_empty() {
        let kind = b.u16_le().ok_or("truncated block header")?;
        let len = usize::from(b.u16_le().ok_or("truncated block header")?);
        // A length under 4 cannot hold its own header; nmap loops forever on 0 (nmap#1737).
        let body = len
            .checked_sub(4)
            .and_then(|n| b.take(n))
            .ok_or_else(|| format!("user data block 0x{kind:04X} has invalid length {len}"))?;
        match kind {
            SC_CORE => {
                let core = ServerCoreData::decode(&mut ReadCursor::new(body))
                    .map_err(|e| format!("Server Core Data: {e}"))?;
                settings.rdp_version = Some(core.version.0);
                settings.client_requested_protocols = core
                    .optional_data
                    .client_requested_protocols
                    .map(|p| p.bits());
            }
            SC_SECURITY => {
                security_data(body, &mut settings)?;
                security_seen = true;
            }
            _ => {}
        }
    }
    if !security_seen {
        return Err("no Server Security Data block".into());
    }
    Ok(settings)
}

/// Server Security Data (2.2.1.4.3), without `ironrdp-pdu`'s limits: any certificate length up to
/// [`MAX_CERT_LEN`], any serverRandomLen (reported as sent), any method value (kept raw).
fn security_data(body: &[u8], settings: &mut ServerSettings) -> Result<(), String> {
    let mut s = Reader::new(body);
    settings.encryption_method = s.u32_le().ok_or("Server Security Data too short")?;
    settings.encryption_level = s.u32_le().ok_or("Server Security Data too short")?;
    if s.is_empty() {
        return Ok(());
    }
    let random_len = s.u32_le().ok_or("truncated serverRandomLen")?;
    let cert_len = s.u32_le().ok_or("truncated serverCertLen")?;
    settings.server_random_len = Some(random_len);
    let random_len = usize::try_from(random_len).unwrap_or(usize::MAX);
    s.take(random_len)
        .ok_or("serverRandomLen exceeds the block")?;
    let cert_len = usize::try_from(cert_len).unwrap_or(usize::MAX);
    if cert_len == 0 {
        return Ok(());
    }
    let cert = s
        .take(cert_len.min(MAX_CERT_LEN))
        .ok_or("serverCertLen exceeds the block")?;
    settings.certificate = Some(server_certificate(cert));
    Ok(())
}

/// Reads a Server Certificate (2.2.1.4.3.1). Proprietary certificates go through
/// `ironrdp-pdu`'s `ProprietaryCertificate`; X.509 chains are read here because its
/// `X509CertificateChain` refuses chains of fewer than two certificates, which servers send.
pub fn server_certificate(bytes: &[u8]) -> ServerCertificate {
    let mut r = Reader::new(bytes);
    let Some(version) = r.u32_le() else {
        return ServerCertificate::Unreadable {
            version: 0,
            length: bytes.len(),
            reason: "shorter than its version field".into(),
        };
    };
    let temporary = version & 0x8000_0000 != 0;
    let unreadable = |reason: String| ServerCertificate::Unreadable {
        version,
        length: bytes.len(),
        reason,
    };
    match version & 0x7FFF_FFFF {
        1 => {
            let rest = r.rest();
            let declared_bits = rest
                .get(20..24)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0);
            match ProprietaryCertificate::decode(&mut ReadCursor::new(rest)) {
                Ok(c) => ServerCertificate::Proprietary {
                    temporary,
                    key_bits: modulus_bits(&c.public_key.modulus),
                    declared_bits,
                    public_exponent: c.public_key.public_exponent,
                    signature_len: c.signature.len(),
                },
                Err(e) => unreadable(format!("proprietary certificate: {e}")),
            }
        }
        2 => {
            let Some(count) = r.u32_le() else {
                return unreadable("X.509 chain without NumCertBlobs".into());
            };
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count == 0 || count > MAX_CHAIN {
                return unreadable(format!("X.509 chain of {count} certificates"));
            }
            let mut certificates = Vec::new();
            for i in 0..count {
                let der = r
                    .u32_le()
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| r.take(n));
                match der {
                    Some(d) => certificates.push(d.to_vec()),
                    None => return unreadable(format!("X.509 certificate {i} is truncated")),
                }
            }
            ServerCertificate::X509 {
                temporary,
                certificates,
            }
        }
        other => unreadable(format!("unknown certificate chain version {other}")),
    }
}

/// Bits of a little-endian modulus, ignoring the trailing zero bytes (padding included).
fn modulus_bits(modulus_le: &[u8]) -> u32 {
    match modulus_le.iter().rposition(|b| *b != 0) {
        Some(i) => {
            let top = modulus_le.get(i).copied().unwrap_or(0);
            u32::try_from(i * 8).unwrap_or(u32::MAX) + (8 - top.leading_zeros())
        }
        None => 0,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bounded reader: every method returns `None` instead of reading past the end.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    fn u16_le(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32_le(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// BER definite length (short form, or long form of 1 or 2 bytes).
    fn ber_length(&mut self) -> Option<usize> {
        let first = self.u8()?;
        if first & 0x80 == 0 {
            return Some(usize::from(first));
        }
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 2 {
            return None;
        }
        self.take(n)?
            .iter()
            .try_fold(0usize, |acc, b| Some(acc << 8 | usize::from(*b)))
    }

    /// One BER TLV with the expected one-byte tag; returns its value.
    fn ber_tlv(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.u8()? != tag {
            return None;
        }
        let len = self.ber_length()?;
        self.take(len)
    }

    /// ALIGNED PER length determinant (X.691 10.9): one byte, or two with the top bit set.
    fn per_length(&mut self) -> Option<usize> {
        let first = self.u8()?;
        if first & 0x80 == 0 {
            Some(usize::from(first))
        } else {
            let second = self.u8()?;
            Some(usize::from(first & 0x7F) << 8 | usize::from(second))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
