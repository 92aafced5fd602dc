//! Facts from the Kerberos readiness checks: which realm and KDC a Windows client would use for
//! this server, whether the KDC answers (88/TCP, 88/UDP, or a KDC proxy), what it answers (every
//! request and reply, with the KDC's clock and error codes), and which security package the
//! client's Negotiate would therefore pick for CredSSP.
//!
//! No type here holds a password, a key or a ticket: requests are recorded by what they asked
//! for, replies by their message type, error code, e-text, the KDC's time and the encryption
//! types offered.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Where the realm came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RealmSource {
    /// `--user user@REALM`.
    UserPrincipal,
    /// `--user DOMAIN\user` with a DNS-style DOMAIN (`LAB.TEST\user`).
    UserDomain,
    /// The DNS domain the server announced in its NTLM CHALLENGE (MsvAvDnsDomainName), taken
    /// for `--user DOMAIN\user` when DOMAIN is the CHALLENGE's NetBIOS domain, for a user
    /// without a domain, or without `--user`.
    NtlmChallenge,
    /// None could be found.
    None,
}

/// Whose name the KDC was asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// The `--user` account.
    User,
    /// Without `--user`: the server's own computer account (`NETBIOSNAME$` from its NTLM
    /// CHALLENGE), which exists wherever the server is joined; enough to read the KDC's clock
    /// and whether it knows the service principal.
    ComputerAccount,
}

/// How the KDC was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KdcSource {
    /// The DNS SRV records `_kerberos._tcp.REALM` / `_kerberos._udp.REALM` (RFC 4120 7.2.3.2),
    /// as a Windows client's DC locator finds them.
    Srv,
    /// `--kdc HOST[:PORT]`.
    Named,
    /// `--kdc-proxy URL` (MS-KKDCP).
    Proxy,
}

/// A DNS SRV record (RFC 2782).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// How a SRV query ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SrvOutcome {
    Records {
        records: Vec<SrvRecord>,
    },
    /// An answer without records: NXDOMAIN (rcode 3) or no data (rcode 0).
    NoRecords {
        rcode: u8,
    },
    TimedOut,
    Error {
        error: String,
    },
}

/// One SRV query to one resolver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SrvLookup {
    pub name: String,
    pub resolver: SocketAddr,
    pub elapsed_ms: f64,
    pub outcome: SrvOutcome,
}

/// A KDC the checks asked, with what its name resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdcEndpoint {
    /// The host name (from a SRV record or `--kdc`), or the address as given.
    pub name: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<IpAddr>,
    /// Why the name did not resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_error: Option<String>,
    /// The transports the SRV records name it for ("tcp", "udp"); both for `--kdc`.
    pub transports: Vec<KdcTransport>,
}

/// How a request travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KdcTransport {
    Tcp,
    Udp,
    /// HTTPS to a KDC proxy (MS-KKDCP).
    Kkdcp,
}

impl KdcTransport {
    pub fn label(self) -> &'static str {
        match self {
            KdcTransport::Tcp => "TCP",
            KdcTransport::Udp => "UDP",
            KdcTransport::Kkdcp => "KDC proxy (HTTPS)",
        }
    }
}

/// What a request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KdcStep {
    /// AS-REQ without pre-authentication for krbtgt/REALM: does the KDC answer, with which
    /// clock, and which keys does the account have (no secret is sent).
    Probe,
    /// AS-REQ without pre-authentication for the TERMSRV principal itself: does the KDC know it
    /// (no password needed).
    ServiceProbe,
    /// AS-REQ with PA-ENC-TIMESTAMP: the ticket-granting ticket.
    Tgt,
    /// The same, once more, timestamped with the KDC's clock after KRB_AP_ERR_SKEW (as MIT and
    /// sspi do), so the checks after it still run.
    TgtRetry,
    /// TGS-REQ for the TERMSRV principal: the service ticket a CredSSP logon needs.
    ServiceTicket,
    /// A request the CredSSP logon's Kerberos package sent (sspi).
    Logon,
}

/// The KDC's error, as the KRB-ERROR said it (RFC 4120 5.9.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KrbErrorFacts {
    /// error-code (RFC 4120 7.5.9).
    pub code: u32,
    /// The KDC's clock (stime, susec).
    pub kdc_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_text: Option<String>,
    /// The service principal the error is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// The encryption types of the account's keys (ETYPE-INFO2, with KDC_ERR_PREAUTH_REQUIRED).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etypes: Vec<i32>,
    /// The pre-authentication types the KDC offers (METHOD-DATA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pa_types: Vec<i32>,
    /// The NTSTATUS of a Windows KDC's extended error (KERB-EXT-ERROR, MS-KILE 2.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nt_status: Option<u32>,
}

/// How one exchange with a KDC ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KdcOutcome {
    /// An AS-REP or TGS-REP: the ticket was issued. `ticket_etype` is the encryption type of
    /// the ticket (the service's key).
    Ticket {
        message: String,
        received_at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket_etype: Option<i32>,
    },
    /// A KRB-ERROR.
    Error {
        received_at: Timestamp,
        error: KrbErrorFacts,
    },
    /// No answer within the deadline (`phase`: connect, send or receive).
    TimedOut { phase: String },
    /// The connection was refused (TCP reset to the SYN, or ICMP port unreachable for UDP).
    Refused,
    /// The network said the KDC cannot be reached (ICMP host or network unreachable).
    Unreachable { error: String },
    /// The KDC closed or reset the connection before a whole answer (`bytes` read).
    Closed { bytes: usize, reset: bool },
    /// An answer that is not a Kerberos message, or does not belong to the request.
    Malformed { reason: String, excerpt_hex: String },
    /// The request could not be sent (the KDC proxy's TLS or HTTP status, a local error).
    Failed { reason: String },
}

impl KdcOutcome {
    /// Whether the KDC (or the proxy in front of it) answered with a Kerberos message.
    pub fn answered(&self) -> bool {
        matches!(self, KdcOutcome::Ticket { .. } | KdcOutcome::Error { .. })
    }

    /// The KRB-ERROR, when the answer is one.
    pub fn error(&self) -> Option<&KrbErrorFacts> {
        match self {
            KdcOutcome::Error { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One request to a KDC and what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KdcExchange {
    pub step: KdcStep,
    /// The KDC's name (or the proxy's URL).
    pub kdc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    pub transport: KdcTransport,
    /// "AS-REQ" or "TGS-REQ".
    pub request: String,
    /// The client and service principals asked about (`kuser@LAB.TEST`, `TERMSRV/rdp-k.lab.test`).
    pub client: String,
    pub service: String,
    /// Whether the request carried PA-ENC-TIMESTAMP (derived from the password).
    pub preauth: bool,
    pub elapsed_ms: f64,
    pub outcome: KdcOutcome,
}

/// Whether the pre-authentication (PA-ENC-TIMESTAMP) was sent, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Preauth {
    /// Sent to the KDC the rule allows (see `README`, "Credentials: the delegation rule").
    Sent,
    /// No password (no `--user`).
    NoPassword,
    /// Not sent: the reason (a realm only the server named, signs of interception, a KDC proxy
    /// whose certificate does not verify, ...).
    Withheld { reason: String },
    /// The checks before it ended the sequence (no KDC, no answer, unknown account...).
    NotReached,
}

/// Which security package a Windows client's Negotiate would use for CredSSP here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Package {
    Kerberos,
    Ntlm,
    /// Neither: Kerberos fails in a way Negotiate does not fall back from (a wrong password, a
    /// clock skew the client does not correct).
    None,
}

impl Package {
    pub fn label(self) -> &'static str {
        match self {
            Package::Kerberos => "Kerberos",
            Package::Ntlm => "NTLM",
            Package::None => "neither",
        }
    }
}

/// Why that package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageReason {
    /// A service ticket for the TERMSRV principal was issued.
    TicketIssued,
    /// Everything checked without a password agrees (KDC answers, knows the SPN, clock within
    /// tolerance); the ticket itself was not requested.
    Ready,
    /// The target is an IP address: clients ask for no ticket for an address (MS-CSSP, "Microsoft
    /// Negotiate"), unless TryIPSPN and an address SPN were set up.
    AddressTarget,
    /// The server is in a workgroup (no domain in its NTLM CHALLENGE) and no realm was given.
    Workgroup,
    /// No realm could be found for the user.
    NoRealm,
    KdcNotFound,
    KdcUnreachable,
    SpnMissing,
    ClockSkew,
    PreauthFailed,
    EtypeUnsupported,
    ClientUnknown,
    ClientRevoked,
    /// Another KDC error (in the exchanges).
    KdcError,
    /// The checks could not get far enough to tell (pre-authentication withheld, an answer that
    /// does not decode).
    Undetermined,
}

/// The package choice and its reason, in words for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChoice {
    pub package: Package,
    pub reason: PackageReason,
    pub detail: String,
}

/// Everything the Kerberos readiness checks found (`check` of a domain server, or with
/// `--user`, `--kdc`, `--kdc-proxy`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KerberosObservation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    pub realm_source: RealmSource,
    /// The client principal asked about (`kuser@LAB.TEST`, `RDP-K$@LAB.TEST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_kind: Option<ClientKind>,
    /// The service principal a client asks a ticket for: TERMSRV/ and the name as typed (for an
    /// address target: the computer's DNS name from its NTLM CHALLENGE, what the fix would use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spn: Option<String>,
    /// Whether `spn` is the typed name's (false: the CHALLENGE's name, for an address target).
    #[serde(default)]
    pub spn_is_typed_name: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdc_source: Option<KdcSource>,
    /// The KDC proxy URL (`--kdc-proxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdc_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub srv: Vec<SrvLookup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kdcs: Vec<KdcEndpoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<KdcExchange>,
    pub preauth: Preauth,
    pub package: PackageChoice,
    pub elapsed_ms: f64,
}

impl KerberosObservation {
    /// The exchanges of `step`, in order.
    pub fn steps(&self, step: KdcStep) -> impl Iterator<Item = &KdcExchange> {
        self.exchanges.iter().filter(move |e| e.step == step)
    }

    /// The last answer (a ticket or an error) to a request of `step`.
    pub fn answer(&self, step: KdcStep) -> Option<&KdcExchange> {
        self.steps(step).filter(|e| e.outcome.answered()).last()
    }
}

impl KerberosObservation {
    /// How far the KDC's clock is ahead of ours (negative: behind), in seconds: from the first
    /// KRB-ERROR (its stime against when it arrived, RFC 4120 5.9.1). `None` without one.
    pub fn kdc_clock_offset(&self) -> Option<f64> {
        self.exchanges.iter().find_map(|e| match &e.outcome {
            KdcOutcome::Error { received_at, error } => {
                let d = error.kdc_time.duration_since(*received_at);
                Some(d.as_secs_f64())
            }
            _ => None,
        })
    }

    /// The answer the checks went on with after the probe: the first KRB-ERROR or ticket over
    /// TCP, else over UDP or through the proxy.
    pub fn probe_answer(&self) -> Option<&KdcExchange> {
        let answered = || self.steps(KdcStep::Probe).filter(|e| e.outcome.answered());
        answered()
            .find(|e| e.transport == KdcTransport::Tcp)
            .or_else(|| answered().next())
    }
}
