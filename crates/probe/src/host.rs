//! One host under probe: the route that reaches it, the per-host connection budget, the
//! deadlines, and the connect latencies and TCP statistics every probe records. Every probe
//! connection is dialed through here (`open.rs`), so the budget holds across probes and routes.

use crate::options::ProbeOptions;
use crate::route::{DialSpec, Dialed, Route};
use rdpdoctor_observations::{RouteFailure, TcpInfoSample};
use rdpdoctor_wire::x224::RequestCookie;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// The cookie every first-leg request carries (`Cookie: mstshash=...`); servers ignore it, but
/// it shows in their traces, so it names the tool.
pub(crate) const COOKIE: &str = "rdpdoctor";

/// A slot in both connection budgets: this host's and, in a fleet scan, the global one. Hold it
/// as long as the connection is open.
pub(crate) struct Slot<'a> {
    _host: Option<SemaphorePermit<'a>>,
    _global: Option<OwnedSemaphorePermit>,
}

pub(crate) struct Host {
    /// What carries the connections.
    pub(crate) route: Arc<dyn Route>,
    /// The server's address as the probes name it (the route's).
    pub(crate) address: SocketAddr,
    /// The name to send as SNI (never an address literal).
    pub(crate) server_name: Option<String>,
    /// What the X.224 Connection Requests carry before RDP_NEG_REQ: the tool's cookie, or a
    /// broker's routing token on a second leg.
    pub(crate) cookie: RequestCookie,
    /// The security package of CredSSP logons.
    pub(crate) credssp: crate::CredsspChoice,
    /// Deadline of every network phase (read it through `timeout()`, which also honours the
    /// overall deadline).
    per_phase: Duration,
    /// The check's overall deadline: no phase may run past it, however many phases remain. A
    /// server that answers each read just in time (a trickle of tiny frames) would otherwise
    /// keep a check alive for hours.
    ends_at: Option<Instant>,
    permits: Semaphore,
    /// Connections open across every target of a scan.
    global: Option<Arc<Semaphore>>,
    samples: Mutex<Vec<f64>>,
    /// The kernel's TCP statistics of every probe connection, taken at its end.
    tcp_info: Mutex<Vec<TcpInfoSample>>,
}

impl Host {
    /// `first_connect_ms` is the latency of the connect that proved the port open. The budget
    /// is the options' `max_connections`, or less when the route allows fewer at once.
    pub(crate) fn new(
        route: Arc<dyn Route>,
        server_name: Option<String>,
        options: &ProbeOptions,
        first_connect_ms: f64,
    ) -> Host {
        let budget = options.max_connections.max(1);
        let budget = route
            .cost()
            .max_open
            .map_or(budget, |m| budget.min(m.max(1)));
        Host {
            address: route.server_address(),
            route,
            server_name,
            cookie: RequestCookie::Name(COOKIE.to_string()),
            credssp: options.credssp.clone(),
            per_phase: options.timeout,
            ends_at: None,
            permits: Semaphore::new(budget),
            global: options.global.clone(),
            samples: Mutex::new(vec![first_connect_ms]),
            tcp_info: Mutex::new(Vec::new()),
        }
    }

    /// Sets the overall deadline every later phase is bounded by.
    pub(crate) fn ending_at(mut self, ends_at: Option<Instant>) -> Host {
        self.ends_at = ends_at;
        self
    }

    /// The deadline of the next network phase: the per-phase deadline, or less when the overall
    /// deadline is nearer.
    pub(crate) fn timeout(&self) -> Duration {
        match self.ends_at {
            Some(end) => self
                .per_phase
                .min(end.saturating_duration_since(Instant::now())),
            None => self.per_phase,
        }
    }

    /// Time left until the overall deadline (`None`: no overall deadline).
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.ends_at
            .map(|end| end.saturating_duration_since(Instant::now()))
    }

    /// Whether the overall deadline has passed.
    pub(crate) fn past_deadline(&self) -> bool {
        self.ends_at.is_some_and(|end| Instant::now() >= end)
    }

    /// A slot in the connection budgets, for a connection the route already dialed.
    pub(crate) async fn permit(&self) -> Slot<'_> {
        // The host's own budget first: waiting for it holds nothing global.
        let host = self.permits.acquire().await.ok();
        let global = match &self.global {
            Some(g) => g.clone().acquire_owned().await.ok(),
            None => None,
        };
        Slot {
            _host: host,
            _global: global,
        }
    }

    /// Dials a new connection over the route within the budget; the slot must live as long as
    /// the stream.
    pub(crate) async fn dial(&self, spec: DialSpec) -> Result<(Slot<'_>, Dialed), RouteFailure> {
        let permit = self.permit().await;
        let dialed = self.route.dial(spec, self.timeout()).await?;
        if !spec.unsampled {
            if let Ok(mut samples) = self.samples.lock() {
                samples.push(dialed.elapsed_ms);
            }
        }
        Ok((permit, dialed))
    }

    /// Records the latency of a connect made outside [`Host::dial`] (the TTL walk's).
    pub(crate) fn note_connect(&self, elapsed_ms: f64) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(elapsed_ms);
        }
    }

    /// Every connect latency recorded so far.
    pub(crate) fn samples(&self) -> Vec<f64> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Records a connection's TCP statistics (see `tcp_info::Sampler`).
    pub(crate) fn note_tcp_info(&self, sample: Option<TcpInfoSample>) {
        if let (Some(sample), Ok(mut all)) = (sample, self.tcp_info.lock()) {
            all.push(sample);
        }
    }

    /// Every TCP statistics sample recorded so far.
    pub(crate) fn tcp_info(&self) -> Vec<TcpInfoSample> {
        self.tcp_info.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
