//! How a check runs: deadlines, connection budgets, credentials and the optional probes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// How a check runs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Deadline of every network phase.
    pub timeout: Duration,
    /// Connections open to one host at a time.
    pub max_connections: usize,
    /// Connections open at a time across every target of a fleet scan (`None`: no such limit).
    pub global: Option<Arc<Semaphore>>,
    /// The account `check --user` authenticates with (NLA up to the server's verdict).
    pub credentials: Option<Arc<Credentials>>,
    /// `check --full`: one complete connection until the session is up or the server ends it;
    /// with `credentials` it delegates them (TSCredentials and the Client Info PDU), but only
    /// over a channel whose server identity `trust` accepts.
    pub full: bool,
    /// What proves the server's identity before credentials are delegated (--cert-sha256,
    /// --trust-any-cert).
    pub trust: crate::Trust,
    /// The overall deadline of one check, from its start; every phase is cut short to end by
    /// then (`None`: per-phase deadlines only).
    pub deadline: Option<Duration>,
    /// `--clients`: enumerate cipher suites and groups per TLS version (at most 40 more
    /// connections) so each client profile's handshake can be simulated.
    pub clients: bool,
    /// `check --full --hold SECONDS`: keep the session open this long once it is up, as an
    /// idle client would, and record how it ended (the overall deadline must include it: see
    /// `overall_deadline_with_hold`).
    pub hold: Option<Duration>,
    /// The security package CredSSP logons use, and why.
    pub credssp: crate::CredsspChoice,
    /// `check --udp`: one RDP UDP transport probe (an MS-RDPEUDP SYN, at most one retry) to the
    /// server's UDP port, sent beside the other probes once TCP answered (`None`: never sent).
    pub udp: Option<UdpProbe>,
    /// `check --gateway`: reach the server through this RD Gateway (`None`: directly).
    pub gateway: Option<crate::GatewaySpec>,
    /// A routing token for the first leg's X.224 requests (an `.rdp` file's `loadbalanceinfo`
    /// of the form `Cookie: msts=TOKEN`: TOKEN), in place of the tool's cookie.
    pub routing_token: Option<String>,
    /// After a Server Redirection PDU, try the names before the addresses (`.rdp`
    /// `use redirection server name:i:1`).
    pub use_redirection_server_name: bool,
}

/// Where the UDP transport probe goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpProbe {
    /// The UDP port (`None`: the target's TCP port, where RDP listens on both).
    pub port: Option<u16>,
}

impl ProbeOptions {
    /// The overall deadline of one check for a per-phase `timeout`: six phases' worth (a check
    /// runs its connections in parallel, so a healthy server needs a fraction of it), and six
    /// more with `--full`, whose connection sequence is a dozen round trips after the others.
    pub fn overall_deadline(timeout: Duration, full: bool) -> Duration {
        timeout * if full { 12 } else { 6 }
    }

    /// The overall deadline with `--hold`: the hold starts only once the session is up, so it
    /// adds its whole length to the deadline of `--full`.
    pub fn overall_deadline_with_hold(
        timeout: Duration,
        full: bool,
        hold: Option<Duration>,
    ) -> Duration {
        Self::overall_deadline(timeout, full) + hold.unwrap_or_default()
    }
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(5),
            max_connections: 4,
            global: None,
            credentials: None,
            full: false,
            trust: crate::Trust::default(),
            deadline: None,
            clients: false,
            hold: None,
            credssp: crate::CredsspChoice::default(),
            udp: None,
            gateway: None,
            routing_token: None,
            use_redirection_server_name: false,
        }
    }
}

/// The account `check --user` logs on with. The password is zeroed when this is dropped and is
/// never printed: `Debug` shows the user only.
pub struct Credentials {
    user: String,
    password: Zeroizing<String>,
}

impl Credentials {
    /// `user` as `DOMAIN\user`, `user@domain` or `user`.
    pub fn new(user: String, password: Zeroizing<String>) -> Credentials {
        Credentials { user, password }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// For the logon (an NTLMv2 response computed from it) and `check --full`, which delegates
    /// it.
    pub(crate) fn password(&self) -> &str {
        self.password.as_str()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}
