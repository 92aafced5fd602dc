//! What `check --clients` learns about the server's TLS policy beyond "which versions complete":
//! the cipher suites it accepts per version (in its own order when it imposes one), the
//! key-exchange groups, the signature of the handshake and whether the certificate verifies
//! against the system trust store. Every field has a serde default so documents written before
//! this existed still load.

use crate::TlsVersion;
use serde::{Deserialize, Serialize};

/// The enumeration of every TLS version that completed a handshake.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CipherScan {
    /// One entry per TLS version the server completed, oldest first.
    #[serde(default)]
    pub versions: Vec<VersionScan>,
    /// Connections the enumeration opened (its budget is 40).
    #[serde(default)]
    pub connections: u32,
    #[serde(default)]
    pub elapsed_ms: f64,
    /// requestedProtocols of the X.224 request that carried every handshake.
    #[serde(default)]
    pub requested: u32,
    /// Whether the certificate chain verifies against the probing machine's system trust store
    /// for the probed name (`None`: no certificate was seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_verified: Option<bool>,
    /// Why it does not verify, in OpenSSL's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_problem: Option<String>,
}

/// What one TLS version accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionScan {
    pub version: TlsVersion,
    /// IANA names of the suites the server accepted, in the order it chose them when it imposes
    /// its own order (`server_order == Some(true)`), else in the order the probe offered them.
    #[serde(default)]
    pub accepted: Vec<String>,
    /// Whether the server picks by its own preference rather than the client's (`None`: fewer
    /// than two suites accepted, or the check was cut short).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_order: Option<bool>,
    /// Key-exchange groups the server accepted (TLS 1.3, and ECDHE suites of older versions),
    /// in the order it chose them; empty when no suite needs one or they were not enumerated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Whether `groups` is the full list (every group the probe offers was tried).
    #[serde(default)]
    pub groups_complete: bool,
    /// The signature algorithm of the server's key exchange (TLS 1.2 and older ServerKeyExchange;
    /// TLS 1.3 sends it encrypted, so it stays unknown there), e.g. `rsa_pkcs1_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Size in bits of the finite-field Diffie-Hellman prime, when a DHE suite was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dh_bits: Option<u32>,
    /// Whether `accepted` is the full list: false when the connection budget or the deadline cut
    /// the enumeration short, or a connection failed on the way.
    #[serde(default)]
    pub complete: bool,
    /// Why the enumeration stopped early, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl CipherScan {
    /// The scan of `version`, if that version completed.
    pub fn version(&self, version: TlsVersion) -> Option<&VersionScan> {
        self.versions.iter().find(|v| v.version == version)
    }
}
