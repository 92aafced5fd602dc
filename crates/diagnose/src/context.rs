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
    /// The client refuses a server it cannot authenticate instead of asking the user: the policy
    /// "Configure server authentication for client" (Computer Configuration > Administrative
    /// Templates > Windows Components > Remote Desktop Services > Remote Desktop Connection
    /// Client) = "Do not connect if authentication fails", AuthenticationLevel 1 in
    /// IMsRdpClientAdvancedSettings4 ("Server authentication is required and must complete
    /// successfully for the connection to proceed"). mstsc's default asks the user instead.
    pub requires_server_authentication: bool,
}

/// Profiles a user can pick with `--client`.
pub const PROFILES: &[ClientProfile] = &[
    ClientProfile {
        name: "windows",
        description: "up-to-date mstsc on Windows 11 with default Schannel settings (TLS 1.0 to 1.3)",
        tls_versions: &[TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13],
        requires_server_authentication: false,
    },
    ClientProfile {
        name: "windows10",
        description: "mstsc on Windows 10 or Server 2019 and older (TLS 1.0 to 1.2, no TLS 1.3)",
        tls_versions: &[TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12],
        requires_server_authentication: false,
    },
    ClientProfile {
        name: "hardened",
        description: "a client with TLS 1.0/1.1 disabled (hardened Windows, FreeRDP 3 and macOS Windows App at their default security level) that refuses servers it cannot authenticate (Configure server authentication for client = Do not connect)",
        tls_versions: &[TlsVersion::Tls12, TlsVersion::Tls13],
        requires_server_authentication: true,
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
