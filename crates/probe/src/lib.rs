//! Probes: connect to a server the way a Remote Desktop client does, step by step, and record
//! what happened as [`rdpdoctor_observations::Observations`].
//!
//! Probes never decide what a result means. Every network phase runs under a deadline, and every
//! read is bounded in size, so a hostile or broken server produces an observation, not a hang.

mod certificate;
mod check;
mod ciphers;
mod dns;
mod errqueue;
mod framed;
mod full;
pub mod gateway;
mod hold;
mod host;
mod intercept;
pub mod kdc;
mod negotiate;
mod nla;
mod options;
mod path;
mod plan;
mod rdp_security;
mod resolver;
mod stream;
mod tcp;
mod tcp_info;
mod tls;
mod trust;
mod ttl_walk;
mod udp;

pub use check::check;
pub use options::{Credentials, ProbeOptions};
pub use trust::Trust;
pub use udp::probe_udp_transport;

use std::time::Instant;

/// Milliseconds since `start`, rounded to microseconds so saved documents stay readable.
pub(crate) fn elapsed_ms(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Hex of at most `max` bytes.
pub(crate) fn excerpt_hex(bytes: &[u8], max: usize) -> String {
    hex::encode(&bytes[..bytes.len().min(max)])
}
