//! Facts from the network probes: DNS, TCP, X.224 negotiation, TLS and the certificate.

use crate::{RouteFailure, Transport};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The phase of a connection a deadline or failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Dns,
    Connect,
    /// Waiting for the X.224 Connection Confirm.
    X224,
    TlsHandshake,
}

/// Name resolution of the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DnsObservation {
    pub name: String,
    pub elapsed_ms: f64,
    pub outcome: DnsOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DnsOutcome {
    /// The host was an address literal; nothing was looked up.
    Literal {
        addresses: Vec<IpAddr>,
    },
    Resolved {
        addresses: Vec<IpAddr>,
    },
    /// The resolver answered with an error (NXDOMAIN, SERVFAIL, no address).
    Failed {
        error: String,
    },
    TimedOut,
}

impl DnsOutcome {
    pub fn addresses(&self) -> &[IpAddr] {
        match self {
            DnsOutcome::Literal { addresses } | DnsOutcome::Resolved { addresses } => addresses,
            _ => &[],
        }
    }
}

/// How one TCP connect ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConnectOutcome {
    Connected,
    /// RST in answer to the SYN.
    Refused,
    /// No answer before the deadline.
    TimedOut,
    /// Host or network unreachable (ICMP), or no route.
    Unreachable {
        error: String,
        /// This machine has no route to the address (ENETUNREACH without an ICMP message):
        /// nothing was sent.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        no_route: bool,
    },
    Error {
        error: String,
    },
}

/// One TCP connect attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TcpAttempt {
    pub address: SocketAddr,
    pub elapsed_ms: f64,
    pub outcome: ConnectOutcome,
}

/// TCP reachability of the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TcpObservation {
    /// Every connect that decided which address to use, in order.
    pub attempts: Vec<TcpAttempt>,
    /// The address the other probes used, when one accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    /// Connect latencies of every connection the probes opened to `address`.
    #[serde(default)]
    pub samples_ms: Vec<f64>,
}

/// RDP protocol flags (MS-RDPBCGR 2.2.1.1.1 requestedProtocols / 2.2.1.2.1 selectedProtocol).
pub mod protocol {
    pub const RDP: u32 = 0x0000_0000;
    pub const SSL: u32 = 0x0000_0001;
    pub const HYBRID: u32 = 0x0000_0002;
    pub const RDSTLS: u32 = 0x0000_0004;
    pub const HYBRID_EX: u32 = 0x0000_0008;
    pub const RDSAAD: u32 = 0x0000_0010;

    /// Both CredSSP flavours, that is NLA: HYBRID, and HYBRID_EX (with Early User Authorization,
    /// MS-RDPBCGR 2.2.10.2).
    pub const NLA: u32 = HYBRID | HYBRID_EX;
    /// What mstsc requests: TLS, and NLA in both flavours.
    pub const MSTSC_DEFAULT: u32 = SSL | NLA;

    /// Whether a request (requestedProtocols) offers NLA in either flavour.
    pub fn offers_nla(requested: u32) -> bool {
        requested & NLA != 0
    }

    /// Short human names of the bits set in `flags` ("RDP" when none is).
    pub fn names(flags: u32) -> String {
        if flags == RDP {
            return "RDP".to_string();
        }
        let known = [
            (SSL, "SSL"),
            (HYBRID, "HYBRID"),
            (RDSTLS, "RDSTLS"),
            (HYBRID_EX, "HYBRID_EX"),
            (RDSAAD, "RDSAAD"),
        ];
        let mut parts: Vec<String> = known
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string())
            .collect();
        let unknown = flags & !known.iter().fold(0, |acc, (bit, _)| acc | bit);
        if unknown != 0 {
            parts.push(format!("0x{unknown:08X}"));
        }
        parts.join("|")
    }

    /// Whether `selected` is one of the values a Connection Confirm may carry in
    /// selectedProtocol (MS-RDPBCGR 2.2.1.2.1): exactly one protocol, never a combination.
    pub fn is_known_selection(selected: u32) -> bool {
        matches!(selected, RDP | SSL | HYBRID | RDSTLS | HYBRID_EX | RDSAAD)
    }

    /// Whether a selected protocol starts with a TLS handshake (everything known but Standard
    /// RDP Security, MS-RDPBCGR 5.4.5). An unknown value is not TLS: nothing is proven about it.
    pub fn is_tls_based(selected: u32) -> bool {
        selected != RDP && is_known_selection(selected)
    }

    /// Whether a selected protocol is CredSSP (NLA), with or without Early User Authorization.
    pub fn is_credssp(selected: u32) -> bool {
        selected == HYBRID || selected == HYBRID_EX
    }

    /// Whether a server that answered `requested` with `selected` chose something the client
    /// never offered (MS-RDPBCGR 3.3.5.3.1: the server selects one of the requested protocols,
    /// or PROTOCOL_RDP, which every client supports).
    pub fn violates_request(requested: u32, selected: u32) -> bool {
        selected != RDP && selected & requested == 0
    }
}

/// An RDP_NEG_FAILURE failureCode (MS-RDPBCGR 2.2.1.2.2). It serializes as the number on the
/// wire, and a code outside the specification is kept as it came ([`NegFailureCode::Other`]).
/// Build one from a number with `From<u32>`, so a known code never lands in `Other`.
/// Its `Debug` text is the number, as it was while the code was a plain `u32` (probes keep such
/// text in saved reasons).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
pub enum NegFailureCode {
    /// 1: the server requires TLS (it refuses Standard RDP Security).
    SslRequiredByServer,
    /// 2: the server allows only Standard RDP Security.
    SslNotAllowedByServer,
    /// 3: the server has no certificate for TLS.
    SslCertNotOnServer,
    /// 4: the request's flags contradict each other.
    InconsistentFlags,
    /// 5: the server requires CredSSP (NLA).
    HybridRequiredByServer,
    /// 6: the server requires TLS with user authentication.
    SslWithUserAuthRequiredByServer,
    /// Any other code, as it came.
    Other(u32),
}

impl NegFailureCode {
    /// The failureCode as on the wire.
    pub fn as_u32(self) -> u32 {
        match self {
            NegFailureCode::SslRequiredByServer => 1,
            NegFailureCode::SslNotAllowedByServer => 2,
            NegFailureCode::SslCertNotOnServer => 3,
            NegFailureCode::InconsistentFlags => 4,
            NegFailureCode::HybridRequiredByServer => 5,
            NegFailureCode::SslWithUserAuthRequiredByServer => 6,
            NegFailureCode::Other(code) => code,
        }
    }

    /// The specification's name of the code (`None` for a code outside it).
    pub fn name(self) -> Option<&'static str> {
        match self {
            NegFailureCode::SslRequiredByServer => Some("SSL_REQUIRED_BY_SERVER"),
            NegFailureCode::SslNotAllowedByServer => Some("SSL_NOT_ALLOWED_BY_SERVER"),
            NegFailureCode::SslCertNotOnServer => Some("SSL_CERT_NOT_ON_SERVER"),
            NegFailureCode::InconsistentFlags => Some("INCONSISTENT_FLAGS"),
            NegFailureCode::HybridRequiredByServer => Some("HYBRID_REQUIRED_BY_SERVER"),
            NegFailureCode::SslWithUserAuthRequiredByServer => {
                Some("SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER")
            }
            NegFailureCode::Other(_) => None,
        }
    }
}

impl std::fmt::Debug for NegFailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.as_u32(), f)
    }
}

impl From<u32> for NegFailureCode {
    fn from(code: u32) -> Self {
        match code {
            1 => NegFailureCode::SslRequiredByServer,
            2 => NegFailureCode::SslNotAllowedByServer,
            3 => NegFailureCode::SslCertNotOnServer,
            4 => NegFailureCode::InconsistentFlags,
            5 => NegFailureCode::HybridRequiredByServer,
            6 => NegFailureCode::SslWithUserAuthRequiredByServer,
            other => NegFailureCode::Other(other),
        }
    }
}

impl From<NegFailureCode> for u32 {
    fn from(code: NegFailureCode) -> Self {
        code.as_u32()
    }
}

/// One X.224 Connection Request with an RDP_NEG_REQ, and what came back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NegotiationAttempt {
    /// requestedProtocols sent in RDP_NEG_REQ.
    pub requested: u32,
    /// Time from sending the request to the end of the attempt.
    pub elapsed_ms: f64,
    pub outcome: NegotiationOutcome,
    /// Set when this answer was not asked for on the wire but follows from the answer to another
    /// request (its requestedProtocols here): e.g. a server that selects SSL for
    /// SSL|HYBRID|HYBRID_EX selects SSL for SSL|HYBRID too (MS-RDPBCGR 3.3.5.3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_by: Option<u32>,
}

/// What answered an X.224 Connection Request (MS-RDPBCGR 2.2.1.2).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    expecting = "a negotiation outcome: kind selected, failure, no-negotiation-data, malformed, not-rdp, connect-failed, route-failed, reset, closed or timed-out, with that kind's fields"
)]
pub enum NegotiationOutcome {
    /// RDP_NEG_RSP (2.2.1.2.1).
    Selected { protocol: u32, flags: u8 },
    /// RDP_NEG_FAILURE (2.2.1.2.2); unknown codes are kept as they came.
    Failure { code: NegFailureCode },
    /// A Connection Confirm without negotiation data (pre-RDP 5.2 behaviour, or a proxy).
    NoNegotiationData,
    /// A TPKT arrived but its X.224 / negotiation content is not valid.
    Malformed { reason: String, excerpt_hex: String },
    /// The first bytes are not a TPKT header: something else is listening.
    NotRdp {
        bytes: usize,
        excerpt_hex: String,
        /// The printable start of the reply, for banners (SSH, HTTP, SMTP...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        excerpt_text: Option<String>,
    },
    /// This attempt never reached the server: the connect failed, or the route would not carry
    /// it (`connect-failed`, `route-failed`).
    #[serde(untagged)]
    Route(RouteFailure),
    /// The connection was reset, closed or silent before a full answer.
    #[serde(untagged)]
    Transport(Transport<Phase>),
}

crate::transport::debug_transparent_transport!(NegotiationOutcome {
    Selected { protocol, flags },
    Failure { code },
    NoNegotiationData {},
    Malformed { reason, excerpt_hex },
    NotRdp { bytes, excerpt_hex, excerpt_text },
} route Route);

impl NegotiationOutcome {
    /// The selectedProtocol of an RDP_NEG_RSP (`None` for any other answer).
    pub fn selected(&self) -> Option<u32> {
        match self {
            NegotiationOutcome::Selected { protocol, .. } => Some(*protocol),
            _ => None,
        }
    }

    /// Whether the server selected a known protocol that starts with a TLS handshake
    /// ([`protocol::is_tls_based`]).
    pub fn selects_tls(&self) -> bool {
        self.selected().is_some_and(protocol::is_tls_based)
    }

    /// Whether the server selected CredSSP (NLA), with or without Early User Authorization.
    pub fn selects_credssp(&self) -> bool {
        self.selected().is_some_and(protocol::is_credssp)
    }

    /// How the connection broke, when it did before a full answer.
    pub fn transport(&self) -> Option<&Transport<Phase>> {
        match self {
            NegotiationOutcome::Transport(t) => Some(t),
            _ => None,
        }
    }
}

/// TLS protocol versions probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "TLS 1.0")]
    Tls10,
    #[serde(rename = "TLS 1.1")]
    Tls11,
    #[serde(rename = "TLS 1.2")]
    Tls12,
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 4] = [
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }

    pub fn is_legacy(self) -> bool {
        matches!(self, TlsVersion::Tls10 | TlsVersion::Tls11)
    }
}

/// The TLS probes: one handshake per version, each on its own connection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TlsObservation {
    pub attempts: Vec<TlsAttempt>,
    /// The certificate of the best completed handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// What that certificate's chain proves: verified for the typed name, a pin or the expected
    /// terminator matched (absent in documents written before it was judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::ChainIdentity>,
}

impl TlsObservation {
    /// The newest version whose handshake completed.
    pub fn newest_completed(&self) -> Option<TlsVersion> {
        self.attempts
            .iter()
            .filter(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
            .map(|a| a.version)
            .max()
    }

    /// Whether a handshake pinned to `version` was tried and reached the server (the X.224
    /// exchange before it selected TLS), without completing.
    pub fn refused(&self, version: TlsVersion) -> bool {
        let tried: Vec<&TlsAttempt> = self
            .attempts
            .iter()
            .filter(|a| a.version == version)
            .collect();
        !tried.is_empty()
            && tried.iter().all(|a| {
                !matches!(
                    a.outcome,
                    TlsOutcome::Completed { .. } | TlsOutcome::NegotiationFailed { .. }
                )
            })
    }
}

/// One TLS handshake pinned to one version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TlsAttempt {
    pub version: TlsVersion,
    /// requestedProtocols of the X.224 request that preceded the handshake on this connection.
    pub requested: u32,
    pub elapsed_ms: f64,
    pub outcome: TlsOutcome,
}

/// How a TLS handshake ended.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    expecting = "a TLS outcome: kind completed, alert-received, client-aborted, not-tls, negotiation-failed, error, reset, closed or timed-out, with that kind's fields"
)]
pub enum TlsOutcome {
    Completed {
        cipher: String,
    },
    /// The server sent a fatal alert (RFC 8446 6.2 / RFC 5246 7.2).
    AlertReceived {
        alert: u8,
    },
    /// Our side ended the handshake, e.g. because the server chose another version than the one
    /// this attempt is pinned to.
    ClientAborted {
        reason: String,
    },
    /// The server answered with bytes that are not a TLS record.
    NotTls {
        bytes: usize,
        excerpt_hex: String,
    },
    /// The X.224 exchange before the handshake did not select TLS this time.
    NegotiationFailed {
        outcome: NegotiationOutcome,
    },
    Error {
        reason: String,
    },
    /// The server reset or closed the connection during the handshake, or the deadline passed.
    #[serde(untagged)]
    Transport(Transport<Phase>),
}

crate::transport::debug_transparent_transport!(TlsOutcome {
    Completed { cipher },
    AlertReceived { alert },
    ClientAborted { reason },
    NotTls { bytes, excerpt_hex },
    NegotiationFailed { outcome },
    Error { reason },
});

impl TlsOutcome {
    /// How the connection broke, when it did during the handshake.
    pub fn transport(&self) -> Option<&Transport<Phase>> {
        match self {
            TlsOutcome::Transport(t) => Some(t),
            _ => None,
        }
    }
}

/// The certificate the server presented for RDP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub subject: String,
    #[serde(default)]
    pub subject_cn: Vec<String>,
    pub issuer: String,
    #[serde(default)]
    pub san_dns: Vec<String>,
    #[serde(default)]
    pub san_ip: Vec<IpAddr>,
    pub serial_hex: String,
    pub sha256_hex: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo (lower-case hex): tells a renewal that kept the
    /// key from a certificate with another key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    /// The SHA-1 thumbprint: what Windows shows and what its certificate store is keyed by.
    pub sha1_hex: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// notAfter is 99991231235959Z, RFC 5280's "no well-defined expiration date" (`not_after`
    /// then holds the latest time representable here).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    /// Issuer equals subject and the certificate's own key verifies its signature.
    pub self_signed: bool,
    /// "RSA", "EC", "Ed25519", ...
    pub key_type: String,
    pub key_bits: u32,
    /// OpenSSL's long name, e.g. "sha256WithRSAEncryption".
    pub signature_algorithm: String,
    /// The digest inside the signature algorithm ("SHA1", "MD5", "SHA256"...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_digest: Option<String>,
    /// Certificates the server sent in all, including this one.
    pub chain_len: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_completed_and_refused_versions() {
        let attempt = |version, outcome| TlsAttempt {
            version,
            requested: protocol::SSL,
            elapsed_ms: 1.0,
            outcome,
        };
        let done = || TlsOutcome::Completed {
            cipher: "x".to_string(),
        };
        let tls = TlsObservation {
            attempts: vec![
                attempt(TlsVersion::Tls12, done()),
                attempt(TlsVersion::Tls13, TlsOutcome::AlertReceived { alert: 70 }),
                attempt(
                    TlsVersion::Tls11,
                    TlsOutcome::NegotiationFailed {
                        outcome: NegotiationOutcome::Transport(Transport::Closed {
                            at: (),
                            bytes: 0,
                        }),
                    },
                ),
            ],
            certificate: None,
            identity: None,
        };
        assert_eq!(tls.newest_completed(), Some(TlsVersion::Tls12));
        assert!(tls.refused(TlsVersion::Tls13));
        // Never reached the server, or never tried: not refused.
        assert!(!tls.refused(TlsVersion::Tls11));
        assert!(!tls.refused(TlsVersion::Tls10));
        assert!(!tls.refused(TlsVersion::Tls12));
    }

    #[test]
    fn neg_failure_codes_are_their_numbers() {
        for n in 0..=8u32 {
            let code = NegFailureCode::from(n);
            assert_eq!(code.as_u32(), n);
            assert_eq!(code.name().is_some(), (1..=6).contains(&n), "{n}");
            assert_eq!(serde_json::to_string(&code).unwrap(), n.to_string());
            assert_eq!(
                serde_json::from_str::<NegFailureCode>(&n.to_string()).unwrap(),
                code
            );
        }
        assert_eq!(
            NegFailureCode::from(5),
            NegFailureCode::HybridRequiredByServer
        );
        assert_eq!(
            NegFailureCode::HybridRequiredByServer.name(),
            Some("HYBRID_REQUIRED_BY_SERVER")
        );
        assert_eq!(NegFailureCode::from(42), NegFailureCode::Other(42));
        // Debug text as when the code was a u32: probes keep it in saved reasons.
        let refused = NegotiationOutcome::Failure {
            code: NegFailureCode::SslNotAllowedByServer,
        };
        assert_eq!(format!("{refused:?}"), "Failure { code: 2 }");
        assert!(serde_json::from_str::<NegFailureCode>("-1").is_err());
    }

    #[test]
    fn names_nla_and_what_an_answer_selected() {
        assert_eq!(protocol::NLA, 0x0a);
        assert_eq!(protocol::MSTSC_DEFAULT, 0x0b);
        assert!(protocol::offers_nla(protocol::SSL | protocol::HYBRID));
        assert!(protocol::offers_nla(protocol::HYBRID_EX));
        assert!(!protocol::offers_nla(protocol::SSL | protocol::RDSTLS));
        let selected = |protocol| NegotiationOutcome::Selected { protocol, flags: 0 };
        assert!(selected(protocol::HYBRID_EX).selects_credssp());
        assert!(selected(protocol::HYBRID_EX).selects_tls());
        assert!(selected(protocol::SSL).selects_tls());
        assert!(!selected(protocol::SSL).selects_credssp());
        assert!(!selected(protocol::RDP).selects_tls());
        // A combination is no valid selection: neither TLS nor CredSSP is proven.
        assert!(!selected(protocol::NLA).selects_tls());
        assert!(!selected(protocol::NLA).selects_credssp());
        let five = NegotiationOutcome::Failure {
            code: NegFailureCode::HybridRequiredByServer,
        };
        assert_eq!(five.selected(), None);
        assert!(!NegotiationOutcome::NoNegotiationData.selects_tls());
    }
}
