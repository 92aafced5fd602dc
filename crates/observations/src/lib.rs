//! Observations: the facts a probe or an evidence reader gathered, and nothing more.
//!
//! Everything here is plain data that serializes to a versioned JSON document (`--save`), so a
//! diagnosis can be replayed without a network and merged with facts read from the Windows side.
//! Failures are observations too: a refused connect, a reset, a silent server, bytes that are not
//! RDP. No type here decides what a fact means; that is `rdpdoctor-diagnose`'s job.

mod ciphers;
mod evidence;
mod gateway;
mod intercept;
mod kerberos;
mod network;
mod nla;
mod open;
mod path;
mod rdp_file;
mod rdp_security;
mod redirect;
mod session;
mod target;
mod transport;
mod ttl_walk;
mod udp;

pub use ciphers::*;
pub use evidence::*;
pub use gateway::*;
pub use intercept::*;
pub use kerberos::*;
pub use network::*;
pub use nla::*;
pub use open::*;
pub use path::*;
pub use rdp_file::*;
pub use rdp_security::*;
pub use redirect::*;
pub use session::*;
pub use target::{HostKind, Target, TargetError, DEFAULT_PORT};
pub use transport::*;
pub use ttl_walk::*;
pub use udp::*;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The schema identifier written into every saved document. Bump the number on incompatible
/// changes; readers refuse documents with another major schema.
pub const SCHEMA: &str = "rdpdoctor.observations/1";

/// Every fact gathered about one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Observations {
    pub schema: String,
    /// The probed target, absent when only offline evidence was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// Wall-clock time the whole probe took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The per-phase deadline the probe ran with, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// What carried the probe connections to the server (direct TCP, a gateway tunnel...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteObservation>,
    /// The RD Gateway leg, when the check went through a gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayObservation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsObservation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpObservation>,
    /// One entry per X.224 Connection Request sent (MS-RDPBCGR 2.2.1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negotiation: Vec<NegotiationAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsObservation>,
    /// What the server enforces under Standard RDP Security (MCS Connect Response per offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_security: Option<RdpSecurityObservation>,
    /// The NTLM CHALLENGE read without credentials (MS-CSSP, MS-NLMP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nla: Option<NlaObservation>,
    /// The logon with the user's credentials (`check --user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logon: Option<LogonObservation>,
    /// Kerberos readiness: realm, KDC, its answers, and the package a client would use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos: Option<KerberosObservation>,
    /// The full connection (`check --full`): phase reached and the server's codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionObservation>,
    /// The second leg after a Server Redirection PDU (`check --full`): the candidates tried and
    /// the check of the server reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectLeg>,
    /// The `.rdp` file the check followed (`check FILE.rdp`, `--rdp-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_file: Option<RdpFileObservation>,
    /// Cipher suites, groups and handshake signature per TLS version (`check --clients`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphers: Option<CipherScan>,
    /// The network path: TCP statistics, ICMP errors, other addresses, retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathObservation>,
    /// The RDP UDP transport: one SYN datagram to the server's UDP port (`check --udp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpTransportObservation>,
    /// The certificate the client expected (a pin, or the one remembered for this target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_certificate: Option<CertificateExpectation>,
    /// Facts read from event log and registry exports of the same server (and its clients).
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

impl Observations {
    /// An empty document for `target`.
    pub fn new(target: Option<Target>) -> Self {
        Observations {
            schema: SCHEMA.to_string(),
            target,
            started_at: None,
            duration_ms: None,
            timeout_secs: None,
            route: None,
            gateway: None,
            dns: None,
            tcp: None,
            negotiation: Vec::new(),
            tls: None,
            rdp_security: None,
            nla: None,
            logon: None,
            kerberos: None,
            session: None,
            redirect: None,
            rdp_file: None,
            ciphers: None,
            path: None,
            udp: None,
            expected_certificate: None,
            evidence: Evidence::default(),
        }
    }

    /// Reads a saved document, refusing other schemas. A leading byte order mark (U+FEFF, as
    /// Windows editors keep it after decoding) is ignored.
    pub fn from_json(text: &str) -> Result<Self, LoadError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: serde_json::Value = serde_json::from_str(text).map_err(LoadError::Json)?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_str())
            .ok_or(LoadError::NoSchema)?
            .to_string();
        if schema != SCHEMA {
            return Err(LoadError::Schema(schema));
        }
        serde_json::from_value(value).map_err(LoadError::Json)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data structs to a String cannot fail; fall back to an empty object
        // rather than panicking if a future field ever makes it fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// Why a saved observations document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not an rdpdoctor observations document: {0}")]
    Json(serde_json::Error),
    #[error("no \"schema\" field: not an rdpdoctor observations document (write one with `rdpdoctor check HOST --save FILE`)")]
    NoSchema,
    #[error("schema {0:?} is not supported by this version (it reads {SCHEMA})")]
    Schema(String),
}
