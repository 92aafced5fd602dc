//! One host under probe: its address, the per-host connection budget, and the connect
//! latencies every probe records. Every probe that opens a connection goes through here, so the
//! budget holds across probes.

use crate::options::ProbeOptions;
use crate::tcp;
use rdpdoctor_observations::{ConnectOutcome, TcpInfoSample};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// A slot in both connection budgets: this host's and, in a fleet scan, the global one. Hold it
/// as long as the connection is open.
pub(crate) struct Slot<'a> {
    _host: Option<SemaphorePermit<'a>>,
    _global: Option<OwnedSemaphorePermit>,
}

pub(crate) struct Host {
    pub(crate) address: SocketAddr,
    /// The name to send as SNI (never an address literal).
    pub(crate) server_name: Option<String>,
    /// Deadline of every network phase (read it through `timeout()`, which also honours the
    /// overall deadline).
    per_phase: Duration,
    /// The check's overall deadline: no phase may run past it, however many phases remain. A
    /// server that answers each read just in time (a trickle of tiny frames) would otherwise
    /// keep a check alive for hours.
    ends_at: Option<Instant>,
    /// When a connect has not completed after this long, a second SYN is sent beside it: a
    /// server whose listen queue overflowed drops the SYN, and the kernel would only retry after
    /// a full second.
    redial_after: Duration,
    permits: Semaphore,
    /// Connections open across every target of a scan.
    global: Option<Arc<Semaphore>>,
    samples: Mutex<Vec<f64>>,
    /// The kernel's TCP statistics of every probe connection, taken at its end.
    tcp_info: Mutex<Vec<TcpInfoSample>>,
}

impl Host {
    /// `first_connect_ms` is the latency of the connect that proved the port open.
    pub(crate) fn new(
        address: SocketAddr,
        server_name: Option<String>,
        options: &ProbeOptions,
        first_connect_ms: f64,
    ) -> Host {
        Host {
            address,
            server_name,
            per_phase: options.timeout,
            ends_at: None,
            redial_after: Duration::from_secs_f64((first_connect_ms * 4.0 / 1000.0).max(0.05)),
            permits: Semaphore::new(options.max_connections.max(1)),
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

    /// A slot in the connection budgets, for a connection opened elsewhere.
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

    /// Opens a new connection within the budget; the permit must live as long as the stream.
    pub(crate) async fn open(&self) -> Result<(Slot<'_>, TcpStream), ConnectOutcome> {
        let permit = self.permit().await;
        let (attempt, stream) =
            tcp::connect_redialing(self.address, self.timeout(), self.redial_after).await;
        match stream {
            Some(s) => {
                if let Ok(mut samples) = self.samples.lock() {
                    samples.push(attempt.elapsed_ms);
                }
                Ok((permit, s))
            }
            None => Err(attempt.outcome),
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
