//! Probes: connect to a server the way a Remote Desktop client does, step by step, and record
//! what happened as [`rdpdoctor_observations::Observations`].
//!
//! Probes never decide what a result means. Every network phase runs under a deadline, and every
//! read is bounded in size, so a hostile or broken server produces an observation, not a hang.

mod certificate;
mod check;
mod ciphers;
mod credssp;
mod dns;
mod framed;
mod frames;
mod full;
mod hold;
mod host;
mod intercept;
mod job;
mod negotiate;
mod nla;
mod open;
mod options;
mod path;
mod plan;
mod rdp_security;
mod resolver;
mod route;
#[cfg(test)]
mod routes_test;
mod schedule;
mod shape;
mod stream;
mod tcp_info;
mod timeline;
mod tls;
mod trust;

pub use check::check;
pub use credssp::package::{Choice as CredsspChoice, PackageKind};
pub use options::{Credentials, ProbeOptions};
pub use trust::Trust;

use std::time::Instant;

/// Milliseconds since `start`, rounded to microseconds so saved documents stay readable.
pub(crate) fn elapsed_ms(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Hex of at most `max` bytes.
pub(crate) fn excerpt_hex(bytes: &[u8], max: usize) -> String {
    hex::encode(&bytes[..bytes.len().min(max)])
}
