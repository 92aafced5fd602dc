//! Probes: connect to a server the way a Remote Desktop client does, step by step, and record
//! what happened as [`rdpdoctor_observations::Observations`].
//!
//! Probes never decide what a result means. Every network phase runs under a deadline, and every
//! read is bounded in size, so a hostile or broken server produces an observation, not a hang.
//!
//! # The layers, from the bytes up
//!
//! - **Routes** (`route/`): what carries a connection's bytes to the server. The direct route
//!   (`route/direct.rs`: TCP, the first address that accepts) is the only one outside tests; a
//!   test route runs every probe over an in-process pipe (`route/scripted.rs`,
//!   `routes_test.rs`). A route yields a byte stream and, when it has its own TCP connection to
//!   the server, the sampler the path measurements read; its failures are
//!   `rdpdoctor_observations::RouteFailure`, which every outcome embeds.
//! - **One open** (`open.rs`): the route dials within the host's connection budget (`host.rs`),
//!   the X.224 request goes out with the host's cookie or a routing token (`negotiate.rs`), TLS
//!   follows when the answer selected it (`tls.rs`). Its failure is the one
//!   `rdpdoctor_observations::OpenFailure`.
//! - **The probes**, each over `open`: the negotiation connections of `check` (planned without
//!   I/O in `schedule.rs`, run by `job.rs`), Standard RDP Security (`rdp_security.rs`), NLA
//!   (`nla.rs` over `credssp/`), `--full` (`full.rs`) and `--hold` (`hold.rs`) in one frame loop
//!   (`frames.rs`, with a security-layer seam for Standard RDP Security's encryption), the
//!   cipher enumeration (`ciphers.rs`) and the path retries (`path.rs`, `shape.rs`).
//! - **CredSSP** (`credssp/`): a state machine without I/O over the security package the options
//!   choose (NTLM today), a network client for the package's KDC round trips, and a thin driver.
//!
//! # Adding a route
//!
//! One module, `route/NAME.rs`, implementing `route::Route` (dial, cost, how the observations
//! record it, whether it measures the path), a function that reaches the server the first time
//! (DNS and the first address that accepts, for the direct route) called by `check::check` when
//! the options choose the route, which then runs every probe through `check::over_route`; and
//! its findings in `rdpdoctor-diagnose`. `route/mod.rs` says what each part must do.
//!
//! # Adding a CredSSP package
//!
//! A `credssp::package::PackageKind` variant with the `sspi` context it runs and what its server
//! tokens reveal, a `credssp::kdc::KdcClient` when it talks to a KDC, and the option that
//! chooses it; `credssp/mod.rs` lists the steps. The machine, the driver, `nla.rs` and `full.rs`
//! stay as they are.

mod certificate;
mod check;
mod ciphers;
mod credssp;
mod dns;
mod errqueue;
mod framed;
mod frames;
mod full;
pub mod gateway;
mod hold;
mod host;
mod intercept;
mod job;
pub mod kdc;
mod negotiate;
mod nla;
mod open;
mod options;
mod path;
mod plan;
mod rdp_security;
mod redirect;
mod resolver;
mod route;
#[cfg(test)]
mod routes_test;
mod schedule;
mod shape;
mod standard_security;
mod stream;
mod tcp_info;
mod timeline;
mod tls;
mod trust;
mod ttl_walk;
mod udp;

pub use check::check;
pub use credssp::package::{Choice as CredsspChoice, PackageKind};
pub use gateway::route::GatewaySpec;
pub use options::{Credentials, ProbeOptions, UdpProbe};
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
