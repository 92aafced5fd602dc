//! Routes: what carries a probe connection's bytes to the server. The checks never know which
//! one does: every connection is opened by `open.rs` over the host's route, and what comes
//! back is a byte stream ([`ByteStream`]) over which the X.224 exchange, TLS, CredSSP and the
//! connection sequence run unchanged.
//!
//! A route answers three questions:
//! - [`Route::dial`]: one byte stream to the server (a TCP connect for the direct route; an HTTPS
//!   logon, a tunnel and a channel for an RD Gateway), and, where the route has a TCP connection
//!   to the server itself, the sampler of its statistics ([`Dialed::sampler`]): path
//!   measurements describe that connection and no other;
//! - [`Route::cost`]: what one connection costs and how many may be open at once, which the host's
//!   connection budget and the check's planning read;
//! - [`Route::observation`]: how the observations record it, so a gateway hop or a second leg is
//!   evidence, not inference.
//!
//! Its failures are [`RouteFailure`]s: a refused TCP connect, or the route's own refusal (`route-
//! failed`, with the route's step, words and code). Every probe outcome embeds that one type
//! (`rdpdoctor_observations::OpenFailure`), so a new route's failure reaches every outcome
//! without touching them.
//!
//! # Adding a route
//!
//! One module here and its findings:
//! 1. `route/NAME.rs`: a type implementing [`Route`]. `dial` returns the stream (boxed), no
//!    sampler unless the route holds a TCP connection to the server itself, and its refusals as
//!    `RouteFailure::RouteFailed { route, step, reason, code }`; `cost` says whether connections
//!    are expensive and how many the route allows at once; `observation` adds a variant to
//!    `rdpdoctor_observations::RouteObservation` (the only other file: the data type) if the
//!    route needs one. `measures_path` is false unless the stream is the route's own TCP
//!    connection to the server (the path probes then stay quiet rather than describe another
//!    leg).
//! 2. A function that reaches the server the first time (as [`direct::reach`] does: DNS and the
//!    first address that accepts), called by `check::check` when the options ask for the route.
//! 3. Rules and catalog entries in `rdpdoctor-diagnose` for the `route-failed` outcomes it
//!    records.
//!
//! Nothing else changes: negotiation, TLS, NLA, `--full`, `--hold`, `--clients` and the Standard
//! RDP Security probe run over it as they run over TCP (the probe tests run the same checks over
//! the direct route and over an in-process pipe, `route::scripted`, to prove it).

pub(crate) mod direct;
#[cfg(test)]
pub(crate) mod scripted;

use crate::tcp_info::Sampler;
use rdpdoctor_observations::{RouteFailure, RouteObservation};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// The byte stream a route yields: what every probe reads and writes.
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// A dial in progress.
pub(crate) type Dialing<'a> =
    Pin<Box<dyn Future<Output = Result<Dialed, RouteFailure>> + Send + 'a>>;

/// What carries probe connections to the server.
pub(crate) trait Route: Send + Sync {
    /// How the observations record this route.
    fn observation(&self) -> RouteObservation;

    /// The server's address as the probes name it when there is no host name (certificate
    /// checks against an address, the SPN `TERMSRV/ADDRESS`).
    fn server_address(&self) -> SocketAddr;

    /// Opens one byte stream to the server within `deadline`.
    fn dial(&self, spec: DialSpec, deadline: Duration) -> Dialing<'_>;

    /// What one connection costs.
    fn cost(&self) -> Cost;

    /// Whether TCP-level path measurements (retries with a split ClientHello or a small MSS, the
    /// loss sample) describe the path to the server: only when the stream is the route's own TCP
    /// connection to it.
    fn measures_path(&self) -> bool;

    /// The direct route, for the path experiments that work on the TCP socket itself (the TTL
    /// walk); `None` for every other route.
    fn direct(&self) -> Option<&direct::Direct> {
        None
    }
}

/// How to dial one connection.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DialSpec {
    /// TCP_MAXSEG before the connect (the path probes' MTU search); a route whose stream is not
    /// its own TCP connection to the server refuses it.
    pub(crate) mss: Option<u16>,
    /// Whether the connect latency is left out of the host's samples (a path experiment, not a
    /// measurement of the connect).
    pub(crate) unsampled: bool,
}

/// One connection a route opened.
pub(crate) struct Dialed {
    pub(crate) stream: Box<dyn ByteStream>,
    /// The kernel's statistics of the route's TCP connection to the server, when it has one.
    pub(crate) sampler: Option<Sampler>,
    /// How long the dial took, in milliseconds (a TCP connect's latency on the direct route).
    pub(crate) elapsed_ms: f64,
}

/// What one connection over a route costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cost {
    /// At most this many connections open at once (`None`: only the check's own budget).
    pub(crate) max_open: Option<usize>,
    /// Whether each connection is expensive (an HTTP logon per connection): the planning then
    /// sends no request it can do without.
    pub(crate) expensive: bool,
}

impl Cost {
    /// A TCP connect: cheap, no limit of the route's own.
    pub(crate) const CHEAP: Cost = Cost {
        max_open: None,
        expensive: false,
    };
}
