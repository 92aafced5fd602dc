//! Facts from the Standard RDP Security probe: what the server answered to MCS Connect Initial
//! PDUs offering each encryption method (MS-RDPBCGR 2.2.1.3, 2.2.1.4).

use crate::network::Certificate;
use crate::{InPhase, OpenFailure, Transport};
use serde::{Deserialize, Serialize};

/// encryptionMethods / encryptionMethod values (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3).
pub mod encryption {
    pub const NONE: u32 = 0x0000_0000;
    pub const BIT_40: u32 = 0x0000_0001;
    pub const BIT_128: u32 = 0x0000_0002;
    pub const BIT_56: u32 = 0x0000_0008;
    pub const FIPS: u32 = 0x0000_0010;
    /// Every method: what an up-to-date mstsc offers.
    pub const ALL: u32 = BIT_40 | BIT_128 | BIT_56 | FIPS;

    /// `128-bit RC4`, `40-bit RC4|FIPS`, `none`.
    pub fn method_names(flags: u32) -> String {
        if flags == NONE {
            return "none".to_string();
        }
        let known = [
            (BIT_40, "40-bit RC4"),
            (BIT_56, "56-bit RC4"),
            (BIT_128, "128-bit RC4"),
            (FIPS, "FIPS (3DES)"),
        ];
        let mut parts: Vec<String> = known
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string())
            .collect();
        let unknown = flags & !ALL;
        if unknown != 0 {
            parts.push(format!("0x{unknown:08X}"));
        }
        parts.join("|")
    }

    /// Encryption level names (2.2.1.4.3): None, Low, Client Compatible, High, FIPS.
    pub fn level_name(level: u32) -> String {
        match level {
            0 => "None".to_string(),
            1 => "Low".to_string(),
            2 => "Client Compatible".to_string(),
            3 => "High".to_string(),
            4 => "FIPS".to_string(),
            other => format!("undefined level {other}"),
        }
    }

    /// `RDP 5.0 to 8.1 (0x00080004)`, from the RDP_VERSION values of 2.2.1.3.2.
    pub fn version_name(version: u32) -> String {
        let name = match version {
            0x0008_0001 => "RDP 4.0".to_string(),
            0x0008_0004 => "RDP 5.0 to 8.1".to_string(),
            0x0008_0005 => "RDP 10.0".to_string(),
            v @ 0x0008_0006..=0x0008_00FF => format!("RDP 10.{}", v - 0x0008_0005),
            _ => "unknown RDP version".to_string(),
        };
        format!("{name} (0x{version:08X})")
    }
}

/// The Standard RDP Security probe: one connection per offer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RdpSecurityObservation {
    /// First the offer of every method, then one per method (40, 56, 128-bit, FIPS).
    pub attempts: Vec<RdpSecurityAttempt>,
}

/// One X.224 request for Standard RDP Security followed by an MCS Connect Initial.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RdpSecurityAttempt {
    /// encryptionMethods offered in the Client Security Data.
    pub offered: u32,
    /// Time from connecting to the end of the attempt.
    pub elapsed_ms: f64,
    pub outcome: RdpSecurityOutcome,
}

/// Which exchange a deadline or failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RdpSecurityPhase {
    X224,
    McsConnect,
}

/// How the server answered one offer.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    expecting = "an RDP Security outcome: kind accepted, mcs-refused, disconnected, negotiation, not-response, connect-failed, route-failed, error, reset, closed or timed-out, with that kind's fields"
)]
pub enum RdpSecurityOutcome {
    /// An MCS Connect Response with result rt-successful.
    Accepted(ServerSecurity),
    /// An MCS Connect Response with another T.125 result (14 = rt-unspecified-failure).
    McsRefused {
        result: u8,
    },
    /// An MCS Disconnect Provider Ultimatum instead of a response (T.125 reason).
    Disconnected {
        reason: u8,
    },
    /// A TPKT arrived that is not a valid Connect Response.
    NotResponse {
        reason: String,
        excerpt_hex: String,
    },
    Error {
        reason: String,
    },
    /// The connection did not get as far as the MCS exchange: the route failed, or the X.224
    /// exchange on this connection did not select Standard RDP Security (`negotiation`).
    #[serde(untagged, with = "crate::open::dialect::rdp_security")]
    Open(OpenFailure),
    /// The connection was reset, closed or silent in one of the exchanges.
    #[serde(untagged)]
    Transport(Transport<RdpSecurityPhase, InPhase<RdpSecurityPhase>>),
}

crate::transport::debug_transparent_transport!(RdpSecurityOutcome {
    McsRefused { result },
    Disconnected { reason },
    NotResponse { reason, excerpt_hex },
    Error { reason },
} tuple Accepted open Open as "Negotiation");

impl RdpSecurityOutcome {
    /// How the connection broke, when it did before an answer.
    pub fn transport(&self) -> Option<&Transport<RdpSecurityPhase, InPhase<RdpSecurityPhase>>> {
        match self {
            RdpSecurityOutcome::Transport(t) => Some(t),
            _ => None,
        }
    }
}

/// What an MCS Connect Response says the server enforces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerSecurity {
    /// Server Core Data version (2.2.1.4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_version: Option<u32>,
    /// Server Core Data clientRequestedProtocols (the server's echo of RDP_NEG_REQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_requested_protocols: Option<u32>,
    /// The method the server chose (2.2.1.4.3), raw.
    pub encryption_method: u32,
    /// 0 None, 1 Low, 2 Client Compatible, 3 High, 4 FIPS (raw).
    pub encryption_level: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_random_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ServerCertificateFacts>,
    /// Why ironrdp-pdu's decoder refused this response, when rdpdoctor's own reading was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_note: Option<String>,
}

/// The certificate in the Server Security Data (2.2.1.4.3.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ServerCertificateFacts {
    /// A proprietary certificate: a bare RSA key "signed" with the publicly known Terminal
    /// Services Signing Key.
    Proprietary {
        temporary: bool,
        /// The key size as the certificate declares it (`bitlen`) when the modulus backs it,
        /// else the modulus' significant bits.
        key_bits: u32,
        public_exponent: u32,
        signature_len: usize,
    },
    /// An X.509 chain; `leaf` is the server's own (last) certificate.
    X509 {
        temporary: bool,
        chain_len: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leaf: Option<Box<Certificate>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Unreadable {
        version: u32,
        length: usize,
        reason: String,
    },
}
