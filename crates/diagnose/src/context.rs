//! What a diagnosis depends on besides the observations: the clock and the client.

use jiff::Timestamp;

/// The client whose experience severities describe: one profile of the client table.
pub use crate::clients::{ClientProfile, PROFILES};

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
