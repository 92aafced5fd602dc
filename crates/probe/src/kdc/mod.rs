//! Kerberos from the client's side: a recorded network client for KDC round trips, and the
//! readiness checks a Windows client's Negotiate effectively makes before it picks Kerberos or
//! NTLM for CredSSP.
//!
//! - [`KdcClient`] sends one Kerberos message to a KDC ([`KdcTarget`]: TCP, UDP, or a KDC
//!   proxy over HTTPS, MS-KKDCP) under the caller's deadlines ([`Budget`]), reads the answer
//!   bounded in size, and records every exchange (where, how long, the message type, the
//!   KRB-ERROR's code, e-text and the KDC's clock). UDP falls back to TCP on
//!   KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 7.2.1). [`SspiNetworkClient`] puts the same client behind
//!   `sspi`'s `AsyncNetworkClient`, for a CredSSP logon with sspi's Kerberos.
//! - [`readiness`] finds the realm (from the user, else the server's NTLM CHALLENGE) and its KDCs
//!   (DNS SRV records, `--kdc`, `--kdc-proxy`), asks each whether it answers on 88/UDP and
//!   88/TCP, reads the KDC's clock and the account's key types from a request without
//!   pre-authentication (no secret), and, with a password and only where the delegation rule
//!   allows it, gets a ticket-granting ticket and the service ticket for `TERMSRV/<name>`.
//!
//! The probe records facts; what they mean (findings) is `rdpdoctor-diagnose`'s.

mod client;
mod decide;
pub(crate) mod discover;
mod proxy;
mod readiness;
mod srv;
mod sspi_client;
mod target;
mod transport;

pub use client::{KdcClient, Request};
pub use decide::SKEW_TOLERANCE_SECS;
pub(crate) use readiness::preauth_allowed;
pub use readiness::{readiness, ReadinessInput};
pub use sspi_client::SspiNetworkClient;
pub use target::{KdcSpec, KdcTarget, ProxyUrl};

use std::time::{Duration, Instant};

/// The deadlines of KDC round trips: each phase (connect, send, receive) at most `per_phase`,
/// and none past `ends_at`, the overall deadline of the command.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    per_phase: Duration,
    ends_at: Option<Instant>,
}

impl Budget {
    pub fn new(per_phase: Duration, ends_at: Option<Instant>) -> Budget {
        Budget { per_phase, ends_at }
    }

    /// The deadline of the next phase: the per-phase deadline, or less when the overall
    /// deadline is nearer.
    pub fn phase(&self) -> Duration {
        match self.ends_at {
            Some(end) => self
                .per_phase
                .min(end.saturating_duration_since(Instant::now())),
            None => self.per_phase,
        }
    }

    /// Whether the overall deadline has passed.
    pub fn expired(&self) -> bool {
        self.ends_at.is_some_and(|end| Instant::now() >= end)
    }
}
