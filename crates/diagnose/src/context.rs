//! What a diagnosis depends on besides the observations: the clock and the client.

use jiff::Timestamp;
use rdpdoctor_observations::TlsVersion;

/// The client whose experience severities describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientProfile {
    pub name: &'static str,
    pub description: &'static str,
    /// TLS versions this client can complete.
    pub tls_versions: &'static [TlsVersion],
}

/// Profiles a user can pick with `--client`.
pub const PROFILES: &[ClientProfile] = &[
    ClientProfile {
        name: "windows",
        description: "up-to-date mstsc on Windows 11 with default Schannel settings (TLS 1.0 to 1.3)",
        tls_versions: &[TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13],
    },
    ClientProfile {
        name: "windows10",
        description: "mstsc on Windows 10 or Server 2019 and older (TLS 1.0 to 1.2, no TLS 1.3)",
        tls_versions: &[TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12],
    },
    ClientProfile {
        name: "hardened",
        description: "a client with TLS 1.0/1.1 disabled (hardened Windows, FreeRDP 3 and macOS Windows App at their default security level)",
        tls_versions: &[TlsVersion::Tls12, TlsVersion::Tls13],
    },
];

impl ClientProfile {
    pub fn by_name(name: &str) -> Option<ClientProfile> {
        PROFILES
            .iter()
            .copied()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn supports(&self, v: TlsVersion) -> bool {
        self.tls_versions.contains(&v)
    }
}

impl Default for ClientProfile {
    fn default() -> Self {
        PROFILES[0]
    }
}

/// Inputs of `diagnose` other than observations.
#[derive(Clone, Debug)]
pub struct Context {
    pub now: Timestamp,
    pub client: ClientProfile,
    /// `cert-expiring-soon` fires when fewer days than this are left.
    pub cert_warning_days: i64,
}

impl Context {
    pub fn new(now: Timestamp) -> Self {
        Context {
            now,
            client: ClientProfile::default(),
            cert_warning_days: 30,
        }
    }
}
