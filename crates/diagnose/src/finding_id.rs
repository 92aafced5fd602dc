//! Finding ids as a type. The kebab-case strings are a public contract (scripts, alert rules and
//! CI gates match on them), so each variant's string never changes; JSON carries the string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Declares the enum with each variant's public string, and the list of every variant.
macro_rules! finding_ids {
    ($($variant:ident => $id:literal,)*) => {
        /// Every finding rdpdoctor can report. Each has one catalog entry (`catalog::get`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingId {
            $($variant,)*
        }

        impl FindingId {
            /// Every id, in catalog order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)*];

            /// The public kebab-case id (`cert-expired`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $id,)*
                }
            }
        }
    };
}

finding_ids! {
    DnsFailure => "dns-failure",
    PortClosed => "port-closed",
    PortFiltered => "port-filtered",
    ConnectionReset => "connection-reset",
    ClosedWithoutReply => "closed-without-reply",
    NoReply => "no-reply",
    NotRdp => "not-rdp",
    CertNotOnServer => "cert-not-on-server",
    NegotiationRefused => "negotiation-refused",
    TlsNotAllowed => "tls-not-allowed",
    SecurityDowngrade => "security-downgrade",
    LegacyNegotiation => "legacy-negotiation",
    NlaNotEnforced => "nla-not-enforced",
    NlaRequired => "nla-required",
    TlsRequired => "tls-required",
    TlsHandshakeFailed => "tls-handshake-failed",
    TlsLegacyOnly => "tls-legacy-only",
    TlsModernOnly => "tls-modern-only",
    TlsLegacyEnabled => "tls-legacy-enabled",
    CertExpired => "cert-expired",
    CertNotYetValid => "cert-not-yet-valid",
    CertExpiringSoon => "cert-expiring-soon",
    CertNameMismatch => "cert-name-mismatch",
    CertWeakKey => "cert-weak-key",
    CertWeakSignature => "cert-weak-signature",
    CertSelfSigned => "cert-self-signed",
    UnknownProtocolSelected => "unknown-protocol-selected",
    NegotiationProtocolViolation => "negotiation-protocol-violation",
    McsResponseMalformed => "mcs-response-malformed",
    CredsspResponseMalformed => "credssp-response-malformed",
    CredsspPubkeyMismatch => "credssp-pubkey-mismatch",
    CredentialsNotDelegated => "credentials-not-delegated",
    CertChanged => "cert-changed",
    InterceptionSuspected => "interception-suspected",
    CertRenewed => "cert-renewed",
    FarmNodeChanged => "farm-node-changed",
    ExpectedTerminator => "expected-terminator",
    RdpSecurityOnly => "rdp-security-only",
    EncryptionLevelLow => "encryption-level-low",
    EncryptionFipsRequired => "encryption-fips-required",
    EncryptionMismatch => "encryption-mismatch",
    WeakServerKey => "weak-server-key",
    CredsspOracleMismatch => "credssp-oracle-mismatch",
    HostIdentityMismatch => "host-identity-mismatch",
    ClockSkew => "clock-skew",
    AuthOk => "auth-ok",
    AccessDenied => "access-denied",
    ServerDeniedConnection => "server-denied-connection",
    ServerErrorInfo => "server-error-info",
    LicensingFailure => "licensing-failure",
    Redirected => "redirected",
    SessionDropped => "session-dropped",
    SessionNotReached => "session-not-reached",
    SessionUnusable => "session-unusable",
    RdpDisabled => "rdp-disabled",
    CertPrivateKeyInaccessible => "cert-private-key-inaccessible",
    CertRenewalFailed => "cert-renewal-failed",
    TlsDisabledInSchannel => "tls-disabled-in-schannel",
    TermserviceDisabled => "termservice-disabled",
    LogonsDisabled => "logons-disabled",
    FirewallDrop => "firewall-drop",
    FirewallRuleDisabled => "firewall-rule-disabled",
    SecurityLayerRdp => "security-layer-rdp",
    NlaDisabled => "nla-disabled",
    SessionLimit => "session-limit",
    PortChanged => "port-changed",
    FipsPolicyEnabled => "fips-policy-enabled",
    CredsspOracleVulnerable => "credssp-oracle-vulnerable",
    CustomCertUnusable => "custom-cert-unusable",
    SecurityLayerError => "security-layer-error",
    TlsAlertSent => "tls-alert-sent",
    TlsAlertReceived => "tls-alert-received",
    ClientDisconnectCode => "client-disconnect-code",
    LogonFailure => "logon-failure",
    AccountRestricted => "account-restricted",
    LogonRightMissing => "logon-right-missing",
    AccountLocked => "account-locked",
    AccountDisabled => "account-disabled",
    PasswordExpired => "password-expired",
    PasswordMustChange => "password-must-change",
    ClientsFail => "clients-fail",
    DnsTimeout => "dns-timeout",
    PortRejectedByFirewall => "port-rejected-by-firewall",
    HostUnreachable => "host-unreachable",
    NoRoute => "no-route",
    AddressUnreachable => "address-unreachable",
    TlsResetInPath => "tls-reset-in-path",
    TlsDroppedInPath => "tls-dropped-in-path",
    PathMtuBlackhole => "path-mtu-blackhole",
    HighLatency => "high-latency",
    PacketLoss => "packet-loss",
    GatewayUnreachable => "gateway-unreachable",
    GatewayNotAGateway => "gateway-not-a-gateway",
    GatewayWebsocketRefused => "gateway-websocket-refused",
    GatewayCertUntrusted => "gateway-cert-untrusted",
    GatewayCertNameMismatch => "gateway-cert-name-mismatch",
    GatewayCertExpired => "gateway-cert-expired",
    GatewayAuthRequired => "gateway-auth-required",
    GatewayAuthFailed => "gateway-auth-failed",
    GatewayAuthMethodUnsupported => "gateway-auth-method-unsupported",
    GatewayPolicyDenied => "gateway-policy-denied",
    GatewayBusy => "gateway-busy",
    GatewayTargetUnreachable => "gateway-target-unreachable",
    GatewayTlsFailed => "gateway-tls-failed",
    GatewayTunnelFailed => "gateway-tunnel-failed",
    RedirectTargetUnreachable => "redirect-target-unreachable",
    RdpFileSettingBreaks => "rdp-file-setting-breaks",
    KerberosKdcNotFound => "kerberos-kdc-not-found",
    KerberosKdcUnreachable => "kerberos-kdc-unreachable",
    KerberosSpnMissing => "kerberos-spn-missing",
    KerberosClockSkew => "kerberos-clock-skew",
    KerberosPreauthFailed => "kerberos-preauth-failed",
    KerberosEtypeUnsupported => "kerberos-etype-unsupported",
    NtlmBlocked => "ntlm-blocked",
    KerberosNotUsed => "kerberos-not-used",
    UdpTransportUnavailable => "udp-transport-unavailable",
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A string that names no finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding id '{0}' (`rdpdoctor findings` lists every id)")]
pub struct UnknownFindingId(pub String);

impl FromStr for FindingId {
    type Err = UnknownFindingId;

    fn from_str(s: &str) -> Result<FindingId, UnknownFindingId> {
        FindingId::ALL
            .iter()
            .copied()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownFindingId(s.to_string()))
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FindingId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A report's finding id (a string, so reports from other versions still load) against a typed id.
impl PartialEq<FindingId> for String {
    fn eq(&self, other: &FindingId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<FindingId> for &str {
    fn eq(&self, other: &FindingId) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_id_round_trips_through_as_str_from_str_and_serde() {
        let mut seen = HashSet::new();
        for &id in FindingId::ALL {
            assert!(seen.insert(id.as_str()), "{id} spelled twice");
            assert_eq!(id.as_str().parse::<FindingId>(), Ok(id));
            assert_eq!(id.to_string(), id.as_str());
            let json = serde_json::to_string(&id).expect("serializes");
            assert_eq!(json, format!("\"{}\"", id.as_str()));
            assert_eq!(
                serde_json::from_str::<FindingId>(&json).expect("parses"),
                id
            );
            assert!(
                id.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id} is not kebab-case"
            );
        }
        assert!("cert-expird".parse::<FindingId>().is_err());
        assert!(serde_json::from_str::<FindingId>("\"cert-expird\"").is_err());
    }
}
