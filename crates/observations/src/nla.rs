//! Facts from the NLA probes: the server's NTLM CHALLENGE read without credentials (MS-CSSP 2.2.1,
//! MS-NLMP 2.2.1.2), and, when the user gave an account, how the server answered its logon.
//!
//! No type here holds a password, a hash or any other secret: the user name is the only part of
//! the credentials that is ever recorded.

use crate::{InPhase, OpenFailure, Transport};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The step of the NLA exchange a failure or deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NlaPhase {
    Connect,
    X224,
    TlsHandshake,
    /// Waiting for the TSRequest with the NTLM CHALLENGE.
    Challenge,
    /// Waiting for the server's answer to the NTLM AUTHENTICATE (its verdict on the credentials).
    Authenticate,
    /// Waiting for the Early User Authorization Result (HYBRID_EX, after TSCredentials).
    EarlyUserAuthorization,
}

/// VERSION of the CHALLENGE (MS-NLMP 2.2.2.10): the server's Windows version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
}

/// What the server says about itself in its NTLM CHALLENGE.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NtlmInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios_computer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_computer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_domain: Option<String>,
    /// The forest (MsvAvDnsTreeName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_tree: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<OsVersion>,
    /// The server's clock (MsvAvTimestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<Timestamp>,
    /// Our clock when the CHALLENGE arrived, to compare with `server_time` on replay too.
    pub received_at: Timestamp,
    /// NegotiateFlags of the CHALLENGE.
    pub flags: u32,
}

impl NtlmInfo {
    /// Whether the server is in a workgroup rather than a domain: a computer that is not joined
    /// to a domain names itself in MsvAvNbDomainName (MS-NLMP 2.2.2.1), so that field equals
    /// MsvAvNbComputerName (Windows fills the DNS domain field with its own name as well).
    pub fn is_workgroup(&self) -> bool {
        match (&self.netbios_domain, &self.netbios_computer) {
            (Some(domain), Some(computer)) => domain.eq_ignore_ascii_case(computer),
            _ => false,
        }
    }
}

/// How the credential-less CredSSP exchange ended.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    expecting = "an NLA outcome: kind challenge, error-code, connect-failed, route-failed, not-selected, tls-failed, malformed, reset, closed or timed-out, with that kind's fields"
)]
pub enum NlaOutcome {
    /// The server answered the NEGOTIATE with a CHALLENGE.
    Challenge { info: NtlmInfo },
    /// The server answered with a TSRequest carrying errorCode (an NTSTATUS), no CHALLENGE.
    ErrorCode { code: u32 },
    /// Bytes that are not a TSRequest or not an NTLM CHALLENGE.
    Malformed { reason: String, excerpt_hex: String },
    /// The connection did not get as far as CredSSP: the route failed, the X.224 exchange did
    /// not select CredSSP (`not-selected`), or TLS under CredSSP failed (`tls-failed`).
    #[serde(untagged, with = "crate::open::dialect::nla")]
    Open(OpenFailure),
    /// The connection was reset, closed or silent in one of the exchange's phases.
    #[serde(untagged)]
    Transport(Transport<NlaPhase, InPhase<NlaPhase>>),
}

crate::transport::debug_transparent_transport!(NlaOutcome {
    Challenge { info },
    ErrorCode { code },
    Malformed { reason, excerpt_hex },
} open Open as "NotSelected");

impl NlaOutcome {
    /// How the connection broke, when it did before the exchange ended.
    pub fn transport(&self) -> Option<&Transport<NlaPhase, InPhase<NlaPhase>>> {
        match self {
            NlaOutcome::Transport(t) => Some(t),
            _ => None,
        }
    }
}

/// The credential-less NLA probe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NlaObservation {
    /// requestedProtocols of the X.224 request that opened the connection.
    pub requested: u32,
    /// The protocol the server selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<u32>,
    /// The version of the server's first TSRequest (MS-CSSP 2.2.1): 5 and later carry the
    /// CVE-2018-0886 fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_request_version: Option<u32>,
    pub elapsed_ms: f64,
    pub outcome: NlaOutcome,
}

/// How the server answered a logon with the user's credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LogonOutcome {
    /// The server accepted the NTLM AUTHENTICATE and proved it holds the TLS key (its pubKeyAuth
    /// verified). Nothing was delegated unless `delegated` says so.
    Accepted,
    /// The server answered with a TSRequest errorCode (an NTSTATUS such as 0xC000006D).
    ErrorCode {
        code: u32,
    },
    /// The server closed the connection (or reset it) in answer to the AUTHENTICATE, without a
    /// code: how older servers and FreeRDP reject a logon.
    ClosedAfterAuthenticate {
        reset: bool,
    },
    /// The server answered, but its pubKeyAuth did not verify (CredSSP binding mismatch: an
    /// interception, or a CredSSP implementation that disagrees with ours).
    PubKeyAuthMismatch {
        reason: String,
    },
    /// The server answered the AUTHENTICATE without pubKeyAuth and without an error code (or
    /// with errorCode 0, STATUS_SUCCESS): it never proved that it holds the TLS key, so the
    /// logon is unproven. `answer` says what the TSRequest carried instead.
    PubKeyAuthMissing {
        answer: String,
    },
    /// A CredSSP answer in `phase` (the CHALLENGE, or the answer to the AUTHENTICATE) could not
    /// be decoded, or the CredSSP library could not process it (a panic inside it included):
    /// no verdict on the credentials.
    Malformed {
        phase: NlaPhase,
        reason: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        excerpt_hex: String,
    },
    /// Early User Authorization Result (HYBRID_EX, MS-RDPBCGR 2.2.10.2), kept raw.
    EarlyUserAuthorization {
        result: u32,
    },
    /// The NTLM AUTHENTICATE was not sent: signs gathered earlier in the same check say that
    /// something other than the server may terminate the connection (each sign as evidence).
    Withheld {
        signs: Vec<String>,
    },
    /// The exchange could not get as far as the server's verdict.
    Failed {
        phase: NlaPhase,
        reason: String,
    },
    TimedOut {
        phase: NlaPhase,
        bytes: usize,
    },
}

impl LogonOutcome {
    /// Whether this is the server's verdict on the credentials: accepted with a verified
    /// pubKeyAuth, or refused (an error code, a close in answer to the AUTHENTICATE, an Early
    /// User Authorization Result). Anything else leaves the logon unproven.
    pub fn is_verdict(&self) -> bool {
        matches!(
            self,
            LogonOutcome::Accepted
                | LogonOutcome::ErrorCode { .. }
                | LogonOutcome::ClosedAfterAuthenticate { .. }
                | LogonOutcome::EarlyUserAuthorization { .. }
        )
    }
}

/// The logon probe (`check --user`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogonObservation {
    /// The account as given (`DOMAIN\user` or `user@domain`); never the password.
    pub user: String,
    /// The security package used ("NTLM").
    pub package: String,
    /// Why this package ran: the configured one, the default, a fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_reason: Option<String>,
    /// The package and its reason as the logon's own negotiation decided them (Kerberos when a
    /// ticket for TERMSRV/<name> could be had, NTLM otherwise, as Windows' Negotiate does);
    /// absent when the package was configured rather than negotiated (and in older documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<crate::PackageChoice>,
    /// The KDC round trips the logon's Kerberos package made (AS and TGS exchanges), recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kdc_exchanges: Vec<crate::KdcExchange>,
    /// Whether TSCredentials (the password, encrypted) were sent to the server: only with
    /// `--full`.
    pub delegated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_request_version: Option<u32>,
    pub elapsed_ms: f64,
    pub outcome: LogonOutcome,
}
