//! A route for the probe crate's own tests: every dial is an in-process pipe to a scripted
//! server (a task running the script on the pipe's other end). It proves what the route seam
//! promises: the probes run over any byte stream, with no TCP underneath and no path to measure.

use super::{ByteStream, Cost, DialSpec, Dialed, Dialing, Route};
use rdpdoctor_observations::{RouteFailure, RouteObservation};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The server side of one connection, on any stream (the tests run the same script behind a
/// loopback TCP listener and behind this route's pipe).
pub(crate) type Script =
    Arc<dyn Fn(Box<dyn ByteStream>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Wraps an async function of the server's end of a connection as a [`Script`].
pub(crate) fn script<F, Fut>(f: F) -> Script
where
    F: Fn(Box<dyn ByteStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s| Box::pin(f(s)))
}

pub(crate) struct Scripted {
    name: String,
    script: Script,
    dials: AtomicUsize,
}

impl Scripted {
    pub(crate) fn new(name: &str, script: Script) -> Scripted {
        Scripted {
            name: name.to_string(),
            script,
            dials: AtomicUsize::new(0),
        }
    }

    /// How many connections the probes opened.
    pub(crate) fn dials(&self) -> usize {
        self.dials.load(Ordering::SeqCst)
    }
}

impl Route for Scripted {
    fn observation(&self) -> RouteObservation {
        RouteObservation::Scripted {
            server: self.name.clone(),
        }
    }

    /// Never dialed: only named (as an SPN would name it).
    fn server_address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 3389))
    }

    fn dial(&self, spec: DialSpec, _deadline: Duration) -> Dialing<'_> {
        Box::pin(async move {
            if spec.mss.is_some() {
                return Err(RouteFailure::RouteFailed {
                    route: format!("scripted {}", self.name),
                    step: "dial".to_string(),
                    reason: "an in-process pipe has no TCP segment size".to_string(),
                    code: None,
                });
            }
            self.dials.fetch_add(1, Ordering::SeqCst);
            let (client, server) = tokio::io::duplex(1 << 17);
            tokio::spawn((self.script)(Box::new(server)));
            let stream: Box<dyn ByteStream> = Box::new(client);
            Ok(Dialed {
                stream,
                sampler: None,
                elapsed_ms: 0.0,
            })
        })
    }

    fn cost(&self) -> Cost {
        Cost::CHEAP
    }

    fn measures_path(&self) -> bool {
        false
    }
}
